#!/usr/bin/env bash
# mirrorproof benchmarks, side by side with reference tools. See docs/BENCHMARKS.md.
#
#   scripts/bench.sh                 # full run (2 x 1 GiB artifacts, 300 loopback mirrors)
#   BENCH_SIZE_MIB=64 scripts/bench.sh   # quick smoke run with smaller artifacts
#
# Environment:
#   BENCH_SIZE_MIB   size of each large artifact in MiB (default 1024)
#   BENCH_RUNS       hyperfine runs per command for benchmarks 1 and 3 (default 5)
#   BENCH_RUNS_NET   hyperfine runs for benchmark 2 (default 5)
#   BENCH_REPORT     where the Markdown results are written (default /tmp/mirrorproof-bench-report.md)
#   BENCH_QUIET_WAIT seconds to wait at most for an idle machine before each benchmark (default 120)
#   BENCH_BIN        benchmark this mirrorproof binary instead of building target/release/mirrorproof
#   BENCH_MAX_OTHER  rerun a benchmark when other work took more than this % of the CPUs (15)
#   BENCH_ATTEMPTS   at most this many attempts per benchmark (default 3)
#   BENCH_DEAD_SWEEP optional list of black-hole counts, e.g. "64 100 150": one extra run of
#                    benchmark 2 each (300 mirrors in all), to show how wall time grows
#   BENCH_TMP        parent directory for the scratch directory (default /tmp)
#   BENCH_KEEP_RESULTS  if set, a directory where the raw results (hyperfine JSON, time -v
#                    output, check reports) are copied before the scratch directory is removed
#
# 1. verify: `mirrorproof verify PROFILE --release ENVELOPE FILE` on a 1 GiB artifact whose release
#    lists sha256 and sha512, against `openssl dgst -sha256` and `sha256sum`, warm page cache.
# 2. check: 300 loopback HTTP mirrors, 30 of them black holes (accept, never answer),
#    `check --timeout 2 --artifacts full --no-state`.
# 3. check: one local-directory mirror carrying 2 x 1 GiB artifacts, against `sha256sum A B`.
#
# Everything big lives in a scratch directory under /tmp, removed on exit; the loopback servers
# listen on 127.0.0.0/8 only and are killed on exit (they also stop on their own after 15 min).
# Benchmarks measure; they do not fail on a missed target. They do fail if a result is wrong
# (a verify that does not say OK, a mirror with an unexpected status).

set -euo pipefail

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-5}
RUNS_NET=${BENCH_RUNS_NET:-5}
REPORT=${BENCH_REPORT:-/tmp/mirrorproof-bench-report.md}
TMP_PARENT=${BENCH_TMP:-/tmp}
RSS_RUNS=3

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing (Debian/Ubuntu).
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v sha256sum >/dev/null || need+=(coreutils)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need[@]}"
fi


# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d "$TMP_PARENT/mirrorproof-bench.XXXXXX")
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
git -C "$REPO" rev-parse HEAD >"$RES/git-commit" 2>/dev/null || true
git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock >"$RES/git-dirty" 2>/dev/null || true
sha256sum "$BIN" | cut -d' ' -f1 >"$RES/bin-sha256"

mp() { "$BIN" "$@"; }

log "test world in $WORK"
mp keygen --out "$WORK/release-key" >/dev/null
mp root new --project benchos --expires +30d \
    --root-key "$WORK/release-key.pub" --release-key "$WORK/release-key.pub" \
    --out "$WORK/root.json" >/dev/null
mp sign --key "$WORK/release-key.key" "$WORK/root.json" >/dev/null
cat >"$WORK/bench.toml" <<EOF
name = "benchos"
root = "root.json"
channel = "stable"
EOF

# Large release: two artifacts of SIZE_MIB each, listing BOTH sha256 and sha512.
log "writing 2 x $SIZE_MIB MiB of random artifacts"
mkdir -p "$WORK/big"
for f in big-a.bin big-b.bin; do
    head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/big/$f"
done
mp release new --project benchos --channel stable --version 1 --expires +30d \
    --artifacts "$WORK/big" --hash sha256,sha512 --out "$WORK/release-big.json" >/dev/null
