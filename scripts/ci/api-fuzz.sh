#!/usr/bin/env bash
# Fuzzes the command API from its own OpenAPI document (GET /docs/json) with schemathesis: every check
# (`--checks all`: no 5xx, status codes and content types as documented, responses valid against their
# schemas, schema-valid requests accepted, schema-invalid ones refused, auth not ignored, …) over every
# phase (examples, coverage, fuzzing, stateful). It runs against `npm start` as a user runs it: embedded
# adapters, on a free port, with a DATA_DIR of its own in a temporary directory, stopped by PID.
#
# Usage: scripts/ci/api-fuzz.sh [extra schemathesis options…]
#   API_FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25: one to two minutes on 2 cores)
#   API_FUZZ_SEED          reproduce a run (schemathesis prints the seed it used)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

st=$(bash scripts/ci/schemathesis.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/annals-api-fuzz.XXXXXX")
server_pid=
stop() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    # Still there after 15 s: its whole process group (the launcher and the server it runs), by id.
    kill -KILL -- "-$server_pid" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -f "$work/server.log" ]]; then
    echo "api-fuzz: last lines of the server log:" >&2
    tail -n 40 "$work/server.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap stop EXIT

port=$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
base="http://127.0.0.1:$port"
# Embedded adapters whatever the caller's environment holds (CI exports the real servers' URLs for the
# integration suites): this run is about the HTTP contract, and must not write into shared servers.
unset EVENTSTORE_URL READ_DB_URL KAFKA_BROKERS AUTH_JWT_SECRET AUTH_JWKS_URL AUTH_ISSUER AUTH_AUDIENCE PII_MASTER_KEY
export DATA_DIR="$work/data" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn
# The fuzzer sends thousands of commands as one user: the rate limit is not what it is testing.
export RATE_LIMIT_MAX_PER_WINDOW=1000000

# In a process group of its own (setsid), led by the annals launcher: SIGTERM to the launcher is
# forwarded to the server for a clean shutdown, and the group can be killed whole if that hangs.
setsid node scripts/cli/annals.mjs start >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 600); do
  if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { echo "api-fuzz: the server exited before it was ready" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$base/readyz" >/dev/null || { echo "api-fuzz: $base/readyz never answered 200 (120 s)" >&2; exit 1; }

# Every role, so every operation is reachable (permission refusals are the unit tests' business).
token=$(node scripts/cli/annals.mjs token --tenant api-fuzz --sub schemathesis --roles admin,manager,sales,marketing,analyst,auditor,dpo --ttl 2h)

# The one documented exception, the GDPR routes' declared 501, is in schemathesis.toml. Run from the
# temporary directory: schemathesis keeps its example database (.schemathesis/) in the working directory.
config="$PWD/scripts/ci/schemathesis.toml"
cd "$work"
"$st" --config-file "$config" run "$base/docs/json" \
  --url "$base" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${API_FUZZ_MAX_EXAMPLES:-25}" \
  ${API_FUZZ_SEED:+--seed "$API_FUZZ_SEED"} \
  --header "Authorization: Bearer $token" \
  --request-timeout 30 \
  --workers 1 \
  --no-color \
  "$@"
