#!/usr/bin/env bash
# The browser test: the chat widget, the agents' workbench and the supervisors' board driven by
# headless Chromium against a fresh `kefu dev`. Installs what it needs (Debian's chromium, the
# pinned playwright-core), starts kefu dev on a free port with a temporary data dir, runs
# tests/browser/story.test.mjs and always stops kefu dev. Screenshots land in
# target/browser-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}"
KEFU="$CARGO_TARGET_DIR/debug/kefu"
CHROMIUM=/usr/bin/chromium
ARTIFACTS="$ROOT/target/browser-artifacts"

fail() { echo "browser-test: $*" >&2; exit 1; }

# (a) Chromium from Debian: no browser download from anywhere else.
if [[ ! -x $CHROMIUM ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    fail "$CHROMIUM is missing and installing it needs root: run 'apt-get install -y chromium' as root"
  fi
  echo "browser-test: installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed; cannot install chromium"
  apt-get install -y -qq chromium >/dev/null || fail "apt-get install chromium failed"
  [[ -x $CHROMIUM ]] || fail "chromium was installed but $CHROMIUM is not there"
fi

# Screenshots are for people to read: without a CJK font every Chinese character is a box.
if command -v fc-list >/dev/null && [[ -z $(fc-list :lang=zh 2>/dev/null) ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "browser-test: installing a CJK font (fonts-wqy-microhei) for readable screenshots"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null \
      || echo "browser-test: warning: no CJK font; Chinese shows as boxes in the screenshots" >&2
  else
    echo "browser-test: warning: no CJK font; Chinese shows as boxes in the screenshots" >&2
  fi
fi

# (b) playwright-core as locked; reinstalled when the lock file changed since the last install.
command -v npm >/dev/null || fail "npm is missing (node 20 and npm are needed)"
pushd tests/browser >/dev/null
if [[ ! -f node_modules/.package-lock.json ]] || ! cmp -s <(sed -n '/"node_modules\//,$p' package-lock.json) <(sed -n '/"node_modules\//,$p' node_modules/.package-lock.json); then
  npm ci --no-audit --no-fund --loglevel=error || fail "npm ci in tests/browser failed"
fi
popd >/dev/null

# (c) kefu dev, already built by `make build`, on a free port with a throwaway data dir.
command -v curl >/dev/null || fail "curl is missing (used to wait for kefu dev to be ready)"
[[ -x $KEFU ]] || fail "$KEFU is not built: run 'cargo build -p kefu --bin kefu' (make build)"
DATA=$(mktemp -d)
LOG="$DATA/kefu-dev.log"
OUT="$DATA/kefu-dev.out"
KEFU_PID=
cleanup() {
  # (e) always stop kefu dev (only the process this script started).
  if [[ -n $KEFU_PID ]] && kill -0 "$KEFU_PID" 2>/dev/null; then
    kill -TERM "$KEFU_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$KEFU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$KEFU_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
RUST_LOG="${RUST_LOG:-warn}" "$KEFU" dev --http 127.0.0.1:0 --data-dir "$DATA/db" >"$OUT" 2>"$LOG" &
KEFU_PID=$!
ADDR=
for _ in $(seq 600); do
  ADDR=$(grep -o '"http":"[^"]*"' "$OUT" 2>/dev/null | head -1 | cut -d'"' -f4 || true)
  [[ -n $ADDR ]] && break
  kill -0 "$KEFU_PID" 2>/dev/null || { cat "$LOG" >&2; fail "kefu dev exited before it was up"; }
  sleep 0.1
done
[[ -n $ADDR ]] || { tail -50 "$LOG" >&2; fail "kefu dev did not announce its address within 60 s"; }
for _ in $(seq 300); do
  curl -sf "http://$ADDR/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://$ADDR/readyz" >/dev/null || { tail -50 "$LOG" >&2; fail "kefu dev at $ADDR is not ready"; }

# (d) the story.
mkdir -p "$ARTIFACTS"
set +e
KEFU_URL="http://$ADDR" CHROMIUM="$CHROMIUM" ARTIFACTS="$ARTIFACTS" node tests/browser/story.test.mjs
STATUS=$?
set -e
if [[ $STATUS -ne 0 ]]; then
  echo "browser-test: FAILED; the last lines of kefu dev's log:" >&2
  tail -30 "$LOG" >&2
fi
exit $STATUS
