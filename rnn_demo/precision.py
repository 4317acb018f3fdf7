"""Which number format trains fastest here: fp32, or bf16 autocast (bfloat16 matrix products,
fp32 weights, optimiser and loss)?

It depends on the machine, not on the model alone: bf16 products are ~40% faster for the LSTM
on CPUs with AMX (Intel Sapphire Rapids and later) and on GPUs, but on a CPU with AVX512-BF16
and no AMX (e.g. AMD Zen 4/5) the same LSTM step was 1.5x slower in bf16 (16.2 against 10.9
ms, issue 13). So `precision="auto"` decides at run time: a GPU or AMX takes bf16; any other
CPU times one training step each way (a few warm-up steps, then the median of five), once per
architecture and batch size per process, and takes bf16 only if it is clearly faster.
"""
from __future__ import annotations

import functools
import statistics
import time
from pathlib import Path

import torch
from torch import nn

CHOICES = ("auto", "fp32", "bf16")
FASTER_BY = 0.9  # bf16 must take at most 90% of fp32's step time to be chosen


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def describe_cpu() -> str:
    """One line for benchmark output: the CPU model and the features that decide precision."""
    name = "?"
    try:
        name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), "?")
    except OSError:
        pass
    flags = cpu_flags()
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{name}; {' '.join(wanted) or 'no AVX2/AVX-512/AMX flags'}; torch CPU capability " \
           f"{torch.backends.cpu.get_cpu_capability()}"


def resolve(precision: str, model, batch_size: int, device: torch.device) -> str:
    """fp32 or bf16 for a run; 'auto' decides as the module docstring says."""
    if precision != "auto":
        return precision
    if device.type == "cuda" or "amx_bf16" in cpu_flags():
        return "bf16"
    c = model.config
    return _timed_choice(c.cell, c.hidden_size, c.num_layers, c.bidirectional, c.nonlinearity, c.input_size,
                         int(batch_size))


@functools.lru_cache(maxsize=32)
def _timed_choice(cell, hidden, layers, bidirectional, nonlinearity, input_size, batch_size) -> str:
    from rnn_demo.model import ModelConfig, build
    with torch.random.fork_rng(devices=[]):  # the run's own random state stays as it was
        torch.manual_seed(0)
        model = build(ModelConfig(cell, hidden, layers, bidirectional, nonlinearity, input_size))
        times = step_ms(model, batch_size)
    return "bf16" if times["bf16"] <= FASTER_BY * times["fp32"] else "fp32"


def step_ms(model, batch_size: int, steps: int = 7, warmup: int = 2) -> dict[str, float]:
    """Median milliseconds of one training step (forward, loss, backward) on random rows, in fp32
    and in bf16 autocast. The two alternate step by step, so a machine busy with other work
    slows both alike."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch_size, 28, model.config.input_size, generator=gen)
    y = torch.randint(0, model.config.num_classes, (batch_size,), generator=gen)
    loss_fn = nn.CrossEntropyLoss()
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for i in range(warmup + steps):
        for precision in times:
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = loss_fn(model(x).float(), y)
            loss.backward()
            model.zero_grad(set_to_none=True)
            if i >= warmup:
                times[precision].append(1000 * (time.perf_counter() - t))
    return {p: statistics.median(t) for p, t in times.items()}
