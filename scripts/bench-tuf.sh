#!/usr/bin/env bash
# TUF benchmarks (docs/BENCHMARKS.md, "TUF"), side by side with python-tuf in one run.
#
#   scripts/bench-tuf.sh                          # everything, about 10 minutes on a quiet machine
#   BENCH_ONLY=refresh scripts/bench-tuf.sh       # only part 1 (client against python-tuf)
#   BENCH_ONLY=sweep scripts/bench-tuf.sh         # only part 2 (check over 300 mirrors)
#   BENCH_TUF_TARGETS=1000 BENCH_TUF_BIG_MIB=8 BENCH_RUNS=3 scripts/bench-tuf.sh   # smoke run
#
# The repositories are made with python-tuf's Metadata API (scripts/bench/tuf_repo.py): a root
# chain of 5 versions (threshold 2 of 3 root keys, one key replaced per version), top-level
# targets with 10,000 entries delegating to 1,024 succinct hash bins (10,000 more entries),
# snapshot listing all 1,025 targets roles, consistent snapshots; one repository per key type
# (ed25519, ecdsa-sha2-nistp256). The loopback farm (scripts/bench/farm.rs) serves them.
#
# 1. Refresh and download: `mirrorproof tuf-client` against python-tuf's ngclient behind the
#    same command line (tests/tuf/ngclient_cli.py, the differential suite's driver), hyperfine -N:
#      cold:     `--metadata-url U --metadata-dir D refresh`, D emptied and `init ROOT` (root
#                version 1) before every run (--prepare): 5 roots, timestamp, snapshot, targets;
#      warm:     the same command, nothing changed since the last refresh;
#      download: `--metadata-url U --metadata-dir D --target-name big/payload.bin
#                --target-dir TD --target-base-url TU download`, one 100 MiB target in a hash
#                bin, TD emptied before every run, metadata warm.
#    Peak RSS from GNU time -v. Before timing, both clients must accept the repository, reach
#    root version 5 and store the served targets.json byte for byte, store the 100 MiB file
#    with the signed sha256, and refuse a copy of the repository whose targets.json has one
#    signed length changed.
# 2. 300-mirror sweep: `mirrorproof check PROFILE --timeout 2 --no-state --json` with a
#    `scheme = "tuf"` profile over 270 loopback mirrors of one repository (30 hosts, 9 mirrors
#    each) and 30 black holes (accept, never answer), for two repository shapes: "small"
#    (Sigstore-like: 5 roots, 10 targets, no delegation) and "large" (the ed25519 repository
#    of part 1). The profile names one target (`trusted_root.json`, 8 KiB), checked on every
#    mirror. Before timing, one report is checked: 270 ok with the target ok, 30 unreachable.
#    The large shape runs with `--max-metadata-bytes 5000000` (the clients' targets limit).
#
# Environment:
#   BENCH_ONLY            "refresh" or "sweep"
#   BENCH_TUF_KEYTYPES    key types of part 1 (default "ed25519 ecdsa")
#   BENCH_TUF_TARGETS     entries in top-level targets, and in the bins together (10000)
#   BENCH_TUF_BIN_BITS    2^N succinct hash bins (10)
#   BENCH_TUF_ROOTS       root versions (5)
#   BENCH_TUF_BIG_MIB     size of the downloaded target (100; 0 skips the download benchmark)
#   BENCH_TUF_SWEEP_SHAPES  repository shapes of part 2 (default "small large")
#   BENCH_RUNS            hyperfine runs, refresh (10); BENCH_RUNS_BIG download (5);
#                         BENCH_RUNS_NET sweep (5); 1 warm-up run each
#   BENCH_RSS_RUNS        GNU time runs per command for peak RSS (3)
#   BENCH_QUIET_WAIT      seconds to wait at most for an idle second before each benchmark (120)
#   BENCH_MAX_OTHER       run a benchmark again if other work took more than this % of the CPUs (15)
#   BENCH_ATTEMPTS        attempts per benchmark at most; the last one is reported (3)
#   BENCH_BIN             benchmark this binary instead of building target/release/mirrorproof
#   BENCH_PYTHON          python with tuf 7.0.1 to use (default: what scripts/install-python-tuf.sh
#                         installs, pinned, into target/pytuf-venv)
#   BENCH_REPORT          where the Markdown results go (/tmp/mirrorproof-bench-tuf.md)
#   BENCH_TMP             parent of the scratch directory (/tmp)
#   BENCH_KEEP_RESULTS    directory to copy the raw results into (hyperfine JSON, time -v, reports)
#
# Benchmarks measure; the script stops only on a wrong result (a client that fails or accepts a
# tampered repository, a mirror whose status is not the expected one), never on a slow one.
# The farm listens on 127.0.0.0/8 only, stops on its own after 30 minutes and is killed by PID
# on exit; the scratch directory is removed on exit.

