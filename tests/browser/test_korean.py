"""The app in Korean in a real browser (issue #17): every page opened with ?lang=ko shows no
English sentence (main area, sidebar and the text drawn in figures), the language survives a page
switch through the sidebar, and the switch turns it back to English. Screenshots:
tests/artifacts/ko_*.png (desktop) and ko_phone_*.png (a phone)."""
import re

import pytest

from rnn_demo import ui
from tests.browser.test_phone import PHONE, fits_a_phone, settle
from tests.conftest import ARTIFACTS, ROOT

PAGES = [("", "home")] + [(re.sub(r"^\d+_", "", p.split("/")[-1][:-3]), title)
                          for p, title, _ in ui.PAGES if (ROOT / p).exists()]

# What the reader sees, as text: the main area and the sidebar without formulas (KaTeX keeps the
# TeX source for screen readers) and code, then every text Plotly drew in a figure (titles, axes,
# legends, annotations, buttons), one line each.
VISIBLE_TEXT = """() => {
    const parts = [];
    for (const sel of ['[data-testid="stMain"]', '[data-testid="stSidebar"]']) {
        const root = document.querySelector(sel);
        if (!root) continue;
        const copy = root.cloneNode(true);
        copy.querySelectorAll('.katex, pre, code, .js-plotly-plot, svg, style, script').forEach(e => e.remove());
        document.body.appendChild(copy);  // innerText needs a rendered node
        copy.style.position = 'absolute'; copy.style.left = '-99999px';
        parts.push(copy.innerText);
        copy.remove();
    }
    document.querySelectorAll('.js-plotly-plot text').forEach(t => {
        if (t.textContent.trim() && t.getBoundingClientRect().width > 0) parts.push(t.textContent.trim());
    });
    return parts.join('\\n');
}"""

# Three or more English words in a row (lowercase, as a sentence has them): an untranslated sentence.
ENGLISH_RUN = re.compile(r"(?<![\w\\/.-])[a-z][a-z'’]*(?:-[a-z]+)*(?:[ \t]+[a-z][a-z'’]*(?:-[a-z]+)*){2,}(?![\w/])")

# Allowed on a Korean page: the papers' own titles (cited as published), and Streamlit's own words
# (its file uploader's instructions are the framework's, not the app's).
ALLOWED = (
    "Learning long-term dependencies with gradient descent is difficult",
    "On the difficulty of training recurrent neural networks",
    "Long short-term memory",
    "A simple way to initialize recurrent networks of rectified linear units",
    "Can recurrent neural networks warp time?",
    "Visualizing memorization in RNNs",
    "Drag and drop file here",
    "Press Enter to apply",
    "Browse files",
)


def english_runs(text: str) -> list[str]:
    for phrase in ALLOWED:
        text = text.replace(phrase, " ")
    return sorted({m.group(0) for m in ENGLISH_RUN.finditer(text)})


def hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_the_english_detector_finds_sentences_and_spares_names_and_math():
    assert english_runs("모델 rnn의 답: the hidden state is") == ["the hidden state is"]
    assert english_runs("tanh RNN, 128 유닛 · LSTM · s_t = tanh(W_h s_(t-1)) · np.load(file)") == []
    assert english_runs("참고: *Long short-term memory* (1997)") == []


