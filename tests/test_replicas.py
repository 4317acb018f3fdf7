"""Two app replicas behind a real nginx with the repo's config (deploy/nginx/), sharing one
folder of trained models and one training queue in a real redis-server, with two worker
processes (`python -m rnn_demo.worker`), checked through nginx as learners use them:

- a browser (its cookie) sticks to one replica, page loads and websocket alike, and different
  browsers are spread over both;
- learners on both replicas draw at once and each gets the models' own answers (bench/load.py);
- 12 learners press Start through both replicas: each sees its place in line at once, all 12
  runs are trained by the two workers and saved, and each is listed once through either replica;
- a worker killed (SIGKILL) mid-run: its run is marked failed with one sentence and saves
  nothing; the other worker trains every other run; and a replica killed mid-run loses nothing.
Each learner is a websocket session speaking Streamlit's protocol (as bench/load.py does).
"""
from __future__ import annotations

import contextlib
import json
import os
import http.client
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from tests.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ROOT, _free_port, wait_for_app

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
TEMPLATE = ROOT / "deploy" / "nginx" / "rnn-explorer.conf.template"
WARNING, SUCCESS = 2, 4  # Alert.Format


def nginx_conf(tmp: Path, listen: int, upstreams: list[int]) -> Path:
    """The repo's template filled in as the nginx image's envsubst does, in a minimal main config."""
    site = TEMPLATE.read_text().replace("${RNN_LISTEN}", f"127.0.0.1:{listen}").replace(
        "${RNN_UPSTREAMS}", " ".join(f"server 127.0.0.1:{p};" for p in upstreams)).replace(
        "/var/log/nginx/", f"{tmp}/")  # the image's log folder, here the test's own
    (tmp / "site.conf").write_text(site)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
""")
    return conf


def wait_healthy(url: str, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited")
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{what} did not become healthy")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx not found; .ci/run must install it (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    if not Path(REDIS).exists():
        if os.environ.get("CI"):
            pytest.fail("redis-server not found; .ci/run must install it (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    tmp = tmp_path_factory.mktemp("replicas")
    shared = tmp / "user_models"
    redis_port = _free_port()
    redis = subprocess.Popen([REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    env = dict(os.environ, RNN_DEMO_USER_MODELS=str(shared), RNN_DEMO_LEASE_S="3",
               RNN_DEMO_QUEUE=f"redis://127.0.0.1:{redis_port}/0", RNN_DEMO_WORKERS="0",
               STREAMLIT_SERVER_COOKIE_SECRET="one-secret-for-every-replica")
    env.pop("RNN_DEMO_DATA", None)  # the bundled sample: trainings of a few seconds
    ports = [_free_port(), _free_port()]
    apps = [subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(p),
                              "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                             cwd=ROOT, env=env, stdout=open(tmp / f"app{p}.log", "w"), stderr=subprocess.STDOUT)
            for p in ports]
    # two training workers, one process each (each in a process group of its own, to kill it whole)
    workers = [subprocess.Popen([sys.executable, "-m", "rnn_demo.worker"], cwd=ROOT,
                                env=dict(env, RNN_DEMO_WORKERS="1"), start_new_session=True,
                                stdout=open(tmp / f"worker{i}.log", "w"), stderr=subprocess.STDOUT)
               for i in range(2)]
    listen = _free_port()
    conf = nginx_conf(tmp, listen, ports)
    subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp)], check=True, capture_output=True)
    proxy = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for p, app in zip(ports, apps):
            wait_healthy(f"http://127.0.0.1:{p}", app, f"replica on port {p}")
        url = f"http://127.0.0.1:{listen}"
        wait_healthy(url, proxy, "nginx")
        yield {"url": url, "ports": ports, "apps": dict(zip(ports, apps)), "shared": shared, "listen": listen,
               "log": tmp / "access.log", "workers": workers}
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [proxy, *apps, *workers, redis]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def upstreams(log: Path, cookie: str, path: str = "/", timeout: float = 10) -> list[int]:
    """The replicas (ports) nginx sent this browser's requests for `path` to, from its access log:
    the operator's record (the answers themselves never say). A websocket is logged when it closes."""
    deadline = time.time() + timeout
    while True:
        found = [int(line.rsplit("upstream=", 1)[1].split(":")[-1]) for line in log.read_text().splitlines()
                 if f" route={cookie} " in line and f'"GET {path}' in line and "upstream=" in line]
        if found or time.time() > deadline:
            return found
        time.sleep(0.2)


