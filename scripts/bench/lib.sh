# Shared by the bench-*.sh scripts (sourced, not run).

log() { printf '\n== %s\n' "$*" >&2; }

# The mirrorproof under test, copied to WORK/mirrorproof: BENCH_BIN when given, else a
# fresh release build of REPO. A private copy: another build in the same tree must not swap
# the binary mid-run.
bench_binary() {
    local work=$1 repo=$2
    if [ -n "${BENCH_BIN:-}" ]; then
        log "using prebuilt $BENCH_BIN"
        cp "$BENCH_BIN" "$work/mirrorproof"
    else
        log "building mirrorproof (cargo build --release)"
        (cd "$repo" && cargo build --release --quiet)
        cp "$repo/target/release/mirrorproof" "$work/mirrorproof"
    fi
}
