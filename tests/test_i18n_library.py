"""The library speaks the session's language: refusals, settings errors, a training thread's
messages and every figure's text come out in Korean when the language is Korean, and exactly as
before in English (the default, which the command line and the other tests use)."""
from __future__ import annotations

import io
import re
import threading

import numpy as np
import pytest
import torch

from rnn_demo import analysis, canvas, checkpoints, compare, gradients, i18n, jobs, memory, train
from rnn_demo.i18n import _
from rnn_demo.model import ModelConfig, build
from rnn_demo.plots import drawing, explorer, training
from rnn_demo.plots import gradients as gplots
from rnn_demo.plots import memory as mplots
from scripts import i18n as catalogs

HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLOTLY_FIELD = re.compile(r"%\{[^{}]*\}")
TAG = re.compile(r"<[^>]*>")
# Lower-case words that are names or symbols, the same in every language.
KEEP = {"rnn", "lstm", "gru", "birnn", "tanh", "relu", "softmax", "logit", "sigmoid", "inf", "nan", "lr"}


@pytest.fixture
def korean():
    i18n.set_language("ko")
    yield
    i18n.set_language("en")


# --- the texts of a figure ------------------------------------------------------------------

def figure_texts(fig) -> list[str]:
    """Every text a reader sees on a figure: titles, axis and colour-bar titles, legend names and
    title, annotations, hover templates, buttons, the slider's prefix, and each frame's title."""
    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    out = []

    def title(d):
        t = (d or {}).get("title")
        if isinstance(t, dict):
            t = t.get("text")
        if isinstance(t, str) and t:
            out.append(t)

    def layout_texts(layout):
        title(layout)
        for key, value in layout.items():
            if re.fullmatch(r"[xy]axis\d*", key) or key == "legend":
                title(value)
            if key == "coloraxis":
                title(value.get("colorbar"))
        out.extend(a["text"] for a in layout.get("annotations", []) if a.get("text"))
        out.extend(b["label"] for m in layout.get("updatemenus", []) for b in m.get("buttons", []) if b.get("label"))
        out.extend(s["currentvalue"]["prefix"] for s in layout.get("sliders", [])
                   if s.get("currentvalue", {}).get("prefix"))

    layout_texts(spec.get("layout", {}))
    for trace in spec.get("data", []):
        for key in ("name", "hovertemplate"):
            if isinstance(trace.get(key), str) and trace[key]:
                out.append(trace[key])
        title(trace.get("colorbar"))
    for frame in spec.get("frames", []):
        layout_texts(frame.get("layout", {}))
    return out


def readable(text: str) -> str:
    """What a reader reads of a text: without Plotly's %{...} fields and HTML tags."""
    return TAG.sub(" ", PLOTLY_FIELD.sub(" ", text))


def english_runs(text: str) -> list[str]:
    """Runs of three or more lower-case English words: a sentence left untranslated."""
    runs, run = [], []
    for token in re.findall(r"[A-Za-z0-9_]+(?:['’-][A-Za-z0-9_]+)*|[^\sA-Za-z0-9_]", readable(text)):
        if re.fullmatch(r"[a-z][a-z'’-]*[a-z]", token) and token not in KEEP:
            run.append(token)
            continue
        if len(run) >= 3:
            runs.append(" ".join(run))
        run = []
    if len(run) >= 3:
        runs.append(" ".join(run))
    return runs


def english_words(text: str) -> list[str]:
    return [w for w in re.findall(r"\b[a-z]{3,}\b", readable(text)) if w not in KEEP]


def test_the_english_detector_can_fail():
    assert english_runs("%{x}단계: the read-out's best guess<extra>rnn</extra>") == ["the read-out's best guess"]
    assert english_runs("row %{y}, pixel %{x}: %{z}<extra></extra>") == []
    assert english_runs("a {digit}: end of its path") == ["end of its path"]
    assert english_runs("‖dL/ds_t‖ / ‖dL/ds_T‖ (중앙값, 사분위 범위)") == []


# --- representative inputs for every figure builder ------------------------------------------

