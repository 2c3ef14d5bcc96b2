#!/usr/bin/env python3
"""Write load for the fault tests: creates registration entries through the real `spire-server entry create`
(batches of --batch entries read from stdin), until --stop exists, and appends to --acked the ID of every entry
the server acknowledged (result status code 0). An entry whose call failed or got no answer is not recorded."""
import argparse
import json
import os
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument("--server-bin", required=True)
p.add_argument("--socket", required=True)
p.add_argument("--td", required=True)
p.add_argument("--prefix", required=True)
p.add_argument("--acked", required=True)
p.add_argument("--stop", required=True)
p.add_argument("--batch", type=int, default=25)
a = p.parse_args()

n = 0
with open(a.acked, "a") as acked:
    while not os.path.exists(a.stop):
        ids = [f"{a.prefix}-{n + i}" for i in range(a.batch)]
        n += a.batch
        doc = {"entries": [{"entry_id": i, "parent_id": f"spiffe://{a.td}/spire/agent/join_token/load",
                            "spiffe_id": f"spiffe://{a.td}/load/{i}",
                            "selectors": [{"type": "unix", "value": f"uid:{k}"}]} for k, i in enumerate(ids)]}
        r = subprocess.run([a.server_bin, "entry", "create", "-socketPath", a.socket, "-data", "-", "-output", "json"],
                           input=json.dumps(doc), capture_output=True, text=True)
        if r.returncode != 0:
            continue
        try:
            results = json.loads(r.stdout)["results"]
        except (ValueError, KeyError):
            continue
        for res in results:
            if res.get("status", {}).get("code", 0) == 0:
                acked.write(res["entry"]["id"] + "\n")
        acked.flush()
        os.fsync(acked.fileno())
sys.exit(0)