def replica_of(cluster, cookie: str) -> int:
    """The port of the replica nginx sends this browser to."""
    probe = f"/_stcore/health?probe={time.monotonic_ns()}"
    req = urllib.request.Request(cluster["url"] + probe, headers={"Cookie": f"rnn_route={cookie}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert "X-Replica" not in r.headers  # which replica answered is the operator's to know
    (port,) = upstreams(cluster["log"], cookie, probe)
    return port


def cookies_per_replica(cluster) -> dict[int, str]:
    found: dict[int, str] = {}
    for i in range(200):
        found.setdefault(replica_of(cluster, f"browser-{i}"), f"browser-{i}")
        if len(found) == 2:
            return found
    pytest.fail(f"200 browsers all went to {list(found)}: nginx does not spread sessions")


class Tab:
    """One learner's browser tab through nginx: a Streamlit session over one websocket."""

    def __init__(self, url: str, cookie: str):
        self.ws = connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                          additional_headers={"Cookie": f"rnn_route={cookie}"}, max_size=None, open_timeout=60)
        self.page_hash, self.widgets, self.elements = "", {}, []

    def open(self, page: str) -> "Tab":
        self.page, self.widgets = page, {}
        return self.run()

    def run(self, **values) -> "Tab":
        """Rerun the page with widget values by key (a button: True), as a browser would send them."""
        msg = BackMsg()
        msg.rerun_script.page_name = self.page
        msg.rerun_script.page_script_hash = self.page_hash
        for key, value in values.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = self.widget_id(key)
            if value is True:  # a button press
                state.trigger_value = True
            elif isinstance(value, str):  # text boxes, and radios by their option's label
                state.string_value = value
            else:  # number boxes
                state.double_value = value
        self.ws.send(msg.SerializeToString())
        self.elements = []
        while True:
            m = ForwardMsg()
            m.ParseFromString(self.ws.recv(timeout=120))
            kind = m.WhichOneof("type")
            if kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                element = m.delta.new_element
                self.elements.append(element)
                body = getattr(element, element.WhichOneof("type"))
                if hasattr(body, "id") and body.id:
                    self.widgets[body.id.rsplit("-", 1)[-1]] = body
                self.page_hash = m.metadata.active_script_hash or self.page_hash
            if kind == "script_finished" and m.script_finished != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                return self  # (a live panel's own reruns end too, in between)

    def widget_id(self, key: str) -> str:
        return self.widgets[key].id

    def alerts(self, fmt: int) -> list[str]:
        return [e.alert.body.replace("\\", "") for e in self.elements if e.WhichOneof("type") == "alert"
                and e.alert.format == fmt]

    def errors(self) -> list[str]:
        return [e.exception.message for e in self.elements if e.WhichOneof("type") == "exception"] + \
            [e.alert.body for e in self.elements if e.WhichOneof("type") == "alert" and e.alert.format == 1]

    def close(self) -> None:
        self.ws.close()


def train_on(tab: Tab, name: str, iterations: int) -> str:
    """Press Start on the Train page with a name and `iterations` steps; returns the line under
    the progress bar the page shows at once (the place in line, or how far the run is)."""
    tab.open("Train")
    tab.run(train_length="iterations", train_iterations=iterations, train_name=name)
    tab.run(train_length="iterations", train_iterations=iterations, train_name=name, train_start=True)
    assert not tab.errors(), tab.errors()
    bars = [e.progress.text for e in tab.elements if e.WhichOneof("type") == "progress"]
    assert bars, "no progress shown after Start"
    return bars[0]


def runs(cluster) -> dict[str, dict]:
    """Every run's record in the shared folder, by model name (the latest of a name)."""
    folder = cluster["shared"].parent / "training_queue" / "runs"
    recs = []
    for p in folder.glob("*.json"):
        try:
            recs.append(json.loads(p.read_text()))
        except ValueError:  # being replaced this instant
            pass
    return {r["name"]: r for r in sorted(recs, key=lambda r: r["submitted"])}


def wait_until(check, timeout: float = 90, every: float = 1.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    pytest.fail("the cluster did not reach the expected state in time")


def test_replicas_behind_nginx(cluster):
    url = cluster["url"]
    route = cookies_per_replica(cluster)  # replica port -> a browser cookie that lands there
    a, b = cluster["ports"]

    # Sticky: every request of one browser, page loads and websockets, reaches the same replica.
    for port, cookie in route.items():
        assert {replica_of(cluster, cookie) for _ in range(5)} == {port}
        tabs = [Tab(url, cookie) for _ in range(2)]
        for t in tabs:
            t.close()
        assert wait_until(lambda: len(found := upstreams(cluster["log"], cookie, "/_stcore/stream")) == 2 and found,
                          timeout=20) == [port, port]

    # Learners on both replicas draw at once; each gets its own digit and the models' own answers.
    from bench import load
    done, out = {}, []
    run = threading.Thread(target=lambda: done.setdefault("rc", load.main(
        ["--url", url, "--sessions", "6", "--modes", "together", "--rounds", "1",
         "--access-log", str(cluster["log"])])))
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run.start()
        run.join(300)
    out = buf.getvalue()
    assert done.get("rc") == 0, out
    assert "sessions per replica" in out, out

    # 12 learners, 6 on each replica, press Start at about the same time: each sees its place in
    # line at once; the two workers train all 12 and every replica lists each model once.
    browsers: dict[int, list[str]] = {a: [], b: []}
    for i in range(300):
        port = replica_of(cluster, f"class-{i}")
        if len(browsers[port]) < 6:
            browsers[port].append(f"class-{i}")
        if min(map(len, browsers.values())) == 6:
            break
    tabs = [Tab(url, c) for port in (a, b) for c in browsers[port]]
    names = [f"class-run-{i}" for i in range(12)]
    for tab, name in zip(tabs, names):
        line = train_on(tab, name, iterations=40)
        assert line.startswith(("Place ", "Loading the digits", "step ")), line
    wait_until(lambda: all(runs(cluster).get(n, {}).get("status") == "done" for n in names), timeout=240)
    trained_by = {runs(cluster)[n]["worker"] for n in names}
    assert len(trained_by) == 2, trained_by  # both workers took runs
    for cookie in (route[a], route[b]):  # each model once in either replica's list, without a restart
        listed = list(Tab(url, cookie).open("Train").widgets["train_show"].options)
        assert all(listed.count(n) == 1 for n in names), listed
    for t in tabs:
        t.close()

    # A worker is killed mid-run: that run fails with one sentence and saves nothing; the other
    # worker trains the other runs, started through either replica.
    on_a, on_b = Tab(url, route[a]), Tab(url, route[b])
    train_on(on_a, "long-on-a", iterations=50_000)  # 1,000 epochs: the most that fits
    long = wait_until(lambda: (r := runs(cluster).get("long-on-a")) and r["status"] == "running" and r["step"] > 5 and r)
    others = [Tab(url, c) for c in (browsers[a][0], browsers[b][0], browsers[b][1])]
    for tab, name in zip(others, ("after-1", "after-2", "after-3")):
        train_on(tab, name, iterations=40)
    pid = int(long["worker"].split()[1])
    victim = next(w for w in cluster["workers"] if os.getpgid(pid) == w.pid)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(10)
    failed = wait_until(lambda: (r := runs(cluster)["long-on-a"])["status"] == "failed" and r, timeout=60)
    assert failed["message"].startswith("The worker training this run stopped (its process or machine went away)")
    wait_until(lambda: all(runs(cluster).get(n, {}).get("status") == "done" for n in ("after-1", "after-2", "after-3")),
               timeout=180)
    assert not (cluster["shared"] / "long-on-a.pt").exists() and not list(cluster["shared"].glob(".*.tmp"))
    page = on_a.open("Train")
    assert any("The worker training this run stopped" in w for w in page.errors()), page.errors()

    # Replica A is killed while a run it took is training: the run goes on (the worker is not
    # A's) and B lists the model; B's learners keep working.
    train_on(on_a, "while-a-dies", iterations=300)
    wait_until(lambda: runs(cluster).get("while-a-dies", {}).get("status") in ("loading", "running"))
    cluster["apps"][a].send_signal(signal.SIGKILL)
    cluster["apps"][a].wait(10)
    wait_until(lambda: runs(cluster)["while-a-dies"]["status"] == "done", timeout=180)
    assert "while-a-dies" in list(on_b.open("Train").widgets["train_show"].options)
    assert not on_b.open("Draw").errors()
    for t in [on_a, on_b, *others]:
        with contextlib.suppress(Exception):
            t.close()
    assert set(upstreams(cluster["log"], route[b], "/_stcore/stream")) == {b}  # B's tabs all stayed on B


HOST = "rnn.school.lan"  # a learner's machine reaches the server by a name, on nginx's port


def test_a_learner_on_another_machine_reaches_the_app_by_its_host_name(cluster, browser):
    """Issue 24: nginx passed `Host $host` (no port); Streamlit compares the websocket's Origin
    (http://rnn.school.lan:PORT) with Host and refused it (403): the page never rendered on any
    machine but the teacher's. Also what every answer tells a stranger, and what it must not."""
    port = cluster["listen"]
    host = f"{HOST}:{port}"

    # A websocket as a browser on another machine opens it: Host and Origin by the name, with the port.
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    ws = connect(f"ws://{host}/_stcore/stream", sock=sock, subprotocols=["streamlit"], origin=f"http://{host}",
                 additional_headers={"Cookie": "rnn_route=far-away"}, max_size=None, open_timeout=60)
    msg = BackMsg()
    msg.rerun_script.page_name = ""
    ws.send(msg.SerializeToString())
    kinds = []
    while "script_finished" not in kinds:
        m = ForwardMsg()
        m.ParseFromString(ws.recv(timeout=120))
        kinds.append(m.WhichOneof("type"))
    ws.close()
    assert "delta" in kinds  # the home page rendered for it

    # What the answers say: no replica address, no nginx version, never framed by another site.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/", headers={"Host": host})
    r = conn.getresponse()
    r.read()
    assert r.status == 200
    headers = {k.lower(): v for k, v in r.getheaders()}
    assert "x-replica" not in headers and headers["server"] == "nginx"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["content-security-policy"] == "frame-ancestors 'self'"
    assert headers["x-content-type-options"] == "nosniff"
    assert [h for h in r.getheaders() if h[0].lower() == "x-frame-options"] == [("X-Frame-Options", "SAMEORIGIN")]
    cookie = headers["set-cookie"]
    assert cookie.startswith("rnn_route=") and "HttpOnly" in cookie and "Secure" not in cookie  # plain http here
    conn.request("GET", "/_stcore/metrics", headers={"Host": host})
    r = conn.getresponse()
    assert r.status == 403 and b"prometheus" not in r.read().lower()  # the operator's, not a learner's
    conn.close()
    direct = urllib.request.urlopen(f"http://127.0.0.1:{cluster['ports'][1]}/_stcore/metrics", timeout=10)
    assert direct.status == 200  # the replica still serves it to its own network

    # A real browser on "another machine": Chromium resolves the name to this one. Launched from
    # the session's Playwright (a second sync_playwright in the same thread would fail).
    far = browser.browser_type.launch(executable_path=CHROMIUM,
                                      args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"])
    try:
        tab = far.new_page(viewport={"width": 1400, "height": 1000})
        refused = []
        tab.on("websocket", lambda w: w.on("socketerror", lambda e: refused.append(e)))
        tab.goto(f"http://{host}/")
        wait_for_app(tab)
        tab.get_by_text("RNN Explorer: watch a recurrent network read a digit").wait_for(timeout=60_000)
        tab.get_by_text("lstm", exact=True).first.wait_for(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=ARTIFACTS / "home_by_host_name.png")
        assert not refused, refused
    finally:
        far.close()
