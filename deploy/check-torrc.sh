#!/bin/sh
# Checks deploy/torrc with `tor --verify-config`, without touching the
# system's tor: the snippet is copied to a temporary folder and its
# HiddenServiceDir and DataDirectory are pointed at temporary folders.
#
# Runs twice: the snippet alone, and the snippet on top of Debian's
# /usr/share/tor/tor-service-defaults-torrc (if present), which is how the
# Debian tor service reads it. Needs no network and nothing from the
# running tor. Works as root or as an ordinary user: verify-config never
# switches user or opens the onion service.
#
# Usage: deploy/check-torrc.sh [path/to/torrc]
# Exit status: 0 if every check passed, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
torrc=${1:-"$here/torrc"}
debian_defaults=/usr/share/tor/tor-service-defaults-torrc

fail() { echo "FAIL: $*" >&2; exit 1; }

command -v tor >/dev/null 2>&1 || fail "tor is not installed (apt-get install tor)"
[ -r "$torrc" ] || fail "cannot read $torrc"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-torrc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# tor insists that its folders are private to the user it runs as.
chmod 0700 "$tmp"
mkdir -m 0700 "$tmp/data" "$tmp/hs"

# Point the onion service and the data folder at the temporary folders.
grep -q '^HiddenServiceDir ' "$torrc" || fail "no HiddenServiceDir line in $torrc"
sed -e "s|^HiddenServiceDir .*|HiddenServiceDir $tmp/hs/|" \
    -e '/^DataDirectory /d' "$torrc" > "$tmp/torrc"
printf 'DataDirectory %s/data\n' "$tmp" >> "$tmp/torrc"

echo "tor: $(tor --version | head -n 1)"

# Proof of work needs tor >= 0.4.8 built with the pow module.
if grep -q '^HiddenServicePoWDefensesEnabled 1' "$tmp/torrc"; then
    tor --list-modules | grep -q '^pow: yes' || fail "this tor has no pow module (HiddenServicePoWDefensesEnabled would be ignored)"
    echo "ok: tor has the pow module"
fi

# Log to stdout instead of syslog; never switch user (so root is fine).
run_verify() { # $1: label, $2: defaults file
    out=$(tor --defaults-torrc "$2" -f "$tmp/torrc" \
        --Log 'notice stdout' --User '' --PidFile '' \
        --verify-config 2>&1) && rc=0 || rc=$?
    echo "$out" | sed 's/^/  /'
    [ "$rc" -eq 0 ] || fail "$1: tor --verify-config exited with $rc"
    echo "$out" | grep -q 'Configuration was valid' || fail "$1: tor did not say the configuration was valid"
    echo "ok: $1"
}

# An empty defaults file: the snippet on its own.
: > "$tmp/empty-defaults"
run_verify "snippet alone" "$tmp/empty-defaults"

if [ -r "$debian_defaults" ]; then
    # Debian's defaults name /run/tor for the control socket, PID file and
    # SOCKS socket; the snippet must switch those off.
    run_verify "snippet with Debian's service defaults" "$debian_defaults"
    eff=$(tor --defaults-torrc "$debian_defaults" -f "$tmp/torrc" \
        --Log 'notice stdout' --User '' --PidFile '' --dump-config short 2>/dev/null) \
        || fail "tor --dump-config failed"
    echo "$eff" | grep -q '^SocksPort 0$' || fail "the effective configuration still has a SOCKS port"
    if echo "$eff" | grep '^ControlSocket ' | grep -qv '^ControlSocket 0$'; then
        fail "the effective configuration still has a control socket"
    fi
    echo "$eff" | grep -q '^HiddenServicePort 80 unix:/run/peluit/peluit.sock$' \
        || fail "port 80 does not point at /run/peluit/peluit.sock"
    echo "ok: effective configuration has no SOCKS port, no control socket, port 80 -> unix:/run/peluit/peluit.sock"
else
    echo "note: $debian_defaults not found; checked the snippet alone"
fi

echo "PASS: $torrc"
