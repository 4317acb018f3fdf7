"""Memory: how long can it remember? The digit's rows, then a gap of blank rows, then the answer:
the shipped accuracy-against-gap curves, each model's state through the gap, and a run of your own."""
import json
from dataclasses import replace

import streamlit as st

from rnn_demo import data, jobs, memory, ui
from rnn_demo.i18n import N_, _, a_digit
from rnn_demo.plots import memory as mplots

ui.setup(N_("Memory"))
st.title(_("How long can it remember?"))
st.markdown(_(
    "The network reads a digit row by row as everywhere in this app, and then **N more rows that are blank**. "
    "Only after the last blank row does it answer. Whatever it knows about the digit has to survive N more "
    r"steps of $s_t = \tanh(W_h s_{t-1} + b)$ (the input is zero), or, for the LSTM, "
    r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$. This is the classic test of memory in recurrent networks "
    "(Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997), on this app's real digits."
))

LABELS = {v: _(spec[3]) for v, spec in memory.VARIANTS.items()}  # the library marks its labels


def variant_of(cell: str, forget_init: str, forget_bias: float = 1.0) -> str:
    """The grid's variant a model's settings match, else its cell."""
    for v, (c, init, bias, _) in memory.VARIANTS.items():
        if c == cell and (cell == "rnn" or (init == forget_init and (init != "constant" or bias == forget_bias))):
            return v
    return cell


# --- 1. the shipped curves ----------------------------------------------------------------
st.header(_("1. Accuracy against the gap"))
with ui.friendly_errors(_("The shipped results could not be shown")):
    try:
        results, summary, version = ui.memory_results()
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(_("models/memory/results.json could not be read ({why})", why=exc)) from None
    if not results.get("runs"):
        raise ValueError(_("models/memory/results.json holds no runs yet (python -m rnn_demo.memory grid)"))
b = results["budget"]
budget = _("every run: {steps} steps of {batch} digits from the first {n_train:,} MNIST training digits, Adam with a "
           "one-cycle learning rate (peak {lr:g}), clipping at {clip:g}, orthogonal W_h, {hidden} units; tested on the "
           "first {n_test:,} MNIST test digits with the same gap", steps=b["steps"], batch=b["batch_size"],
           n_train=b["n_train"], lr=b["lr"], clip=b["clip"], hidden=b["hidden"], n_test=b["n_test"])
points = ui.memory_user_points()


def yours(p: dict) -> str:
    """A star's name in the legend: the model, its data, its steps (and its noise)."""
    where = _("sample") if p["data"] == "sample" else "MNIST"
    if p["noise"]:
        return _("yours: {name} ({data}, {steps} steps, noise {noise:g})", name=p["name"], data=where,
                 steps=p["steps"], noise=p["noise"])
    return _("yours: {name} ({data}, {steps} steps)", name=p["name"], data=where, steps=p["steps"])


extra = [{"gap": p["gap"], "acc": p["acc"], "cell": p["cell"], "variant": variant_of(p["cell"], p["forget_init"]),
          "name": yours(p)} for p in points]
st.plotly_chart(ui.chart(mplots.accuracy_vs_gap, summary, LABELS, extra,
                         key=(version, tuple((p["name"], p["gap"], p["acc"]) for p in extra))),
                width="stretch", key="memory_curves")
n_runs = len(results["runs"])
seeds = sorted({r["seed"] for r in results["runs"]})
st.caption(_("The line is the mean over seeds, the band the range from the worst to the best seed ({n_runs} runs; "
             "seeds {seeds}; hover a point for its seed count). Same budget and recipe for every cell, gap and seed: "
             "{budget}. Only the cell, the forget-gate initialisation and the gap change. Stars are models trained on "
             "this page (section 4), on their own data and budget.", n_runs=n_runs, seeds=", ".join(map(str, seeds)),
             budget=budget)
           + (" " + _("A model that gives one answer for every digit scores {acc:.1%} here (always {digit}, the "
                      "commonest digit among these test digits): that is where a model that learned nothing ends, a "
                      "little above the 10% line.", acc=b["constant_answer"]["acc"], digit=b["constant_answer"]["digit"])
              if "constant_answer" in b else ""))
