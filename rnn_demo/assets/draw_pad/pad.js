// The Draw page's pen: pointer events (mouse, touch, pen) on a 280 x 280 canvas, strokes kept as
// point lists in canvas pixels and sent to the server as {strokes: [[x0, y0, x1, y1, ...], ...],
// down, seq}: every LIVE_MS while the pen is down (the models answer while the digit takes
// shape) and at once when it is lifted. The server draws and checks them (rnn_demo/canvas.py).
const SIZE = 280, PEN = 20, LIVE_MS = 200, MIN_STEP = 2, MAX_STROKES = 64, MAX_POINTS = 4096;
const PADS = new WeakMap();

function makePad() {
  const root = document.createElement("div");
  root.className = "pad";
  // The canvas is a picture to a screen reader (role img) whose name says what it holds; a polite
  // live region says it again after every stroke, Undo or Clear (issue 32).
  root.innerHTML = '<canvas class="pad-canvas" role="img" width="280" height="280" aria-label="Drawing pad: draw a digit">'
    + '</canvas><div class="pad-buttons"><button type="button" class="pad-undo">Undo</button>'
    + '<button type="button" class="pad-clear">Clear</button></div>'
    + '<p class="pad-status" aria-live="polite" role="status"></p>';
  const canvas = root.querySelector(".pad-canvas");
  // Drawn at the screen's resolution (crisp on phones); strokes stay in 280 x 280 canvas pixels.
  const dpr = Math.min(3, Math.max(1, window.devicePixelRatio || 1));
  canvas.width = canvas.height = Math.round(SIZE * dpr);
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const pad = { root, strokes: [], pointer: null, seq: 0, lastSent: 0, timer: null, send: () => {},
                labels: { pad: "Drawing pad: draw a digit", empty: "The pad is empty.",
                          one: "The pad holds 1 stroke.", many: "The pad holds {n} strokes." } };
  const status = root.querySelector(".pad-status");
  pad.describe = (announce) => {  // the canvas's name, and (after a change) the live region
    const n = pad.strokes.length, L = pad.labels;
    const holds = n === 0 ? L.empty : n === 1 ? L.one : L.many.replace("{n}", String(n));
    canvas.setAttribute("aria-label", `${L.pad}. ${holds}`);
    if (announce) status.textContent = holds;
  };

  const paint = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    ctx.lineWidth = PEN;
    ctx.lineCap = ctx.lineJoin = "round";
    for (const s of pad.strokes) {
      ctx.beginPath();
      ctx.moveTo(s[0], s[1]);
      for (let i = 2; i < s.length; i += 2) ctx.lineTo(s[i], s[i + 1]);
      if (s.length === 2) ctx.lineTo(s[0] + 0.01, s[1]);  // a dot
      ctx.stroke();
    }
  };
  const post = (down) => {
    clearTimeout(pad.timer);
    pad.timer = null;
    pad.lastSent = performance.now();
    pad.send({ strokes: pad.strokes.map((s) => s.slice()), down, seq: ++pad.seq });
    if (!down) pad.describe(true);
  };
  const at = (e) => {  // canvas pixels, whatever size the canvas is shown at
    const r = canvas.getBoundingClientRect();
    const clip = (v) => Math.min(SIZE, Math.max(0, Math.round(v * 10) / 10));
    return [clip((e.clientX - r.left) * SIZE / r.width), clip((e.clientY - r.top) * SIZE / r.height)];
  };
  const live = () => {  // throttled: at most one value every LIVE_MS while drawing
    const wait = LIVE_MS - (performance.now() - pad.lastSent);
    if (wait <= 0) post(true);
    else if (!pad.timer) pad.timer = setTimeout(() => pad.pointer !== null && post(true), wait);
  };

  canvas.addEventListener("pointerdown", (e) => {
    if (pad.pointer !== null || !e.isPrimary || pad.strokes.length >= MAX_STROKES) return;
    e.preventDefault();
    pad.pointer = e.pointerId;
    canvas.setPointerCapture(e.pointerId);
    pad.strokes.push(at(e));
    paint();
    pad.lastSent = performance.now();  // the first live value once there is a line to read
  });
  canvas.addEventListener("pointermove", (e) => {
    if (e.pointerId !== pad.pointer) return;
    e.preventDefault();
    const s = pad.strokes[pad.strokes.length - 1];
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of events.length ? events : [e]) {
      const [x, y] = at(ev);
      const n = s.length;
      if (Math.hypot(x - s[n - 2], y - s[n - 1]) < MIN_STEP || n >= 2 * MAX_POINTS) continue;
      ctx.beginPath();
      ctx.moveTo(s[n - 2], s[n - 1]);
      ctx.lineTo(x, y);
      ctx.stroke();
      s.push(x, y);
    }
    live();
  });
  const lift = (e) => {
    if (e.pointerId !== pad.pointer) return;
    pad.pointer = null;
    post(false);
  };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  root.querySelector(".pad-undo").addEventListener("click", () => {
    if (!pad.strokes.length) return;
    pad.strokes.pop();
    paint();
    post(false);
  });
  root.querySelector(".pad-clear").addEventListener("click", () => {  // always sent: it resyncs the page
    pad.strokes = [];
    paint();
    post(false);
  });
  paint();
  return pad;
}

// Called at every script run that changes the pad's data; the drawing lives on between calls.
export default function ({ data, parentElement, setStateValue }) {
  let pad = PADS.get(parentElement);
  if (!pad) {
    pad = makePad();
    PADS.set(parentElement, pad);
  }
  // The buttons' words in the page's language (the server sends them; English until it does).
  const labels = (data && data.labels) || {};
  const say = (sel, text, attr) => {
    const el = pad.root.querySelector(sel);
    if (typeof text !== "string" || !text) return;
    if (attr) el.setAttribute(attr, text); else el.textContent = text;
  };
  say(".pad-undo", labels.undo);
  say(".pad-clear", labels.clear);
  for (const k of ["pad", "empty", "one", "many"]) {
    if (typeof labels[k] === "string" && labels[k]) pad.labels[k] = labels[k];
  }
  pad.describe(false);
  const host = parentElement.querySelector(".pad-host");
  if (host && !host.contains(pad.root)) host.appendChild(pad.root);
  pad.send = (value) => setStateValue("drawing", value);  // the latest callback of this mount
}
