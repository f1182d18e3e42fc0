#!/usr/bin/env bash
# Install everything cptflow needs on a Debian machine, as root; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium serves the browser tests of the dashboard and the review page.
APT_PACKAGES=(tesseract-ocr ghostscript unpaper pngquant poppler-utils fonts-dejavu-core
  chromium)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet --root-user-action=ignore uv
fi

# The lock file pins every Python package; --frozen refuses to change it.
uv sync --frozen --extra test --quiet

export DO_NOT_TRACK=1 DAGSTER_DISABLE_TELEMETRY=1
# dbt parse reads the profile but never opens this file.
export CPTFLOW_DB="${CPTFLOW_DB:-${TMPDIR:-/tmp}/cptflow-parse.duckdb}"
.venv/bin/dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project \
  >/dev/null
echo "setup: ready"
