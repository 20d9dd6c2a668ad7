#!/usr/bin/env python3
"""Helpers of scripts/bench-vantages.sh (300 mirrors through 5 SOCKS5 vantages). Standard
library only.

  vantages.py ports N                 N free TCP ports on 127.0.0.1, one a line
  vantages.py wait-listen PORT...     wait (at most 10 s) until each port accepts
  vantages.py blackhole --port P --lifetime S
                                      a "proxy" that accepts every connection on 127.0.0.1:P and
                                      never answers (holds at most 4096, oldest closed first)
  vantages.py snap PID...             one JSON line: the machine's busy CPU time and the CPU
                                      time of each PID's process tree (the farm, the proxies)
  vantages.py other BASE              % of the CPUs other work took between BASE.snap0 and
                                      BASE.snap1, besides BASE.timev's command and the helpers
  vantages.py check-report ...        asserts a check report is right, prints a JSON summary
  vantages.py check-curl OUT OK FAIL  asserts the reference fetches: OK answers 200, FAIL none
  vantages.py table RESULTS           the Markdown results of a run
"""

import argparse
import glob
import json
import os
import re
import select
import socket
import sys
import time
from collections import Counter, deque

TICK = os.sysconf("SC_CLK_TCK")


def ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        print(s.getsockname()[1])
    for s in socks:
        s.close()


def wait_listen(ps):
    deadline = time.monotonic() + 10
    for p in ps:
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(p)), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"port {p} is not listening")
                time.sleep(0.05)


def blackhole(port, lifetime):
    """Accepts TCP and never sends a byte: a SOCKS proxy whose every request times out."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4096)
    held = deque()
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        r, _, _ = select.select([ls], [], [], 1.0)
        if r:
            c, _ = ls.accept()
            held.append(c)
            while len(held) > 4096:
                held.popleft().close()


def tree_ticks(root):
    """utime + stime (clock ticks) of a process and its live descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        children.setdefault(int(f[1]), []).append((int(d), int(f[11]) + int(f[12])))
    try:
        st = open(f"/proc/{root}/stat").read()
        f = st[st.rindex(")") + 2:].split()
        total = int(f[11]) + int(f[12])
    except OSError:
        return 0
    todo = [root]
    while todo:
        for pid, t in children.get(todo.pop(), []):
            total += t
            todo.append(pid)
    return total


def snap(pids):
    vals = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    busy = sum(vals[:8]) - vals[3] - vals[4]  # all but idle and iowait
    print(json.dumps({"t": time.monotonic(), "busy": busy / TICK, "farm": pids[0],
                      "tree": {p: tree_ticks(int(p)) / TICK for p in pids}}))


def other(base):
    """Share of all CPUs (percent) that went to work other than the timed command, the farm
    and the proxies between the two snapshots around one run."""
    s0, s1 = (json.loads(open(f"{base}.snap{i}").read()) for i in (0, 1))
    _, _, cpu = timev(f"{base}.timev")
    helpers = sum(s1["tree"][p] - s0["tree"].get(p, 0) for p in s1["tree"])
    rest = max(0.0, s1["busy"] - s0["busy"] - cpu - helpers)
    print(round(100 * rest / ((s1["t"] - s0["t"]) * (os.cpu_count() or 1))))


