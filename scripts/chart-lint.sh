#!/usr/bin/env bash
# `make chart-lint`: Helm's linter and renderer on charts/kefu, then every rendered manifest
# validated against the Kubernetes 1.34 schemas and the CRDs (scripts/chart_lint.py says what
# is checked). No helm binary: helm-python-sdk bundles Helm's Go SDK; kubernetes-validate ships
# the Kubernetes JSON schemas. Both are installed once into the tools venv outside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
venv_module helm_python 'helm-python-sdk==0.2.2'
venv_module kubernetes_validate 'kubernetes-validate==1.37.0'
exec "$VENV/bin/python" scripts/chart_lint.py "$@"
