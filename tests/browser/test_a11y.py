"""Accessibility in a real browser (issue 32).

axe-core's WCAG 2.0/2.1 A and AA rules find no serious or critical violation on any page, in
English and Korean, on a desktop and a phone (bench/a11y.py does the audit and prints every
violation; the report lands in tests/artifacts/a11y.txt). And the keyboard alone (Tab, Enter,
arrows) gets an answer on Draw, plays Hidden states and starts a training on Train."""
import pytest

from bench import a11y
from tests.conftest import ARTIFACTS

# What has the keyboard focus: its tag, accessible name and the Streamlit element it sits in.
FOCUS = """() => { const a = document.activeElement; if (!a) return '';
    const box = a.closest('[data-testid]');
    return [a.tagName, a.getAttribute('aria-label') || a.innerText || '', box ? box.getAttribute('data-testid') : '']
        .join('|'); }"""
ACTIVE = "() => document.querySelector('.js-plotly-plot')._fullLayout.sliders[0].active"


def tab_to(page, *needles, limit: int = 80) -> str:
    """Press Tab until the focused element's description holds every needle; fail if it never does
    (or if focus stops moving into the page: a trap would show as the same element for ever)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        seen.append(focus)
        if all(n in focus for n in needles):
            return focus
    pytest.fail(f"Tab never reached {needles}; it went through {seen}")


def test_no_serious_or_critical_axe_violation_on_any_page(browser, app_url):
    results = a11y.audit(browser, app_url, log=lambda s: None)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "a11y.txt").write_text(a11y.report(results), encoding="utf-8")
    assert len(results) == 2 * 2 * len(a11y.PAGES)  # every page, both languages, desktop and phone
    assert not a11y.blocking(results), "\n".join(a11y.blocking(results))


def test_keyboard_alone_gets_an_answer_on_draw(page):
    page.goto(f"{page.app_url}/Draw")
    a11y.settle(page)
    page.wait_for_selector("canvas.pad-canvas", timeout=60_000)
    assert page.locator("canvas.pad-canvas").get_attribute("aria-label").endswith("The pad is empty.")
    tab_to(page, "INPUT", "stSelectbox")  # the pad's Undo and Clear come first, then the sample picker
    page.keyboard.press("ArrowDown")  # opens the list
    page.keyboard.type("digit 3")
    page.keyboard.press("Enter")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=60_000)
    a11y.settle(page)
    answers = [m.locator('[data-testid="stMetricValue"]').inner_text().strip()
               for m in page.locator('[data-testid="stMetric"]').all()]
    assert answers and all(a == "3" for a in answers), answers  # MNIST's first 3: every shipped model reads it
    page.screenshot(path=ARTIFACTS / "a11y_draw_keyboard.png")
    assert not page.console_errors, page.console_errors


def test_keyboard_alone_plays_hidden_states(page):
    page.goto(f"{page.app_url}/Hidden_states")
    a11y.settle(page)
    page.wait_for_selector(".js-plotly-plot .updatemenu-button[tabindex]", timeout=60_000)
    assert page.evaluate(ACTIVE) == 27
    tab_to(page, "Play", "stPlotlyChart")
    ring = page.evaluate("() => getComputedStyle(document.activeElement.querySelector('rect')).strokeWidth")
    assert ring == "3px"  # the focus is visible on the SVG button
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({ACTIVE[6:]}) < 5", timeout=10_000)  # restarted from step 1
    first = page.evaluate(ACTIVE)
    page.wait_for_function(f"() => ({ACTIVE[6:]}) >= {first + 3}", timeout=15_000)  # and it moves on


def test_keyboard_alone_starts_a_training(page):
    page.goto(f"{page.app_url}/Train")
    a11y.settle(page)
    tab_to(page, "BUTTON", "Quick start")
    page.keyboard.press("Enter")
    a11y.settle(page)
    tab_to(page, "BUTTON", "Start training")
    page.keyboard.press(" ")
    page.get_by_role("button", name="Stop", exact=True).first.wait_for(timeout=60_000)  # the run is going
    tab_to(page, "BUTTON", "Stop")
    page.keyboard.press("Enter")
    page.screenshot(path=ARTIFACTS / "a11y_train_keyboard.png")
