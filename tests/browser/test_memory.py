"""A real browser opens the Memory page on a desktop and on a phone: the curves are drawn with the
results file's numbers, the per-step figures are there, nothing overflows the phone's width."""
import numpy as np

from rnn_demo import memory
from tests.conftest import ARTIFACTS, wait_for_app

READ = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd =>
    gd._fullData.map(t => ({name: t.name, x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null})))"""


def _open(tab):
    tab.goto(f"{tab.app_url}/Memory")
    wait_for_app(tab, timeout=180_000)
    tab.get_by_text("2. Watch the digit fade").wait_for(timeout=60_000)
    tab.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=180_000)
    wait_for_app(tab, timeout=180_000)
    assert tab.locator('[data-testid="stException"]').count() == 0


def _whole_page(tab, width: int, path) -> None:
    """Streamlit scrolls inside its own container, so a full-page screenshot is the viewport:
    make the viewport as tall as the content instead, then take it."""
    height = tab.evaluate("""() => Math.max(...Array.from(document.querySelectorAll('section, div'))
        .map(e => e.scrollHeight))""")
    tab.set_viewport_size({"width": width, "height": min(int(height) + 100, 16000)})
    tab.wait_for_timeout(1500)
    tab.screenshot(path=path)


def test_memory_page_on_a_desktop(page):
    _open(page)
    plots = page.evaluate(READ)
    summary = memory.summary(memory.load_results())
    curve = {t["name"]: t for t in plots[0]}
    for variant, s in summary.items():
        line = curve[memory.VARIANTS[variant][3]]
        assert line["x"] == s["gaps"]
        np.testing.assert_allclose(line["y"], s["mean"], rtol=1e-9)
    assert len(plots[2][0]["y"]) == 28 + 50  # the digit's figure: the default gap's steps, one point each
    page.screenshot(path=ARTIFACTS / "memory_desktop.png")
    _whole_page(page, 1400, ARTIFACTS / "memory_desktop_full.png")
    assert not page.console_errors, page.console_errors


def test_memory_page_on_a_phone(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    tab = context.new_page()
    tab.app_url = app_url
    try:
        _open(tab)
        width = tab.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"
        boxes = tab.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
            .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right]; })""")
        assert all(left >= -1 and right <= 391 for left, right in boxes), boxes
        tab.screenshot(path=ARTIFACTS / "memory_phone.png")
        _whole_page(tab, 390, ARTIFACTS / "memory_phone_full.png")
    finally:
        context.close()
