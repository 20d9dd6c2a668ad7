#!/usr/bin/env python3
"""Shared readers for scripts/bench.sh results: hyperfine JSON, GNU time -v output, /proc/stat
snapshots. As a command, `benchlib.py other RESULTS BENCH` prints how much of the machine's CPU
(percent of all CPUs) went to work other than the benchmarked commands during BENCH."""

import glob
import json
import os
import re
import sys

# benchmark -> (hyperfine JSON, warm-up runs per command, GNU time labels)
SPANS = {
    "b1": ("b1.json", 2, ["b1-mirrorproof", "b1-openssl", "b1-sha256sum"]),
    "b2": ("b2.json", 1, ["b2-mirrorproof"]),
    "b3": ("b3.json", 1, ["b3-mirrorproof", "b3-sha256sum", "b3-openssl"]),
}


def hyper(results, name):
    with open(os.path.join(results, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def timev(results, label):
    """Peak RSS in MiB (max over the runs), and each run's wall and user+sys, from GNU time -v."""
    rss, walls, cpus = [], [], []
    for path in sorted(glob.glob(os.path.join(results, f"timev-{label}-*.txt"))):
        text = open(path).read()
        rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)))
        u = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
        s = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
        w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
        secs = 0.0
        for part in w.split(":"):
            secs = secs * 60 + float(part)
        walls.append(secs)
        cpus.append(u + s)
    return {"rss_mib": max(rss) / 1024, "rss_all": [r / 1024 for r in rss],
            "wall": walls, "cpu": cpus}


def stat(results, label):
    """(time, busy CPU-seconds of the whole machine) from a `cpustat` snapshot."""
    try:
        lines = open(os.path.join(results, f"stat-{label}")).read().split("\n")
    except OSError:
        return None
    vals = [int(v) for v in lines[1].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    busy = (sum(vals[:8]) - vals[3] - vals[4]) / tick  # all but idle and iowait
    return float(lines[0]), busy


def ncpu():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def contention(results, bench):
    """(span s, machine busy CPU-s, benchmarked commands' CPU-s, other CPU-s, other % of CPUs)."""
    hf, warm, labels = SPANS[bench]
    s0, s1 = stat(results, f"{bench}-start"), stat(results, f"{bench}-end")
    if not s0 or not s1:
        return None
    secs, busy = s1[0] - s0[0], s1[1] - s0[1]
    ours = 0.0
    for r in hyper(results, hf).values():
        ours += (warm + len(r["times"])) * (r["user"] + r["system"])
    for lab in labels:
        ours += sum(timev(results, lab)["cpu"])
    other = max(0.0, busy - ours)
    return secs, busy, ours, other, 100 * other / (secs * ncpu())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "other":
        c = contention(sys.argv[2], sys.argv[3])
        print(int(round(c[4])) if c else 0)
    else:
        sys.exit("usage: benchlib.py other RESULTS b1|b2|b3")
