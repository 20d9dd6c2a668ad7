#!/usr/bin/env bash
# Runs every cargo-fuzz target of mirrorproof for a bounded time and prints a summary.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]        (default 60)
#
# Environment:
#   TARGETS="envelope root"  only these targets (default: all, from `cargo fuzz list`)
#   JOBS=N                   targets run in parallel (default: number of CPUs)
#   KEEP_GOING=1             libFuzzer fork mode: keep fuzzing after a crash
#   FUZZ_ARGS="..."          extra libFuzzer flags for every target
#   TRIAGE_MAX=N             replay at most N new artifacts per target (default 100)
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them. Targets are built with optimisations AND debug assertions (cargo-fuzz's
# default), so integer overflow panics are findings too.
#
# Layout (fuzz/ is a workspace of its own; the top-level cargo never builds it):
#   fuzz/seeds/<target>/        small committed seeds (`cargo run --example make_seeds`)
#   fuzz/regressions/<target>/  inputs that crashed once; replayed before fuzzing
#   fuzz/corpus/<target>/       the growing corpus (gitignored)
#   fuzz/artifacts/<target>/    new crashes, timeouts and OOMs (gitignored)
#   fuzz/target/fuzz-logs/      one libFuzzer log per target and run
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
case "$SECONDS_PER_TARGET" in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
    ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/fuzz"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cd "$FUZZ"
echo "== building fuzz targets (release, debug assertions on)"
cargo fuzz build
if [ ! -d seeds ]; then
    echo "== generating seeds"
    cargo run --quiet --example make_seeds -- "$FUZZ/seeds"
fi

HOST="$(rustc -vV | sed -n 's/^host: //p')"
BIN="$FUZZ/target/$HOST/release"
LOGS="$FUZZ/target/fuzz-logs"
mkdir -p "$LOGS"
read -r -a ALL <<<"$(cargo fuzz list | tr '\n' ' ')"
read -r -a RUN <<<"${TARGETS:-${ALL[*]}}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
STAMP="$(date +%Y%m%d-%H%M%S)"

dict_for() {
    case "$1" in
    profile) echo "$FUZZ/dicts/toml.dict" ;;
    time) echo "$FUZZ/dicts/time.dict" ;;
    *) echo "$FUZZ/dicts/json.dict" ;;
    esac
}

# Known crashes first: a regression input that no longer crashes means a fix landed.
REGRESSIONS=()
for t in "${RUN[@]}"; do
    [ -d "regressions/$t" ] || continue
    for f in "regressions/$t"/*; do
        [ -f "$f" ] || continue
        if "$BIN/$t" -runs=1 "$f" >"$LOGS/regression-$t-$(basename "$f").log" 2>&1; then
            REGRESSIONS+=("$t/$(basename "$f"): no longer crashes")
        else
            REGRESSIONS+=("$t/$(basename "$f"): STILL CRASHES")
        fi
    done
done

run_one() {
    local t="$1" log="$LOGS/$1-$STAMP.log" mode=() start
    start="$(date +%s)"
    mkdir -p "corpus/$t" "artifacts/$t"
    if [ "${KEEP_GOING:-0}" = 1 ]; then
        mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi
    # shellcheck disable=SC2086
    "$BIN/$t" "corpus/$t" "seeds/$t" \
        -artifact_prefix="artifacts/$t/" -dict="$(dict_for "$t")" \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${mode[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1 || true
    echo "$(($(date +%s) - start))" >"$log.wall"
}

echo "== fuzzing ${RUN[*]} for ${SECONDS_PER_TARGET}s each, $JOBS at a time"
for t in "${RUN[@]}"; do
    mkdir -p "artifacts/$t"
    find "artifacts/$t" -type f | sort >"$LOGS/$t-$STAMP.before"
done
running=0
for t in "${RUN[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

printf '\n%-22s %8s %12s %9s %7s %8s %7s %8s\n' target wall_s runs exec/s cov features corpus crashes
for t in "${RUN[@]}"; do
    log="$LOGS/$t-$STAMP.log"
    runs="$(grep -a '^stat::number_of_executed_units:' "$log" | tail -1 | tr -dc 0-9 || true)"
    speed="$(grep -a '^stat::average_exec_per_sec:' "$log" | tail -1 | tr -dc 0-9 || true)"
    secs="$(cat "$log.wall" 2>/dev/null || true)"
    # The last status line: "#N ... cov: C ft: F corp: K/..." (fork mode: "#N: cov: ...").
    last="$(grep -a -E '^#[0-9]+:?[[:space:]]' "$log" | grep -a 'cov:' | tail -1 || true)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")"
    if [ -z "$runs" ]; then runs="$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")"; fi
    find "artifacts/$t" -type f | sort | comm -13 "$LOGS/$t-$STAMP.before" - >"$LOGS/$t-$STAMP.new"
    new="$(wc -l <"$LOGS/$t-$STAMP.new")"
    if [ -z "$speed" ] && [ -n "$runs" ] && [ "${secs:-0}" -gt 0 ]; then speed=$((runs / secs)); fi
    printf '%-22s %8s %12s %9s %7s %8s %7s %8s\n' "$t" "${secs:-?}" "${runs:-?}" \
        "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$new"
done

# Triage: replay every new artifact and group them by panic site and message.
for t in "${RUN[@]}"; do
    [ -s "$LOGS/$t-$STAMP.new" ] || continue
    n="$(wc -l <"$LOGS/$t-$STAMP.new")"
    echo "new artifacts of $t ($n; the first ${TRIAGE_MAX:-100} replayed), by panic site:"
    head -n "${TRIAGE_MAX:-100}" "$LOGS/$t-$STAMP.new" | while read -r a; do
        out="$("$BIN/$t" -runs=1 "$a" 2>&1 | tr -d '\000' || true)"
        # The first frame inside mirrorproof's own src/, then the panic message.
        site="$(grep -a -o "$ROOT/src/[^ )]*" <<<"$out" | head -1 | sed -e "s|^$ROOT/||" -e 's/:$//' || true)"
        msg="$(grep -a -m1 -A1 'panicked at' <<<"$out" | tail -1 |
            sed -e "s/'[^']*'/'_'/g" -e 's/ of `.*//' -e 's/[0-9][0-9]*/N/g' || true)"
        [ -n "$msg" ] && site="${site:-?} $msg"
        printf '%s\t%s\n' "${site:-no panic on replay (timeout, OOM or leak?)}" "$a"
    done | sort | awk -F'\t' '{n[$1]++; if (!($1 in ex)) ex[$1]=$2}
        END {for (k in n) printf "    %5d  %s\n           e.g. %s\n", n[k], k, ex[k]}'
done
echo "logs: $LOGS/*-$STAMP.log"
if [ "${#REGRESSIONS[@]}" -gt 0 ]; then
    echo "regressions:"
    printf '    %s\n' "${REGRESSIONS[@]}"
fi
