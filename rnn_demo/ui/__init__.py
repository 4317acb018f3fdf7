"""The app's layer: the only part of rnn_demo that imports streamlit. Pages import this package
and call `ui.<name>`; each concern has its own module:

- session.py: page set-up, language, plain text, errors as messages, figure format, the pen
- models.py:  the models a page may offer (listing through rnn_demo.registry), picker, loading
- cached.py:  cached queries, one pattern: name -> version key (path, stamp) -> cached result
- serving.py: what sessions share: turns at the work, kept figures, the training-job manager
- panels.py:  the training panel shared by the Train and Memory pages

Folders (ROOT, SHIPPED_DIR, USER_DIR, SHIPPED) are rnn_demo.registry's; `ui.USER_DIR = x` (a
test's monkeypatch) sets the registry's, and `ui.GRADIENT_DIGITS = n` the cached module's.
"""
from __future__ import annotations

import sys
import types

from rnn_demo import registry
from rnn_demo.registry import shipped_names  # noqa: F401
from rnn_demo.ui import cached, models, panels, serving, session
from rnn_demo.ui.cached import (cell_walk, digit_gif, digit_gradient_curves, digit_trace, draw_attribution,  # noqa: F401
                                draw_predictions, evaluation, gradient_curve, gradient_curves, gradient_experiment,
                                memory_results, memory_user_points, memory_view, reading_trace, sample_pca, test_set,
                                training_gradient_norms, when_it_knows)
from rnn_demo.ui.models import (NO_MODELS, _load, _read, file_version, load_model, memory_user_dir,  # noqa: F401
                                model_bytes, model_paths, model_picker, model_version, readable_models, run_dir,
                                runs_dir, sample, unreadable_models, unreadable_note, versions)
from rnn_demo.ui.lesson import (lesson_arrow_keys, lesson_chart, lesson_gradient, lesson_predict,  # noqa: F401
                                lesson_run, lesson_trace, lesson_version)
from rnn_demo.ui.panels import control, learner_keys, my_run, progress_panel, progress_text, queue_note  # noqa: F401
from rnn_demo.ui.serving import _Turns, chart, job_manager, one_at_a_time, train_queue  # noqa: F401
from rnn_demo.ui.session import (DRAWN_DIGIT, drawn_digit, FIGURE_FORMAT, FIGURE_FORMATS, LANG, PAGES, choose_language,  # noqa: F401
                                 draw_pad, figure_format_picker, friendly_errors, in_language, keep_language,
                                 language_switch, narrow, pages, plain, plot_config, session_alive, session_id,
                                 setup)

# Settings that live in one module and may be changed through this package (tests do): reading
# `ui.NAME` reads the owner's, setting it sets the owner's.
_OWNERS = {"ROOT": registry, "SHIPPED_DIR": registry, "USER_DIR": registry, "SHIPPED": registry,
           "GRADIENT_DIGITS": cached, "CHARTS": serving, "_browser_language": session}
_MODULES = (session, models, cached, serving, panels)


def __getattr__(name: str):
    if name in _OWNERS:
        return getattr(_OWNERS[name], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """Setting a name re-exported here (a test's monkeypatch) sets it in its own module too, so
    the code there sees the same."""

    def __setattr__(self, name, value):
        if name in _OWNERS:
            setattr(_OWNERS[name], name, value)
            return
        here = self.__dict__.get(name)
        for module in _MODULES:
            if here is not None and module.__dict__.get(name) is here:
                setattr(module, name, value)
        super().__setattr__(name, value)

    def __delattr__(self, name):
        if name not in _OWNERS:
            super().__delattr__(name)


sys.modules[__name__].__class__ = _Package
