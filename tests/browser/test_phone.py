"""Every page on a phone (390 x 844, touch, a phone's user agent): nothing wider than the screen,
no figure whose titles or axis labels run into each other, no text in a figure under 10 px.
Screenshots: tests/artifacts/phone_*.png."""
import re

import pytest

from rnn_demo import ui
from tests.conftest import ARTIFACTS, ROOT, wait_for_app

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/156.0 Mobile Safari/537.36"}
PAGES = [("", "home")] + [(re.sub(r"^\d+_", "", p.split("/")[-1][:-3]), title)
                          for p, title, _ in ui.PAGES if (ROOT / p).exists()]

# Titles and labels of each figure, with their boxes, and the smallest font used in it.
MEASURE = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
    const texts = [...gd.querySelectorAll('.gtitle, .annotation-text, .g-xtitle text, .g-ytitle text')]
        .filter(e => e.textContent.trim() && e.getBoundingClientRect().width > 0)
        .map(e => { const r = e.getBoundingClientRect();
                    return {text: e.textContent.trim(), x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; });
    const sizes = [...gd.querySelectorAll('text')].filter(e => e.textContent.trim())
        .map(e => parseFloat(getComputedStyle(e).fontSize));
    const box = gd.getBoundingClientRect();
    return {texts, minFont: Math.min(...sizes, 99), left: box.left, right: box.right};
})"""


CHARTS = {"Hidden_states": 4, "Gradient_flow": 4, "Train": 2, "Compare": 6}  # at least this many Plotly figures


def settle(page, path: str) -> None:
    """Wait until the page has run and its figures are drawn (Plotly draws after the script)."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)  # every page has a title
    wait_for_app(page)
    if path in CHARTS:
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {CHARTS[path]}",
                               timeout=60_000)
    page.wait_for_timeout(1000)
    wait_for_app(page)


# Content cut off inside the page: text in a box that hides what sticks out, or a formula or a
# table that must be scrolled sideways to be read. Interactive data frames scroll by design; the
# MathML copy KaTeX keeps for screen readers is clipped on purpose; Plotly is checked below.
CLIPPED = """() => [...document.querySelectorAll('[data-testid="stMain"] *')]
    .filter(e => !e.closest('.js-plotly-plot, [data-testid="stSidebar"], [data-testid="stDataFrame"], .katex-mathml')
                 && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 2 && e.innerText.trim()
                 && (['hidden', 'clip'].includes(getComputedStyle(e).overflowX)
                     || (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                         && e.matches('.katex-display, [data-testid="stTable"] *, [data-testid="stTable"]'))))
    .map(e => (e.getAttribute('data-testid') || e.className || e.tagName).toString().slice(0, 40)
              + ': ' + e.innerText.trim().replace(/\\s+/g, ' ').slice(0, 50))"""


def overlaps(a, b, slack=1.0) -> bool:
    return a["x0"] + slack < b["x1"] and b["x0"] + slack < a["x1"] and a["y0"] + slack < b["y1"] and b["y0"] + slack < a["y1"]


@pytest.mark.parametrize("path, title", PAGES, ids=[t for _, t in PAGES])
def test_every_page_fits_a_phone(browser, app_url, path, title):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{path}")
        settle(page, path)
        name = title.replace(" ", "_").lower()
        page.screenshot(path=ARTIFACTS / f"phone_{name}.png", full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        fits_a_phone(page, title)
    finally:
        context.close()


def fits_a_phone(page, title: str, where: str = "", min_font: bool = True) -> None:
    """The page is no wider than the 390 px screen, nothing is cut off on the right, and every
    figure stays inside with readable text that runs into no other text."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 391, f"{title} is {width} px wide on a 390 px screen{where}"
    clipped = page.evaluate(CLIPPED)
    assert not clipped, f"{title}: cut off on the right{where}: {clipped}"
    for k, fig in enumerate(page.evaluate(MEASURE)):
        assert fig["left"] >= -1 and fig["right"] <= 391, f"{title}: figure {k} sticks out{where}"
        if min_font:
            assert fig["minFont"] >= 10, f"{title}: figure {k} has {fig['minFont']} px text{where}"
        texts = fig["texts"]
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                assert not overlaps(a, b), f"{title}: figure {k}: '{a['text']}' runs into '{b['text']}'{where}"


ASPECT = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
    const d = (gd._fullData || []).findIndex(t => t.type === 'heatmap' && t.xaxis === 'x' && t.z
                                                  && t.z.length === 28 && t.z[0].length === 28);  // a 28 x 28 digit
    const area = gd.querySelector('.draglayer .xy .nsewdrag');
    if (d < 0 || !area) return null;
    const r = area.getBoundingClientRect();  // the digit's plot area as drawn, 28 x 28 pixels
    return {w: r.width / 28, h: r.height / 28};
}).filter(Boolean)"""


@pytest.mark.parametrize("path, context", [("Compare", {}), ("Compare", PHONE), ("Hidden_states", {}),
                                           ("Hidden_states", PHONE)], ids=["compare", "compare-phone", "hidden",
                                                                            "hidden-phone"])
def test_digits_keep_square_pixels(browser, app_url, path, context):
    """A 28 x 28 digit is drawn with square pixels wherever it appears, on a desktop and a phone."""
    ctx = browser.new_context(**(context or {"viewport": {"width": 1400, "height": 1000}}))
    page = ctx.new_page()
    try:
        page.goto(f"{app_url}/{path}")
        settle(page, path)
        digits = page.evaluate(ASPECT)
        assert digits, f"no digit found on {path}"
        for px in digits:
            assert px["w"] == pytest.approx(px["h"], rel=0.03), px  # one pixel: as wide as it is tall
    finally:
        ctx.close()
