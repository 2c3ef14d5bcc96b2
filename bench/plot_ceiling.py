#!/usr/bin/env python3
"""Sync latency against agents for spire-cvm and SPIRE, from bench/loadgen JSON results (bench/ceiling.sh).

Usage: plot_ceiling.py [--limit-ms 50] [--png FILE] RESULT.json...
Prints a Markdown table per server (agents, entries, syncs/s offered and done, p50/p99/max, server CPU per sync,
server and load-generator CPU share, peak RSS, failed calls, scheduler lag) and each server's ceiling: the smallest
measured agent count whose p99 sync latency exceeds the limit. With --png, draws p50 and p99 against agents
(log-log) for every server, the limit as a line (needs matplotlib; without it the table is still printed).
"""
import argparse
import json
import sys

NAMES = {"cvm": "spire-cvm", "spire": "SPIRE v1.13.3"}


def point(r):
    cfg = r["config"]
    sync = next((p for p in r["phases"] if p["name"] == "sync"), None)
    s = sync["rpcs"].get("SyncAuthorizedEntries") if sync else None
    failed = sum(x["count"] - x["ok"] for p in r["phases"] for x in p["rpcs"].values())
    if not s:
        return None
    wall = sync["wall_s"]
    return {
        "agents": cfg["agents"], "entries": cfg["entries"],
        "offered": cfg["agents"] / cfg["sync_interval"], "done_per_s": s["ok_per_s"],
        "p50": s["p50_ms"], "p99": s["p99_ms"], "max": s["max_ms"],
        "cpu_ms_per_sync": 1000 * sync["server_cpu_s"] / s["ok"] if s["ok"] else float("inf"),
        "server_cpu": sync["server_cpu_s"] / wall, "loadgen_cpu": sync["loadgen_cpu_s"] / wall,
        "hwm_mib": r["server_hwm_kib"] / 1024, "failed": failed, "lag_ms": r["scheduler_max_lag_ms"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-ms", type=float, default=50)
    ap.add_argument("--png")
    ap.add_argument("results", nargs="+")
    a = ap.parse_args()
    series = {}
    for f in a.results:
        r = json.load(open(f))
        p = point(r)
        if p:
            series.setdefault(r["label"], []).append(p)
    for label in series:
        series[label].sort(key=lambda p: p["agents"])
    for label, pts in series.items():
        print(f"\n### {NAMES.get(label, label)}\n")
        print("| agents | entries | syncs/s offered | done/s | p50 ms | p99 ms | max ms | server CPU ms/sync "
              "| server CPU | loadgen CPU | server peak RSS | failed calls | loadgen max lag |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for p in pts:
            print(f"| {p['agents']:,} | {p['entries']:,} | {p['offered']:,.0f} | {p['done_per_s']:,.0f} "
                  f"| {p['p50']:.1f} | {p['p99']:.1f} | {p['max']:.0f} | {p['cpu_ms_per_sync']:.2f} "
                  f"| {100 * p['server_cpu']:.0f} % | {100 * p['loadgen_cpu']:.0f} % | {p['hwm_mib']:,.0f} MiB "
                  f"| {p['failed']} | {p['lag_ms']:.0f} ms |")
        over = next((p for p in pts if p["p99"] > a.limit_ms or p["failed"]), None)
        below = [p for p in pts if p["p99"] <= a.limit_ms and not p["failed"] and (not over or p["agents"] < over["agents"])]
        if over:
            last = f"{below[-1]['agents']:,}" if below else "none measured"
            print(f"\nceiling ({NAMES.get(label, label)}): p99 over {a.limit_ms:g} ms (or failed calls) at "
                  f"{over['agents']:,} agents; largest count below it: {last}")
        else:
            print(f"\nceiling ({NAMES.get(label, label)}): not reached; p99 <= {a.limit_ms:g} ms up to "
                  f"{pts[-1]['agents']:,} agents, the largest count measured")
    if a.png:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("\nplot_ceiling: matplotlib is not installed; no PNG drawn", file=sys.stderr)
            return
        fig, ax = plt.subplots(figsize=(8, 5))
        for label, pts in series.items():
            xs = [p["agents"] for p in pts]
            line, = ax.plot(xs, [p["p99"] for p in pts], marker="o", label=f"{NAMES.get(label, label)} p99")
            ax.plot(xs, [p["p50"] for p in pts], marker=".", linestyle="--", color=line.get_color(),
                    label=f"{NAMES.get(label, label)} p50")
        ax.axhline(a.limit_ms, color="grey", linewidth=1, linestyle=":", label=f"{a.limit_ms:g} ms")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("agents (each syncing every 5 s, 10 entries per agent)")
        ax.set_ylabel("SyncAuthorizedEntries latency, ms (open loop)")
        ax.set_title("Sync latency against agents, one 2-core machine (server + load generator)")
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(a.png, dpi=110)
        print(f"\nplot: {a.png}")


if __name__ == "__main__":
    main()
