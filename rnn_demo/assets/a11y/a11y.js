// WCAG 2.1.1 Keyboard (issue 32): a region that scrolls sideways (a wide equation on a phone,
// a wide table) must be reachable by Tab so a keyboard user can scroll it. Streamlit renders
// KaTeX's display maths with overflow-x: auto and no tabindex; this gives each a tab stop, and
// each table that really overflows, now and whenever the page changes. Runs once per tab.
(() => {
  const w = window;
  // WCAG 3.1.1 Language of page: the page says which language it is in (set on every run).
  document.documentElement.lang = w.__rnnLang = "__LANG__";
  if (w.__rnnScrollableFix) return;
  w.__rnnScrollableFix = true;
  // a11y.css, kept in the document's head for the tab's life: an st.html style element is
  // dropped and re-added as pages change, and a caption can be drawn in between.
  const style = document.createElement("style");
  style.textContent = __CSS__;
  document.head.appendChild(style);
  const scroller = (el) => {  // the element itself, or the nearest ancestor that scrolls it
    for (let box = el, i = 0; box && i < 4; box = box.parentElement, i++) {
      const style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowX + style.overflowY)) return box;
    }
    return null;
  };
  const mark = () => {
    const ko = w.__rnnLang === "ko";
    // A display equation scrolls sideways on a narrow screen, and may start to after a late
    // font or a resize: every one gets its tab stop, so none is missed in between.
    document.querySelectorAll("[data-testid='stMain'] .katex-display:not([tabindex])").forEach((el) => {
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "region");
      el.setAttribute("aria-label", ko ? "수식" : "equation");
    });
    document.querySelectorAll("[data-testid='stMain'] table").forEach((el) => {
      const box = scroller(el);
      if (!box || box.hasAttribute("tabindex")) return;
      if (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", ko ? "표 (옆으로 스크롤)" : "table (scrolls sideways)");
      }
    });
  };
  // Plotly's Play / Pause buttons are SVG groups that only a pointer can press: give each a tab
  // stop, a button role and its label, and press it with Enter or Space (2.1.1 Keyboard).
  const press = (ev) => {
    if (ev.key !== "Enter" && ev.key !== " ") return;
    ev.preventDefault();
    ev.currentTarget.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  };
  const buttons = () => {
    document.querySelectorAll(".js-plotly-plot .updatemenu-button").forEach((b) => {
      if (b.hasAttribute("tabindex")) return;
      b.setAttribute("tabindex", "0");
      b.setAttribute("role", "button");
      b.setAttribute("aria-label", (b.textContent || "").replace(/[▶⏸❚]/g, "").trim());
      b.addEventListener("keydown", press);
    });
  };
  const all = () => { mark(); buttons(); };
  let pending = 0;
  const later = () => { clearTimeout(pending); pending = setTimeout(all, 50); };
  new MutationObserver(later).observe(document.body, { childList: true, subtree: true });
  w.addEventListener("resize", later);
  setInterval(all, 1000);  // a web font that arrives late widens an equation without a DOM change
  all();
})();
