#!/usr/bin/env bash
# Runs every test Router has, as CI does (.ci/run calls it), on a machine that has only the .NET 10 SDK:
#   1. installs what the tests need from Debian's packages when missing (.ci/install-prereqs.sh: nodejs, npm,
#      iproute2, procps, postgresql) and checks up front that network namespaces are permitted (.ci/check-netns.sh);
#   2. starts a throwaway PostgreSQL for this checkout (.ci/start-postgres.sh), unless ROUTER_TEST_POSTGRES is set;
#   3. validates the Kubernetes manifests offline (.ci/validate-k8s.sh, npm);
#   4. builds the solution and runs each test project in turn with a hang timeout, so a hung test is killed and
#      named instead of eating the CI budget.
# Arguments: test project files to run instead of all (./test.sh tests/Router.Cli.Tests/Router.Cli.Tests.csproj).
# Ends with a per-project table, the slowest tests, and the line "N passed, N failed". Exit 0 only if all passed.
# Run as root (PostgreSQL and network namespaces need it). Knobs: ROUTER_TEST_HANG_TIMEOUT (default 5m, any
# value `dotnet test --blame-hang-timeout` takes), ROUTER_TEST_POSTGRES (use this server instead of starting one).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The slowest test takes ~70 s (the partition test, 2 cores, load average ~35), a cluster test's own worst-case
# waits add up to a few minutes: 5 minutes without a test finishing is a hang.
HANG_TIMEOUT="${ROUTER_TEST_HANG_TIMEOUT:-5m}"
started=$(date +%s)
problems=()   # what failed outside the test runs, repeated beside the final count

log() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

log "Prerequisites"
if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: dotnet not found: install the .NET 10 SDK (see README.md, Prerequisites)" >&2
  exit 1
fi
if ! bash .ci/install-prereqs.sh; then
  echo "test.sh: prerequisites missing (see above); nothing was tested" >&2
  echo
  echo "0 passed, 1 failed"
  exit 1
fi

netns=""
if ! netns="$(bash .ci/check-netns.sh)"; then
  echo "test.sh: NETWORK NAMESPACES ARE NOT AVAILABLE on this machine:"
  printf '  %s\n' "$netns"
  echo "  The network-partition test (Router.Cluster.Tests.PartitionTests) needs them and WILL FAIL;"
  echo "  everything else runs. Run ./test.sh as root on a VM or a privileged container to run it."
  problems+=("network namespaces not available, so PartitionTests failed: ${netns//$'\n'/; }")
else
  echo "network namespaces: available (the partition test can run)"
fi

log "PostgreSQL for the persistence and cluster tests"
if [ -n "${ROUTER_TEST_POSTGRES:-}" ]; then
  echo "using ROUTER_TEST_POSTGRES from the environment"
else
  ROUTER_TEST_POSTGRES="$(bash .ci/start-postgres.sh | tail -n 1)"
  echo "$ROUTER_TEST_POSTGRES"
fi
export ROUTER_TEST_POSTGRES

k8s_status=0
if [ -f .ci/validate-k8s.sh ]; then
  log "Kubernetes manifests (offline schema validation)"
  if ! bash .ci/validate-k8s.sh; then
    k8s_status=1
    problems+=("Kubernetes manifest validation failed (.ci/validate-k8s.sh, output above)")
  fi
fi

log "Build"
if ! dotnet build Router.sln -c Release -nologo -clp:ErrorsOnly; then
  echo
  echo "test.sh: the build failed; nothing was tested"
  echo "0 passed, 1 failed"
  exit 1
fi

