#!/usr/bin/env python3
"""Turns the raw results of scripts/bench.sh (hyperfine JSON, GNU time -v output, check
reports) into the Markdown results section of docs/BENCHMARKS.md, on stdout."""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--results", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--bin", required=True)
ap.add_argument("--repo", required=True)
ap.add_argument("--size-mib", type=int, required=True)
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--runs-net", type=int, required=True)
args = ap.parse_args()
R = args.results
SIZE = args.size_mib * 1024 * 1024
MIB = 1024 * 1024


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def show(cmd):
    """The exact command, with the scratch directory and binary written readably."""
    return cmd.replace(args.work, "$WORK")


def hyper(name):
    return benchlib.hyper(R, name)


def timev(label):
    return benchlib.timev(R, label)


def yes(ok):
    return "**met**" if ok else "**NOT met**"


def cpuinfo():
    model, flags = "?", ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1]
    except OSError:
        pass
    return model, ("sha_ni" in flags.split()), ("avx2" in flags.split())


def meminfo():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


out = []
p = out.append
model, sha_ni, avx2 = cpuinfo()
def slurp(name):
    try:
        return open(os.path.join(R, name)).read().strip()
    except OSError:
        return ""


commit = slurp("git-commit")[:12] or "?"
dirty = slurp("git-dirty")
bin_sha = slurp("bin-sha256")
p("## Machine and run\n")
p("| | |\n| --- | --- |")
p(f"| date (UTC) | {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')} |")
p(f"| CPU | {model} |")
p(f"| `nproc` | {os.cpu_count() if not hasattr(os, 'sched_getaffinity') else len(os.sched_getaffinity(0))} |")
p(f"| `sha_ni` flag | {'yes' if sha_ni else 'no'} (avx2: {'yes' if avx2 else 'no'}) |")
p(f"| memory | {meminfo()} |")
p(f"| kernel | {platform.release()} |")
p(f"| mirrorproof | `{sh(args.bin, '--version')}`, commit {commit}"
  f"{' + uncommitted changes (' + ', '.join(l.split()[-1] for l in dirty.splitlines()) + ')' if dirty else ''}, "
  f"release build copied to `$WORK/mirrorproof` (sha256 {bin_sha[:16]}…) |")
p(f"| hyperfine | {sh('hyperfine', '--version')} |")
p(f"| openssl | {sh('openssl', 'version')} |")
p(f"| sha256sum | {sh('sha256sum', '--version').splitlines()[0] if sh('sha256sum', '--version') else '?'} |")
p(f"| python3 (loopback servers) | {platform.python_version()} |")
p(f"| artifact size | {args.size_mib} MiB = {SIZE} bytes each |")
p("")
p("`$WORK/mirrorproof` is a copy of `target/release/mirrorproof` taken at the start, so that "
  "another build in the tree cannot replace the binary during the run.\n")
p("Throughput is bytes / mean wall time, in GB/s = 10^9 bytes/s. Peak RSS is GNU time's "
  "\"Maximum resident set size\", the largest of 3 separate runs. `$WORK` is the scratch "
  "directory the script creates under /tmp.\n")

# ---- benchmark 1 -----------------------------------------------------------------------------
b1 = hyper("b1.json")
rows = []
for cmd, r in b1.items():
    label = {"openssl": "openssl", "sha256sum": "sha256sum"}.get(cmd.split()[0], "mirrorproof")
    rows.append((label, cmd, r, timev(f"b1-{label}")))
p(f"## 1. Verify one {args.size_mib} MiB artifact offline (release lists sha256 and sha512)\n")
p(f"hyperfine -N, 2 warm-up runs, {args.runs} runs, page cache warm.\n")
p("| tool | mean ± σ (s) | min (s) | throughput (GB/s) | user (s) | sys (s) | peak RSS (MiB) |")
p("| --- | --- | --- | --- | --- | --- | --- |")
for label, cmd, r, t in rows:
    p(f"| {label} | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} | {r['min']:.3f} | "
      f"{SIZE / r['mean'] / 1e9:.2f} | {r['user']:.3f} | {r['system']:.3f} | {t['rss_mib']:.1f} |")
p("\nCommands:\n")
for label, cmd, r, t in rows:
    p(f"- {label}: `{show(cmd)}`")
