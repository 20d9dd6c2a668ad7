#!/usr/bin/env bash
# Regenerates src/report/assets/world-110m.svg, the world map of the HTML report
# (`--format html`), from Natural Earth's public-domain boundaries as the npm package
# world-atlas ships them (TopoJSON), with scripts/world-map.js.
#
#   scripts/world-map.sh [OUTPUT]      (default: src/report/assets/world-110m.svg)
#
# Needs node and npm, and Debian's iso-codes (/usr/share/iso-codes/json/iso_3166-1.json, the
# same source as scripts/gen-countries.py; installed with apt when missing, through sudo when
# not root). world-atlas and topojson-client are installed, at pinned versions, into a
# temporary directory that is removed afterwards: nothing from npm is committed but the
# generated map. Running it twice gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

WORLD_ATLAS=2.0.2
TOPOJSON_CLIENT=3.1.0
ISO=/usr/share/iso-codes/json/iso_3166-1.json
out="${1:-src/report/assets/world-110m.svg}"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "world-map: $tool is not installed (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
done
if [ ! -f "$ISO" ]; then
    echo "world-map: installing iso-codes" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iso-codes
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
npm install --prefix "$tmp" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
    --loglevel=error "world-atlas@$WORLD_ATLAS" "topojson-client@$TOPOJSON_CLIENT" >/dev/null

mkdir -p "$(dirname "$out")"
node scripts/world-map.js "$tmp/node_modules" "$ISO" >"$tmp/map.svg"
mv "$tmp/map.svg" "$out"
echo "world-map: wrote $out ($(wc -c <"$out") bytes)" >&2
