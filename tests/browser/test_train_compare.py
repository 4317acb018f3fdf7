"""In Chromium: start a short training, watch the progress reach the end, find the new model on
the Compare page."""
import re

from tests.conftest import ARTIFACTS, wait_for_app

NAME = "browser-test"


def open_page(page, title: str) -> None:
    """Through the sidebar, as a user does (a deep link first probes a sub-path and logs 404s)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    wait_for_app(page)


def test_train_then_compare(page):
    page.goto(page.app_url)
    wait_for_app(page)
    open_page(page, "Train")
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("iterations", exact=True).click()
    iterations = sidebar.get_by_role("spinbutton", name="Iterations")
    iterations.wait_for(timeout=30_000)
    iterations.fill("8")
    iterations.press("Enter")
    page.get_by_role("textbox", name="Save the model as").fill(NAME)
    page.get_by_role("textbox", name="Save the model as").press("Enter")
    page.get_by_text(re.compile(r"\*?8 steps")).first.wait_for(timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()

    # The live panel polls the background run: the bar's text counts up to 8 of 8 and says done.
    page.get_by_text(re.compile(r"done: 8 of 8 steps")).wait_for(timeout=90_000)
    page.get_by_text(re.compile(f"Done. Saved as {NAME}")).wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() >= 2  # the live curves and gradient norms
    page.screenshot(path=ARTIFACTS / "train.png", full_page=True)

    open_page(page, "Compare")
    page.get_by_text("Accuracy, size and training time").wait_for(timeout=120_000)
    box = page.locator('[data-testid="stMultiSelect"]').first.locator("input")
    box.click()
    for _ in range(6):  # keep the comparison small: remove the default picks, then choose two
        box.press("Backspace")
    wait_for_app(page)
    for name in ("rnn", NAME):
        box.click()
        box.fill(name)
        page.get_by_role("option", name=name, exact=True).click()
        wait_for_app(page)
    box.press("Escape")
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(timeout=120_000)
    page.get_by_text(re.compile(f"{NAME} answers \\d")).wait_for(timeout=120_000)  # the two-model animation
    page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)
    assert not page.console_errors, page.console_errors
