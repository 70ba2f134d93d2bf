#!/usr/bin/env bash
# End-to-end checks of the served OpenAPI spec, with the tools users use:
#   openapi-spec-validator, Redocly lint and Spectral (its OpenAPI rules + OWASP) on the spec,
#   Schemathesis against the live server, TypeScript (openapi-typescript + openapi-fetch) and Python
#   (openapi-python-client) SDKs generated from the spec, and Swagger UI driven in headless
#   Chromium; the SDKs and Swagger UI's "Try it out" talk to the server through a Prism validating
#   proxy, which fails any request or response that breaks the spec.
#
# Usage (from anywhere):  tests/e2e/run.sh
# Env:
#   VOKE_BIN           built binary (default: target/debug/voke-invitations, relative to the repo root)
#   E2E_DATABASE_URL   database to run on (default: a fresh SQLite file in a temp dir). A postgres URL
#                      (postgres://postgres@127.0.0.1:5432/voke_e2e) has its database dropped and
#                      created with psql before the run and dropped after it.
#   E2E_MAX_EXAMPLES   Schemathesis test cases per operation and phase (default 1000; about a minute for the 6 operations of v0.1)
#   E2E_SEED           Schemathesis seed (default: random; printed in its output)
#   E2E_SPEC           spec file to test (default: openapi/openapi.json, else `$VOKE_BIN openapi`)
# Output: target/e2e/ (server.log, prism.log, one log per step, Schemathesis reports, swagger.png).
# Every step runs even when an earlier one fails; the exit status is non-zero if any step failed.
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
cd "$ROOT"

VOKE_BIN=${VOKE_BIN:-target/debug/voke-invitations}
case "$VOKE_BIN" in /*) ;; *) VOKE_BIN="$ROOT/$VOKE_BIN" ;; esac
OUT="$ROOT/target/e2e"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/voke-e2e.XXXXXX")
SERVER_PID=""
PRISM_PID=""
PG_DB=""
PG_ADMIN=(psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }

stop_prism() {
  if [ -n "$PRISM_PID" ] && kill -0 "$PRISM_PID" 2>/dev/null; then
    kill "$PRISM_PID" 2>/dev/null
    wait "$PRISM_PID" 2>/dev/null
  fi
  PRISM_PID=""
}

cleanup() {
  stop_prism
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [ -n "$PG_DB" ]; then
    "${PG_ADMIN[@]}" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$VOKE_BIN" ] || die "no binary at $VOKE_BIN (build it with cargo build, or set VOKE_BIN)"
rm -rf "$OUT"
mkdir -p "$OUT"

# ---------------------------------------------------------------------------------------------
# Steps: each runs with its output in target/e2e/<name>.log; a passing step shows its last lines,
# a failing one its whole log. Results and timings are summed up at the end.
# ---------------------------------------------------------------------------------------------
PASSED=0
FAILED=0
SUMMARY=()
step() {
  local name=$1
  shift
  local logf="$OUT/$name.log" start end rc
  log "$name"
  start=$(date +%s.%N)
  "$@" >"$logf" 2>&1
  rc=$?
  end=$(date +%s.%N)
  local secs
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -eq 0 ]; then
    PASSED=$((PASSED + 1))
    tail -n "${STEP_TAIL:-8}" "$logf"
    SUMMARY+=("  PASS  $name (${secs}s)")
  else
    FAILED=$((FAILED + 1))
    head -c 60000 "$logf"
    printf '\n  FAILED (exit %s); full log: %s\n' "$rc" "${logf#"$ROOT"/}"
    SUMMARY+=("  FAIL  $name (${secs}s)  log: ${logf#"$ROOT"/}")
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------
# 1. Tools (idempotent: reinstalled only when the pinned lists change)
# ---------------------------------------------------------------------------------------------
install_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null || return 1
  fi
  /usr/bin/chromium --version 2>/dev/null | grep -i chromium || return 1

  local venv="$E2E_DIR/.venv" want have
  want=$(sha256sum "$E2E_DIR/requirements.txt" | cut -d' ' -f1)
  have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)
  if [ ! -x "$venv/bin/python" ] || [ "$want" != "$have" ]; then
    echo "installing Python tools into tests/e2e/.venv"
    python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$E2E_DIR/requirements.txt" || return 1
    echo "$want" >"$venv/.requirements.sha256"
  fi

  want=$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)
  have=$(cat "$E2E_DIR/node_modules/.package-lock.sha256" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    echo "installing Node tools into tests/e2e/node_modules (npm ci)"
    # SCARF_ANALYTICS=false: Spectral's dependency @scarf/scarf reports installs unless told not to.
    (cd "$E2E_DIR" && SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error) || return 1
    echo "$want" >"$E2E_DIR/node_modules/.package-lock.sha256"
  fi
  echo "python: $("$venv/bin/pip" freeze | grep -iE '^(schemathesis|openapi-spec-validator|openapi-python-client)==' | tr '\n' ' ')"
  echo "node:   $(cd "$E2E_DIR" && node -e 'const p=require("./package.json");console.log(Object.entries(p.devDependencies).map(([k,v])=>k+"@"+v).join(" "))')"
}
step tools install_tools
[ "$FAILED" -eq 0 ] || die "could not install the tools"
export PATH="$E2E_DIR/.venv/bin:$E2E_DIR/node_modules/.bin:$PATH"
# Redocly CLI: no usage telemetry or update checks (no network beyond the registries here).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

# ---------------------------------------------------------------------------------------------
# 2. Database and server
# ---------------------------------------------------------------------------------------------
DATABASE_URL=${E2E_DATABASE_URL:-"sqlite://$WORK/e2e.db?mode=rwc"}
case "$DATABASE_URL" in
  postgres://* | postgresql://*)
    PG_DB=${DATABASE_URL##*/}
    PG_DB=${PG_DB%%\?*}
    [[ "$PG_DB" =~ ^[A-Za-z0-9_]+$ ]] || die "unexpected database name '$PG_DB' in E2E_DATABASE_URL"
    log "postgres: recreating database $PG_DB"
    "${PG_ADMIN[@]}" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" || die "psql failed"
    "${PG_ADMIN[@]}" -c "CREATE DATABASE \"$PG_DB\"" || die "psql failed"
    ;;
