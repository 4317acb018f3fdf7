"""Inside the cell in a real browser: Step forward and Step back move the step, and the page shows
it (the slider, the heading, the equation's subscripts and the diagram's block titles)."""
from tests.conftest import ARTIFACTS, wait_for_app

SHOWN_T = "() => Number(document.querySelector('[data-testid=\"stSlider\"] input[type=\"range\"]').value)"


def open_page(page):
    page.goto(page.app_url)
    wait_for_app(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Inside the cell").click()
    page.wait_for_selector(".js-plotly-plot .annotation-text", timeout=60_000)
    wait_for_app(page)


def shown(page) -> dict:
    """The step as the page shows it in four places."""
    return {"slider": page.evaluate(SHOWN_T),
            "heading": page.locator('[data-testid="stMain"] h2', has_text="The cell at step").first.inner_text(),
            "equation": page.locator(".katex-display").first.inner_text(),
            "blocks": page.evaluate("() => [...[...document.querySelectorAll('.js-plotly-plot')][1]"
                                    ".querySelectorAll('.annotation-text')].map(e => e.textContent.replaceAll('\\u200b', ''))")}


def press(page, label: str, expect: int) -> dict:
    page.locator('[data-testid="stButton"] button', has_text=label).click()
    page.wait_for_function(f"() => ({SHOWN_T[6:]}) === {expect}", timeout=30_000)
    wait_for_app(page)
    page.wait_for_function(f"() => [...document.querySelectorAll('[data-testid=\"stMain\"] h2')]"
                           f".some(h => h.innerText.includes('The cell at step {expect}'))", timeout=30_000)
    return shown(page)


def test_step_forward_and_back(page):
    open_page(page)
    start = shown(page)
    t = start["slider"]
    assert 1 <= t < 28 and f"step {t}" in start["heading"]
    after = press(page, "Step forward", t + 1)
    assert after["slider"] == t + 1 and f"step {t + 1}" in after["heading"]
    # the LSTM's equation and its blocks now read step t + 1, from step t
    assert f"c{t + 1}" in after["equation"].replace(" ", "").replace("\n", "") or f"c_{{{t + 1}}}" in after["equation"]
    assert any(b.startswith(f"c{t + 1}") for b in after["blocks"]) and any(b.startswith(f"c{t}") for b in after["blocks"])
    page.screenshot(path=ARTIFACTS / "inside_the_cell.png", full_page=True)
    back = press(page, "Step back", t)
    back = press(page, "Step back", t - 1) if t > 1 else back
    assert back["slider"] == max(t - 1, 1) and f"step {max(t - 1, 1)}" in back["heading"]
    assert not page.console_errors, page.console_errors
