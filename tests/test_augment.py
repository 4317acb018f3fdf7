"""Training distortions: ink stays in the field, the same seed gives the same batch, and each
strength parameter does what it says (a rotation of r degrees turns a bar by r)."""
import math

import numpy as np
import pytest
import torch

from rnn_demo import augment
from rnn_demo.augment import Strength

def bar(length=18, width=2):
    """A horizontal bar through the centre of the field: (1, 28, 28)."""
    x = torch.zeros(1, 28, 28)
    x[0, 14 - width // 2:14 - width // 2 + width, 14 - length // 2:14 + length // 2] = 1.0
    return x


def angle(img) -> float:
    """Orientation in degrees of the ink's principal axis, counter-clockwise as seen (y down)."""
    ys, xs = np.indices(img.shape)
    w = img.ravel()
    pts = np.stack([xs.ravel(), -ys.ravel()], 1).astype(float)  # y up
    mean = (pts * w[:, None]).sum(0) / w.sum()
    d = pts - mean
    cov = (d * w[:, None]).T @ d / w.sum()
    vals, vecs = np.linalg.eigh(cov)
    v = vecs[:, -1]
    a = math.degrees(math.atan2(v[1], v[0]))
    return (a + 90) % 180 - 90


@pytest.mark.parametrize("r", [-20.0, -10.0, 5.0, 15.0, 30.0])
def test_a_rotation_of_r_degrees_turns_a_bar_by_r(r):
    assert angle(bar()[0].numpy()) == pytest.approx(0.0, abs=0.1)
    turned = augment.transform(bar(), r, 0.0, 1.0, 1.0, torch.zeros(2), 0.0)
    assert angle(turned[0].numpy()) == pytest.approx(r, abs=1.0)


def test_random_rotations_stay_within_their_range():
    gen = torch.Generator().manual_seed(1)
    x = bar().expand(64, 28, 28).clone()
    out = augment.distort(x, gen, Strength(rotate=20, shear=0, scale=(1, 1), aspect=0, shift=0, thickness=0))
    angles = np.array([angle(o.numpy()) for o in out])
    assert np.abs(angles).max() <= 20.5
    assert angles.min() < -12 and angles.max() > 12  # both ways, spread over the range


def test_rotate_widens_the_turns_alone(sample):
    """batch(..., rotate=r): turns up to r degrees either way whatever the strength, seeded; the
    other distortions keep the strength's ranges (a horizontal bar's angle is its turn alone)."""
    x, y = bar().expand(256, 28, 28).clone(), torch.zeros(256, dtype=torch.long)

    def angles(strength, rotate, seed=5):
        out, _ = augment.batch(x, y, torch.Generator().manual_seed(seed), strength, rotate=rotate)
        return out, np.array([angle(o.numpy()) for o in out])

    _, half = angles(0.5, None)
    assert np.abs(half).max() <= 10.5  # half strength: +-10 degrees
    out, wide = angles(0.5, 25.0)
    assert np.abs(wide).max() <= 25.5 and wide.min() < -20 and wide.max() > 20
    again, _ = angles(0.5, 25.0)
    assert torch.equal(out, again)
    # the same draws as half strength, the turns widened: the other distortions are unchanged
    plain = augment.batch(x, y, torch.Generator().manual_seed(5), 0.5)[0]
    assert torch.allclose(plain.sum((1, 2)), out.sum((1, 2)), rtol=0.15)
    # rotate alone (strength 0): only turns
    only, turns = angles(0.0, 15.0)
    assert np.abs(turns).max() <= 15.5 and np.abs(turns).max() > 12
    assert torch.allclose(only.sum((1, 2)), x.sum((1, 2)), rtol=0.1)


def test_shear_slants_a_vertical_bar():
    x = bar().transpose(1, 2).contiguous()  # vertical
    assert abs(angle(x[0].numpy())) == pytest.approx(90, abs=0.1)
    for s in (-0.3, 0.2):  # the top moves right by s per pixel of height: the bar leans by atan(s)
        slanted = augment.transform(x, 0.0, s, 1.0, 1.0, torch.zeros(2), 0.0)
        a = angle(slanted[0].numpy()) % 180
        assert a == pytest.approx(90 - math.degrees(math.atan(s)), abs=1.0)


def test_scale_and_shift_do_what_they_say():
    x = bar(length=12)
    half = augment.transform(x, 0.0, 0.0, 0.5, 1.0, torch.zeros(2), 0.0)
    assert len(np.flatnonzero(half[0].numpy().max(0) > 0.25)) == 6
    wide = augment.transform(x, 0.0, 0.0, 1.0, 1.44, torch.zeros(2), 0.0)  # aspect 1.44: 1.2 x as wide
    assert len(np.flatnonzero(wide[0].numpy().max(0) > 0.25)) == pytest.approx(12 * 1.2, abs=1)
    moved = augment.transform(x, 0.0, 0.0, 1.0, 1.0, torch.tensor([3.0, -2.0]), 0.0)
    assert torch.allclose(moved[0], torch.roll(x[0], (-2, 3), (0, 1)), atol=1e-5)
    pushed = augment.transform(x, 0.0, 0.0, 1.0, 1.0, torch.tensor([20.0, 0.0]), 0.0)  # would leave the field
    cols = np.flatnonzero(pushed[0].numpy().max(0) > 0.5)
    assert cols[-1] == 26 and len(cols) == 12  # moved only as far as the margin allows, not cut


def test_thickness_makes_strokes_thinner_and_thicker():
    x = bar(width=4)
    thick = augment.thicken(x, torch.tensor([1.0]))
    thin = augment.thicken(x, torch.tensor([-1.0]))
    assert (thick[0] > 0.5).sum() > (x[0] > 0.5).sum() > (thin[0] > 0.5).sum() > 0
    assert torch.equal(augment.thicken(x, torch.tensor([0.0])), x)


def test_ink_stays_inside_the_field(sample):
    """The strongest distortions on real digits: no ink cut off (nothing on the outer pixel ring),
    every digit still there at full ink."""
    x = sample.sequences(slice(0, 500))
    gen = torch.Generator().manual_seed(0)
    out = augment.distort(x, gen, Strength().times(1.5))
    border = torch.cat([out[:, 0], out[:, -1], out[:, :, 0], out[:, :, -1]], 1)
    assert border.max() < 0.05
    assert torch.allclose(out.amax((1, 2)), torch.ones(500))
    assert ((out - x).abs().mean((1, 2)) > 0.01).float().mean() > 0.95  # and they were distorted


def test_the_same_seed_gives_the_same_batch(sample):
    x, y = sample.sequences(slice(0, 64)), sample.labels[:64]
    a = augment.batch(x, y, torch.Generator().manual_seed(3), 1.0, 0.25)
    b = augment.batch(x, y, torch.Generator().manual_seed(3), 1.0, 0.25)
    c = augment.batch(x, y, torch.Generator().manual_seed(4), 1.0, 0.25)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_non_digits_come_last_with_a_uniform_target(sample):
    x, y = sample.sequences(slice(0, 40)), sample.labels[:40]
    out, target = augment.batch(x, y, torch.Generator().manual_seed(0), 1.0, 0.25)
    assert out.shape == (50, 28, 28) and target.shape == (50, 10)
    assert torch.equal(target[:40].argmax(1), y) and torch.allclose(target[:40].sum(1), torch.ones(40))
    assert torch.allclose(target[40:], torch.full((10, 10), 0.1))
    assert out.min() >= 0 and out.max() <= 1
    plain = augment.batch(x, y, torch.Generator().manual_seed(0), 1.0, 0.0)
    assert plain[0].shape == (40, 28, 28) and plain[1] is y


def test_the_3x3_window_is_a_max_pool(sample):
    """augment's separable 3x3 max / min gives exactly torch's max pool (the reference)."""
    import torch.nn.functional as F
    x = sample.sequences(slice(0, 64))
    assert torch.equal(augment._window(x, torch.maximum, 0.0), F.max_pool2d(x[:, None], 3, 1, 1)[:, 0])
    assert torch.equal(augment._window(x, torch.minimum, 1.0), -F.max_pool2d(-x[:, None], 3, 1, 1)[:, 0])


def ring(outer=8, inner=2.5):
    """A 0: a ring of ink round a small hole at the centre, (1, 28, 28)."""
    ys, xs = np.indices((28, 28))
    r = np.hypot(ys - 13.5, xs - 13.5)
    return torch.tensor(((r <= outer) & (r >= inner)).astype(np.float32))[None]


def test_ink_styles_fill_small_loops_soften_and_coarsen(sample):
    """augment.ink: a fat pen fills a small loop (a closing), soft ink spreads grey ink round the
    strokes, low resolution smooths them; the darkest stroke stays full ink; share 0 does nothing."""
    x = sample.sequences(slice(0, 400))
    out = augment.ink(x, torch.Generator().manual_seed(0), 1.0)
    assert torch.allclose(out.amax((1, 2)), torch.ones(400))
    changed = (out - x).abs().amax((1, 2)) > 0.2
    assert changed.float().mean() > 0.9
    grey = ((out > 0.1) & (out < 0.9)).float().sum((1, 2)) / (out > 0.1).float().sum((1, 2))
    assert grey.mean() > 1.5 * (((x > 0.1) & (x < 0.9)).float().sum((1, 2)) / (x > 0.1).float().sum((1, 2))).mean()
    zero = ring().expand(64, 28, 28)
    fat = augment.ink(zero, torch.Generator().manual_seed(1), 1.0)
    assert (fat[:, 13:15, 13:15] > 0.5).all((1, 2)).float().mean() > 0.3  # the hole filled in the fat (and fat soft) ones
    assert torch.equal(augment.ink(x, torch.Generator().manual_seed(0), 0.0), x / x.amax((1, 2), keepdim=True))
    a = augment.batch(x[:64], sample.labels[:64], torch.Generator().manual_seed(5), 0.5, 0.1, ink_share=0.3)
    b = augment.batch(x[:64], sample.labels[:64], torch.Generator().manual_seed(5), 0.5, 0.1, ink_share=0.3)
    assert torch.equal(a[0], b[0]) and a[0].shape == (70, 28, 28)


def test_ink_share_is_checked_and_recorded():
    from rnn_demo.train import TrainConfig
    assert TrainConfig(ink=0.3).to_dict()["ink"] == 0.3
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="fat, soft or low-resolution"):
            TrainConfig(ink=bad)
