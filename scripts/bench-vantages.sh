#!/usr/bin/env bash
# Vantage benchmark: 300 loopback mirrors checked through 5 SOCKS5 vantages (1,500 entries).
# See docs/BENCHMARKS.md, "Vantages: 300 mirrors through 5 vantages".
#
#   scripts/bench-vantages.sh
#   BENCH_RUNS=5 BENCH_QUIET_WAIT=120 scripts/bench-vantages.sh
#
# World: a native-scheme release (one 64 KiB artifact) served by the loopback farm
# (scripts/bench/farm.rs, built with rustc -O): 30 honest hosts (127.0.0.2-31) with 9 mirror
# entries each and 30 black holes (127.0.0.101-130: accept, never answer), 300 entries in a
# fixed shuffle. Five `microsocks` SOCKS5 proxies on 127.0.0.1, one per "country" (installed
# with apt-get when missing). Every run is
#   mirrorproof check FARM.toml --timeout 2 --artifacts full --no-state --json --vantage ...
# and every report is checked (each good vantage: 270 ok with the artifact ok, 30
# unreachable; the bad vantage, if any, degraded and reaching nothing; no other vantage
# degraded; `targeted` empty; exit status 1, or 0 when no black hole is listed). Runs, side
# by side:
#   v5            --vantage name=CC,proxy=socks5h://127.0.0.1:PORT,country=CC for 5 countries
#   v1            one of them alone (300 entries through one proxy)
#   direct        --vantage direct (300 entries, no proxy)
#   v5-refused    v5 with one proxy replaced by a closed port (connection refused)
#   v5-blackhole  v5 with one proxy replaced by a listener that accepts and never answers
#   v5-noart      v5 with --artifacts none instead of full: what the artifact stage,
#                 which starts once every release document is in, costs
#   v5-c16        v5 with --concurrency 16 (256 metadata requests in flight instead of
#                 1,024): memory against requests in flight
#   curl-xargs    reference: every release document through every proxy, one curl per
#                 fetch, `xargs -P BENCH_CURL_P`, `--max-time TIMEOUT`: the raw transport
#                 cost without verification (and with a process per fetch)
#   curl-parallel reference: the same fetches by 5 `curl --parallel` processes, one per
#                 proxy, BENCH_CURL_P / 5 transfers each at once
#   v5-wide       v5 with every mirror on its own host (270 honest hosts, 30 black holes):
#                 the shape of a real mirror list, where the per-host limit never queues
#   v5-clean      v5 without the black-hole mirrors (270 entries per vantage): no timeout
#   v5-clean-blackhole  the same with the black-hole proxy: what a degraded vantage alone costs
#   v5-600        v5 with twice the mirrors on the same hosts (18 per honest host, 2 per
#                 black hole): 3,000 entries with nearly the same requests in flight (the
#                 per-host limit holds), to tell memory that follows entries from memory
#                 that follows concurrency
# Targets: v5 wall about one timeout plus the honest work (never the sum of the vantages'
# timeouts, 5 x 2 s); a degraded vantage costs no more than one timeout; peak RSS bounded by
# concurrency, not entries.
#
# Environment:
#   BENCH_RUNS        GNU time runs per command (default 3)
#   BENCH_BIN         benchmark this binary instead of building target/release/mirrorproof
#   BENCH_QUIET_WAIT  seconds to wait at most for an idle second before each run (60)
#   BENCH_MAX_OTHER   run again (up to BENCH_ATTEMPTS times) when other work took more than
#                     this % of the CPUs during a run (15); the last attempt is kept
#   BENCH_ATTEMPTS    attempts per run at most (2)
#   BENCH_ONLY        space-separated subset of the runs above (default: all)
#   BENCH_COUNTRIES   the vantages' countries (default "FR DE US JP BR"); the first is v1's
#   BENCH_TIMEOUT     --timeout and curl --max-time in seconds (2)
#   BENCH_CURL_P      fetches in flight in the curl references (default 1024: mirrorproof's
#                     metadata requests in flight at most, 16 x --concurrency 64)
#   BENCH_REPORT      where the Markdown results go (default /tmp/mirrorproof-bench-vantages.md)
#   BENCH_TMP         parent of the scratch directory (default /tmp)
#   BENCH_KEEP_RESULTS  a directory to copy the raw results into (time -v output, reports)
#   BENCH_LIFETIME    seconds the farm and the proxies may live at most (10800)
#
# Everything listens on 127.0.0.0/8 only. The farm and the proxies (under `timeout`) stop on
# their own after BENCH_LIFETIME; all are killed by PID on exit. Benchmarks measure; they fail
# only on a wrong result.

