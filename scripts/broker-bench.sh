#!/usr/bin/env bash
# The broker comparison behind docs/adr/0001-embedded-broker.md and docs/BENCHMARKS.md: the
# same switchboard-loadtest runs against mosquitto (plain MQTT topics), rumqttd's Router
# (bench/rumqttd-router, plain MQTT topics) and Switchboard's own broker (its gateway protocol
# over the plain-TCP listener), one server at a time, interleaved over ROUNDS rounds; then
# one-pair latency (offer relay vs. mosquitto publish→deliver) and sequential TLS connects.
# Every server listens on ephemeral loopback ports. Not run by CI.
#
# Usage: scripts/broker-bench.sh [OUT_DIR]
#   env: PAIRS=1000 RATE=10 DURATION=30s WARMUP=5s PAYLOAD=300 QOS=0 ROUNDS=2 CONNECTS=300
#        ONE_PAIR_DURATION=60s ONE_PAIR=0 (skip the one-pair and TLS part)
#        SKIP_BUILD=1 (use the binaries already built)
# Needs: /usr/sbin/mosquitto, jq, python3 (to pick a free port for mosquitto).
set -euo pipefail

PAIRS=${PAIRS:-1000}
RATE=${RATE:-10}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
PAYLOAD=${PAYLOAD:-300}
QOS=${QOS:-0}
ROUNDS=${ROUNDS:-2}
CONNECTS=${CONNECTS:-300}
ONE_PAIR_DURATION=${ONE_PAIR_DURATION:-60s}
ONE_PAIR=${ONE_PAIR:-1}

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/broker-bench.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

if [[ -z ${SKIP_BUILD:-} ]]; then
  cargo build --locked --release --manifest-path "$root/Cargo.toml" \
    -p switchboard -p switchboard-loadtest
  cargo build --locked --release --manifest-path "$root/bench/rumqttd-router/Cargo.toml"
fi
switchboard=$target/release/switchboard
loadtest=$target/release/switchboard-loadtest
rumqttd=${RUMQTTD_BENCH:-$root/bench/rumqttd-router/target/release/rumqttd-router-bench}
mosquitto=${MOSQUITTO:-/usr/sbin/mosquitto}

# 2 sockets per pair in the harness, and as many in the server.
ulimit -n "$(ulimit -Hn)"
echo "results in $out; ulimit -n $(ulimit -n); $(nproc) cores; $(uname -r)"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server_pid=
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

sb_data=$out/switchboard-data
start_switchboard() {
  rm -f "$sb_data/listeners.json"
  env SWITCHBOARD_DATA_DIR="$sb_data" \
    SWITCHBOARD_HTTP_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_MQTT_TLS_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_MQTT_WSS_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_MQTT_TCP_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_TURN_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_RATE_LIMITS_SIGNALING_MESSAGES_PER_MINUTE=1000000 \
    SWITCHBOARD_RATE_LIMITS_OFFERS_PER_MINUTE=1000000 \
    SWITCHBOARD_MQTT_CONNECT_ATTEMPTS_PER_IP_PER_MINUTE=1000000 \
    SWITCHBOARD_LOG=warn \
    "$switchboard" serve >>"$out/switchboard.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    [[ -s $sb_data/listeners.json ]] && break
    sleep 0.1
  done
  sb_http=$(jq -r .http "$sb_data/listeners.json")
  sb_tcp=$(jq -r .mqtt_tcp "$sb_data/listeners.json")
  sb_tls_port=$(jq -r .mqtt_tls "$sb_data/listeners.json" | sed 's/.*://')
}

