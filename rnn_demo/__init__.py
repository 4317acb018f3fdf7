"""rnn_demo: a recurrent network reading MNIST one row per time step, made visible.

The library behind the Streamlit pages; nothing here imports streamlit except the `ui` package.
In a notebook: `from rnn_demo import load, trace` (rnn_demo/notebook.py).
"""
_NOTEBOOK = ("load", "trace", "sample")


def __getattr__(name: str):
    # Imported on first use, so `import rnn_demo.data` does not pay for the notebook helpers.
    if name in _NOTEBOOK:
        from rnn_demo import notebook
        return getattr(notebook, name)
    raise AttributeError(f"module 'rnn_demo' has no attribute {name!r}")


__all__ = list(_NOTEBOOK)
