"""Text alternatives are computed from the figures' numbers (issue 32)."""
from rnn_demo import describe


def test_power_of_ten_keeps_two_figures():
    assert describe.power_of_ten(1.2e-9) == "1.2 × 10^-9"
    assert describe.power_of_ten(0.0513) == "5.1 × 10^-2"
    assert describe.power_of_ten(0.00996) == "1.0 × 10^-2"  # rounds into the next decade
    assert describe.power_of_ten(1.0) == "1.0 × 10^0"
    assert describe.power_of_ten(0.0) == "0"


def test_gradient_sentence_orders_models_by_what_is_left():
    text = describe.gradient_sentence({"rnn": 2.1e-9, "lstm": 0.012, "gru": 4e-4})
    assert text == "At row 1, lstm keeps 1.2 × 10^-2 of its gradient at row 28; gru 4.0 × 10^-4, rnn 2.1 × 10^-9."
    assert describe.gradient_sentence({"rnn": 0.5}) == "At row 1, rnn keeps 5.0 × 10^-1 of its gradient at row 28."
    assert describe.gradient_sentence({}) == ""


def test_answers_sentence_says_agreement_or_each_answer():
    assert describe.answers_sentence({"rnn": (3, 0.97), "lstm": (3, 1.0)}) == "All 2 models answer 3 (97% to 100% sure)."
    assert describe.answers_sentence({"rnn": (3, 0.999), "lstm": (3, 1.0)}) == "All 2 models answer 3 (100% sure)."
    assert describe.answers_sentence({"rnn": (3, 0.8), "lstm": (8, 0.55)}) == \
        "The models disagree: rnn 3 (80%), lstm 8 (55%)."
