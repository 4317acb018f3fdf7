"""Train page: pick an architecture and a recipe, train in the background, watch the curves live."""
import streamlit as st

from rnn_demo import data, export, jobs, tblog, ui
from rnn_demo.checkpoints import CheckpointError
from rnn_demo.i18n import N_, _
from rnn_demo.model import ModelConfig
from rnn_demo.plots import training as plots
from rnn_demo.train import TrainConfig

ui.setup(N_("Train"))
ui.figure_format_picker()
st.title(_("Train a recurrent network"))
st.markdown(_(
    "Choose an architecture and a training recipe, press **Start training**, and watch the loss fall and the "
    "accuracy rise while the network learns to read digits row by row. Training runs on the server in the "
    "background: you can open other pages meanwhile. The result is saved under the name you give it and appears "
    "in every page's model list."
))

# Widget defaults, and the two presets: the seed's recipe, and a quick run for a first look: the
# seed's RNN 128 for 5,000 small steps, about half a minute, long enough to watch the curves and
# press Stop (on the bundled sample 100 passes, about 89% on the held-out digits; on the full
# MNIST 1.3 passes).
QUICK = {"cell": "rnn", "bidir": False, "hidden": 128, "layers": 1, "optimizer": "adam", "lr": 0.003,
         "batch": 16, "length": "iterations", "epochs": 5.0, "iterations": 5000, "clip": 1.0, "init": "orthogonal",
         "schedule": "onecycle", "seed": 0}
SEED = {"cell": "rnn", "bidir": False, "hidden": 128, "layers": 1, "optimizer": "rmsprop", "lr": 0.001,
        "batch": 128, "length": "iterations", "epochs": 5.0, "iterations": 10_000, "clip": 0.0, "init": "zeros",
        "schedule": "constant", "seed": 0}
for k, v in QUICK.items():
    st.session_state.setdefault(f"train_{k}", v)


def apply(preset: dict) -> None:
    for k, v in preset.items():
        st.session_state[f"train_{k}"] = v


manager = ui.job_manager()
me = ui.session_id()
mine = manager.get(st.session_state.get("train_job"))
if mine is None:  # a reloaded tab is a new session: the run's token in the URL finds its run again
    mine = manager.find(st.query_params.get("run"))
    if mine is not None:
        if not mine.finished_ok:
            mine.adopt(me, ui.session_alive(me))
        st.session_state["train_job"] = mine.id
running = manager.current()

# --- controls -----------------------------------------------------------------------------
# On a phone the sidebar is folded away: the recipe sits at the top of the page instead.
phone = ui.narrow()
with (st.expander(_("Recipe: the network and its training"), expanded=True) if phone else st.sidebar):
    if not phone:  # the expander says it already
        st.header(_("Recipe"))
    c1, c2 = st.columns(2)
    c1.button(_("Seed recipe"), key="train_preset_seed", on_click=apply, args=(SEED,), width="stretch",
              help=_("The blog's recipe: tanh RNN 128, RMSprop lr 0.001, batch 128, 10,000 iterations, "
                     "zero initial biases, no clipping. On the bundled sample that is 1,600 passes over 800 digits "
                     "(a few minutes); lower the iterations for a quick look."))
    c2.button(_("Quick start"), key="train_preset_quick", on_click=apply, args=(QUICK,), width="stretch",
              help=_("The seed's RNN 128 on the bundled sample: about half a minute, long enough to watch the "
                     "curves and to press Stop."))
    st.subheader(_("Network"))
    cell = st.selectbox(_("Cell"), ["rnn", "lstm", "gru"], key="train_cell",
                        format_func={"rnn": _("RNN (tanh), as the seed"), "lstm": "LSTM", "gru": "GRU"}.get)
    bidir = st.checkbox(_("Bidirectional (also read the rows bottom-up)"), key="train_bidir")
    hidden = st.select_slider(_("Hidden units per direction"), [8, 16, 32, 64, 128, 256], key="train_hidden")
    layers = st.radio(_("Layers"), [1, 2], horizontal=True, key="train_layers")
    st.subheader(_("Optimisation"))
    optimizer = st.selectbox(_("Optimizer"), ["rmsprop", "adam", "sgd"], key="train_optimizer",
                             format_func={"rmsprop": _("RMSprop (the seed)"), "adam": "Adam",
                                          "sgd": _("SGD with momentum 0.9")}.get)
    lr = st.number_input(_("Learning rate"), min_value=1e-5, max_value=1.0, step=1e-4, format="%.5f", key="train_lr")
    schedule = st.selectbox(_("Learning-rate schedule"), ["constant", "onecycle"], key="train_schedule",
                            format_func={"constant": _("constant (the seed)"),
                                         "onecycle": _("one-cycle warm-up and decay")}.get)
    batch = st.select_slider(_("Batch size"), [16, 32, 64, 128, 256, 512], key="train_batch")
    length = st.radio(_("Train for"), ["epochs", "iterations"], horizontal=True, key="train_length",
                      format_func={"epochs": _("epochs"), "iterations": _("iterations")}.get,
                      help=_("An epoch is one pass over the training digits; an iteration is one batch."))
    if length == "epochs":
        epochs = st.number_input(_("Epochs"), min_value=0.1, max_value=200.0, step=1.0, key="train_epochs")
        iterations = 0
    else:
        iterations = st.number_input(_("Iterations"), min_value=1, max_value=100_000, step=100, key="train_iterations")
        epochs = 0.0
    clip = st.number_input(_("Clip the gradient norm at (0 = no clipping)"), min_value=0.0, max_value=100.0, step=0.5,
                           key="train_clip")
    init = st.selectbox(_("Initialisation"), ["zeros", "default", "orthogonal"], key="train_init",
                        format_func={"zeros": _("zero biases (the seed)"), "default": _("torch default"),
                                     "orthogonal": _("orthogonal W_h")}.get)
    seed = st.number_input(_("Random seed"), min_value=0, max_value=2**31 - 1, step=1, key="train_seed")
    tensorboard = st.checkbox(_("Write TensorBoard logs"), value=True, key="train_tensorboard",
                              help=_("Loss, accuracy, learning rate, gradient norm and every weight's summaries, as "
                                     "the seed logged them, into runs/<name>/ beside your models; downloadable below."))