esac
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL="http://127.0.0.1:$PORT"
JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
export JWT_SECRET DATABASE_URL
export BIND_ADDR="127.0.0.1:$PORT"
# The fuzzer sends thousands of requests a minute on purpose: the §9.1 limits are switched off
# here (RATE_LIMITS=off), and tested in the Rust suite instead.
export RATE_LIMITS=off
# Fuzzed and SDK webhook registrations name hosts that do not resolve here, or 127.0.0.1:
# development settings (CONTRACT §10.7); the URL policy itself is tested in the Rust suite.
export WEBHOOK_ALLOW_HTTP=true WEBHOOK_ALLOW_PRIVATE=true
export RUST_LOG=${RUST_LOG:-info}
unset JWT_PUBLIC_KEY_FILE JWT_ISSUER JWT_AUDIENCE SMTP_URL
# No SMTP server here: invitation emails go to server.log on purpose (CONTRACT §7, Part II).
export MAIL_MODE=log

log "server: $VOKE_BIN serve on $BASE_URL (database: ${DATABASE_URL%%\?*})"
"$VOKE_BIN" serve >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$OUT/server.log"; die "the server exited during startup"; }
  curl -fsS -o /dev/null "$BASE_URL/healthz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS "$BASE_URL/healthz" >/dev/null || { tail -n 30 "$OUT/server.log"; die "no answer from /healthz"; }
echo "up (pid $SERVER_PID)"

# ---------------------------------------------------------------------------------------------
# 3. The spec under test; bootstrap: an organization, its ORG_ADMIN and the admin's bearer token
# ---------------------------------------------------------------------------------------------
if [ -n "${E2E_SPEC:-}" ]; then
  SPEC=$(cd "$(dirname "$E2E_SPEC")" && pwd)/$(basename "$E2E_SPEC")
elif [ -f "$ROOT/openapi/openapi.json" ]; then
  SPEC="$ROOT/openapi/openapi.json"
else
  SPEC="$WORK/openapi.json"
  "$VOKE_BIN" openapi >"$SPEC" || die "voke-invitations openapi failed"
  echo "openapi/openapi.json is not committed: testing the output of \`voke-invitations openapi\`"