set -euo pipefail

KEYTYPES=${BENCH_TUF_KEYTYPES:-ed25519 ecdsa}
NTARGETS=${BENCH_TUF_TARGETS:-10000}
BIN_BITS=${BENCH_TUF_BIN_BITS:-10}
ROOTS=${BENCH_TUF_ROOTS:-5}
BIG_MIB=${BENCH_TUF_BIG_MIB:-100}
SHAPES=${BENCH_TUF_SWEEP_SHAPES:-small large}
RUNS=${BENCH_RUNS:-10}
RUNS_BIG=${BENCH_RUNS_BIG:-5}
RUNS_NET=${BENCH_RUNS_NET:-5}
RSS_RUNS=${BENCH_RSS_RUNS:-3}
ONLY=${BENCH_ONLY:-}
REPORT=${BENCH_REPORT:-/tmp/mirrorproof-bench-tuf.md}
TMP_PARENT=${BENCH_TMP:-/tmp}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"
die() { printf 'bench-tuf: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Tools: apt-get for what is missing; python-tuf from PyPI, pinned, by the project's installer.
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null || need+=(python3 python3-venv)
command -v rustc >/dev/null || die "needs rustc (for the loopback farm)"
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

if [ -n "${BENCH_PYTHON:-}" ]; then
    PY=$BENCH_PYTHON
else
    log "python-tuf with scripts/install-python-tuf.sh"
    PY=$("$REPO/scripts/install-python-tuf.sh" | tail -n 1)
fi
"$PY" -c 'import tuf.ngclient, securesystemslib.signer' || die "$PY has no python-tuf"
# The differential suite's driver: ngclient behind the conformance command line.
NG="$REPO/tests/tuf/ngclient_cli.py"
[ -f "$NG" ] || die "no $NG"

# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d "$TMP_PARENT/mirrorproof-bench-tuf.XXXXXX")
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
mkdir -p "$RES" "$WORK/repos"

bench_binary "$WORK" "$REPO"
# A private copy: another build in the same tree must not swap the binary mid-run.
BIN="$WORK/mirrorproof"
git -C "$REPO" rev-parse HEAD >"$RES/git-commit" 2>/dev/null || true
git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock >"$RES/git-dirty" 2>/dev/null || true
sha256sum "$BIN" | cut -d' ' -f1 >"$RES/bin-sha256"
echo "$NG" >"$RES/ngclient"
echo "$PY" >"$RES/python"
echo "$KEYTYPES" >"$RES/keytypes"
echo "$SHAPES" >"$RES/shapes"
log "building the loopback farm (rustc -O)"
rustc --edition 2021 -O -o "$WORK/farm" "$HERE/bench/farm.rs"

# ---------------------------------------------------------------------------------------------
# The repositories (python-tuf's Metadata API), under $WORK/repos/NAME/{metadata,targets}.
gen() { # name options...
    local name=$1
    shift
    log "repository $name: $*"
    "$PY" "$HERE/bench/tuf_repo.py" --out "$WORK/repos/$name" --root-versions "$ROOTS" "$@" \
        2>"$RES/shape-$name.log"
    cp "$WORK/repos/$name/shape.json" "$RES/shape-$name.json"
}
first_kt=${KEYTYPES%% *}
if [ "$ONLY" != sweep ]; then
    for kt in $KEYTYPES; do
        big=0
        [ "$kt" = "$first_kt" ] && big=$BIG_MIB
        gen "$kt" --keytype "$kt" --targets "$NTARGETS" --bin-bits "$BIN_BITS" \
            --bin-targets "$NTARGETS" --big-mib "$big"
    done
    # The first repository with one signed length in targets.json changed: both clients must
    # refuse it (the signature no longer matches).
    mkdir -p "$WORK/repos/tampered"
    cp -r "$WORK/repos/$first_kt/metadata" "$WORK/repos/tampered/metadata"
    python3 - "$WORK/repos/tampered/metadata/1.targets.json" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
m = re.search(r'"length": (\d+)', s)
s = s[:m.start(1)] + str(int(m.group(1)) + 1) + s[m.end(1):]
open(p, "w").write(s)
EOF
fi
if [ "$ONLY" != refresh ]; then
    for shape in $SHAPES; do
        case $shape in
        small) gen small --keytype ecdsa --targets 10 --bin-bits 0 --big-mib 0 ;;
        large) [ -d "$WORK/repos/$first_kt" ] || gen "$first_kt" --keytype "$first_kt" \
            --targets "$NTARGETS" --bin-bits "$BIN_BITS" --bin-targets "$NTARGETS" --big-mib 0 ;;
        *) die "unknown sweep shape $shape (small, large)" ;;
        esac
    done
