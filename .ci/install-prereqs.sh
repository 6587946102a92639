#!/usr/bin/env bash
# Installs, from Debian's packages, what the tests need beyond the .NET SDK, and only what is missing:
#   nodejs, npm   the offline Kubernetes manifest validation (.ci/validate-k8s.sh)
#   iproute2      `ip netns` / veth / bridge for the network-partition test (tests/Router.Cluster.Tests)
#   procps        `kill` (SIGTERM to node processes in the node and cluster tests)
#   postgresql    the persistence and cluster tests (.ci/start-postgres.sh runs a throwaway server)
# Checks with `command -v` / `type -P` / the PostgreSQL binaries, runs `apt-get update` once and only when
# something must be installed. Not root and something missing: prints exactly what and exits 1.
# Usage: bash .ci/install-prereqs.sh        (test.sh runs it first)
set -euo pipefail

log() { echo "install-prereqs: $*" >&2; }

have_pg() { ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# `kill` is a shell builtin too; the tests exec the binary, so look for the file.
{ type -P kill >/dev/null && type -P ps >/dev/null; } || missing+=(procps)
have_pg || missing+=(postgresql)

if [ ${#missing[@]} -eq 0 ]; then
  log "nothing to install (node $(node --version), npm $(npm --version), $(ip -V 2>&1 | head -n1), $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "missing: ${missing[*]}; installing them needs root. As root run:"
  log "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "missing: ${missing[*]}, and this is not a Debian-like system (no apt-get): install them yourself"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
  local out
  out="$(mktemp)"
  if ! apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-unsafe-io "$@" >"$out" 2>&1; then
    log "apt-get install $* failed:"; tail -n 30 "$out" >&2; rm -f "$out"; exit 1
  fi
  rm -f "$out"
}

log "missing: ${missing[*]}; apt-get update"
if ! apt-get update >/dev/null 2>&1; then
  log "apt-get update failed (no access to Debian's package mirrors?); missing: ${missing[*]}"
  exit 1
fi

# npm separately, after nodejs: a nodejs package that bundles npm (NodeSource's) conflicts with Debian's npm,
# so npm is installed only if `npm` is still missing once nodejs is there.
first=()
for p in "${missing[@]}"; do [ "$p" = npm ] || first+=("$p"); done
if [ ${#first[@]} -gt 0 ]; then
  log "apt-get install ${first[*]}"
  apt_install "${first[@]}"
fi
if ! command -v npm >/dev/null 2>&1; then
  log "apt-get install npm"
  apt_install npm
fi

still=()
command -v node >/dev/null 2>&1 || still+=(node)
command -v npm >/dev/null 2>&1 || still+=(npm)
command -v ip >/dev/null 2>&1 || still+=(ip)
type -P kill >/dev/null || still+=(kill)
have_pg || still+=(postgresql)
if [ ${#still[@]} -gt 0 ]; then
  log "installed, but still not found: ${still[*]}"
  exit 1
fi
log "installed ${missing[*]} (node $(node --version), npm $(npm --version))"
