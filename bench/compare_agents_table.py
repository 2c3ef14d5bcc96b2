#!/usr/bin/env python3
"""Ratio table spire-cvm / SPIRE for the agent side, from bench/compare-agents.sh's outputs (bench/wlgen JSON).

Usage: compare_agents_table.py CVM_DIR SPIRE_DIR M [M ...]   -> a Markdown table on stdout.
Each DIR holds idle.json (the agent before any workload) and wlgen-<M>.json per watcher count M.
Same style as compare_table.py: throughput rows higher is better (issue 15: ratio >= 2); latency and memory rows
lower is better (memory: ratio <= 0.5). The agent's idle RSS also has an absolute target (< 20 MiB). Every row is
printed, met or not.
"""
import json
import os
import re
import sys

from compare_table import fmt


def load(d, name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)


def phase(r, name):
    return next((p for p in r["phases"] if p["name"] == name), None)


def rows(d, counts):
    out = {}

    def put(key, value, unit, better, target=None):
        out[key] = (value, unit, better, target)

    idle = load(d, "idle.json")
    put("agent idle RSS (entry synced, SVID served once, no stream)", idle["rss_kib"] / 1024, "MiB", "lower", 0.5)
    if "rss_anon_kib" in idle:
        put("agent idle RSS, anonymous part (heap, stacks)", idle["rss_anon_kib"] / 1024, "MiB", "lower", 0.5)
        put("agent idle RSS, file-backed part (binary, shared libraries)", idle["rss_file_kib"] / 1024, "MiB",
            "lower")
        put("agent idle PSS (shared pages split among their users)", idle["pss_kib"] / 1024, "MiB", "lower", 0.5)
    put("agent idle threads", idle["threads"], "", "lower")
    for m in counts:
        r = load(d, f"wlgen-{m}.json")
        w = phase(r, "watch")
        x = w["rpcs"].get("FetchX509SVID", {}) if w else {}
        s = r["agent"]["watching"]
        before = r["agent"]["idle"]
        if x:
            put(f"M={m}: FetchX509SVID first response p50", x["p50_ms"], "ms", "lower")
            put(f"M={m}: FetchX509SVID first response p99", x["p99_ms"], "ms", "lower")
            put(f"M={m}: FetchX509SVID first response max", x["max_ms"], "ms", "lower")
            put(f"M={m}: agent CPU to open the watchers", w["server_cpu_s"], "s", "lower")
        put(f"M={m}: agent RSS with the watchers open", s["rss_kib"] / 1024, "MiB", "lower", 0.5)
        put(f"M={m}: agent RSS per watcher (with - before)", (s["rss_kib"] - before["rss_kib"]) * 1024 / m, "bytes",
            "lower", 0.5)
        put(f"M={m}: agent peak RSS (VmHWM) at the end", r["agent"]["closed"]["hwm_kib"] / 1024, "MiB", "lower", 0.5)
        put(f"M={m}: agent threads with the watchers open", s["threads"], "", "lower")
        rot = r.get("rotation")
        if rot and rot["seen"]:
            put(f"M={m}: rotation fan-out (first to last watcher), {rot['rotated']}/{m} got it as an update",
                rot["fanout_ms"], "ms", "lower")
        f = phase(r, "fetch")
        fx = f["rpcs"].get("FetchX509SVID") if f else None
        if fx:
            put(f"M={m}: one-shot fetches per agent CPU-second (new connection each)", fx["ok_per_server_cpu_s"],
                "/CPU-s", "higher", 2)
            put(f"M={m}: one-shot fetch latency p99", fx["p99_ms"], "ms", "lower")
    return out


def errors(d, counts):
    errs = {}
    for m in counts:
        r = load(d, f"wlgen-{m}.json")
        for p in r["phases"]:
            for name, x in p["rpcs"].items():
                for code, c in x["errors"].items():
                    errs[f"M={m} {p['name']}/{name}/{code}"] = c
        for code, c in r["broken_streams"].items():
            errs[f"M={m} watch streams ended by the agent/{code}"] = c
        rot = r.get("rotation")
        if rot and not rot["complete"]:
            errs[f"M={m} rotation incomplete (missing)"] = rot["missing"]
    return errs


def same_row(a, b):
    """The fan-out rows name how many watchers got the new SVID, which may differ between the agents."""
    strip = lambda k: re.sub(r", \d+/\d+ got it as an update$", "", k)
    return strip(a) == strip(b)


def main():
    cvm_dir, spire_dir, counts = sys.argv[1], sys.argv[2], [int(m) for m in sys.argv[3:]]
    rc, rs = rows(cvm_dir, counts), rows(spire_dir, counts)
    print("| measure | spire-cvm | SPIRE v1.13.3 | ratio cvm/SPIRE | better | issue 15 target |")
    print("|---|---|---|---|---|---|")
    for key, (v, unit, better, target) in rc.items():
        match = key if key in rs else next((k for k in rs if same_row(k, key)), None)
        if match is None:
            continue
        w = rs[match][0]
        ratio = v / w if w else float("nan")
        goal = ""
        if target is not None:
            met = ratio >= target if better == "higher" else ratio <= target
            goal = f"{'>=' if better == 'higher' else '<='} {target}x: {'met' if met else 'missed'}"
        if key.startswith("agent idle RSS ("):
            goal += f"; < 20 MiB: spire-cvm {'met' if v < 20 else 'missed'}, SPIRE {'met' if w < 20 else 'missed'}"
        label = key if key == match else f"{key} (SPIRE: {match.split(', ', 1)[1]})"
        print(f"| {label} | {fmt(v)} {unit} | {fmt(w)} {unit} | {ratio:.2f} | {better} | {goal} |")
    for label, d in (("spire-cvm", cvm_dir), ("SPIRE", spire_dir)):
        e = errors(d, counts)
        print(f"\nerrors ({label}): {', '.join(f'{k}: {v}' for k, v in e.items()) if e else 'none'}")
    for label, d in (("spire-cvm", cvm_dir), ("SPIRE", spire_dir)):
        for m in counts:
            r = load(d, f"wlgen-{m}.json")
            phases = ", ".join(f"{p['name']} {p['server_cpu_s']:.2f} s agent / {p['loadgen_cpu_s']:.2f} s wlgen "
                               f"over {p['wall_s']:.1f} s" for p in r["phases"])
            print(f"\nCPU ({label}, M={m}): {phases}; wlgen threads {r['wlgen_threads']}, "
                  f"scheduler max lag {r['scheduler_max_lag_ms']:.1f} ms")


if __name__ == "__main__":
    main()
