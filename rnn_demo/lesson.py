"""The Lesson page's content: the seed blog post's argument, one screen per idea, with the post's
recorded numbers as data (and where they come from), the run of its recipe that ships with the
app, the code shown side by side, and projector mode's larger figure text. No streamlit here.

The post itself (in Korean) is not in the repository; the screens are written in our own words
and cite it, the tutorial it cites and the papers behind each idea.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rnn_demo.i18n import N_

ROOT = Path(__file__).resolve().parent.parent
# The seed recipe run, shipped apart from models/*.pt so that the other pages do not list it
# (models/README.md gives its command).
SEED_RUN = ROOT / "models" / "lesson" / "seed.pt"

# Sources, cited on the screens by key. Titles stay in their own language; only the notes are ours.
SOURCES = {
    "post": N_("The seed: a Korean blog post working through the TensorFlow RNN MNIST example of O'Reilly's "
               "Learning TensorFlow (the post this app grew from)"),
    "book": "T. Hope, Y. S. Resheff & I. Lieder, Learning TensorFlow, O'Reilly 2017, ch. 5",
    "aikorea": N_("aikorea.org, RNN tutorial (Korean translation of D. Britz, \"Recurrent Neural Networks "
                  "Tutorial\", WildML), cited by the post"),
    "bengio": "Y. Bengio, P. Simard & P. Frasconi 1994, Learning long-term dependencies with gradient descent "
              "is difficult, IEEE Trans. Neural Networks 5(2)",
    "pascanu": "R. Pascanu, T. Mikolov & Y. Bengio 2013, On the difficulty of training recurrent neural "
               "networks, ICML",
    "hochreiter": "S. Hochreiter & J. Schmidhuber 1997, Long short-term memory, Neural Computation 9(8)",
    "schuster": "M. Schuster & K. K. Paliwal 1997, Bidirectional recurrent neural networks, IEEE Trans. Signal "
                "Processing 45(11)",
}

# The post's training log, as it prints it every 1,000 iterations: iteration, loss and accuracy
# on that iteration's minibatch of 128 training digits (so the accuracies are multiples of 1/128).
# Transcribed from the post (issue #31 quotes the same figures).
POST_LOG = ((0, 2.30, 0.070), (1000, 1.19, 0.563), (2000, 0.60, 0.828), (3000, 0.38, 0.859),
            (4000, 0.12, 0.977), (5000, 0.10, 0.969), (6000, 0.083, 0.977), (7000, 0.154, 0.953),
            (8000, 0.074, 0.984), (9000, 0.049, 0.984))
POST_LOG_SOURCE = N_("the post's printed log (every 1,000 iterations, one minibatch of 128 training digits each)")
POST_BATCH = 128
# The post's result: accuracy on one batch of 128 test digits after 10,000 iterations.
POST_TEST_ACC, POST_TEST_N = 0.9766, 128
# The post's example (Learning TensorFlow, ch. 5): its hyperparameters by the names it uses.
# The digit the lesson's networks read (screens 6, 8, 9): no. 6 of the bundled sample, a 3 that
# the seed run gets right only from row 25 on.
DIGIT = 5
POST_SETTINGS = (("element_size", 28), ("time_steps", 28), ("num_classes", 10), ("batch_size", 128),
                 ("hidden_layer_size", 128))


@dataclass(frozen=True)
class Screen:
    key: str                      # stable name (tests, the page's per-screen figures)
    title: str                    # N_ marked
    body: str                     # Markdown, N_ marked; the figures follow it
    page: str | None              # where to explore the idea further (a page file), or None
    cites: tuple[str, ...]        # SOURCES keys


SCREENS = (
    Screen("rnn", N_("1. What a recurrent network is"), N_(
        "A recurrent network reads a **sequence** $x_1, x_2, \\dots$ one element at a time and keeps a **hidden "
        "state** $s_t$, its memory of what it has read so far. At every step the new input and the old state are "
        "mixed by the **same** weights: $U$ for the input, $W$ for the state, $V$ for the output $o_t$. Sharing "
        "them is what lets one small network read a sequence of any length. The post takes this notation from "
        "the aikorea.org tutorial; this app writes the same cell with names that say what each matrix touches."),
        "pages/1_Hidden_states.py", ("post", "aikorea")),
    Screen("example", N_("2. The example: MNIST read row by row"), N_(
        "The post follows the RNN example of O'Reilly's *Learning TensorFlow*. A 28 × 28 digit becomes a "
        "sequence: each of its **28 rows** (28 pixels) is one time step. A batch of 128 digits is transposed to "
        "time-major order so that `tf.scan` can apply one `rnn_step` per row, gathering all 28 states; a linear "
        "layer is applied to every state, and only the last one, after row 28, is read out as the answer. "
        "The numbers below are the settings of the run of that recipe that ships with this app."),
        "pages/4_Train.py", ("post", "book")),
    Screen("code", N_("3. The same network in PyTorch"), N_(
        "Left, the TensorFlow calls the post walks through: placeholders for the batch, `tf.scan` over the rows, "
        "then the same network with the built-in `BasicRNNCell` and `dynamic_rnn`. Right, this app's network "
        "written out for this page in PyTorch, line for line. The right-hand code is not a sketch: the tests run "
        "it with the shipped run's weights and check that it gives the model's own answers."),
        "pages/1_Hidden_states.py", ("post", "book")),
    Screen("training", N_("4. Training it as the post did"), N_(
        "RMSprop (learning rate 0.001, decay 0.9), batches of 128, 10,000 iterations, all weights starting at "
        "zero as in the post's code; the post also writes summaries of every variable (mean, standard deviation, "
        "min, max, histogram) for TensorBoard. The dots are the post's own log; the lines are the run of the "
        "same recipe that ships with this app, on the same kind of minibatch. A single batch of 128 is noisy: "
        "one digit is 0.8 points."),
        "pages/4_Train.py", ("post", "book")),
    Screen("result", N_("5. The result"), N_(
        "The post tests its network on **one batch of 128 test digits** and reports 97.66%. With so few digits the "
        "figure is uncertain by a few points either way; the run shipped here is tested on all **10,000** MNIST test "
        "digits."),
        "pages/5_Compare.py", ("post",)),
    Screen("reading", N_("6. Watching it read"), N_(
        "Here is the network of the previous screens reading one test digit. Press ▶ Play: each frame feeds one "
        "more row (left), the 128 hidden units take new values (red positive, blue negative), and the read-out "
        "applied after each row shows what the network would answer if the digit ended there."),
        "pages/1_Hidden_states.py", ("post",)),
    Screen("vanish", N_("7. The post's warning: multiplied by W_h at every step"), N_(
        "The state is multiplied by the same $W_h$ at every step, and so is the gradient that flows back to teach "
        "the early rows. If $W_h$ is \"below 1\", the influence of an early row shrinks step after step (it "
        "**vanishes**); \"above 1\", it can grow without bound (it **explodes**). What \"below 1\" means precisely "
        "is the spectral radius ρ, the largest eigenvalue modulus of $W_h$. Pick ρ and watch the gradient "
        "through the 28 rows, computed with this run's own $W_x$ on 256 real digits."),
        "pages/2_Gradient_flow.py", ("post", "bengio", "pascanu")),
    Screen("lstm", N_("8. The LSTM: a memory that is added to"), N_(
        "The post names the LSTM as the fix and leaves its structure for later. Its cell state is updated by "
        "**addition**, $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$, with gates between 0 and 1 deciding what is "
        "forgotten ($f_t$), written ($i_t$) and shown ($o_t$): a forget gate near 1 carries the memory, and its "
        "gradient, through many steps. Below: the shipped LSTM's forget gates while it reads the same digit, and "
        "the Memory page's experiment, a digit followed by blank rows: how long each network remembers it."),
        "pages/6_Memory.py", ("post", "hochreiter")),
    Screen("birnn", N_("9. Reading both ways"), N_(
        "To fill in a blank in a sentence you read what comes after it as well as before. A bidirectional RNN does "
        "that: one RNN reads the rows top to bottom, a second one bottom to top, and the answer reads both final "
        "states. Below, the shipped bidirectional RNN reading the same digit (both directions' units), and how "
        "often each shipped network is right on the 10,000 test digits."),
        "pages/5_Compare.py", ("post", "schuster")),
    Screen("draw", N_("10. Your turn: draw a digit"), N_(
        "Draw a digit with the mouse, a pen or a finger. The network of this lesson and every shipped model read "
        "it row by row, as they read MNIST, and answer."),
        "pages/3_Draw.py", ("post",)),
)


def weight_table(model) -> list[dict]:
    """The post's U, W, V beside this app's W_x, W_h, W_l (and the biases), with their shapes and
    sizes as the model holds them."""
    w = model.layer_weights(0)
    rows = [("U", "W_x", w["W_ih"]), ("W", "W_h", w["W_hh"]), ("b", "b = b_x + b_h", w["b_ih"]),
            ("V", "W_l", model.readout.weight), ("", "b_l", model.readout.bias)]
    out = [{"post": post, "app": ours, "shape": " × ".join(str(d) for d in t.shape), "numbers": t.numel()}
           for post, ours, t in rows]
    out[2]["numbers"] += w["b_hh"].numel()  # torch keeps the bias in two halves
    return out


def parse_step(raw, n: int = len(SCREENS)) -> int:
    """The screen to show, 0-based, from the URL's `?step=` (1-based, as a teacher would link it).
    Anything that is not a plain whole number (missing, text, a list, huge, negative) gives the
    first screen; a number past either end gives the nearest end."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else None
    if not isinstance(raw, str) or not (raw.strip().isascii() and raw.strip().isdigit()) or len(raw.strip()) > 6:
        return 0
    return min(max(int(raw.strip()), 1), n) - 1