rows = []
for v, s in summary.items():
    row = {_("model"): LABELS.get(v, v)}
    for g in sorted({g for x in summary.values() for g in x["gaps"]}):
        column = _("gap {gap}", gap=g)
        if g not in s["gaps"]:
            row[column] = "–"  # not run
            continue
        i = s["gaps"].index(g)
        row[column] = f"{s['mean'][i]:.1%} " + (f"({s['min'][i]:.0%}–{s['max'][i]:.0%}, n={s['seeds'][i]})"
                                                if s["seeds"][i] > 1 else "(n=1)")
    rows.append(row)
st.dataframe(rows, hide_index=True, width="stretch")
st.caption(_("Mean test accuracy over the seeds (lowest–highest seed, n = number of seeds); – : not run."))
run_gaps = sorted({r["gap"] for r in results["runs"]})
lc_gap = st.select_slider(_("Learning curves at gap"), run_gaps, value=50 if 50 in run_gaps else run_gaps[-1],
                          key="memory_lc_gap")
st.plotly_chart(ui.chart(mplots.learning_figure, memory.learning_curves(results, lc_gap), LABELS, lc_gap,
                         key=(version, lc_gap)), width="stretch", key="memory_learning")
st.caption(_("Test accuracy every {n} steps during each run at this gap. A curve still rising at the last step says "
             "that cell would do better with a larger budget; a flat one at the bottom, that it found nothing to "
             "learn from in this budget.", n=results["runs"][0]["train_config"]["eval_every"]))
with st.expander(_("Reproduce these numbers")):
    st.code("export RNN_DEMO_DATA=../shared/data/mnist OMP_NUM_THREADS=1\n" + results["reproduce"]
            + "\n# " + _("one run, e.g.") + "\n" + memory.command("lstm-chrono", 200, 0), language="bash")
    st.caption(_("Each run's record (its full configuration, test accuracy every 200 steps, loss, time) is in "
                 "models/memory/runs/, merged into models/memory/results.json."))


def at(variant: str, gap: int) -> float | None:
    s = summary.get(variant)
    return s["mean"][s["gaps"].index(gap)] if s and gap in s["gaps"] else None


def pct(v) -> str:
    return _("n/a") if v is None else f"{v:.0%}"


st.subheader(_("What the runs say"))
floor = b.get("constant_answer", {}).get("acc", 0.1)
st.markdown("\n".join(f"- **{LABELS.get(v, v)}**: {memory.verdict(s, floor)}." for v, s in summary.items()))
big = max((g for g in memory.GAPS if at("lstm", g) is not None), default=0)
st.markdown(_("""
Why they differ, in short (sections 2 and 3 show it on the models themselves):
- **The tanh RNN** has nothing but $s_t = \\tanh(W_h s_{{t-1}} + b)$ in the gap. It holds a short gap and then loses
  the digit; the gradient that should teach it to keep the digit fades by a roughly constant factor per blank row.
- **The LSTM's forget gate** starts at sigmoid(1) = 0.73 with the usual bias of 1, so by the gate alone an untrained
  cell would keep 0.73^50 ≈ 10⁻⁷ of its content over 50 blank rows, and the first probe of this experiment
  (2 epochs, gap 50) saw the LSTM fail (21.7%, RNN 91.7%, GRU 11.7%). In these runs it often learned to hold the digit anyway
  ({acc} at gap {big} on average), though not on every seed (the table's ranges): section 2 shows how
  seed 0 does it, through the input gate rewriting the cell at every blank row, not through forget gates opened to 1.
- **Chrono initialisation** (Tallec & Ollivier 2018) sets each unit's forget bias to log(u), u uniform on [1, T − 1] for
  the expected span T (here 28 + the gap), so most units start by keeping their content for tens to hundreds of
  steps; a constant bias of 3 (sigmoid(3) = 0.95) is the older remedy (Gers et al. 2000; Jozefowicz et al. 2015
  recommend 1 or more).
- **The GRU** keeps its state through the update gate z, $h_t = (1 - z) \\odot n + z \\odot h_{{t-1}}$, whose bias starts
  at 0 (z = 0.5 per step) in the standard initialisation: half of the state is replaced at every blank row.

These numbers are what a small, fixed budget gives (the caption above); with more steps the curves can move. The
experiment compares what each cell learns *within the same budget*, and the initialisation of its gates is as much a
part of it as the cell.
""", acc=pct(at("lstm", big)), big=big))