fi
export E2E_SPEC="$SPEC"
echo "spec: ${SPEC#"$ROOT"/}"

# The organization is the one the spec's `x-org-id` example names on createInvitation (the fixed
# development organization), so that Swagger UI's "Try it out" with the prefilled example values
# succeeds as is. Without such an example, a random one: the swagger-ui step then fails and says why.
ORG=$(python3 - "$SPEC" <<'PY'
import json, sys, uuid
spec = json.load(open(sys.argv[1]))
ops = [op for item in spec.get("paths", {}).values() if isinstance(item, dict)
       for op in item.values() if isinstance(op, dict) and op.get("operationId") == "createInvitation"]
for p in ops[0].get("parameters", []) if ops else []:
    if p.get("in") == "header" and p.get("name", "").lower() == "x-org-id":
        # Where Swagger UI takes a parameter's prefilled value from: `example`, else the first of
        # `examples`, else the schema's `example`.
        named = [e.get("value") for e in (p.get("examples") or {}).values() if isinstance(e, dict)]
        for value in [p.get("example")] + named[:1] + [(p.get("schema") or {}).get("example")]:
            try:
                print(uuid.UUID(str(value)))
                sys.exit(0)
            except ValueError:
                pass
PY
)
if [ -n "$ORG" ]; then
  echo "organization: $ORG (the x-org-id example of createInvitation)"
else
  ORG=$(python3 -c 'import uuid; print(uuid.uuid4())')
  echo "organization: $ORG (random: the spec has no UUID \`example\` on the x-org-id parameter of createInvitation," \
    "so Swagger UI's Try it out with the prefilled example cannot succeed)"
fi
"$VOKE_BIN" members add --org "$ORG" --user admin-1 --email admin@example.com --role ORG_ADMIN \
  || die "members add failed"
TOKEN=$("$VOKE_BIN" token --sub admin-1 --email admin@example.com --expires-in 2h) || die "token failed"
export E2E_BASE_URL="$BASE_URL" E2E_TOKEN="$TOKEN" E2E_ORG="$ORG"

# ---------------------------------------------------------------------------------------------
# 4. Spec validity
# ---------------------------------------------------------------------------------------------
served_spec() {
  # The spec under test is the one the server serves (byte for byte).
  curl -fsS "$BASE_URL/openapi.json" -o "$WORK/served.json" || return 1
  if cmp -s "$SPEC" "$WORK/served.json"; then
    echo "GET /openapi.json is byte-identical to ${SPEC#"$ROOT"/}"
  else
    echo "GET /openapi.json ($(wc -c <"$WORK/served.json") bytes) is not byte-identical to ${SPEC#"$ROOT"/} ($(wc -c <"$SPEC") bytes) (CONTRACT §1):"
    cmp "$SPEC" "$WORK/served.json"
    if [ "$(cat "$SPEC")" = "$(cat "$WORK/served.json")" ]; then
      echo "the JSON text is the same: they differ only in the final newline"
    else
      diff <(python3 -m json.tool "$SPEC") <(python3 -m json.tool "$WORK/served.json") | head -40
    fi
    return 1
  fi
}
step served-spec served_spec

spec_validator() { openapi-spec-validator "$SPEC"; }
step openapi-spec-validator spec_validator

redocly_lint() {
  local out rc
  out=$(cd "$E2E_DIR" && redocly lint --config redocly.yaml "$SPEC" 2>&1)
  rc=$?
  # Drop Redocly's boxed banner about Node.js versions; keep everything about the spec.
  printf '%s\n' "$out" | grep -v '[║╔╚]'
  [ $rc -eq 0 ] || return $rc
  # Warnings fail too: the recommended ruleset is the bar, and nothing in it is optional here.
  if printf '%s\n' "$out" | grep -Eq 'You have [0-9]+ warnings?'; then
    echo "redocly lint reported warnings"
    return 1
  fi
}
STEP_TAIL=3 step redocly-lint redocly_lint

