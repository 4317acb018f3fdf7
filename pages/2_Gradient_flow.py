"""Gradient flow: how much of the loss's gradient reaches the early rows, for the shipped
models and for an RNN whose W_h you rescale (Bengio et al. 1994; Pascanu et al. 2013)."""
import math

import streamlit as st

from rnn_demo import describe, export, gradients, ui
from rnn_demo.i18n import N_, _
from rnn_demo.plots import cell_color, model_colors
from rnn_demo.plots import gradients as gplots

ACTIVATION_NAMES = {"tanh": N_("tanh"), "relu": N_("ReLU"), "identity": N_("identity (no squashing)")}

ui.setup(N_("Gradient flow"))
ui.figure_format_picker()
st.title(_("Gradient flow: do the early rows still get a say?"))
st.markdown(_(
    "To learn from the first rows of a digit, the network needs the gradient of the loss $L$ with "
    "respect to the early states $s_t$. Going one step back in time multiplies it by the step's "
    "Jacobian, so after $T - t$ steps it is a product of $T - t$ matrices "
    "(Pascanu, Mikolov & Bengio 2013):"
))
# Two formulas, not one line: each fits a phone's width.
st.latex(r"\frac{\partial L}{\partial s_t} = \frac{\partial L}{\partial s_T}\prod_{k=t+1}^{T}"
         r"\frac{\partial s_k}{\partial s_{k-1}},")
st.latex(r"\frac{\partial s_k}{\partial s_{k-1}} = \operatorname{diag}\big(f'(\cdot)\big)\,W_h")
st.markdown(_(
    "Every curve below is measured, not simulated: the network is unrolled over the rows of "
    "{n} real MNIST digits, every state $s_t$ is kept, and autograd gives "
    "$\\lVert\\partial L/\\partial s_t\\rVert$ for each digit and step. The line is the median over the digits, "
    "the band the middle half (25th to 75th percentile).", n=ui.GRADIENT_DIGITS
))

names = list(ui.model_paths())
if not names:
    st.error(_(ui.NO_MODELS))
    st.stop()

# --- 1. through time ---------------------------------------------------------------------
st.header(_("1. Gradient norm through time"))
c1, c2 = st.columns([3, 1])
with c1:
    picked = st.multiselect(_("Models"), names, default=[n for n in ("rnn", "lstm", "gru") if n in names] or names[:1],
                            key="grad_models")
with c2:
    normalised = st.toggle(_("Divide by the last step"), value=True, key="grad_normalised",
                           help=_("Each digit's ‖dL/ds_t‖ divided by its own ‖dL/ds_T‖: how much of the "
                                  "gradient at the last row is left at row t."))
colors = model_colors(picked)  # one colour per model, the shipped ones as on every page
if not picked:
    st.info(_("Pick at least one model."))