st.subheader(_("1. Data and name"))
have_mnist = data.mnist_available()
c1, c2 = st.columns([3, 2])
with c1:
    which = st.radio(_("Train on"), ["sample", "mnist"], key="train_data", horizontal=True,
                     format_func={"sample": _("the bundled sample (1,000 digits, seconds, offline)"),
                                  "mnist": _("the full MNIST (60,000 digits)")}.get)
    if which == "sample":
        st.caption(_("The sample's first 800 digits train the model and the last {n} test it, so the test accuracy "
                     "is on digits it never saw. 800 digits are few: expect 60 to 90%, not the 98% of the shipped "
                     "models.", n=jobs.SAMPLE_TEST))
    if not have_mnist:
        st.info(_("The full MNIST is not on this machine. To train on it, download MNIST in torchvision's layout "
                  "(a folder holding MNIST/raw/*-ubyte), set the environment variable {var} to that folder, and "
                  "restart the app.", var=data.ENV_VAR))
with c2:
    name = st.text_input(_("Save the model as"), key="train_name", max_chars=jobs.MAX_NAME,
                         placeholder=_("e.g. my-lstm (letters, digits, - and _)"),
                         help=_("Models are never replaced: a name that is taken is refused. Leave it empty for "
                                "a free name such as rnn-64-2."))

try:
    model_cfg = ModelConfig(cell=cell, hidden_size=int(hidden), num_layers=int(layers), bidirectional=bool(bidir))
    train_cfg = TrainConfig(optimizer=optimizer, lr=float(lr), batch_size=int(batch), epochs=float(epochs),
                            iterations=int(iterations), clip=float(clip), init=init, schedule=schedule,
                            seed=int(seed))
    n_train = len(ui.sample()) - jobs.SAMPLE_TEST if which == "sample" else 60_000
    train_cfg = jobs.config_for(which, train_cfg, n_train)
    train_cfg.check_length(n_train)
    config_error = None
except ValueError as exc:
    config_error = str(exc)
    st.error(_("This recipe cannot run: {why}.", why=ui.plain(exc)))

if config_error is None:
    steps = train_cfg.total_steps(n_train)
    st.markdown(_("**{arch}**, {optimizer} at learning rate {lr:g}, batch {batch}: **{steps:,} steps** "
                  "({passes:.1f} passes over {n:,} digits).", arch=model_cfg.label, optimizer=optimizer, lr=lr,
                  batch=batch, steps=steps, passes=steps * batch / n_train, n=n_train))
    if which == "mnist" and not have_mnist:
        st.warning(_("Choose the bundled sample, or make the full MNIST available as described above."))

remote = None if running is not None else jobs.elsewhere(ui.USER_DIR)  # a run on another replica
if remote is not None:
    st.warning(ui.plain(jobs.busy_message(remote, _("someone on another server"))))
