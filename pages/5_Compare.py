"""Compare page: RNN vs LSTM (and GRU, bidirectional, your own models) side by side."""
import streamlit as st

from rnn_demo import compare, export, ui
from rnn_demo.i18n import N_, _
from rnn_demo.plots import model_colors
from rnn_demo.plots import training as plots

ui.setup(N_("Compare"))
ui.figure_format_picker()
st.title(_("Compare models: RNN vs LSTM side by side"))
st.markdown(_(
    "Pick two or more models. Every number below is computed from the models themselves on the same digits: "
    "how often they are right, which digits they confuse, how early in the 28 rows they know the answer, and how "
    "much of the training signal reaches the first rows."
))
# The tables' columns (compare.summary_row, compare.anchor_rows): keys stay English (the CSV
# downloads and the code use them); the headings are shown in the session's language.
COLUMNS = (N_("model"), N_("architecture"), N_("test accuracy"), N_("test digits"), N_("parameters"),
           N_("training time (s)"), N_("steps"), N_("size (KB)"), N_("trained on"), N_("note"), N_("training"),
           N_("source"))


def headed(rows: list[dict]) -> list[dict]:
    """The rows with their column names in the session's language, for display."""
    return [{_(k): v for k, v in r.items()} for r in rows]


available = list(ui.model_paths())
defaults = [n for n in ui.SHIPPED if n in available]
defaults += [n for n in available if n not in defaults][:max(0, 2 - len(defaults))]  # at least two when there are
names = ui.model_picker(_("Models to compare"), key="compare_models", multi=True, defaults=tuple(defaults))
if len(names) < 2:
    st.info(_("Pick at least two models to compare."))
    st.stop()
colors = model_colors(names)
shown = ui.versions(names)  # what every figure below depends on (with the colours, a function of the names)

with ui.friendly_errors(_("The comparison could not be shown")), st.spinner(_("Evaluating the models on the test digits…")):
    ckpts = {n: ui.load_model(n) for n in names}
    paths = ui.model_paths()
    digits, which = ui.test_set()
    results = {n: ui.evaluation(n) for n in names}

# --- the table ----------------------------------------------------------------------------
st.subheader(_("Accuracy, size and training time"))
st.caption(_("Test accuracy measured now on {which}.", which=which))
rows = [compare.summary_row(n, ckpts[n], paths.get(n), results[n]) for n in names]
st.dataframe(headed(rows), hide_index=True, width="stretch", key="compare_table",
             column_config={_("test accuracy"): st.column_config.NumberColumn(format="percent"),
                            _("parameters"): st.column_config.NumberColumn(format="localized"),
                            _("training time (s)"): st.column_config.NumberColumn(format="%.0f")})
st.download_button(_("This table (CSV)"), lambda r=rows: export.table_csv(r), on_click="ignore",
                   key="compare_table_csv", file_name="compare-models.csv", mime="text/csv", icon=":material/download:",
                   help=_("The numbers unformatted: accuracies as fractions, times in seconds."))
if any(r["note"] for r in rows):
    st.caption(_("Models marked 'trained on digits of the test set' learned from the bundled sample, whose digits "
                 "come from the MNIST test set: their accuracy here is partly on digits they have seen."))
best = max(rows, key=lambda r: r["test accuracy"])
small = min(rows, key=lambda r: r["parameters"])
st.markdown(_("**{best}** is the most accurate here ({acc:.2%}); **{small}** is the smallest ({params:,} parameters). "
              "An LSTM has four sets of weights per unit (input, forget and output gates and the candidate) where a "
              "plain RNN has one, so at the same width it has about four times as many parameters.",
              best=ui.plain(best["model"]), acc=best["test accuracy"], small=ui.plain(small["model"]),
              params=small["parameters"]))

# --- training curves ----------------------------------------------------------------------
st.subheader(_("Training curves"))
histories = {n: ckpts[n].history for n in names if (ckpts[n].history or {}).get("loss")}
if histories:
    st.plotly_chart(ui.chart(plots.overlaid_curves, histories, colors, key=shown), width="stretch",
                    key="compare_curves", config=ui.plot_config("training-curves"))
    st.caption(_("Against epochs (passes over the training digits), so models trained with different batch sizes "
                 "line up. Each model's test accuracy while training was measured on the test digits of its own run."))
else:
    st.info(_("None of these models carries a training history."))

# --- confusion and per-class --------------------------------------------------------------
st.subheader(_("Which digits does each model confuse?"))
st.caption(_("Each row is a true digit; the cells say in percent how often the model answered each digit (the "
             "diagonal is right). On {which}.", which=which))
per_row = 4
for start in range(0, len(names), per_row):
    cols = st.columns(per_row)
    for col, n in zip(cols, names[start:start + per_row]):
        col.plotly_chart(ui.chart(plots.confusion_matrix, results[n]["confusion"], title=n,
                                  key=(n, *ui.model_version(n))), width="stretch",
                         key=f"compare_cm_{n}", config=ui.plot_config(f"{n}-confusion"))
