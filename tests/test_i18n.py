"""The translation layer and its catalogs (rnn_demo/i18n.py, scripts/i18n.py)."""
from rnn_demo import i18n
from rnn_demo.i18n import _, ngettext
from scripts import i18n as catalogs


def test_every_message_has_a_korean_translation_with_the_same_placeholders():
    assert catalogs.problems() == []


def test_language_codes_are_normalised_and_unknown_ones_fall_back_to_english():
    assert i18n.normalise("ko-KR") == "ko" and i18n.normalise("KO_kr") == "ko"
    assert i18n.normalise("fr-FR") is None and i18n.normalise(None) is None and i18n.normalise(3) is None
    assert i18n.set_language("de") == "en" and i18n.language() == "en"


def test_english_is_the_source_and_placeholders_are_filled():
    i18n.set_language("en")
    assert _("{n:,} digits", n=12345) == "12,345 digits"
    assert ngettext("{n} step", "{n} steps", 1) == "1 step" and ngettext("{n} step", "{n} steps", 3) == "3 steps"


def test_placeholder_parser_sees_names_not_escaped_braces():
    assert catalogs.placeholders("{n:,} of {total} {{literal}}") == {"n", "total"}


def test_a_deferred_message_is_translated_when_shown_in_the_language_of_that_moment():
    from rnn_demo import checkpoints
    import io
    try:
        checkpoints.load(io.BytesIO(b"\x89PNG not a model"), name="x.pt")
    except checkpoints.CheckpointError as exc:
        kept = exc.args[0]  # what ui._read keeps: the message, not the exception and its frames
    assert isinstance(kept, i18n.Message)
    try:
        i18n.set_language("en")
        english = str(kept)
        i18n.set_language("ko")
        korean = str(kept)
    finally:
        i18n.set_language("en")
    assert english == "x.pt: this is not a torch checkpoint file (it is a PNG image)."
    assert korean != english and "x.pt" in korean and any("\uac00" <= ch <= "\ud7a3" for ch in korean)


def _korean_messages():
    from babel.messages.pofile import read_po
    from tests.conftest import ROOT
    for po in sorted((ROOT / "rnn_demo/locale/ko/LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f):
                if m.id:
                    for s in (m.string if isinstance(m.string, (tuple, list)) else (m.string,)):
                        yield po.name, m.id, s or ""


def test_no_korean_message_writes_a_particle_both_ways():
    """"이(가)", "을(를)", "(으)로" after a name or number read as broken Korean: each sentence is
    shaped so that no particle follows a placeholder (or the particle fits the fixed word before it)."""
    import re
    both_ways = re.compile(r"이\(가\)|가\(이\)|을\(를\)|를\(을\)|은\(는\)|는\(은\)|과\(와\)|와\(과\)|\(으\)로|\(이\)라|\(이\)나")
    bad = [(f, s) for f, _id, s in _korean_messages() if both_ways.search(s)]
    assert not bad, bad


def test_a_button_named_in_korean_text_is_the_buttons_own_korean_label():
    """Text telling the reader to press "▶ Play" quotes the button as it reads in Korean ("▶ 재생"),
    and the rest of the catalogue keeps one spelling of 고윳값 and 임곗값 and a capital Chrono."""
    messages = list(_korean_messages())
    play = {s for _f, i, s in messages if i == "▶ Play"}
    assert play == {"▶ 재생"}
    mentions = [s for _f, i, s in messages if "▶ Play" in i and i != "▶ Play"]
    assert mentions and all("▶ 재생" in s and "Play" not in s for s in mentions), mentions
    text = " ".join(s for _f, _i, s in messages)
    assert "고유값" not in text and "임계값" not in text and "chrono" not in text


def test_what_a_model_trained_on_and_the_activations_read_in_korean():
    """Compare's "trained on" column and Gradient flow's non-linearity choice were left in English."""
    from rnn_demo import compare
    from tests.conftest import ROOT
    try:
        i18n.set_language("ko")
        assert compare.trained_on({"train": "MNIST train (60,000 digits)", "n_train": 60000}) == "MNIST 학습 세트, 숫자 60,000개"
        page = (ROOT / "pages/2_Gradient_flow.py").read_text()
        assert "format_func=lambda a: _(ACTIVATION_NAMES" in page
        for english in ("tanh", "ReLU", "identity (no squashing)"):
            assert _(english) != english
    finally:
        i18n.set_language("en")


def test_digits_take_the_english_article_they_are_said_with_and_big_numbers_are_grouped():
    from rnn_demo import jobs
    i18n.set_language("en")
    assert [i18n.a_digit(d) for d in (7, 8, 1, 11, 18, 80)] == ["a 7", "an 8", "a 1", "an 11", "an 18", "an 80"]
    for who in ("you", "someone else", "someone on another server"):
        text = jobs.busy_message({"name": "x", "model": "RNN 128", "step": 2006, "total": 10000}, who)
        assert "step 2,006 of 10,000" in text, text
    assert "step 5 of ?" in jobs.busy_message({"step": 5, "total": None}, "you")
    try:
        i18n.set_language("ko")
        assert i18n.a_digit(8) == "숫자 8"
    finally:
        i18n.set_language("en")
