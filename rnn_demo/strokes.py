"""Strokes brought to another width without changing a drawing's shape (issue 27).

A drawing's topology is its pieces and its loops (a 0 one loop, an 8 two). Peeling the edges of
fat strokes (`canvas.restroke`) is a fine way to thin a drawing made with one pen, but where the
pen's width varies along a stroke the thin parts vanish and the loops they close open. Here:
`topology` counts pieces and loops, `width_spread` says how much the strokes' width varies, and
`redraw` thins a drawing with scikit-image's topology-keeping `thin` (or `skeletonize`,
`medial_axis`) and draws the result again with a round pen of the width asked for.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), bottom/right exclusive, of the True pixels; None if none."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return None
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


SPREAD = 2.0  # "even": strokes whose width varies more than this (90th / 10th percentile) are thinned, not peeled


def width_spread(mask: np.ndarray) -> float:
    """How much the strokes' width varies along them: the 90th over the 10th percentile of the
    distance to the paper along the ink's skeleton (about 1.2 for one pen, 2.5 for a pen that
    swells from 20 to 60 px)."""
    from skimage.morphology import skeletonize

    inside = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1][skeletonize(mask)]
    if inside.size == 0:
        return 1.0
    return float(np.percentile(inside, 90) / max(np.percentile(inside, 10), 1.0))


def topology(mask: np.ndarray, least: float = 1.0) -> tuple[int, int]:
    """(pieces, holes) of a boolean ink mask: 8-connected ink, 4-connected background not
    reaching the border (a 0 has one hole, an 8 two, a 1 none); specks and pinholes of fewer
    than `least` pixels are not counted."""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    pieces = int((np.bincount(lab.ravel(), minlength=n + 1)[1:] >= least).sum())
    lab, n = ndimage.label(np.pad(~mask, 1))
    holes = int((np.bincount(lab.ravel(), minlength=n + 1)[2:] >= least).sum())  # 1: the background all round
    return pieces, holes


THIN = 0.6  # "thin" peels this many stroke widths (at most) off every side, keeping every loop and joint
SPUR = 0.5  # skeleton branches shorter than this share of the stroke width, from a joint to an end, are cut


def redraw(mask: np.ndarray, drawn: float, method: str, pen: float, level: float) -> np.ndarray:
    """A boolean ink mask with strokes `drawn` px wide -> ink in [0, 1], cropped to what is at
    least `level`: its skeleton redrawn with a round pen `pen` times as wide as the redrawn
    drawing's longer side (MNIST's pen once it is shrunk to its 20 px box). Skeletonizing keeps the drawing's topology (every loop, every joint), so a
    fat 8 keeps both its holes; the short branches a fat stroke's corners and ragged edges grow
    (shorter than its width, from a joint to a free end) are cut."""
    from skimage.morphology import medial_axis, skeletonize, thin  # imported here: only drawings off MNIST's width need it

    if method == "thin":
        skeleton = thin(mask, max_num_iter=max(1, int(np.ceil(THIN * drawn))))
    else:
        skeleton = medial_axis(mask) if method == "medial" else skeletonize(mask)
    if SPUR and drawn > 0 and method != "thin":
        skeleton = prune(skeleton, SPUR * drawn)
    b = _box(skeleton)
    skeleton = skeleton[b[0]:b[1], b[2]:b[3]]
    # The redrawn digit's longer side L is the skeleton's S plus one pen width w = pen * L.
    length = max(skeleton.shape) / (1 - pen)
    width = pen * length
    pad = int(np.ceil(width / 2)) + 2
    far = ndimage.distance_transform_edt(~np.pad(skeleton, pad))
    ink_ = np.clip(width / 2 + 0.5 - far, 0.0, 1.0).astype(np.float32)  # a band `width` px wide, 1 px soft edge
    b = _box(ink_ >= level)
    return ink_[b[0]:b[1], b[2]:b[3]]


_RING = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def prune(skeleton: np.ndarray, length: float) -> np.ndarray:
    """A 1 px skeleton without its spurs: every branch from a free end to a joint (a pixel with
    three or more neighbours) shorter than `length` px is removed. A branch that reaches no joint
    is a whole stroke (a 1, a 0's ring has no end) and is kept."""
    sk = np.pad(skeleton, 1).copy()
    count = ndimage.convolve(sk.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    ends = np.argwhere(sk & (count == 1))
    for y, x in ends:
        path, prev, far = [(y, x)], None, 0.0
        while True:
            cy, cx = path[-1]
            nxt = [(cy + dy, cx + dx) for dy, dx in _RING if sk[cy + dy, cx + dx] and (cy + dy, cx + dx) != prev
                   and (cy + dy, cx + dx) not in path[-3:]]
            if len(nxt) != 1 or far > length:  # a joint (or a loose end) reached, or long enough to be a stroke
                break
            prev = path[-1]
            far += math.hypot(nxt[0][0] - cy, nxt[0][1] - cx)
            path.append(nxt[0])
            if count[nxt[0]] >= 3:
                break
        if far <= length and path and count[path[-1]] >= 3:
            for p in path[:-1]:
                sk[p] = False
    return sk[1:-1, 1:-1]
