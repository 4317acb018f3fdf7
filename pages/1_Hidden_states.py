"""Hidden states: watch s_t evolve row by row while a model reads one digit."""
import numpy as np
import streamlit as st

from rnn_demo import analysis, export, ui
from rnn_demo.i18n import N_, _, a_digit, ngettext
from rnn_demo.plots import explorer

ui.setup(N_("Hidden states"))
ui.figure_format_picker()
st.title(_("Hidden states: watch the network read a digit"))
st.markdown(_(
    "The network reads the digit **one row per step**: at step $t$ it takes row $x_t$ (28 pixels) and "
    "updates its memory, the hidden state $s_t = \\tanh(W_x x_t + W_h s_{t-1} + b)$. After every step the "
    "read-out $o_t = W_l s_t + b_l$ turns the state into ten probabilities, one per digit. "
    "Press **▶ Play** to watch the 28 steps, or drag the step slider."
))

# The choices' values stay English (the session state and the logic use them); shown translated.
SOURCES = (N_("A digit from the sample"), N_("A random digit"), N_("My drawing"))
digits = ui.sample()
labels = digits.labels.numpy()

c_model, c_source, c_pick = st.columns([1, 1.3, 2])
with c_model:
    name = ui.model_picker(_("Model"), key="hs_model", default="rnn")
with c_source:
    shown = {s: _(s) for s in SOURCES}  # translated now: a format_func may be called outside this run
    source = st.radio(_("Digit"), SOURCES, format_func=shown.get, key="hs_source")
with c_pick:
    if source == SOURCES[0]:
        k1, k2 = st.columns(2)
        cls = k1.selectbox(_("Class"), range(10), key="hs_class")
        members = np.flatnonzero(labels == cls)
        nth = k2.number_input(_("Which one (1–{n})", n=len(members)), 1, len(members), 1, key="hs_nth")
        index = int(members[nth - 1])
    elif source == SOURCES[1]:
        again = st.button(_("Another random digit"), key="hs_reroll")
        if again or "hs_random" not in st.session_state:
            st.session_state["hs_random"] = int(np.random.default_rng().integers(len(labels)))
        index = st.session_state["hs_random"]
    else:
        index = None

if index is not None:
    image, label = digits.images[index].numpy(), int(labels[index])
else:
    image, label = ui.drawn_digit(), None

with ui.friendly_errors(_("The hidden states could not be shown")):
    ckpt = ui.load_model(name)
    trace = ui.digit_trace(name, image, label)
    seen = (ui.model_version(name), np.ascontiguousarray(image).tobytes(), label)  # what every figure shows
cfg = ckpt.model_config
H, D, T = cfg.hidden_size, cfg.directions, len(trace["step_probs"])
pred, conf = trace["prediction"], float(trace["probs"].max())

with c_pick:
    model = ui.plain(name)
    if index is None:
        reading = _("Reading **your drawing** (its true class is not known, so below the model's own final answer is "
                    "the reference) with **{model}** ({arch}). Final answer: **{pred}** with {conf:.0%}.",
                    model=model, arch=cfg.label, pred=pred, conf=conf)
    elif pred == label:
        reading = _("Reading **{a_digit}** from the bundled MNIST test sample (digit no. {no} of {total}) with "
                    "**{model}** ({arch}). Final answer: **{pred}** with {conf:.0%} ✓.", a_digit=a_digit(label), no=index + 1,
                    total=len(labels), model=model, arch=cfg.label, pred=pred, conf=conf)
    else:
        reading = _("Reading **{a_digit}** from the bundled MNIST test sample (digit no. {no} of {total}) with "
                    "**{model}** ({arch}). Final answer: **{pred}** with {conf:.0%} ✗ (it is {a_digit}).",
                    a_digit=a_digit(label), no=index + 1, total=len(labels), model=model, arch=cfg.label, pred=pred, conf=conf)
    st.markdown(reading)

