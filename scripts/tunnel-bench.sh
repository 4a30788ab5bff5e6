#!/usr/bin/env bash
# The tunnel measurements of docs/BENCHMARKS.md ("Tunnels (issue 5)"): two reference gateways
# (`switchboard-loadtest tunnel`, the gateway library in-process) on fresh Switchboard servers,
# loopback only, every listener on an ephemeral port:
#   1. setup time (both online → DataChannel open on both), direct and relay-only;
#   2. one tunnel's throughput, direct and relay-only, the relay-only runs alternating between
#      the embedded TURN relay and coturn (a second server whose welcome advertises coturn);
#   3. CPU of an idle tunnel with the driver kicker at 2 ms and off, direct and relay-only.
# Not run by CI.
#
# Usage: scripts/tunnel-bench.sh [OUT_DIR]
#   env: SETUP_RUNS=20 THROUGHPUT_RUNS=15 BYTES=100MB IDLE=30s IDLE_RUNS=3 WARMUP=1
#        STAGES="setup throughput idle" (any subset)
#        SKIP_BUILD=1 (use the binaries already built)
# Needs: turnserver (Debian package coturn), jq, python3 (to pick a free port for coturn).
set -euo pipefail

SETUP_RUNS=${SETUP_RUNS:-20}
THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-15}
BYTES=${BYTES:-100MB}
IDLE=${IDLE:-30s}
IDLE_RUNS=${IDLE_RUNS:-3}
WARMUP=${WARMUP:-1}
STAGES=${STAGES:-setup throughput idle}

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/tunnel-bench.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

if [[ -z ${SKIP_BUILD:-} ]]; then
  cargo build --locked --release --manifest-path "$root/Cargo.toml" \
    -p switchboard -p switchboard-loadtest
fi
switchboard=$target/release/switchboard
loadtest=$target/release/switchboard-loadtest
turnserver=${TURNSERVER:-/usr/bin/turnserver}

echo "results in $out; $(nproc) cores; $(uname -r); $("$turnserver" --version 2>/dev/null | head -1 || true)"

free_port() { # PROTO: tcp or udp
  python3 -c 'import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# A Switchboard server on ephemeral loopback ports. The signaling and connect rate limits are
# raised: the runs set tunnels up far faster than a gateway would (default 20 offers/minute).
start_switchboard() { # DATA_DIR [ENV=VALUE...]
  local dir=$1
  shift
  mkdir -p "$dir"
  rm -f "$dir/listeners.json"
  env SWITCHBOARD_DATA_DIR="$dir" \
    SWITCHBOARD_HTTP_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_MQTT_TLS_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_MQTT_WSS_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_TURN_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_RATE_LIMITS_OFFERS_PER_MINUTE=1000000 \
    SWITCHBOARD_RATE_LIMITS_SIGNALING_MESSAGES_PER_MINUTE=1000000 \
    SWITCHBOARD_MQTT_CONNECT_ATTEMPTS_PER_IP_PER_MINUTE=1000000 \
    SWITCHBOARD_LOG=warn \
    "$@" "$switchboard" serve >>"$dir.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
  for _ in $(seq 100); do
    [[ -s $dir/listeners.json ]] && return 0
    sleep 0.1
  done
  echo "server in $dir did not start; see $dir.log" >&2
  exit 1
}

# Server A relays through its embedded TURN server; server B's welcome sends gateways to
# coturn, which checks B's TURN credentials with B's secret (the use-auth-secret scheme).
coturn_port=$(free_port udp)
start_switchboard "$out/embedded"
embedded_pid=$last_pid
start_switchboard "$out/coturn" SWITCHBOARD_TURN_ADVERTISE="127.0.0.1:$coturn_port"
# coturn's command line from notes/webrtc-relay.md §1, with server B's secret and realm; its
# pid file and (unused) user database in OUT_DIR rather than /var.
"$turnserver" -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$coturn_port" \
  --use-auth-secret --static-auth-secret="$(cat "$out/coturn/turn-secret")" \
  --realm=switchboard --no-tls --no-dtls --allow-loopback-peers --no-cli \
  --min-port=50000 --max-port=50999 --fingerprint --log-file=stdout --simple-log \
  --pidfile="$out/turnserver.pid" --userdb="$out/turndb" >>"$out/turnserver.log" 2>&1 &
coturn_pid=$!
pids+=("$coturn_pid")
sleep 1
kill -0 "$coturn_pid" || { echo "coturn did not start; see $out/turnserver.log" >&2; exit 1; }

tunnel() { # NAME ARGS...
  local name=$1
  shift
  echo "== $name ($(cut -d' ' -f1-3 /proc/loadavg) load)"
  "$loadtest" tunnel --json "$out/$name.json" "$@" 2>"$out/$name.log" | tee "$out/$name.txt"
}
# Each server's relay process is sampled for CPU: the embedded server itself, and coturn.
A=(--server "embedded=$out/embedded" --relay-pid "embedded=$embedded_pid")
B=(--server "coturn=$out/coturn" --relay-pid "coturn=$coturn_pid")

stage() { [[ " $STAGES " == *" $1 "* ]]; }
if stage setup; then
  tunnel setup-direct "${A[@]}" --measure setup --runs "$SETUP_RUNS" --warmup "$WARMUP"
  tunnel setup-relay "${A[@]}" "${B[@]}" --measure setup --runs "$SETUP_RUNS" \
    --warmup "$WARMUP" --relay-only
fi
if stage throughput; then
  tunnel throughput-direct "${A[@]}" --measure throughput --runs "$THROUGHPUT_RUNS" \
    --warmup "$WARMUP" --bytes "$BYTES"
  tunnel throughput-relay "${A[@]}" "${B[@]}" --measure throughput --runs "$THROUGHPUT_RUNS" \
    --warmup "$WARMUP" --bytes "$BYTES" --relay-only
fi
if stage idle; then
  for kicker in 2 0; do
    tunnel "idle-direct-kicker$kicker" "${A[@]}" --measure idle-cpu --runs "$IDLE_RUNS" \
      --warmup 0 --idle "$IDLE" --kicker-ms "$kicker"
    tunnel "idle-relay-kicker$kicker" "${A[@]}" --measure idle-cpu --runs "$IDLE_RUNS" \
      --warmup 0 --idle "$IDLE" --kicker-ms "$kicker" --relay-only
  done
fi

echo
echo "run | server | ok/failed | paths | p50 | p95 | min | max | unit | relay CPU p50 (cores)"
r2='def r2: . * 100 | round / 100;'
shopt -s nullglob
for f in "$out"/setup-*.json "$out"/throughput-*.json "$out"/idle-*.json; do
  n=$(basename "$f" .json)
  jq -r --arg n "$n" "$r2"' .unit as $u | .servers[] | "\($n) | \(.label) | \(.ok)/\(.failed) | \(.paths | to_entries | map("\(.key) \(.value)") | join(", ")) | \(.summary.p50 | r2) | \(.summary.p95 | r2) | \(.summary.min | r2) | \(.summary.max | r2) | \($u) | \(if (.relay_cores.count // 0) > 0 then .relay_cores.p50 * 1000 | round / 1000 else "" end)"' "$f"
  jq -r --arg n "$n" "$r2"' .comparisons[] | "\($n) | \(.pair) | p50 ratio \(.p50_ratio // null | if . then r2 else "n/a" end), median of round ratios \(.median_round_ratio // null | if . then r2 else "n/a" end)"' "$f"
done
