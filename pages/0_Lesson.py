"""Lesson: the seed blog post's argument, one screen per idea (Previous / Next, the arrow keys,
?step= in the URL), with a projector mode (?present=1) for a class. Content: rnn_demo/lesson.py."""
import streamlit as st

from rnn_demo import analysis, canvas, lesson, memory, ui
from rnn_demo.i18n import N_, _
from rnn_demo.plots import CELL_COLORS, drawing, explorer
from rnn_demo.plots import gradients as gplots
from rnn_demo.plots import lesson as lplots
from rnn_demo.plots import memory as mplots

STEP, PRESENT = "step", "present"  # the URL's query parameters
N = len(lesson.SCREENS)


def presenting() -> bool:
    return st.query_params.get(PRESENT) in ("1", "true", "on")


def go(delta: int) -> None:
    i = min(max(current() + delta, 0), N - 1)
    st.query_params[STEP] = str(i + 1)
    st.session_state["lesson_step"] = i


def current() -> int:
    raw = st.query_params.get(STEP)
    return lesson.parse_step(raw) if raw is not None else st.session_state.get("lesson_step", 0)


def switched() -> None:
    if st.session_state.get("lesson_present_switch"):
        st.query_params[PRESENT] = "1"
    else:
        st.query_params.pop(PRESENT, None)


present = presenting()
ui.setup(N_("Lesson"), sidebar="collapsed" if present else "auto")
if present:  # the sidebar closed (and kept closed: the projector switch brings it back), larger text, no tool bars
    st.html("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] {display: none !important;}"
            "[data-testid='stMain'] .block-container {padding-top: 1.2rem; max-width: 100%;}"
            "[data-testid='stMain'] p, [data-testid='stMain'] li, [data-testid='stMain'] td,"
            "[data-testid='stMain'] th {font-size: 1.5rem !important; line-height: 1.45;}"
            "[data-testid='stMain'] h2 {font-size: 2.3rem !important;}"
            "[data-testid='stMain'] code {font-size: 1.1rem !important;}"
            "[data-testid='stMain'] [data-testid='stCaptionContainer'] p {font-size: 1.15rem !important;}</style>")
if not present:  # on a projector the screen's own heading is the title
    st.title(_("Lesson: the blog post's RNN, one idea per screen"))
i = current()
st.query_params[STEP] = str(i + 1)  # a hostile or missing value is replaced by the screen shown
st.session_state["lesson_step"] = i
screen = lesson.SCREENS[i]

# Navigation: Previous, Next, the projector switch, then the progress line.
ui.lesson_arrow_keys()
with st.container(horizontal=True, vertical_alignment="center"):
    st.button(_("◀ Previous"), key="lesson_prev", on_click=go, args=(-1,), disabled=i == 0)
    st.button(_("Next ▶"), key="lesson_next", on_click=go, args=(1,), disabled=i == N - 1, type="primary")
    st.session_state["lesson_present_switch"] = present
    st.toggle(_("Projector mode"), key="lesson_present_switch", on_change=switched,
              help=_("Larger text and figures for a projector, fewer controls; the address keeps it (?present=1)."))
st.progress((i + 1) / N, text=_("Screen {i} of {n} · ← → keys move", i=i + 1, n=N))
st.header(_(screen.title))
st.markdown(_(screen.body))

config = {"displayModeBar": False} if present else ui.plot_config(f"lesson-{screen.key}")
phone = ui.narrow()


def show(build, *args, key: tuple, name: str, **kw) -> None:
    st.plotly_chart(ui.lesson_chart(build, *args, key=(*key, phone), present=present, **kw), theme=None,
                    key=f"lesson_{name}", config=config)


