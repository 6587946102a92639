#!/usr/bin/env bash
# Checks that this machine lets us do what the network-partition test does (tests/Router.Cluster.Tests,
# Infrastructure/NetworkLab.cs): create a network namespace, a bridge and a veth pair. Cleans up after itself.
# Exit 0 and prints nothing when all works; otherwise exit 1 with one line per problem on stdout, saying what is
# missing and what to do. Usage: bash .ci/check-netns.sh
set -uo pipefail

problems=()
if [ "$(id -u)" -ne 0 ]; then
  problems+=("not root: creating network namespaces needs root (run ./test.sh as root)")
fi
if ! command -v ip >/dev/null 2>&1; then
  problems+=("\`ip\` not found: install iproute2 (apt-get install iproute2)")
fi

if [ ${#problems[@]} -eq 0 ]; then
  id="rtchk$$"
  ns="$id-ns"
  cleanup() {
    ip netns del "$ns" >/dev/null 2>&1
    ip link del "${id}v" >/dev/null 2>&1
    ip link del "${id}b" >/dev/null 2>&1
  }
  trap cleanup EXIT
  try() {
    local what=$1; shift
    local out
    if ! out="$("$@" 2>&1)"; then
      problems+=("$what failed: \`$*\`: ${out:-no output} (network namespaces are not permitted here: run as root on a VM or a privileged container)")
      return 1
    fi
  }
  try "creating a network namespace" ip netns add "$ns" &&
    try "running a command in it" ip netns exec "$ns" ip link set lo up &&
    try "creating a bridge" ip link add "${id}b" type bridge &&
    try "creating a veth pair" ip link add "${id}v" type veth peer name "${id}p" &&
    try "moving a veth end into the namespace" ip link set "${id}p" netns "$ns"
fi

if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}"
  exit 1
fi
exit 0