def _trace(bidirectional: bool = False) -> dict:
    torch.manual_seed(0)
    model = build(ModelConfig(hidden_size=8, bidirectional=bidirectional))
    image = (np.arange(28 * 28).reshape(28, 28) % 251).astype(np.uint8)
    return analysis.digit_trace(model, image, 3)


def _pca() -> dict:
    rng = np.random.default_rng(0)
    return {"pca": {"explained": np.array([0.4, 0.2])}, "paths": rng.normal(size=(20, 28, 2)),
            "labels": np.repeat(np.arange(10), 2)}


def _summaries() -> list[dict]:
    rng = np.random.default_rng(0)

    def params():
        return {n: {"mean": 0.0, "std": 0.1, "min": -0.3, "max": 0.3, "edges": np.linspace(-0.3, 0.3, 4).tolist(),
                    "hist": rng.integers(0, 9, 3).tolist()} for n in ("rnn.weight_hh_l0", "readout.bias")}
    return [{"epoch": e, "step": 10 * e, "params": params()} for e in range(3)]


def _norm_curve() -> gradients.NormCurve:
    return gradients.summarise(np.array([[1e-3, 1e-2, 1.0], [2e-3, np.inf, 2.0], [0.0, 0.0, 0.0]]))


def builders() -> dict:
    """name -> a function that builds the figure with representative inputs (in the language
    in force when it is called, as a page does)."""
    digit = (np.arange(28 * 28).reshape(28, 28) % 256).astype(np.uint8)
    probs = {"rnn": np.full(10, 0.1), "lstm": np.linspace(0, 0.2, 10)}
    steps = {"rnn": np.full((28, 10), 0.1), "lstm": np.full((28, 10), 0.1)}
    colors = {"rnn": "#1f77b4", "lstm": "#d62728"}
    summary = {"lstm": {"gaps": [0, 10, 50], "mean": [0.9, 0.6, 0.11], "min": [0.85, 0.3, 0.1],
                        "max": [0.95, 0.8, 0.12], "seeds": [3, 3, 3]}}
    labels = lambda: {"lstm": _(memory.VARIANTS["lstm"][3])}  # noqa: E731  the page translates them
    lines = [{"name": "lstm", "variant": "lstm", "cell": "lstm", "y": np.linspace(1, 0.1, 38),
              "median": np.linspace(1, 0.1, 38), "q1": np.linspace(0.9, 0.05, 38), "q3": np.linspace(1.1, 0.2, 38),
              "keep": np.linspace(0.99, 0.5, 8)}]
    history = {"loss": [2.3, 1.9, 1.5, 1.2], "steps_per_epoch": 2,
               "evals": [{"epoch": 1.0, "step": 2, "test_acc": 0.5}, {"epoch": 2.0, "step": 4, "test_acc": 0.7}]}
    curve = {"t": np.arange(1, 29), "median": np.linspace(0.01, 1, 28), "q1": np.linspace(0.005, 0.9, 28),
             "q3": np.linspace(0.02, 1.1, 28)}
    reading = {n: {"states": np.zeros((28, 8)), "step_probs": np.full((28, 10), 0.1)} for n in ("rnn", "lstm")}
    return {
        "seen_digit": lambda: drawing.seen_digit(digit),
        "probability_bars": lambda: drawing.probability_bars(probs),
        "step_predictions": lambda: drawing.step_predictions(steps),
        "row_attribution": lambda: drawing.row_attribution(digit, {"rnn": np.linspace(0, 1, 28)}),
        "explorer": lambda: explorer.explorer_figure(_trace()),
        "explorer_bidirectional": lambda: explorer.explorer_figure(_trace(True), "h", analysis.QUANTITIES["rnn"]["h"],
                                                                   narrow=True),
        "knows": lambda: explorer.knows_figure(_trace()),
        "drive": lambda: explorer.drive_figure(_trace(True)),
        "trajectory": lambda: explorer.trajectory_figure(_pca(), np.zeros((28, 2)), "rnn"),
        "compare_trajectories": lambda: explorer.compare_trajectories_figure(
            [("rnn", "rnn", _pca(), np.zeros((28, 2))), ("lstm", "lstm", _pca(), np.zeros((28, 2)))]),
        "norms": lambda: gplots.norms_figure([{"name": "rnn", "color": "#1f77b4", "curve": _norm_curve()}]),
        "norms_raw": lambda: gplots.norms_figure([{"name": "rnn", "color": "#1f77b4", "curve": _norm_curve()}], False),
        "eigen": lambda: gplots.eigen_figure(np.array([0.5 + 0.5j, 0.5 - 0.5j, -0.9]), 1.2),
        "training_norms": lambda: gplots.training_figure(gradients.training_norms(
            {"grad_norm": list(np.linspace(0.5, 3, 300)) + [float("nan")], "clip": 1.0, "steps_per_epoch": 50})),
        "accuracy_vs_gap": lambda: mplots.accuracy_vs_gap(summary, labels(), [{"gap": 25, "acc": 0.7, "name": "lstm-2",
                                                                                 "variant": "lstm"}]),
        "through_gap": lambda: mplots.through_gap(lines, 10, _("test accuracy")),
        "through_gap_raw": lambda: mplots.through_gap(lines, 10, "‖s_t‖", percent=False, chance=False),
        "gradient_through_gap": lambda: mplots.gradient_through_gap(lines, 10),
        "keep": lambda: mplots.keep_figure(lines, 10),
        "learning": lambda: mplots.learning_figure(
            {"lstm": {"steps": [100, 200], "mean": [0.5, 0.7], "min": [0.4, 0.6], "max": [0.6, 0.8], "seeds": 2}},
            labels(), 50),
        "training_curves": lambda: training.training_curves(history["loss"], [0.1, 0.3, 0.5, 0.6], history["evals"], 8),
        "grad_norm_steps": lambda: training.grad_norm_steps([0.5, 2.0, 1.5], clip=1.0),
        "weight_summaries": lambda: training.weight_summaries(_summaries()),
        "weight_histogram": lambda: training.weight_histogram_animation(_summaries(), "rnn.weight_hh_l0"),
        "overlaid_curves": lambda: training.overlaid_curves({"rnn": history, "lstm": history}, colors),
        "confusion_matrix": lambda: training.confusion_matrix(np.eye(10, dtype=int) * 9 + 1),
        "per_class_accuracy": lambda: training.per_class_accuracy(probs, colors),
        "when_it_knows": lambda: training.when_it_knows({"rnn": np.linspace(0.1, 1, 28)}, colors),
        "grad_through_time": lambda: training.grad_through_time({"rnn": curve}, colors),
        "two_models_reading": lambda: training.two_models_reading(np.zeros((28, 28)), reading, label=3),
        "two_models_reading_narrow": lambda: training.two_models_reading(np.zeros((28, 28)), reading, narrow=True),
    }