# --- 1. the animation ---------------------------------------------------------------------
st.header(_("1. The network reading, step by step"))
quantities = {q: _(text) for q, text in analysis.QUANTITIES[cfg.cell].items()}  # the library marks them
quantity = "h"
if len(quantities) > 1:
    quantity = st.radio(_("Show"), list(quantities), format_func=quantities.get, horizontal=True, key=f"hs_q_{cfg.cell}")
qname = quantities[quantity]
phone = ui.narrow()
st.plotly_chart(ui.chart(explorer.explorer_figure, trace, quantity, qname, narrow=phone,
                         key=(*seen, quantity, phone)), theme=None, key="hs_animation",
                config=ui.plot_config(f"{name}-{quantity}"))
file_stem = f"{name.split(' ')[0]}-{'drawing' if index is None else f'digit{index + 1}'}"
g1, g2, g3, _spare = st.columns([1.2, 1.5, 1.2, 2])
g1.download_button(_("Animation as GIF"), ui.digit_gif(name, image, label, quantity, qname), on_click="ignore",
                   file_name=f"{file_stem}-{quantity}.gif", mime="image/gif", key="hs_gif", icon=":material/download:",
                   help=_("The 28 frames above as an animated GIF, for slides."))
g2.download_button(_("States and probabilities (CSV)"), lambda t=trace: export.trace_csv(t), on_click="ignore",
                   file_name=f"{file_stem}.csv", mime="text/csv", key="hs_csv", icon=":material/download:",
                   help=_("One line per step t: p_0..p_9 = softmax(o_t), the hidden state h_1.., and every gate and "
                          "cell state the model has (c_.., i_.., f_.., ...)."))
g3.download_button(_("All arrays (.npz)"), lambda t=trace: export.trace_npz(t), on_click="ignore",
                   file_name=f"{file_stem}.npz", mime="application/octet-stream", key="hs_npz",
                   icon=":material/download:", help=_("rows, states, step_probs, probs and the gates, for NumPy: "
                                                      "np.load(file)['states']."))

values = trace["states"] if quantity == "h" else trace["internals"][quantity]
last = values[-1]
if quantity in explorer.GATES:
    gate_words = {"i": _("The {gate} is between 0 (dark: closed) and 1 (yellow: open) and says how much of the new "
                         "candidate enters the cell."),
                  "f": _("The {gate} is between 0 (dark: closed) and 1 (yellow: open) and says how much of the old "
                         "cell state is kept."),
                  "o": _("The {gate} is between 0 (dark: closed) and 1 (yellow: open) and says how much of the cell "
                         "state is shown as h_t."),
                  "r": _("The {gate} is between 0 (dark: closed) and 1 (yellow: open) and says how much of the old "
                         "state feeds the candidate."),
                  "z": _("The {gate} is between 0 (dark: closed) and 1 (yellow: open) and says how much of the old "
                         "state is kept as it is.")}[quantity]
    note = gate_words.format(gate=qname) + " " + _(
        "At the last step its mean over the {units} units is {mean:.2f}; {above} units are above 0.9 and {below} "
        "below 0.1.", units=values.shape[1], mean=last.mean(), above=(last > 0.9).sum(), below=(last < 0.1).sum())
elif quantity == "c" or trace["nonlinearity"] == "relu":
    what = (_("The cell state is the LSTM's additive memory (c_t = f_t·c_(t-1) + i_t·g_t); it is not squashed into "
              "[−1, 1], so the colour scale spans ±{span:.1f}, the largest value for this digit. At the last step the "
              "largest |value| is {largest:.2f}.") if quantity == "c"
            else _("This RNN's state is ReLU(W_x x_t + W_h s_(t-1) + b); it is not squashed into [−1, 1], so the "
                   "colour scale spans ±{span:.1f}, the largest value for this digit. At the last step the largest "
                   "|value| is {largest:.2f}."))
    note = what.format(span=max(1.0, float(np.abs(values).max())), largest=np.abs(last).max())
