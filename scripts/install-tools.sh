#!/usr/bin/env bash
# Installs what ipx needs outside npm: HAProxy (Debian's package) and Consul.
# Consul: `consul` on PATH if present; else Debian's package from the bullseye
# suite of the mirror apt already uses, downloaded into .tools/ and unpacked
# with dpkg -x (nothing installed system-wide). Idempotent and quiet when done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
say() { printf 'ipx setup: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq >/dev/null; apt_updated=1; fi
}

# HAProxy 2.6+ (the system package: the daemon needs nothing else).
if ! command -v haproxy >/dev/null 2>&1; then
  say "installing haproxy (apt-get install haproxy)"
  apt_update_once
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  # The package starts a system haproxy on :80; ipx runs its own.
  as_root sh -c 'command -v systemctl >/dev/null && systemctl disable --now haproxy >/dev/null 2>&1; service haproxy stop >/dev/null 2>&1; true'
fi
version="$(haproxy -v 2>/dev/null | sed -n 's/^HA-\{0,1\}Proxy version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
read -r major minor <<<"${version:-0 0}"
if [ "$major" -lt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -lt 6 ]; }; then
  say "haproxy $major.$minor found; ipx needs 2.6 or newer"; exit 1
fi

# Consul
if command -v consul >/dev/null 2>&1 || [ -x "$tools/consul/usr/bin/consul" ]; then exit 0; fi
sources=/etc/apt/sources.list.d/debian.sources
mirror=""
if [ -f "$sources" ]; then mirror="$(awk '/^URIs:/ {print $2; exit}' "$sources")"; fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
fi
if [ -z "$mirror" ]; then say "cannot find a Debian mirror in apt's sources to fetch consul from; put a consul binary on PATH"; exit 1; fi

say "fetching Debian's consul package (bullseye) into .tools/"
apt_dir="$tools/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/etc"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $mirror bullseye main" > "$apt_dir/etc/sources.list"
apt_opts=(
  -o "Dir::Etc::sourcelist=$apt_dir/etc/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" update -qq >/dev/null
(cd "$apt_dir/archives" && apt-get "${apt_opts[@]}" download -qq consul >/dev/null)
# sed, not head: head exits early and, under pipefail, the writer's SIGPIPE fails the script.
deb="$(ls "$apt_dir"/archives/consul_*.deb | sed -n 1p)"
rm -rf "$tools/consul.tmp" && dpkg -x "$deb" "$tools/consul.tmp" && mv "$tools/consul.tmp" "$tools/consul"
"$tools/consul/usr/bin/consul" version | sed -n 1p >&2
