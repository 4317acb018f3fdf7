"""Compare page: RNN vs LSTM (and GRU, bidirectional, your own models) side by side."""
import streamlit as st

from rnn_demo import compare, export, ui
from rnn_demo.plots import model_colors
from rnn_demo.plots import training as plots

ui.setup("Compare")
ui.figure_format_picker()
st.title("Compare models: RNN vs LSTM side by side")
st.markdown(
    "Pick two or more models. Every number below is computed from the models themselves on the same digits: "
    "how often they are right, which digits they confuse, how early in the 28 rows they know the answer, and how "
    "much of the training signal reaches the first rows."
)

available = list(ui.model_paths())
defaults = [n for n in ui.SHIPPED if n in available]
defaults += [n for n in available if n not in defaults][:max(0, 2 - len(defaults))]  # at least two when there are
names = ui.model_picker("Models to compare", key="compare_models", multi=True, defaults=tuple(defaults))
if len(names) < 2:
    st.info("Pick at least two models to compare.")
    st.stop()
colors = model_colors(names)
shown = ui.versions(names)  # what every figure below depends on (with the colours, a function of the names)

with ui.friendly_errors("The comparison"), st.spinner("Evaluating the models on the test digits…"):
    ckpts = {n: ui.load_model(n) for n in names}
    paths = ui.model_paths()
    digits, which = ui.test_set()
    results = {n: ui.evaluation(n) for n in names}

# --- the table ----------------------------------------------------------------------------
st.subheader("Accuracy, size and training time")
st.caption(f"Test accuracy measured now on {which}.")
rows = [compare.summary_row(n, ckpts[n], paths.get(n), results[n]) for n in names]
st.dataframe(rows, hide_index=True, width="stretch", key="compare_table",
             column_config={"test accuracy": st.column_config.NumberColumn(format="percent"),
                            "parameters": st.column_config.NumberColumn(format="localized"),
                            "training time (s)": st.column_config.NumberColumn(format="%.0f")})
st.download_button("This table (CSV)", lambda r=rows: export.table_csv(r), on_click="ignore",
                   key="compare_table_csv", file_name="compare-models.csv", mime="text/csv", icon=":material/download:",
                   help="The numbers unformatted: accuracies as fractions, times in seconds.")
if any(r["note"] for r in rows):
    st.caption("Models marked 'trained on digits of the test set' learned from the bundled sample, whose digits "
               "come from the MNIST test set: their accuracy here is partly on digits they have seen.")
best = max(rows, key=lambda r: r["test accuracy"])
small = min(rows, key=lambda r: r["parameters"])
st.markdown(f"**{best['model']}** is the most accurate here ({best['test accuracy']:.2%}); "
            f"**{small['model']}** is the smallest ({small['parameters']:,} parameters). An LSTM has four sets of "
            "weights per unit (input, forget and output gates and the candidate) where a plain RNN has one, so at the "
            "same width it has about four times as many parameters.")

# --- training curves ----------------------------------------------------------------------
st.subheader("Training curves")
histories = {n: ckpts[n].history for n in names if (ckpts[n].history or {}).get("loss")}
if histories:
    st.plotly_chart(ui.chart(plots.overlaid_curves, histories, colors, key=shown), width="stretch",
                    key="compare_curves", config=ui.plot_config("training-curves"))
    st.caption("Against epochs (passes over the training digits), so models trained with different batch sizes line "
               "up. Each model's test accuracy while training was measured on the test digits of its own run.")
else:
    st.info("None of these models carries a training history.")

# --- confusion and per-class --------------------------------------------------------------
st.subheader("Which digits does each model confuse?")
st.caption("Each row is a true digit; the cells say in percent how often the model answered each digit (the "
           f"diagonal is right). On {which}.")
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
st.subheader("When does it know?")
with ui.friendly_errors("The per-row probabilities"), st.spinner("Reading the sample row by row…"):
    knows = {n: ui.when_it_knows(n) for n in names}
