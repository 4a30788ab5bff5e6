#!/usr/bin/env bash
# Makes an active self-peering connection on a running server, through the HTTP API, for
# trying a tunnel on one machine: one organization, two servers, a published channel, a
# self-agreement, an approved grant, a connection provisioned and activated. Writes the
# connection's secret to <data_dir>/gateway-secret (mode 0600) and prints `CONN=<id>`.
#
#   scripts/self-connection.sh [DATA_DIR]      (default ./switchboard-data)
#
# The API address is read from <data_dir>/listeners.json; the admin token from
# <data_dir>/admin-token. Needs curl and jq. Run it once per data dir (the org slug is fixed).
set -euo pipefail
DATA=${1:-./switchboard-data}
API=http://$(jq -r .http "$DATA/listeners.json")
ADMIN=$(cat "$DATA/admin-token")
api() { # METHOD PATH TOKEN [JSON]
  local out
  out=$(curl -sS -X "$1" "$API$2" -H "Authorization: Bearer $3" \
    ${4:+-H "Content-Type: application/json" --data "$4"} -w '\n%{http_code}')
  local code=${out##*$'\n'}
  if [[ $code != 2* ]]; then
    echo "$1 $2 failed: HTTP $code ${out%$'\n'*}" >&2
    exit 1
  fi
  printf '%s' "${out%$'\n'*}"
}
OWNER=$(api POST /v1/orgs "$ADMIN" '{"name": "Try Tunnel", "slug": "try-tunnel", "tier": "standard",
  "owner": {"email": "owner@try-tunnel.example", "name": "Owner"}}' | jq -r .owner_token)
SRC=$(api POST /v1/servers "$OWNER" '{"name": "lab", "kind": "mirth"}' | jq -r .id)
TGT=$(api POST /v1/servers "$OWNER" '{"name": "prod", "kind": "mirth"}' | jq -r .id)
CH=$(api POST "/v1/servers/$TGT/channels" "$OWNER" '{"internal_name": "ADT_IN",
  "public_name": "ADT inbound", "direction": "listener", "published": true}' | jq -r .id)
AGR=$(api POST /v1/peering/requests "$OWNER" '{"to_org": "try-tunnel"}' | jq -r .agreement_id)
GR=$(api POST /v1/grants "$OWNER" "{\"agreement_id\": \"$AGR\", \"channel_id\": \"$CH\"}" | jq -r .id)
api POST "/v1/grants/$GR/approve" "$OWNER" > /dev/null
CONN=$(api POST /v1/connections "$OWNER" "{\"grant_id\": \"$GR\",
  \"source_server_id\": \"$SRC\", \"target_server_id\": \"$TGT\"}" | jq -r .id)
api POST "/v1/connections/$CONN/activate" "$OWNER" > /dev/null
umask 077
api POST "/v1/connections/$CONN/secret/view" "$OWNER" | jq -r .secret > "$DATA/gateway-secret"
echo "$OWNER" > "$DATA/owner-token"
echo "CONN=$CONN"