mp sign --key "$WORK/release-key.key" "$WORK/release-big.json" >/dev/null
mp mirror build --out "$WORK/mirror" --release "$WORK/release-big.json" --root "$WORK/root.json" >/dev/null
mkdir -p "$WORK/mirror/artifacts"
mv "$WORK/big/big-a.bin" "$WORK/big/big-b.bin" "$WORK/mirror/artifacts/"
A="$WORK/mirror/artifacts/big-a.bin"
B="$WORK/mirror/artifacts/big-b.bin"
python3 - "$WORK/release-big.json" <<'EOF'
import base64, json, sys
doc = json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))
for name, a in doc["artifacts"].items():
    assert "sha256" in a and "sha512" in a, (name, a)
EOF

# Small release for the loopback farm.
mkdir -p "$WORK/small"
head -c 65536 /dev/urandom >"$WORK/small/benchos-small.img"
mp release new --project benchos --channel stable --version 1 --expires +30d \
    --artifacts "$WORK/small" --out "$WORK/release-small.json" >/dev/null
mp sign --key "$WORK/release-key.key" "$WORK/release-small.json" >/dev/null
mp mirror build --out "$WORK/farm-tree" --release "$WORK/release-small.json" \
    --artifacts "$WORK/small" --root "$WORK/root.json" >/dev/null

# Max RSS (and wall, CPU) with GNU time, RSS_RUNS times; output ignored, exit status kept.
timev() { # label cmd...
    local label=$1 i
    shift
    for i in $(seq 1 "$RSS_RUNS"); do
        /usr/bin/time -v -o "$RES/timev-$label-$i.txt" "$@" >/dev/null 2>&1 || true
    done
}

warm() { cat "$@" >/dev/null; }

# Other work on the machine (a build, another benchmark) skews every figure on 2 cores:
# wait up to BENCH_QUIET_WAIT s for a quiet second before each benchmark, and log how busy
# the machine was before and after it.
cpustat() { # label: snapshot of the machine's CPU counters (contention check in the report)
    { date +%s.%N; head -1 /proc/stat; } >"$RES/stat-$1"
}
quiet() { # label [max-wait]
    python3 "$HERE/bench/quiet.py" --label "$1${ATTEMPT_TAG:-}" --log "$RES/quiet.jsonl" \
        --max-wait "${2:-${BENCH_QUIET_WAIT:-120}}"
}
# Runs a benchmark function, and again (BENCH_ATTEMPTS in all) while other work took more than
# BENCH_MAX_OTHER % of the CPUs during it; the last attempt's results are kept.
attempts() { # bench function
    local b=$1 fn=$2 n other
    for n in $(seq 1 "${BENCH_ATTEMPTS:-3}"); do
        ATTEMPT_TAG=" (attempt $n)"
        "$fn"
        echo "$n" >"$RES/attempts-$b"
        other=$(python3 "$HERE/bench/benchlib.py" other "$RES" "$b")
        if [ "$other" -le "${BENCH_MAX_OTHER:-15}" ]; then
            break
        fi
        log "$b: other work took $other % of the CPUs during the run (attempt $n)"
    done
    ATTEMPT_TAG=
}

# ---------------------------------------------------------------------------------------------
log "benchmark 1: verify one $SIZE_MIB MiB artifact (sha256+sha512 listed) vs openssl, sha256sum"
CMD_VERIFY="$BIN verify $WORK/bench.toml --release $WORK/release-big.json $A"
CMD_OPENSSL="openssl dgst -sha256 $A"
CMD_SHA256SUM="sha256sum $A"
out=$($CMD_VERIFY)
echo "$out"
case "$out" in OK*) ;; *) echo "verify did not say OK" >&2; exit 1 ;; esac
bench1() {
    warm "$A"
    quiet b1-before
    cpustat b1-start
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$RES/b1.json" \
        "$CMD_VERIFY" "$CMD_OPENSSL" "$CMD_SHA256SUM"
    timev b1-mirrorproof $CMD_VERIFY
    timev b1-openssl $CMD_OPENSSL
    timev b1-sha256sum $CMD_SHA256SUM
    cpustat b1-end
    quiet b1-after 0
}
attempts b1 bench1