fi

# One farm serves every repository: GET /ENTRY/NAME/metadata/... -> $WORK/repos/NAME/metadata/...
# 270 mirror entries on 30 hosts (127.0.0.2-31, 9 each) and 30 black holes (127.0.0.101-130).
log "starting the loopback farm"
touch "$WORK/unused-root.json"
(
    ulimit -n "$(ulimit -Hn)"
    exec "$WORK/farm" --tree "$WORK/repos" --root-json "$WORK/unused-root.json" \
        --profile-out "$WORK/farm.toml" --ready-file "$WORK/ready.json" --lifetime 1800 \
        --honest-hosts 30 --per-honest 9 --silent-hosts 30 --per-silent 1
) &
FARM_PID=$!
for _ in $(seq 1 100); do
    [ -s "$WORK/ready.json" ] && break
    kill -0 "$FARM_PID" 2>/dev/null || die "the farm died"
    sleep 0.1
done
[ -s "$WORK/ready.json" ] || die "the farm is not ready"
ENTRY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["honest"][0])' "$WORK/ready.json")

# ---------------------------------------------------------------------------------------------
quiet() { # label [max-wait]
    python3 "$HERE/bench/quiet.py" --label "$1" --log "$RES/quiet.jsonl" \
        --max-wait "${2:-${BENCH_QUIET_WAIT:-120}}"
}
# Time, the machine's CPU counters, and the farm's own CPU ticks (utime + stime), so that the
# contention check can tell the server's work from unrelated work.
cpustat() {
    {
        date +%s.%N
        head -1 /proc/stat
        awk '{print $14 + $15}' "/proc/$FARM_PID/stat" 2>/dev/null || echo 0
    } >"$RES/stat-$1"
}

# Runs one command line the way hyperfine -N does (words; single quotes group).
run_words() { # command-line [time -v output]
    local -a argv
    eval "argv=($1)"
    if [ -n "${2:-}" ]; then
        /usr/bin/time -v -o "$2" "${argv[@]}"
    else
        "${argv[@]}"
    fi
}

# One benchmark: NAME RUNS then, per command, LABEL PREPARE COMMAND. hyperfine -N with one
# warm-up run, then RSS_RUNS runs of each command under GNU time (prepare step first, timed
# too, so that the contention check can tell it from other work). Runs again, up to
# BENCH_ATTEMPTS times, when other work took more than BENCH_MAX_OTHER % of the CPUs.
bench() {
    local name=$1 runs=$2 n i j other
    shift 2
    local -a labels=() preps=() cmds=() hf=()
    while [ $# -gt 0 ]; do
        labels+=("$1") preps+=("$2") cmds+=("$3")
        shift 3
    done
    for j in "${!labels[@]}"; do
        hf+=(-n "${labels[$j]}" --prepare "${preps[$j]}" "${cmds[$j]}")
        printf '%s\t%s\t%s\n' "${labels[$j]}" "${preps[$j]}" "${cmds[$j]}"
    done >"$RES/cmds-$name.tsv"
    for n in $(seq 1 "${BENCH_ATTEMPTS:-3}"); do
        log "$name (attempt $n)"
        quiet "$name-before (attempt $n)"
        rm -f "$RES/timev-$name-"* "$RES/prep-$name-"*
        cpustat "$name-start"
        # shellcheck disable=SC2086
        hyperfine -N ${HF_FLAGS:-} --warmup 1 --runs "$runs" --export-json "$RES/$name.json" \
            --export-markdown "$RES/$name.md" "${hf[@]}"
        for i in $(seq 1 "$RSS_RUNS"); do
            for j in "${!labels[@]}"; do
                run_words "${preps[$j]}" "$RES/prep-$name-$j-$i.txt" >/dev/null 2>&1
                run_words "${cmds[$j]}" "$RES/timev-$name-$j-$i.txt" >"$RES/out-$name-$j-$i" 2>&1 || true
            done
        done
        cpustat "$name-end"
        quiet "$name-after (attempt $n)" 0
        echo "$n" >"$RES/attempts-$name"
        other=$(python3 "$HERE/bench/tuf_report.py" other "$RES" "$name" "$runs")
        if [ "$other" -le "${BENCH_MAX_OTHER:-15}" ]; then
            break
        fi
        log "$name: other work took $other % of the CPUs during the run (attempt $n)"
    done
}

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M')"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "nproc=$(nproc)"
    echo "sha_ni=$(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
    echo "mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "mirrorproof=$("$BIN" --version 2>/dev/null || echo mirrorproof)"
    echo "hyperfine=$(hyperfine --version)"
    echo "python=$("$PY" --version 2>&1)"
    echo "pytuf=$("$PY" -c 'import tuf, securesystemslib, cryptography, urllib3; print(f"tuf {tuf.__version__}, securesystemslib {securesystemslib.__version__}, cryptography {cryptography.__version__}, urllib3 {urllib3.__version__}")')"
    echo "entry=$ENTRY"
    echo "work=$WORK"
} >"$RES/machine"

