#!/usr/bin/python3
"""A mixed fleet (x86-64 and cross-built ARM agents under qemu-user) against
an all-x86-64 fleet: same server, data slices, seeds and rounds; reports the
accuracy of version R of each and the difference (issue 16: within 0.5
points). Synchronous FedAvg rounds that wait for every agent, so the
emulated agents' slowness changes the wall time, not the model.

  benchmarks/arm/mixed_fleet.py --bin-dir build-release \
      --arm-agent build-arm64/agent/edgefed-agent.run [--agents 8] [--arm-agents 4]
      [--versions 10] [--steps 20] [--work DIR]

Each run: a fresh CA (deploy/certs/edgefed-certs), edgefed-server --mode sync
--min-updates N --eval-data (the Fashion-MNIST test set), N agents each on
slice i/N (iid, seed 7) with --seed 1000+i; the last --arm-agents slots run
the ARM binary in the mixed run. Every process is stopped by pid at the end.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FMNIST = "/usr/share/datasets/fashion-mnist"


def run_fleet(args, name, arm_slots):
    work = os.path.join(args.work, name)
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    certs = os.path.join(work, "certs")
    subprocess.run([os.path.join(ROOT, "deploy/certs/edgefed-certs"), "init", "--out", certs,
                    "--server-san", "127.0.0.1", "--agents", str(args.agents)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = os.path.join(work, "port")
    server_log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([
        os.path.join(args.bin_dir, "server/edgefed-server"), "--listen=127.0.0.1:0", "--port-file=" + port_file,
        "--state-dir=" + os.path.join(work, "server"), "--tls-cert=" + certs + "/server.pem",
        "--tls-key=" + certs + "/server.key", "--client-ca=" + certs + "/ca.pem", "--mode=sync",
        "--min-updates=%d" % args.agents, "--round-timeout=900", "--model-init=" + args.model, "--init-seed=1",
        "--task-steps=%d" % args.steps, "--eval-data=" + FMNIST], stdout=server_log, stderr=subprocess.STDOUT)
    procs = []
    try:
        deadline = time.time() + 30
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start (see %s/server.log)" % work)
            time.sleep(0.1)
        port = open(port_file).read().strip()
        for i in range(args.agents):
            agent_id = "agent-%03d" % i
            binary = args.arm_agent if i in arm_slots else os.path.join(args.bin_dir, "agent/edgefed-agent")
            log = open(os.path.join(work, agent_id + ".log"), "w")
            procs.append(subprocess.Popen([
                binary, "--server", "https://127.0.0.1:" + port, "--ca", certs + "/ca.pem",
                "--cert", "%s/agents/%s.pem" % (certs, agent_id), "--key", "%s/agents/%s.key" % (certs, agent_id),
                "--data", "idx:%s:%d/%d:iid:seed=7" % (FMNIST, i, args.agents),
                "--state-dir", os.path.join(work, agent_id), "--seed", str(1000 + i), "--model-wait-s", "5"],
                stdout=log, stderr=subprocess.STDOUT))
        t0 = time.time()
        accuracy = None
        while accuracy is None:
            if time.time() - t0 > args.timeout:
                raise RuntimeError("version %d not evaluated within %d s (see %s)" % (args.versions, args.timeout, work))
            if server.poll() is not None:
                raise RuntimeError("server exited (see %s/server.log)" % work)
            time.sleep(1)
            with open(os.path.join(work, "server.log")) as f:
                for line in f:
                    if '"version_evaluated"' not in line:
                        continue
                    ev = json.loads(line)
                    if ev.get("version") == args.versions:
                        accuracy = ev["accuracy"]
                    elif ev.get("version", 0) > args.versions and accuracy is None:
                        # The server evaluates the newest version; one that
                        # came too fast after the last may be skipped.
                        raise RuntimeError("version %d was not evaluated (the server moved on); use more --steps"
                                           % args.versions)
        return accuracy, time.time() - t0
    finally:
        for p in procs + [server]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs + [server]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--arm-agent", default=os.path.join(ROOT, "build-arm64/agent/edgefed-agent.run"))
    ap.add_argument("--arch", default="arm64", help="name of the ARM target in the output")
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--arm-agents", type=int, default=4)
    ap.add_argument("--versions", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--model", default="mlp:784-128-10")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--work", default="/tmp/edgefed-mixed-fleet")
    args = ap.parse_args()
    for path in (os.path.join(args.bin_dir, "server/edgefed-server"), os.path.join(args.bin_dir, "agent/edgefed-agent"),
                 args.arm_agent):
        if not os.access(path, os.X_OK):
            sys.exit("mixed_fleet: %s is missing (build it first; deploy/build-cross.sh for the ARM agent)" % path)
    if not os.path.isdir(FMNIST):
        sys.exit("mixed_fleet: %s is missing (apt-get install dataset-fashion-mnist)" % FMNIST)
    if not 0 < args.arm_agents <= args.agents:
        sys.exit("mixed_fleet: --arm-agents must be in 1..--agents")
    base, base_s = run_fleet(args, "all-x86", set())
    mixed, mixed_s = run_fleet(args, "mixed", set(range(args.agents - args.arm_agents, args.agents)))
    print("mixed fleet (%s, %d agents, sync FedAvg, %d steps/round, iid): accuracy at version %d"
          % (args.model, args.agents, args.steps, args.versions))
    print("  all x86-64          %.4f  (%.0f s)" % (base, base_s))
    print("  %d %s + %d x86-64  %.4f  (%.0f s)" % (args.arm_agents, args.arch, args.agents - args.arm_agents, mixed, mixed_s))
    print("  difference          %+.2f points (target: within 0.5)" % (100 * (mixed - base)))
    return 0 if abs(mixed - base) <= 0.005 else 1


if __name__ == "__main__":
    sys.exit(main())
