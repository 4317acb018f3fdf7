"""Random distortions of a training batch, so the models read digits as people draw them.

People draw digits tilted, slanted, small, off-centre and with pens of every width; MNIST's
digits are upright-ish, centred and 2-3 px thick. `distort` turns each digit of a batch by its
own random rotation, shear (slant), scale and shift, with one batched `affine_grid` /
`grid_sample` (Jaderberg et al. 2015's sampler) on the batch's device, and thins or thickens its
strokes by a grey-level erosion or dilation (a 3x3 min / max pool) blended in by a random
amount. Where a turned or enlarged digit would leave the 28x28 field, it is shrunk and shifted
back in, so no ink is cut off. Simard et al. (2003) showed that such distortions are worth more
than a larger network on MNIST.

`ink` redraws a share of the digits in the ink people use that MNIST lacks: a fat pen (small
loops filled), soft (blurred) ink and low resolution (issue 27).

`non_digits` makes things that are not one digit (two digits side by side, two digits drawn
over each other, figures of straight strokes as letters and scribbles are): trained towards a
uniform answer, they teach the models to say "unsure" instead of a confident wrong digit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

SIZE = 28


@dataclass(frozen=True)
class Strength:
    """Ranges of the random distortions; each image draws its own values uniformly."""

    rotate: float = 20.0        # degrees, either way (positive: counter-clockwise as seen)
    shear: float = 0.35         # horizontal shear x += shear * (centre - y): slant, either way
    scale: tuple[float, float] = (0.7, 1.1)  # size factor (the digit's box 20 px -> 14..22 px)
    aspect: float = 0.15        # width / height changed by up to this factor either way
    shift: float = 4.0          # pixels, either axis, before the keep-inside step
    thickness: float = 0.8      # stroke weight: blend towards a 3x3 erosion (thinner) or dilation (thicker)
    thick_share: tuple[float, float] = (0.35, 0.35)  # share of images thinned, thickened (rest unchanged)

    def times(self, k: float) -> "Strength":
        """Every range multiplied by k (k = 0: no distortion)."""
        lo, hi = self.scale
        return Strength(self.rotate * k, self.shear * k, (1 - (1 - lo) * k, 1 + (hi - 1) * k), self.aspect * k,
                        self.shift * k, self.thickness * k, self.thick_share)


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=gen, device=device) * (hi - lo) + lo


def _window(x: torch.Tensor, op, outside: float) -> torch.Tensor:
    """op (max or min) over each pixel's 3x3 neighbourhood of (B, H, W), as rows then columns of
    shifted views: the same numbers as a 3x3 max pool, several times faster on a CPU thread."""
    p = F.pad(x, (1, 1, 1, 1), value=outside)                        # (B, H + 2, W + 2)
    rows = op(op(p[:, :-2], p[:, 1:-1]), p[:, 2:])                    # (B, H, W + 2)
    return op(op(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:])    # (B, H, W)


def thicken(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """(B, H, W) ink in [0, 1]; amount (B,) in [-1, 1]: < 0 blends towards a 3x3 grey erosion
    (thinner strokes), > 0 towards a 3x3 grey dilation (thicker), 0 leaves the image alone."""
    dilated = _window(x, torch.maximum, 0.0)                         # 3x3 max: max_pool2d(x, 3, 1, 1)
    eroded = _window(x, torch.minimum, 1.0)                          # 3x3 min: -max_pool2d(-x, 3, 1, 1)
    # A stroke only 1-2 px wide would vanish under a full erosion: keep half its ink at least.
    eroded = torch.maximum(eroded, 0.5 * x * (eroded.amax((1, 2), keepdim=True) < 0.5))
    a = amount.view(-1, 1, 1)
    return torch.where(a >= 0, x + a * (dilated - x), x + (-a) * (eroded - x))


def affine(x: torch.Tensor, matrix: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move every image's ink by p -> matrix @ (p - c) + c + shift, with p = (x, y) in pixels
    and c the field's centre; matrix (B, 2, 2), shift (B, 2) in pixels. Bilinear, zeros outside."""
    B, H, W = x.shape
    inv = torch.linalg.inv(matrix)                                   # grid_sample maps output -> input
    t = shift * torch.tensor([2.0 / W, 2.0 / H], device=x.device)    # pixels -> normalised coordinates
    theta = torch.cat([inv, -(inv @ t.unsqueeze(-1))], dim=2)        # (B, 2, 3)
    grid = F.affine_grid(theta, (B, 1, H, W), align_corners=False)
    return F.grid_sample(x.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False).squeeze(1)


