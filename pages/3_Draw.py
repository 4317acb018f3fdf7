"""Draw a digit: every model reads it live, row by row, and shows which rows mattered."""
import time

import streamlit as st

from rnn_demo import attribution, canvas, describe, ui
from rnn_demo.i18n import N_, _
from rnn_demo.plots import drawing

CANVAS_KEY = "draw_canvas"
SAMPLE_KEY = "draw_sample"          # the sample digit read instead of the drawing (None: the drawing)
SAMPLE_SEQ = "draw_sample_seq"      # the pad's value count when it was chosen: a new stroke takes over
ANSWER_FIRST_S = 0.15  # at pen-up, between the answers and the figures

ui.setup(N_("Draw a digit"))
st.title(_("Draw a digit: live predictions from every model"))
st.markdown(_(
    "Draw one digit, 0 to 9, **white on black**, as large as the box allows. It is shrunk the way MNIST "
    "itself was made (LeCun et al., 1998): cropped to the ink, scaled so its longer side is 20 pixels, and "
    "placed in a 28 x 28 frame with its centre of mass in the middle; and its strokes are thinned or thickened "
    "to the width of MNIST's pen strokes, whatever pen you draw with. Then every model reads it one row "
    "at a time, 28 rows = 28 time steps, exactly as it read MNIST."
))

left, right = st.columns([1, 1], gap="large")
with left:
    drawn = ui.draw_pad(CANVAS_KEY)  # the strokes so far, as the browser sent them: checked below
    st.caption(_("Draw with the mouse, a pen or a finger: the models answer while you draw. **Undo** takes back "
                 "the last stroke, **Clear** starts again."))

# The models and figures take turns across sessions, answers first, one section a turn, so that
# a waiting prediction never waits for more than one section of another page: ui.one_at_a_time.
# The answers sit beside the pad (under it on a phone), so they are in view while drawing.
try:
    pen = canvas.parse_strokes(drawn)  # bounded strokes inside the canvas, or one sentence why not
except canvas.StrokeError as exc:
    with right:
        st.error(ui.plain(exc))
    st.stop()
# A keyboard path (issue 32): read one of the bundled MNIST digits instead of a drawing, so a
# learner who cannot draw still gets the answers. Drawing again (or Undo, Clear) takes over.
if st.session_state.get(SAMPLE_SEQ) not in (None, pen.seq):
    st.session_state[SAMPLE_KEY], st.session_state[SAMPLE_SEQ] = None, None
with left:
    chosen = st.selectbox(_("No pen? Read a sample digit instead"), [None, *range(10)], key=SAMPLE_KEY,
                          format_func=lambda d: _("(my drawing)") if d is None else
                          _("digit {digit}, from MNIST's test set", digit=d))
if chosen is None:
    st.session_state[SAMPLE_SEQ] = None
elif st.session_state.get(SAMPLE_SEQ) is None:
    st.session_state[SAMPLE_SEQ] = pen.seq
# The answer to a lifted pen goes first; while the pen moves a late answer is soon replaced.
with ui.one_at_a_time(answer=True, urgent=not pen.down), right:
    # digit: uint8 (28, 28), made as MNIST was, the pen brought to MNIST's stroke width
    verdict, digit, stroke = (canvas.prepare(pen.render()) if chosen is None else
                              canvas.sample_reading(ui.sample().images, ui.sample().labels, chosen))
    if not verdict.ok:
        st.info(verdict.message or _("The canvas is empty: draw a digit from 0 to 9 on the black square."))
        st.stop()
    if verdict.warn:
        st.warning(verdict.message)

    cells = ui.readable_models()
    ui.unreadable_note()
    if not cells:
        st.error(_(ui.NO_MODELS))
        st.stop()
    names = list(cells)
    # Before the models run: a run made stale by a newer drawing (the pen sends a few a second)
    # stops at this element instead of computing answers nobody will see.
    st.subheader(_("What each model says"))
    with ui.friendly_errors(_("The predictions could not be shown")):
        preds = ui.draw_predictions(digit, names)
    # Two to a row, kept side by side on a phone (wrap=False) rather than stacked one per line.
    items = list(preds.items())
    for row in range(0, len(items), 2):
        for col, (name, p) in zip(st.columns(2, wrap=False), items[row:row + 2]):
            col.metric(f"{name} ({ui.load_model(name).model_config.label})", f"{p.digit}",
                       _("{confidence:.0%} sure", confidence=p.confidence), delta_color="off", delta_arrow="off")
    st.caption(describe.answers_sentence({n: (p.digit, p.confidence) for n, p in preds.items()}))
    if attribution.unlike_mnist(preds):
        st.warning(_("This does not look like an MNIST digit: no model is even {low:.0%} sure of its answer. Draw a "
                     "single digit, large, in the middle, with one continuous stroke.", low=attribution.LOW_CONFIDENCE))