else:
    factors, plotted = [], []
    # The table's columns: internal key -> heading in the session's language (the CSV keeps the keys).
    heading = {"model": _("model"), "weights": _("weights"), "state": _("state"),
               "row 1 / row 28 (median)": _("row 1 / row 28 (median)"),
               "fitted factor per step back": _("fitted factor per step back")}
    cols = st.columns(2)
    for col, at_init, label in ((cols[0], False, _("Trained")), (cols[1], True, _("At initialisation"))):
        lines = []
        with ui.friendly_errors(_("The gradient curves could not be shown")):
            for name in picked:
                curves = ui.gradient_curves(name, at_init=at_init)
                color = colors[name]
                lines.append({"name": f"{name} ‖dL/ds_t‖", "color": color, "curve": curves["h"]})
                if "c" in curves:
                    lines.append({"name": _("{model} ‖dL/dc_t‖ (cell state)", model=name), "color": color,
                                  "curve": curves["c"], "dash": "dot"})
                if "h_reverse" in curves:
                    lines.append({"name": _("{model} backward direction", model=name), "color": color,
                                  "curve": curves["h_reverse"], "dash": "dash"})
                for key, cur in curves.items():
                    factors.append({"model": name, "weights": _("trained") if not at_init else _("at initialisation"),
                                    "state": {"h": "s_t", "c": _("c_t (cell)"), "h_reverse": _("s_t (backward)")}[key],
                                    "row 1 / row 28 (median)": float(cur.median[0 if key != "h_reverse" else -1]),
                                    "fitted factor per step back": cur.factor})
        plotted += [{**line, "name": f"{label}: {line['name']}"} for line in lines]
        with col:
            st.plotly_chart(ui.chart(gplots.norms_figure, lines, normalised, title=label,
                                     key=(ui.versions(picked), normalised, label, ui.GRADIENT_DIGITS)), width="stretch",
                            key=f"grad_curves_{int(at_init)}", config=ui.plot_config("gradient-" + ("initialisation" if at_init else "trained")))
    # The figures' text alternative (issue 32): one sentence from the trained curves, then their table.
    st.caption(ui.plain(describe.gradient_sentence({r["model"]: r["row 1 / row 28 (median)"] for r in factors
                                                     if r["weights"] == _("trained") and r["state"] == "s_t"})))
    st.dataframe([{heading[k]: v for k, v in row.items()} for row in factors], hide_index=True, width="stretch",
                 column_config={heading["row 1 / row 28 (median)"]: st.column_config.NumberColumn(format="%.2e"),
                                heading["fitted factor per step back"]: st.column_config.NumberColumn(format="%.3f")})
    d1, d2, _spare = st.columns([1, 1, 2])
    d1.download_button(_("Curves (CSV)"), lambda c=plotted: export.curves_csv(c), on_click="ignore",
                       key="grad_curves_csv", file_name="gradient-through-time.csv", mime="text/csv",
                       icon=":material/download:",
                       help=_("Per curve and step t: median and quartiles of ||dL/ds_t||, divided by the last step's "
                              "(ratio_*) and as they are (norm_*)."))
    d2.download_button(_("Table (CSV)"), lambda rows=factors: export.table_csv(rows), on_click="ignore",
                       key="grad_factors_csv", file_name="gradient-factors.csv", mime="text/csv",
                       icon=":material/download:")
    st.caption(_("The fitted factor is exp(−slope) of a straight line through log(median) against t: the "
                 "average change of the gradient per step back. Below 1 it fades towards the first rows, above "
                 "1 it grows. A bidirectional model's backward direction reads the rows bottom-up, so its last "
                 "row read is row 1."))

    drawn = st.session_state.get(ui.DRAWN_DIGIT)
    if drawn is not None and getattr(drawn, "shape", None) != (28, 28):
        # Only the Draw page stores a drawing, always 28 x 28; anything else is skipped with a
        # word, so that parts 2 to 4 below are still shown.
        st.warning(_("The stored drawing is {shape} instead of 28 × 28 pixels, so it is left out here; draw it "
                     "again on the Draw page.", shape=getattr(drawn, "shape", "?")))
        drawn = None
    if drawn is not None:
        st.subheader(_("Your drawing"))
        lines, answers = [], []
        with ui.friendly_errors(_("The gradient curves of your drawing could not be shown")):
            for name in picked:
                curves, answer = ui.digit_gradient_curves(name, drawn)
                answers.append(_("{model} reads a {digit}", model=name, digit=answer))
                lines.append({"name": f"{name} ‖dL/ds_t‖", "curve": curves["h"],
                              "color": colors[name]})
        left, right = st.columns([1, 3])
        left.image(drawn, caption=_("the digit you drew (28 × 28)"), width=140, clamp=True,
                   alt=_("the digit you drew on the Draw page, 28 × 28 pixels"))
        right.plotly_chart(gplots.norms_figure(lines, normalised, title=_("Your drawing, trained models")),
                           width="stretch", key="grad_curves_drawn", config=ui.plot_config("gradient-drawing"))
        st.caption(ui.plain(_("The same measurement on the one digit you drew on the Draw page; a drawing has no true "
                              "class, so the loss is taken against each model's own answer ({answers}).",
                              answers=", ".join(answers))))

# --- 2. vanish or explode ----------------------------------------------------------------
st.header(_("2. Make it vanish or explode"))
st.markdown(_("Take an RNN, rescale its $W_h$ so that its largest eigenvalue modulus (the spectral radius "
              r"$\rho$) is what you choose, and watch the curve tilt."))
rnn_names = []
for name in names:
    try:
        cfg = ui.load_model(name).model_config
    except Exception:  # an unreadable file is reported on the home page; skip it here
        continue
    if cfg.cell == "rnn" and cfg.num_layers == 1 and not cfg.bidirectional:
        rnn_names.append(name)