busy = running is not None or remote is not None
if running is not None and running.owner != me:
    snap = running.snapshot()
    st.warning(ui.plain(_("Someone else is training '{name}' ({model}) on this server, step {step} of {total}. Only "
                          "one training runs at a time: wait for it to finish (about {eta}).", name=snap["name"],
                          model=snap["model"], step=format(snap["step"], ","), total=format(snap["total"], ",") if snap["total"] else "?",
                          eta=jobs.format_seconds(snap["eta_s"]))))
start = st.button(_("Start training"), type="primary", key="train_start",
                  disabled=busy or config_error is not None or (which == "mnist" and not have_mnist))
if start:
    try:  # no name given: the first free one of rnn-64, rnn-64-2, ...
        job = manager.start(name.strip() or f"{'bi' if bidir else ''}{cell}-{hidden}", model_cfg, train_cfg,
                            which, ui.USER_DIR, owner=me, alive=ui.session_alive(me), shipped=ui.shipped_names(),
                            free_name=not name.strip(), runs_dir=ui.runs_dir() if tensorboard else None)
        st.session_state["train_job"] = job.id
        st.query_params["run"] = job.token
        mine = job
    except jobs.JobError as exc:
        st.error(ui.plain(exc))


# --- live progress ------------------------------------------------------------------------


def show_progress(job: jobs.Job, owner: bool) -> dict:
    ui.keep_language()  # a fragment's own rerun skips ui.setup
    if owner:
        job.touch()  # the heartbeat: a run nobody watches stops itself
    s = job.snapshot()
    total = s["total"] or 0
    frac = s["step"] / total if total else 0.0
    if s["status"] in ("queued", "loading"):
        text = _("Loading the digits…")
    elif s["finished"]:
        text = jobs.finished_line(s)
    else:
        text = _("step {step:,} of {total:,} · {time} so far · about {eta} left", step=s["step"], total=total,
                 time=jobs.format_seconds(s["train_s"]), eta=jobs.format_seconds(s["eta_s"]))
    st.progress(min(1.0, frac), text=text)
    if owner and not s["finished"]:
        if st.button(_("Stop"), key="train_stop", help=_("Stop after this step; what was learned is kept and saved.")):
            job.stop(_("Stopped by you"))
            st.toast(_("Stopping after the current step…"))
    ev = [e for e in s["evals"] if e.get("test_acc") is not None]
    if s["loss"]:
        last = _("loss {loss:.3f}", loss=s["loss"][-1])
        if ev:
            last = _("loss {loss:.3f} · test accuracy {acc:.1%} (after step {step})", loss=s["loss"][-1],
                     acc=ev[-1]["test_acc"], step=ev[-1]["step"])
        st.caption(last)
    st.plotly_chart(plots.training_curves(s["loss"], s["batch_acc"], s["evals"], total), width="stretch",
                    key="train_curves", config=ui.plot_config("training-curves"))
    st.plotly_chart(plots.grad_norm_steps(s["grad_norm"], s["clip"], total), width="stretch",
                    key="train_grad", config=ui.plot_config("gradient-norm"))
    return s


job = mine if mine is not None else running
if job is not None:
    st.subheader(ui.plain(_("2. Training your model: '{name}'", name=job.name) if job.owner == me
                          else _("2. Training (someone else's run): '{name}'", name=job.name)))
    st.caption(_("The loss is the cross-entropy of each batch. The gradient norm is measured before clipping: spikes "
                 "above the red line were scaled down to it.") if job.train_config.clip > 0 else
               _("The loss is the cross-entropy of each batch. The gradient norm is measured before clipping; this "
                 "recipe does not clip it."))
    live = not job.finished_ok

    @st.fragment(run_every=2.0 if live else None)
    def progress_panel():
        s = show_progress(job, owner=job.owner == me)
        if live and s["finished"]:
            st.rerun()  # the whole page: the new model appears in the lists below

    progress_panel()
    s = job.snapshot()
    if s["finished"]:
        saved = " " + _("Saved as {name}.", name=s["name"]) if s["saved"] else ""
        if s["status"] == "done" and s["saved"]:
            st.success(ui.plain(_("Done. Saved as {name}: test accuracy {acc:.1%}. Pick it on any page.",
                                  name=s["name"], acc=s["metrics"].get("test_acc") or 0)))
            if s["message"]:  # e.g. the TensorBoard logs could not be written (the model is saved)
                st.warning(ui.plain(s["message"]))
        elif s["status"] in ("done", "stopped"):
            st.warning(ui.plain(s["message"] + saved))
        else:
            st.error(ui.plain(s["message"] + saved))
        if s["unsaved"] and job.owner == me:
            unsaved_file = s["name"] + ".pt"
            st.download_button(_("Download {file} (not saved on the server)", file=unsaved_file), job.unsaved,
                               file_name=f"{s['name']}.pt", mime="application/octet-stream", key="train_unsaved")
        if s["saved"] and job.owner == me and st.session_state.get("train_announced") != job.id:
            st.session_state["train_announced"] = job.id  # show the new model's weights, once
            st.session_state["train_show"] = s["name"]

