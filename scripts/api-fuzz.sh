#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis, as the platform admin
# and as an organization owner: no request may get a 5xx and every response must match the
# schema the document gives for it. Usage: scripts/api-fuzz.sh [path/to/switchboard]
set -euo pipefail
bin=${1:-target/debug/switchboard}
examples=${SB_FUZZ_EXAMPLES:-15}
dir=$(mktemp -d)
SWITCHBOARD_HTTP_LISTEN=127.0.0.1:0 SWITCHBOARD_MQTT_TLS_LISTEN=127.0.0.1:0 \
SWITCHBOARD_MQTT_WSS_LISTEN=127.0.0.1:0 SWITCHBOARD_TURN_LISTEN=127.0.0.1:0 \
  "$bin" serve --data-dir "$dir/data" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 300); do
  [ -s "$dir/data/listeners.json" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log"; exit 1; }
  sleep 0.1
done
http=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$dir/data/listeners.json")
admin=$(cat "$dir/data/admin-token")
owner=$(curl -sf -X POST "http://$http/v1/orgs" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' \
  -d '{"name":"Fuzz","slug":"fuzz","tier":"enterprise","owner":{"email":"o@fuzz.example","name":"O"}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["owner_token"])')
for token in "$admin" "$owner"; do
  schemathesis run "http://$http/v1/openapi.json" --url "http://$http" \
    -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" --seed 20261122 --workers 2 --no-color
done
if grep -q 'sbt_\|sbs_\|sbr_' "$dir/server.log"; then
  echo "a token or secret reached the server log" >&2
  exit 1
fi
echo "api fuzz: no server error, every response matched its schema"