def check_report(a):
    """A 5-vantage (or 1-vantage) report: each good vantage gives every honest mirror `ok`
    with its artifact `ok` and every black hole `unreachable`; the bad vantage (if any) is
    degraded and reached nothing; no vantage else is degraded; nothing is targeted."""
    r = json.load(open(a.report))
    ready = json.load(open(a.ready))
    good = [v for v in a.vantages.split(",") if v]
    bad = a.bad or None
    names = good + ([bad] if bad else [])
    honest, silent = set(ready["honest"]), set(ready["silent"])
    art = "ok" if a.artifacts == "full" else "skipped"
    n = len(honest) + len(silent)
    ms = r["mirrors"]
    assert len(ms) == n * len(names), ("entries", len(ms), n * len(names))
    by = Counter()
    for m in ms:
        v, u, st = m.get("vantage"), m["url"], m["status"]
        assert v in names, ("vantage", v)
        if v == bad:
            assert st == "unreachable", ("bad vantage reached", u, st, m["error"])
        elif u in honest:
            assert st == "ok" and [x["status"] for x in m["artifacts"]] == [art], \
                ("honest not ok", v, u, st, m["error"])
        else:
            assert u in silent and st == "unreachable", ("silent not unreachable", v, u, st)
        by[(v, st)] += 1
    vs = {v["name"]: v for v in r["vantages"]}
    assert sorted(vs) == sorted(names), ("vantages", sorted(vs))
    for v in good:
        assert vs[v]["status"] == "ok", ("degraded", v, vs[v].get("reason"))
    if bad:
        assert vs[bad]["status"] == "degraded", ("not degraded", bad)
    assert r.get("targeted") == [], ("targeted", (r.get("targeted") or [])[:3])
    # Unreachable mirrors fail the run; a degraded vantage's entries decide nothing.
    want_rc = 1 if silent else 0
    assert int(a.rc) == want_rc, ("exit status", a.rc, want_rc)
    ok_ms = [m["elapsed_ms"] for m in ms if m["status"] == "ok"]
    bad_ms = [m["elapsed_ms"] for m in ms if m.get("vantage") == bad]
    errors = Counter()
    for m in ms:
        if m.get("vantage") == bad:
            e = m["error"] or ""
            # The reason without the mirror's host, so that like counts with like.
            e = re.sub(r"https?://\S+", "HOST", e.split(": ", 1)[-1])
            errors[e[:160]] += 1
    out = {
        "entries": len(ms),
        "ok": sum(1 for m in ms if m["status"] == "ok"),
        "unreachable": sum(1 for m in ms if m["status"] == "unreachable"),
        "per_vantage": {v: f"{by[(v, 'ok')]} ok, {by[(v, 'unreachable')]} unreachable"
                        for v in names},
        "degraded": [v for v in names if vs[v]["status"] == "degraded"],
        "ok_ms_max": max(ok_ms) if ok_ms else None,
        "ok_ms_median": sorted(ok_ms)[len(ok_ms) // 2] if ok_ms else None,
        "bad_ms_max": max(bad_ms) if bad_ms else None,
        "bad_errors": dict(errors),
    }
    print(json.dumps(out))


def check_curl(out, ok, fail):
    codes = Counter(line.split()[0] for line in open(out) if line.strip())
    assert codes.get("200", 0) == ok and codes.get("000", 0) == fail, \
        ("curl answers", dict(codes), ok, fail)
    times = sorted(float(line.split()[1]) for line in open(out)
                   if line.startswith("200 "))
    print(json.dumps({"answers": dict(codes), "ok_s_max": times[-1] if times else None}))


def timev(path):
    t = open(path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t).group(1)
    secs = 0.0
    for p in w.split(":"):
        secs = secs * 60 + float(p)
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1))
              for k in ("User", "System"))
    return secs, rss, cpu


LABELS = [
    ("v5", "check, 5 SOCKS5 vantages"),
    ("v5-wide", "check, 5 SOCKS5 vantages, every mirror its own host"),
    ("v5-clean", "check, 5 SOCKS5 vantages, 270 mirrors, no black holes"),
    ("v5-clean-blackhole", "the same, one vantage a black-hole proxy"),
    ("v5-600", "check, 5 SOCKS5 vantages, 600 mirrors on the same hosts"),
    ("v5-noart", "check, 5 SOCKS5 vantages, `--artifacts none`"),
    ("v5-c16", "check, 5 SOCKS5 vantages, `--concurrency 16`"),
    ("v1", "check, 1 SOCKS5 vantage"),
    ("direct", "check, `--vantage direct`"),
    ("v5-refused", "check, 5 vantages, one a closed port"),
    ("v5-blackhole", "check, 5 vantages, one a black-hole proxy"),
    ("curl-xargs", "reference: `xargs -P` + `curl` per fetch"),
    ("curl-parallel", "reference: `curl --parallel`, one per proxy"),
]


def run_figures(res, label):
    """Per run: wall, RSS, CPU of the command, CPU of the farm + proxies, other work %, and
    the checker's summary."""
    rows = []
    own = re.compile(re.escape(label) + r"-(\d+)\.timev$")
    found = [p for p in glob.glob(os.path.join(res, f"{label}-*.timev"))
             if own.fullmatch(os.path.basename(p))]
    for tv in sorted(found, key=lambda p: int(own.fullmatch(os.path.basename(p)).group(1))):
        base = tv[:-len(".timev")]
        wall, rss, cpu = timev(tv)
        row = {"wall": wall, "rss": rss, "cpu": cpu, "helpers": None, "proxies": None,
               "other": None, "summary": None}
        try:
            s0, s1 = (json.loads(open(f"{base}.snap{i}").read()) for i in (0, 1))
            tree = {p: s1["tree"][p] - s0["tree"].get(p, 0) for p in s1["tree"]}
            helpers = sum(tree.values())
            row["helpers"] = helpers
            row["proxies"] = helpers - tree.get(s1["farm"], 0)
            span = s1["t"] - s0["t"]
            other = max(0.0, (s1["busy"] - s0["busy"]) - cpu - helpers)
            row["other"] = 100 * other / (span * (os.cpu_count() or 1))
        except (OSError, ValueError, KeyError):
            pass
        try:
            row["summary"] = json.loads(open(f"{base}.summary").read())
        except (OSError, ValueError):
            pass
        rows.append(row)
    return rows