else:
    saturated = int((np.abs(last) > 0.9).sum())
    note = _("Each square is one of the {units} units: red is positive, blue negative, on a fixed scale from −1 to 1 "
             "(tanh's range). At the last step {saturated} units are beyond ±0.9 (saturated) and {near} are near 0. "
             "The blank rows at the top of a digit barely move the state; the strokes do.",
             units=values.shape[1], saturated=saturated, near=int((np.abs(last) < 0.1).sum()))
st.caption(note + " " + _("The middle panel fills in one column per step: the same numbers over time."))
if D == 2:
    st.caption(_("Bidirectional: the first {H} units read the rows top-down (forward), the next {H} bottom-up "
                 "(backward), so at step t the backward half has already read rows 28 to t. The model's final answer "
                 "uses the forward state at step {T} and the backward state at step 1; the bars show the read-out "
                 "applied to both halves at step t.", H=H, T=T))

# --- 2. when does it know ------------------------------------------------------------------
st.header(_("2. When does it know?"))
left, right = st.columns([2, 1])
with left:
    st.plotly_chart(ui.chart(explorer.knows_figure, trace, key=seen), theme=None, key="hs_knows", config=ui.plot_config(f"{name}-knows"))
with right:
    target, k = trace["target"], trace["knows_from"]
    p = trace["step_probs"][:, target]
    if k is None:
        last_pick = int(trace['step_probs'][-1].argmax())
        st.markdown(_("At the last step the read-out picks **{pick}**, not the true class {target}: it never settles "
                      "on it (P = {p:.0%} at step {T}).", pick=last_pick, target=target, p=p[-1], T=T)
                    if label is not None else
                    _("At the last step the read-out picks **{pick}**, not its final answer {target}: it never settles "
                      "on it (P = {p:.0%} at step {T}).", pick=last_pick, target=target, p=p[-1], T=T))
    else:
        values = dict(k=k, T=T, left=T - k, target=target, p_k=p[k - 1], p_T=p[-1])
        st.markdown(ngettext("From **step {k}** on, after reading {k} of {T} rows, the read-out picks the true class "
                             "{target} and never changes its mind: {left} row before the end. At step {k} it gives it "
                             "{p_k:.0%}, at step {T} {p_T:.0%}.",
                             "From **step {k}** on, after reading {k} of {T} rows, the read-out picks the true class "
                             "{target} and never changes its mind: {left} rows before the end. At step {k} it gives it "
                             "{p_k:.0%}, at step {T} {p_T:.0%}.", T - k, **values)
                    if label is not None else
                    ngettext("From **step {k}** on, after reading {k} of {T} rows, the read-out picks its final answer "
                             "{target} and never changes its mind: {left} row before the end. At step {k} it gives it "
                             "{p_k:.0%}, at step {T} {p_T:.0%}.",
                             "From **step {k}** on, after reading {k} of {T} rows, the read-out picks its final answer "
                             "{target} and never changes its mind: {left} rows before the end. At step {k} it gives it "
                             "{p_k:.0%}, at step {T} {p_T:.0%}.", T - k, **values))
    st.caption(_("The dotted line is the probability of whichever class the read-out would pick at that step "
                 "(its number is written above each point). Before the strokes arrive, the picks are guesses."))

# --- 3. what drives s_t --------------------------------------------------------------------
st.header(_("3. What drives the state: new row or memory?"))
left, right = st.columns([2, 1])
with left:
    st.plotly_chart(ui.chart(explorer.drive_figure, trace, key=seen), theme=None, key="hs_drive", config=ui.plot_config(f"{name}-drive"))