# ---------------------------------------------------------------------------------------------
# Part 1: refresh and download, mirrorproof tuf-client and python-tuf side by side.
if [ "$ONLY" != sweep ]; then
    MP="$BIN tuf-client"
    PT="$PY $NG"
    for kt in $KEYTYPES; do
        U="${ENTRY}$kt/metadata/"
        ROOT="$WORK/repos/$kt/metadata/1.root.json"
        log "checking both clients on the $kt repository before timing"
        for who in mp py; do
            cli=$MP
            [ $who = py ] && cli=$PT
            D="$WORK/md-$who-$kt"
            rm -rf "$D"
            run_words "$cli --metadata-dir $D init $ROOT" || die "$who: init failed"
            run_words "$cli --metadata-url $U --metadata-dir $D refresh" || die "$who: cold refresh failed ($kt)"
            v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' "$D/root.json")
            [ "$v" = "$ROOTS" ] || die "$who: trusts root version $v after refresh, expected $ROOTS"
            cmp -s "$D/targets.json" "$WORK/repos/$kt/metadata/1.targets.json" ||
                die "$who: stored targets.json differs from the served one"
            run_words "$cli --metadata-url $U --metadata-dir $D refresh" || die "$who: warm refresh failed ($kt)"
            if [ "$kt" = "$first_kt" ]; then
                T="$WORK/tamper-$who"
                rm -rf "$T"
                run_words "$cli --metadata-dir $T init $ROOT"
                if run_words "$cli --metadata-url ${ENTRY}tampered/metadata/ --metadata-dir $T refresh" 2>"$RES/tampered-$who.txt"; then
                    die "$who accepted a targets.json with a changed length"
                fi
                printf '   %s refused the tampered repository: %s\n' "$who" "$(head -c 300 "$RES/tampered-$who.txt")" >&2
            fi
            printf '   %s ok: root v%s, targets.json as served (%s)\n' "$who" "$v" "$kt" >&2
        done
        bench "cold-$kt" "$RUNS" \
            "mirrorproof tuf-client" "sh -c 'rm -rf $WORK/md-mp-$kt && exec $MP --metadata-dir $WORK/md-mp-$kt init $ROOT'" \
            "$MP --metadata-url $U --metadata-dir $WORK/md-mp-$kt refresh" \
            "python-tuf ngclient" "sh -c 'rm -rf $WORK/md-py-$kt && exec $PT --metadata-dir $WORK/md-py-$kt init $ROOT'" \
            "$PT --metadata-url $U --metadata-dir $WORK/md-py-$kt refresh"
        bench "warm-$kt" "$RUNS" \
            "mirrorproof tuf-client" "true" "$MP --metadata-url $U --metadata-dir $WORK/md-mp-$kt refresh" \
            "python-tuf ngclient" "true" "$PT --metadata-url $U --metadata-dir $WORK/md-py-$kt refresh" \
            "python start-up + import tuf.ngclient" "true" "$PY -c 'import tuf.ngclient'"
    done
    if [ "$BIG_MIB" -gt 0 ]; then
        kt=$first_kt
        U="${ENTRY}$kt/metadata/"
        TU="${ENTRY}$kt/targets/"
        want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["big_sha256"])' "$RES/shape-$kt.json")
        log "checking both downloads of big/payload.bin before timing"
        for who in mp py; do
            cli=$MP
            [ $who = py ] && cli=$PT
            TD="$WORK/td-$who"
            rm -rf "$TD"
            run_words "$cli --metadata-url $U --metadata-dir $WORK/md-$who-$kt --target-name big/payload.bin --target-dir $TD --target-base-url $TU download" ||
                die "$who: download failed"
            got=$(find "$TD" -type f -exec sha256sum {} + | cut -d' ' -f1)
            [ "$got" = "$want" ] || die "$who: downloaded file has sha256 $got, signed $want"
            printf '   %s stored big/payload.bin with the signed sha256\n' "$who" >&2
        done
        bench download "$RUNS_BIG" \
            "mirrorproof tuf-client" "rm -rf $WORK/td-mp" \
            "$MP --metadata-url $U --metadata-dir $WORK/md-mp-$kt --target-name big/payload.bin --target-dir $WORK/td-mp --target-base-url $TU download" \
            "python-tuf ngclient" "rm -rf $WORK/td-py" \
            "$PT --metadata-url $U --metadata-dir $WORK/md-py-$kt --target-name big/payload.bin --target-dir $WORK/td-py --target-base-url $TU download" \
            "curl to a file + sha256sum" "rm -f $WORK/curl.bin" \
            "sh -c 'curl -sS -o $WORK/curl.bin ${TU}big/$want.payload.bin && sha256sum $WORK/curl.bin'"
    fi
