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
