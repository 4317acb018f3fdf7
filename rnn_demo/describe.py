"""Text alternatives for figures (issue 32): one sentence computed from a figure's own numbers,
for a screen reader (and anyone), placed under the figure beside its data table."""
from __future__ import annotations

import math

from rnn_demo.i18n import _


def power_of_ten(x: float) -> str:
    """x as m × 10^k, m with one decimal: '5.1 × 10^-2', '1.0 × 10^0'; '0' for zero."""
    if not x > 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    k = math.floor(math.log10(x))
    m = round(x / 10 ** k, 1)
    if m >= 10:  # 9.96 rounds up to the next decade
        m, k = round(m / 10, 1), k + 1
    return f"{m:.1f} × 10^{k}"


def gradient_sentence(ratios: dict[str, float]) -> str:
    """`ratios`: model -> median ||dL/ds_1|| / ||dL/ds_28|| (trained). One sentence, the model
    that keeps the most first: "At row 1, lstm keeps 10^-2 of its gradient at row 28; rnn 10^-9."."""
    if not ratios:
        return ""
    order = sorted(ratios, key=lambda n: ratios[n], reverse=True)
    first, rest = order[0], order[1:]
    text = _("At row 1, {model} keeps {ratio} of its gradient at row 28", model=first,
             ratio=power_of_ten(ratios[first]))
    if rest:
        text += "; " + ", ".join(f"{n} {power_of_ten(ratios[n])}" for n in rest)
    return text + "."


def answers_sentence(answers: dict[str, tuple[int, float]]) -> str:
    """`answers`: model -> (digit, confidence). "All 4 models answer 3 (97% to 100% sure)." or
    "The models disagree: rnn 3 (80%), lstm 8 (55%)."."""
    if not answers:
        return ""
    digits = {d for d, _c in answers.values()}
    sure = [c for _d, c in answers.values()]
    if len(digits) == 1 and f"{min(sure):.0%}" == f"{max(sure):.0%}":
        return _("All {n} models answer {digit} ({sure:.0%} sure).", n=len(answers), digit=digits.pop(),
                 sure=max(sure))
    if len(digits) == 1:
        return _("All {n} models answer {digit} ({low:.0%} to {high:.0%} sure).", n=len(answers),
                 digit=digits.pop(), low=min(sure), high=max(sure))
    parts = ", ".join(f"{n} {d} ({c:.0%})" for n, (d, c) in answers.items())
    return _("The models disagree: {answers}.", answers=parts)
