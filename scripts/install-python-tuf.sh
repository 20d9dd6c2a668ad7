#!/usr/bin/env bash
# Installs python-tuf, the reference TUF client the differential suite (tests/tuf_differential.rs)
# compares mirrorproof's `tuf-client` against, into a virtual environment of its own, from PyPI.
# The versions are pinned so that a new python-tuf release cannot change the reference answers
# under the suite; bump them here, deliberately, and rerun the suite.
#
# The environment goes to target/pytuf-venv unless MIRRORPROOF_PYTUF_VENV names another place.
# Idempotent and quick: when the environment already holds exactly these versions it only prints
# the path of its python. The last line of standard output is always that path, so callers can
# do `MIRRORPROOF_PYTHON=$(scripts/install-python-tuf.sh | tail -n 1)`.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${MIRRORPROOF_PYTUF_VENV:-target/pytuf-venv}"
pins=(
    "tuf==7.0.1"
    "securesystemslib[crypto]==1.6.0"
    "cryptography==50.0.2"
    "urllib3==2.8.0"
)
# What `pip freeze` must show for the environment to count as installed (extras are not shown).
want="cryptography==50.0.2 securesystemslib==1.6.0 tuf==7.0.1 urllib3==2.8.0"

python="$venv/bin/python"
have=""
if [ -x "$python" ]; then
    have="$("$python" -m pip freeze --disable-pip-version-check 2>/dev/null \
        | grep -E '^(cryptography|securesystemslib|tuf|urllib3)==' | sort | tr '\n' ' ' | sed 's/ $//')" || true
fi

if [ "$have" != "$want" ]; then
    host_python="${PYTHON:-python3}"
    if ! command -v "$host_python" >/dev/null 2>&1; then
        echo "install-python-tuf: no $host_python to build the environment with" >&2
        exit 1
    fi
    echo "install-python-tuf: installing ${pins[*]} into $venv" >&2
    if [ ! -x "$python" ]; then
        "$host_python" -m venv "$venv"
    fi
    "$python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
    "$python" -c 'import tuf.ngclient, securesystemslib.signer, cryptography' >&2
fi

# An absolute path: the tests run from another working directory.
cd "$(dirname "$python")"
echo "$PWD/$(basename "$python")"
