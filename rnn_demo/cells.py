"""Recurrent cells written as their equations, keeping every step's state (and gates).

These loops are slow next to the fused torch modules; they exist so that the pictures can
show what happens inside a step. Weight layouts follow torch (`weight_ih_l0` etc.), so a
fused module's parameters can be passed straight in, and the tests check both agree.

Shapes: B batch, T time steps (rows), F features per step (28 pixels), H hidden units.
"""
from __future__ import annotations

import torch

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda z: z}


def rnn(x, W_xh, W_hh, b_h, s_0=None, activation: str = "tanh") -> dict[str, torch.Tensor]:
    """The seed's cell: s_t = f(W_x x_t + W_h s_{t-1} + b), one weight set shared by every step.

    x: (B, T, F); W_xh: (H, F); W_hh: (H, H); b_h: (H,). Returns {"h": (B, T, H)}.
    """
    f = ACTIVATIONS[activation]
    B, T, _ = x.shape
    s = x.new_zeros(B, W_hh.shape[0]) if s_0 is None else s_0
    states = []
    for t in range(T):
        s = f(x[:, t] @ W_xh.T + s @ W_hh.T + b_h)  # (B, H)
        states.append(s)
    return {"h": torch.stack(states, 1)}


def lstm(x, W_ih, W_hh, b_ih, b_hh, h_0=None, c_0=None) -> dict[str, torch.Tensor]:
    """Hochreiter & Schmidhuber (1997), with a forget gate (Gers et al. 2000), torch's layout.

        i = sigma(W_i [x_t, h_{t-1}] + b_i)     input gate
        f = sigma(W_f [x_t, h_{t-1}] + b_f)     forget gate
        g = tanh(W_g [x_t, h_{t-1}] + b_g)      candidate cell state (C~)
        o = sigma(W_o [x_t, h_{t-1}] + b_o)     output gate
        c_t = f * c_{t-1} + i * g               additive memory: the gradient's highway
        h_t = o * tanh(c_t)

    W_ih: (4H, F) and W_hh: (4H, H) stack the rows of i, f, g, o. Returns h, c, i, f, g, o,
    each (B, T, H).
    """
    B, T, _ = x.shape
    H = W_hh.shape[1]
    h = x.new_zeros(B, H) if h_0 is None else h_0
    c = x.new_zeros(B, H) if c_0 is None else c_0
    out = {k: [] for k in ("h", "c", "i", "f", "g", "o")}
    for t in range(T):
        z = x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (B, 4H)
        i, f, g, o = z.chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip(out, (h, c, i, f, g, o)):
            out[k].append(v)
    return {k: torch.stack(v, 1) for k, v in out.items()}


def gru(x, W_ih, W_hh, b_ih, b_hh, h_0=None) -> dict[str, torch.Tensor]:
    """Cho et al. (2014), torch's layout (rows of r, z, n stacked):

        r = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)         reset gate
        z = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)         update gate
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))    candidate state
        h_t = (1 - z) * n + z * h_{t-1}

    Returns h, r, z, n, each (B, T, H).
    """
    B, T, _ = x.shape
    H = W_hh.shape[1]
    h = x.new_zeros(B, H) if h_0 is None else h_0
    out = {k: [] for k in ("h", "r", "z", "n")}
    for t in range(T):
        xr, xz, xn = (x[:, t] @ W_ih.T + b_ih).chunk(3, dim=1)  # (B, H) each
        hr, hz, hn = (h @ W_hh.T + b_hh).chunk(3, dim=1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        for k, v in zip(out, (h, r, z, n)):
            out[k].append(v)
    return {k: torch.stack(v, 1) for k, v in out.items()}