fi

# ---------------------------------------------------------------------------------------------
# Part 2: `check` with a tuf profile over 300 loopback mirrors, 30 of them black holes.
if [ "$ONLY" != refresh ]; then
    for shape in $SHAPES; do
        dir=small
        [ "$shape" = large ] && dir=$first_kt
        P="$WORK/tuf-$shape.toml"
        # The farm's profile lists the entries in a fixed shuffle; keep that order and turn
        # each entry into a metadata URL and a targets URL of this repository.
        python3 - "$WORK/farm.toml" "$P" "$dir" "$WORK/repos/$dir/metadata/1.root.json" <<'EOF'
import json, re, sys
src, dst, name, root = sys.argv[1:5]
out = ['name = "tufbench"', 'scheme = "tuf"', f"root = {json.dumps(root)}",
       'targets = ["trusted_root.json"]', ""]
for url, country in re.findall(r'url = "([^"]+)"\ncountry = "([A-Z]+)"', open(src).read()):
    out += ["[[mirrors]]", f'url = "{url}{name}/metadata/"',
            f'targets_url = "{url}{name}/targets/"', f'country = "{country}"', ""]
assert len(out) > 300 * 5, "the farm profile lists fewer than 300 mirrors"
open(dst, "w").write("\n".join(out))
EOF
        CMD="$BIN check $P --timeout 2 --no-state --json"
        # check caps every metadata document at --max-metadata-bytes (1 MiB by default), below
        # the 5 MB that tuf-client and python-tuf allow a targets role: the large repository's
        # 1.77 MB targets.json needs the client's limit (docs/BENCHMARKS.md, "TUF").
        [ "$shape" = large ] && CMD="$CMD --max-metadata-bytes 5000000"
        echo "$CMD" >"$RES/sweep-$shape.cmd"
        # One report checked before timing. On a loaded machine the farm or the client can be
        # starved for more than half the timeout, and check then rightly calls a host slow or
        # unreachable: wait for a quiet moment and try again, up to BENCH_ATTEMPTS times.
        for n in $(seq 1 "${BENCH_ATTEMPTS:-3}"); do
            log "sweep $shape: checking one report before timing (attempt $n)"
            quiet "sweep-$shape-check (attempt $n)"
            rc=0
            run_words "$CMD" >"$RES/sweep-$shape-report.json" 2>"$RES/sweep-$shape-stderr.txt" || rc=$?
            if python3 "$HERE/bench/tuf_report.py" sweep-check "$RES/sweep-$shape-report.json" \
                "$WORK/ready.json" "$dir" "$rc" "$RES/sweep-$shape-check.json"; then
                break
            fi
            [ "$n" -lt "${BENCH_ATTEMPTS:-3}" ] ||
                die "sweep $shape: unexpected report (stderr: $(head -c 400 "$RES/sweep-$shape-stderr.txt"))"
        done
        HF_FLAGS=-i bench "sweep-$shape" "$RUNS_NET" "mirrorproof check" "true" "$CMD"
        # The GNU time runs' reports too (their exit status is not kept: 1 assumed).
        good=0
        for i in $(seq 1 "$RSS_RUNS"); do
            if python3 "$HERE/bench/tuf_report.py" sweep-check "$RES/out-sweep-$shape-0-$i" \
                "$WORK/ready.json" "$dir" 1 "$RES/sweep-$shape-rss-$i.json" 2>/dev/null; then
                good=$((good + 1))
            fi
        done
        echo "$good $RSS_RUNS" >"$RES/sweep-$shape-rss-good"
    done
fi

log "report"
python3 "$HERE/bench/tuf_report.py" report "$RES" "$BIN" "$WORK" >"$REPORT"
cat "$REPORT"
log "report written to $REPORT"
