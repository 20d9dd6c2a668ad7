#!/usr/bin/env bash
# `mirrorproof verify --key KEY --sig SIG` against the reference tools of each signature
# format, side by side, in one run. See docs/BENCHMARKS.md, "Signature formats".
#
#   scripts/bench-schemes.sh                          # full run: 1 GiB + 200 MiB files
#   BENCH_SIZE_MIB=64 BENCH_DETACHED_MIB=16 scripts/bench-schemes.sh   # quick smoke run
#
# Pairs (hyperfine -N, warm page cache, one hyperfine run per pair, run one after the other):
#   1. minisign prehashed (ED, BLAKE2b-512):  minisign -V            vs mirrorproof verify, big file
#   2. OpenSSH SSHSIG (sha512):               ssh-keygen -Y verify   vs mirrorproof verify, big file
#   3. signify embedded SHA256 list:          signify-openbsd -C     vs mirrorproof verify, big file
#   4. signify detached (whole message):      signify-openbsd -V     vs mirrorproof verify, 200 MiB
#   5. (BENCH_LEGACY=1, the default) minisign legacy (Ed, whole message): minisign -V vs
#      mirrorproof verify on the 200 MiB file, to show what a whole-message format costs.
# Peak RSS: GNU time -v "Maximum resident set size", the largest of BENCH_RSS_RUNS runs.
#
# Environment:
#   BENCH_SIZE_MIB      size of the big file in MiB (default 1024)
#   BENCH_DETACHED_MIB  size of the file for the whole-message formats (default 200; mirrorproof
#                       refuses more than 256 MiB there)
#   BENCH_RUNS          hyperfine runs per command (default 5; plus 1 warm-up run)
#   BENCH_RSS_RUNS      GNU time runs per command for peak RSS (default 3)
#   BENCH_LEGACY        1 (default) to add pair 5, 0 to skip it
#   BENCH_QUIET_WAIT    seconds to wait at most for an idle second before each pair (default 120)
#   BENCH_MAX_OTHER     run a pair again if other work took more than this % of the CPUs (15)
#   BENCH_ATTEMPTS      attempts per pair at most; the last one is reported (default 3)
#   BENCH_BIN           benchmark this binary instead of building target/release/mirrorproof
#   BENCH_REPORT        where the Markdown results go (default /tmp/mirrorproof-bench-schemes.md)
#   BENCH_TMP           parent of the scratch directory (default /tmp)
#   BENCH_KEEP_RESULTS  directory to copy the raw results into (hyperfine JSON/Markdown, time -v)
#
# Everything large lives in a scratch directory removed on exit. The script stops if a
# verification fails (a tool exits non-zero, mirrorproof does not print OK), never because one
# tool is slower than another.

set -euo pipefail

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
DET_MIB=${BENCH_DETACHED_MIB:-200}
RUNS=${BENCH_RUNS:-5}
RSS_RUNS=${BENCH_RSS_RUNS:-3}
LEGACY=${BENCH_LEGACY:-1}
REPORT=${BENCH_REPORT:-/tmp/mirrorproof-bench-schemes.md}
TMP_PARENT=${BENCH_TMP:-/tmp}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# shellcheck source=bench/lib.sh
. "$HERE/bench/lib.sh"

if [ "$DET_MIB" -gt 256 ]; then
    echo "BENCH_DETACHED_MIB=$DET_MIB: mirrorproof refuses whole-message files over 256 MiB" >&2
    exit 2
fi

# ---------------------------------------------------------------------------------------------
# Tools: the project's installer if there is one, else apt-get (Debian/Ubuntu) for what is missing.
missing() {
    local need=()
    command -v hyperfine >/dev/null || need+=(hyperfine)
    command -v signify-openbsd >/dev/null || need+=(signify-openbsd)
    command -v minisign >/dev/null || need+=(minisign)
    command -v ssh-keygen >/dev/null || need+=(openssh-client)
    [ -x /usr/bin/time ] || need+=(time)
    command -v python3 >/dev/null || need+=(python3)
    command -v sha256sum >/dev/null || need+=(coreutils)
    echo "${need[@]}"
}
need=$(missing)
if [ -n "$need" ] && [ -x "$HERE/install-reference-tools.sh" ]; then
    log "installing reference tools with scripts/install-reference-tools.sh"
    "$HERE/install-reference-tools.sh"
    need=$(missing)