with right:
    inp, rec = trace["drive"]["input"][0], trace["drive"]["recurrent"][0]
    memory_steps = int((rec > inp).sum())
    peak = int(inp.argmax())
    if cfg.cell == "rnn":
        terms = _("The two pushes on the state at each step, the input term ||W_x x_t|| and the recurrent term "
                  "||W_h s_(t-1)|| (sizes, biases left out).")
    elif cfg.cell == "lstm":
        terms = _("The two pushes on the state at each step, for the LSTM: the input part ||W_ih x_t|| and the "
                  "recurrent part ||W_hh h_(t-1)|| of the pre-activations of all four gates (i, f, g, o) together "
                  "(sizes, biases left out).")
    else:
        terms = _("The two pushes on the state at each step, for the GRU: the input part ||W_ih x_t|| and the "
                  "recurrent part ||W_hh h_(t-1)|| of the pre-activations of all three parts (r, z, n) together "
                  "(sizes, biases left out).")
    st.markdown(terms + " " + _(
        "Here memory is the larger push at **{m} of {T}** steps. The new row pushes hardest at step {step} ({inp:.1f} "
        "against {rec:.1f} from memory). Blank rows give an input of 0: then only memory moves the state.",
        m=memory_steps, T=T, step=peak + 1, inp=inp[peak], rec=rec[peak]))
    if D == 2:
        st.caption(_("Dashed lines: the backward direction, whose memory at row t comes from rows below it."))

# --- 4. trajectories -----------------------------------------------------------------------
st.header(_("4. The path of the state through its space"))
with ui.friendly_errors(_("The map of hidden states could not be shown")):
    pca = ui.sample_pca(name)
path = analysis.project(trace["states"], pca["pca"])
left, right = st.columns([2, 1])
with left:
    st.plotly_chart(ui.chart(explorer.trajectory_figure, pca, path, name, cfg.cell, key=(*seen, name)), theme=None,
                    key="hs_paths", config=ui.plot_config(f"{name}-paths"))
with right:
    ex = pca["pca"]["explained"]
    st.markdown(_("The state has {size} numbers; to draw it we keep the two directions along which the states of "
                  "all {n:,} sample digits (at all {T} steps) vary most: principal components, which hold {ex0:.0%} "
                  "and {ex1:.0%} of that variation. Each faint line is one of {paths} sample digits going s_1 → s_{T}, "
                  "coloured by its class, with a dot where it ends. The thick black path is this digit. Paths start "
                  "together (the top rows are blank) and split by class as the strokes come in.",
                  size=H * D, n=len(labels), T=T, ex0=ex[0], ex1=ex[1], paths=len(pca["labels"])))

st.subheader(_("Two models side by side"))
others = [n for n in ui.model_paths() if n != name]
if not others:
    st.info(_("Only one model is available; train another on the Train page to compare."))
else:
    default = "lstm" if name != "lstm" and "lstm" in others else others[0]
    other = st.selectbox(_("Compare with"), others, index=others.index(default), key="hs_other")
    with ui.friendly_errors(_("The comparison could not be shown")):
        other_ckpt = ui.load_model(other)
        other_trace = ui.digit_trace(other, image, label)
        other_pca = ui.sample_pca(other)
    st.plotly_chart(ui.chart(explorer.compare_trajectories_figure, [
        (name, cfg.cell, pca, path),
        (other, other_ckpt.model_config.cell, other_pca, analysis.project(other_trace["states"], other_pca["pca"]))],
        narrow=phone, key=(*seen, name, other, ui.model_version(other), phone)), theme=None, key="hs_compare",
        config=ui.plot_config(f"{name}-{other}-paths"))
    st.caption(ui.plain(_("Each model gets its own map (PCA of its own states on the sample); the same digit is drawn "
                          "black in both. {a} answers {a_pred} ({a_conf:.0%}), {b} answers {b_pred} ({b_conf:.0%}).",
                          a=name, a_pred=trace["prediction"], a_conf=trace["probs"].max(), b=other,
                          b_pred=other_trace["prediction"], b_conf=other_trace["probs"].max())))