# --- 2. through the gap -------------------------------------------------------------------
st.header(_("2. Watch the digit fade (or not) through the gap"))
shipped = memory.shipped_checkpoints()
if not shipped:
    st.info(_("No shipped checkpoints in models/memory/."))
else:
    c1, c2, c3 = st.columns([1, 2, 1])
    gaps = sorted(shipped)
    gap = c1.radio(_("Gap (blank rows)"), gaps, horizontal=True, key="memory_gap")
    available = list(shipped[gap])
    default = [v for v in ("rnn", "lstm", "lstm-chrono") if v in available] or available[:1]
    chosen = c2.multiselect(_("Models (each trained at this gap)"), available, default=default,
                            format_func=LABELS.get, key="memory_models")
    index = int(c3.number_input(_("Digit no. of the bundled sample (1 to {n:,})", n=len(ui.sample())), 1,
                                len(ui.sample()), 1, key="memory_digit",
                                help=_("One of the 1,000 MNIST test digits bundled with the app."))) - 1
    if not chosen:
        st.info(_("Pick at least one model."))
    else:
        with ui.friendly_errors(_("The models' states could not be shown")):
            views = {v: ui.memory_view(shipped[gap][v], gap) for v in chosen}
        key = (gap, tuple((v, *ui.file_version(shipped[gap][v])) for v in chosen))
        label = int(ui.sample().labels[index])
        left, right = st.columns([1, 4])
        with left:
            st.image(ui.sample().images[index].numpy(), caption=_("sample digit {no}: {a_digit}", no=index + 1,
                                                                  a_digit=a_digit(label)), width=120, clamp=True,
                     alt=_("MNIST test digit, a handwritten {label}", label=label))
            for v in chosen:
                answer = int(views[v]["answer"][index])
                st.markdown((_("**{model}** answers **{answer}** (right); {acc:.0%} right over the sample")
                             if answer == label else
                             _("**{model}** answers **{answer}** (wrong); {acc:.0%} right over the sample"))
                            .format(model=LABELS[v], answer=answer, acc=views[v]["accuracy"]))
        with right:
            lines = [{"name": LABELS[v], "variant": v, "y": views[v]["p_true"][index]} for v in chosen]
            st.plotly_chart(ui.chart(mplots.through_gap, lines, gap,
                                     _("P(it is {a_digit}) read out at every step", a_digit=a_digit(label)),
                                     title=_("Digit {no} ({a_digit}): the read-out's answer at every step",
                                             no=index + 1, a_digit=a_digit(label)),
                                     key=(*key, "digit", index)), width="stretch", key="memory_digit_fig")
        st.caption(_("The read-out (the layer that gives the answer after the last step) applied to the state at "
                     "every step: how sure the model would be of the true class if it had to answer then. It was "
                     "trained on the last step's state only, so in the middle of the gap it may not read what the "
                     "state still holds; the probe below asks that directly."))
        a, b2 = st.columns(2)
        with a:
            probe = [{"name": LABELS[v], "variant": v, "y": views[v]["probe"]} for v in chosen]
            st.plotly_chart(ui.chart(mplots.through_gap, probe, gap, _("digits decoded by the probe"),
                                     title=_("How much of the digit is still in s_t"), key=(*key, "probe")),
                            width="stretch", key="memory_probe_fig")
            n = len(ui.sample())
            st.caption(_("A linear probe per step: a ridge regression from s_t to the class, fitted on {fit} sample "
                         "digits' states and scored on the other {scored}. Its accuracy at step t is how much of the "
                         "digit any linear read-out could still recover there; at chance (10%) it is gone.",
                         fit=n // 2, scored=n - n // 2))
        with b2:
            grads = []
            for v in chosen:
                for state, curve in views[v]["grad"].items():
                    grads.append({"name": _("{model} ‖dL/dc_t‖ (cell)", model=LABELS[v]) if state == "c"
                                  else LABELS[v], "variant": v,
                                  "median": curve.median, "q1": curve.q1, "q3": curve.q3,
                                  **({"dash": "dashdot"} if state == "c" else {})})
            st.plotly_chart(ui.chart(mplots.gradient_through_gap, grads, gap,
                                     title=_("How far back the gradient reaches"), key=(*key, "grad")),
                            width="stretch", key="memory_grad_fig")
            st.caption(_("‖dL/ds_t‖ divided by its value at the last step, median and middle half over {n} sample "
                         "digits. To learn to keep the digit, the loss at the end must send a signal back through "
                         "every blank row to the rows of the digit; where this falls by orders of magnitude, those "
                         "rows get no say.", n=memory.GRAD_DIGITS))
        st.page_link("pages/2_Gradient_flow.py", label=_("Why the gradient fades: the Gradient flow page"))
        gated = [v for v in chosen if views[v]["keep"] is not None]
        if gated:
            st.subheader(_("What the gates learned"))
            keep = [{"name": LABELS[v], "variant": v, "keep": views[v]["keep"]["keep"]} for v in gated]
            st.plotly_chart(ui.chart(mplots.keep_figure, keep, gap, key=(*key, "keep")), width="stretch",
                            key="memory_keep_fig")
            held = ", ".join(_("{model}: {n} of {units} units", model=LABELS[v],
                               n=int((views[v]["keep"]["keep"] ** gap > 0.5).sum()), units=views[v]["keep"]["keep"].size)
                             for v in gated)
            grows = "; ".join(_("{model}: ‖c_t‖ {start:.1f} when the digit ends, {end:.1f} after the gap",
                                model=LABELS[v], start=c[27], end=c[-1])
                              for v in gated if (c := views[v]["keep"]["c_norm"]) is not None)
            st.caption(_("How much of its memory each unit keeps per blank row (the LSTM's forget gate f_t, the GRU's "
                         "update gate z_t), averaged over the gap and {n} sample digits. A unit that keeps k per step "
                         "would still hold k^{gap} of its content after the gap by the gate alone; units keeping more "
                         "than half: {held}.", n=memory.KEEP_DIGITS, gap=gap, held=held)
                       + (" " + _("But the gate is not the whole story: the cell also writes i_t ⊙ g_t at every blank "
                                  "row, computed from its own state, and the median size of the cell state goes "
                                  "{grows}. A model whose gates forget can still hold the digit by rewriting it every "
                                  "step; the probe above says whether it does.", grows=grows) if grows else ""))

# --- 3. why ---------------------------------------------------------------------------------
st.header(_("3. Why"))
st.markdown(_(r"""
- In the gap the input is zero, so the RNN's state follows $s_t = \tanh(W_h s_{t-1} + b)$ on its own. To remember, the
  trained network must make the ten digits end in ten different places of this map, and training must find that from
  a gradient that is multiplied by $\operatorname{diag}(\tanh')\,W_h^\top$ at every step back: after 100 blank rows
  little of it is left (Bengio, Simard & Frasconi 1994; Pascanu et al. 2013).
- The LSTM's cell state is carried by addition, $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, so
  $\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)$: with forget gates near 1 both the content and the gradient
  pass through the gap almost unchanged (Hochreiter & Schmidhuber 1997; Gers, Schmidhuber & Cummins 2000).
  With gates near sigmoid(1) = 0.73 both decay like 0.73^t, about as fast as in a plain RNN, until training opens them.
- Chrono initialisation (Tallec & Ollivier 2018, *Can recurrent neural networks warp time?*) starts the forget gates
  open for the time scales the task needs: unit j keeps its content for about $e^{b_j}$ steps, with the
  $b_j = \log u_j$, $u_j \sim U[1, T - 1]$ spread over the span T; the input gate starts at $-b_j$.
"""))

# --- 4. train it yourself -----------------------------------------------------------------
st.header(_("4. Train it yourself"))
st.markdown(_("Train one cell at one gap in the background (in the class's training queue, with the Train page's "
              "runs). When it is done, its test accuracy appears as a star in section 1. These models are kept "
              "apart from the other pages' model lists, because they expect a gap after the digit."))
secret, learner = ui.learner_keys()
mine = ui.my_run("memory_run", folder="memory")
c1, c2, c3, c4 = st.columns(4)
variant = c1.selectbox(_("Cell"), list(memory.VARIANTS), format_func=LABELS.get, key="memory_train_variant", index=3)
train_gap = c2.select_slider(_("Gap"), [0, 10, 25, 50, 100, 200], value=50, key="memory_train_gap")
which = c3.radio(_("Train on"), ["sample", "mnist"], key="memory_train_data",
                 format_func={"sample": _("the bundled sample (800 digits; 200 test)"),
                              "mnist": _("the full MNIST (60,000; 10,000 test)")}.get)
steps = c4.select_slider(_("Steps (batches of 64)"), [100, 200, 400, 800], value=200, key="memory_train_steps")
noise_names = {v: _("blank") if v == 0 else _("noise: pixels uniform in [0, {top:g}]", top=v) for v in (0.0, 0.1, 0.3)}
noise = st.radio(_("Gap rows"), list(noise_names), horizontal=True, key="memory_train_noise",
                 format_func=noise_names.get,
                 help=_("The shipped runs use blank rows. Noise rows (a fresh draw at every training step, a fixed "
                        "one for the test) give the state something to forget the digit under."))
model_cfg, cfg = memory.variant_configs(variant, int(train_gap), 0, replace(memory.RECIPE, iterations=int(steps),
                                                                           eval_every=0, gap_noise=float(noise)))
n_train = len(ui.sample()) - jobs.SAMPLE_TEST if which == "sample" else 60_000
cfg = jobs.config_for(which, cfg, n_train) if which == "sample" else replace(cfg, eval_every=max(1, steps // 4))
have_mnist = data.mnist_available()
if which == "mnist" and not have_mnist:
    st.info(_("The full MNIST is not on this machine; set {var} to a folder holding MNIST/raw/*-ubyte and restart "
              "the app, or train on the bundled sample.", var=data.ENV_VAR))
st.caption(_("The shipped recipe with {steps} steps instead of {recipe}, read on {rows} rows per digit. On the bundled "
             "sample the test set is 200 digits, so a star is good to about ±3 points.", steps=steps,
             recipe=memory.RECIPE.iterations, rows=28 + train_gap))
if st.button(_("Start training"), type="primary", key="memory_train_start", disabled=which == "mnist" and not have_mnist):
    try:
        name = f"{variant}-gap{train_gap}" + ("-noise" if noise else "")
        mine = ui.train_queue().submit(name, model_cfg, cfg, which, learner=learner, secret=secret, folder="memory",
                                       shipped=ui.shipped_names(), free_name=True)
        st.session_state["memory_run"] = mine["id"]
    except jobs.JobError as exc:
        st.error(ui.plain(exc))
if mine is None:
    ui.queue_note()  # (with a run, its panel says it, live)


def show_progress(s: dict) -> None:
    total = s["total"] or 0
    st.progress(min(1.0, s["step"] / total) if total else 0.0, text=ui.plain(f"{s['name']}: {ui.progress_text(s)}"))
    ev = [e for e in s["evals"] if e.get("test_acc") is not None]
    if ev:
        st.caption(_("test accuracy {acc:.1%} after step {step}", acc=ev[-1]["test_acc"], step=ev[-1]["step"]))
    if not s["finished"]:
        ui.control(s, "memory_train")
    elif s["status"] == "done" and s["saved"]:
        st.success(ui.plain(_("Done: {name} scores {acc:.1%} at gap {gap}; it is the newest star in section 1.",
                              name=s["name"], acc=s["metrics"].get("test_acc") or 0, gap=s["train_config"]["gap"])))
    elif s["message"]:
        (st.warning if s["status"] in ("stopped", "cancelled") else st.error)(ui.plain(s["message"]))


if mine is not None:
    ui.progress_panel(mine, show_progress)  # then the new point appears on the curve