fi
if [ -n "$need" ]; then
    log "installing $need"
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $need
fi

# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d "$TMP_PARENT/mirrorproof-bench-schemes.XXXXXX")
cleanup() {
    if [ -n "${BENCH_KEEP_RESULTS:-}" ] && [ -d "$WORK/results" ]; then
        mkdir -p "$BENCH_KEEP_RESULTS" && cp -r "$WORK/results/." "$BENCH_KEEP_RESULTS/"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RES="$WORK/results"
DATA="$WORK/data"
mkdir -p "$RES" "$DATA"

bench_binary "$WORK" "$REPO"
BIN="$WORK/mirrorproof"
git -C "$REPO" rev-parse HEAD >"$RES/git-commit" 2>/dev/null || true
git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock >"$RES/git-dirty" 2>/dev/null || true
sha256sum "$BIN" | cut -d' ' -f1 >"$RES/bin-sha256"

# Every command runs in $DATA with relative file names, as a user verifying a download would.
cd "$DATA"
BIG=big.bin
DET=detached.bin

log "writing $SIZE_MIB MiB ($BIG) and $DET_MIB MiB ($DET) of /dev/urandom"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$BIG"
head -c $((DET_MIB * 1024 * 1024)) /dev/urandom >"$DET"
BIG_BYTES=$(stat -c %s "$BIG")
DET_BYTES=$(stat -c %s "$DET")

log "keys and signatures made with the reference tools"
# minisign: unencrypted key (-W), prehashed signature (ED, what minisign -S makes by default).
minisign -G -W -p minisign.pub -s minisign.key >/dev/null
minisign -S -s minisign.key -m "$BIG" -x "$BIG.minisig" >/dev/null
alg=$(sed -n 2p "$BIG.minisig" | base64 -d | head -c 2)
[ "$alg" = ED ] || { echo "minisign made a \"$alg\" signature, expected prehashed ED" >&2; exit 1; }
if [ "$LEGACY" = 1 ]; then
    minisign -S -l -s minisign.key -m "$DET" -x "$DET.minisig" >/dev/null
    alg=$(sed -n 2p "$DET.minisig" | base64 -d | head -c 2)
    [ "$alg" = Ed ] || { echo "minisign -l made a \"$alg\" signature, expected legacy Ed" >&2; exit 1; }
fi
# OpenSSH: an Ed25519 key, an allowed_signers file, namespace "file" (ssh-keygen's usual one).
ssh-keygen -q -t ed25519 -N '' -C bench@mirrorproof -f ssh_key
echo "bench@mirrorproof $(cat ssh_key.pub)" >allowed_signers
ssh-keygen -q -Y sign -f ssh_key -n file "$BIG" 2>/dev/null # writes big.bin.sig
# signify: one key; a BSD-style SHA256 list with the signature embedded (as OpenBSD ships
# SHA256.sig), and a detached signature of the smaller file.
signify-openbsd -G -n -c "mirrorproof bench key" -p signify.pub -s signify.sec
sha256sum --tag "$BIG" >SHA256
signify-openbsd -S -e -s signify.sec -m SHA256 -x SHA256.sig
signify-openbsd -S -s signify.sec -m "$DET" -x "$DET.sig"

# ---------------------------------------------------------------------------------------------
# The pairs: name|bytes|label=command|label=command. Commands are split into words by hyperfine
# (-N, no shell); ssh-keygen reads the message on standard input, hence `sh -c 'exec ... <FILE'`.
PAIRS=(
    "minisign-ED|$BIG_BYTES|minisign -V=minisign -V -q -p minisign.pub -m $BIG -x $BIG.minisig|mirrorproof=$BIN verify --key minisign.pub --sig $BIG.minisig $BIG"
    "sshsig|$BIG_BYTES|ssh-keygen -Y verify=sh -c 'exec ssh-keygen -Y verify -f allowed_signers -I bench@mirrorproof -n file -s $BIG.sig <$BIG'|mirrorproof=$BIN verify --key allowed_signers --sig $BIG.sig --namespace file --identity bench@mirrorproof $BIG"
    "signify-C|$BIG_BYTES|signify-openbsd -C=signify-openbsd -C -q -p signify.pub -x SHA256.sig $BIG|mirrorproof=$BIN verify --key signify.pub --sig SHA256.sig $BIG"
    "signify-V|$DET_BYTES|signify-openbsd -V=signify-openbsd -V -q -p signify.pub -x $DET.sig -m $DET|mirrorproof=$BIN verify --key signify.pub --sig $DET.sig $DET"
)
if [ "$LEGACY" = 1 ]; then
    PAIRS+=("minisign-Ed|$DET_BYTES|minisign -V=minisign -V -q -p minisign.pub -m $DET -x $DET.minisig|mirrorproof=$BIN verify --key minisign.pub --sig $DET.minisig $DET")
fi
printf '%s\n' "${PAIRS[@]}" >"$RES/pairs"

# Runs one command line the way hyperfine -N does (words, single quotes group).
run_words() { # command-line [time -v output]
    local -a argv
    eval "argv=($1)"
    if [ -n "${2:-}" ]; then
        /usr/bin/time -v -o "$2" "${argv[@]}"
    else
        "${argv[@]}"
    fi
}

log "checking that every command verifies before timing it"
for p in "${PAIRS[@]}"; do
    IFS='|' read -r name _ ref mine <<<"$p"
    for c in "${ref#*=}" "${mine#*=}"; do
        if ! out=$(run_words "$c" 2>&1); then
            printf '%s: failed: %s\n%s\n' "$name" "$c" "$out" >&2
            exit 1
        fi
        case "$c" in
        "$BIN"*)
            case "$out" in OK*) ;; *) printf '%s: mirrorproof did not say OK:\n%s\n' "$name" "$out" >&2; exit 1 ;; esac
            ;;
        esac
        printf '   %-12s ok (exit 0): %s\n' "$name" "$(printf '%s' "$out" | head -1)" >&2
    done