BUILDERS = builders()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_figure_speaks_korean(name, korean):
    texts = figure_texts(BUILDERS[name]())
    assert any(HANGUL.search(t) for t in texts), texts
    left = {t: english_runs(t) for t in texts if english_runs(t)}
    assert not left, f"English left in {name}: {left}"
    untranslated = [t for t in texts if english_words(t) and not HANGUL.search(t)]
    assert not untranslated, f"{name}: texts with English words and no Korean: {untranslated}"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_figure_stays_english_by_default(name):
    assert i18n.language() == "en"
    texts = figure_texts(BUILDERS[name]())
    assert texts and not any(HANGUL.search(t) for t in texts), texts


def test_english_figure_texts_are_unchanged():
    fig = drawing.probability_bars({"rnn": np.full(10, 0.1)})
    assert fig.layout.title.text == "Probability of each digit"
    assert fig.data[0].hovertemplate == "rnn: digit %{x} with probability %{y:.1%}<extra></extra>"
    spec = explorer.explorer_figure(_trace()).to_plotly_json()
    assert spec["frames"][4]["layout"]["title"]["text"].startswith("<b>Step 5 of 28</b>: row 5 fed (rows 1–5 read); ")
    assert [a["text"] for a in spec["layout"]["annotations"]][1:3] == ["s_t, one square per unit",
                                                                      "s_t at the steps so far"]


