"""Colours that every learner can tell apart (issue 32): the models' colours, and the numbers
that check them under colour-vision deficiency.

- Simulation: Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for
  Simulation of Color Vision Deficiency", IEEE TVCG 15(6):1291-1298; the severity-1.0 matrices
  of their table (protanopia, deuteranopia, tritanopia), applied to linear sRGB.
- Distance: CIEDE2000 (Sharma, Wu & Dalal 2005, "The CIEDE2000 color-difference formula:
  implementation notes"), on CIELAB under D65.
- Contrast: WCAG 2.1's relative luminance and contrast ratio (success criterion 1.4.3).

Model colours are Okabe & Ito's palette (2008, "Color Universal Design"), chosen to stay apart
for the three deficiencies; tests/test_colours.py pins the smallest pairwise distance.
"""
from __future__ import annotations

import numpy as np

# One colour per architecture, the same on every page (Okabe-Ito: blue, vermillion, bluish
# green, reddish purple), then further models in order: black and grey keep the six apart under
# every simulation (tests/test_colours.py); a seventh model onward is told by its legend name.
MODEL_COLORS = {"rnn": "#0072B2", "lstm": "#D55E00", "gru": "#009E73", "birnn": "#CC79A7"}
DISTINCT_EXTRAS = ["#000000", "#6E6E6E"]
EXTRA_COLORS = DISTINCT_EXTRAS + ["#E69F00", "#56B4E9", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
# Heat-map scales (Plotly names): lightness runs one way, so order survives any colour vision.
SEQUENTIAL_SCALES = ("Blues", "Viridis", "YlOrRd", "gray")
DIVERGING_SCALES = ("RdBu_r",)
# Figure text: Plotly's plotly_white template writes in this colour on white.
FIGURE_TEXT = "#2a3f5f"

# Machado et al. (2009), severity 1.0, for linear RGB.
MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
VISIONS = ("normal", *MACHADO_2009)


def rgb(color: str) -> np.ndarray:
    """'#rrggbb' or 'rgb(r, g, b)' -> sRGB in [0, 1], shape (3,)."""
    c = color.strip()
    if c.startswith("#") and len(c) == 7:
        return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float) / 255
    if c.startswith("rgb"):
        return np.array([float(v) for v in c[c.index("(") + 1:c.index(")")].split(",")[:3]]) / 255
    raise ValueError(f"not a colour: {color!r}")


def _linear(srgb: np.ndarray) -> np.ndarray:
    srgb = np.asarray(srgb, dtype=float)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _gamma(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def simulate(srgb: np.ndarray, vision: str) -> np.ndarray:
    """sRGB (..., 3) as seen with `vision` ('normal' or a key of MACHADO_2009)."""
    if vision == "normal":
        return np.asarray(srgb, dtype=float)
    return _gamma(_linear(srgb) @ MACHADO_2009[vision].T)


def lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) -> CIELAB (..., 3), D65 white."""
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = _linear(srgb) @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours (..., 3) (Sharma et al. 2005)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cm7 = ((C1 + C2) / 2) ** 7
    G = 0.5 * (1 - np.sqrt(Cm7 / (Cm7 + 25 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp, dCp = L2 - L1, C2p - C1p
    dh = h2p - h1p
    dh = np.where(C1p * C2p == 0, 0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lpm, Cpm = (L1 + L2) / 2, (C1p + C2p) / 2
    hsum = h1p + h2p
    hpm = np.where(C1p * C2p == 0, hsum,
                   np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                            np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)))
    T = (1 - 0.17 * np.cos(np.radians(hpm - 30)) + 0.24 * np.cos(np.radians(2 * hpm))
         + 0.32 * np.cos(np.radians(3 * hpm + 6)) - 0.20 * np.cos(np.radians(4 * hpm - 63)))
    d_theta = 30 * np.exp(-(((hpm - 275) / 25) ** 2))
    Rc = 2 * np.sqrt(Cpm ** 7 / (Cpm ** 7 + 25 ** 7))
    Sl = 1 + 0.015 * (Lpm - 50) ** 2 / np.sqrt(20 + (Lpm - 50) ** 2)
    Sc, Sh = 1 + 0.045 * Cpm, 1 + 0.015 * Cpm * T
    Rt = -np.sin(np.radians(2 * d_theta)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh))


def distance(a: str, b: str, vision: str = "normal") -> float:
    """CIEDE2000 between two colours as seen with `vision`."""
    return float(ciede2000(lab(simulate(rgb(a), vision)), lab(simulate(rgb(b), vision))))


def min_distance(colors, vision: str = "normal") -> tuple[float, tuple[str, str]]:
    """The closest pair of `colors` as seen with `vision`: (CIEDE2000, (a, b))."""
    colors = list(colors)
    pairs = [(distance(a, b, vision), (a, b)) for i, a in enumerate(colors) for b in colors[i + 1:]]
    return min(pairs)


def luminance(color: str) -> float:
    """WCAG 2.1 relative luminance."""
    return float(_linear(rgb(color)) @ np.array([0.2126, 0.7152, 0.0722]))


def contrast(fg: str, bg: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio, 1 to 21."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
