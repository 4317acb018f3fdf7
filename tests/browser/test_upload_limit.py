"""In a real browser, the Train page's uploader refuses a file over server.maxUploadSize (5 MB)
with a plain message, before it reaches the app; nothing is written, no error or stack trace."""
import re

from tests.conftest import ARTIFACTS, wait_for_app


def test_the_uploader_refuses_a_file_over_the_limit(page):
    page.goto(page.app_url)
    wait_for_app(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    page.get_by_text("Load", exact=False).first.wait_for(timeout=60_000)
    wait_for_app(page)
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(files=[{"name": "big.pt", "mimeType": "application/octet-stream",
                                     "buffer": b"\0" * (6 * 1024 * 1024)}])
    message = page.get_by_text(re.compile(r"File must be 5(\.0)?\s?MB or smaller"))
    message.wait_for(timeout=30_000)
    wait_for_app(page)
    message.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "train_upload_too_large.png")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("That file was not loaded").count() == 0  # the app never received it
    assert page.get_by_text("Loaded **big**").count() == 0 and page.get_by_text("Loaded big").count() == 0
