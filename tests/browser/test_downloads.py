"""In Chromium: the Hidden states page's downloads. The GIF has the page's 28 frames, the CSV the
numbers the page's figure draws, and the figure's mode bar saves a PNG at twice its size."""
import csv
import io

import numpy as np
from PIL import Image, ImageSequence

from rnn_demo import analysis, checkpoints, data, export, registry
from rnn_demo.plots import explorer
from tests.browser.test_hidden_states import open_page
from tests.conftest import ARTIFACTS, wait_for_app

FIGURE = "document.querySelectorAll('.js-plotly-plot')[0]"



def download(page, label: str, tmp_path):
    with page.expect_download(timeout=60_000) as info:
        page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name=label, exact=True).click()
    d = info.value
    path = tmp_path / d.suggested_filename
    d.save_as(path)
    return d.suggested_filename, path.read_bytes()


def test_gif_and_csv_downloads(page, tmp_path):
    open_page(page)
    page.screenshot(path=ARTIFACTS / "hidden_states_downloads.png")

    # The page opens on the rnn reading the first 0 of the sample (class 0, no. 1).
    sample = data.load_sample()
    index = int(np.flatnonzero(sample.labels.numpy() == 0)[0])
    trace = analysis.digit_trace(checkpoints.load(registry.SHIPPED_DIR / "rnn.pt").model,
                                 sample.images[index].numpy(), 0)

    name, gif_bytes = download(page, "Animation as GIF", tmp_path)
    assert name == f"rnn-digit{index + 1}-h.gif"
    gif = Image.open(io.BytesIO(gif_bytes))
    assert gif.format == "GIF" and gif.n_frames == 28 and gif.size == export.GIF_SIZE
    expected = export.animation_frames(explorer.explorer_figure(trace, "h", analysis.QUANTITIES["rnn"]["h"]))
    for i, frame in enumerate(ImageSequence.Iterator(gif)):
        diff = np.abs(np.asarray(frame.convert("RGB"), int) - np.asarray(expected[i], int))
        assert diff.mean() < 1.0, i  # the same picture, up to the GIF's 256-colour palette

    name, csv_bytes = download(page, "States and probabilities (CSV)", tmp_path)
    assert name == f"rnn-digit{index + 1}.csv"
    rows = list(csv.reader(io.StringIO(csv_bytes.decode())))
    header, table = rows[0], np.array(rows[1:], dtype=float)
    assert table.shape == (28, 1 + 10 + 128) and header[1] == "p_0" and header[-1] == "h_128"
    # the bars the page's figure draws at the last step (decoded by plotly.js in the browser)
    bars = np.array(page.evaluate(f"() => Array.from({FIGURE}._fullData[{explorer.BARS}].y)"))
    np.testing.assert_allclose(table[-1, 1:11], bars, rtol=0, atol=1e-7)
    # and every step's numbers are the model's own
    np.testing.assert_array_equal(table[:, 11:], trace["states"])
    np.testing.assert_array_equal(table[:, 1:11], trace["step_probs"])
    assert not page.console_errors, page.console_errors


def camera_download(page, tmp_path):
    """Hover over the page's first figure and press the camera in its mode bar."""
    figure = page.locator(".js-plotly-plot").first
    figure.hover()
    camera = figure.locator('.modebar-btn[data-title^="Download plot"]')
    camera.wait_for(timeout=10_000)
    with page.expect_download(timeout=60_000) as info:
        camera.click()
    d = info.value
    path = tmp_path / d.suggested_filename
    d.save_as(path)
    return d.suggested_filename, path


def test_mode_bar_saves_a_png_at_twice_the_size_or_an_svg(page, tmp_path):
    open_page(page)
    name, path = camera_download(page, tmp_path)
    assert name == "rnn-h.png"
    width, height = page.evaluate(f"() => [{FIGURE}._fullLayout.width, {FIGURE}._fullLayout.height]")
    assert Image.open(path).size == (2 * width, 2 * height)

    page.locator('[data-testid="stSidebar"]').get_by_text("SVG (vector)").click()
    wait_for_app(page)
    page.mouse.move(0, 0)  # off the figure, so that its mode bar is drawn again with the new setting
    name, path = camera_download(page, tmp_path)
    assert name == "rnn-h.svg"
    svg = path.read_text()
    assert svg.startswith("<svg") and "Step 28 of 28" in svg  # the figure as drawn, text and all
    page.screenshot(path=ARTIFACTS / "hidden_states_svg_picker.png")
    assert not page.console_errors, page.console_errors
