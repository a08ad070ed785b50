#!/usr/bin/env bash
# `make api-fuzz` (part of `make test`): schemathesis against a fresh `kefu dev`, driven by the
# gateway's own /openapi.json — every documented operation (channels, admin, desk, pages) with
# the admin token, which every authenticated route accepts. Fails on any server error (5xx) and
# on any answer the document does not allow (status code, content type, body schema).
# SCHEMATHESIS_ARGS adds options (e.g. `--max-examples 200` for a longer run); the report (JUnit)
# lands in $CARGO_TARGET_DIR/api-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "api-fuzz: $*" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kefu-target}"
KEFU="$CARGO_TARGET_DIR/debug/kefu"
[[ -x $KEFU ]] || fail "$KEFU is not built: run 'cargo build -p kefu --bin kefu' (make build)"
command -v curl >/dev/null || fail "curl is missing (used to wait for kefu dev to be ready)"
source scripts/venv.sh
venv_bin schemathesis 'schemathesis==4.32.5'

DATA=$(mktemp -d)
OUT="$DATA/kefu-dev.out"
LOG="$DATA/kefu-dev.log"
KEFU_PID=
cleanup() {
  if [[ -n $KEFU_PID ]] && kill -0 "$KEFU_PID" 2>/dev/null; then
    kill -TERM "$KEFU_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$KEFU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$KEFU_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT
TOKEN="api-fuzz-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
RUST_LOG="${RUST_LOG:-warn}" KEFU_ADMIN_TOKEN="$TOKEN" "$KEFU" dev --http 127.0.0.1:0 \
  --data-dir "$DATA/db" >"$OUT" 2>"$LOG" &
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

REPORT="$CARGO_TARGET_DIR/api-fuzz"
mkdir -p "$REPORT"
fuzz() {
  "$VENV/bin/schemathesis" run "http://$ADDR/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
    --workers 2 \
    --request-timeout 10 \
    --seed 20261207 \
    --no-color \
    --report junit --report-dir "$REPORT" \
    ${SCHEMATHESIS_ARGS:-} "$@"
}
STATUS=0
# Path parameters `tenant_id` are the demo tenant's, so operations reach real data (a random
# tenant would only ever meet 404); everything else is generated. The config is schemathesis's
# own file format, read from the working directory.
CONFIG="$DATA/fuzz"
mkdir -p "$CONFIG"
printf '[parameters]\n"path.tenant_id" = "demo"\n' >"$CONFIG/schemathesis.toml"
# 1. The desk API as an agent (routes only an agent acts on: accept, reply, notes, …) and as a
#    supervisor (monitor, whisper, join), signed in as the demo tenant's staff — first, before
#    the admin's pass may change their accounts.
for who in lin zhao; do
  AGENT=$(curl -sf -X POST "http://$ADDR/v1/tenants/demo/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"$who\",\"password\":\"kefu-demo-2026\"}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  [[ -n $AGENT ]] || fail "could not sign in as the demo's $who"
  echo "api-fuzz: the desk API as $who"
  (cd "$CONFIG" && fuzz --header "Authorization: Bearer $AGENT" --include-path-regex '^/v1/tenants/') || STATUS=$?
done
# 2. Every operation with the admin token (which every authenticated route accepts).
echo "api-fuzz: every operation, as the admin"
(cd "$CONFIG" && fuzz --header "Authorization: Bearer $TOKEN") || STATUS=$?
set -e
if [[ $STATUS -ne 0 ]]; then
  echo "api-fuzz: FAILED; the last lines of kefu dev's log:" >&2
  tail -30 "$LOG" >&2
fi
exit $STATUS
