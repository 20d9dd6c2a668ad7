#!/usr/bin/env bash
# Sweep benchmarks: what a run costs with thousands of mirror entries. See docs/BENCHMARKS.md,
# "Sweeps of thousands of mirrors".
#
#   scripts/bench-sweep.sh
#   BENCH_OLD_BIN=/path/to/older/mirrorproof scripts/bench-sweep.sh   # also measure a "before"
#
# 1. sweep: 10,000 loopback mirror entries on 110 hosts: 100 honest hosts serving 90 entries
#    each, 10 silent hosts (accept, never answer) with 100 entries each;
#    `check --timeout 3 --artifacts full --no-state --json`, default settings otherwise.
#    Target: at most 8 s wall and 200 MiB peak RSS.
# 2. junk: 600 mirror entries on 600 hosts, each serving 1 MiB of junk as every document,
#    plus 10 honest entries; same command. Target: peak RSS under 200 MiB.
#
# Environment:
#   BENCH_RUNS        GNU time runs per command (default 3)
#   BENCH_BIN         benchmark this binary instead of building target/release/mirrorproof
#   BENCH_OLD_BIN     also run benchmark 2 (and 1, with BENCH_OLD_SWEEP=1) with this binary
#   BENCH_QUIET_WAIT  seconds to wait at most for an idle second before each benchmark (60)
#   BENCH_REPORT      where the Markdown results go (default /tmp/mirrorproof-bench-sweep.md)
#   BENCH_TMP         parent of the scratch directory (default /tmp)
#   BENCH_KEEP_RESULTS  a directory to copy the raw results into (time -v output, reports)
#   BENCH_ONLY        "sweep" or "junk" to run only that benchmark
#
# The farm (scripts/bench/farm.rs, standard library only) is built with `rustc -O`; it
# listens on 127.0.0.0/8 only, is killed on exit and stops on its own after 15 minutes.
# Benchmarks measure; they fail only on a wrong result (a status that is not the expected one).

set -euo pipefail

RUNS=${BENCH_RUNS:-3}
REPORT=${BENCH_REPORT:-/tmp/mirrorproof-bench-sweep.md}
TMP_PARENT=${BENCH_TMP:-/tmp}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"

[ -x /usr/bin/time ] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 2; }

