#!/usr/bin/env bash
# The independent implementations the channel tests use as the providers' side (wechatpy for
# WeChat and WeCom crypto, twilio for X-Twilio-Signature), installed once into a venv outside the
# clone (like the cargo target dir), pinned. Prints the venv's python; `--check` only checks.
set -euo pipefail
VENV="${KEFU_PEERS_VENV:-$HOME/.cache/kefu-peers-venv}"
PY="${PYTHON:-python3}"
REQS=('wechatpy==1.8.18' 'cryptography>=42,<47' 'twilio>=9,<10' 'xmltodict>=0.13')
ready() { "$VENV/bin/python" -c 'import wechatpy.crypto, wechatpy.enterprise.crypto, twilio.request_validator' 2>/dev/null; }
if ! ready; then
  mkdir -p "$(dirname "$VENV")"
  # Tests start in parallel: one installs, the others wait for it.
  exec 9>"$VENV.lock"
  flock 9
  if ! ready; then
    echo "peers: installing ${REQS[*]} into $VENV" >&2
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQS[@]}" >&2
  fi
  ready || { echo "peers: the venv at $VENV does not import wechatpy and twilio" >&2; exit 1; }
fi
echo "$VENV/bin/python"
