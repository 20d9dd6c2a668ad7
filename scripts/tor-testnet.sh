#!/usr/bin/env bash
# A private Tor network on loopback, for the managed-Tor vantage tests (tests/tor_vantage.rs).
#
#   scripts/tor-testnet.sh start DIR   # DIR must not exist yet, or be empty
#   scripts/tor-testnet.sh stop DIR
#
# `start` runs three v3 directory authorities, one middle relay and three exits, each on its
# own 127.0.0.N address, with fresh keys, data directories and ports (reused ones leave
# clients unable to use their exit for minutes). A GeoIP file places the exits in FR, DE and
# US. It returns once every authority's consensus lists the three exits as Running and Exit
# (bounded by TESTNET_TIMEOUT seconds, default 120), after writing:
#   DIR/client.torrc  the torrc lines a client needs to use this network
#   DIR/exits         one line per exit: CC FINGERPRINT 127.0.0.N
#   DIR/geoip         the GeoIP file (client.torrc names it)
# Every tor exits by itself 9-13 s after TESTNET_OWNER_PID dies (default: this script's
# caller), so a killed test run leaves nothing behind; `stop` ends them at once.
#
# The options below are the ones ../shared/design/TOR-TESTNET.md measured as necessary: without
# any one of them the network starts but clients fail quietly.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

TOR=${TOR:-tor}
GENCERT=${TOR_GENCERT:-tor-gencert}
timeout=${TESTNET_TIMEOUT:-120}
owner=${TESTNET_OWNER_PID:-$PPID}

# name kind address country: authorities 127.0.0.11-13, the middle relay .21, exits .31-.33.
nodes=(
    "auth1 auth 127.0.0.11 -"
    "auth2 auth 127.0.0.12 -"
    "auth3 auth 127.0.0.13 -"
    "middle1 middle 127.0.0.21 -"
    "exitFR exit 127.0.0.31 FR"
    "exitDE exit 127.0.0.32 DE"
    "exitUS exit 127.0.0.33 US"
)