spectral_lint() {
  # spectral:oas and the OWASP API Security ruleset; the exceptions, each with its reason, are in
  # tests/e2e/.spectral.yaml. Errors and warnings both fail: every remaining warning is either a
  # defect of the spec or an exception listed there.
  (cd "$E2E_DIR" && spectral --version && spectral lint --ruleset .spectral.yaml --fail-severity warn \
    --format stylish "$SPEC")
}
STEP_TAIL=4 step spectral spectral_lint

# ---------------------------------------------------------------------------------------------
# 5. Prism validating proxy in front of the server, for the SDKs and Swagger UI
# ---------------------------------------------------------------------------------------------
# `prism proxy --errors` checks each request against the spec before forwarding it and each of the
# server's responses before passing it on; with --errors it answers a violating request with 422
# (or 401 for missing credentials) and a violating response with a 500 problem+json of its own
# instead, so a client that gets what the spec promises never sees a Prism error. Routes that are
# not in the spec (/docs, /openapi.json) are refused, which is why Swagger UI itself loads from the
# server and only its API calls are sent through Prism (see swagger/swagger.mjs).
PRISM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PRISM_URL="http://127.0.0.1:$PRISM_PORT"
prism_proxy() {
  prism --version || return 1
  echo "prism proxy --errors ${SPEC#"$ROOT"/} $BASE_URL on $PRISM_URL (log: target/e2e/prism.log)"
  prism proxy --errors "$SPEC" "$BASE_URL" --port "$PRISM_PORT" --host 127.0.0.1 >"$OUT/prism.log" 2>&1 &
  PRISM_PID=$!
  local _
  for _ in $(seq 1 300); do
    kill -0 "$PRISM_PID" 2>/dev/null || { cat "$OUT/prism.log"; echo "prism exited during startup"; return 1; }
    # /healthz is in the spec: Prism forwards it and validates the answer.
    curl -fsS -o /dev/null "$PRISM_URL/healthz" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS "$PRISM_URL/healthz" || { tail -n 30 "$OUT/prism.log"; echo "no answer from Prism"; return 1; }
  echo
  echo "up (pid $PRISM_PID)"
}
STEP_TAIL=3 step prism-proxy prism_proxy

