#!/usr/bin/env python3
"""E2E: a real Prometheus scrapes a real edgefed-server (plain metrics port)
while edgefed-sim's agents train; promtool checks the scrape; the learning
series exist and moved; every PromQL expression of the Grafana dashboard
returns data; the status page renders in headless Chromium (screenshot).

usage: observability_e2e.py --sim PATH --artifacts DIR [--duration S]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import DATA_DIR, Fleet, Prometheus, get, wait_for, workdir  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def dashboard_exprs():
    with open(f"{SRC}/deploy/grafana/dashboards/edgefed-overview.json") as f:
        d = json.load(f)
    out = []
    for p in d["panels"]:
        # This run trains a classifier: the regression and autoencoder
        # panels (their titles say so) have no series to show; nor has the
        # per-agent drift table, whose series appear once an application
        # sends predictions (the sim's agents serve none).
        if p["title"].startswith(("Regression:", "Autoencoder:", "Drift: agents with")):
            continue
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    return out


def grafana_to_promql(expr):
    # Grafana's variables, as Grafana would expand them for a 1 s scrape.
    return expr.replace("$__rate_interval", "30s").replace("$job", ".*")


def check_scrape(base, work):
    text = get(base + "/metrics")
    path = f"{work}/scrape.txt"
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    # promtool prints lint problems and exits non-zero on them.
    assert r.returncode == 0, f"promtool check metrics:\n{r.stdout}{r.stderr}"
    for name in ["edgefed_model_version", "edgefed_global_loss", "edgefed_global_accuracy",
                 "edgefed_gradient_variance", "edgefed_update_staleness_bucket", "edgefed_agents",
                 "edgefed_http_requests_total", "process_resident_memory_bytes", "process_open_fds",
                 "process_cpu_seconds_total", "edgefed_fleet_link_state", "edgefed_fleet_train_loss_bucket"]:
        assert re.search(rf"^{name}[{{ ]", text, re.M), f"{name} missing from the scrape"
    print("promtool check metrics: ok")


def check_prometheus(prom):
    def has(expr):
        return prom.query(expr)
    for expr in ['edgefed_global_loss{source="eval"}', "edgefed_global_accuracy", "edgefed_gradient_variance",
                 "edgefed_update_staleness_count"]:
        wait_for(f"series {expr}", lambda: has(expr), 60)
    moved = ['changes(edgefed_global_loss{source="eval"}[5m]) > 0', "changes(edgefed_global_accuracy[5m]) > 0",
             "changes(edgefed_gradient_variance[5m]) > 0", "increase(edgefed_update_staleness_count[5m]) > 0",
             "changes(edgefed_model_version[5m]) > 0"]
    for expr in moved:
        wait_for(f"{expr}", lambda: has(expr), 60)
        print(f"moved: {expr}")
    acc = float(prom.query("edgefed_global_accuracy")[0]["value"][1])
    assert acc > 0.3, f"accuracy {acc} after training"


def check_dashboard(prom):
    missing = []
    for title, expr in dashboard_exprs():
        q = grafana_to_promql(expr)
        try:
            ok = wait_for(f"data for {q}", lambda: prom.query(q), 20)
        except AssertionError:
            ok = None
        print(f"dashboard [{title}] {expr}: {'ok' if ok else 'NO DATA'}")
        if not ok:
            missing.append(f"{title}: {expr}")
    assert not missing, "dashboard queries without data:\n" + "\n".join(missing)


def check_page(base, work, artifacts):
    shot = os.path.join(artifacts, "status-page.png")
    profile = f"{work}/chromium-profile"
    common = CHROMIUM_FLAGS + [f"--user-data-dir={profile}", "--window-size=1400,1080",
                               "--virtual-time-budget=8000", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run(["chromium", *common, "--dump-dom", base + "/"], capture_output=True, text=True, timeout=120)
    html = dom.stdout
    with open(f"{work}/page.html", "w") as f:
        f.write(html)
    console = [l for l in dom.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    assert not console, "console messages:\n" + "\n".join(console)
    assert 'class="dot ok"' in html, "the page did not load /v1/status"
    rows = re.findall(r'<td class="id">(agent-\d+)</td>', html)
    assert len(rows) >= 3, f"agent table rows: {rows}"
    for chart in ["c-loss", "c-acc", "c-var"]:
        m = re.search(rf'id="{chart}"[^>]*data-points="(\d+)"', html)
        assert m and int(m.group(1)) >= 2, f"chart {chart} has no data"
    subprocess.run(["chromium", *common, f"--user-data-dir={profile}-shot", f"--screenshot={shot}", base + "/"],
                   capture_output=True, text=True, timeout=120, check=True)
    assert os.path.getsize(shot) > 10000, "screenshot too small"
    print(f"status page: {len(rows)} agents, charts drawn; screenshot {shot}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--duration", type=int, default=50)
    a = ap.parse_args()
    os.makedirs(a.artifacts, exist_ok=True)
    work = workdir("obs")
    print("work dir", work)
    fleet = Fleet(a.sim, work, agents=4, duration=a.duration,
                  extra_server_args=[f"--eval-data={DATA_DIR}", "--eval-samples=2000", "--buffer-k=4",
                                     "--task-steps=20"],
                  extra_sim_args=["--partition=iid", "--seed=3"])
    prom = None
    try:
        prom = Prometheus(work, [f"127.0.0.1:{fleet.metrics_port}"])
        wait_for("a few versions", lambda: fleet.status()["model_version"] >= 5, 120)
        check_scrape(fleet.base, work)
        check_prometheus(prom)
        check_dashboard(prom)
        check_page(fleet.base, work, a.artifacts)
    finally:
        if prom:
            prom.stop()
        fleet.stop()
    print("e2e observability: ok")


if __name__ == "__main__":
    main()
