#!/usr/bin/env bash
# Installs the reference tools that the ecosystem and differential tests run against:
# signify-openbsd, minisign and ssh-keygen (openssh-client), from Debian's packages.
# Idempotent: does nothing when all three are already installed.
set -euo pipefail

missing=()
command -v signify-openbsd >/dev/null 2>&1 || missing+=(signify-openbsd)
command -v minisign >/dev/null 2>&1 || missing+=(minisign)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)

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
    signify-openbsd minisign openssh-client
