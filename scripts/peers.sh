#!/usr/bin/env bash
# The independent implementations the channel tests use as the providers' side (wechatpy for
# WeChat's and WeCom's message crypto, twilio for X-Twilio-Signature), pinned, in the project's
# tools venv (scripts/venv.sh). Prints the venv's python. Tests start it in parallel, so the
# install runs under a lock.
set -euo pipefail
cd "$(dirname "$0")/.."
ready() { "${KEFU_HELM_VENV:-$HOME/.cache/kefu-helm-venv}/bin/python" -c 'import wechatpy.crypto, wechatpy.enterprise.crypto, twilio.request_validator, cryptography' 2>/dev/null; }
if ! ready; then
  mkdir -p "$HOME/.cache"
  exec 9>"$HOME/.cache/kefu-peers.lock"
  flock 9
  # shellcheck source=scripts/venv.sh
  . scripts/venv.sh
  venv_module wechatpy.crypto 'wechatpy==1.8.18' 'cryptography>=42,<47' 'xmltodict>=0.13'
  venv_module cryptography 'cryptography>=42,<47'
  venv_module twilio.request_validator 'twilio>=9,<10'
  ready || { echo "peers: the tools venv does not import wechatpy and twilio" >&2; exit 1; }
fi
echo "${KEFU_HELM_VENV:-$HOME/.cache/kefu-helm-venv}/bin/python"
