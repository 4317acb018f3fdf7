"""rnn_demo: a recurrent network reading MNIST one row per time step, made visible.

The library behind the Streamlit pages; nothing here imports streamlit except `ui.py`.
"""
