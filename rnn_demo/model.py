"""The classifier: a recurrent layer reads the 28 rows, a linear read-out maps a state to 10 logits.

One file for the model (after nanoGPT's `model.py`): `ModelConfig` says everything needed to
rebuild it, and checkpoints store that config beside the weights.

Two paths compute the same numbers:
- `trace(x)` uses torch's fused module (fast); it returns every step's hidden state and the
  read-out applied at every step (the seed's `all_outputs`), not only the last logits;
- `trace(x, internals=True)` runs the from-scratch cells of `cells.py` on the same weights and
  adds what the fused module hides: the LSTM's cell state and gates, the GRU's gates.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from rnn_demo import cells, kernels
from rnn_demo.i18n import _

CELLS = ("rnn", "lstm", "gru")
FORGET_INITS = ("standard", "constant", "chrono")
GATES = {"rnn": (), "lstm": ("c", "i", "f", "g", "o"), "gru": ("r", "z", "n")}
MAX_HIDDEN = 512  # the largest model (LSTM 512, 2 layers, both ways) is a ~35 MB checkpoint


@dataclass(frozen=True)
class ModelConfig:
    cell: str = "rnn"            # rnn (the seed's tanh cell) | lstm | gru
    hidden_size: int = 128       # H, units per direction
    num_layers: int = 1          # stacked recurrent layers, 1 or 2
    bidirectional: bool = False  # a second layer reads the rows bottom-up
    nonlinearity: str = "tanh"   # rnn only: tanh | relu
    input_size: int = 28         # F, pixels per row
    num_classes: int = 10

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(_("cell must be one of {options}, not {value}", options=", ".join(CELLS),
                               value=repr(self.cell)))
        if not 1 <= int(self.hidden_size) <= MAX_HIDDEN:
            raise ValueError(_("hidden size must be between 1 and {limit}, not {value}", limit=MAX_HIDDEN,
                               value=self.hidden_size))
        if self.num_layers not in (1, 2):
            raise ValueError(_("layers must be 1 or 2, not {value}", value=self.num_layers))
        if self.nonlinearity not in ("tanh", "relu"):
            raise ValueError(_("nonlinearity must be tanh or relu, not {value}", value=repr(self.nonlinearity)))

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def label(self) -> str:
        """A short human name, e.g. 'LSTM 128' or 'bi-RNN 128 x2' (in the session's language)."""
        cell = self.cell.upper() + (" ReLU" if self.cell == "rnn" and self.nonlinearity == "relu" else "")
        values = {"cell": cell, "units": self.hidden_size, "layers": self.num_layers}
        if self.bidirectional:
            return (_("bi-{cell} {units} x{layers}", **values) if self.num_layers > 1
                    else _("bi-{cell} {units}", **values))
        return "{cell} {units} x{layers}".format(**values) if self.num_layers > 1 else "{cell} {units}".format(**values)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Trace:
    """What the network computed for a batch; every picture reads from one of these."""

    logits: torch.Tensor       # (B, C) read-out of the final state
    states: torch.Tensor       # (B, T, D*H) top layer's hidden state at every step
    step_logits: torch.Tensor  # (B, T, C) read-out applied at every step
    internals: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. "c", "i", "f": (B, T, D*H)

    @property
    def probs(self) -> torch.Tensor:
        return self.logits.softmax(-1)

    @property
    def step_probs(self) -> torch.Tensor:
        return self.step_logits.softmax(-1)


class SequenceClassifier(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        kind = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[config.cell]
        extra = {"nonlinearity": config.nonlinearity} if config.cell == "rnn" else {}
        self.rnn = kind(config.input_size, config.hidden_size, config.num_layers,
                        batch_first=True, bidirectional=config.bidirectional, **extra)
        self.readout = nn.Linear(config.hidden_size * config.directions, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, F) -> logits (B, C)."""
        if self._fast_last_state(x):
            last = [kernels.tanh_rnn_last(x, *self.layer_weights().values())]
            if self.config.bidirectional:  # the reverse direction reads the rows bottom-up
                last.append(kernels.tanh_rnn_last(x.flip(1), *self.layer_weights(reverse=True).values()))
            return self.readout(torch.cat(last, dim=-1))
        states, _ = self.rnn(x)  # (B, T, D*H)
        return self.readout(self.final_state(states))

    def _fast_last_state(self, x: torch.Tensor) -> bool:
        """The seed's one-layer tanh RNN on a CPU, input not differentiated: kernels.py's BPTT."""
        c = self.config
        return (kernels.enabled and c.cell == "rnn" and c.nonlinearity == "tanh" and c.num_layers == 1
                and x.device.type == "cpu"
                and not (x.requires_grad and torch.is_grad_enabled()) and not torch.is_autocast_enabled("cpu"))

    def final_state(self, states: torch.Tensor) -> torch.Tensor:
        """The state the read-out classifies: s_T, and for a bidirectional model the backward
        direction's state after it has read every row (which sits at t = 1)."""
        if not self.config.bidirectional:
            return states[:, -1]
        H = self.config.hidden_size
        return torch.cat([states[:, -1, :H], states[:, 0, H:]], dim=-1)  # (B, 2H)

    def trace(self, x: torch.Tensor, internals: bool = False) -> Trace:
        """Every step's state and read-out. With internals=True, computed by the from-scratch
        cells, with the LSTM's cell state and gates or the GRU's gates as well."""
        if internals:
            states, extra = self._unroll(x)
        else:
            states, extra = self.rnn(x)[0], {}
        return Trace(self.readout(self.final_state(states)), states, self.readout(states), extra)

    def layer_weights(self, layer: int = 0, reverse: bool = False) -> dict[str, torch.Tensor]:
        """W_ih, W_hh, b_ih, b_hh of one layer and direction, in torch's layout."""
        sfx = f"_l{layer}" + ("_reverse" if reverse else "")
        return {name: getattr(self.rnn, f"{p}{sfx}")
                for name, p in (("W_ih", "weight_ih"), ("W_hh", "weight_hh"),
                                ("b_ih", "bias_ih"), ("b_hh", "bias_hh"))}

    def _cell(self, x: torch.Tensor, w: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cell = self.config.cell
        if cell == "rnn":
            return cells.rnn(x, w["W_ih"], w["W_hh"], w["b_ih"] + w["b_hh"],
                             activation=self.config.nonlinearity)
        return getattr(cells, cell)(x, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"])

    def _unroll(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        inputs = x
        for layer in range(self.config.num_layers):
            outs = [self._cell(inputs, self.layer_weights(layer))]
            if self.config.bidirectional:  # read the rows bottom-up, then put them back in order
                back = self._cell(inputs.flip(1), self.layer_weights(layer, reverse=True))
                outs.append({k: v.flip(1) for k, v in back.items()})
            merged = {k: torch.cat([o[k] for o in outs], dim=-1) for k in outs[0]}  # (B, T, D*H)
            inputs = merged["h"]
        extra = {k: merged[k] for k in GATES[self.config.cell]}
        return merged["h"], extra


def build(config: ModelConfig | dict) -> SequenceClassifier:
    if isinstance(config, dict):
        config = ModelConfig(**config)
    return SequenceClassifier(config)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def initialise(model: SequenceClassifier, scheme: str, generator: torch.Generator | None = None) -> None:
    """Set the starting weights.

    default:    torch's uniform(-1/sqrt(H), 1/sqrt(H)) for every weight and bias;
    zeros:      as the seed: zero biases (and zero initial state), torch's default weights;
    orthogonal: orthogonal W_hh per gate block (Saxe et al. 2014), Xavier W_ih, zero biases,
                and the LSTM's forget bias at 1 (Jozefowicz et al. 2015).
    """
    if scheme == "default":
        return
    if scheme not in ("zeros", "orthogonal"):
        raise ValueError(f"initialisation must be default, zeros or orthogonal, not {scheme!r}")
    H = model.config.hidden_size
    with torch.no_grad():
        for name, p in model.rnn.named_parameters():
            if name.startswith("bias"):
                p.zero_()
                if scheme == "orthogonal" and model.config.cell == "lstm" and name.startswith("bias_ih"):
                    p[H:2 * H] = 1.0  # forget gate
            elif scheme == "orthogonal" and name.startswith("weight_hh"):
                for block in p.split(H, dim=0):
                    nn.init.orthogonal_(block, generator=generator)
            elif scheme == "orthogonal":
                for block in p.split(H, dim=0):
                    nn.init.xavier_uniform_(block, generator=generator)
        model.readout.bias.zero_()


def init_forget_gate(model: SequenceClassifier, scheme: str, bias: float = 1.0, span: int = 28,
                     generator: torch.Generator | None = None) -> None:
    """Set the gate that decides how much of the old state is kept, after `initialise`.

    The LSTM's forget gate f (c_t = f * c_{t-1} + i * g) and the GRU's update gate z
    (h_t = (1 - z) * n + z * h_{t-1}) keep a fraction sigmoid(b) of the state per step, so with
    inputs that say nothing the state decays like sigmoid(b)^t: 0.73^t for b = 1.
    standard: leave what `initialise` set (orthogonal: LSTM forget bias 1, GRU update bias 0);
    constant: that bias `bias` on every unit (Gers et al. 2000; Jozefowicz et al. 2015);
    chrono:   b_f ~ log(U[1, span - 1]) and the LSTM's input bias b_i = -b_f (Tallec & Ollivier
              2018, "Can recurrent neural networks warp time?"), so unit j keeps its memory for
              about exp(b_j) steps, spread over the expected time span `span`. The tanh RNN has
              no such gate and is left alone.
    Biases go into bias_ih with bias_hh's share zeroed, so b_ih + b_hh is the bias set.
    """
    if scheme not in FORGET_INITS:
        raise ValueError(f"forget_init must be one of {', '.join(FORGET_INITS)}, not {scheme!r}")
    cell = model.config.cell
    if scheme == "standard" or cell == "rnn":
        return
    H = model.config.hidden_size
    keep = slice(H, 2 * H)  # torch's gate order: LSTM i, f, g, o; GRU r, z, n
    with torch.no_grad():
        for name, p in model.rnn.named_parameters():
            if not name.startswith("bias"):
                continue
            if name.startswith("bias_hh"):
                p[keep] = 0.0
                if cell == "lstm":
                    p[0:H] = 0.0
                continue
            if scheme == "constant":
                p[keep] = bias
            else:
                u = torch.rand(H, generator=generator) * (max(span, 3) - 2) + 1  # U[1, span - 1]
                b = u.log()
                p[keep] = b
                if cell == "lstm":
                    p[0:H] = -b
