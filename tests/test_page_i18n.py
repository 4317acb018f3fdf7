"""The app in English and in Korean (issue #17): every page runs in both languages, the language
comes from the URL (?lang=ko), else the session, else the browser, and survives a page switch;
a bad ?lang= means English and is never shown back."""
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo import i18n, ui

APP = str(ui.ROOT / "app.py")
# Each page, and the title it shows in English (the Korean one is the catalog's translation).
PAGES = {"home": "RNN Explorer: watch a recurrent network read a digit",
         "pages/0_Lesson.py": "Lesson: the blog post's RNN, one idea per screen",
         "pages/1_Hidden_states.py": "Hidden states: watch the network read a digit",
         "pages/2_Gradient_flow.py": "Gradient flow: do the early rows still get a say?",
         "pages/3_Draw.py": "Draw a digit: live predictions from every model",
         "pages/4_Train.py": "Train a recurrent network",
         "pages/5_Compare.py": "Compare models: RNN vs LSTM side by side",
         "pages/6_Memory.py": "How long can it remember?",
         "pages/7_Inside_the_cell.py": "Inside the cell: one step, term by term"}
KOREAN = i18n.catalog("ko")


def hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def opened(page: str, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if lang is not None:
        at.query_params["lang"] = lang
    at.run()
    if page != "home":
        at.switch_page(page).run()
    return at


def test_every_page_has_an_english_title_in_the_korean_catalog():
    assert set(PAGES) - {"home"} == {p for p, _, _ in ui.PAGES if (ui.ROOT / p).exists()}
    for title in PAGES.values():
        assert hangul(KOREAN[title]), title


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_runs_in_both_languages(user_models, page, lang):
    at = opened(page, lang)
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == (PAGES[page] if lang == "en" else KOREAN[PAGES[page]])
    assert at.query_params["lang"] == lang  # put back into the URL on every run, for a shared link
    switch = at.sidebar.segmented_control(key="lang_switch")
    assert switch.value == lang and switch.options == ["English", "한국어"]
    texts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.subheader]
    assert any(hangul(t) for t in texts) == (lang == "ko")


def test_korean_labels_options_and_table_headings(user_models):
    at = opened("pages/1_Hidden_states.py", "ko")
    assert at.radio(key="hs_source").options == ["샘플에서 고른 숫자", "무작위 숫자", "내가 그린 숫자"]
    assert at.radio(key="hs_source").value == "A digit from the sample"  # the value stays English
    assert at.sidebar.radio(key=ui.FIGURE_FORMAT).label == "그림 저장 형식"
    home = opened("home", "ko")
    assert list(home.table[0].value.columns)[:3] == ["모델", "구조", "테스트 정확도"]
    train = opened("pages/4_Train.py", "ko")
    assert train.button(key="train_start").label == "학습 시작"


def test_the_language_survives_a_page_switch_and_the_switch_changes_it(user_models):
    at = opened("home", "ko")
    del at.query_params["lang"]  # Streamlit may drop the query string when the sidebar switches pages
    at.switch_page("pages/5_Compare.py").run()
    assert at.title[0].value == KOREAN[PAGES["pages/5_Compare.py"]]
    assert at.query_params["lang"] == "ko"
    at.sidebar.segmented_control(key="lang_switch").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == PAGES["pages/5_Compare.py"]
    assert at.query_params["lang"] == "en" and at.session_state["lang"] == "en"
    at.switch_page("pages/3_Draw.py").run()
    assert at.title[0].value == PAGES["pages/3_Draw.py"]


@pytest.mark.parametrize("hostile", ["xx", "<script>alert(1)</script>", "**ko**", "ko\u202e", "../../etc/passwd"])
def test_an_unknown_language_in_the_url_means_english_and_is_not_shown(user_models, hostile):
    at = opened("home", hostile)
    assert not at.exception
    assert at.title[0].value == PAGES["home"]
    assert at.query_params["lang"] == "en"
    shown = [str(getattr(e, "value", "")) for e in at.main] + [str(getattr(e, "value", "")) for e in at.sidebar]
    assert not any(hostile in s for s in shown)


def test_a_region_code_in_the_url_is_understood(user_models):
    assert opened("home", "ko-KR").title[0].value == KOREAN[PAGES["home"]]


def test_without_lang_the_browser_language_is_used(user_models, monkeypatch):
    monkeypatch.setattr(ui, "_browser_language", lambda: "ko")
    at = opened("home")
    assert at.title[0].value == KOREAN[PAGES["home"]] and at.query_params["lang"] == "ko"
    monkeypatch.setattr(ui, "_browser_language", lambda: None)  # no locale (or one we have no catalog for)
    assert opened("home").title[0].value == PAGES["home"]


def test_messages_cached_with_text_are_kept_per_language(user_models):
    """A model file that cannot be used is explained in the reader's language, though it is read
    (and refused) once per version: the reason is cached per language, not the first reader's."""
    user_models.mkdir(parents=True, exist_ok=True)
    (user_models / "broken.pt").write_bytes(b"not a checkpoint")
    english = opened("home", "en")
    korean = opened("home", "ko")
    note_en = " ".join(c.value for c in english.caption if "broken" in c.value)
    note_ko = " ".join(c.value for c in korean.caption if "broken" in c.value)
    assert note_en.startswith("Not offered") and hangul(note_ko) and not note_ko.startswith("Not offered")


def test_a_deferred_download_is_made_in_the_language_of_its_page():
    """A download button's function runs after its page's run: `ui.in_language` gives it that
    page's language and leaves the caller's as it was."""
    i18n.set_language("en")
    assert ui.in_language("ko", lambda: (i18n.language(), i18n._("Clear"))) == ("ko", "지우기")
    assert i18n.language() == "en"