def ink_box(x: torch.Tensor, level: float = 0.05) -> torch.Tensor:
    """(B, 4) left, top, right, bottom pixel edges of the ink (pixels with at least `level`);
    the whole field for an empty image."""
    B, H, W = x.shape
    mask = x > level
    cols, rows = mask.any(1), mask.any(2)                            # (B, W), (B, H)
    idx_w = torch.arange(W, device=x.device).expand(B, W)
    idx_h = torch.arange(H, device=x.device).expand(B, H)
    left = torch.where(cols, idx_w, W).amin(1)
    right = torch.where(cols, idx_w, -1).amax(1) + 1
    top = torch.where(rows, idx_h, H).amin(1)
    bottom = torch.where(rows, idx_h, -1).amax(1) + 1
    empty = ~cols.any(1)
    box = torch.stack([left, top, right, bottom], 1).float()
    return torch.where(empty[:, None], torch.tensor([0.0, 0.0, W, H], device=x.device), box)


def distort(x: torch.Tensor, gen: torch.Generator, strength: Strength = Strength(),
            margin: float = 1.0) -> torch.Tensor:
    """A batch of digits (B, 28, 28) in [0, 1] -> each one randomly turned, slanted, scaled,
    shifted and thinned or thickened (`transform` with values drawn from `strength`'s ranges).
    `gen` lives on x's device; the same generator state gives the same batch."""
    B, dev, s = len(x), x.device, strength
    rotate = _uniform(B, -s.rotate, s.rotate, gen, dev)
    shear = _uniform(B, -s.shear, s.shear, gen, dev)
    scale = _uniform(B, *s.scale, gen, dev)
    aspect = torch.exp(_uniform(B, -math.log1p(s.aspect), math.log1p(s.aspect), gen, dev))
    shift = _uniform(2 * B, -s.shift, s.shift, gen, dev).view(B, 2)
    pick = torch.rand(B, generator=gen, device=dev)
    weight = _uniform(B, 0.3, 1.0, gen, dev) * s.thickness
    thin, thick = s.thick_share
    amount = torch.where(pick < thin, -weight, torch.where(pick < thin + thick, weight, torch.zeros_like(weight)))
    return transform(x, rotate, shear, scale, aspect, shift, amount, margin)


