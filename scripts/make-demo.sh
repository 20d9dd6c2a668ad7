#!/usr/bin/env bash
# Regenerates the offline demo: the pinned root in keys/demo.root.json, the mirror trees
# under fixtures/demo/mirrors/, and the profiles fixtures/demo/demo.toml and
# fixtures/demo/equivocation.toml.
#
# Everything signed is produced by mirrorproof's own publisher commands (keygen, root new,
# release new, sign, mirror build). The shell only makes small deterministic artifacts and
# damages a few mirrors on purpose. Secret keys live in a temporary directory that is
# deleted on exit: the demo's keys are thrown away, and nobody can sign for it again.
#
# Idempotent: every run wipes and rewrites fixtures/demo/mirrors and the files above.
# New keys every run, so the signatures (and payload hashes) change from run to run.
#
# Usage: scripts/make-demo.sh            (builds with cargo build --release)
#        MIRRORPROOF=/path/to/bin scripts/make-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${MIRRORPROOF:-}" ]]; then
    cargo build --release --quiet
    MIRRORPROOF="${CARGO_TARGET_DIR:-target}/release/mirrorproof"
fi
mp() { "$MIRRORPROOF" "$@" >/dev/null; }

PROJECT=exampleos
CHANNEL=stable
ROOT_OUT=keys/demo.root.json
DEMO=fixtures/demo
MIRRORS=$DEMO/mirrors

# Far-future expiry, relative to the day the demo is generated, so it keeps working for years.
LONG=+3650d

# Release versions and publication times are fixed, so the demo reads the same every time.
OLD=2026110100      # an older genuine release: what the stale mirror still serves
OLD_AT=2026-11-01T10:00:00Z
LATEST=2026112200   # the genuine latest release
LATEST_AT=2026-11-22T10:00:00Z
FROZEN=2026100100   # a genuine release that expired long ago: the frozen mirror replays it
FROZEN_AT=2026-10-01T10:00:00Z
FROZEN_EXPIRES=2026-10-31T10:00:00Z
FORGED=2026112500   # "newer" release signed by a key that is not pinned
FORGED_AT=2026-11-25T10:00:00Z

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
K=$WORK/keys
mkdir -p "$K"

# --- keys: one root key, three release keys (threshold 2), one attacker key -------------
for k in root release-1 release-2 release-3 attacker; do
    mp keygen --out "$K/$k"
done

# --- the pinned root -------------------------------------------------------------------
mkdir -p keys
mp root new --project "$PROJECT" --version 1 --expires "$LONG" \
    --root-key "$K/root.pub" --root-threshold 1 \
    --release-key "$K/release-1.pub" --release-key "$K/release-2.pub" \
    --release-key "$K/release-3.pub" --release-threshold 2 \
    --out "$WORK/root.json"
mp sign --key "$K/root.key" "$WORK/root.json"
cp "$WORK/root.json" "$ROOT_OUT"

# --- artifacts: small, deterministic, a few KiB each -----------------------------------
# pattern BYTES TEXT: TEXT repeated, cut to exactly BYTES bytes. (`yes | head` would end
# with SIGPIPE, which pipefail turns into a failure; process substitution avoids that.)
pattern() { head -c "$1" < <(yes "$2"); }

# make_artifacts DIR VERSION TAG: a factory image (4 KiB) and an OTA update (2 KiB).
make_artifacts() {
    local dir=$1 version=$2 tag=$3
    mkdir -p "$dir"
    pattern 4096 "$PROJECT $version factory image ($tag)" >"$dir/$PROJECT-$version-factory.img"
    pattern 2048 "$PROJECT $version ota update ($tag)" >"$dir/$PROJECT-$version-ota.bin"
}

# release VERSION PUBLISHED EXPIRES ARTDIR OUT KEY...: a release signed by each KEY in turn,
# the way each key holder adds their own signature.
release() {
    local version=$1 published=$2 expires=$3 artdir=$4 out=$5
    shift 5
    mp release new --project "$PROJECT" --channel "$CHANNEL" --version "$version" \
        --published "$published" --expires "$expires" --artifacts "$artdir" --out "$out"
    local key
    for key in "$@"; do
        mp sign --key "$K/$key.key" "$out"
    done
}

A=$WORK/artifacts
R=$WORK/releases
mkdir -p "$R"
make_artifacts "$A/latest" "$LATEST" genuine
make_artifacts "$A/old" "$OLD" genuine
make_artifacts "$A/frozen" "$FROZEN" genuine
make_artifacts "$A/forged" "$FORGED" backdoored
make_artifacts "$A/targeted" "$LATEST" "targeted build"

