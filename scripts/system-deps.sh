#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for the browser test of the jobs page and
# kcat for the README's publishing example. Installed only when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${need[*]} (run as root or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# kustomize renders the Kubernetes manifests in tests/deploy; built with Go (no download
# of a prebuilt binary), into the ignored .local/bin.
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -x "$root/.local/bin/kustomize" ]]; then
  echo "building kustomize with Go into .local/bin"
  GOBIN="$root/.local/bin" go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
fi

# axe-core for the page's accessibility check (tests/api/test_page.py): the npm package at
# the version and integrity deploy/axe/package-lock.json pins, into the ignored .local/axe.
axe_dir="$root/.local/axe"
if ! cmp -s "$root/deploy/axe/package-lock.json" "$axe_dir/package-lock.json" \
  || [[ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]]; then
  echo "installing axe-core with npm into .local/axe"
  mkdir -p "$axe_dir"
  cp "$root/deploy/axe/package.json" "$root/deploy/axe/package-lock.json" "$axe_dir/"
  (cd "$axe_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