stop_all() {
    local d=$1 pid
    for pidfile in "$d"/*/pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        # Only a tor whose command line names this data directory: a stale pid file must not
        # make us kill an unrelated process that reused the number.
        if [ -n "$pid" ] && grep -qF "$(dirname "$pidfile")" "/proc/$pid/cmdline" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for pidfile in "$d"/*/pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        for _ in $(seq 50); do
            [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$pidfile"
    done
}

if [ "$cmd" = stop ]; then
    [ -d "$dir" ] || exit 0
    stop_all "$dir"
    exit 0
fi
[ "$cmd" = start ] || usage

for tool in "$TOR" "$GENCERT"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "tor-testnet: $tool is not installed (Debian: apt-get install tor)" >&2
        exit 3
    fi
done
mkdir -p "$dir"
if [ -n "$(ls -A "$dir")" ]; then
    echo "tor-testnet: $dir is not empty; every run needs a fresh directory" >&2
    exit 2
fi
dir=$(cd "$dir" && pwd)
started=$(date +%s)

fail() {
    local log=$2
    echo "tor-testnet: $1" >&2
    if [ -n "$log" ] && [ -f "$log" ]; then
        echo "tor-testnet: last lines of $log:" >&2
        tail -n 15 "$log" >&2
    fi
    stop_all "$dir"
    exit 1
}

# A port nothing listens on at ADDRESS, outside the ephemeral range (32768-60999 here) so an
# outgoing connection cannot take it between our check and tor's bind.
used_ports=" "
free_port() {
    local addr=$1 port
    for _ in $(seq 200); do
        port=$((10000 + RANDOM % 20000))
        case "$used_ports" in *" $port "*) continue ;; esac
        # A refused connection means nothing listens there, on this address or on 0.0.0.0.
        if ! (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
            used_ports="$used_ports$port "
            echo "$port"
            return 0
        fi
    done
    fail "no free port found on $addr" ""
}

# Exits may resolve names only through a resolver on loopback (none runs, so names fail
# fast), never the system's: that keeps the network's DNS self-test off the internet.
echo "nameserver 127.0.0.1" >"$dir/resolv.conf"

# GeoIP: INTLOW,INTHIGH,CC (127.0.0.0 is 2130706432).
: >"$dir/geoip"
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    if [ "$kind" = exit ]; then
        n=$((2130706432 + ${addr##*.}))
        echo "$n,$n,$cc" >>"$dir/geoip"
    fi
done

declare -A orport dirport fpr
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    mkdir -m 700 -p "$dir/$name/keys"
    orport[$name]=$(free_port "$addr")
    [ "$kind" = auth ] && dirport[$name]=$(free_port "$addr")
done

# Keys for every node, in parallel (RSA key generation is most of this step).
keygen() {
    local name=$1 kind=$2 addr=$3 d="$dir/$1"
    if [ "$kind" = auth ]; then
        # The authority's v3 identity (offline in real life) and a signing key it certifies.
        echo "" | "$GENCERT" --create-identity-key --passphrase-fd 0 -m 12 \
            -a "$addr:${dirport[$name]}" \
            -i "$d/keys/authority_identity_key" -s "$d/keys/authority_signing_key" \
            -c "$d/keys/authority_certificate" >"$d/keygen.log" 2>&1 || return 1
    fi
    # The relay identity: generated now, so every node's torrc can name every authority.
    "$TOR" --list-fingerprint --ignore-missing-torrc -f "$d/none" \
        --defaults-torrc "$d/none" --DataDirectory "$d" --ORPort 1 \
        --DirAuthority "x 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff" \
        --Log "err stderr" >>"$d/keygen.log" 2>&1
}
declare -A keyjob
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    keygen "$name" "$kind" "$addr" &
    keyjob[$name]=$!
done
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    wait "${keyjob[$name]}" || fail "key generation failed for $name" "$dir/$name/keygen.log"
done
keys_done=$(date +%s)

authorities=""
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    d="$dir/$name"
    fpr[$name]=$(awk '{print $2}' "$d/fingerprint")
    if [ "$kind" = auth ]; then
        v3ident=$(awk '$1 == "fingerprint" {print $2}' "$d/keys/authority_certificate")
        authorities+="DirAuthority $name orport=${orport[$name]} no-v2 v3ident=$v3ident"
        authorities+=" $addr:${dirport[$name]} ${fpr[$name]}"$'\n'
    fi
done

exit_fprs=""
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    [ "$kind" = exit ] && exit_fprs+="${exit_fprs:+,}${fpr[$name]}"
done

for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    d="$dir/$name"
    {
        cat <<EOF
TestingTorNetwork 1
DataDirectory $d
Log notice file $d/notice.log
SafeLogging 0
Nickname $name
ContactInfo $name@testnet.invalid
Address $addr
ORPort $addr:${orport[$name]}
SocksPort 0
AssumeReachable 1
ServerDNSResolvConfFile $dir/resolv.conf
ServerDNSDetectHijacking 0
ServerDNSAllowBrokenConfig 1
EOF
        printf '%s' "$authorities"
        case "$kind" in
        auth)
            cat <<EOF
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
DirPort $addr:${dirport[$name]}
ExitRelay 0
ExitPolicy reject *:*
TestingV3AuthInitialVotingInterval 6
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
TestingDirAuthVoteExit $exit_fprs
TestingDirAuthVoteGuard *
TestingMinExitFlagThreshold 0
EOF
            ;;
        middle)
            cat <<EOF
DirCache 0
ExitRelay 0
ExitPolicy reject *:*
EOF
            ;;
        exit)
            # Accepting only 127/8 makes clients refuse this exit for any IP-literal
            # destination; this policy passes their check while reaching only loopback.
            cat <<EOF
DirCache 0
ExitRelay 1
RefuseUnknownExits 0
ExitPolicy accept 127.0.0.0/8:*,reject 0.0.0.0/1:*,reject 128.0.0.0/1:*,accept *4:*,reject *:*
EOF
            ;;
        esac
    } >"$d/torrc"
done

for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    d="$dir/$name"
    # In the background rather than RunAsDaemon: a daemon writes its PidFile some time after
    # its parent returns, so `stop` could miss it. Its own output goes to a file, so a caller
    # that reads this script's output is not held open by tor.
    "$TOR" -f "$d/torrc" --defaults-torrc "$d/none" \
        --__OwningControllerProcess "$owner" </dev/null >"$d/stdout.log" 2>&1 &
    echo $! >"$d/pid"
done

{
    echo "TestingTorNetwork 1"
    printf '%s' "$authorities"
    echo "UseMicrodescriptors 0"
    echo "GeoIPFile $dir/geoip"
} >"$dir/client.torrc.tmp"

# Done when every authority's consensus lists every exit as Running and Exit.
exits_listed() {
    local consensus=$1
    [ -f "$consensus" ] || return 1
    awk -v want="exitFR exitDE exitUS" '
        $1 == "r" { nick = $2 }
        $1 == "s" && nick != "" {
            run = 0; ex = 0
            for (i = 2; i <= NF; i++) { if ($i == "Running") run = 1; if ($i == "Exit") ex = 1 }
            if (run && ex) ok[nick] = 1
            nick = ""
        }
        END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!ok[w[i]]) exit 1 }
    ' "$consensus"
}

deadline=$((started + timeout))
while :; do
    ready=1
    for node in "${nodes[@]}"; do
        read -r name kind addr cc <<<"$node"
        d="$dir/$name"
        pid=$(cat "$d/pid" 2>/dev/null || true)
        if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
            fail "tor for $name exited" "$d/stdout.log"
        fi
        if [ "$kind" = auth ] && ! exits_listed "$d/cached-consensus"; then
            ready=0
        fi
    done
    [ $ready -eq 1 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
        fail "no consensus listing all three exits as Running and Exit within ${timeout}s" \
            "$dir/auth1/notice.log"
    fi
    sleep 0.5
done

: >"$dir/exits.tmp"
for node in "${nodes[@]}"; do
    read -r name kind addr cc <<<"$node"
    [ "$kind" = exit ] && echo "$cc ${fpr[$name]} $addr" >>"$dir/exits.tmp"
done
mv "$dir/client.torrc.tmp" "$dir/client.torrc"
mv "$dir/exits.tmp" "$dir/exits"
now=$(date +%s)
echo "tor-testnet: network in $dir ready after $((now - started)) s" \
    "(keys $((keys_done - started)) s, first usable consensus $((now - keys_done)) s)" >&2