# At pen-up, a moment for the browser to paint the answers before the figures arrive: Streamlit's
# frontend renders the deltas it holds together, and drawing four figures first would hold the
# answers back (bench/draw_latency.py). Outside the turns: a pause costs no one else anything.
if not pen.down:
    time.sleep(ANSWER_FIRST_S)

with ui.one_at_a_time():
    st.subheader(_("The prediction after every row"))
    st.markdown(_(
        "The read-out is applied to the hidden state after each row: darker blue is more probable, the orange "
        "dot marks the digit a model would answer if the drawing ended at that row. Early rows are mostly "
        "black, so every model hesitates at first and makes up its mind as the strokes come in."
    ))
    st.plotly_chart(drawing.step_predictions({n: p.step_probs for n, p in preds.items()}), width="stretch")
    if "birnn" in cells.values():
        st.caption(_("A bidirectional model also reads the rows bottom-up: its state at row t joins the forward half "
                     "(rows 1 to t) with the backward half (rows 28 down to t), so its row-by-row read-out is not a "
                     "reading in order, and its final answer comes from both halves after all 28 rows."))

# While the pen is down, the answers and the strip above are all: the figures follow at pen-up.
if pen.down:
    st.stop()

with ui.one_at_a_time():
    with right:
        st.plotly_chart(drawing.seen_digit(digit, height=330), width="stretch",
                        config={"displayModeBar": False})
        if stroke is not None:
            st.caption(stroke.message)
    st.plotly_chart(drawing.probability_bars({n: p.probs for n, p in preds.items()}), width="stretch")

with ui.one_at_a_time():
    st.subheader(_("Which rows mattered"))
    st.markdown(_(
        "For each row $t$, the size of the gradient of the predicted digit's score with respect to that row, "
        r"$\lVert \partial\, \mathrm{logit}_{pred} / \partial x_t \rVert$: how much the answer would change if "
        "that row were drawn differently. This is the *connectivity* of Madsen (2019), "
        "[Visualizing memorization in RNNs](https://distill.pub/2019/memorization-in-rnns/). Red laid over a "
        "row, and the strip on the right, run from none (no influence) to dark red (that model's most "
        "influential row); hover for the numbers. A network whose gradient fades through time looks mostly at "
        "the last rows it read."
    ))
    # RNN and LSTM side by side: the shipped ones, else the first model of each kind.
    chosen = [n for n in ("rnn", "lstm") if n in cells]
    for kind in ("rnn", "lstm"):
        if not any(cells[n] == kind for n in chosen):
            chosen += [n for n in names if cells[n] == kind][:1]
    if chosen:
        with ui.friendly_errors(_("The row attribution could not be shown")):
            attributions = ui.draw_attribution(digit, chosen)
        st.plotly_chart(drawing.row_attribution(digit, attributions), width="stretch")
        shares = {n: attribution.late_share(a) for n, a in attributions.items()}
        st.caption(_("Share of the total influence that comes from the last 7 rows (the bottom quarter): {shares}.",
                     shares=", ".join(f"**{ui.plain(n)}** {share:.0%}" for n, share in shares.items())))
    else:
        st.info(_("Row attribution needs a tanh RNN or an LSTM model."))

st.subheader(_("Look inside"))
if st.button(_("Use this drawing on the other pages"), key="draw_send", type="primary"):
    st.session_state[ui.DRAWN_DIGIT] = digit
    st.success(_("Your digit is stored. Open **Hidden states** (choose *My drawing*) to watch the hidden "
                 "state read it, or **Gradient flow** to see how the gradient travels back through its rows."))
    for path, title, blurb in ui.pages()[:2]:
        if (ui.ROOT / path).exists():
            st.page_link(path, label=f"**{title}**: {blurb}")