mp = next(x for x in rows if x[0] == "mirrorproof")
ossl = next(x for x in rows if x[0] == "openssl")
ratio = ossl[2]["mean"] / mp[2]["mean"]
p("")
p(f"- Throughput no slower than openssl: mirrorproof {SIZE / mp[2]['mean'] / 1e9:.2f} GB/s vs "
  f"openssl {SIZE / ossl[2]['mean'] / 1e9:.2f} GB/s (mirrorproof/openssl = {ratio:.2f}x; "
  f"2 % allowed for noise): {yes(ratio >= 0.98)}")
p(f"- Peak RSS ≤ 16 MiB: {mp[3]['rss_mib']:.1f} MiB: {yes(mp[3]['rss_mib'] <= 16)}")
p("")

# ---- benchmark 2 -----------------------------------------------------------------------------
b2 = next(iter(hyper("b2.json").values()))
t2 = timev("b2-mirrorproof")
rep = json.load(open(os.path.join(R, "b2-report.json")))
ms = {}
for m in rep["mirrors"]:
    ms.setdefault(m["status"], []).append(m["elapsed_ms"])
p("## 2. 300 loopback HTTP mirrors, 30 black holes, `--timeout 2 --artifacts full`\n")
p("270 honest mirrors (one small signed tree, 64 KiB artifact, served by 30 Python "
  "ThreadingHTTPServer instances on 127.0.0.2–127.0.0.31, HTTP/1.1 keep-alive, 9 mirror URLs "
  "per server) and 30 black holes (one per address 127.0.0.101–127.0.0.130: accept TCP, read, "
  "never answer), shuffled, 20 countries. "
  f"hyperfine -N -i (exit status 1 is expected), 1 warm-up run, {args.runs_net} runs.\n")
p("| | mean ± σ (s) | min (s) | max (s) | user (s) | sys (s) | peak RSS (MiB) |")
p("| --- | --- | --- | --- | --- | --- | --- |")
p(f"| mirrorproof check | {b2['mean']:.3f} ± {b2['stddev'] or 0:.3f} | {b2['min']:.3f} | {b2['max']:.3f} "
  f"| {b2['user']:.3f} | {b2['system']:.3f} | {t2['rss_mib']:.1f} |")
p(f"\nCommand: `{show(b2['command'])}`\n")
counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(ms.items()))
p(f"Statuses (asserted by the script): {counts}; exit status 1. "
  f"elapsed_ms per mirror: ok max {max(ms.get('ok', [0]))}, "
  f"unreachable min {min(ms.get('unreachable', [0]))} / max {max(ms.get('unreachable', [0]))}.\n")
p(f"- Wall ≤ 6 s: mean {b2['mean']:.2f} s, worst run {max(b2['max'], max(t2['wall'])):.2f} s: "
  f"{yes(max(b2['max'], max(t2['wall'])) <= 6)}")
p(f"- Peak RSS ≤ 200 MiB: {t2['rss_mib']:.1f} MiB: {yes(t2['rss_mib'] <= 200)}")
p("")

# ---- dead-mirror sweep (optional) ---------------------------------------------------------
sweep = sorted(glob.glob(os.path.join(R, "sweep-*.json")),
               key=lambda f: int(re.search(r"sweep-(\d+)", f).group(1)))
if sweep:
    p("### 2b. Dead-mirror sweep (BENCH_DEAD_SWEEP)\n")
    p("Same command and farm, 300 mirrors in all, more of them black holes; one run each "
      "under GNU time.\n")
    p("| black holes | wall (s) | peak RSS (MiB) | statuses | slowest mirror elapsed_ms |")
    p("| --- | --- | --- | --- | --- |")
    for f in sweep:
        dead = int(re.search(r"sweep-(\d+)", f).group(1))
        t = open(f.replace(".json", ".timev")).read()
        w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t).group(1)
        secs = 0.0
        for part in w.split(":"):
            secs = secs * 60 + float(part)
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
        r = json.load(open(f))
        st = {}
        for m in r["mirrors"]:
            st[m["status"]] = st.get(m["status"], 0) + 1
        slow = max(m["elapsed_ms"] for m in r["mirrors"])
        p(f"| {dead} | {secs:.2f} | {rss:.1f} | "
          f"{', '.join(f'{v} {k}' for k, v in sorted(st.items()))} | {slow} |")
    p("")