def post_log_beside(history: dict) -> list[dict]:
    """For each line of the post's log, the shipped run at the same iteration: the loss and
    accuracy of its minibatch there (history index i: the batch of step i + 1, as the post logs
    the batch it trains on at iteration i) and their mean over the 100 steps up to it."""
    loss, acc = history["loss"], history["batch_acc"]
    rows = []
    for it, post_loss, post_acc in POST_LOG:
        if it >= len(loss):
            break
        lo = max(0, it - 99)
        rows.append({"iteration": it, "post_loss": post_loss, "post_acc": post_acc,
                     "run_loss": float(loss[it]), "run_acc": float(acc[it]),
                     "run_loss_mean": float(sum(loss[lo:it + 1]) / (it + 1 - lo)),
                     "run_acc_mean": float(sum(acc[lo:it + 1]) / (it + 1 - lo))})
    return rows


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k / n (the post's 125 of 128)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def post_result() -> dict:
    """The post's test figure as digits right of 128, with its 95% interval."""
    k = round(POST_TEST_ACC * POST_TEST_N)
    lo, hi = wilson(k, POST_TEST_N)
    return {"right": k, "n": POST_TEST_N, "acc": k / POST_TEST_N, "low": lo, "high": hi}


def run_result(ckpt) -> dict:
    """The shipped seed-recipe run's test figure (its last evaluation, on the full test set)."""
    last = ckpt.history["evals"][-1]
    n = int(ckpt.dataset.get("n_test") or 0)
    k = round(last["test_acc"] * n)
    lo, hi = wilson(k, n) if n else (float("nan"), float("nan"))
    return {"right": k, "n": n, "acc": last["test_acc"], "low": lo, "high": hi, "steps": last["step"],
            "seconds": ckpt.history.get("seconds")}


# --- Screen 3: the code, side by side --------------------------------------------------------
# The post's TensorFlow (1.x) calls, abridged to the lines it discusses.
TF_CODE = '''\
_inputs = tf.placeholder(tf.float32, [None, 28, 28])   # batch, time_steps, element_size
y = tf.placeholder(tf.float32, [None, 10])

def rnn_step(previous_hidden_state, x):
    return tf.tanh(tf.matmul(previous_hidden_state, Wh)
                   + tf.matmul(x, Wx) + b_rnn)

processed_input = tf.transpose(_inputs, perm=[1, 0, 2])  # time-major
all_hidden_states = tf.scan(rnn_step, processed_input,
                            initializer=tf.zeros([batch_size, 128]))
all_outputs = tf.map_fn(get_linear_layer, all_hidden_states)
output = all_outputs[-1]                                  # after row 28

# the same network with the built-in cell:
cell = tf.contrib.rnn.BasicRNNCell(128)
outputs, _ = tf.nn.dynamic_rnn(cell, _inputs, dtype=tf.float32)
last = outputs[:, -1, :]
'''

# This app's network, written out for this page; tests/test_lesson.py runs it with the shipped
# run's weights against the model itself.
TORCH_CODE = '''\
x = images.float().div(255).view(-1, 28, 28)      # batch, time_steps, element_size
# labels: a LongTensor of digits (no one-hot needed)

def rnn_step(s, x_t):
    return torch.tanh(x_t @ W_x.T + s @ W_h.T + b)

rows = x.transpose(0, 1)                          # time-major
s = torch.zeros(x.shape[0], 128)
all_states = []
for x_t in rows:                                  # tf.scan: one step per row
    s = rnn_step(s, x_t)
    all_states.append(s)
output = all_states[-1] @ W_l.T + b_l             # read out after row 28

# the same network with the built-in layer:
rnn = torch.nn.RNN(28, 128, batch_first=True)     # nonlinearity="tanh"
outputs, _ = rnn(x)
last = outputs[:, -1, :]
'''


# --- Projector mode: figure text large enough to read from the back of a room ----------------
PROJECTOR_MIN_PX = 20   # every figure font at least this (the target: 18 px)
PROJECTOR_BASE_PX = 22


def projector(spec: dict, min_px: int = PROJECTOR_MIN_PX, base_px: int = PROJECTOR_BASE_PX) -> dict:
    """A copy of a figure spec whose every font is at least `min_px` (the base font `base_px`),
    with margins grown to fit and axes set to make room for their labels. Works on any of the
    app's figures: it walks the layout, the traces and the animation frames."""
    def walk(v, in_font: bool = False):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k.endswith("font") and isinstance(x, dict):
                    x = {**walk(x, True)}
                    size = x.get("size")
                    x["size"] = max(size, min_px) if isinstance(size, (int, float)) else min_px
                    out[k] = x
                else:
                    out[k] = walk(x, in_font)
            return out
        if isinstance(v, list):
            return [walk(x, in_font) for x in v]
        return v

    out = {k: walk(v) for k, v in spec.items() if k != "layout"}
    layout = walk(spec.get("layout", {}))
    layout["font"] = {**layout.get("font", {}), "size": max(base_px, layout.get("font", {}).get("size", 0))}
    for k in list(layout):
        if k.startswith(("xaxis", "yaxis")) and isinstance(layout[k], dict):
            layout[k] = {**layout[k], "automargin": True}
    margin = dict(layout.get("margin") or {})
    layout["margin"] = {**margin, **{side: int(margin.get(side, 40) * 1.4) for side in ("l", "b", "t")}}
    if isinstance(layout.get("height"), (int, float)):
        layout["height"] = int(layout["height"] * 1.3)
    out["layout"] = layout
    return out
