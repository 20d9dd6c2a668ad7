#!/usr/bin/env python3
"""Wait (bounded) until the machine is quiet before a benchmark, and record how busy it was.

Samples /proc/stat over 1 s windows: busy = share of all CPUs not idle/iowait. Returns as soon
as one window is below --threshold percent, or after --max-wait seconds. Appends a JSON line
{"label", "busy_pct", "waited_s", "loadavg"} to --log, so the report can say whether other
work (another build, say) was competing for the two cores.
"""

import argparse
import json
import sys
import time


def snapshot():
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals), idle


def busy_pct(window=1.0):
    t0, i0 = snapshot()
    time.sleep(window)
    t1, i1 = snapshot()
    return 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))


ap = argparse.ArgumentParser()
ap.add_argument("--label", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--threshold", type=float, default=10.0)
ap.add_argument("--max-wait", type=float, default=120.0)
args = ap.parse_args()

start = time.monotonic()
while True:
    b = busy_pct()
    waited = time.monotonic() - start
    if b < args.threshold or waited >= args.max_wait:
        break
    print(f"   machine busy ({b:.0f}% of all CPUs); waiting for quiet "
          f"({waited:.0f}/{args.max_wait:.0f} s)", file=sys.stderr)
with open("/proc/loadavg") as f:
    load = f.read().split()[0]
rec = {"label": args.label, "busy_pct": round(b, 1), "waited_s": round(waited, 1), "loadavg": load}
with open(args.log, "a") as f:
    f.write(json.dumps(rec) + "\n")
print(f"   CPU busy at {args.label}: {b:.0f}% (load {load}, waited {waited:.0f} s)",
      file=sys.stderr)
