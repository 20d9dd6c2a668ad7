#!/usr/bin/env bash
# Installs the reference tools that the ecosystem and differential tests run against:
# signify-openbsd, minisign and ssh-keygen (openssh-client), from Debian's packages; and tor
# (with tor-gencert), which the managed-Tor tests run as a private network on loopback
# (scripts/tor-testnet.sh); the consumers of the report formats (tests/report_formats.rs,
# tests/recipes.rs): promtool (Debian's prometheus), node_exporter's textfile collector
# (prometheus-node-exporter) and junitparser for Debian's python3 (python3-junitparser);
# chromium, the headless browser the HTML report's tests load the page in
# (tests/html_report.rs); and postgresql, which the history tests run on loopback
# (scripts/postgres-test.sh). Idempotent: does nothing when all of them are already installed.
set -euo pipefail

missing=()
command -v signify-openbsd >/dev/null 2>&1 || missing+=(signify-openbsd)
command -v minisign >/dev/null 2>&1 || missing+=(minisign)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
{ command -v tor >/dev/null 2>&1 && command -v tor-gencert >/dev/null 2>&1; } || missing+=(tor)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || missing+=(prometheus-node-exporter)
/usr/bin/python3 -c 'import junitparser' >/dev/null 2>&1 || missing+=(python3-junitparser)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# PostgreSQL's server, for the history tests (scripts/postgres-test.sh runs its own cluster).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-reference-tools: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
else
    sudo=(sudo)
fi
# Packages with a daemon (prometheus, node_exporter) would start it on installation: the
# tests run their own on loopback, so services stay stopped (policy-rc.d, exit 101) while
# this installs, where no policy says otherwise.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}"