done
# And that mirrorproof says no to a signature over other bytes (same size, one byte changed).
cp "$DET" tampered.bin
printf '\x00' | dd of=tampered.bin bs=1 seek=$((DET_BYTES / 2)) conv=notrunc status=none
cp "$DET.sig" tampered.bin.sig
if "$BIN" verify --key signify.pub --sig tampered.bin.sig tampered.bin >/dev/null 2>&1; then
    echo "mirrorproof accepted a tampered file" >&2
    exit 1
fi
rm -f tampered.bin tampered.bin.sig

# ---------------------------------------------------------------------------------------------
cpustat() { { date +%s.%N; head -1 /proc/stat; } >"$RES/stat-$1"; }
quiet() { # label [max-wait]
    python3 "$HERE/bench/quiet.py" --label "$1" --log "$RES/quiet.jsonl" \
        --max-wait "${2:-${BENCH_QUIET_WAIT:-120}}"
}
# Percent of all CPUs that went to work other than the benchmarked commands during a pair.
other_pct() { # name
    python3 - "$RES" "$1" <<'EOF'
import glob, json, os, re, sys
res, name = sys.argv[1], sys.argv[2]
def stat(label):
    lines = open(os.path.join(res, f"stat-{label}")).read().split("\n")
    vals = [int(v) for v in lines[1].split()[1:]]
    return float(lines[0]), (sum(vals[:8]) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK")
(t0, b0), (t1, b1) = stat(f"{name}-start"), stat(f"{name}-end")
ours = 0.0
for r in json.load(open(os.path.join(res, f"{name}.json")))["results"]:
    ours += (1 + len(r["times"])) * (r["user"] + r["system"])  # 1 warm-up run
for path in glob.glob(os.path.join(res, f"timev-{name}-*.txt")):
    t = open(path).read()
    ours += float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
    ours += float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
other = max(0.0, (b1 - b0) - ours)
ncpu = len(os.sched_getaffinity(0))
json.dump({"span": t1 - t0, "busy": b1 - b0, "ours": ours, "other": other,
           "other_pct": 100 * other / ((t1 - t0) * ncpu)}, open(os.path.join(res, f"other-{name}.json"), "w"))
print(int(round(100 * other / ((t1 - t0) * ncpu))))
EOF
}

bench_pair() { # pair spec
    local name ref mine i n other
    IFS='|' read -r name _ ref mine <<<"$1"
    for n in $(seq 1 "${BENCH_ATTEMPTS:-3}"); do
        log "$name (attempt $n): ${ref%%=*} vs ${mine%%=*}"
        cat ./*.bin >/dev/null # warm page cache
        quiet "$name-before (attempt $n)"
        cpustat "$name-start"
        rm -f "$RES/timev-$name-"*
        hyperfine -N --warmup 1 --runs "$RUNS" \
            --export-json "$RES/$name.json" --export-markdown "$RES/$name.md" \
            -n "${ref%%=*}" "${ref#*=}" -n "mirrorproof" "${mine#*=}"
        for i in $(seq 1 "$RSS_RUNS"); do
            run_words "${ref#*=}" "$RES/timev-$name-ref-$i.txt" >/dev/null 2>&1
            run_words "${mine#*=}" "$RES/timev-$name-mp-$i.txt" >/dev/null 2>&1
        done
        cpustat "$name-end"
        quiet "$name-after (attempt $n)" 0
        echo "$n" >"$RES/attempts-$name"
        other=$(other_pct "$name")
        if [ "$other" -le "${BENCH_MAX_OTHER:-15}" ]; then
            break
        fi
        log "$name: other work took $other % of the CPUs during the run (attempt $n)"
    done
}

# The machine and tool versions, taken before the pairs run (what was measured).
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M')"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "cpufam=family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"
    echo "nproc=$(nproc)"
    echo "sha_ni=$(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
    echo "avx2=$(grep -qw avx2 /proc/cpuinfo && echo yes || echo no)"
    echo "bmi2=$(grep -qw bmi2 /proc/cpuinfo && echo yes || echo no)"
    echo "sha512=$(grep -qw sha512 /proc/cpuinfo && echo yes || echo no)"
    echo "vendor=$(grep -m1 vendor_id /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"
    # ssh-keygen hashes SHA-512 with the system libcrypto, mirrorproof with the aws-lc it
    # links for TLS (the same OpenSSL assembly): name ssh-keygen's.
    echo "libcrypto=$(ldd "$(command -v ssh-keygen)" 2>/dev/null | awk '/libcrypto/ {print $3}' | head -1) ($(openssl version 2>/dev/null || echo '?'))"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "mirrorproof=$("$BIN" --version 2>/dev/null || echo mirrorproof)"
    echo "hyperfine=$(hyperfine --version)"
    echo "minisign=$(minisign -v 2>&1 | head -1) (Debian $(dpkg-query -W -f '${Version}' minisign 2>/dev/null || echo '?'))"
    echo "signify=signify-openbsd (Debian $(dpkg-query -W -f '${Version}' signify-openbsd 2>/dev/null || echo '?'))"
    echo "ssh=$(ssh -V 2>&1 | head -1)"
} >"$RES/machine"

for p in "${PAIRS[@]}"; do
    bench_pair "$p"
done

# ---------------------------------------------------------------------------------------------
log "report"

python3 - "$RES" "$WORK" "$BIN" "$RUNS" "$RSS_RUNS" >"$REPORT" <<'EOF'
import json, os, re, sys
res, work, bin_, runs, rss_runs = sys.argv[1:6]
machine = dict(l.split("=", 1) for l in open(os.path.join(res, "machine")).read().splitlines())
commit = open(os.path.join(res, "git-commit")).read().strip()[:12] if os.path.getsize(os.path.join(res, "git-commit")) else "?"
dirty = open(os.path.join(res, "git-dirty")).read().strip()
binsha = open(os.path.join(res, "bin-sha256")).read().strip()

def rss(name, who):
    vals = []
    i = 1
    while os.path.exists(p := os.path.join(res, f"timev-{name}-{who}-{i}.txt")):
        vals.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(p).read()).group(1)))
        i += 1
    return max(vals) / 1024

def short(cmd):
    return cmd.replace(bin_, "$WORK/mirrorproof")

TITLES = {
    "minisign-ED": "minisign prehashed (`ED`, BLAKE2b-512 streamed)",
    "sshsig": "OpenSSH SSHSIG (sha512 streamed)",
    "signify-C": "signify embedded SHA256 list, like `signify -C` (sha256 streamed)",
    "signify-V": "signify detached (whole file in memory)",
    "minisign-Ed": "minisign legacy (`Ed`, whole file in memory)",
}
pairs = [l.split("|") for l in open(os.path.join(res, "pairs")).read().splitlines()]
out = []
w = out.append
w("### Machine and run\n")
w("| | |\n| --- | --- |")
w(f"| date (UTC) | {machine['date']} |")
w(f"| CPU | {machine['cpu']} (/proc/cpuinfo: {machine['cpufam']}) |")
w(f"| `nproc` | {machine['nproc']} |")
w(f"| `sha_ni` flag | {machine['sha_ni']} (avx2: {machine['avx2']}, bmi2: {machine['bmi2']}, sha512: {machine['sha512']}; vendor {machine['vendor']}) |")
w(f"| memory | {machine['mem']} |")
w(f"| kernel | {machine['kernel']} |")
w(f"| mirrorproof | `{machine['mirrorproof']}`, commit {commit}{' (local changes in src/)' if dirty else ''}, release build copied to `$WORK/mirrorproof` (sha256 {binsha[:16]}…) |")
w(f"| minisign | {machine['minisign']} |")
w(f"| signify | {machine['signify']} |")
w(f"| OpenSSH | {machine['ssh']} |")
w(f"| hyperfine | {machine['hyperfine']} |")
w(f"| libcrypto linked by ssh-keygen (mirrorproof: aws-lc, built in) | {machine['libcrypto']} |")
w(f"| load average before the pairs | {machine['load']} |")
w("")
w(f"hyperfine -N, 1 warm-up run, {runs} runs per command, page cache warm, one pair at a time. "
  "Throughput = file bytes / mean wall time, in GB/s = 10^9 bytes/s. Peak RSS = GNU time -v "
  f"\"Maximum resident set size\", the largest of {rss_runs} runs. "
  "Speed = reference mean / mirrorproof mean (above 1: mirrorproof is faster); time ratio = "
  "mirrorproof mean / reference mean (at most 1.00×: mirrorproof takes no longer).\n")
w("### Figures\n")
w("| format | file | tool | mean ± σ (s) | min (s) | GB/s | user (s) | sys (s) | peak RSS (MiB) | speed | time ratio |")
w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
cmds = []
for name, nbytes, ref, mine in pairs:
    nbytes = int(nbytes)
    hf = json.load(open(os.path.join(res, f"{name}.json")))["results"]
    r, m = hf[0], hf[1]
    size = f"{nbytes / 2**20:.0f} MiB"
    for who, row, label in (("ref", r, ref.split("=", 1)[0]), ("mp", m, "mirrorproof")):
        speed = "" if who == "ref" else f"{r['mean'] / m['mean']:.2f}×"
        ratio = "" if who == "ref" else f"{m['mean'] / r['mean']:.2f}×"
        w(f"| {TITLES[name]} | {size} | {label} | {row['mean']:.3f} ± {row['stddev']:.3f} | "
          f"{row['min']:.3f} | {nbytes / row['mean'] / 1e9:.2f} | {row['user']:.3f} | "
          f"{row['system']:.3f} | {rss(name, who):.1f} | {speed} | {ratio} |")
    cmds.append((name, short(ref.split("=", 1)[1]), short(mine.split("=", 1)[1])))
w("")
w("Commands (run in `$WORK/data`):\n")
for name, a, b in cmds:
    w(f"- {name}: `{a}` / `{b}`")
w("")
w("### Contention check\n")
w("CPU time the whole machine spent during each pair (from /proc/stat) against the CPU time of the "
  "benchmarked commands (hyperfine user+sys × runs including the warm-up, plus the GNU time runs). "
  "A pair is run again when \"other\" is above BENCH_MAX_OTHER % of the CPUs.\n")
w("| pair | attempt | span (s) | machine CPU (s) | benchmarked commands (s) | other (s) | other, % of all CPUs |")
w("| --- | --- | --- | --- | --- | --- | --- |")
for name, *_ in pairs:
    o = json.load(open(os.path.join(res, f"other-{name}.json")))
    n = open(os.path.join(res, f"attempts-{name}")).read().strip()
    w(f"| {name} | {n} | {o['span']:.1f} | {o['busy']:.1f} | {o['ours']:.1f} | {o['other']:.1f} | {o['other_pct']:.0f} % |")
w("")
w("Machine load just before and after each pair (1 s sample, after waiting up to BENCH_QUIET_WAIT s for a quiet second):\n")
w("| sample | CPUs busy | load avg | waited (s) |\n| --- | --- | --- | --- |")
for line in open(os.path.join(res, "quiet.jsonl")):
    q = json.loads(line)
    w(f"| {q['label']} | {q['busy_pct']:.0f} % | {q['loadavg']} | {q['waited_s']:.0f} |")
print("\n".join(out))
EOF
cat "$REPORT"
log "report written to $REPORT"
