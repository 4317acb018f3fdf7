"""Inside the cell: stop at one step and see the cell's equation computed, term by term, with this
digit's numbers (the terms: rnn_demo/cellstep.py; the diagram: rnn_demo/plots/cell.py)."""
import numpy as np
import streamlit as st

from rnn_demo import cellstep, ui
from rnn_demo.i18n import N_, _
from rnn_demo.plots import cell as cplots
from rnn_demo.plots.explorer import DIRECTION_NAMES

ui.setup(N_("Inside the cell"))
ui.figure_format_picker()
st.title(_("Inside the cell: one step, term by term"))
st.markdown(_(
    "Every other page shows what the network computes over all 28 steps. Here you stop at **one step t** and "
    "see the cell's equation worked out with this digit's numbers: each term is a block of units (the same unit "
    "at the same place in every block), wires show what each term is made of, and hovering a unit gives its "
    "number. Step forward and back to see the state change row by row."))

SOURCES = (N_("A digit from the sample"), N_("My drawing"))
STEP = "cell_t"  # session-state key of the step slider (the buttons move it)
digits = ui.sample()

c_model, c_source, c_pick = st.columns([1, 1.3, 1.2])
with c_model:
    name = ui.model_picker(_("Model"), key="cell_model", default="lstm")
with c_source:
    shown = {s: _(s) for s in SOURCES}  # translated now: a format_func may be called outside this run
    source = st.radio(_("Digit"), SOURCES, format_func=shown.get, key="cell_source", horizontal=True)
if source == SOURCES[0]:
    with c_pick:
        no = int(st.number_input(_("Sample digit (1–{n})", n=len(digits)), 1, len(digits), 1, key="cell_index",
                                 help=_("One of the MNIST test digits bundled with the app.")))
    image, label = digits.images[no - 1].numpy(), int(digits.labels[no - 1])
else:
    image, label = ui.drawn_digit(), None

with ui.friendly_errors(_("The cell could not be shown")):
    cfg = ui.load_model(name).model_config
    layer = 0
    if cfg.num_layers > 1:
        layer = st.radio(_("Layer"), range(cfg.num_layers), format_func=lambda k: _("layer {k}", k=k + 1),
                         horizontal=True, key="cell_layer")
    walked = ui.cell_walk(name, image, layer)
T = walked["steps"]

if STEP not in st.session_state:  # open on the first row with ink: the first step that moves the state
    inked = np.flatnonzero(np.asarray(image).max(1) > 0)
    st.session_state[STEP] = int(inked[0]) + 1 if inked.size else 1
st.session_state[STEP] = min(max(int(st.session_state[STEP]), 1), T)


def move(by: int) -> None:
    st.session_state[STEP] = min(max(int(st.session_state[STEP]) + by, 1), T)


b_back, b_slider, b_fwd = st.columns([1, 5, 1], vertical_alignment="bottom")
b_back.button(_("◀ Step back"), key="cell_back", on_click=move, args=(-1,), disabled=st.session_state[STEP] <= 1,
              width="stretch")
b_fwd.button(_("Step forward ▶"), key="cell_fwd", on_click=move, args=(1,), disabled=st.session_state[STEP] >= T,
             width="stretch")
t = b_slider.slider(_("Step t (row of the digit)"), 1, T, key=STEP)
step = cellstep.at_step(walked, t)
phone = ui.narrow()
seen = (ui.model_version(name), np.ascontiguousarray(image, dtype=np.uint8).tobytes(), layer)  # what figures show

left, right = st.columns([1, 3] if not phone else [1, 1])
with left:
    st.plotly_chart(ui.chart(cplots.digit_figure, image, t, key=(seen[1], t)), theme=None, key="cell_digit",
                    config=ui.plot_config(f"{name}-row{t}"))
with right:
    st.markdown(ui.plain(_("{model} ({arch}) at step {t} of {T}.", model=name, arch=cfg.label, t=t, T=T))
                + " " + (_("The digit is a {label}.", label=label) if label is not None else _("Your drawing.")))
    if cfg.num_layers > 1 and layer > 0:
        st.caption(_("Layer {k} reads the states of the layer below it, not the pixels: its x_t is that layer's "
                     "state at step t.", k=layer + 1))
    st.latex(cplots.equations(step, 0))
    st.caption(_("The number under each term is its size ‖·‖ (the Euclidean norm of its values) at this step."))

st.header(_("The cell at step {t}", t=t))
for d in range(walked["directions"]):
    if walked["directions"] == 2:
        st.subheader(_("Forward direction: has read rows 1 to {t}", t=t) if d == 0 else
                     _("Backward direction: has read rows {T} down to {t}", T=T, t=t))
        if d == 1:
            st.latex(cplots.equations(step, 1))
    st.plotly_chart(ui.chart(cplots.cell_figure, step, d, narrow=phone, key=(*seen, t, d, phone)), theme=None,
                    key=f"cell_diagram_{d}", config=ui.plot_config(f"{name}-step{t}-cell-{d}"))
st.caption(_("One colour scale for every block: blue −1, white 0, red +1, the range tanh squashes into; sums, "
             "pre-activations and the LSTM's cell state can go beyond it (the colour then stays at the end of the "
             "scale), so hover a unit for its number. Gates lie between 0 (white: closed) and 1 (red: open). Yellow "
             "labels are learned layers (weights, σ, tanh), pink ones are operations unit by unit."))

st.header(_("What this step changed"))
left, right = st.columns([3, 2] if not phone else [1, 1])
with right:
    st.plotly_chart(ui.chart(cplots.readout_figure, step["probs_before"], step["probs_after"], t, key=(*seen, t)),
                    theme=None, key="cell_readout", config=ui.plot_config(f"{name}-step{t}-readout"))
    before, after = step["probs_before"], step["probs_after"]
    st.caption(_("The read-out softmax(W_l s + b_l) applied to the state before step {t} and after it: its pick goes "
                 "from {a} ({pa:.0%}) to {b} ({pb:.0%}).", t=t, a=int(before.argmax()), pa=float(before.max()),
                 b=int(after.argmax()), pb=float(after.max()))
               + (" " + _("Bidirectional: both directions' states at rows t − 1 and t.")
                  if walked["directions"] == 2 else ""))
with left:
    state = "s" if cfg.cell == "rnn" else "h"
    cols = {"direction": _("direction"), "unit": _("unit"), "before": _("before"), "after": _("after"),
            "change": _("change")}
    rows = []
    for d, changes in enumerate(step["changes"]):
        for c in changes:
            row = {"direction": _(DIRECTION_NAMES[d]), "unit": c["unit"] + 1, "before": round(c["before"], 4),
                   "after": round(c["after"], 4), "change": round(c["after"] - c["before"], 4)}
            if walked["directions"] == 1:
                del row["direction"]
            rows.append({cols[k]: v for k, v in row.items()})
    st.markdown(_("The units of the state {state} that moved most in this step:", state="$" + state + "_t$"))
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption(_("Units are numbered from 1, row by row in each block, as on the Hidden states page."))
st.page_link("pages/1_Hidden_states.py", label=_("All 28 steps at once: the Hidden states page"))
