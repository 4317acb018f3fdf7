"""The container files are checked without a Docker daemon: hadolint lints the Dockerfile,
docker-compose (Debian's, installed by .ci/run) parses compose.yaml, and nginx parses the
filled-in template (tests/test_replicas.py runs the whole layout for real, without containers)."""
import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not found; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return found


def test_the_dockerfile_passes_hadolint():
    out = subprocess.run([tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_compose_is_valid_and_demands_one_cookie_secret():
    compose = tool("docker-compose")
    env = dict(os.environ, RNN_COOKIE_SECRET="s3cret")
    ok = subprocess.run([compose, "-f", "compose.yaml", "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "internal: true" in ok.stdout and "STREAMLIT_SERVER_COOKIE_SECRET: s3cret" in ok.stdout
    assert "8080:80" in ok.stdout or "published: 8080" in ok.stdout  # only nginx is published
    env.pop("RNN_COOKIE_SECRET")
    missing = subprocess.run([compose, "-f", "compose.yaml", "config", "-q"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "set RNN_COOKIE_SECRET" in missing.stderr


def test_compose_runs_a_queue_and_workers_that_share_the_apps_folders():
    import yaml
    compose = tool("docker-compose")
    env = dict(os.environ, RNN_COOKIE_SECRET="s3cret")
    out = subprocess.run([compose, "-f", "compose.yaml", "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    app, worker, redis = services["app"], services["worker"], services["redis"]
    assert worker["command"] == ["python", "-m", "rnn_demo.worker"] and worker["image"] == app["image"]
    assert app["environment"]["RNN_DEMO_QUEUE"] == worker["environment"]["RNN_DEMO_QUEUE"] == "redis://redis:6379/0"
    assert app["environment"]["RNN_DEMO_WORKERS"] == "0"  # replicas serve, the worker service trains
    # the models, the TensorBoard logs and the runs' records: the same volumes, at the same paths
    assert sorted(worker["volumes"]) == sorted(app["volumes"]) and len(app["volumes"]) == 3
    assert any("/shared/training_queue" in str(v) for v in app["volumes"])
    assert "--appendonly" in redis["command"] and redis["networks"] == {"internal": None}
    assert "ports" not in worker and "ports" not in redis  # only nginx is published


def test_the_dockerfile_readme_and_requirements_name_one_torch_version():
    """The Dockerfile installs the torch and torchvision the README calls tested, which are the
    requirements' upper bounds; the README's first install command is the CPU build."""
    import re
    docker = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    reqs = (ROOT / "requirements.txt").read_text()
    torch = re.search(r"torch==([\d.]+)", docker).group(1)
    vision = re.search(r"torchvision==([\d.]+)", docker).group(1)
    assert f"torch {torch} and torchvision {vision} are the" in readme.replace("\n", " ")
    assert f"torch>=2.3,<={torch}" in reqs and f"<={vision}" in reqs
    run_it = readme[readme.index("## Run it"):]
    first_pip = next(line for line in run_it.splitlines() if line.strip().startswith("pip install"))
    assert "whl/cpu" in first_pip and f"torch=={torch}" in first_pip
