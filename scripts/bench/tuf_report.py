#!/usr/bin/env python3
"""Results of scripts/bench-tuf.sh: the contention check, the sweep report check, the Markdown.

    tuf_report.py other RESULTS NAME RUNS
        percent of all CPUs that went to work other than the benchmarked commands (and their
        prepare steps) during benchmark NAME; prints an integer
    tuf_report.py sweep-check REPORT READY REPO RC OUT
        checks one `check --json` report of the sweep: every honest mirror ok with its target
        ok, every black hole unreachable, exit status 1; writes a summary to OUT; exits 1
        (with the reason) on anything else
    tuf_report.py report RESULTS BIN WORK
        prints the Markdown results
"""

import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ncpu, stat  # noqa: E402


def timev_file(path):
    t = open(path).read()
    u = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
    s = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return u + s, rss


def commands(res, name):
    out = []
    for line in open(os.path.join(res, f"cmds-{name}.tsv")).read().splitlines():
        label, prep, cmd = line.split("\t")
        out.append((label, prep, cmd))
    return out


def contention(res, name, runs):
    s0, s1 = stat(res, f"{name}-start"), stat(res, f"{name}-end")
    if not s0 or not s1:
        return None
    span, busy = s1[0] - s0[0], s1[1] - s0[1]
    ours = 0.0
    results = json.load(open(os.path.join(res, f"{name}.json")))["results"]
    for j, r in enumerate(results):
        n = 1 + len(r["times"])  # one warm-up run
        ours += n * (r["user"] + r["system"])
        preps = [timev_file(p)[0] for p in glob.glob(os.path.join(res, f"prep-{name}-{j}-*.txt"))]
        if preps:  # hyperfine ran the prepare step before each run, warm-up included
            ours += n * sum(preps) / len(preps) + sum(preps)
    for p in glob.glob(os.path.join(res, f"timev-{name}-*.txt")):
        ours += timev_file(p)[0]
    farm = farm_cpu(res, name)
    other = max(0.0, busy - ours - farm)
    return {"span": span, "busy": busy, "ours": ours, "farm": farm, "other": other,
            "pct": 100 * other / (span * ncpu())}


def farm_cpu(res, name):
    """CPU seconds the loopback farm spent between the two snapshots (third line of each)."""
    ticks = []
    for label in (f"{name}-start", f"{name}-end"):
        lines = open(os.path.join(res, f"stat-{label}")).read().split("\n")
        ticks.append(int(lines[2]) if len(lines) > 2 and lines[2].strip().isdigit() else 0)
    return max(0, ticks[1] - ticks[0]) / os.sysconf("SC_CLK_TCK")


def sweep_check(report_path, ready_path, repo, rc, out):
    ready = json.load(open(ready_path))
    rc = int(rc)
    try:
        report = json.load(open(report_path))
    except ValueError as e:
        sys.exit(f"the report is not JSON: {e}")
    by = {}
    for m in report.get("mirrors", []):
        by[m.get("url")] = m

    def find(entry):
        for u in (f"{entry}{repo}/metadata/", entry):
            if u in by:
                return by[u]
        return None

    n = len(ready["honest"]) + len(ready["silent"])
    if len(by) != n:
        sys.exit(f"{len(by)} mirrors in the report, {n} in the profile")
    bad = []
    for e in ready["honest"]:
        m = find(e)
        arts = (m or {}).get("artifacts") or (m or {}).get("targets") or []
        if not m or m.get("status") != "ok" or [a.get("status") for a in arts] != ["ok"]:
            bad.append(m or e)
    if bad:
        sys.exit(f"{len(bad)} honest mirrors not ok with their target ok, for example: "
                 + json.dumps(bad[:2], indent=1)[:2000])
    bad = [e for e in ready["silent"] if (find(e) or {}).get("status") != "unreachable"]
    if bad:
        sys.exit(f"black holes not unreachable: {[find(e) for e in bad[:2]]}")
    if rc != 1:
        sys.exit(f"exit status {rc}, expected 1 (some mirrors unreachable)")
    el = lambda urls: [find(u).get("elapsed_ms") for u in urls if find(u).get("elapsed_ms") is not None]
    ok_ms, dead_ms = el(ready["honest"]), el(ready["silent"])
    summary = {"ok": len(ready["honest"]), "unreachable": len(ready["silent"]), "rc": rc,
               "ok_ms_max": max(ok_ms) if ok_ms else None,
               "dead_ms_min": min(dead_ms) if dead_ms else None,
               "dead_ms_max": max(dead_ms) if dead_ms else None}
    json.dump(summary, open(out, "w"))
    print(f"   statuses as expected: {summary['ok']} ok with the target ok, "
          f"{summary['unreachable']} unreachable, exit {rc}", file=sys.stderr)