def check_korean(page, path: str, shot: str) -> None:
    page.goto(f"{page.app_url}/{path}?lang=ko")
    settle(page, path)
    page.screenshot(path=ARTIFACTS / f"{shot}.png", full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0
    title = page.locator('[data-testid="stMain"] h1').first.inner_text()
    assert hangul(title), title
    text = page.evaluate(VISIBLE_TEXT)
    assert hangul(text)
    left = english_runs(text)
    assert not left, f"{path or 'home'}: English left on the Korean page: {left}"


@pytest.mark.parametrize("path, title", PAGES, ids=[t for _, t in PAGES])
def test_every_page_reads_in_korean(page, path, title):
    check_korean(page, path, f"ko_{title.replace(' ', '_').lower()}")


@pytest.mark.parametrize("path, title", PAGES, ids=[t for _, t in PAGES])
def test_every_page_reads_in_korean_on_a_phone(browser, app_url, path, title):
    context = browser.new_context(**PHONE)
    tab = context.new_page()
    tab.app_url = app_url
    try:
        check_korean(tab, path, f"ko_phone_{title.replace(' ', '_').lower()}")
        # The phone checks of test_phone.py, with the Korean words (longer or shorter than the English)
        fits_a_phone(tab, title, " in Korean", min_font=False)
    finally:
        context.close()


def test_the_draw_pad_speaks_korean(page):
    page.goto(f"{page.app_url}/Draw?lang=ko")
    from playwright.sync_api import expect
    page.wait_for_selector("canvas.pad-canvas", timeout=60_000)  # Playwright's locators see into the pad's shadow root
    expect(page.locator("button.pad-clear")).to_have_text("지우기", timeout=30_000)
    expect(page.locator("button.pad-undo")).to_have_text("되돌리기")
    # its name, and what it holds (issue 32: a screen reader hears both)
    expect(page.locator("canvas.pad-canvas")).to_have_attribute("aria-label", "그림판: 숫자를 그리세요. 그림판이 비어 있습니다.")


def test_a_drawn_digit_is_answered_in_korean(page):
    """The Draw page after a drawing: the answers, the warnings and every figure in Korean."""
    from tests.browser.test_draw import SEVEN, draw, wait_for_prediction
    page.goto(f"{page.app_url}/Draw?lang=ko")
    page.get_by_text("캔버스가 비어 있습니다").wait_for(timeout=60_000)
    draw(page, SEVEN)
    assert wait_for_prediction(page)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=ARTIFACTS / "ko_draw_seven.png", full_page=True)
    sure = page.locator('[data-testid="stMetricDelta"]').first.inner_text()
    assert sure.startswith("확신도"), sure
    text = page.evaluate(VISIBLE_TEXT)
    assert not english_runs(text), english_runs(text)


def main_title(page) -> str:
    return page.locator('[data-testid="stMain"] h1').first.inner_text()


def test_the_language_survives_a_page_switch_and_the_switch_turns_it_back(page):
    page.goto(f"{page.app_url}/?lang=ko")
    settle(page, "")
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert "은닉 상태" in nav.inner_text() and "Hidden states" not in nav.inner_text()
    nav.get_by_text("기울기 흐름", exact=True).click()
    page.wait_for_url(re.compile(r"/Gradient_flow"), timeout=30_000)
    settle(page, "Gradient_flow")
    assert main_title(page).startswith("기울기 흐름")
    page.wait_for_function("new URLSearchParams(location.search).get('lang') === 'ko'", timeout=30_000)

    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    page.wait_for_function("""() => { const h = document.querySelector('[data-testid="stMain"] h1');
                                      return h && h.innerText.startsWith('Gradient flow'); }""", timeout=60_000)
    page.wait_for_function("new URLSearchParams(location.search).get('lang') === 'en'", timeout=30_000)
    assert "Hidden states" in page.locator('[data-testid="stSidebarNav"]').inner_text()

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Compare", exact=True).click()
    page.wait_for_url(re.compile(r"/Compare"), timeout=30_000)
    settle(page, "Compare")
    assert main_title(page).startswith("Compare models")


def test_a_korean_browser_gets_korean_without_lang(browser, app_url):
    """No ?lang= in the address: the browser's own language (st.context.locale) decides."""
    context = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    try:
        tab.goto(app_url)
        settle(tab, "")
        assert main_title(tab).startswith("RNN Explorer: 순환 신경망")
        tab.wait_for_function("new URLSearchParams(location.search).get('lang') === 'ko'", timeout=30_000)
    finally:
        context.close()