st.plotly_chart(ui.chart(plots.per_class_accuracy, {n: results[n]["per_class"] for n in names}, colors, key=shown),
                width="stretch", key="compare_per_class", config=ui.plot_config("per-class-accuracy"))

# --- when does it know --------------------------------------------------------------------
st.subheader(_("When does it know?"))
with ui.friendly_errors(_("The per-row probabilities could not be shown")), st.spinner(_("Reading the sample row by row…")):
    knows = {n: ui.when_it_knows(n) for n in names}
st.plotly_chart(ui.chart(plots.when_it_knows, knows, colors, key=shown), width="stretch", key="compare_knows", config=ui.plot_config("when-it-knows"))
half = {n: next((t + 1 for t, p in enumerate(c) if p >= 0.5), None) for n, c in knows.items()}
st.caption(ui.plain(_("The read-out applied to the state after each row gives a guess before the whole digit has been "
                      "read. The curve is the mean probability of the right digit over the 1,000 digits of the bundled "
                      "sample. It passes 50% after row: {rows}.",
                      rows=", ".join(f"{n} {t if t else _('never')}" for n, t in half.items())))
           + (" " + _("A bidirectional model's backward half has already read every row, so its early guesses are not "
                      "comparable.") if any(ckpts[n].model_config.bidirectional for n in names) else ""))

# --- gradient through time ----------------------------------------------------------------
st.subheader(_("How far back does the training signal reach?"))
with ui.friendly_errors(_("The gradient norms could not be shown")), st.spinner(_("Backpropagating through the 28 steps…")):
    grads = {n: ui.gradient_curve(n) for n in names}
st.plotly_chart(ui.chart(plots.grad_through_time, grads, colors, key=shown), width="stretch", key="compare_grads", config=ui.plot_config("gradient-through-time"))
st.caption(ui.plain(_("||dL/ds_t||: how strongly the loss depends on the hidden state after row t, relative to the last "
                      "row, median and middle half over 200 sample digits, by autograd through the unrolled network "
                      "(Pascanu et al. 2013). Going back one row multiplies it by about: {factors} (below 1 it fades: "
                      "the early rows learn less). See the Gradient flow page for more.",
                      factors=", ".join(f"{n} {g['factor']:.2f}" for n, g in grads.items()))))

# --- two models read the same digit -------------------------------------------------------
st.subheader(_("Two models read the same digit"))
c1, c2, c3 = st.columns([2, 2, 3])
a = c1.selectbox(_("First model"), names, index=0, key="compare_a")
b = c2.selectbox(_("Second model"), names, index=1, key="compare_b")
sample = ui.sample()
number = c3.number_input(_("Digit no. of the bundled sample (1 to {n:,})", n=len(sample)), 1, len(sample), 1,
                         key="compare_digit")
index = int(number) - 1  # counted from 1 on every page, as the Hidden states page does
label = int(sample.labels[int(index)])
with ui.friendly_errors(_("The animation could not be shown")):
    pair = {a: ui.reading_trace(a, int(index))} | ({b: ui.reading_trace(b, int(index))} if b != a else {})
phone = ui.narrow()
st.plotly_chart(ui.chart(plots.two_models_reading, pair[a]["rows"], pair, label, narrow=phone,
                         key=(ui.versions(pair), int(index), phone)), width="stretch", key="compare_pair",
                config=ui.plot_config(f"{a}-{b}-reading"))
st.caption(_("One slider steps both models: the orange line is the row being read, the heat map the hidden state of "
             "each unit after each row so far (blue −1, red +1), the bars the model's guess at that row. "
             "Press ▶ Play.") + " "
           + ui.plain(" ".join(_("{model} answers {digit} and keeps the right answer from row {row}.", model=n,
                                 digit=t["prediction"], row=t["knows_from"]) if t["knows_from"] else
                               _("{model} answers {digit}, which is wrong.", model=n, digit=t["prediction"])
                               for n, t in pair.items())))

# --- anchors ------------------------------------------------------------------------------
st.subheader(_("Anchors: what others measured"))
shipped = {}
for n in ui.SHIPPED:
    if n in paths and paths[n].parent == ui.SHIPPED_DIR:
        try:
            shipped[n] = ui.load_model(n)
        except Exception:  # one broken file must not hide the others
            continue
anchors = compare.anchor_rows(shipped)
st.dataframe(headed(anchors), hide_index=True, width="stretch", key="compare_anchors",
             column_config={_("test accuracy"): st.column_config.NumberColumn(format="percent")})
st.download_button(_("This table (CSV)"), lambda r=anchors: export.table_csv(r), on_click="ignore",
                   key="compare_anchors_csv", file_name="anchors.csv", mime="text/csv", icon=":material/download:")
st.caption(_("The seed's 97.66% was measured on one batch of 128 test digits, so it carries about ±1.3 points of "
             "sampling noise; the shipped models were measured on all 10,000 test digits when they were trained.")
           + " " + _(compare.PUBLISHED_NOTE))
