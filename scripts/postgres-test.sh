#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for the history tests (tests/history.rs) and
# the history benchmark (scripts/bench-history.sh). Installs nothing: Debian's `postgresql`
# comes from scripts/install-reference-tools.sh.
#
#   scripts/postgres-test.sh start DIR   # prints the server's URL (last line), also in DIR/url
#   scripts/postgres-test.sh stop DIR
#
# `start` runs initdb (as the `postgres` user when we are root: initdb refuses root) with
# a random password (SCRAM), starts the server listening on 127.0.0.1 only, on a free port,
# without a Unix socket, and creates the database `mirrorproof`. The URL names that
# database; tests create one database each beside it. The server is stopped when `stop`
# is called, or by itself once PG_OWNER_PID (default: this script's parent, which inside
# `$(...)` is a short-lived subshell: pass PG_OWNER_PID=$$ there) has exited, so a killed
# test run leaves nothing behind.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
owner=${PG_OWNER_PID:-$PPID}

bindir() {
    local b
    if command -v pg_config >/dev/null 2>&1; then
        b=$(pg_config --bindir)
        [ -x "$b/initdb" ] && { echo "$b"; return; }
    fi
    for b in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$b/initdb" ] && { echo "$b"; return; }
    done
    return 1
}

# Runs a PostgreSQL program as the user that owns the data directory.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    bin=$(bindir) || {
        echo "postgres-test: PostgreSQL is not installed (scripts/install-reference-tools.sh installs Debian's postgresql)" >&2
        exit 1
    }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # The data directory lives where the server's user may reach it: as root, a private
    # directory of its own under /tmp (DIR may sit below directories only root can enter).
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || {
            echo "postgres-test: running as root but there is no postgres user to run the server" >&2
            exit 1
        }
        data=$(mktemp -d /tmp/mirrorproof-pg.XXXXXX)
        chown postgres: "$data"
    else
        data="$dir/data"
        mkdir -p "$data"
    fi
    echo "$data" >"$dir/datadir"
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    pwfile="$data/.pw"
    printf '%s\n' "$password" >"$pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile"
    as_owner "$bin/initdb" -D "$data/db" -U mirrorproof --pwfile="$pwfile" \
        --auth=scram-sha-256 --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    rm -f "$pwfile"
    started=
    for _ in $(seq 20); do
        port=$((20000 + RANDOM % 30000))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue # taken
        fi
        if as_owner "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories= -c max_connections=200 -c fsync=on" \
            start >/dev/null 2>&1; then
            started=1
            break
        fi
    done
    if [ -z "$started" ]; then
        echo "postgres-test: the server did not start:" >&2
        tail -n 20 "$data/server.log" >&2 2>/dev/null || true
        exit 1
    fi
    echo "$port" >"$dir/port"
    echo "$bin" >"$dir/bindir"
    url="postgres://mirrorproof:$password@127.0.0.1:$port/mirrorproof"
    PGPASSWORD=$password "$bin/psql" -q -h 127.0.0.1 -p "$port" -U mirrorproof -d postgres \
        -c "CREATE DATABASE mirrorproof" >/dev/null
    (umask 077 && echo "$url" >"$dir/url")
    # Stops the server once the owner is gone, unless `stop` came first.
    (
        while kill -0 "$owner" 2>/dev/null && [ -f "$dir/url" ]; do sleep 2; done
        [ -f "$dir/url" ] && as_owner "$bin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1
        [ "$(id -u)" -eq 0 ] && rm -rf "$data"
    ) </dev/null >/dev/null 2>&1 &
    disown
    echo "$url"
    ;;
stop)
    [ -f "$dir/datadir" ] || exit 0
    data=$(cat "$dir/datadir")
    bin=$(cat "$dir/bindir" 2>/dev/null || bindir)
    rm -f "$dir/url"
    if [ -f "$data/db/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ "$(id -u)" -eq 0 ]; then
        case "$data" in /tmp/mirrorproof-pg.*) rm -rf "$data" ;; esac
    fi
    ;;
*)
    usage
    ;;
esac