# ---------------------------------------------------------------------------------------------
log "benchmark 2: 300 loopback mirrors, 30 black holes, --timeout 2 --artifacts full"
farm_start() { # honest blackholes: start the loopback farm, wait until it is ready
    rm -f "$WORK/farm-ready.json"
    python3 "$HERE/bench/loopback_mirrors.py" --tree "$WORK/farm-tree" --root-json "$WORK/root.json" \
        --profile-out "$WORK/farm.toml" --ready-file "$WORK/farm-ready.json" \
        --honest "$1" --blackholes "$2" --honest-addrs 30 --lifetime 900 &
    FARM_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$WORK/farm-ready.json" ] && break
        kill -0 "$FARM_PID" 2>/dev/null || { echo "loopback farm died" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$WORK/farm-ready.json" ] || { echo "loopback farm not ready" >&2; exit 1; }
}
farm_stop() {
    kill "$FARM_PID" 2>/dev/null || true
    wait "$FARM_PID" 2>/dev/null || true
    FARM_PID=
}
farm_start 270 30

CMD_FARM="$BIN check $WORK/farm.toml --timeout 2 --artifacts full --no-state --json"
rc=0
$CMD_FARM >"$RES/b2-report.json" || rc=$?
python3 - "$RES/b2-report.json" "$WORK/farm-ready.json" "$rc" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
ready = json.load(open(sys.argv[2]))
rc = int(sys.argv[3])
status = {m["url"]: m for m in report["mirrors"]}
assert len(status) == 300, len(status)
bad = [u for u in ready["honest"] if status[u]["status"] != "ok"
       or [a["status"] for a in status[u]["artifacts"]] != ["ok"]]
assert not bad, ("honest mirrors not ok", [(u, status[u]["status"], status[u]["error"]) for u in bad[:5]])
bad = [u for u in ready["blackholes"] if status[u]["status"] != "unreachable"]
assert not bad, ("black holes not unreachable", [(u, status[u]["status"]) for u in bad[:5]])
assert report["artifacts_mode"] == "full"
assert rc == 1, f"exit status {rc}, expected 1 (some mirrors not ok)"
print(f"benchmark 2 statuses as expected: {len(ready['honest'])} ok, "
      f"{len(ready['blackholes'])} unreachable, exit status {rc}")
EOF
bench2() {
    quiet b2-before
    cpustat b2-start
    hyperfine -N -i --warmup 1 --runs "$RUNS_NET" --export-json "$RES/b2.json" "$CMD_FARM"
    timev b2-mirrorproof $CMD_FARM
    cpustat b2-end
    quiet b2-after 0
}
attempts b2 bench2
farm_stop

# Optional: how the wall time grows with the number of dead mirrors (one run each).
for dead in ${BENCH_DEAD_SWEEP:-}; do
    log "dead-mirror sweep: 300 mirrors, $dead black holes"
    farm_start $((300 - dead)) "$dead"
    /usr/bin/time -v -o "$RES/sweep-$dead.timev" $CMD_FARM >"$RES/sweep-$dead.json" || true
    farm_stop
done

# ---------------------------------------------------------------------------------------------
log "benchmark 3: check one local mirror with 2 x $SIZE_MIB MiB artifacts vs sha256sum A B"
CMD_CHECK2="$BIN check $WORK/bench.toml --mirror $WORK/mirror=FR --only-cli-mirrors --artifacts full --no-state --json"
CMD_SHA_SEQ="sha256sum $A $B"
CMD_OPENSSL_SEQ="openssl dgst -sha256 $A $B"
$CMD_CHECK2 >"$RES/b3-report.json"
python3 - "$RES/b3-report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
m, = r["mirrors"]
assert r["ok"] and m["status"] == "ok", m
assert sorted(a["status"] for a in m["artifacts"]) == ["ok", "ok"], m["artifacts"]
print("benchmark 3: mirror ok, both artifacts ok")
EOF
bench3() {
    warm "$A" "$B"
    quiet b3-before
    cpustat b3-start
    hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$RES/b3.json" \
        "$CMD_CHECK2" "$CMD_SHA_SEQ" "$CMD_OPENSSL_SEQ"
    timev b3-mirrorproof $CMD_CHECK2
    timev b3-sha256sum $CMD_SHA_SEQ
    timev b3-openssl $CMD_OPENSSL_SEQ
    cpustat b3-end
    quiet b3-after 0
}
attempts b3 bench3

# ---------------------------------------------------------------------------------------------
log "report"
python3 "$HERE/bench/report.py" --results "$RES" --work "$WORK" --bin "$BIN" --repo "$REPO" \
    --size-mib "$SIZE_MIB" --runs "$RUNS" --runs-net "$RUNS_NET" >"$REPORT"
cat "$REPORT"
log "report written to $REPORT"
