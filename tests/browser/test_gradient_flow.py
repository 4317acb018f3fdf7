"""A real browser: open the Gradient flow page from the sidebar, move the rho slider with the
keyboard, and see the curve and the eigenvalue picture change."""
from tests.conftest import ARTIFACTS, wait_for_app

READ = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd =>
    gd._fullData.map(t => ({name: t.name, y: t.y ? Array.from(t.y).slice(0, 5) : null})))"""


def _experiment_line(plots):
    return next(t for fig in plots for t in fig
                if t["name"] and t["name"].startswith("tanh RNN, ρ =") and "percentile" not in t["name"])


def test_rho_slider_changes_the_curve(page):
    page.goto(page.app_url)
    wait_for_app(page)
    page.get_by_role("link", name="Gradient flow").first.click()
    wait_for_app(page)
    page.get_by_text("2. Make it vanish or explode").wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=60_000)
    before = _experiment_line(page.evaluate(READ))
    assert before["name"] == "tanh RNN, ρ = 0.90"
    slider = page.get_by_role("slider", name="Spectral radius ρ of W_h")
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.get_by_text("tanh RNN, ρ = 1.10").first.wait_for(timeout=60_000)
    wait_for_app(page)
    after = _experiment_line(page.evaluate(READ))
    assert after["name"] == "tanh RNN, ρ = 1.10"
    # A larger spectral radius lets more of the gradient reach the first rows.
    assert after["y"][0] > 10 * before["y"][0]
    page.get_by_text("1.100", exact=True).wait_for(timeout=10_000)  # the rho metric
    page.screenshot(path=ARTIFACTS / "gradient_flow.png")
    assert not page.console_errors, page.console_errors