# ---- benchmark 3 -----------------------------------------------------------------------------
b3 = hyper("b3.json")
labels = {"sha256sum": "sha256sum (sequential)", "openssl": "openssl dgst (sequential)"}
rows = []
for cmd, r in b3.items():
    first = cmd.split()[0]
    key = {"sha256sum": "sha256sum", "openssl": "openssl"}.get(first, "mirrorproof")
    rows.append((labels.get(key, "mirrorproof check"), cmd, r, timev(f"b3-{key}")))
p(f"## 3. Two {args.size_mib} MiB artifacts on one local-directory mirror, `check --artifacts full`\n")
p(f"hyperfine -N, 1 warm-up run, {args.runs} runs, page cache warm. "
  "CPU/wall = (user + sys) / wall: 2.0 means both cores busy the whole time.\n")
p("| tool | wall mean ± σ (s) | user (s) | sys (s) | CPU/wall | throughput (GB/s) | peak RSS (MiB) |")
p("| --- | --- | --- | --- | --- | --- | --- |")
for label, cmd, r, t in rows:
    cpu = r["user"] + r["system"]
    p(f"| {label} | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} | {r['user']:.3f} | {r['system']:.3f} | "
      f"{cpu / r['mean']:.2f} | {2 * SIZE / r['mean'] / 1e9:.2f} | {t['rss_mib']:.1f} |")
p("\nCommands:\n")
for label, cmd, r, t in rows:
    p(f"- {label}: `{show(cmd)}`")
mp = rows[0][2]
seq = next(x for x in rows if x[0].startswith("sha256sum"))[2]
oseq = next(x for x in rows if x[0].startswith("openssl"))[2]
cpu_ratio = (mp["user"] + mp["system"]) / mp["mean"]
p("")
p(f"- Both cores in use: CPU/wall = {cpu_ratio:.2f} (≥ 1.7 counted as both cores): "
  f"{yes(cpu_ratio >= 1.7)}")
p(f"- Speed-up over sequential sha256sum: {seq['mean'] / mp['mean']:.2f}x; over sequential "
  f"openssl: {oseq['mean'] / mp['mean']:.2f}x")

# ---- contention: machine CPU time during each benchmark minus the benchmarked processes' ----
crow = []
for title, b in [("1. verify", "b1"), ("2. 300 mirrors", "b2"), ("3. two artifacts", "b3")]:
    c = benchlib.contention(R, b)
    if c:
        tries = slurp(f"attempts-{b}") or "1"
        crow.append((title, tries) + c)
if crow:
    p("")
    p("## Contention check\n")
    p("CPU time the whole machine spent during each benchmark (from /proc/stat) against the CPU "
      "time of the benchmarked commands themselves (hyperfine's user+sys × runs including "
      "warm-ups, plus the GNU time runs). \"Other\" is everything else: hyperfine, the kernel's "
      "own threads, and any unrelated work on the machine; for benchmark 2 it includes the "
      "Python loopback servers. A few percent is normal; more means the figures are skewed. "
      "The script runs a benchmark again (up to BENCH_ATTEMPTS times in all) when other work "
      "took more than BENCH_MAX_OTHER % (default 15 %) of the CPUs; the last attempt is "
      "reported.\n")
    p("| benchmark | attempt | span (s) | machine CPU (s) | benchmarked commands (s) | other (s) | other, % of both CPUs |")
    p("| --- | --- | --- | --- | --- | --- | --- |")
    for title, tries, secs, busy, ours, other, pct in crow:
        p(f"| {title} | {tries} | {secs:.1f} | {busy:.1f} | {ours:.1f} | {other:.1f} | {pct:.0f} % |")

# ---- machine load --------------------------------------------------------------------------
qpath = os.path.join(R, "quiet.jsonl")
if os.path.exists(qpath):
    p("")
    p("## Machine load around each benchmark\n")
    p("Share of both CPUs busy in a 1 s sample just before (after waiting up to "
      "BENCH_QUIET_WAIT s for a quiet moment) and just after each benchmark, with the "
      "1-minute load average. Other work on this 2-core machine skews every figure above.\n")
    p("| sample | CPUs busy | load avg | waited (s) |")
    p("| --- | --- | --- | --- |")
    for line in open(qpath):
        q = json.loads(line)
        p(f"| {q['label']} | {q['busy_pct']:.0f} % | {q['loadavg']} | {q['waited_s']:.0f} |")
print("\n".join(out))