sources = {"fresh": _("a fresh RNN (random W_h)")} | {n: _("the trained {model}", model=n) for n in rnn_names}
a, b, c = st.columns(3)
with a:
    source = st.selectbox(_("Weights"), list(sources), format_func=sources.get, key="grad_source")
    rho = st.slider(_("Spectral radius ρ of W_h"), 0.25, 2.0, 0.9, 0.05, key="grad_rho")
with b:
    activation = st.radio(_("Non-linearity f"), list(gradients.ACTIVATIONS), horizontal=True, key="grad_activation",
                          format_func=lambda a: _(ACTIVATION_NAMES.get(a, a)))
    seq_options = [k for k in gradients.SEQUENCES if source == "fresh" or k != "pixels"]
    seq_names = {k: _(text) for k, text in gradients.SEQUENCES.items()}  # the library marks them
    sequence = st.selectbox(_("Sequence"), seq_options, format_func=seq_names.get,
                            key="grad_sequence")
with c:
    extra = 0
    if sequence in ("blank", "noise"):
        extra = st.select_slider(_("k extra rows after the digit"), [25, 50, 100, 200, 300], value=100,
                                 key="grad_extra")
    st.caption(_("Pixel by pixel (Le et al. 2015) is a 784-step sequence of single pixels; it needs fresh "
                 "weights, since the trained models read 28 pixels per step."))

with ui.friendly_errors(_("This setting could not be shown")):
    exp = ui.gradient_experiment(source, float(rho), activation, sequence, int(extra))
    if source != "fresh":
        own = ui.gradient_experiment(source, None, activation, sequence, int(extra))
        st.caption(ui.plain(_("The trained {model}'s own W_h has ρ = {rho:.3f} (largest singular value {sigma:.3f}); "
                              "the slider replaces it.", model=source, rho=own.rho, sigma=own.sigma_max)))
slope_name = {"tanh": _("mean tanh′(·)"), "relu": _("fraction of ReLUs on"), "identity": _("f′ (identity)")}[activation]
na = _("n/a")
m = st.columns(5)
m[0].metric(_("ρ (largest |eigenvalue|)"), f"{exp.rho:.3f}")
m[1].metric(_("largest singular value"), f"{exp.sigma_max:.3f}")
m[2].metric(slope_name, na if math.isnan(exp.mean_slope) else f"{exp.mean_slope:.3f}")
m[3].metric(_("fitted factor per step back"), na if math.isnan(exp.curve.factor) else f"{exp.curve.factor:.3f}")
m[4].metric(_("steps"), f"{exp.steps}")
left, right = st.columns([3, 2])
with left:
    line = {"name": f"{activation} RNN, ρ = {exp.rho:.2f}", "color": cell_color("rnn"), "curve": exp.curve}
    x_title = _("step t (pixel read)") if sequence == "pixels" else _("step t (row read)")
    # every number behind the figures: the curves are over ui.GRADIENT_DIGITS digits
    setting = (source, None if source == "fresh" else ui.model_version(source), float(rho), activation, sequence,
               int(extra), ui.GRADIENT_DIGITS)
    st.plotly_chart(ui.chart(gplots.norms_figure, [line], normalised, title=_("‖dL/ds_t‖ over {n} steps", n=exp.steps),
                             x_title=x_title, key=(*setting, normalised)), width="stretch", key="grad_experiment",
                    config=ui.plot_config(f"gradient-{activation}-rho-{exp.rho:.2f}"))
    st.download_button(_("This curve (CSV)"), lambda c=line: export.curves_csv([c]), on_click="ignore",
                       key="grad_experiment_csv", file_name=f"gradient-{activation}-rho-{exp.rho:.2f}.csv",
                       mime="text/csv", icon=":material/download:")
with right:
    st.plotly_chart(ui.chart(gplots.eigen_figure, exp.eigenvalues, exp.rho, key=setting), width="stretch",
                    key="grad_eigen", config=ui.plot_config("eigenvalues"))
if exp.overflow_step is not None:
    st.warning(_("The states themselves overflowed (became infinite) at step {step}: the forward pass exploded too, "
                 "so the gradient there is not a number.", step=exp.overflow_step))