def transform(x: torch.Tensor, rotate, shear, scale, aspect, shift, thickness, margin: float = 1.0) -> torch.Tensor:
    """Digits (B, 28, 28) in [0, 1], each with its own (B,) values: turned by `rotate` degrees
    (counter-clockwise as seen), slanted by `shear` (x += shear * height above the centre),
    scaled by `scale` (width / height by `aspect`), moved by `shift` (B, 2) pixels, and
    thinned (< 0) or thickened (> 0) by `thickness` in [-1, 1] (see `thicken`). The ink is kept
    at least `margin` px inside the field: a digit that would leave it is shrunk and moved back."""
    B, H, W = x.shape
    dev = x.device
    rotate, shear, scale, aspect, thickness = (torch.as_tensor(v, dtype=x.dtype, device=dev).expand(B)
                                               for v in (rotate, shear, scale, aspect, thickness))
    shift = torch.as_tensor(shift, dtype=x.dtype, device=dev).expand(B, 2)
    # Forward map on (x right, y down): scale -> shear (slant) -> rotate. A counter-clockwise turn
    # as seen on screen (y down) is [[cos, sin], [-sin, cos]].
    angle = rotate * (math.pi / 180)
    c, sn = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([c, sn], -1), torch.stack([-sn, c], -1)], -2)            # (B, 2, 2)
    one, zero = torch.ones_like(shear), torch.zeros_like(shear)
    shr = torch.stack([torch.stack([one, -shear], -1), torch.stack([zero, one], -1)], -2)  # x -= shear * y
    scl = torch.diag_embed(torch.stack([scale * aspect.sqrt(), scale / aspect.sqrt()], -1))
    matrix = rot @ shr @ scl

    # Keep the ink inside: where the moved ink box would be larger than the field, shrink it;
    # then pull the shift back so that the box fits.
    x = thicken(x, thickness)                                        # first: a thicker digit needs more room
    box = ink_box(x)                                                 # (B, 4) pixel edges
    centre = torch.tensor([W / 2, H / 2], device=dev)
    corners = torch.stack([box[:, [0, 1]], box[:, [2, 1]], box[:, [0, 3]], box[:, [2, 3]]], 1) - centre  # (B, 4, 2)
    moved = corners @ matrix.transpose(1, 2)                          # (B, 4, 2) relative to the centre
    lo, hi = moved.amin(1), moved.amax(1)                             # (B, 2)
    room = torch.tensor([W - 2 * margin, H - 2 * margin], device=dev)
    fit = (room / (hi - lo).clamp_min(1e-6)).amin(1).clamp(max=1.0)  # (B,)
    matrix = matrix * fit.view(B, 1, 1)
    lo, hi = lo * fit[:, None], hi * fit[:, None]
    low_limit, high_limit = margin - centre, centre - margin          # allowed range of lo + shift and hi + shift
    shift = torch.maximum(torch.minimum(shift, high_limit - hi), low_limit - lo)
    out = affine(x, matrix, shift).clamp_(0.0, 1.0)
    # As MNIST and canvas.to_mnist: the darkest stroke is full ink (an erosion dims thin strokes).
    return out / out.amax((1, 2), keepdim=True).clamp_min(1e-6)


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """(B, H, W) each blurred by its own Gaussian sigma (B,) in pixels (separable, 7 taps)."""
    t = torch.arange(-3, 4, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma.clamp_min(1e-3).view(-1, 1)) ** 2)
    k = k / k.sum(1, keepdim=True)                                   # (B, 7)
    p = F.pad(x, (3, 3, 3, 3))
    rows = sum(k[:, i].view(-1, 1, 1) * p[:, i:i + x.shape[1], :] for i in range(7))        # (B, H, W + 6)
    return sum(k[:, i].view(-1, 1, 1) * rows[:, :, i:i + x.shape[2]] for i in range(7))


def ink(x: torch.Tensor, gen: torch.Generator, share: float) -> torch.Tensor:
    """About `share` of the digits (B, 28, 28) in [0, 1] redrawn in the ink people use that
    MNIST lacks, a quarter each: a fat pen (a 3x3 or 5x5 closing: small loops and gaps filled,
    as a fat pen on a small digit fills them), soft ink (blurred, sigma 0.6-1.4 px), low
    resolution (reduced to 7-14 px and scaled back up, as a scan), or both soft and fat. The
    darkest stroke stays full ink, as the Draw page makes it."""
    B, H, W = x.shape
    dev = x.device
    pick = torch.rand(B, generator=gen, device=dev)
    kind = torch.randint(0, 4, (B,), generator=gen, device=dev)
    on = pick < share
    out = x
    # fat pen: dilate then erode (a closing), once or twice
    twice = torch.rand(B, generator=gen, device=dev) < 0.5
    d1 = _window(x, torch.maximum, 0.0)
    d2 = _window(d1, torch.maximum, 0.0)
    c1 = _window(d1, torch.minimum, 1.0)
    c2 = _window(_window(d2, torch.minimum, 1.0), torch.minimum, 1.0)
    fat = torch.where(twice.view(B, 1, 1), c2, c1)
    soft = _blur(x, _uniform(B, 0.6, 1.4, gen, dev))
    sizes = (7, 10, 14)
    which = torch.randint(0, len(sizes), (B,), generator=gen, device=dev)
    low = torch.stack([F.interpolate(F.interpolate(x.unsqueeze(1), size=(n, n), mode="area"), size=(H, W),
                                     mode="bilinear", align_corners=False).squeeze(1) for n in sizes])  # (3, B, H, W)
    low = low[which, torch.arange(B, device=dev)]
    fat_soft = _blur(fat, _uniform(B, 0.6, 1.2, gen, dev))
    k = kind.view(B, 1, 1)
    styled = torch.where(k == 0, fat, torch.where(k == 1, soft, torch.where(k == 2, low, fat_soft)))
    out = torch.where(on.view(B, 1, 1), styled, x)
    return out / out.amax((1, 2), keepdim=True).clamp_min(1e-6)