set -euo pipefail

RUNS=${BENCH_RUNS:-3}
REPORT=${BENCH_REPORT:-/tmp/mirrorproof-bench-vantages.md}
TMP_PARENT=${BENCH_TMP:-/tmp}
TIMEOUT=${BENCH_TIMEOUT:-2}
CURL_P=${BENCH_CURL_P:-1024}
ONLY=${BENCH_ONLY:-v5 v1 direct v5-refused v5-blackhole v5-noart v5-c16 curl-xargs curl-parallel v5-wide v5-clean v5-clean-blackhole v5-600}
read -r -a COUNTRIES <<<"${BENCH_COUNTRIES:-FR DE US JP BR}"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY="$HERE/bench/vantages.py"
# How long the farm and the proxies live at most (quiet waits can make a run long).
LIFETIME=${BENCH_LIFETIME:-10800}
# Relative to where the script was started, not to the scratch directory.
[ -n "${BENCH_BIN:-}" ] && BENCH_BIN=$(realpath "$BENCH_BIN")

# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v microsocks >/dev/null || apt_install microsocks
[ -x /usr/bin/time ] || apt_install time
command -v curl >/dev/null || apt_install curl
command -v python3 >/dev/null || apt_install python3

WORK=$(mktemp -d "$TMP_PARENT/mirrorproof-bench-vantages.XXXXXX")
FARM_PID=
HELPER_PIDS=()
stop_helpers() {
    local p
    for p in "${HELPER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${HELPER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    HELPER_PIDS=()
}
farm_stop() {
    if [ -n "$FARM_PID" ]; then
        kill "$FARM_PID" 2>/dev/null || true
        wait "$FARM_PID" 2>/dev/null || true
    fi
    FARM_PID=
}
cleanup() {
    if [ -n "${BENCH_KEEP_RESULTS:-}" ] && [ -d "$WORK/results" ]; then
        mkdir -p "$BENCH_KEEP_RESULTS" && cp -r "$WORK/results/." "$BENCH_KEEP_RESULTS/"
    fi
    stop_helpers
    farm_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
RES="$WORK/results"
mkdir -p "$RES"
cd "$WORK"

bench_binary "$WORK" "$REPO"
BIN="$WORK/mirrorproof"
log "building the loopback farm (rustc -O)"
rustc --edition 2021 -O -o "$WORK/farm" "$HERE/bench/farm.rs"

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M')"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "nproc=$(nproc)"
    echo "commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "microsocks=microsocks $(dpkg-query -W -f '${Version}' microsocks 2>/dev/null || echo '?')"
    echo "curl=$(curl --version | head -1 | cut -d' ' -f1-2)"
    echo "timeout=$TIMEOUT"
    echo "binary=$("$BIN" --version), sha256 $(sha256sum "$BIN" | cut -c1-16)"
} >"$RES/machine.txt"

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

