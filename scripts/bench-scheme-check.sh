#!/usr/bin/env bash
# `mirrorproof check` with a signed-file profile (signify, an OpenBSD-style SHA256.sig) over
# 300 loopback mirrors, 30 of them black holes, every listed file hashed. The same farm as
# scripts/bench.sh benchmark 2 (scripts/bench/loopback_mirrors.py), with a signify profile.
# The farm gets 2048 handler threads: with 256, idle keep-alive connections hold every
# handler for the farm's 30 s connection timeout and the farm, not mirrorproof, is measured.
#
#   scripts/bench-scheme-check.sh              # 4 listed files of 1 MiB, --timeout 2
#   BENCH_RUNS=5 scripts/bench-scheme-check.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUNS=${BENCH_RUNS:-3}
"$HERE/install-reference-tools.sh"
command -v hyperfine >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
(cd "$REPO" && cargo build --release --quiet)
BIN="$REPO/target/release/mirrorproof"

WORK=$(mktemp -d /tmp/mp-scheme-check.XXXXXX)
FARM_PID=
cleanup() { [ -n "$FARM_PID" ] && kill "$FARM_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# One release directory, signed the way OpenBSD signs it.
REL="$WORK/tree/7.9/amd64"
mkdir -p "$REL"
for f in bsd.rd base79.tgz comp79.tgz INSTALL.amd64; do
    head -c $((1024 * 1024)) /dev/urandom >"$REL/$f"
done
(cd "$REL" && sha256sum --tag bsd.rd base79.tgz comp79.tgz INSTALL.amd64 >"$WORK/SHA256")
signify-openbsd -G -n -p "$WORK/k.pub" -s "$WORK/k.sec"
signify-openbsd -S -e -s "$WORK/k.sec" -m "$WORK/SHA256" -x "$REL/SHA256.sig"

python3 "$HERE/bench/loopback_mirrors.py" --tree "$WORK/tree" --root-json "$WORK/unused.json" \
    --profile-out "$WORK/farm.toml" --ready-file "$WORK/ready.json" \
    --honest 270 --blackholes 30 --honest-addrs 30 --lifetime 900 --max-handlers 2048 &
FARM_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || { echo "loopback farm not ready" >&2; exit 1; }

# The farm writes a native profile; swap its trust lines for the signify scheme.
python3 - "$WORK/farm.toml" "$WORK/k.pub" <<'PY'
import json, sys
path, key = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
out = []
for l in lines:
    if l.startswith("root = "):
        out += ['scheme = "signify"', f"key = {json.dumps(key)}",
                'file = "7.9/amd64/SHA256.sig"', 'required_entries = ["INSTALL.amd64"]']
    elif l.startswith("channel = "):
        out.append('channel = "7.9-amd64"')
    else:
        out.append(l)
open(path, "w").write("\n".join(out))
PY

CMD="$BIN check $WORK/farm.toml --timeout 2 --artifacts full --no-state --json ${BENCH_CHECK_ARGS:-}"
rc=0
$CMD >"$WORK/report.json" || rc=$?
python3 - "$WORK/report.json" "$WORK/ready.json" "$rc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); ready = json.load(open(sys.argv[2])); rc = int(sys.argv[3])
st = {m["url"]: m for m in r["mirrors"]}
assert len(st) == 300
bad = [u for u in ready["honest"] if st[u]["status"] != "ok" or len(st[u]["artifacts"]) != 4]
assert not bad, [(u, st[u]["status"], st[u]["error"]) for u in bad[:3]]
assert all(st[u]["status"] == "unreachable" for u in ready["blackholes"])
assert rc == 1
print(f"statuses as expected: {len(ready['honest'])} ok with 4 files hashed each, "
      f"{len(ready['blackholes'])} unreachable")
PY
hyperfine -N -i --warmup 1 --runs "$RUNS" "$CMD"
/usr/bin/time -v env ${BENCH_ENV:-MIRRORPROOF_BENCH=1} $CMD 2>"$WORK/time.txt" >/dev/null || true
grep "Maximum resident set size" "$WORK/time.txt"
