#!/usr/bin/env bash
# Provision the local Kafka broker and FerretDB into .local/ (cached; see devtools/provision.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python -m devtools.infra provision "$@"
