import time

import numpy as np
import pytest
import torch

from rnn_demo import data
from tests.conftest import full_mnist


def test_bundled_sample_is_balanced_real_mnist():
    s = data.load_sample()
    assert s.images.shape == (1000, 28, 28) and s.images.dtype == torch.uint8
    assert torch.bincount(s.labels, minlength=10).tolist() == [100] * 10
    assert data.SAMPLE_PATH.stat().st_size < 300_000  # compressed, well under 1 MB
    # MNIST digits: a 20x20 box centred by mass in 28x28, so the border rows are (almost) blank
    assert s.images[:, 0].sum() == 0
    assert (s.images[:, -1] > 0).any(dim=1).float().mean() < 0.02
    assert 0.10 < s.images.float().mean().item() / 255 < 0.16  # MNIST's mean intensity is 0.13


def test_sequences_are_rows_in_unit_range():
    s = data.load_sample()
    x = s.sequences(slice(0, 5))
    assert x.shape == (5, 28, 28) and x.dtype == torch.float32  # (B, T, F)
    assert x.min() >= 0 and x.max() <= 1
    assert torch.equal(x[2, 7], s.images[2, 7].float() / 255)  # step t is row t


def test_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "env"))
    assert data.resolve_root(tmp_path / "arg") == tmp_path / "arg"
    assert data.resolve_root() == tmp_path / "env"
    monkeypatch.delenv(data.ENV_VAR)
    assert data.resolve_root() == data.DEFAULT_ROOT


def test_missing_data_offline_fails_fast_with_a_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_online", lambda *a, **k: False)
    t = time.perf_counter()
    with pytest.raises(data.DataUnavailable, match="RNN_DEMO_DATA"):
        data.load_mnist(train=False, root=tmp_path / "nothing")
    assert time.perf_counter() - t < 5


def test_missing_data_without_network_check(tmp_path):
    with pytest.raises(data.DataUnavailable, match="cannot be downloaded"):
        data.load_mnist(train=False, root=tmp_path, download=False)


def test_load_test_falls_back_to_the_sample(tmp_path):
    assert data.load_test(tmp_path).source == data.load_sample().source


def test_batches_cover_every_index_once():
    gen = torch.Generator().manual_seed(0)
    idx = torch.cat(list(data.batches(1000, 128, gen)))
    assert sorted(idx.tolist()) == list(range(1000))


def test_make_sample_is_per_class_and_from_the_given_set(sample):
    images, labels = data.make_sample(sample, per_class=3)
    assert np.bincount(labels).tolist() == [3] * 10
    assert all((sample.images.numpy() == im).all(axis=(1, 2)).any() for im in images)


@pytest.mark.skipif(not full_mnist(), reason="set RNN_DEMO_DATA to the full MNIST")
def test_full_mnist_in_memory():
    train, test = data.load_mnist(True), data.load_mnist(False)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
