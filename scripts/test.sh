#!/usr/bin/env bash
# The whole test suite: installs the reference tools the differential and ecosystem tests
# compare against (signify-openbsd, minisign, ssh-keygen; from Debian's packages), then
# runs every test. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-reference-tools.sh
cargo test --locked "$@"
