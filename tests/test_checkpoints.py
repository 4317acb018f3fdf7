import io
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from rnn_demo import checkpoints
from rnn_demo.checkpoints import CheckpointError
from rnn_demo.model import ModelConfig, build


@pytest.fixture
def saved(tmp_path):
    model = build(ModelConfig("lstm", 16)).eval()
    path = checkpoints.save(tmp_path / "m.pt", model, {"lr": 0.1}, {"test_acc": 0.5}, {"loss": [1.0, 0.5]},
                            {"train": "sample"})
    return model, path


def test_round_trip_is_exact_and_self_describing(saved):
    model, path = saved
    ckpt = checkpoints.load(path)
    x = torch.rand(3, 28, 28)
    assert torch.equal(ckpt.model(x), model(x))
    assert ckpt.model_config == model.config and ckpt.train_config == {"lr": 0.1}
    assert ckpt.metrics["test_acc"] == 0.5 and ckpt.history["loss"] == [1.0, 0.5]
    assert ckpt.torch_version == str(torch.__version__) and ckpt.name == "m"
    assert not any(p.name.endswith(".tmp") for p in path.parent.iterdir())


def test_load_from_an_upload_buffer(saved):
    _, path = saved
    ckpt = checkpoints.load(io.BytesIO(path.read_bytes()), name="upload.pt")
    assert ckpt.model_config.cell == "lstm"


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoints.load(tmp_path / "nope.pt")


def test_truncated_file(saved, tmp_path):
    _, path = saved
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="cut.pt: the file is cut short or damaged"):
        checkpoints.load(cut)


def test_not_a_torch_file(tmp_path):
    p = tmp_path / "notes.pt"
    p.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes.pt: this is not a torch checkpoint file \(it is a text file\)"):
        checkpoints.load(p)


def test_foreign_torch_file(tmp_path):
    p = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, p)
    with pytest.raises(CheckpointError, match="not an rnn-demo checkpoint"):
        checkpoints.load(p)


def test_code_in_a_pickle_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    p = tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "model": Evil()}, p)
    with pytest.raises(CheckpointError, match="not loaded"):
        checkpoints.load(p)
    assert not marker.exists()


def test_weights_for_another_architecture(saved, tmp_path):
    _, path = saved
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["hidden_size"] = 32  # says 32 units, holds 16
    bad = tmp_path / "bad.pt"
    torch.save(payload, bad)
    with pytest.raises(CheckpointError, match=r"weight rnn.weight_ih_l0 has shape \(64, 28\), but a LSTM 32 "
                                              r"needs \(128, 28\)"):
        checkpoints.load(bad)


def test_failed_save_keeps_the_previous_file(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        checkpoints.save(path, build(ModelConfig("rnn", 8)))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]


def test_save_killed_half_way_leaves_the_old_file_loadable(saved):
    """kill -9 the writing process while torch.save is writing: the old file must survive."""
    _, path = saved
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal, torch
        from rnn_demo import checkpoints
        from rnn_demo.model import ModelConfig, build
        real = torch.save
        def save_then_die(obj, f, *a, **k):
            f.write(b"PK half a file")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = save_then_die
        checkpoints.save({str(path)!r}, build(ModelConfig("gru", 8)))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert proc.returncode == -9
    assert path.read_bytes() == before
    assert checkpoints.load(path).model_config.cell == "lstm"


def test_list_checkpoints_skips_temporary_files(saved):
    _, path = saved
    (path.parent / ".m.pt.abc.tmp").write_bytes(b"")
    (path.parent / ".hidden.pt").write_bytes(b"")
    assert checkpoints.list_checkpoints(path.parent, path.parent / "missing") == [path]
