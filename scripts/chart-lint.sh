#!/usr/bin/env bash
# `make chart-lint`: Helm's own linter on charts/kefu, without a helm binary. helm-sdkpy bundles
# Helm's Go library; it is installed once into a venv outside the clone (like the cargo target
# dir). Its metadata asks for Python 3.12, but Lint works on 3.11, hence --ignore-requires-python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${KEFU_HELM_VENV:-$HOME/.cache/kefu-helm-venv}"
PY="${PYTHON:-python3}"
if ! "$VENV/bin/python" -c 'import helm_sdkpy' 2>/dev/null; then
  echo "chart-lint: installing helm-sdkpy into $VENV" >&2
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --ignore-requires-python 'helm-sdkpy>=0.1.32,<0.2'
fi
exec "$VENV/bin/python" scripts/chart_lint.py "$@"
