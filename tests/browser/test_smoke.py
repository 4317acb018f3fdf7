"""A real browser (headless Chromium) opens the app."""
from tests.conftest import ARTIFACTS, wait_for_app


def test_home_page_loads_in_chromium(page):
    page.goto(page.app_url)
    wait_for_app(page)
    page.get_by_text("RNN Explorer: watch a recurrent network read a digit").wait_for(timeout=30_000)
    page.get_by_text("lstm", exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=ARTIFACTS / "home.png", full_page=True)
    assert not page.console_errors, page.console_errors