def test_korean_hover_templates_keep_plotlys_fields(korean):
    """A translated hover template has the same %{...} fields and <extra> parts as the English."""
    en, ko = {}, {}
    for name, build_figure in BUILDERS.items():
        ko[name] = [t for t in figure_texts(build_figure()) if "%{" in t or "<extra>" in t]
        i18n.set_language("en")
        en[name] = [t for t in figure_texts(build_figure()) if "%{" in t or "<extra>" in t]
        i18n.set_language("ko")
    for name in BUILDERS:
        assert len(en[name]) == len(ko[name]), name
        for e, k in zip(en[name], ko[name]):
            assert sorted(PLOTLY_FIELD.findall(e)) == sorted(PLOTLY_FIELD.findall(k)), (e, k)
            assert e.count("<extra>") == k.count("<extra>") and e.count("</extra>") == k.count("</extra>"), (e, k)


def test_catalog_hover_fields_match():
    """In the catalog itself: every translation keeps its source's %{...} fields (after the
    doubled braces of a message with placeholders are undone) and its <extra> tags."""
    from babel.messages.pofile import read_po
    with catalogs.po_path("ko", "rnn_demo").open("rb") as f:
        cat = read_po(f, locale="ko")
    checked = 0
    for m in cat:
        if not m.id or isinstance(m.id, tuple):
            continue
        src, dst = (s.replace("{{", "{").replace("}}", "}") for s in (m.id, m.string))
        if "%{" in src or "<extra>" in src:
            checked += 1
            assert sorted(PLOTLY_FIELD.findall(src)) == sorted(PLOTLY_FIELD.findall(dst)), m.id
            assert src.count("<extra>") == dst.count("<extra>") and src.count("</extra>") == dst.count("</extra>")
    assert checked > 20


# --- messages -------------------------------------------------------------------------------

def _refusal(raw: bytes, name: str) -> str:
    with pytest.raises(checkpoints.CheckpointError) as info:
        checkpoints.load(io.BytesIO(raw), name=name)
    return str(info.value)


def test_a_hostile_checkpoint_is_refused_in_korean_naming_the_field(korean):
    model = build(ModelConfig(hidden_size=8))
    payload = checkpoints.to_payload(model, {}, {}, {}, {})
    payload["model"]["rnn.weight_hh_l0"] = torch.full((8, 8), float("nan"))
    buf = io.BytesIO()
    torch.save(payload, buf)
    message = _refusal(buf.getvalue(), "evil.pt")
    assert message.startswith("evil.pt: ") and HANGUL.search(message) and "rnn.weight_hh_l0" in message
    assert "NaN" in message and not english_runs(message)
    payload = checkpoints.to_payload(model, {}, {"test_acc": "high"}, {}, {})
    buf = io.BytesIO()
    torch.save(payload, buf)
    message = _refusal(buf.getvalue(), "odd.pt")
    assert "metrics.test_acc" in message and "텍스트" in message and not english_runs(message)
    png = _refusal(b"\x89PNG....", "cat.pt")
    assert png == "cat.pt: torch 체크포인트 파일이 아닙니다(이 파일은 PNG 이미지입니다)."


def test_the_same_refusal_in_english():
    assert _refusal(b"\x89PNG....", "cat.pt") == "cat.pt: this is not a torch checkpoint file (it is a PNG image)."


def test_train_config_errors_in_korean(korean):
    with pytest.raises(ValueError) as info:
        train.TrainConfig(batch_size=0)
    assert str(info.value) == "배치 크기는 1에서 8192 사이여야 합니다"
    with pytest.raises(ValueError) as info:
        train.TrainConfig(iterations=10**9)
    assert "200,000" in str(info.value) and HANGUL.search(str(info.value))
    with pytest.raises(ValueError, match="adam"):
        train.TrainConfig(optimizer="lbfgs")