farm_start() { # honest-hosts per-honest silent-hosts per-silent
    rm -f "$WORK/ready.json"
    (ulimit -n "$(ulimit -Hn)"; exec "$WORK/farm" --tree "$WORK/tree" --root-json "$WORK/root.json" \
        --profile-out "$WORK/farm.toml" --ready-file "$WORK/ready.json" --lifetime "$LIFETIME" \
        --honest-hosts "$1" --per-honest "$2" --silent-hosts "$3" --per-silent "$4") &
    FARM_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$WORK/ready.json" ] && break
        kill -0 "$FARM_PID" 2>/dev/null || { echo "farm died" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$WORK/ready.json" ] || { echo "farm not ready" >&2; exit 1; }
}

# Five proxies, plus a port nobody listens on and a black-hole listener for the bad vantage.
mapfile -t PORTS < <(python3 "$PY" ports $((${#COUNTRIES[@]} + 2)))
CLOSED_PORT=${PORTS[${#COUNTRIES[@]}]}
HOLE_PORT=${PORTS[$((${#COUNTRIES[@]} + 1))]}
helpers_start() {
    local i
    for i in "${!COUNTRIES[@]}"; do
        (ulimit -n "$(ulimit -Hn)"; exec timeout "$LIFETIME" microsocks -i 127.0.0.1 -p "${PORTS[$i]}") \
            >"$RES/microsocks-${COUNTRIES[$i]}.log" 2>&1 &
        HELPER_PIDS+=($!)
    done
    (exec timeout "$LIFETIME" python3 "$PY" blackhole --port "$HOLE_PORT" --lifetime "$LIFETIME") &
    HELPER_PIDS+=($!)
    python3 "$PY" wait-listen "${PORTS[@]:0:${#COUNTRIES[@]}}" "$HOLE_PORT"
}

# --vantage arguments: every country's proxy; with "refused" or "blackhole", the last
# country's proxy is replaced by the closed port or the black hole (that vantage is "bad").
vantage_args() { # all|first|refused|blackhole
    local i n=${#COUNTRIES[@]} port
    [ "$1" = first ] && n=1
    for ((i = 0; i < n; i++)); do
        port=${PORTS[$i]}
        if [ $i -eq $((n - 1)) ]; then
            case $1 in
                refused) port=$CLOSED_PORT ;;
                blackhole) port=$HOLE_PORT ;;
            esac
        fi
        printf -- '--vantage\nname=%s,proxy=socks5h://127.0.0.1:%s,country=%s\n' \
            "${COUNTRIES[$i]}" "$port" "${COUNTRIES[$i]}"
    done
}
good_names() { # all|first|refused|blackhole: the vantages expected to be ok
    local n=${#COUNTRIES[@]}
    case $1 in
        first) n=1 ;;
        refused | blackhole) n=$((n - 1)) ;;
    esac
    local IFS=,
    echo "${COUNTRIES[*]:0:$n}"
}

quiet() { python3 "$HERE/bench/quiet.py" --label "$1" --log "$RES/quiet.jsonl" --max-wait "${BENCH_QUIET_WAIT:-60}"; }

# One timed run: quiet wait, CPU snapshots of the machine and of the farm and proxies around
# it, GNU time, then VALIDATE LABEL I (writes LABEL-I.summary, fails on a wrong result). Runs
# again when other work took more than BENCH_MAX_OTHER % of the CPUs, up to BENCH_ATTEMPTS
# times; a wrong result stops the script unless that attempt was contended and another is
# left (an overloaded checker can see honest loopback mirrors as slow: logged in retries.txt).
timed() { # label i validate cmd...
    local label=$1 i=$2 validate=$3 attempt other ok
    shift 3
    local attempts=${BENCH_ATTEMPTS:-2}
    for attempt in $(seq 1 "$attempts"); do
        quiet "$label-$i"
        python3 "$PY" snap "$FARM_PID" "${HELPER_PIDS[@]}" >"$RES/$label-$i.snap0"
        RC=0
        /usr/bin/time -v -o "$RES/$label-$i.timev" "$@" >"$RES/$label-$i.out" 2>"$RES/$label-$i.err" || RC=$?
        python3 "$PY" snap "$FARM_PID" "${HELPER_PIDS[@]}" >"$RES/$label-$i.snap1"
        other=$(python3 "$PY" other "$RES/$label-$i")
        grep -E "Elapsed|Maximum resident" "$RES/$label-$i.timev" | sed 's/^\s*/   /' >&2
        echo "   other work: $other % of the CPUs" >&2
        ok=0
        "$validate" "$label" "$i" 2>"$RES/$label-$i.wrong" || ok=$?
        if [ "$ok" -eq 0 ]; then
            sed 's/^/   /' "$RES/$label-$i.summary" >&2
            if [ "$other" -le "${BENCH_MAX_OTHER:-15}" ]; then break; fi
        elif [ "$other" -gt "${BENCH_MAX_OTHER:-15}" ] && [ "$attempt" -lt "$attempts" ]; then
            echo "$label-$i attempt $attempt: other work $other %, wrong result: $(tail -1 "$RES/$label-$i.wrong")" \
                | tee -a "$RES/retries.txt" >&2
        else
            echo "$label-$i: wrong result (other work $other %):" >&2
            cat "$RES/$label-$i.wrong" >&2
            exit 1
        fi
    done
    gzip -f "$RES/$label-$i.out"
}

# Validators for `timed`; the expectations are set by measure_check and measure_curl.
V_GOOD= V_BAD= V_ART= V_OK= V_FAIL=
validate_check() { # label i
    python3 "$PY" check-report --report "$RES/$1-$2.out" --ready "$WORK/ready.json" \
        --rc "$RC" --vantages "$V_GOOD" --bad "$V_BAD" --artifacts "$V_ART" >"$RES/$1-$2.summary"
}
validate_curl() { # label i
    python3 "$PY" check-curl "$RES/$1-$2.out" "$V_OK" "$V_FAIL" >"$RES/$1-$2.summary"
}

measure_check() { # label mode [more check options...]
    local label=$1 mode=$2 i
    shift 2
    local -a more=("$@")
    local -a vargs
    mapfile -t vargs < <(if [ "$mode" = direct ]; then printf -- '--vantage\ndirect\n'; else vantage_args "$mode"; fi)
    local good bad=
    if [ "$mode" = direct ]; then good=direct; else good=$(good_names "$mode"); fi
    case $mode in refused | blackhole) bad=${COUNTRIES[$((${#COUNTRIES[@]} - 1))]} ;; esac
    # --artifacts none replaces full (clap takes an option once).
    local art=full
    if [ "${more[*]}" = "--artifacts none" ]; then art=none; more=(); fi
    local -a cmd=("$BIN" check "$WORK/farm.toml" --timeout "$TIMEOUT" --artifacts "$art" --no-state
        --json "${vargs[@]}" "${more[@]}")
    log "$label: mirrorproof check ${vargs[*]} ${more[*]}"
    echo "${cmd[*]}" >"$RES/$label.cmd"
    V_GOOD=$good V_BAD=$bad V_ART=$art
    for i in $(seq 1 "$RUNS"); do
        timed "$label" "$i" validate_check "${cmd[@]}"
    done
}

# The release document of every entry through every proxy (mirror-major, as the matrix).
fetch_list() {
    python3 - "$WORK/ready.json" "$WORK/farm.toml" "${PORTS[@]:0:${#COUNTRIES[@]}}" <<'EOF'
import re, sys
urls = re.findall(r'^url = "([^"]+)"', open(sys.argv[2]).read(), re.M)
for u in urls:
    for p in sys.argv[3:]:
        print(f"{p} {u}stable/release.json")
EOF
}

measure_curl() { # label
    local label=$1 i n_ok n_fail per
    fetch_list >"$WORK/fetches.txt"
    n_ok=$(( $(python3 -c "import json,sys;print(len(json.load(open(sys.argv[1]))['honest']))" "$WORK/ready.json") * ${#COUNTRIES[@]} ))
    n_fail=$(( $(wc -l <"$WORK/fetches.txt") - n_ok ))
    per=$(( (CURL_P + ${#COUNTRIES[@]} - 1) / ${#COUNTRIES[@]} ))
    [ "$per" -gt 300 ] && per=300 # curl's own maximum
    local fmt='%{http_code} %{time_total}\n'
    if [ "$label" = curl-xargs ]; then
        sed 's|^\([0-9]*\) |--proxy socks5h://127.0.0.1:\1 |' "$WORK/fetches.txt" >"$WORK/xargs.txt"
        cat >"$WORK/xargs.sh" <<EOF
#!/bin/sh
exec xargs -P $CURL_P -L 1 curl -s -o /dev/null --max-time $TIMEOUT -w '$fmt' <"$WORK/xargs.txt"
EOF
        echo "xargs -P $CURL_P -L 1 curl -s -o /dev/null --max-time $TIMEOUT -w '%{http_code} %{time_total}\\n' <LIST  # LIST: --proxy socks5h://127.0.0.1:PORT URL/stable/release.json, a line per fetch" >"$RES/$label.cmd"
    else
        : >"$WORK/parallel.sh"
        echo "#!/bin/sh" >>"$WORK/parallel.sh"
        for p in "${PORTS[@]:0:${#COUNTRIES[@]}}"; do
            awk -v p="$p" '$1 == p { printf "url = \"%s\"\noutput = \"/dev/null\"\n", $2 }' \
                "$WORK/fetches.txt" >"$WORK/curl-$p.cfg"
            echo "curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max $per --max-time $TIMEOUT --proxy socks5h://127.0.0.1:$p -w '$fmt' -K $WORK/curl-$p.cfg &" >>"$WORK/parallel.sh"
        done
        echo "wait" >>"$WORK/parallel.sh"
        echo "for each proxy at once: curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max $per --max-time $TIMEOUT --proxy socks5h://127.0.0.1:PORT -w '%{http_code} %{time_total}\\n' -K LIST  # LIST: url = URL/stable/release.json, output = /dev/null" >"$RES/$label.cmd"
    fi
    log "$label: $(cat "$RES/$label.cmd")"
    V_OK=$n_ok V_FAIL=$n_fail
    for i in $(seq 1 "$RUNS"); do
        if [ "$label" = curl-xargs ]; then
            timed "$label" "$i" validate_curl sh "$WORK/xargs.sh"
        else
            timed "$label" "$i" validate_curl sh "$WORK/parallel.sh"
        fi
    done
}

helpers_start
log "proxies: ${COUNTRIES[*]} on ports ${PORTS[*]:0:${#COUNTRIES[@]}}; closed port $CLOSED_PORT; black hole $HOLE_PORT"
farm_start 30 9 30 1
wanted v5 && measure_check v5 all
wanted v1 && measure_check v1 first
wanted direct && measure_check direct direct
wanted v5-refused && measure_check v5-refused refused
wanted v5-blackhole && measure_check v5-blackhole blackhole
wanted v5-noart && measure_check v5-noart all --artifacts none
wanted v5-c16 && measure_check v5-c16 all --concurrency 16
wanted curl-xargs && measure_curl curl-xargs
wanted curl-parallel && measure_curl curl-parallel
farm_stop
if wanted v5-wide; then
    log "farm: 270 honest hosts with one mirror each, 30 black holes"
    farm_start 270 1 30 1
    measure_check v5-wide all
    farm_stop
fi
if wanted v5-clean || wanted v5-clean-blackhole; then
    log "farm: the 30 honest hosts alone (270 mirrors, no black holes)"
    farm_start 30 9 0 1
    wanted v5-clean && measure_check v5-clean all
    wanted v5-clean-blackhole && measure_check v5-clean-blackhole blackhole
    farm_stop
fi
if wanted v5-600; then
    log "farm: the same 30 + 30 hosts with twice the mirrors (18 per honest host, 2 per black hole)"
    farm_start 30 18 30 2
    measure_check v5-600 all
    farm_stop
fi

python3 "$PY" table "$RES" >"$REPORT"
cat "$REPORT"
log "report written to $REPORT"
