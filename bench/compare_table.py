#!/usr/bin/env python3
"""Ratio table spire-cvm / SPIRE from two bench/loadgen JSON results (bench/compare-spire.sh writes them).

Usage: compare_table.py CVM.json SPIRE.json   -> a Markdown table on stdout.
Throughput rows: higher is better (issue 15's target: ratio >= 2). Latency and memory rows: lower is better
(memory target: ratio <= 0.5). Every row is printed, met or not.
"""
import json
import os
import sys


def phase(result, name):
    return next((p for p in result["phases"] if p["name"] == name), None)


def rpc(result, phase_name, rpc_name):
    p = phase(result, phase_name)
    return p["rpcs"].get(rpc_name) if p else None


def rows(r):
    cfg = r["config"]
    rss = r["rss_kib"]
    out = {}
    def put(key, value, unit, better, target=None):
        out[key] = (value, unit, better, target)
    a = rpc(r, "attest", "AttestAgent")
    if a:
        put("attestations per server CPU-second (join_token)", a["ok_per_server_cpu_s"], "/CPU-s", "higher", 2)
        put("attestation latency p99", a["p99_ms"], "ms", "lower")
    s = rpc(r, "sync", "SyncAuthorizedEntries") or rpc(r, "sync", "GetAuthorizedEntries")
    if s:
        put(f"syncs per server CPU-second ({cfg['agents']} agents, {cfg['entries']} entries)",
            s["ok_per_server_cpu_s"], "/CPU-s", "higher", 2)
        put("sync latency p50", s["p50_ms"], "ms", "lower")
        put("sync latency p99", s["p99_ms"], "ms", "lower")
        put("sync latency max", s["max_ms"], "ms", "lower")
    b = rpc(r, "svid", "BatchNewX509SVID")
    if b:
        put("X509-SVIDs signed per server CPU-second (BatchNewX509SVID)", b["items_ok_per_server_cpu_s"], "/CPU-s",
            "higher", 2)
        put("BatchNewX509SVID latency p99", b["p99_ms"], "ms", "lower")
    n = rpc(r, "renew", "RenewAgent")
    if n:
        put("RenewAgent per server CPU-second", n["ok_per_server_cpu_s"], "/CPU-s", "higher", 2)
    if cfg["entries"]:
        put("server RSS per registration entry (after set-up - before)",
            (rss["after_entries"] - rss["baseline"]) * 1024 / cfg["entries"], "bytes", "lower", 0.5)
    if cfg["agents"]:
        # After the sync phase, not right after attestation: each agent's mTLS connection and sync state are part of
        # what an attested agent costs, and a Go heap is only sized once the load has run a while.
        put("server RSS per attested, syncing agent (after sync phase - after set-up)",
            (rss["after_sync"] - rss["after_entries"]) * 1024 / cfg["agents"], "bytes", "lower", 0.5)
    put("server RSS at the end", rss["end"] / 1024, "MiB", "lower", 0.5)
    put("server peak RSS (VmHWM)", r["server_hwm_kib"] / 1024, "MiB", "lower", 0.5)
    put("datastore size at the end (SQLite + WAL)", r["datastore_bytes_end"] / 1024, "KiB", "lower")
    st = r.get("startup")
    if st:
        put(f"server start-up with {st['entries']:,} entries (exec to healthy)", st["startup_s"], "s", "lower")
        put(f"server RSS once started with {st['entries']:,} entries", st["rss_kib"] / 1024, "MiB", "lower", 0.5)
    return out


def load(path):
    """A loadgen result, with the start-up measurement (startup.json beside it) when there is one."""
    r = json.load(open(path))
    startup = os.path.join(os.path.dirname(path), "startup.json")
    if os.path.exists(startup):
        r["startup"] = json.load(open(startup))
    return r


def errors(r):
    errs = {}
    for p in r["phases"]:
        for name, x in p["rpcs"].items():
            for code, c in x["errors"].items():
                errs[f"{p['name']}/{name}/{code}"] = c
    return errs


def fmt(v):
    return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"


def main():
    cvm, spire = (load(f) for f in sys.argv[1:3])
    rc, rs = rows(cvm), rows(spire)
    print("| measure | spire-cvm | SPIRE v1.13.3 | ratio cvm/SPIRE | better | issue 15 target |")
    print("|---|---|---|---|---|---|")
    for key, (v, unit, better, target) in rc.items():
        if key not in rs:
            continue
        w = rs[key][0]
        ratio = v / w if w else float("nan")
        goal = ""
        if target is not None:
            met = ratio >= target if better == "higher" else ratio <= target
            goal = f"{'>=' if better == 'higher' else '<='} {target}x: {'met' if met else 'missed'}"
        print(f"| {key} | {fmt(v)} {unit} | {fmt(w)} {unit} | {ratio:.2f} | {better} | {goal} |")
    for label, r in (("spire-cvm", cvm), ("SPIRE", spire)):
        e = errors(r)
        print(f"\nerrors ({label}): {', '.join(f'{k}: {v}' for k, v in e.items()) if e else 'none'}")
    for label, r in (("spire-cvm", cvm), ("SPIRE", spire)):
        phases = ", ".join(f"{p['name']} {p['server_cpu_s']:.2f} s server / {p['loadgen_cpu_s']:.2f} s loadgen "
                           f"over {p['wall_s']:.1f} s" for p in r["phases"])
        print(f"\nCPU ({label}): {phases}")


if __name__ == "__main__":
    main()
