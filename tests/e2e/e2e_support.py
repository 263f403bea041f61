"""Shared helpers of the e2e tests: free ports, a fleet (edgefed-sim with its
own edgefed-server) and a real Prometheus on loopback, HTTP JSON queries."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def get_json(url, timeout=10):
    return json.loads(get(url, timeout))


def wait_for(what, fn, timeout, interval=0.5):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # not up yet
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Fleet:
    """edgefed-sim running agents against its own edgefed-server, whose plain
    metrics port (also serving / and /v1/status) is self.metrics_port.

    The plain port has no credentials, so its callers are anonymous and see
    what --status-anonymous allows: these tests read agent rows, so they say
    "full", the explicit choice for a port that only loopback (or an SSH
    tunnel) reaches. A deployment without that choice answers 401 there;
    tests/security/access_test.cpp covers the default and the summary."""

    def __init__(self, sim, work, agents=4, duration=40, extra_server_args=(), extra_sim_args=()):
        self.metrics_port = free_port()
        self.base = f"http://127.0.0.1:{self.metrics_port}"
        server_args = [f"--metrics-listen=127.0.0.1:{self.metrics_port}", "--status-on-metrics-port=true",
                       "--status-anonymous=full",
                       *extra_server_args]
        cmd = [sim, f"--agents={agents}", f"--duration={duration}", f"--work-dir={work}/sim",
               "--server-restarts=", "--fleet-outages=", "--outage-interval=0", "--drain-timeout=30",
               "--server-arg=" + ";".join(server_args), *extra_sim_args]
        self.log = open(f"{work}/sim.log", "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for("the server's metrics port", lambda: "edgefed_model_version" in get(self.base + "/metrics"), 120)

    def status(self):
        return get_json(self.base + "/v1/status")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Prometheus:
    """A real Prometheus (Debian package) on 127.0.0.1 scraping targets every second."""

    def __init__(self, work, targets, rule_files=()):
        self.port = free_port()
        self.dir = f"{work}/prometheus"
        os.makedirs(self.dir, exist_ok=True)
        rules = "".join(f"  - {r}\n" for r in rule_files)
        with open(f"{self.dir}/prometheus.yml", "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    + (f"rule_files:\n{rules}" if rules else "")
                    + "scrape_configs:\n  - job_name: edgefed-plain\n    static_configs:\n"
                    + f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        self.log = open(f"{self.dir}/prometheus.log", "w")
        self.proc = subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={self.dir}/prometheus.yml",
             f"--storage.tsdb.path={self.dir}/data", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        wait_for("prometheus ready", lambda: "Ready" in get(self.base + "/-/ready"), 60)

    def query(self, expr):
        r = get_json(self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert r["status"] == "success", r
        return r["data"]["result"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def workdir(name):
    base = os.environ.get("EDGEFED_E2E_DIR") or tempfile.gettempdir()
    return tempfile.mkdtemp(prefix=f"edgefed-{name}-", dir=base)