# --- results: weight summaries, download, upload -------------------------------------------
st.subheader(_("{n}. Weights during training", n=2 if job is None else 3))
st.markdown(_(
    "As the seed kept them in TensorBoard: for every parameter (W_x reads the row, W_h carries the state, b is "
    "the bias, W_l and b_l are the read-out) the mean, the spread (± one standard deviation), the smallest and "
    "the largest value, recorded at the start and after every epoch."
))
names = list(ui.model_paths())
if not names:
    st.info(_("No models yet: train one above."))
    st.stop()
if "train_show_next" in st.session_state:
    st.session_state["train_show"] = st.session_state.pop("train_show_next")
if st.session_state.get("train_show") not in names:
    st.session_state.pop("train_show", None)
chosen = st.selectbox(_("Model"), names, key="train_show")
with ui.friendly_errors(_("This model could not be shown")):
    ckpt = ui.load_model(chosen)
summaries = (ckpt.history or {}).get("param_summaries") or []
if summaries:
    st.plotly_chart(ui.chart(plots.weight_summaries, summaries, key=(ui.model_version(chosen),)), width="stretch",
                    key="train_summaries", config=ui.plot_config(f"{chosen}-weights"))
    params = list(summaries[0]["params"])
    param_names = {n: plots.param_label(n) for n in params}  # named now: a format_func may be called later
    p = st.selectbox(_("Histogram of"), params, format_func=param_names.get, key="train_hist_param",
                     index=params.index(next((n for n in params if "weight_hh" in n), params[0])))
    st.plotly_chart(ui.chart(plots.weight_histogram_animation, summaries, p, key=(ui.model_version(chosen), p)),
                    width="stretch", key="train_hist", config=ui.plot_config(f"{chosen}-histogram"))
    st.caption(_("Press ▶ Play to watch the distribution of this parameter's values change epoch by epoch."))
else:
    st.info(ui.plain(_("{model} carries no weight summaries.", model=chosen)))
run = ui.run_dir(ui.model_paths()[chosen].stem)
if ui.model_paths()[chosen].parent == ui.USER_DIR and tblog.event_files(run):
    st.download_button(_("TensorBoard logs of {model} (zip)", model=chosen), on_click="ignore", key="train_tb_zip",
                       data=lambda r=run: export.zip_folder(r, tblog.EVENTS_GLOB), mime="application/zip",
                       file_name=f"{run.name}-tensorboard.zip", icon=":material/download:")
    st.caption(_("The same curves and weight summaries in TensorBoard: unzip, then `tensorboard --logdir {folder}` "
                 "(`pip install tensorboard`).", folder=run.name))

c1, c2 = st.columns(2)
with c1:
    st.markdown(_("**Download** a checkpoint (weights, settings and training history in one file)."))
    chosen_file = chosen + ".pt"
    st.download_button(_("Download {file}", file=chosen_file), ui.model_bytes(chosen), file_name=f"{chosen.split(' ')[0]}.pt",
                       mime="application/octet-stream", key="train_download")
with c2:
    up = st.file_uploader(_("**Load** a checkpoint made by this app"), type=["pt"], key="train_upload")
    # Each uploaded file is checked once: its outcome is kept under its file id for the reruns.
    outcome = st.session_state.setdefault("train_uploads", {})
    if up is not None and up.file_id not in outcome:
        try:
            saved = jobs.import_checkpoint(up.getvalue(), up.name, ui.USER_DIR, shipped=ui.shipped_names())
            outcome[up.file_id] = ("ok", _("Loaded {model}: it is now in every page's model list.", model=saved.stem)
                                   if saved.stem == jobs.upload_name(up.name) else
                                   _("Loaded {model} (its own name was taken, and models are never replaced): it is "
                                     "now in every page's model list.", model=saved.stem))
            st.session_state["train_show_next"] = saved.stem  # shown after the rerun below
            st.rerun()
        except (CheckpointError, jobs.JobError) as exc:
            outcome[up.file_id] = ("refused", _("That file was not loaded. {why}", why=exc))
    if up is not None:
        kind, message = outcome[up.file_id]
        (st.success if kind == "ok" else st.error)(ui.plain(message))