def table(res):
    meta = {}
    try:
        for line in open(os.path.join(res, "machine.txt")):
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    except OSError:
        pass
    print(f"Date (UTC) {meta.get('date', '?')}; {meta.get('cpu', '?')}, nproc "
          f"{meta.get('nproc', '?')}; mirrorproof commit {meta.get('commit', '?')}; "
          f"{meta.get('microsocks', 'microsocks ?')}; {meta.get('curl', 'curl ?')}; "
          f"--timeout {meta.get('timeout', '?')}; binary {meta.get('binary', '?')}.")
    print()
    print("| run | entries | wall (s), each run | peak RSS (MiB), max | CPU user+sys (s), mean "
          "| farm / proxies CPU (s), mean | other work, % of CPUs, each run | slowest honest "
          "entry (ms), each run |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, title in LABELS:
        rows = run_figures(res, label)
        if not rows:
            continue
        n = len(rows)
        s = rows[-1]["summary"] or {}
        entries = s.get("entries") or (sum(s.get("answers", {}).values()) if s else "")
        slow = [r["summary"].get("ok_ms_max") for r in rows if r["summary"]
                and r["summary"].get("ok_ms_max") is not None]
        if not slow:
            slow = [round(1000 * r["summary"]["ok_s_max"]) for r in rows if r["summary"]
                    and r["summary"].get("ok_s_max") is not None]
        helpers = [r for r in rows if r["helpers"] is not None]
        other = [r["other"] for r in rows if r["other"] is not None]
        cells = [
            f"{label}: {title}",
            str(entries),
            ", ".join(f"{r['wall']:.2f}" for r in rows),
            f"{max(r['rss'] for r in rows):.1f}",
            f"{sum(r['cpu'] for r in rows) / n:.2f}",
            (f"{sum(r['helpers'] - r['proxies'] for r in helpers) / len(helpers):.2f} / "
             f"{sum(r['proxies'] for r in helpers) / len(helpers):.2f}") if helpers else "?",
            ", ".join(f"{o:.0f}" for o in other) if other else "?",
            ", ".join(str(x) for x in slow),
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    for label, _ in LABELS:
        rows = run_figures(res, label)
        if rows and rows[-1]["summary"]:
            s = rows[-1]["summary"]
            if "per_vantage" in s:
                print(f"- {label}: {s['ok']} ok, {s['unreachable']} unreachable; "
                      + "; ".join(f"{v}: {t}" for v, t in s["per_vantage"].items())
                      + (f"; degraded: {', '.join(s['degraded'])} (its entries: "
                         + ", ".join(f"{k} {v}" for k, v in s["bad_errors"].items())
                         + f"; slowest {s['bad_ms_max']} ms)" if s["degraded"] else
                         "; no vantage degraded") + "; targeted: none")
            else:
                print(f"- {label}: answers {s['answers']} (200 = release document, "
                      "000 = no answer within --max-time)")
    retries = os.path.join(res, "retries.txt")
    if os.path.exists(retries):
        print()
        print("Contended attempts with a wrong result, run again:")
        print()
        for line in open(retries):
            print(f"- {line.strip()}")
    quiet = os.path.join(res, "quiet.jsonl")
    if os.path.exists(quiet):
        q = [json.loads(line) for line in open(quiet)]
        print()
        print("Machine before each run (quiet.py: share of CPUs busy in the second before, "
              "load average): " + ", ".join(f"{x['label']} {x['busy_pct']:.0f} % / "
                                            f"{x['loadavg']}" for x in q))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "ports":
        ports(int(rest[0]))
    elif cmd == "wait-listen":
        wait_listen(rest)
    elif cmd == "blackhole":
        ap = argparse.ArgumentParser()
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--lifetime", type=float, default=1800)
        a = ap.parse_args(rest)
        blackhole(a.port, a.lifetime)
    elif cmd == "snap":
        snap(rest)
    elif cmd == "other":
        other(rest[0])
    elif cmd == "check-report":
        ap = argparse.ArgumentParser()
        ap.add_argument("--report", required=True)
        ap.add_argument("--ready", required=True)
        ap.add_argument("--rc", required=True)
        ap.add_argument("--vantages", required=True)
        ap.add_argument("--bad", default="")
        ap.add_argument("--artifacts", default="full", choices=["full", "none"])
        check_report(ap.parse_args(rest))
    elif cmd == "check-curl":
        check_curl(rest[0], int(rest[1]), int(rest[2]))
    elif cmd == "table":
        table(rest[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
