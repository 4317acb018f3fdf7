# RNN Explorer: the app with its shipped models and bundled sample, CPU-only torch, non-root.
#   docker build -t rnn-explorer .   (then see compose.yaml and deploy/README.md)
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    RNN_DEMO_USER_MODELS=/shared/user_models

# A Korean font for the one picture the server paints itself, the Hidden states GIF with its titles
# (rnn_demo/export.py looks for it); the pages and their figures are drawn by the learner's browser.
# Debian's current fonts-nanum whatever its version (a font, not code; hadolint's DL3008 pins versions).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-nanum \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 app \
    && mkdir -p /shared/user_models /shared/runs /shared/training_queue \
    && chown app:app /shared/user_models /shared/runs /shared/training_queue

WORKDIR /app
COPY requirements.txt .
# CPU wheels of torch first (a few hundred MB, not the CUDA build's several GB), then the rest.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1 \
    && pip install -r requirements.txt

COPY --chown=app:app app.py ./
COPY --chown=app:app .streamlit .streamlit
COPY --chown=app:app pages pages
COPY --chown=app:app rnn_demo rnn_demo
COPY --chown=app:app models models

USER 10001
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
# Inside its container the app listens on every interface; compose.yaml keeps it on an internal
# network that only nginx reaches.
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