WORK=$(mktemp -d "$TMP_PARENT/mirrorproof-bench-sweep.XXXXXX")
FARM_PID=
cleanup() {
    if [ -n "${BENCH_KEEP_RESULTS:-}" ] && [ -d "$WORK/results" ]; then
        mkdir -p "$BENCH_KEEP_RESULTS" && cp -r "$WORK/results/." "$BENCH_KEEP_RESULTS/"
    fi
    if [ -n "$FARM_PID" ]; then
        kill "$FARM_PID" 2>/dev/null || true
        wait "$FARM_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RES="$WORK/results"
mkdir -p "$RES"
cd "$WORK"

bench_binary "$WORK" "$REPO"
BIN="$WORK/mirrorproof"
OLD=
if [ -n "${BENCH_OLD_BIN:-}" ]; then
    cp "$BENCH_OLD_BIN" "$WORK/mirrorproof-old"
    OLD="$WORK/mirrorproof-old"
fi
log "building the loopback farm (rustc -O)"
rustc --edition 2021 -O -o "$WORK/farm" "$HERE/bench/farm.rs"

log "test world in $WORK"
"$BIN" keygen --out "$WORK/key" >/dev/null
"$BIN" root new --project benchos --expires +30d --root-key "$WORK/key.pub" \
    --release-key "$WORK/key.pub" --out "$WORK/root.json" >/dev/null
"$BIN" sign --key "$WORK/key.key" "$WORK/root.json" >/dev/null
mkdir -p "$WORK/small"
head -c 65536 /dev/urandom >"$WORK/small/benchos-small.img"
"$BIN" release new --project benchos --channel stable --version 1 --expires +30d \
    --artifacts "$WORK/small" --out "$WORK/release.json" >/dev/null
"$BIN" sign --key "$WORK/key.key" "$WORK/release.json" >/dev/null
"$BIN" mirror build --out "$WORK/tree" --release "$WORK/release.json" \
    --artifacts "$WORK/small" --root "$WORK/root.json" >/dev/null

farm_start() { # farm options...
    rm -f "$WORK/ready.json"
    # The farm holds thousands of sockets; mirrorproof keeps the shell's own limit and
    # raises it itself, as it would anywhere.
    (ulimit -n "$(ulimit -Hn)"; exec "$WORK/farm" --tree "$WORK/tree" --root-json "$WORK/root.json" \
        --profile-out "$WORK/farm.toml" --ready-file "$WORK/ready.json" --lifetime 900 "$@") &
    FARM_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$WORK/ready.json" ] && break
        kill -0 "$FARM_PID" 2>/dev/null || { echo "farm died" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$WORK/ready.json" ] || { echo "farm not ready" >&2; exit 1; }
}
farm_stop() {
    kill "$FARM_PID" 2>/dev/null || true
    wait "$FARM_PID" 2>/dev/null || true
    FARM_PID=
}
quiet() { python3 "$HERE/bench/quiet.py" --label "$1" --log "$RES/quiet.jsonl" --max-wait "${BENCH_QUIET_WAIT:-60}"; }

# Runs `BIN check farm.toml ...` RUNS times under GNU time, checking every report.
measure() { # label binary expect
    local label=$1 bin=$2 expect=$3 i rc
    for i in $(seq 1 "$RUNS"); do
        quiet "$label-$i"
        rc=0
        /usr/bin/time -v -o "$RES/$label-$i.timev" "$bin" check "$WORK/farm.toml" --timeout 3 \
            --artifacts full --no-state --json >"$RES/$label-$i.json" || rc=$?
        python3 - "$RES/$label-$i.json" "$WORK/ready.json" "$rc" "$expect" <<'EOF'
import json, sys
report, ready = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rc, expect = int(sys.argv[3]), sys.argv[4]
by = {m["url"]: m for m in report["mirrors"]}
n = len(ready["honest"]) + len(ready["silent"]) + len(ready["junk"])
assert len(by) == n, (len(by), n)
bad = [u for u in ready["honest"] if by[u]["status"] != "ok"
       or [a["status"] for a in by[u]["artifacts"]] != ["ok"]]
assert not bad, ("honest not ok", [(u, by[u]["status"], by[u]["error"]) for u in bad[:3]])
bad = [u for u in ready["silent"] if by[u]["status"] != "unreachable"]
assert not bad, ("silent not unreachable", bad[:3])
bad = [u for u in ready["junk"] if by[u]["status"] != expect]
assert not bad, ("junk not " + expect, [(u, by[u]["status"], by[u]["error"]) for u in bad[:3]])
assert rc == (1 if ready["silent"] or ready["junk"] else 0), rc
skipped = sum("not asked" in (by[u]["error"] or "") for u in ready["silent"])
print(f"  {len(ready['honest'])} ok, {len(ready['silent'])} silent unreachable "
      f"({skipped} not asked), {len(ready['junk'])} junk {expect}, exit {rc}")
EOF
        grep -E "Elapsed|Maximum resident" "$RES/$label-$i.timev" >&2
    done
}

if [ "${BENCH_ONLY:-sweep}" = sweep ]; then
    log "benchmark 1: 10,000 entries on 110 hosts (1,000 on 10 silent hosts), --timeout 3"
    farm_start --honest-hosts 100 --per-honest 90 --silent-hosts 10 --per-silent 100
    measure sweep "$BIN" invalid
    if [ -n "$OLD" ] && [ -n "${BENCH_OLD_SWEEP:-}" ]; then
        measure sweep-old "$OLD" invalid
    fi
    farm_stop
fi

if [ "${BENCH_ONLY:-junk}" = junk ]; then
    log "benchmark 2: 600 hosts serving 1 MiB of junk, plus 10 honest entries"
    farm_start --honest-hosts 1 --per-honest 10 --silent-hosts 0 --junk-hosts 600 --per-junk 1
    measure junk "$BIN" invalid
    if [ -n "$OLD" ]; then
        measure junk-old "$OLD" invalid
    fi
    farm_stop
fi

python3 - "$RES" "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')" >"$REPORT" <<'EOF'
import glob, json, os, re, sys
res, commit = sys.argv[1], sys.argv[2]
def timev(path):
    t = open(path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t).group(1)
    secs = 0.0
    for p in w.split(":"):
        secs = secs * 60 + float(p)
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
    return secs, rss, cpu
quiet = [json.loads(l) for l in open(os.path.join(res, "quiet.jsonl"))] if os.path.exists(os.path.join(res, "quiet.jsonl")) else []
print(f"Commit {commit}; load average before each run: " + ", ".join(f"{q['label']} {q['loadavg']}" for q in quiet))
print()
print("| run | wall (s) each | peak RSS (MiB) max | CPU user+sys (s) mean |")
print("| --- | --- | --- | --- |")
for label in ("sweep", "sweep-old", "junk", "junk-old"):
    runs = [timev(p) for p in sorted(glob.glob(os.path.join(res, f"{label}-[0-9]*.timev")))]
    if runs:
        print(f"| {label} | {', '.join(f'{w:.2f}' for w, _, _ in runs)} | {max(r for _, r, _ in runs):.1f} | {sum(c for _, _, c in runs) / len(runs):.2f} |")
EOF
cat "$REPORT"
log "report written to $REPORT"
