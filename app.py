"""The app: a home page (what a recurrent network is, the shipped models, where to go next)
and the navigation to the pages in pages/."""
from pathlib import Path

import streamlit as st

from rnn_demo import ui
from rnn_demo.i18n import N_, _


def home() -> None:
    ui.setup(N_("Home"))
    st.title(_("RNN Explorer: watch a recurrent network read a digit"))
    st.markdown(_(
        "A recurrent neural network reads an MNIST digit **one row at a time**: 28 rows of 28 pixels, "
        "so 28 time steps. At every step it mixes the new row $x_t$ into its memory, the hidden state "
        "$s_t$ (starting from $s_0 = 0$), using the **same weights** at every step:"
    ))
    st.latex(r"s_t = \tanh\left(W_x\,x_t + W_h\,s_{t-1} + b\right)")
    st.markdown(_(
        "After the last row, a linear read-out turns the final state into ten scores, one per digit: "
        r"$o = W_l\,s_{28} + b_l$, and softmax makes them probabilities. "
        "Because $s_t$ is multiplied by $W_h$ again and again, the gradient that teaches early rows "
        "shrinks or grows step after step (it *vanishes* or *explodes*); the LSTM and GRU add gates and "
        "an additive memory to keep it alive. Every picture in this app is computed from the models' real numbers."
    ))

    row = [_("row {t}", t=t) for t in (1, 2, 3, 28)]  # graphviz labels: quotes and backslashes are not in them
    unrolled = "\n".join(
        ["digraph { rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica];",
         's0 [label="s₀ = 0", shape=plaintext];',
         *[f'x{t} [label="{row[t - 1]}", shape=plaintext]; s{t} [label="s{t}"]; x{t} -> s{t} [label="W_x"];'
           for t in (1, 2, 3)],
         f'dots [label="…", shape=plaintext]; x28 [label="{row[3]}", shape=plaintext]; s28 [label="s₂₈"];',
         'x28 -> s28 [label="W_x"]; o [label="o = W_l s₂₈ + b_l → softmax", shape=box];',
         's0 -> s1 [label="W_h"]; s1 -> s2 [label="W_h"]; s2 -> s3 [label="W_h"]; s3 -> dots [label="W_h"];',
         'dots -> s28 [label="W_h"]; s28 -> o; }'])
    st.subheader(_("The network unrolled over the 28 rows"))
    st.graphviz_chart(unrolled, width="stretch")

    st.subheader(_("Explore"))
    for path, title, blurb in ui.pages():  # the link, then what it shows (a link's label never wraps)
        st.page_link(path, label=f"**{title}**")
        st.caption(blurb)

    st.subheader(_("The models"))
    # The table's columns: internal key -> heading in the session's language.
    columns = {"model": _("model"), "architecture": _("architecture"), "test accuracy": _("test accuracy"),
               "test digits": _("test digits"), "parameters": _("parameters"), "size": _("size"),
               "shipped": _("shipped")}
    rows = []
    for name, path in ui.model_paths().items():  # every listed model has passed checkpoints.load
        ckpt = ui.load_model(name)
        m = ckpt.metrics
        rows.append({"model": ui.plain(name), "architecture": ckpt.model_config.label,  # st.table reads Markdown
                     "test accuracy": f"{m['test_acc']:.2%}" if m.get("test_acc") is not None else "?",
                     "test digits": f"{ckpt.dataset['n_test']:,}" if isinstance(ckpt.dataset.get("n_test"), int) else "?", "parameters": f"{m['params']:,}",
                     "size": f"{Path(path).stat().st_size / 1024:.0f} KB",
                     "shipped": path.parent == ui.SHIPPED_DIR})
    if ui.narrow():  # a phone: the columns that fit its width
        rows = [{k: r[k] for k in ("model", "architecture", "test accuracy")} for r in rows]
    st.table([{columns[k]: v for k, v in r.items()} for r in rows])
    ui.unreadable_note()
    st.caption(_("Shipped models were trained on the 60,000 MNIST training digits and tested on the 10,000 "
                 "test digits. MNIST: LeCun, Cortes & Burges, CC BY-SA 3.0."))


ui.choose_language()  # before the navigation: its page titles are in the session's language
st.navigation([st.Page(home, title=_("Home"), default=True)]
              + [st.Page(path, title=title) for path, title, _blurb in ui.pages()]).run()