mosq_dir=$out/mosquitto
start_mosquitto() {
  mkdir -p "$mosq_dir"
  # mosquitto drops root privileges to its own user, so it gets readable copies of the cert.
  cp "$sb_data/tls/dev-cert.pem" "$sb_data/tls/dev-key.pem" "$mosq_dir/"
  chmod 755 "$mosq_dir"
  chmod 644 "$mosq_dir"/*.pem
  mosq_port=$(free_port)
  mosq_tls_port=$(free_port)
  cat >"$mosq_dir/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous true
persistence false
max_connections -1
max_queued_messages 1000
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
listener $mosq_port 127.0.0.1
listener $mosq_tls_port 127.0.0.1
certfile $mosq_dir/dev-cert.pem
keyfile $mosq_dir/dev-key.pem
EOF
  "$mosquitto" -c "$mosq_dir/mosquitto.conf" >>"$out/mosquitto.log" 2>&1 &
  server_pid=$!
  sleep 0.5
}

start_rumqttd() {
  rm -f "$out/rumqttd.port"
  "$rumqttd" --listen 127.0.0.1:0 --port-file "$out/rumqttd.port" >>"$out/rumqttd.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do
    [[ -s $out/rumqttd.port ]] && break
    sleep 0.1
  done
  rumqttd_port=$(cat "$out/rumqttd.port")
}

pairs() { # NAME PAIRS DURATION KIND ARGS...
  local name=$1 n=$2 duration=$3 kind=$4
  shift 4
  echo "== $name"
  "$loadtest" pairs --pairs "$n" --rate "$RATE" --duration "$duration" --warmup "$WARMUP" \
    --payload-bytes "$PAYLOAD" --kind "$kind" --qos "$QOS" --server-pid "$server_pid" \
    --json "$out/$name.json" "$@" | tee "$out/$name.txt"
}

# Switchboard first: its data dir holds the development certificate the others reuse.
start_switchboard
"$loadtest" provision --api "http://$sb_http" --token-file "$sb_data/admin-token" \
  --pairs "$PAIRS" --out "$out/pairs.json"
stop_server

for round in $(seq "$ROUNDS"); do
  start_mosquitto
  pairs "load-mosquitto-$round" "$PAIRS" "$DURATION" candidate \
    --broker "mqtt://127.0.0.1:$mosq_port" --mode plain
  stop_server
  start_rumqttd
  pairs "load-rumqttd-$round" "$PAIRS" "$DURATION" candidate \
    --broker "mqtt://127.0.0.1:$rumqttd_port" --mode plain
  stop_server
  start_switchboard
  pairs "load-switchboard-$round" "$PAIRS" "$DURATION" candidate \
    --broker "mqtt://$sb_tcp" --mode switchboard --pairs-file "$out/pairs.json"
  stop_server
done

# One pair: offers relayed (Switchboard) vs. mosquitto publish→deliver; sequential TLS connects.
if [[ $ONE_PAIR == 1 ]]; then
  start_mosquitto
  pairs one-pair-mosquitto 1 "$ONE_PAIR_DURATION" offer \
    --broker "mqtt://127.0.0.1:$mosq_port" --mode plain
  echo "== tls-connect-mosquitto"
  "$loadtest" connect --broker "mqtts://localhost:$mosq_tls_port" --ca "$sb_data/tls/dev-ca.pem" \
    --mode plain --count "$CONNECTS" --json "$out/tls-connect-mosquitto.json" |
    tee "$out/tls-connect-mosquitto.txt"
  stop_server
  start_switchboard
  pairs one-pair-switchboard 1 "$ONE_PAIR_DURATION" offer \
    --broker "mqtt://$sb_tcp" --mode switchboard --pairs-file "$out/pairs.json"
  echo "== tls-connect-switchboard"
  "$loadtest" connect --broker "mqtts://localhost:$sb_tls_port" --ca "$sb_data/tls/dev-ca.pem" \
    --mode switchboard --pairs-file "$out/pairs.json" --count "$CONNECTS" \
    --json "$out/tls-connect-switchboard.json" | tee "$out/tls-connect-switchboard.txt"
  stop_server
fi

echo
echo "run | RTT p50 / p99 ms | one-way p50 / p99 ms | lost | connects/s | idle KiB/client | RSS end MiB | server CPU | harness CPU"
shopt -s nullglob
for f in "$out"/load-*.json "$out"/one-pair-*.json; do
  jq -r --arg n "$(basename "$f" .json)" '"\($n) | \(.load.rtt.p50_ms) / \(.load.rtt.p99_ms) | \(.load.ping_one_way.p50_ms) / \(.load.ping_one_way.p99_ms) | \(.load.lost) | \(.connect.per_second | floor) | \(.server.idle_kib_per_client | . * 10 | floor / 10) | \(.server.rss_load_end_mib | . * 10 | floor / 10) | \(.server.cpu_cores_load) | \(.harness_cpu_cores)"' "$f"
done
for f in "$out"/tls-connect-*.json; do
  jq -r --arg n "$(basename "$f" .json)" '"\($n) | connect→CONNACK p50 \(.connack.p50_ms) / p99 \(.connack.p99_ms) ms, \(.accepted)/\(.count) accepted"' "$f"
done
