#!/usr/bin/env bash
# Runs every test Router has, as CI does: starts a throwaway PostgreSQL (installing it from Debian's
# packages if missing), validates the Kubernetes manifests offline, then `dotnet test` over the solution.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\n== %s\n' "$*"; }

log "PostgreSQL for the persistence and cluster tests"
ROUTER_TEST_POSTGRES="$(bash .ci/start-postgres.sh | tail -n 1)"
export ROUTER_TEST_POSTGRES

if [ -f .ci/validate-k8s.sh ]; then
  log "Kubernetes manifests (offline schema validation)"
  bash .ci/validate-k8s.sh
fi

log "Build"
dotnet build Router.sln -c Release -nologo -clp:ErrorsOnly

log "Tests"
out="$(mktemp)"
set +e
dotnet test Router.sln -c Release --no-build -nologo --logger "console;verbosity=minimal" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'Passed: +[0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
rm -f "$out"
echo
echo "${passed} passed, ${failed} failed"
exit "$status"
