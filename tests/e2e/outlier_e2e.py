#!/usr/bin/env python3
"""E2E: one agent of a fleet trains on corrupted data (edgefed-sim
--corrupt-agents); the server's outlier monitor flags it within a bounded
number of its updates and, with --quarantine-after, quarantines it while the
honest agents stay free (fixed seed).

usage: outlier_e2e.py --sim PATH [--mode labels|noise]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import Fleet, get, wait_for, workdir  # noqa: E402

AGENTS = 5
BAD = "agent-002"
QUARANTINE_AFTER = 2
# The window needs 8 fleet updates before it scores (about 2 updates of the
# bad agent), then 2 outlier updates in a row: allow some slack for noise.
MAX_BAD_UPDATES = 12
HONEST_MORE = 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--mode", default="noise")
    ap.add_argument("--duration", type=int, default=90)
    a = ap.parse_args()
    work = workdir("outlier")
    print("work dir", work)
    fleet = Fleet(a.sim, work, agents=AGENTS, duration=a.duration,
                  extra_server_args=[f"--quarantine-after={QUARANTINE_AFTER}", "--buffer-k=5", "--task-steps=20"],
                  extra_sim_args=["--partition=iid", "--seed=11", "--corrupt-agents=2", f"--corrupt-mode={a.mode}"])
    try:
        def bad_quarantined():
            s = fleet.status()
            for ag in s["agent_list"]:
                if ag["agent_id"] == BAD and ag["state"] == "quarantined":
                    return ag
            return None
        bad = wait_for(f"{BAD} quarantined", bad_quarantined, a.duration)
        print(f"{BAD} quarantined after {bad['updates']} updates, score {bad['outlier_score']:.1f}")
        assert bad["updates"] <= MAX_BAD_UPDATES, bad
        # The honest agents go on training after the quarantine and stay
        # free: wait until each has HONEST_MORE more updates accepted (or
        # one of them is quarantined, which fails below).
        before = {ag["agent_id"]: ag["updates"] for ag in fleet.status()["agent_list"] if ag["agent_id"] != BAD}

        def honest_progressed():
            s = fleet.status()
            now = {ag["agent_id"]: ag for ag in s["agent_list"] if ag["agent_id"] != BAD}
            if any(ag["state"] == "quarantined" for ag in now.values()):
                return s
            return s if all(now[i]["updates"] >= n + HONEST_MORE for i, n in before.items() if i in now) else None
        s = wait_for(f"{HONEST_MORE} more updates from each honest agent", honest_progressed, 30)
        honest = [ag for ag in s["agent_list"] if ag["agent_id"] != BAD]
        assert len(honest) == AGENTS - 1, s["agent_list"]
        for ag in honest:
            print(f"{ag['agent_id']}: {ag['state']}, {ag['updates']} updates, score {ag['outlier_score']:.2f}")
            assert ag["state"] != "quarantined", ag
        metrics = get(fleet.base + "/metrics")
        assert 'edgefed_quarantines_total{reason="outlier"} 1' in metrics, "quarantine counter"
        assert f'edgefed_agent_outlier_score{{agent="{BAD}"}}' in metrics
    finally:
        fleet.stop()
    print("e2e outlier: ok")


if __name__ == "__main__":
    main()