release "$LATEST" "$LATEST_AT" "$LONG" "$A/latest" "$R/latest.json" release-1 release-2
release "$OLD" "$OLD_AT" "$LONG" "$A/old" "$R/old.json" release-2 release-3
release "$FROZEN" "$FROZEN_AT" "$FROZEN_EXPIRES" "$A/frozen" "$R/frozen.json" release-1 release-3
release "$FORGED" "$FORGED_AT" "$LONG" "$A/forged" "$R/forged.json" attacker
# The catastrophe: the release keys themselves sign a second, different LATEST.
release "$LATEST" "$LATEST_AT" "$LONG" "$A/targeted" "$R/targeted.json" release-1 release-3

# --- mirrors ---------------------------------------------------------------------------
rm -rf "$MIRRORS"
mkdir -p "$MIRRORS"
mirror() { # mirror NAME RELEASE ARTDIR
    mp mirror build --out "$MIRRORS/$1" --release "$R/$2.json" --artifacts "$A/$3"
}

for m in fr-paris de-frankfurt nl-amsterdam ch-zurich is-reykjavik se-stockholm \
    ca-montreal us-newyork br-saopaulo; do
    mirror "$m" latest latest
done

# Tampered: an artifact replaced by different bytes of the same length.
mirror de-berlin latest latest
pattern 4096 "$PROJECT $LATEST factory image (tampered)" \
    >"$MIRRORS/de-berlin/artifacts/$PROJECT-$LATEST-factory.img"

# Incomplete: the sync stopped before the OTA update arrived.
mirror nl-rotterdam latest latest
rm "$MIRRORS/nl-rotterdam/artifacts/$PROJECT-$LATEST-ota.bin"

# Frozen: replays a genuine release whose signed expiry has passed.
mirror se-malmo frozen frozen

# Forged: a "newer" release signed by a key the root does not list.
mirror us-seattle forged forged

# Stale: the only mirror in Japan still serves the previous release.
mirror jp-tokyo old old

# Equivocation: the same version, validly signed, with different contents.
mirror ch-geneva-targeted targeted targeted

# --- profiles --------------------------------------------------------------------------
cat >"$DEMO/demo.toml" <<'EOF'
# mirrorproof demo profile: fourteen mirror directories in ten countries.
# Generated by scripts/make-demo.sh; regenerate rather than edit.
#
# Most mirrors are honest. On purpose: de-berlin has a tampered artifact (corrupt),
# nl-rotterdam lacks one (incomplete), se-malmo replays an expired release (expired),
# us-seattle serves a release signed by a key that is not pinned (invalid), and jp-tokyo,
# the only mirror in JP, serves the previous release (stale).
name    = "exampleos"
scheme  = "native"
root    = "../../keys/demo.root.json"
channel = "stable"

[[mirrors]]
url = "mirrors/fr-paris"
country = "FR"
name = "fr-paris"

[[mirrors]]
url = "mirrors/de-frankfurt"
country = "DE"
name = "de-frankfurt"

[[mirrors]]
url = "mirrors/de-berlin"
country = "DE"
name = "de-berlin"

[[mirrors]]
url = "mirrors/nl-amsterdam"
country = "NL"
name = "nl-amsterdam"

[[mirrors]]
url = "mirrors/nl-rotterdam"
country = "NL"
name = "nl-rotterdam"

[[mirrors]]
url = "mirrors/ch-zurich"
country = "CH"
name = "ch-zurich"

[[mirrors]]
url = "mirrors/is-reykjavik"
country = "IS"
name = "is-reykjavik"

[[mirrors]]
url = "mirrors/se-stockholm"
country = "SE"
name = "se-stockholm"

[[mirrors]]
url = "mirrors/se-malmo"
country = "SE"
name = "se-malmo"

[[mirrors]]
url = "mirrors/ca-montreal"
country = "CA"
name = "ca-montreal"

[[mirrors]]
url = "mirrors/us-newyork"
country = "US"
name = "us-newyork"

[[mirrors]]
url = "mirrors/us-seattle"
country = "US"
name = "us-seattle"

[[mirrors]]
url = "mirrors/jp-tokyo"
country = "JP"
name = "jp-tokyo"

[[mirrors]]
url = "mirrors/br-saopaulo"
country = "BR"
name = "br-saopaulo"
EOF

cat >"$DEMO/equivocation.toml" <<'EOF'
# mirrorproof demo profile: the catastrophe case. Both mirrors serve release 2026112200,
# each validly signed by two of the three pinned release keys, but with different contents
# (ch-geneva-targeted carries a build made for one country). Generated by
# scripts/make-demo.sh; regenerate rather than edit.
name    = "exampleos"
scheme  = "native"
root    = "../../keys/demo.root.json"
channel = "stable"

[[mirrors]]
url = "mirrors/fr-paris"
country = "FR"
name = "fr-paris"

[[mirrors]]
url = "mirrors/ch-geneva-targeted"
country = "CH"
name = "ch-geneva-targeted"
EOF

echo "demo regenerated: $ROOT_OUT, $DEMO/demo.toml, $DEMO/equivocation.toml, $MIRRORS/"
echo "try: cargo run --release -- check $DEMO/demo.toml --no-state"