SUBST = []  # (text, shown as), filled by report()


def fmt_cmd(cmd, bin_, work):
    cmd = cmd.replace(bin_, "$WORK/mirrorproof")
    for text, name in SUBST:
        cmd = cmd.replace(text, name)
    return cmd.replace(work, "$WORK")


def report(res, bin_, work):
    machine = dict(l.split("=", 1) for l in open(os.path.join(res, "machine")).read().splitlines())
    commit = open(os.path.join(res, "git-commit")).read().strip()[:12] or "?"
    dirty = open(os.path.join(res, "git-dirty")).read().strip()
    binsha = open(os.path.join(res, "bin-sha256")).read().strip()
    ng = open(os.path.join(res, "ngclient")).read().strip()
    py = open(os.path.join(res, "python")).read().strip()
    SUBST[:] = [(py, "$PY"), (ng, "$NG")]
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = []
    w = out.append

    w("### Machine and run\n")
    w("| | |\n| --- | --- |")
    w(f"| date (UTC) | {machine['date']} |")
    w(f"| CPU | {machine['cpu']}, `nproc` {machine['nproc']}, sha_ni: {machine['sha_ni']} |")
    w(f"| memory, kernel | {machine['mem']}, {machine['kernel']} |")
    w(f"| load average at start | {machine['load']} |")
    w(f"| mirrorproof | `{machine['mirrorproof']}`, commit {commit}"
      f"{' (local changes in src/)' if dirty else ''}, release build copied to "
      f"`$WORK/mirrorproof` (sha256 {binsha[:16]}…) |")
    w(f"| python-tuf | {machine['pytuf']}, {machine['python']}, driven by "
      f"`$NG` = `{os.path.relpath(ng, repo_root)}` |")
    w(f"| hyperfine | {machine['hyperfine']} |")
    w(f"| server | scripts/bench/farm.rs (`rustc -O`), `Connection: close`, entry `{fmt_cmd(machine['entry'], bin_, work)}` |")
    w("")
    w("`$WORK` is the scratch directory (`mktemp -d /tmp/mirrorproof-bench-tuf.XXXXXX`); "
      "`$PY` is the python of the python-tuf environment, `$NG` the ngclient driver above.")
    w("")

    shapes = sorted(glob.glob(os.path.join(res, "shape-*.json")))
    if shapes:
        w("### Repositories (python-tuf Metadata API, `scripts/bench/tuf_repo.py`)\n")
        w("| repository | keys | roots (bytes each) | timestamp | snapshot | targets | hash bins | downloaded target |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for p in shapes:
            s = json.load(open(p))
            name = os.path.basename(p)[len("shape-"):-len(".json")]
            bins = (f"{s['bins']} bins, {s['bin_entries']} entries, {s['bin_bytes_total'] / 1e6:.2f} MB"
                    if s["bins"] else "none")
            big = f"`{s['big_name']}`, {s['big_bytes'] / 2**20:.0f} MiB in `{s['big_bin']}`" if s["big_name"] else "-"
            w(f"| {name} | {s['keytype']} | {s['root_versions']} ({', '.join(map(str, s['root_bytes']))}) "
              f"| {s['timestamp_bytes']} B | {s['snapshot_entries']} roles, {s['snapshot_bytes'] / 1e3:.1f} kB "
              f"| {s['targets_entries']} entries, {s['targets_bytes'] / 1e6:.2f} MB | {bins} | {big} |")
        w("")

    def table(name, title, blurb, ratio_of=None):
        path = os.path.join(res, f"{name}.json")
        if not os.path.exists(path):
            return
        results = json.load(open(path))["results"]
        cmds = commands(res, name)
        att = open(os.path.join(res, f"attempts-{name}")).read().strip()
        w(f"#### {title}\n")
        w(blurb + f" hyperfine -N, 1 warm-up run, {len(results[0]['times'])} runs (attempt {att}).\n")
        w("| client | mean ± σ (s) | min (s) | max (s) | user (s) | sys (s) | peak RSS (MiB) |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        means = {}
        for j, r in enumerate(results):
            rss = [timev_file(p)[1] for p in glob.glob(os.path.join(res, f"timev-{name}-{j}-*.txt"))]
            means[r["command"]] = r["mean"]
            peak = f"{max(rss):.1f}" if rss else "-"
            w(f"| {r['command']} | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} | {r['min']:.3f} | "
              f"{r['max']:.3f} | {r['user']:.3f} | {r['system']:.3f} | {peak} |")
        w("")
        mp = means.get("mirrorproof tuf-client")
        pyt = means.get("python-tuf ngclient")
        if mp and pyt:
            line = f"python-tuf / mirrorproof: **{pyt / mp:.1f}×** (mean wall)."
            floor = means.get("python start-up + import tuf.ngclient")
            if floor:
                line += (f" Without python's start-up and imports ({floor:.3f} s): "
                         f"{max(pyt - floor, 0):.3f} s, {max(pyt - floor, 0) / mp:.1f}× "
                         "mirrorproof's time.")
            w(line + "\n")
        w("Commands (`--prepare` runs before every timed run):\n")
        for label, prep, cmd in cmds:
            pp = "" if prep == "true" else f" (prepare: `{fmt_cmd(prep, bin_, work)}`)"
            w(f"- {label}: `{fmt_cmd(cmd, bin_, work)}`{pp}")
        w("")

    kts = open(os.path.join(res, "keytypes")).read().split()
    if os.path.exists(os.path.join(res, f"cold-{kts[0]}.json")) or os.path.exists(os.path.join(res, "download.json")):
        w("### 1. Refresh and download: `mirrorproof tuf-client` and python-tuf, same command line\n")
    for kt in kts:
        table(f"cold-{kt}", f"Cold refresh, {kt} repository",
              "Metadata directory emptied and initialised with root version 1 before every run: "
              "4 root updates (and the 404 of the next), timestamp, snapshot, top-level targets.")
        table(f"warm-{kt}", f"Warm refresh, {kt} repository",
              "Nothing changed since the last refresh: root probe (404), timestamp of the same "
              "version; snapshot and targets verified again from the metadata directory.")
    big = [json.load(open(p)) for p in shapes]
    big = [s["big_bytes"] for s in big if s["big_name"]]
    size = f"{big[0] / 2**20:.0f} MiB" if big else "large"
    table("download", f"Download of one {size} target",
          "Target directory emptied before every run, metadata warm: refresh, the hash bin that "
          "delegates the target (fetched on the first run, cached after), the file and "
          "its sha256. `curl` fetching the same file and `sha256sum` hashing it is the floor.")

    sweeps = [os.path.join(res, f"sweep-{shape}-check.json")
              for shape in open(os.path.join(res, "shapes")).read().split()]
    sweeps = [p for p in sweeps if os.path.exists(p)]
    if sweeps:
        w("### 2. `check` with a tuf profile: 300 loopback mirrors, 30 black holes, `--timeout 2`\n")
        w("270 mirrors of one repository (30 hosts 127.0.0.2–31 with 9 mirror URLs each) and 30 "
          "black holes (127.0.0.101–130: accept, never answer), in a fixed shuffled order; the "
          "profile pins root version 1 and names one target, `trusted_root.json` (8 KiB), "
          "checked on every mirror. hyperfine -N -i (exit status 1 is expected), 1 warm-up run. "
          "One report is checked before timing (statuses below), and the reports of the GNU "
          "time runs after.\n")
        w("| repository | mean ± σ (s) | min (s) | max (s) | user (s) | sys (s) | peak RSS (MiB) | statuses (asserted) |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        cmds = []
        for p in sweeps:
            shape = os.path.basename(p)[len("sweep-"):-len("-check.json")]
            name = f"sweep-{shape}"
            c = json.load(open(p))
            r = json.load(open(os.path.join(res, f"{name}.json")))["results"][0]
            rss = [timev_file(q)[1] for q in glob.glob(os.path.join(res, f"timev-{name}-*.txt"))]
            ms = ""
            if c.get("ok_ms_max") is not None:
                ms = f"; elapsed_ms ok ≤ {c['ok_ms_max']}, unreachable {c['dead_ms_min']}–{c['dead_ms_max']}"
            good = ""
            gpath = os.path.join(res, f"{name}-rss-good")
            if os.path.exists(gpath):
                k, n = open(gpath).read().split()
                good = f"; the same in {k} of the {n} GNU time runs"
            w(f"| {shape} | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} | {r['min']:.3f} | {r['max']:.3f} "
              f"| {r['user']:.3f} | {r['system']:.3f} | {max(rss):.1f} | {c['ok']} ok, "
              f"{c['unreachable']} unreachable, exit {c['rc']}{ms}{good} |")
            cmds.append((shape, open(os.path.join(res, f"{name}.cmd")).read().strip()))
        w("")
        w("Commands:\n")
        for shape, cmd in cmds:
            w(f"- {shape}: `{fmt_cmd(cmd, bin_, work)}`")
        w("")

    rows = []
    for p in sorted(glob.glob(os.path.join(res, "stat-*-start"))):
        name = os.path.basename(p)[len("stat-"):-len("-start")]
        if not os.path.exists(os.path.join(res, f"{name}.json")):
            continue
        c = contention(res, name, None)
        if c:
            att = open(os.path.join(res, f"attempts-{name}")).read().strip()
            rows.append(f"| {name} | {att} | {c['span']:.1f} | {c['busy']:.1f} | {c['ours']:.1f} | "
                        f"{c['farm']:.1f} | {c['other']:.1f} | {c['pct']:.0f} % |")
    if rows:
        w("### Contention check\n")
        w("CPU time the whole machine spent during each benchmark (/proc/stat) against the CPU "
          "time of the benchmarked commands and their prepare steps (hyperfine's user+sys × runs "
          "with the warm-up, the prepare steps as timed under GNU time, the GNU time runs), and "
          "of the loopback farm (/proc/PID/stat). \"Other\" is everything else: hyperfine, the "
          "kernel, and unrelated work on the machine. A benchmark runs again (up to "
          "BENCH_ATTEMPTS) when other work took more than BENCH_MAX_OTHER % of the CPUs.\n")
        w("| benchmark | attempt | span (s) | machine CPU (s) | benchmarked (s) | farm (s) | other (s) | other, % of all CPUs |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- |")
        out.extend(rows)
        w("")
    qpath = os.path.join(res, "quiet.jsonl")
    if os.path.exists(qpath):
        w("### Machine load around each benchmark\n")
        w("| sample | CPUs busy | load avg | waited (s) |\n| --- | --- | --- | --- |")
        for line in open(qpath):
            q = json.loads(line)
            w(f"| {q['label']} | {q['busy_pct']:.0f} % | {q['loadavg']} | {q['waited_s']:.0f} |")
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "other":
        c = contention(a[1], a[2], int(a[3]))
        print(int(round(c["pct"])) if c else 0)
    elif len(a) == 6 and a[0] == "sweep-check":
        sweep_check(*a[1:])
    elif len(a) == 4 and a[0] == "report":
        report(*a[1:])
    else:
        sys.exit(__doc__)