# Every test project, the cluster tests (slowest, real node processes) last; or the projects named as arguments.
if [ $# -gt 0 ]; then
  projects=("$@")
else
  mapfile -t projects < <(find tests -name '*.Tests.csproj' | sort | awk '/Cluster/ { last = last $0 "\n"; next } { print } END { printf "%s", last }')
fi
# trx files, per-project logs and the per-test table stay here after the run (TestResults/ is git-ignored).
results="$PWD/TestResults/test.sh"
rm -rf "$results" && mkdir -p "$results"

total_passed=0 total_failed=0 total_skipped=0 status=0
summary=()
for proj in "${projects[@]}"; do
  name="$(basename "$proj" .csproj)"
  log "Tests: $name (hang timeout $HANG_TIMEOUT)"
  t0=$(date +%s)
  # Own session (setsid), so whatever a killed test host leaves running (node processes, sleep) is found and ended.
  set +e
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$results/$name.sid" \
    dotnet test "$proj" -c Release --no-build -nologo \
      --blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none \
      --results-directory "$results/$name" --logger "trx;LogFileName=$name.trx" \
      --logger "console;verbosity=minimal" 2>&1 | tee "$results/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  took=$(( $(date +%s) - t0 ))
  sid="$(cat "$results/$name.sid" 2>/dev/null || true)"
  if [ -n "$sid" ] && leftovers="$(pgrep -a -s "$sid" 2>/dev/null)" && [ -n "$leftovers" ]; then
    echo "test.sh: $name left processes running; ending them:"
    printf '  %s\n' "$leftovers" | cut -c1-200
    pkill -KILL -s "$sid" 2>/dev/null || true
  fi

  trx="$results/$name/$name.trx"
  p=0 f=0 s=0
  if [ -f "$trx" ]; then
    # One line per test: outcome<TAB>seconds<TAB>project<TAB>name (outcome Passed, Failed, NotExecuted = skipped).
    { grep -o '<UnitTestResult [^>]*>' "$trx" || true; } |
      sed -E 's/.* testName="([^"]*)".* duration="([0-9]+):([0-9]+):([0-9.]+)".* outcome="([A-Za-z]+)".*/\5\t\2 \3 \4\t\1/' |
      awk -F'\t' -v proj="$name" '{ split($2, t, " "); printf "%s\t%.1f\t%s\t%s\n", $1, t[1]*3600 + t[2]*60 + t[3], proj, $3 }' > "$results/$name.tsv"
    cat "$results/$name.tsv" >> "$results/tests.tsv"
    p=$(awk -F'\t' '$1 == "Passed"' "$results/$name.tsv" | wc -l)
    f=$(awk -F'\t' '$1 == "Failed"' "$results/$name.tsv" | wc -l)
    s=$(awk -F'\t' '$1 == "NotExecuted"' "$results/$name.tsv" | wc -l)
  fi
  state="ok"
  if [ "$rc" -ne 0 ]; then
    status=1
    if grep -q 'inactivity time of' "$results/$name.log"; then
      hung="$({ grep -A1 'The test running when the crash occurred' "$results/$name.log" || true; } | tail -n1 | tr -d '\r')"
      state="HUNG: ${hung:-a test} ran past $HANG_TIMEOUT and was killed"
      f=$((f + 1))
    elif grep -q 'Test Run Aborted' "$results/$name.log" || [ ! -f "$trx" ]; then
      state="ABORTED (the test host crashed; see its output above)"
      f=$((f + 1))
    elif [ "$f" -eq 0 ]; then
      state="FAILED (dotnet test exited $rc; see its output above)"
      f=1
    else
      state="FAILED"
    fi
  fi
  [ "$s" -eq 0 ] || status=1   # a skipped test is reported and fails the run: nothing is skipped silently
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f)) total_skipped=$((total_skipped + s))
  summary+=("$(printf '%-24s %6s passed %4s failed %4s skipped %5ss  %s' "$name" "$p" "$f" "$s" "$took" "$state")")
done

log "Summary"
printf '%s\n' "${summary[@]}"
if [ -s "$results/tests.tsv" ]; then
  echo
  echo "slowest tests (seconds):"
  # awk, not head: head would close the pipe early, and sort's SIGPIPE fails the script under pipefail.
  sort -t$'\t' -k2,2 -rn "$results/tests.tsv" | awk -F'\t' 'NR <= 8 { printf "  %7.1f  %s  %s\n", $2, $3, $4 }'
  if [ "$total_failed" -gt 0 ] || [ "$total_skipped" -gt 0 ]; then
    echo
    awk -F'\t' '$1 == "Failed" { printf "  failed:  %s  %s\n", $3, $4 } $1 == "NotExecuted" { printf "  skipped: %s  %s\n", $3, $4 }' "$results/tests.tsv"
  fi
fi
if [ "$k8s_status" -ne 0 ]; then status=1; total_failed=$((total_failed + 1)); fi
for problem in "${problems[@]}"; do echo "test.sh: $problem"; done
echo "test.sh: wall time $(( $(date +%s) - started )) s; test results (trx, logs, tests.tsv) in $results"
echo
if [ "$total_skipped" -gt 0 ]; then
  echo "${total_passed} passed, ${total_failed} failed, ${total_skipped} skipped"
else
  echo "${total_passed} passed, ${total_failed} failed"
fi
exit "$status"
