#!/usr/bin/env bash
# History benchmark: the cost of recording 10,000 observations in each store, and of the
# views over them. See docs/BENCHMARKS.md, "History".
#
#   scripts/bench-history.sh
#   BENCH_REPEAT=5 scripts/bench-history.sh
#   BENCH_REPEAT=1 BENCH_SHAPES=100x10000 scripts/bench-history.sh   # 1,000,000 observations
#
# Shapes (BENCH_SHAPES, RUNSxMIRRORS separated by commas): 1 run x 10,000 mirrors, and 100
# runs x 100 mirrors (each run through a fresh
# open + one transaction, as each `check --history` does). Stores: an SQLite file on disk
# (in a directory under $BENCH_DIR, default /var/tmp: a real disk, not tmpfs), and a
# PostgreSQL database on loopback, started by this script (scripts/postgres-test.sh) and
# stopped on exit. Each line is one fresh history; BENCH_REPEAT (default 3) lines per
# shape and store. The driver is examples/bench_history.rs, built with --release.
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=${BENCH_REPEAT:-3}
shapes=${BENCH_SHAPES:-1x10000,100x100}
base=${BENCH_DIR:-/var/tmp}
cargo build --release --quiet --example bench_history --bin mirrorproof
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_history

work=$(mktemp -d "$base/mirrorproof-bench-history.XXXXXX")
pg_dir="$work/pg"
cleanup() {
    scripts/postgres-test.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
pg_url=$(PG_OWNER_PID=$$ scripts/postgres-test.sh start "$pg_dir" | tail -n 1)
bindir=$(cat "$pg_dir/bindir")
port=$(cat "$pg_dir/port")
password=$(printf '%s' "$pg_url" | sed -E 's|^postgres://[^:]+:([^@]+)@.*|\1|')

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r); PostgreSQL $("$bindir/postgres" --version | awk '{print $3}')"
printf '%-10s %5s %7s %9s %10s %8s %10s %10s %10s\n' \
    store runs mirrors record_s obs_per_s lag_s first_s series_s size
n=0
for shape in ${shapes//,/ }; do
    runs=${shape%x*}
    mirrors=${shape#*x}
    for _ in $(seq "$repeat"); do
        n=$((n + 1))
        "$bin" "$work/h$n.sqlite" "$runs" "$mirrors"
        db="bench$n"
        PGPASSWORD=$password "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U mirrorproof \
            -d mirrorproof -c "CREATE DATABASE $db" >/dev/null
        "$bin" "${pg_url%/mirrorproof}/$db" "$runs" "$mirrors"
    done
done
# The command people type, on the last histories (the last shape): the binary's whole
# cost, start-up and connection included; best of BENCH_REPEAT.
mp=${CARGO_TARGET_DIR:-target}/release/mirrorproof
for spec in "$work/h$n.sqlite" "${pg_url%/mirrorproof}/bench$n"; do
    best=
    for _ in $(seq "$repeat"); do
        start=$(date +%s%N)
        "$mp" history lag --history "$spec" >/dev/null
        t=$(( ($(date +%s%N) - start) / 1000000 ))
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    case "$spec" in postgres*) store=postgres ;; *) store=sqlite ;; esac
    echo "# mirrorproof history lag, $store, $runs runs x $mirrors mirrors: $best ms"
done

# The reference beside it: the databases' own command-line clients inserting 10,000 rows
# of the same width (a run id, the mirror's URL, name, country, vantage, status, version,
# a SHA-256, elapsed ms, a reason) in one transaction, into a fresh table: the floor of what
# recording 10,000 observations can cost in each store, without mirrorproof's code, its
# summaries or its document links. sqlite3 (Debian's) on the same disk in WAL mode; psql
# over the same loopback connection.
ref_sql="$work/reference.sql"
{
    echo "CREATE TABLE obs (run_id BIGINT, url TEXT, name TEXT, country TEXT, vantage TEXT, status TEXT, version BIGINT, payload TEXT, elapsed_ms BIGINT, reason TEXT);"
    echo "BEGIN;"
    for i in $(seq 0 9999); do
        printf "INSERT INTO obs VALUES (1, 'https://mirror%05d.example.org/exampleos/', 'mirror%05d', 'DE', 'direct', 'ok', 2026112200, '%064x', 120, NULL);\n" "$i" "$i" "$i"
    done
    echo "COMMIT;"
} >"$ref_sql"
if command -v sqlite3 >/dev/null 2>&1; then
    for _ in $(seq "$repeat"); do
        f="$work/ref$RANDOM.sqlite"
        sqlite3 "$f" "PRAGMA journal_mode=WAL;" >/dev/null
        start=$(date +%s%N)
        sqlite3 "$f" <"$ref_sql"
        echo "# reference: sqlite3 CLI, 10,000 rows in one transaction: $(( ($(date +%s%N) - start) / 1000000 )) ms"
    done
else
    echo "# reference: sqlite3 not installed (apt-get install sqlite3), skipped"
fi
for i in $(seq "$repeat"); do
    db="ref$i"
    PGPASSWORD=$password "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U mirrorproof \
        -d mirrorproof -c "CREATE DATABASE $db" >/dev/null
    start=$(date +%s%N)
    PGPASSWORD=$password "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U mirrorproof \
        -d "$db" -f "$ref_sql" >/dev/null
    echo "# reference: psql, 10,000 rows in one transaction: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
