#!/usr/bin/env bash
# Set up (idempotent) and run the demo end to end on generated documents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/cptflow demo "$@"