def lines(n: int, gen: torch.Generator, device=None, size: int = SIZE) -> torch.Tensor:
    """n figures of straight strokes, (n, 28, 28) in [0, 1]: half of them a zigzag through five
    random points, half four loose random strokes (what letters and scribbles are made of)."""
    pts = _uniform(n * 10, 4.0, size - 4.0, gen, device).view(n, 5, 2)           # (n, 5, 2) x, y
    loose = _uniform(n * 16, 4.0, size - 4.0, gen, device).view(n, 4, 2, 2)       # (n, 4, 2, 2)
    chain = torch.stack([pts[:, :-1], pts[:, 1:]], 2)                            # (n, 4, 2, 2)
    segs = torch.where((torch.rand(n, generator=gen, device=device) < 0.5).view(n, 1, 1, 1), chain, loose)
    width = _uniform(n, 1.6, 2.8, gen, device).view(n, 1, 1)
    yy, xx = torch.meshgrid(torch.arange(size, device=device, dtype=torch.float32) + 0.5,
                            torch.arange(size, device=device, dtype=torch.float32) + 0.5, indexing="ij")
    p = torch.stack([xx, yy], -1).view(1, 1, size * size, 2)                     # (1, 1, P, 2)
    a, b = segs[:, :, :1], segs[:, :, 1:]                                        # (n, 4, 1, 2)
    ab = b - a
    t = (((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0, 1)  # (n, 4, P)
    dist = (p - (a + t.unsqueeze(-1) * ab)).norm(dim=-1).amin(1).view(n, size, size)
    return (width / 2 + 0.5 - dist).clamp(0, 1)


def non_digits(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """As many non-digits as digits in x (B, 28, 28): per image one of two digits side by side,
    two digits drawn over each other (the second turned by 60-120 degrees), or `lines`."""
    B, H, W = x.shape
    dev = x.device
    other = x[torch.randperm(B, generator=gen, device=dev)]
    kind = torch.randint(0, 3, (B,), generator=gen, device=dev)
    eye = torch.eye(2, device=dev).expand(B, 2, 2)
    # Two side by side: each shrunk to 0.55-0.7 and moved 6-7 px left / right.
    k = _uniform(B, 0.55, 0.7, gen, dev).view(B, 1, 1)
    dx = _uniform(B, 6.0, 7.5, gen, dev)
    dy = _uniform(B, -2.0, 2.0, gen, dev)
    left = affine(x, eye * k, torch.stack([-dx, dy], 1))
    right = affine(other, eye * k, torch.stack([dx, -dy], 1))
    pair = torch.maximum(left, right)
    # Two over each other: the second one turned by 60-120 degrees.
    a = _uniform(B, math.pi / 3, 2 * math.pi / 3, gen, dev)
    c, s = torch.cos(a), torch.sin(a)
    rot = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)
    overlay = torch.maximum(x, affine(other, rot, torch.zeros(B, 2, device=dev)))
    kv = kind.view(B, 1, 1)
    return torch.where(kv == 0, pair, torch.where(kv == 1, overlay, lines(B, gen, dev, H)))


def batch(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator, strength: float = 1.0,
          non_digit_share: float = 0.0, classes: int = 10,
          rotate: float | None = None, ink_share: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch (B, T, F) in [0, 1] with labels (B,) -> distorted digits, plus
    round(B * non_digit_share) non-digits appended at the end. Targets are the labels, or, with
    non-digits, probabilities (B', C): one-hot for digits and uniform for non-digits.
    `rotate` (degrees, either way) replaces the rotation range that `strength` scales, so a small
    model can take gentler distortions yet still see tilts as wide as people draw.
    `ink_share`: that share of the digits, after the distortions, in fat, soft or low-resolution
    ink (`ink`)."""
    s = Strength().times(strength)
    if rotate is not None:
        s = replace(s, rotate=rotate)
    out = distort(x, gen, s) if strength > 0 or rotate else x
    if ink_share > 0:
        out = ink(out, gen, ink_share)
    n = round(len(x) * non_digit_share)
    if n == 0:
        return out, y
    junk = distort(non_digits(x[:n], gen), gen, Strength().times(min(strength, 1.0) * 0.5))
    target = torch.cat([F.one_hot(y, classes).float(), torch.full((n, classes), 1.0 / classes, device=x.device)])
    return torch.cat([out, junk]), target
