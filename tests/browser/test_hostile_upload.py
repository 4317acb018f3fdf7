"""In a real browser: a checkpoint with NaN weights, uploaded under a name full of Markdown, is
refused with one plain sentence that shows the name exactly as written (no link, no image, no
formula); the same file left in the model folder is listed as unusable on every page and offered
nowhere; and the server keeps answering its health check throughout."""
import urllib.request

import torch

from rnn_demo import checkpoints, jobs
from rnn_demo.model import ModelConfig, build
from tests.conftest import ARTIFACTS, wait_for_app

NAME = "[see](javascript:alert(1)) ![x](data:,) $x^2$ _nan_.pt"
PAGES = ["", "Hidden_states", "Gradient_flow", "Draw", "Train", "Compare"]


def nan_checkpoint(path) -> bytes:
    model = build(ModelConfig("rnn", 16))
    with torch.no_grad():
        model.rnn.weight_hh_l0.fill_(float("nan"))
    return checkpoints.save(path, model).read_bytes()


def healthy(url: str) -> bool:
    return urllib.request.urlopen(url + "/_stcore/health", timeout=10).status == 200


def test_a_nan_checkpoint_is_refused_and_offered_nowhere(page, server_user_models, tmp_path):
    raw = nan_checkpoint(tmp_path / "nan.pt")
    page.goto(f"{page.app_url}/Train")
    wait_for_app(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": NAME, "mimeType": "application/octet-stream", "buffer": raw}])
    alert = page.locator('[data-testid="stAlertContentError"]').filter(has_text="That file was not loaded")
    alert.wait_for(timeout=60_000)
    wait_for_app(page)
    alert.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "hostile_upload_refused.png")
    text = alert.inner_text()
    assert text == (f"That file was not loaded. {NAME}: weight rnn.weight_hh_l0 holds NaN or infinite values, "
                    "so the model cannot compute anything.")
    assert alert.locator("a, img, .katex, em").count() == 0  # shown as text, not rendered
    # Nothing of the upload was kept. (Other browser tests' runs finish in the queue's workers and
    # may be saved in this folder meanwhile: a run stopped by the keyboard test is saved as rnn-128.)
    kept = [p.name for p in server_user_models.iterdir() if jobs.upload_name(NAME) in p.name]
    assert not kept and healthy(page.app_url)

    # The same file already on the server (copied by hand, or from an older version of the app).
    bad = server_user_models / "nan-weights.pt"
    bad.write_bytes(raw)
    try:
        for path in PAGES:
            page.goto(f"{page.app_url}/{path}")
            wait_for_app(page)
            page.wait_for_timeout(500)
            wait_for_app(page)
            assert page.locator('[data-testid="stException"]').count() == 0, path
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0, path
            for box in page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]').all():
                box.click()
                options = page.locator('[role="option"]').all_inner_texts()
                page.keyboard.press("Escape")
                assert not any("nan-weights" in o for o in options), (path, options)
            if path in ("", "Hidden_states", "Compare"):
                note = page.get_by_text("cannot be used").first
                assert "nan-weights.pt: weight rnn.weight_hh_l0 holds NaN" in note.inner_text()
            assert healthy(page.app_url)
        page.goto(f"{page.app_url}/")
        wait_for_app(page)
        page.get_by_text("cannot be used").first.scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "hostile_file_listed.png")
        assert not page.console_errors, page.console_errors
    finally:
        bad.unlink()