def test_train_config_errors_in_english():
    with pytest.raises(ValueError, match="^batch size must be between 1 and 8192$"):
        train.TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="^iterations must be a whole number from 0 to 200,000$"):
        train.TrainConfig(iterations=10**9)


def test_canvas_and_label_messages_follow_the_language_when_read(korean):
    verdict = canvas.assess(np.zeros((280, 280), np.uint8))
    assert verdict.problem == "empty" and HANGUL.search(verdict.message)
    i18n.set_language("en")
    assert verdict.message == "The canvas is empty: draw a digit from 0 to 9."  # the same verdict, read in English
    i18n.set_language("ko")
    stroke = canvas.Stroke(1.2, 2.6, "thickened")
    assert stroke.message.startswith("펜 굵기를 약 1.2 px에서 약 2.6 px로 굵게")
    assert ModelConfig(bidirectional=True).label == "양방향 RNN 128"
    assert ModelConfig(cell="lstm").label == "LSTM 128"
    i18n.set_language("en")
    assert ModelConfig(bidirectional=True, num_layers=2).label == "bi-RNN 128 x2"


def test_gradient_notes_are_translated_when_read(korean):
    cur = _norm_curve()  # made in Korean, read in either language
    assert cur.notes and all(HANGUL.search(n) for n in cur.notes)
    i18n.set_language("en")
    assert any("zero gradient at the last step" in n for n in cur.notes)


def test_library_texts_shown_by_pages(korean):
    assert compare.test_digits()[1].startswith(("전체 MNIST 테스트 세트", "함께 제공되는 MNIST"))
    assert HANGUL.search(_(compare.PUBLISHED_NOTE)) and HANGUL.search(_(gradients.SEQUENCES["blank"]))
    assert all(HANGUL.search(_(spec[3])) or spec[3] == "tanh RNN" for spec in memory.VARIANTS.values())
    s = {"gaps": [0, 50, 100], "mean": [0.93, 0.6, 0.11], "min": [0.9, 0.3, 0.1], "max": [0.95, 0.9, 0.12]}
    assert not english_runs(memory.verdict(s)) and HANGUL.search(memory.verdict(s))
    assert jobs.format_seconds(75) == "1분 15초"
    busy = jobs.busy_message({"name": "a", "model": "RNN 8", "step": 3, "total": 9, "eta_s": 30}, "someone else")
    assert busy.startswith("학습은 한 번에 하나만") and "'a'" in busy and "30초" in busy
    assert training.param_label("rnn.weight_hh_l1_reverse") == "W_h 2층 역방향"


def test_a_job_thread_writes_in_the_language_of_the_page_that_started_it(tmp_path, korean):
    def broken(which):
        raise RuntimeError("disk gone")

    mgr = jobs.JobManager(loader=broken)
    job = mgr.start("k", ModelConfig(hidden_size=8), train.TrainConfig(iterations=2), "sample", tmp_path, ())
    assert job.wait(30)
    assert job.snapshot()["message"] == "학습에 실패했습니다: disk gone"
    # a thread of its own, started without the job's machinery, is English: the job set it
    seen = []
    t = threading.Thread(target=lambda: seen.append(_("Training failed: {error}", error="x")))
    t.start()
    t.join()
    assert seen == ["Training failed: x"]


def test_a_stopped_job_in_korean(tmp_path, sample, korean):
    tr, te = jobs.split_sample(sample)
    mgr = jobs.JobManager(heartbeat_s=0.2, loader=lambda which: (tr.subset(slice(0, 64)), te.subset(slice(0, 32))))
    cfg = train.TrainConfig(batch_size=2, iterations=32_000, eval_every=2, schedule="constant")  # 1,000 epochs
    job = mgr.start("orphan", ModelConfig(hidden_size=8), cfg, "sample", tmp_path, ())
    assert job.wait(60)
    s = job.snapshot()
    assert s["status"] == "stopped"
    assert "지켜보는 페이지가 없어" in s["message"] and "단계까지 학습했습니다" in s["message"]


def test_library_messages_have_no_problems_in_the_catalog():
    assert [p for p in catalogs.problems() if p.startswith("rnn_demo")] == []
