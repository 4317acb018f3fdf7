"""Every page opens in a real browser with no error in the page or the console."""
import re

import pytest

from rnn_demo import ui
from tests.conftest import ARTIFACTS, ROOT, wait_for_app

PAGES = [("", "home")] + [(re.sub(r"^\d+_", "", p.split("/")[-1][:-3]), title)
                          for p, title, _ in ui.PAGES if (ROOT / p).exists()]


@pytest.mark.parametrize("path, title", PAGES, ids=[t for _, t in PAGES])
def test_page_opens_cleanly(page, path, title):
    page.goto(f"{page.app_url}/{path}")
    wait_for_app(page)
    page.wait_for_timeout(1500)  # let late figures and components render
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, \
        page.locator('[data-testid="stAlertContentError"]').first.inner_text()
    page.screenshot(path=ARTIFACTS / f"page_{title.replace(' ', '_').lower()}.png", full_page=True)
    assert not page.console_errors, page.console_errors
