#!/usr/bin/env bash
# Installs the reference tools that the ecosystem and differential tests run against:
# signify-openbsd, minisign and ssh-keygen (openssh-client), from Debian's packages; and tor
# (with tor-gencert), which the managed-Tor tests run as a private network on loopback
# (scripts/tor-testnet.sh); and postgresql, which the history tests run on loopback
# (scripts/postgres-test.sh). Idempotent: does nothing when all of them are already installed.
set -euo pipefail

missing=()
command -v signify-openbsd >/dev/null 2>&1 || missing+=(signify-openbsd)
command -v minisign >/dev/null 2>&1 || missing+=(minisign)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
{ command -v tor >/dev/null 2>&1 && command -v tor-gencert >/dev/null 2>&1; } || missing+=(tor)
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
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    signify-openbsd minisign openssh-client tor postgresql
