"""Exports hold the numbers the pages show: the GIF's frames are the Hidden states figure's frames
painted from that figure's own arrays, the CSV and .npz files the digit's trace, the gradient
curves and the tables, read back equal."""
import csv
import io
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageSequence
from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

from rnn_demo import analysis, checkpoints, compare, data, export, gradients, registry
from rnn_demo.plots import explorer


@pytest.fixture(scope="module")
def sample():
    return data.load_sample()


@pytest.fixture(scope="module")
def lstm_trace(sample):
    model = checkpoints.load(registry.SHIPPED_DIR / "lstm.pt").model
    return analysis.digit_trace(model, sample.images[7].numpy(), int(sample.labels[7]))


@pytest.fixture(scope="module")
def rnn_trace(sample):
    model = checkpoints.load(registry.SHIPPED_DIR / "rnn.pt").model
    return analysis.digit_trace(model, sample.images[0].numpy(), int(sample.labels[0]))


def grid_cells(img: Image.Image, fig) -> np.ndarray:
    """The unit grid's squares read back from a frame: the colour at each square's centre."""
    rows, cols = np.shape(fig.data[explorer.GRID]["z"])
    cell = max(4, min(export.PANEL // rows, export.PANEL // cols))
    a = np.asarray(img.convert("RGB"))
    y = export.PANEL_Y + np.arange(rows) * cell + cell // 2
    x = export.PANELS_X[1] + np.arange(cols) * cell + cell // 2
    return a[y[:, None], x[None, :]].astype(int)  # (rows, cols, 3)


def test_colours_are_plotlys_own(rnn_trace):
    scale = get_colorscale("RdBu_r")
    values = np.linspace(-1, 1, 41)
    ours = export.colors_at(scale, values, -1, 1).astype(int)
    theirs = np.array([unlabel_rgb(c) for c in sample_colorscale(scale, list((values + 1) / 2))])
    assert np.abs(ours - theirs).max() <= 1  # rounding
    assert (export.colors_at(scale, [np.nan], -1, 1) == 255).all()  # a blank grid cell


@pytest.mark.parametrize("quantity", ["h", "f"])
def test_each_frame_is_the_figures_frame(lstm_trace, quantity):
    fig = explorer.explorer_figure(lstm_trace, quantity, analysis.QUANTITIES["lstm"][quantity])
    frames = export.animation_frames(fig)
    assert len(frames) == len(fig.frames) == 28
    values = lstm_trace["states"] if quantity == "h" else lstm_trace["internals"][quantity]
    scale, lo, hi = explorer.value_range(quantity, values)
    for t in (1, 9, 28):
        img, spec = frames[t - 1], fig.frames[t - 1]
        assert img.size == export.GIF_SIZE and img.mode == "RGB"
        # the squares: unit values of step t, on the page's colour scale
        z = spec.data[explorer.ANIMATED.index(explorer.GRID)]["z"]
        np.testing.assert_array_equal(z, explorer.unit_grid(values[t - 1], 128, 1))
        expected = export.colors_at(get_colorscale(scale), z, lo, hi).astype(int)
        np.testing.assert_array_equal(grid_cells(img, fig), expected)
        # the bars: softmax(o_t), one pixel per 1/224
        a = np.asarray(img).astype(int)
        base = export.PANEL_Y + export.PANEL - 1
        for c, p in enumerate(lstm_trace["step_probs"][t - 1]):
            x = export.PANELS_X[3] + 6 + c * (export.BAR_WIDTH + 2) + export.BAR_WIDTH // 2
            column = a[export.PANEL_Y - 1:base + 1, x]
            colour = np.array(export._rgb(fig.data[explorer.BARS]["marker"]["color"][c]))
            height = int((np.abs(column - colour).sum(1) == 0).sum())
            if c == lstm_trace["target"]:  # outlined in black, 1 px beyond the bar's top
                height = int(((np.abs(column - colour).sum(1) == 0) | (column.sum(1) == 0)).sum()) - 1
            assert height == round(float(p) * export.PANEL), (t, c)
        # the rows still to read are veiled, the rows read are not
        digit = export.colors_at(get_colorscale("gray"), lstm_trace["rows"], 0, 1)
        read_y = export.PANEL_Y + (t - 1) * export.PIXEL + export.PIXEL // 2 - 1
        assert (a[read_y, export.PANELS_X[0] + 3 * export.PIXEL + 4] == digit[t - 1, 3]).all()
        if t < 28:
            unread = a[export.PANEL_Y + t * export.PIXEL + 4, export.PANELS_X[0] + 4]
            assert unread.tolist() != digit[t, 0].tolist() and unread.min() > 180


def test_gif_has_28_frames_of_the_right_size(rnn_trace):
    fig = explorer.explorer_figure(rnn_trace)
    gif = Image.open(io.BytesIO(export.animation_gif(fig)))
    assert gif.format == "GIF" and gif.n_frames == 28 and gif.size == export.GIF_SIZE
    assert gif.info["duration"] == explorer.FRAME_MS and gif.info["loop"] == 0
    rgb = export.animation_frames(fig)
    for i, frame in enumerate(ImageSequence.Iterator(gif)):
        # a GIF keeps 256 colours per frame: the squares stay within the palette's rounding
        diff = np.abs(grid_cells(frame, fig) - grid_cells(rgb[i], fig))
        assert diff.mean() < 4 and diff.max() < 40, i


def read_csv(text: str) -> tuple[list[str], np.ndarray]:
    lines = text.splitlines()
    return lines[0].split(","), np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2)


def test_trace_csv_and_npz_hold_the_figures_numbers(lstm_trace):
    fig = explorer.explorer_figure(lstm_trace)
    header, table = read_csv(export.trace_csv(lstm_trace))
    col = {name: i for i, name in enumerate(header)}
    assert table.shape == (28, 1 + 10 + 128 * 6)  # step, p_0..9, h, then c, i, f, g, o
    assert header[:3] == ["step", "p_0", "p_1"] and "h_128" in col and "o_128" in col
    np.testing.assert_array_equal(table[:, 0], np.arange(1, 29))
    probs = table[:, col["p_0"]:col["p_9"] + 1]
    states = table[:, col["h_1"]:col["h_128"] + 1]
    forget = table[:, col["f_1"]:col["f_128"] + 1]
    for t in range(1, 29):  # exactly the numbers each animation frame draws (float32 -> float64)
        frame = fig.frames[t - 1].data
        np.testing.assert_array_equal(probs[t - 1], frame[explorer.ANIMATED.index(explorer.BARS)]["y"])
        np.testing.assert_array_equal(explorer.unit_grid(states[t - 1], 128, 1),
                                      frame[explorer.ANIMATED.index(explorer.GRID)]["z"])
    np.testing.assert_array_equal(forget, lstm_trace["internals"]["f"])

    npz = np.load(io.BytesIO(export.trace_npz(lstm_trace)))
    assert set(npz.files) >= {"rows", "states", "step_probs", "probs", "c", "i", "f", "g", "o", "prediction"}
    for key in ("rows", "states", "step_probs", "probs"):
        np.testing.assert_array_equal(npz[key], lstm_trace[key])
    np.testing.assert_array_equal(npz["f"], lstm_trace["internals"]["f"])
    assert int(npz["prediction"]) == lstm_trace["prediction"] and int(npz["label"]) == lstm_trace["label"]


def test_gradient_curves_csv(sample):
    model = checkpoints.load(registry.SHIPPED_DIR / "lstm.pt").model
    curves = gradients.norms_through_time(model, sample.sequences(slice(0, 16)), sample.labels[:16])
    lines = [{"name": "lstm ‖dL/ds_t‖", "curve": curves["h"]}, {"name": "lstm ‖dL/dc_t‖", "curve": curves["c"]}]
    rows = list(csv.DictReader(io.StringIO(export.curves_csv(lines))))
    assert len(rows) == 56 and rows[0]["curve"] == "lstm ‖dL/ds_t‖" and rows[28]["t"] == "1"
    for i, key in ((0, "h"), (1, "c")):
        got = rows[28 * i:28 * (i + 1)]
        cur = curves[key]
        np.testing.assert_array_equal([float(r["ratio_median"]) for r in got], cur.median)
        np.testing.assert_array_equal([float(r["norm_q3"]) for r in got], cur.raw_q3)
        assert float(got[0]["factor_per_step_back"]) == cur.factor


def test_table_csv_reads_back_the_rows(sample):
    ckpt = checkpoints.load(registry.SHIPPED_DIR / "gru.pt")
    result = compare.evaluate(ckpt.model, sample.subset(slice(0, 100)))
    row = compare.summary_row("gru", ckpt, registry.SHIPPED_DIR / "gru.pt", result)
    rows = [row, compare.SEED_ANCHOR]
    back = list(csv.DictReader(io.StringIO(export.table_csv(rows))))
    assert float(back[0]["test accuracy"]) == row["test accuracy"]
    assert int(back[0]["parameters"]) == row["parameters"] and back[0]["architecture"] == "GRU 128"
    assert back[1]["model"] == "the seed (blog)" and back[1]["parameters"] == ""
    assert float(back[1]["test accuracy"]) == 0.9766


def test_zip_folder(tmp_path):
    run = tmp_path / "my-rnn"
    run.mkdir()
    (run / "events.out.tfevents.1.host").write_bytes(b"abc")
    (run / "other.txt").write_text("no")
    z = zipfile.ZipFile(io.BytesIO(export.zip_folder(run, "events.out.tfevents.*")))
    assert z.namelist() == ["my-rnn/events.out.tfevents.1.host"]
    assert z.read("my-rnn/events.out.tfevents.1.host") == b"abc"
