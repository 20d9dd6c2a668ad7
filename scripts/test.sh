#!/usr/bin/env bash
# The whole test suite: installs the reference tools the differential and ecosystem tests
# compare against (signify-openbsd, minisign, ssh-keygen; from Debian's packages with apt,
# through sudo when not root; python-tuf from PyPI into a venv), then runs every test. Extra
# arguments go to `cargo test`.
#
# A few tests mount a tmpfs to make a disk full or read-only; that needs root. Run as another
# user, this script says which ones it skips and why, and the rest run as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-reference-tools.sh
# python-tuf, the reference client of the TUF differential suite (tests/tuf_differential.rs),
# in a venv of its own; the suite finds its python through MIRRORPROOF_PYTHON. Under CI a
# failed install fails the run; elsewhere the suite then skips, saying so.
if MIRRORPROOF_PYTHON="$(scripts/install-python-tuf.sh | tail -n 1)"; then
    export MIRRORPROOF_PYTHON
elif [ "${CI:-}" = "true" ]; then
    echo "test.sh: python-tuf could not be installed" >&2
    exit 1
else
    unset MIRRORPROOF_PYTHON
    echo "test.sh: python-tuf could not be installed; the TUF differential suite will skip" >&2
fi
# A private Tor network on loopback for the managed-Tor tests (tests/tor_vantage.rs), started
# once for all of them; its tor processes exit by themselves when this script does.
tor_net="$(mktemp -d)/net"
if scripts/tor-testnet.sh start "$tor_net"; then
    export MIRRORPROOF_TOR_TESTNET="$tor_net"
    trap 'scripts/tor-testnet.sh stop "$tor_net" >/dev/null 2>&1 || true' EXIT
elif [ "${CI:-}" = "true" ]; then
    echo "test.sh: the private Tor network did not start" >&2
    exit 1
else
    echo "test.sh: the private Tor network did not start; tests/tor_vantage.rs will try on its own" >&2
fi
# A throwaway PostgreSQL on loopback for the history tests (tests/history.rs), started once
# for all of them; each test creates a database of its own in it. Stopped on exit, and by
# itself should this script be killed.
pg_dir="$(mktemp -d)/pg"
if pg_url="$(PG_OWNER_PID=$$ scripts/postgres-test.sh start "$pg_dir" | tail -n 1)"; then
    export MIRRORPROOF_TEST_POSTGRES="$pg_url"
    trap 'scripts/postgres-test.sh stop "$pg_dir" >/dev/null 2>&1 || true; scripts/tor-testnet.sh stop "$tor_net" >/dev/null 2>&1 || true' EXIT
elif [ "${CI:-}" = "true" ]; then
    echo "test.sh: PostgreSQL did not start" >&2
    exit 1
else
    echo "test.sh: PostgreSQL did not start; tests/history.rs will try on its own" >&2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: not running as root, so these tests are skipped: they mount a tmpfs to" >&2
    echo "test.sh: simulate a full or read-only state directory, and mounting needs root:" >&2
    echo "test.sh:   bad_input::disk_full_while_writing_the_state" >&2
    echo "test.sh:   bad_input::read_only_state_directory" >&2
    echo "test.sh:   bad_input::read_only_state_still_catches_a_rollback" >&2
    echo "test.sh:   report_formats::a_failed_write_keeps_the_previous_report" >&2
    echo "test.sh: run as root (as CI does) to include them." >&2
    export MIRRORPROOF_TEST_NO_ROOT=1
fi
cargo test --locked "$@"