# ---------------------------------------------------------------------------------------------
# 6. Generated SDKs, run against the live server through Prism
# ---------------------------------------------------------------------------------------------
sdk_typescript() {
  local gen="$E2E_DIR/generated/ts" out
  rm -rf "$gen" "$E2E_DIR/.build"
  mkdir -p "$gen"
  # Run from the output directory so that openapi-typescript applies only its own checks, not
  # tests/e2e/redocly.yaml (the lint step covers that); any problem it prints fails the step.
  out=$(cd "$gen" && openapi-typescript "$SPEC" --output schema.d.ts 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  if printf '%s\n' "$out" | grep -Eiq '✘|⚠|warn|error'; then
    echo "openapi-typescript printed warnings about the spec"
    return 1
  fi
  (cd "$E2E_DIR" && tsc --noEmit --strict -p tsconfig.json) || { echo "tsc --noEmit --strict failed"; return 1; }
  echo "tsc --noEmit --strict: ok"
  (cd "$E2E_DIR" && tsc -p tsconfig.json) || return 1
  E2E_BASE_URL="$PRISM_URL" node "$E2E_DIR/.build/sdk-ts/smoke.js"
}
STEP_TAIL=4 step sdk-typescript sdk_typescript

sdk_python() {
  local gen="$E2E_DIR/generated/py" out
  rm -rf "$gen"
  mkdir -p "$gen"
  out=$(cd "$gen" && openapi-python-client generate --path "$SPEC" \
    --output-path "$gen/voke_invitations_client" --meta none 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  if printf '%s\n' "$out" | grep -Eiq 'warning|unable to|skipping|error'; then
    echo "openapi-python-client printed warnings about the spec"
    return 1
  fi
  local missing=0 op
  for op in list_invitations create_invitation get_invitation revoke_invitation; do
    [ -f "$gen/voke_invitations_client/api/invitations/$op.py" ] || { echo "no generated module api/invitations/$op.py"; missing=1; }
  done
  [ $missing -eq 0 ] || return 1
  PYTHONPATH="$gen" E2E_BASE_URL="$PRISM_URL" python "$E2E_DIR/sdk-py/smoke.py"
}
STEP_TAIL=4 step sdk-python sdk_python

# ---------------------------------------------------------------------------------------------
# 7. Swagger UI in headless Chromium (the page from the server, its API calls through Prism)
# ---------------------------------------------------------------------------------------------
swagger_ui() { E2E_API_URL="$PRISM_URL" E2E_SCREENSHOT="$OUT/swagger.png" node "$E2E_DIR/swagger/swagger.mjs"; }
step swagger-ui swagger_ui

prism_violations() {
  # Prism is stopped first so that its log is complete. What counts, in Prism 5's log format:
  #   "[VALIDATOR] ... Violation: <where> <what>"     a request or response that breaks the spec
  #                                                   and was passed on (warning/info severity);
  #   "... Request terminated with error: <type>: ..."  Prism refused: a request (UNPROCESSABLE_ENTITY,
  #                                                   UNAUTHORIZED) or a response (VIOLATIONS) that
  #                                                   breaks the spec, or a route not in it.
  # Error responses the flows provoke on purpose (409, 404) are documented, so they log neither.
  # Prism logs only the kind of a refusal; what exactly broke the spec is in the problem+json body
  # (`validation`) it sent instead, which the failing client's step log shows.
  stop_prism
  [ -s "$OUT/prism.log" ] || { echo "no target/e2e/prism.log"; return 1; }
  local received forwarded bad
  received=$(grep -c 'Request received' "$OUT/prism.log")
  forwarded=$(grep -c '> Forwarding "' "$OUT/prism.log")
  bad=$(grep -E 'Violation: |Request terminated with error: ' "$OUT/prism.log")
  echo "prism: $received requests received, $forwarded forwarded to the server"
  if [ -n "$bad" ]; then
    printf '%s\n' "$bad"
    echo "prism reported $(printf '%s\n' "$bad" | wc -l) violation(s) of the spec (full log: target/e2e/prism.log)"
    return 1
  fi
  [ "$forwarded" -gt 1 ] || { echo "nothing went through Prism"; return 1; }
  echo "no request or response violated the spec"
}
STEP_TAIL=2 step prism-violations prism_violations

# ---------------------------------------------------------------------------------------------
# 8. Schemathesis against the live server (last: it fills the database with fuzzed data)
# ---------------------------------------------------------------------------------------------
schemathesis_run() {
  # Every check is on: Schemathesis 4 enables all of them by default, and schemathesis.toml turns
  # one off for one operation only (with why). `--checks all` is not passed because a CLI check
  # list overrides those per-operation settings.
  local args=(
    --config-file "$E2E_DIR/schemathesis.toml" --no-color
    run "$SPEC"
    --url "$BASE_URL"
    --header "Authorization: Bearer $TOKEN"
    --header "x-org-id: $ORG"
    --phases examples,coverage,fuzzing,stateful
    --max-examples "${E2E_MAX_EXAMPLES:-1000}"
    --request-timeout 10
    # Show tokens in the failure reports: they are throwaway test values, and a finding must be
    # reproducible from the log alone.
    --output-sanitize false
    --report junit,ndjson --report-dir "$OUT/schemathesis"
  )
  [ -z "${E2E_SEED:-}" ] || args+=(--seed "$E2E_SEED")
  local rc cases
  # From the temp dir, so that nothing Schemathesis or Hypothesis writes lands in the repository.
  (cd "$WORK" && schemathesis "${args[@]}")
  rc=$?
  cases=$(grep -Eo '[0-9]+ generated' "$OUT/schemathesis.log" | tail -n 1 | cut -d' ' -f1)
  echo "schemathesis: ${cases:-?} test cases generated"
  return $rc
}
STEP_TAIL=22 step schemathesis schemathesis_run

server_log() {
  # Nothing the tests did may have crashed a handler.
  if grep -aE 'panicked' "$OUT/server.log"; then
    echo "the server log shows a panic"
    return 1
  fi
  echo "no panic in target/e2e/server.log ($(grep -ac 'request' "$OUT/server.log") request lines)"
}
STEP_TAIL=2 step server-log server_log

log "summary ($BASE_URL, database ${DATABASE_URL%%\?*})"
printf '%s\n' "${SUMMARY[@]}"
echo "e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