for note in exp.curve.notes:
    st.info(note)
first = exp.curve.median[0]
if math.isfinite(first) and first > 0:
    st.markdown(_("Here the gradient that reaches step 1 is **{first:.2e}** times the one at step {steps} (median "
                  "over the digits); each step back multiplies it by about **{factor:.3f}**.",
                  first=first, steps=exp.steps, factor=exp.curve.factor))

# --- 3. during training ------------------------------------------------------------------
st.header(_("3. During training"))
train_name = st.selectbox(_("Model"), names, key="grad_train_model")
with ui.friendly_errors(_("The training history could not be shown")):
    info = ui.training_gradient_norms(train_name)
t = st.columns(4)
t[0].metric(_("training steps"), f"{len(info['grad_norm']):,}")
t[1].metric(_("clipping threshold"), f"{info['clip']:g}" if info["clip"] > 0 else _("none"))
t[2].metric(_("steps clipped"), f"{info['clipped']:,} ({info['clipped_fraction']:.0%})" if info["clip"] > 0 else na)
t[3].metric(_("NaN / inf steps"), f"{len(info['bad_steps'])}")
st.plotly_chart(ui.chart(gplots.training_figure, info, key=(ui.model_version(train_name),)), width="stretch",
                key="grad_training", config=ui.plot_config(f"{train_name}-training-gradient-norm"))
st.download_button(_("Gradient norm at every step (CSV)"), on_click="ignore", key="grad_training_csv",
                   data=lambda i=info: export.series_csv({"step": i["step"], "gradient_norm": i["grad_norm"]}),
                   file_name=f"{train_name.split(' ')[0]}-gradient-norms.csv", mime="text/csv",
                   icon=":material/download:")
if len(info["bad_steps"]):
    st.error(_("The gradient was not a number at step {step}: the run diverged there.", step=int(info["bad_steps"][0])))
st.caption(_("The global norm of every parameter's gradient at each step, before clipping. Clipping "
             "(Pascanu et al. 2013) rescales a step whose norm is above the threshold down to it, so one "
             "exploding batch cannot throw the weights far away; the direction is kept."))

# --- 4. why ------------------------------------------------------------------------------
st.header(_("4. Why it happens"))
slope_note = (_("in part 2 its mean is {mean:.2f}", mean=exp.mean_slope)
              if activation == "tanh" and math.isfinite(exp.mean_slope) else _("pick tanh in part 2 to see its mean"))
st.markdown(_("""
- **Vanishing (ρ < 1 with tanh).** Each step back multiplies the gradient by $\\operatorname{{diag}}(f')\\,W_h^\\top$.
  With ρ below 1, $W_h$ shrinks most directions, and tanh′ is at most 1 ({slope_note}), so the
  product shrinks roughly geometrically: the early rows barely influence the
  loss, and the network cannot learn long-range dependencies (Bengio, Simard & Frasconi 1994).
- **Exploding (ρ > 1).** With ρ above 1 some directions grow at every step. With the identity there is no
  tanh′ < 1 to damp them, so the gradient grows like ρ to the power of the distance; with tanh the
  saturation (tanh′ → 0) usually wins back. Large ρ is necessary for explosion, not sufficient (Pascanu et al. 2013),
  which is why clipping the gradient norm (part 3) is the usual guard.
- **The LSTM's way out.** Its cell state is updated by addition, $c_t = f \\odot c_{{t-1}} + i \\odot g$, so
  $\\partial c_t/\\partial c_{{t-1}} = \\operatorname{{diag}}(f)$: with forget gates near 1 the gradient passes through many
  steps almost unchanged (Hochreiter & Schmidhuber 1997). Compare the dotted ‖dL/dc_t‖ with the RNN's line in part 1.
""", slope_note=slope_note))
st.caption(_("References: Bengio, Simard & Frasconi (1994), *Learning long-term dependencies with gradient descent "
             "is difficult*. Pascanu, Mikolov & Bengio (2013), *On the difficulty of training recurrent neural "
             "networks*. Hochreiter & Schmidhuber (1997), *Long short-term memory*. Le, Jaitly & Hinton (2015), "
             "*A simple way to initialize recurrent networks of rectified linear units* (pixel-by-pixel MNIST)."))