with ui.friendly_errors(_("This screen could not be shown")):
    run = ui.lesson_run()
    run_key = ui.lesson_version()
    digits = ui.sample()
    image, label = digits.images[lesson.DIGIT].numpy(), int(digits.labels[lesson.DIGIT])

    if screen.key == "rnn":
        left, right = st.columns(2)
        left.markdown(_("**The post** (after the aikorea.org tutorial)"))
        left.latex(r"\begin{aligned} s_t &= f(U x_t + W s_{t-1}) \\ o_t &= \mathrm{softmax}(V s_t) \end{aligned}")
        right.markdown(_("**This app**"))
        right.latex(r"\begin{aligned} s_t &= \tanh(W_x x_t + W_h s_{t-1} + b) \\ o &= W_l s_{28} + b_l \end{aligned}")
        rows = lesson.weight_table(run.model)
        st.table([{_("the post"): r["post"] or "—", _("this app"): r["app"], _("shape"): r["shape"],
                   _("numbers"): f"{r['numbers']:,}"} for r in rows])
        st.caption(_("Shapes and sizes of the shipped run of the post's recipe: {n:,} numbers in all, the same "
                     "at every one of the 28 steps.", n=sum(r["numbers"] for r in rows)))

    elif screen.key == "example":
        cfg, tcfg = run.model_config, run.train_config
        ours = {"element_size": cfg.input_size, "time_steps": digits.images.shape[1], "num_classes": cfg.num_classes,
                "batch_size": tcfg["batch_size"], "hidden_layer_size": cfg.hidden_size}
        left, right = st.columns([1, 1])
        left.table([{_("setting"): name, _("the post"): post, _("this run"): ours[name]}
                    for name, post in lesson.POST_SETTINGS])
        with right:
            show(lplots.graph_figure, cfg.hidden_size, ours["time_steps"], cfg.input_size, cfg.num_classes,
                 tcfg["batch_size"], key=(run_key,), name="graph")
            st.caption(_("The graph of the post's network, as TensorBoard draws it; each box gives the shape of "
                         "what it passes on."))

    elif screen.key == "code":
        left, right = st.columns(2)
        left.markdown(_("**TensorFlow 1.x, as in the post**"))
        left.code(lesson.TF_CODE, language="python")
        right.markdown(_("**PyTorch, this app**"))
        right.code(lesson.TORCH_CODE, language="python")

    elif screen.key == "training":
        show(lplots.post_log_figure, run.history, lesson.POST_LOG, key=(run_key,), name="log")
        rows = lesson.post_log_beside(run.history)
        last = run.history["evals"][-1]
        st.caption(_("Dots: {source}. Lines: the shipped run (models/lesson/seed.pt), {steps:,} iterations in "
                     "{seconds:.0f} s on a CPU; on the 10,000 test digits it reached {acc:.2%}.",
                     source=_(lesson.POST_LOG_SOURCE), steps=len(run.history["loss"]),
                     seconds=run.history["seconds"], acc=last["test_acc"]))
        if not present:
            st.table([{_("iteration"): f"{r['iteration']:,}", _("the post: loss"): f"{r['post_loss']:.3g}",
                       _("the post: accuracy"): f"{r['post_acc']:.1%}", _("this run: loss"): f"{r['run_loss']:.3f}",
                       _("this run: accuracy"): f"{r['run_acc']:.1%}",
                       _("this run: mean of 100"): f"{r['run_acc_mean']:.1%}"} for r in rows])

    elif screen.key == "result":
        post, ours = lesson.post_result(), lesson.run_result(run)
        shipped = ui.load_model("rnn")
        ship = lesson.run_result(shipped)
        a, b = st.columns(2)
        a.metric(_("the post: {k} of {n} test digits", k=post["right"], n=post["n"]), f"{post['acc']:.2%}")
        b.metric(_("this run: {k:,} of {n:,} test digits", k=ours["right"], n=ours["n"]), f"{ours['acc']:.2%}")
        bars = [{"name": _("the post (128 digits)"), "color": "#d62728", **post},
                {"name": _("this run (10,000 digits)"), "color": CELL_COLORS["rnn"], **ours},
                {"name": _("rnn.pt, this app's recipe"), "color": "#7f7f7f", **ship}]
        show(lplots.results_figure, bars, key=(run_key, ui.model_version("rnn")), name="results")
        st.caption(_("Bars: accuracy; whiskers: the 95% interval (Wilson) the number of test digits allows. On 128 "
                     "digits one digit is {one:.2f} points, and the interval spans {lo:.1%} to {hi:.1%}; on 10,000 it "
                     "is {lo2:.2%} to {hi2:.2%}. rnn.pt has the same network, trained longer with Adam and distorted "
                     "digits (models/README.md).", one=100 / post["n"], lo=post["low"], hi=post["high"],
                     lo2=ours["low"], hi2=ours["high"]))

    elif screen.key == "reading":
        trace = ui.lesson_trace(image, label)
        show(explorer.explorer_figure, trace, "h", _(analysis.QUANTITIES["rnn"]["h"]), narrow=phone,
             key=(run_key, lesson.DIGIT), name="reading")
        st.caption(_("A {label} from the bundled MNIST test sample; the network answers {pred} ({conf:.0%}), and its "
                     "answer after each row is right for good from row {t} on.", label=label,
                     pred=trace["prediction"], conf=float(trace["probs"].max()), t=trace["knows_from"] or "—"))

    elif screen.key == "vanish":
        own = ui.lesson_gradient(None)
        rhos = [0.7, 0.9, 1.0, 1.1, 1.3]
        rho = st.segmented_control(_("Spectral radius ρ of W_h"), rhos, default=0.9, key="lesson_rho",
                                   format_func=lambda r: f"ρ = {r:g}") or 0.9
        exp = ui.lesson_gradient(float(rho))
        lines = [{"name": _("this run's own W_h, ρ = {rho:.2f}", rho=own.rho), "color": CELL_COLORS["rnn"],
                  "curve": own.curve},
                 {"name": _("W_h rescaled to ρ = {rho:.2f}", rho=exp.rho), "color": "#d62728", "curve": exp.curve,
                  "dash": "dash"}]
        show(gplots.norms_figure, lines, True, key=(run_key, float(rho)), name="vanish")
        st.caption(_("Median over {n} sample digits of how much of the gradient at row 28 is left at row t. Fitted "
                     "factor per step back: {own:.2f} with this run's own W_h, {f:.2f} at ρ = {rho:g}.",
                     n=ui.GRADIENT_DIGITS, own=own.curve.factor, f=exp.curve.factor, rho=rho))

    elif screen.key == "lstm":
        trace = ui.digit_trace("lstm", image, label)
        show(explorer.explorer_figure, trace, "f", _(analysis.QUANTITIES["lstm"]["f"]), narrow=phone,
             key=(ui.model_version("lstm"), lesson.DIGIT), name="gates")
        _results, summary, version = ui.memory_results()
        labels = {v: _(spec[3]) for v, spec in memory.VARIANTS.items()}
        show(mplots.accuracy_vs_gap, summary, labels, key=(version,), name="memory")
        st.caption(_("Above: the forget gate f_t of the shipped LSTM reading the {label}. Below: test accuracy when "
                     "the digit is followed by a gap of blank rows (the Memory page; 800 training steps each).",
                     label=label))

    elif screen.key == "birnn":
        trace = ui.digit_trace("birnn", image, label)
        show(explorer.explorer_figure, trace, "h", _(analysis.QUANTITIES["rnn"]["h"]), narrow=phone,
             key=(ui.model_version("birnn"), lesson.DIGIT), name="birnn")
        names = [n for n in ui.SHIPPED if n in ui.model_paths()]
        bars = [{"name": n, "color": CELL_COLORS.get(n, "#333"), **lesson.run_result(ui.load_model(n))} for n in names]
        show(lplots.results_figure, bars, key=ui.versions(names), name="shipped")

    elif screen.key == "draw":
        left, right = st.columns([1, 1])
        with left:
            drawn = ui.draw_pad("lesson_pad")
        try:
            pen = canvas.parse_strokes(drawn)
        except canvas.StrokeError as exc:
            right.error(ui.plain(exc))
            st.stop()
        verdict, digit, _stroke = canvas.prepare(pen.render())
        with right:
            if not verdict.ok:
                st.info(verdict.message or _("The canvas is empty: draw a digit from 0 to 9 on the black square."))
            else:
                names = list(ui.readable_models())
                preds = {_("this lesson's run"): ui.lesson_predict(digit)["seed"], **ui.draw_predictions(digit, names)}
                st.markdown("  \n".join(_("**{model}**: {digit} ({conf:.0%})", model=ui.plain(n), digit=p.digit,
                                          conf=p.confidence) for n, p in preds.items()))
                show(drawing.probability_bars, {n: p.probs for n, p in preds.items()},
                     key=(digit.tobytes(), run_key, ui.versions(names)), name="draw")

# Where to go further, and what it rests on.
if screen.page:
    title = {path: t for path, t, _blurb in ui.pages()}.get(screen.page)
    if title:
        st.page_link(screen.page, label=_("Explore further: {page}", page=title), icon=":material/arrow_forward:")
st.caption(_("Sources: {sources}", sources=" · ".join(_(lesson.SOURCES[k]) for k in screen.cites)))