st.plotly_chart(ui.chart(plots.when_it_knows, knows, colors, key=shown), width="stretch", key="compare_knows", config=ui.plot_config("when-it-knows"))
half = {n: next((t + 1 for t, p in enumerate(c) if p >= 0.5), None) for n, c in knows.items()}
st.caption("The read-out applied to the state after each row gives a guess before the whole digit has been read. "
           "The curve is the mean probability of the right digit over the 1,000 digits of the bundled sample. "
           "It passes 50% after row: " + ", ".join(f"{n} {t if t else 'never'}" for n, t in half.items()) + "."
           + (" A bidirectional model's backward half has already read every row, so its early guesses are not "
              "comparable." if any(ckpts[n].model_config.bidirectional for n in names) else ""))

# --- gradient through time ----------------------------------------------------------------
st.subheader("How far back does the training signal reach?")
with ui.friendly_errors("The gradient norms"), st.spinner("Backpropagating through the 28 steps…"):
    grads = {n: ui.gradient_curve(n) for n in names}
st.plotly_chart(ui.chart(plots.grad_through_time, grads, colors, key=shown), width="stretch", key="compare_grads", config=ui.plot_config("gradient-through-time"))
st.caption("||dL/ds_t||: how strongly the loss depends on the hidden state after row t, relative to the last row, "
           "median and middle half over 200 sample digits, by autograd through the unrolled network (Pascanu et al. "
           "2013). Going back one row multiplies it by about: "
           + ", ".join(f"{n} {g['factor']:.2f}" for n, g in grads.items())
           + " (below 1 it fades: the early rows learn less). See the Gradient flow page for more.")

# --- two models read the same digit -------------------------------------------------------
st.subheader("Two models read the same digit")
c1, c2, c3 = st.columns([2, 2, 3])
a = c1.selectbox("First model", names, index=0, key="compare_a")
b = c2.selectbox("Second model", names, index=1, key="compare_b")
sample = ui.sample()
number = c3.number_input(f"Digit no. of the bundled sample (1 to {len(sample):,})", 1, len(sample), 1,
                         key="compare_digit")
index = int(number) - 1  # counted from 1 on every page, as the Hidden states page does
label = int(sample.labels[int(index)])
with ui.friendly_errors("The animation"):
    pair = {a: ui.reading_trace(a, int(index))} | ({b: ui.reading_trace(b, int(index))} if b != a else {})
phone = ui.narrow()
st.plotly_chart(ui.chart(plots.two_models_reading, pair[a]["rows"], pair, label, narrow=phone,
                         key=(ui.versions(pair), int(index), phone)), width="stretch", key="compare_pair",
                config=ui.plot_config(f"{a}-{b}-reading"))
st.caption("One slider steps both models: the orange line is the row being read, the heat map the hidden state of "
           "each unit after each row so far (blue −1, red +1), the bars the model's guess at that row. "
           "Press ▶ Play. "
           + " ".join(f"{n} answers {t['prediction']}" + (f" and keeps the right answer from row {t['knows_from']}."
                                                          if t["knows_from"] else ", which is wrong.")
                      for n, t in pair.items()))

# --- anchors ------------------------------------------------------------------------------
st.subheader("Anchors: what others measured")
shipped = {}
for n in ui.SHIPPED:
    if n in paths and paths[n].parent == ui.SHIPPED_DIR:
        try:
            shipped[n] = ui.load_model(n)
        except Exception:  # one broken file must not hide the others
            continue
anchors = compare.anchor_rows(shipped)
st.dataframe(anchors, hide_index=True, width="stretch", key="compare_anchors",
             column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})
st.download_button("This table (CSV)", lambda r=anchors: export.table_csv(r), on_click="ignore",
                   key="compare_anchors_csv", file_name="anchors.csv", mime="text/csv", icon=":material/download:")
st.caption("The seed's 97.66% was measured on one batch of 128 test digits, so it carries about ±1.3 points of "
           "sampling noise; the shipped models were measured on all 10,000 test digits when they were trained. "
           + compare.PUBLISHED_NOTE)
