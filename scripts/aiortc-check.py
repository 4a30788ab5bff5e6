#!/usr/bin/env python3
"""aiortc-check.py: interoperability check of the reference gateway (`switchboard-gateway`,
source side) with a WebRTC peer nobody on the team wrote: Python aiortc driven through
paho-mqtt, playing the target side from docs/protocol.md and docs/gateway.md alone.

It starts the server on a fresh temporary data dir with every listener on an ephemeral port,
provisions an active self-peering connection through the HTTP API and reads its secret, starts a
local echo service, connects an aiortc target over MQTT/TLS (verifying the development CA),
starts `switchboard-gateway --side source --listen 127.0.0.1:<free port> --udp-bind 127.0.0.1:0`
(secret in SWITCHBOARD_GATEWAY_SECRET_FILE), answers its offer (trickled `candidate`s go to
addIceCandidate; aiortc's own candidates travel in the answer SDP), reports `tunnel connected`,
accepts the `switchboard` and `tcp` DataChannels and carries every `tcp` channel to the echo
service (binary bytes + text `fin`, gateway.md "DataChannels"). Then it connects to the source's
listen port, sends an HL7 (MLLP-framed) message, 1 MiB of random data and three concurrent
streams, checks every echo byte for byte, and checks that the API shows the connection
`connected`. The whole run is repeated with `--relay-only` on the Rust gateway (aiortc gets
welcome's TURN server; the Rust side forcing relay makes the pair relayed).

Checks are grouped: "core" (the interop itself) and "robustness" (back-to-back connections, a
peer that closes a channel right after its last bytes, `bye` on SIGTERM, the sdpMid of the
source's candidates); --core-only skips the latter. Rust gateway logs are written with
RUST_LOG=info,switchboard_gateway=debug (override with RUST_LOG); --keep keeps them.

Exits 0 when every check run passes, 1 otherwise, 2 when the server could not be started.

    python3 scripts/aiortc-check.py --server target/debug/switchboard \
        --gateway target/debug/switchboard-gateway

Needs: python3 -m pip install --user aiortc paho-mqtt   (aiortc 1.16, paho-mqtt 2.x)
"""
import argparse
import asyncio
import hashlib
import json
import logging
import os
import random
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request

try:
    import paho.mqtt.client as mqtt
except ImportError:
    sys.exit("paho-mqtt 2.x is required: python3 -m pip install --user paho-mqtt")
try:
    from aiortc import (RTCConfiguration, RTCIceServer, RTCPeerConnection,
                        RTCSessionDescription)
    from aiortc.sdp import candidate_from_sdp
except ImportError:
    sys.exit("aiortc is required: python3 -m pip install --user aiortc")

HOST = "localhost"  # the development certificate is valid for localhost, 127.0.0.1, ::1
CHUNK = 32 * 1024  # gateway.md: binary messages of at most 32 KiB
CLOSE_MODE = "never"  # who closes a finished tcp channel: see TcpBridge.maybe_close
SOURCE_CLOSE_WAIT = 5.0
SEND_HIGH_WATER = 1 << 20  # pause reading the local socket above this many buffered bytes
RESULTS = []  # (name, ok, detail, group)
SKIP_GROUPS = set()


def check(name, ok, detail="", group="core"):
    """group "core": the interop the brief asks for (offer/answer, channels open, data
    carried, API connected). "robustness": behaviour around it that gateway.md describes or
    that a standard WebRTC peer may rely on (skipped with --core-only)."""
    ok = bool(ok)
    if group in SKIP_GROUPS:
        return ok
    RESULTS.append((name, ok, detail, group))
    tag = "" if group == "core" else f" ({group})"
    print(f"  {'PASS' if ok else 'FAIL'}  {name}{tag}" + (f"  [{detail}]" if detail else ""),
          flush=True)
    return ok


def info(msg):
    print(f"  ....  {msg}", flush=True)


def section(title):
    print(f"\n== {title}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- server + API
# (the server/API setup follows scripts/paho-check.py)


from sbcheck import Api, Server, tail  # noqa: E402  (scripts/sbcheck.py)


def setup(api, admin):
    """protocol.md §16.2: one org, two servers, a published channel, a self-peering, a grant
    approved, a connection provisioned and activated, its secret viewed."""
    owner = api.ok("POST", "/v1/orgs", admin, {
        "name": "Acme Health", "slug": "acme", "tier": "standard",
        "owner": {"email": "ann@acme.example", "name": "Ann Admin"}})["owner_token"]
    src = api.ok("POST", "/v1/servers", owner, {"name": "acme-lab", "kind": "mirth"})["id"]
    tgt = api.ok("POST", "/v1/servers", owner, {"name": "acme-prod", "kind": "mirth"})["id"]
    ch = api.ok("POST", f"/v1/servers/{tgt}/channels", owner, {
        "internal_name": "ADT_IN", "public_name": "ADT inbound", "direction": "listener",
        "published": True})["id"]
    agr = api.ok("POST", "/v1/peering/requests", owner, {"to_org": "acme"})["agreement_id"]
    gr = api.ok("POST", "/v1/grants", owner, {"agreement_id": agr, "channel_id": ch})["id"]
    api.ok("POST", f"/v1/grants/{gr}/approve", owner)
    conn = api.ok("POST", "/v1/connections", owner, {
        "grant_id": gr, "source_server_id": src, "target_server_id": tgt})["id"]
    a = api.ok("POST", f"/v1/connections/{conn}/activate", owner)
    check("API: connection provisioned and active", a.get("status") == "active",
          f"{conn} {a.get('status')}")
    secret = api.ok("POST", f"/v1/connections/{conn}/secret/view", owner)["secret"]
    check("API: secret viewed (sbs_…)", secret.startswith("sbs_"))
    return owner, conn, secret


# --------------------------------------------------------------------------- echo service


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        self.server.accepted += 1
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                s.sendall(b)
            s.shutdown(socket.SHUT_WR)  # half-close answered with a half-close
        except OSError:
            pass


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.accepted = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True, name="echo")
        self.thread.start()

    @property
    def addr(self):
        return self.server_address

    def stop(self):
        self.shutdown()
        self.server_close()


# --------------------------------------------------------------------------- Rust source gateway


class SourceGateway:
    def __init__(self, binary, srv, conn, secret_file, relay_only, label):
        self.binary = os.path.abspath(binary)
        self.listen_port = free_port()
        self.log_path = os.path.join(srv.work, f"gateway-{label}.log")
        self.args = [self.binary,
                     "--broker", f"mqtts://{HOST}:{srv.port('mqtt_tls')}",
                     "--ca", srv.ca, "--connection", conn, "--side", "source",
                     "--listen", f"127.0.0.1:{self.listen_port}", "--udp-bind", "127.0.0.1:0"]
        if relay_only:
            self.args.append("--relay-only")
        self.env = dict(os.environ)
        self.env["SWITCHBOARD_GATEWAY_SECRET_FILE"] = secret_file
        self.env.pop("SWITCHBOARD_GATEWAY_SECRET", None)
        self.env.setdefault("NO_COLOR", "1")
        self.env.setdefault("RUST_LOG", "info,switchboard_gateway=debug,webrtc=warn,rtc=warn")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        info("start: " + " ".join(os.path.relpath(a) if a == self.binary else a for a in self.args))
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self, timeout=10):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if not self.proc:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self.log.close()
        return rc

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""


# --------------------------------------------------------------------------- aiortc target


def selected_pair(pc):
    """(local type, remote type) of aiortc's nominated ICE pair. aiortc has no public API for
    the selected pair, so this reads aioice's connection (private attributes)."""
    try:
        conn = pc.sctp.transport.transport._connection
        pair = conn._nominated.get(1)
        if pair is None:
            return None, None
        return pair.local_candidate.type, pair.remote_candidate.type
    except AttributeError:
        return None, None


def parse_candidate(init):
    """RTCIceCandidateInit (protocol.md §10) → aiortc RTCIceCandidate, or None for
    end-of-candidates (an empty candidate string is treated the same way)."""
    if init is None:
        return None
    line = init.get("candidate") or ""
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:"):]
    if not line.strip():
        return None
    c = candidate_from_sdp(line)
    c.sdpMid = init.get("sdpMid")
    c.sdpMLineIndex = init.get("sdpMLineIndex")
    if c.sdpMid is None and c.sdpMLineIndex is None:
        c.sdpMLineIndex = 0
    return c


class TcpBridge:
    """The `tcp` DataChannel convention (gateway.md) on the target side: connect the local
    service, bytes as binary messages (≤ 32 KiB), text `fin` = half-close, and the channel
    closed once both directions are finished (maybe_close). Back-pressure: the local socket is
    not read while aiortc buffers more than SEND_HIGH_WATER bytes for the channel."""

    def __init__(self, target, channel):
        self.t = target
        self.ch = channel
        self.inbox = asyncio.Queue()
        self.writer = None
        self.sent_fin = False
        self.got_fin = False
        self.got_ack = False
        self.low = asyncio.Event()
        self.bytes_in = 0
        self.bytes_out = 0
        channel.bufferedAmountLowThreshold = SEND_HIGH_WATER // 2
        channel.on("message", self.inbox.put_nowait)
        channel.on("bufferedamountlow", self.low.set)
        channel.on("close", lambda: self.inbox.put_nowait(None))
        self.task = asyncio.ensure_future(self.run())

    async def run(self):
        host, port = self.t.forward
        try:
            reader, self.writer = await asyncio.open_connection(host, port)
        except OSError as e:
            self.t.log(f"tcp channel {self.ch.id}: connect to local service failed: {e}; closing it")
            self.ch.close()
            return
        self.t.tcp_opened += 1
        up = asyncio.ensure_future(self.pump_up(reader))
        try:
            await self.pump_down()
        finally:
            if self.ch.readyState == "closed":
                up.cancel()
            try:
                await asyncio.wait_for(up, 30)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001
                up.cancel()
            self.writer.close()

    async def pump_down(self):
        """channel → local socket"""
        while True:
            m = await self.inbox.get()
            if m is None:  # channel closed: the TCP connection ends both ways
                return
            if isinstance(m, str):
                if m == "fin":
                    # Everything before it has been written to the socket: acknowledge.
                    self.got_fin = True
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    if self.ch.readyState == "open":
                        self.ch.send("fin-ack")
                    await self.maybe_close()
                elif m == "fin-ack":
                    self.got_ack = True
                    await self.maybe_close()
                else:
                    self.t.log(f"tcp channel {self.ch.id}: unexpected text message {m[:40]!r}")
                continue
            self.bytes_in += len(m)
            self.t.max_msg = max(self.t.max_msg, len(m))
            self.writer.write(m)
            await self.writer.drain()

    async def pump_up(self, reader):
        """local socket → channel"""
        while True:
            b = await reader.read(CHUNK)
            if self.ch.readyState != "open":
                return
            if not b:
                self.ch.send("fin")
                self.sent_fin = True
                await self.maybe_close()
                return
            while self.ch.bufferedAmount > SEND_HIGH_WATER:
                self.low.clear()
                await self.low.wait()
            self.ch.send(b)
            self.bytes_out += len(b)

    async def maybe_close(self):
        """Both directions finished (gateway.md: "When both directions have sent fin and
        everything sent is acknowledged, the channel is closed"). CLOSE_MODE says who closes:
        "source" leaves it to the source (closing ourselves only if it has not after
        SOURCE_CLOSE_WAIT s), "acked" closes once aiortc's SCTP has every sent chunk
        acknowledged, "immediate" closes at once (what a browser peer doing send(); close()
        does)."""
        if not (self.sent_fin and self.got_fin) or self.ch.readyState != "open":
            return
        if CLOSE_MODE == "never":  # gateway.md: after fin/fin-ack both ways, nobody closes
            return
        if CLOSE_MODE == "source":
            for _ in range(int(SOURCE_CLOSE_WAIT * 20)):
                if self.ch.readyState != "open":
                    return
                await asyncio.sleep(0.05)
            self.t.log(f"tcp channel {self.ch.id}: source did not close it in {SOURCE_CLOSE_WAIT} s")
        elif CLOSE_MODE == "acked":
            await self.t.sctp_acked()
        if self.ch.readyState == "open":
            self.ch.close()


class Target:
    """The target-side gateway: paho-mqtt for signaling, aiortc for WebRTC."""

    def __init__(self, srv, conn, secret, forward, loop, trickle=False):
        self.trickle = trickle
        self.conn = conn
        self.forward = forward
        self.loop = loop
        self.rx = f"sb/v1/c/{conn}/target/rx"
        self.tx = f"sb/v1/c/{conn}/target/tx"
        self.queue = asyncio.Queue()
        self.msgs = []  # every parsed message received
        self.welcome = None
        self.ice_servers = []
        self.pc = None
        self.session = None
        self.pending = []  # candidates before the remote description
        self.candidates_in = 0
        self.end_of_candidates = False
        self.tunnel = None  # dict of the last tunnel connected report
        self.tunnel_up = asyncio.Event()
        self.tcp_opened = 0
        self.max_msg = 0  # largest binary message received on a tcp channel
        self.channel_props = set()  # (label, ordered, maxRetransmits, maxPacketLifeTime, protocol)
        self.offer_sdp = None
        self.first_candidate = None  # a candidate message as the Rust source sent it
        self.bridges = []
        self.errors = []
        self.events = []
        self.connack = None
        self.connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{conn}.target",
                        protocol=mqtt.MQTTv311)
        c.tls_set(ca_certs=srv.ca)  # verify against the development CA (protocol.md §3)
        c.username_pw_set(conn, secret)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_disconnect = self._on_disconnect
        self.c = c
        self.port = srv.port("mqtt_tls")
        self.handler = None

    def log(self, msg):
        self.events.append(msg)
        info(f"target: {msg}")

    # paho thread
    def _on_connect(self, c, _u, _flags, reason, _props):
        self.connack = reason
        if not reason.is_failure:
            c.subscribe(self.rx, qos=1)
        self.connected.set()

    def _on_disconnect(self, _c, _u, _flags, reason, _props):
        self.loop.call_soon_threadsafe(self.queue.put_nowait, {"type": "_disconnected",
                                                               "reason": str(reason)})

    def _on_message(self, _c, _u, msg):
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            doc = {"type": "_unparsable", "raw": msg.payload[:200]}
        self.loop.call_soon_threadsafe(self.queue.put_nowait, doc)

    def publish(self, doc):
        self.c.publish(self.tx, json.dumps(doc, separators=(",", ":")), qos=1)

    async def connect(self, timeout=15):
        self.c.connect(HOST, self.port, keepalive=30)
        self.c.loop_start()
        await asyncio.get_running_loop().run_in_executor(None, self.connected.wait, timeout)
        self.handler = asyncio.ensure_future(self.handle_loop())

    def close(self):
        try:
            self.c.disconnect()
        except Exception:  # noqa: BLE001
            pass
        self.c.loop_stop()

    async def handle_loop(self):
        while True:
            m = await self.queue.get()
            self.msgs.append(m)
            try:
                await self.handle(m)
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                self.log(f"error handling {m.get('type')}: {e!r}")

    async def handle(self, m):
        t = m.get("type")
        if t == "welcome":
            self.welcome = m
            self.ice_servers = m.get("ice_servers") or []
            self.log(f"welcome role={m.get('role')} status={m.get('status')} "
                     f"peer_online={m.get('peer_online')} ice_servers="
                     f"{[s.get('urls') for s in self.ice_servers]}")
        elif t == "ice":
            self.ice_servers = m.get("ice_servers") or []
        elif t == "peer":
            self.log(f"peer online={m.get('online')}")
        elif t == "offer":
            await self.on_offer(m)
        elif t == "candidate":
            if m.get("session") != self.session:
                self.log(f"candidate for old session {m.get('session')} ignored")
                return
            if self.first_candidate is None and m.get("candidate"):
                self.first_candidate = m
            cand = parse_candidate(m.get("candidate"))
            if cand is None:
                self.end_of_candidates = True
            else:
                self.candidates_in += 1
            if self.pc is None or self.pc.remoteDescription is None:
                self.pending.append(cand)
            else:
                await self.pc.addIceCandidate(cand)
        elif t == "bye":
            self.log(f"bye session={m.get('session')} reason={m.get('reason')}")
            if m.get("session") == self.session:
                await self.close_pc()
        elif t == "error":
            self.errors.append(m)
            self.log(f"error {m.get('code')} ref={m.get('ref')} session={m.get('session')}: "
                     f"{m.get('message')}")
        elif t == "status":
            self.log(f"status {m.get('status')} reason={m.get('reason')}")
        elif t == "_disconnected":
            self.log(f"MQTT disconnected: {m.get('reason')}")
        else:
            self.log(f"ignored message type {t!r}")

    async def sctp_acked(self, timeout=10):
        """Wait until aiortc's SCTP association has nothing unsent or unacknowledged (reads
        aiortc's private queues: its API has no "acknowledged")."""
        sctp = self.pc.sctp if self.pc else None
        for _ in range(int(timeout * 100)):
            try:
                if (not sctp._data_channel_queue and not sctp._outbound_queue
                        and not sctp._sent_queue):
                    return True
            except AttributeError:
                return False
            await asyncio.sleep(0.01)
        return False

    def rtc_config(self):
        servers = []
        for s in self.ice_servers:
            urls = s.get("urls")
            urls = [urls] if isinstance(urls, str) else list(urls or [])
            # aiortc (like the Rust gateway) cannot use turns:; keep turn:/stun: only
            urls = [u for u in urls if u.split(":", 1)[0] in ("turn", "stun")]
            if urls:
                servers.append(RTCIceServer(urls=urls, username=s.get("username"),
                                            credential=s.get("credential")))
        return RTCConfiguration(iceServers=servers)

    async def close_pc(self):
        pc, self.pc = self.pc, None
        if pc is not None:
            await pc.close()

    async def on_offer(self, m):
        # An offer for a new session replaces the old one (gateway.md "Sessions").
        await self.close_pc()
        self.session = m["session"]
        self.tunnel = None
        self.tunnel_up.clear()
        self.end_of_candidates = False
        self.candidates_in = 0
        held = self.pending
        self.pending = []
        session = self.session
        self.offer_sdp = m["sdp"]
        mids = [l for l in m["sdp"].splitlines() if l.startswith(("m=", "a=mid:"))]
        self.log(f"offer session={session} ({len(m['sdp'])} bytes of SDP, "
                 f"{m['sdp'].count('a=candidate:')} candidates in it; {mids})")
        pc = RTCPeerConnection(self.rtc_config())
        self.pc = pc

        @pc.on("datachannel")
        def on_datachannel(ch):
            self.log(f"datachannel label={ch.label!r} id={ch.id} state={ch.readyState} "
                     f"ordered={ch.ordered} protocol={ch.protocol!r}")
            self.channel_props.add((ch.label, ch.ordered, ch.maxRetransmits,
                                    ch.maxPacketLifeTime, ch.protocol))
            if ch.label == "switchboard":
                if ch.readyState == "open":
                    self.report_connected(pc, session)
                else:
                    ch.on("open", lambda: self.report_connected(pc, session))
                ch.on("close", lambda: self.log("switchboard channel closed"))
                ch.on("message", lambda msg: self.log(f"unexpected data on switchboard: {msg!r:.60}"))
            elif ch.label == "tcp":
                self.bridges.append(TcpBridge(self, ch))
            else:
                self.log(f"unknown channel label {ch.label!r}")

        @pc.on("connectionstatechange")
        async def on_state():
            self.log(f"connectionState={pc.connectionState} (session {session})")
            if pc.connectionState == "failed" and session == self.session:
                self.publish({"v": 1, "type": "tunnel", "session": session,
                              "state": "failed" if self.tunnel is None else "closed"})

        await pc.setRemoteDescription(RTCSessionDescription(sdp=m["sdp"], type="offer"))
        for cand in held:
            await pc.addIceCandidate(cand)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)  # aiortc gathers every candidate here
        if self.session != session or self.pc is not pc:
            return
        sdp = pc.localDescription.sdp
        self.publish({"v": 1, "type": "answer", "session": session, "sdp": sdp})
        if self.trickle:  # optional: the same candidates again as candidate messages
            for l in sdp.splitlines():
                if l.startswith("a=candidate:"):
                    self.publish({"v": 1, "type": "candidate", "session": session, "candidate": {
                        "candidate": l[2:], "sdpMid": pc.sctp.mid, "sdpMLineIndex": 0}})
        # aiortc does not trickle: its candidates are in the answer; say that there are no more.
        self.publish({"v": 1, "type": "candidate", "session": session, "candidate": None})
        self.log(f"answer sent ({sdp.count('a=candidate:')} candidates in the SDP: "
                 f"{sorted(set(l.split()[7] for l in sdp.splitlines() if l.startswith('a=candidate:')))})")

    def report_connected(self, pc, session):
        local, remote = selected_pair(pc)
        path = "relay" if "relay" in (local, remote) else "direct"
        doc = {"v": 1, "type": "tunnel", "session": session, "state": "connected", "path": path}
        if local:
            doc["local_type"] = local
        if remote:
            doc["remote_type"] = remote
        self.publish(doc)
        self.tunnel = doc
        self.log(f"tunnel connected: path={path} local={local} remote={remote}")
        self.tunnel_up.set()


# --------------------------------------------------------------------------- data checks


def echo_roundtrip(port, data, timeout=60, connect_timeout=10, read_delay=0.0):
    """Connect to the source's listen port, send data, half-close, read until EOF. Returns
    (received bytes, seconds). Runs in a worker thread (blocking sockets). With read_delay,
    a slow reader: a small receive buffer and nothing read until read_delay s after the
    half-close, so the echo backs up inside the source gateway."""
    deadline = time.time() + connect_timeout
    while True:
        s = socket.socket()
        if read_delay:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
            break
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    got = bytearray()
    err = []
    go = threading.Event()
    if not read_delay:
        go.set()

    def reader():
        go.wait()
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    return
                got.extend(b)
        except OSError as e:
            err.append(e)

    t0 = time.time()
    r = threading.Thread(target=reader, daemon=True)
    r.start()
    try:
        view = memoryview(data)
        for i in range(0, len(data), 16384):
            s.sendall(view[i:i + 16384])
        s.shutdown(socket.SHUT_WR)
        if read_delay:
            time.sleep(read_delay)
            go.set()
        r.join(timeout)
    finally:
        s.close()
    if r.is_alive():
        raise TimeoutError(f"no EOF after {timeout} s ({len(got)} of {len(data)} bytes back)")
    if err:
        raise err[0]
    return bytes(got), time.time() - t0


def hl7_message():
    segs = [
        "MSH|^~\\&|ACME_LAB|ACME|ADT_IN|ACME_PROD|20260101120000||ADT^A01^ADT_A01|MSG00001|P|2.5.1",
        "EVN|A01|20260101120000",
        "PID|1||123456^^^ACME^MR||Doe^Jane^Q||19800101|F|||1 Main St^^Springfield^IL^62701",
        "PV1|1|I|WARD1^101^A|||||||MED||||||||V0001",
    ]
    return b"\x0b" + "\r".join(segs).encode() + b"\r\x1c\r"  # MLLP frame


def short(b):
    return hashlib.sha256(b).hexdigest()[:12]


SETTLE = 0.5  # pause between sequential TCP connections (see back_to_back)


async def data_checks(label, port):
    loop = asyncio.get_running_loop()
    msg = hl7_message()
    try:
        got, dt = await loop.run_in_executor(None, echo_roundtrip, port, msg)
        check(f"{label}: HL7 (MLLP) message echoed byte for byte, then EOF",
              got == msg, f"{len(got)}/{len(msg)} bytes in {dt:.2f} s")
    except Exception as e:  # noqa: BLE001
        check(f"{label}: HL7 (MLLP) message echoed byte for byte, then EOF", False, repr(e))
    await asyncio.sleep(SETTLE)

    big = random.Random(7).randbytes(1 << 20)
    try:
        got, dt = await loop.run_in_executor(None, echo_roundtrip, port, big, 120)
        check(f"{label}: 1 MiB of random bytes echoed exactly, then EOF", got == big,
              f"{len(got)}/{len(big)} bytes, sha256 {short(got)} vs {short(big)}, {dt:.2f} s, "
              f"{2 * len(big) / dt / 1e6:.2f} MB/s both ways")
    except Exception as e:  # noqa: BLE001
        check(f"{label}: 1 MiB of random bytes echoed exactly, then EOF", False, repr(e))
    await asyncio.sleep(SETTLE)

    blobs = [random.Random(100 + i).randbytes(256 * 1024 + i * 1001) for i in range(3)]
    try:
        res = await asyncio.gather(*(loop.run_in_executor(None, echo_roundtrip, port, b, 120)
                                     for b in blobs))
        ok = all(r[0] == b for r, b in zip(res, blobs))
        check(f"{label}: 3 concurrent TCP connections (3 tcp channels) each echoed exactly", ok,
              ", ".join(f"{len(r[0])}/{len(b)}" for r, b in zip(res, blobs)))
    except Exception as e:  # noqa: BLE001
        check(f"{label}: 3 concurrent TCP connections (3 tcp channels) each echoed exactly",
              False, repr(e))
    await asyncio.sleep(SETTLE)


async def back_to_back(label, port, n=4):
    """Sequential connections with no pause, as an MLLP sender that reconnects per message
    does. Each must be carried: a TCP connection opened while the previous channel is still
    being closed must not be refused."""
    loop = asyncio.get_running_loop()
    msg = hl7_message()
    outcome = []
    for _ in range(n):
        try:
            got, _dt = await loop.run_in_executor(None, echo_roundtrip, port, msg)
            outcome.append("ok" if got == msg else f"{len(got)}/{len(msg)} bytes")
        except Exception as e:  # noqa: BLE001
            outcome.append(type(e).__name__)
    check(f"{label}: {n} back-to-back TCP connections (no pause) each echoed",
          all(o == "ok" for o in outcome), ", ".join(outcome), "robustness")
    await asyncio.sleep(SETTLE)


async def early_close(label, port, n=3):
    """The target sends its last bytes and `fin` at once while the source's local client reads
    slowly, so the echo is still queued in the source gateway; with the fin / fin-ack
    convention (gateway.md) nobody closes the channel, and every byte must arrive."""
    global CLOSE_MODE
    loop = asyncio.get_running_loop()
    saved, CLOSE_MODE = CLOSE_MODE, "never"
    outcome = []
    try:
        for i in range(n):
            blob = random.Random(500 + i).randbytes(256 * 1024)
            try:
                got, _dt = await loop.run_in_executor(None, echo_roundtrip, port, blob, 60, 10, 2.0)
                outcome.append("ok" if got == blob else
                               f"{len(blob) - len(got)} bytes missing at the end"
                               if blob.startswith(got) else f"corrupt ({len(got)} bytes)")
            except Exception as e:  # noqa: BLE001
                outcome.append(type(e).__name__)
            await asyncio.sleep(SETTLE)
    finally:
        CLOSE_MODE = saved
    check(f"{label}: target sends its last bytes + fin at once "
          f"(slow local reader, {n} x 256 KiB): echo still exact", all(o == "ok" for o in outcome),
          "; ".join(outcome), "robustness")


async def run_phase(label, relay_only, args, srv, api, owner, conn, secret_file, target, echo):
    section(f"{label}: switchboard-gateway source{' --relay-only' if relay_only else ''} "
            f"↔ aiortc target")
    gw = SourceGateway(args.gateway, srv, conn, secret_file, relay_only, label)
    await target.close_pc()
    target.session = None
    target.tunnel = None
    target.tunnel_up.clear()
    target.first_candidate = None
    errors_before = len(target.errors)
    bridges_before = len(target.bridges)
    opened_before = target.tcp_opened
    echo_before = echo.accepted
    gw.start()
    ok = True
    try:
        try:
            await asyncio.wait_for(target.tunnel_up.wait(), args.tunnel_timeout)
        except asyncio.TimeoutError:
            pass
        s = target.session
        check(f"{label}: aiortc received an offer from the Rust source", s is not None,
              f"session {s}")
        check(f"{label}: trickled candidates received and added with addIceCandidate",
              target.candidates_in > 0,
              f"{target.candidates_in} candidates, end-of-candidates={target.end_of_candidates}")
        ok = check(f"{label}: DataChannel 'switchboard' opened on the aiortc side "
                   f"(tunnel connected sent)", target.tunnel_up.is_set(),
                   json.dumps(target.tunnel) if target.tunnel else
                   f"not within {args.tunnel_timeout} s")
        if not ok:
            return
        want = "relay" if relay_only else "direct"
        check(f"{label}: aiortc's selected pair is {want}", target.tunnel.get("path") == want,
              f"local={target.tunnel.get('local_type')} remote={target.tunnel.get('remote_type')}")
        await asyncio.sleep(1.0)
        if target.first_candidate:
            info(f"a candidate as the Rust source sent it: {json.dumps(target.first_candidate)}")
        new_errors = target.errors[errors_before:]
        c = (target.first_candidate or {}).get("candidate") or {}
        mids = [l[6:] for l in (target.offer_sdp or "").splitlines() if l.startswith("a=mid:")]
        check(f"{label}: the source's candidates name an m-line of its offer (sdpMid in "
              f"{mids} or absent, protocol.md §10)", c and (c.get("sdpMid") is None
                                                           or c.get("sdpMid") in mids),
              f"sdpMid={c.get('sdpMid')!r} sdpMLineIndex={c.get('sdpMLineIndex')!r}", "robustness")
        check(f"{label}: no error from the server for the answer/candidate/tunnel reports",
              not new_errors, json.dumps(new_errors)[:300])
        doc = api.ok("GET", f"/v1/connections/{conn}", owner)
        cy = doc.get("connectivity", {})
        check(f"{label}: API connectivity.state = connected",
              cy.get("state") == "connected",
              json.dumps({k: cy.get(k) for k in ("state", "last_path", "last_connected_at")}))
        info(f"API last_path = {cy.get('last_path')} (either side's report counts, protocol.md §10)")

        await data_checks(label, gw.listen_port)
        props = sorted(target.channel_props, key=str)
        check(f"{label}: 'switchboard' and 'tcp' channels are ordered and reliable (in-band)",
              props and all(p[1] and p[2] is None and p[3] is None for p in props)
              and {p[0] for p in props} == {"switchboard", "tcp"}, str(props))
        check(f"{label}: binary messages on tcp channels are at most 32 KiB",
              0 < target.max_msg <= 32 * 1024, f"largest {target.max_msg} bytes")
        n_b, n_o, n_e = (len(target.bridges) - bridges_before, target.tcp_opened - opened_before,
                         echo.accepted - echo_before)
        check(f"{label}: one aiortc 'tcp' channel and one echo-service connection per TCP "
              f"connection (5)", n_b == n_o == n_e == 5,
              f"channels {n_b}, local connects {n_o}, echo accepts {n_e}")
        done = [(b.sent_fin, b.got_fin, b.got_ack) for b in target.bridges[bridges_before:]]
        check(f"{label}: every tcp connection ended with fin / fin-ack both ways",
              all(d == (True, True, True) for d in done), str(done))
        if not args.core_only:
            # early close first: a stream-id collision left by back_to_back can hang the
            # next connection (see docs/aiortc-check.md)
            await early_close(label, gw.listen_port)
            await back_to_back(label, gw.listen_port)
        rust = [l for l in gw.log_text().splitlines() if "tunnel connected" in l]
        info(f"Rust source log: {rust[0].split('gateway: ', 1)[-1] if rust else '(no tunnel connected line)'}")
        check(f"{label}: Rust source still running", gw.proc.poll() is None,
              f"exit {gw.proc.poll()}")
    finally:
        session = target.session
        m0 = metrics(srv)
        rc = gw.stop()
        check(f"{label}: Rust source exits 0 on SIGTERM", rc == 0, f"exit code {rc}")
        if ok and session and not args.core_only:
            # gateway.md: "0 after SIGTERM or Ctrl-C (the session is ended with bye and
            # tunnel closed first)".
            for _ in range(40):
                if any(m.get("type") == "bye" and m.get("session") == session for m in target.msgs):
                    break
                await asyncio.sleep(0.05)
            byes = [m for m in target.msgs if m.get("type") == "bye" and m.get("session") == session]
            cy = api.ok("GET", f"/v1/connections/{conn}", owner).get("connectivity", {})
            delta = metrics_delta(m0, metrics(srv))
            check(f"{label}: after SIGTERM the aiortc target receives the source's bye",
                  bool(byes), f"got {[m.get('reason') for m in byes]}; API connectivity.state="
                  f"{cy.get('state')}; server counters during the shutdown: {delta}", "robustness")
            # Probe whether the server still holds the session: a bye for a session that
            # ended is answered stale_session (protocol.md §10, §11); for the current one, nothing.
            n = len(target.errors)
            target.publish({"v": 1, "type": "bye", "session": session, "reason": "probe"})
            await asyncio.sleep(0.5)
            stale = [e for e in target.errors[n:] if e.get("code") == "stale_session"]
            info(f"probe bye from the target → {'stale_session (server had ended the session)' if stale else 'accepted (the server still held the session: no bye/tunnel closed from the source reached it)'}")
        await target.close_pc()
        if not ok:
            print(f"--- {label}: Rust source log (last lines, {gw.log_path}) ---\n{tail(gw.log_path, 40)}")
        warns = [l.split(" ", 1)[-1] for l in gw.log_text().splitlines()
                 if (" WARN " in l or " ERROR " in l) and "Unsupported Extension" not in l]
        if warns:
            info(f"Rust source WARN/ERROR lines ({len(warns)}, full log {gw.log_path}):")
            for l in warns[:12]:
                print(f"          {l[:200]}")


def metrics(srv):
    """Signaling counters from GET /metrics (admin token), for evidence only."""
    try:
        req = urllib.request.Request(f"http://{srv.listeners['http']}/metrics")
        req.add_header("Authorization", f"Bearer {srv.admin}")
        with urllib.request.urlopen(req, timeout=5) as r:
            text = r.read().decode()
    except Exception:  # noqa: BLE001
        return {}
    out = {}
    for l in text.splitlines():
        if l.startswith("switchboard_signaling_") or l.startswith("switchboard_tunnel_reports"):
            k, _, v = l.rpartition(" ")
            try:
                out[k.replace("switchboard_", "")] = float(v)
            except ValueError:
                pass
    return out


def metrics_delta(a, b):
    return ", ".join(f"{k}+{b[k] - a.get(k, 0):g}" for k in sorted(b) if b[k] != a.get(k, 0)) or "none"


async def amain(args, srv):
    api = Api(f"http://{srv.listeners['http']}")
    section("HTTP API setup (protocol.md §16.2)")
    owner, conn, secret = setup(api, srv.admin)
    info(f"connection {conn}; listeners {json.dumps(srv.listeners)}")
    secret_file = os.path.join(srv.work, "secret")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    echo = EchoServer()
    info(f"echo service on {echo.addr[0]}:{echo.addr[1]}")
    target = Target(srv, conn, secret, echo.addr, asyncio.get_running_loop(), args.trickle)
    try:
        section("aiortc target over MQTT/TLS (paho-mqtt, dev CA verified)")
        await target.connect()
        check("target: CONNACK success", target.connack is not None and not target.connack.is_failure,
              str(target.connack))
        for _ in range(100):
            if target.welcome:
                break
            await asyncio.sleep(0.05)
        w = target.welcome or {}
        check("target: welcome (role answerer, status active)",
              w.get("role") == "answerer" and w.get("status") == "active", json.dumps(w)[:160])
        check("target: welcome.ice_servers has a turn: entry with credentials",
              any(str(u).startswith("turn:") for s in target.ice_servers for u in s.get("urls", []))
              and all(s.get("username") and s.get("credential") for s in target.ice_servers),
              json.dumps([s.get("urls") for s in target.ice_servers]))
        phases = [("direct", False)]
        if not args.skip_relay:
            phases.append(("relay-only", True))
        for label, relay in phases:
            try:
                await run_phase(label, relay, args, srv, api, owner, conn, secret_file, target, echo)
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                check(f"{label}: phase ran without exception", False, repr(e))
            # Fresh TURN credentials for the next phase (protocol.md §10 ice_refresh).
            target.publish({"v": 1, "type": "ice_refresh"})
            await asyncio.sleep(0.5)
    finally:
        await target.close_pc()
        if target.handler:
            target.handler.cancel()
        target.close()
        echo.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="path to the switchboard binary")
    ap.add_argument("--gateway", required=True, help="path to the switchboard-gateway binary")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dir and logs")
    ap.add_argument("--skip-relay", action="store_true", help="skip the relay-only phase")
    ap.add_argument("--tunnel-timeout", type=float, default=40.0,
                    help="seconds to wait for the DataChannel to open")
    ap.add_argument("--core-only", action="store_true",
                    help="only the core interop checks (skip back-to-back connections, early "
                    "close and the bye-on-SIGTERM check)")
    ap.add_argument("--trickle", action="store_true",
                    help="also send the answer's candidates as candidate messages")
    ap.add_argument("--aiortc-debug", action="store_true", help="aiortc/aioice debug logging")
    args = ap.parse_args()
    if args.core_only:
        SKIP_GROUPS.add("robustness")
    logging.basicConfig(level=logging.DEBUG if args.aiortc_debug else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    srv = Server(args.server, args.keep, "aiortc-check")
    print(f"data dir {srv.data}, logs {srv.work}")
    failed = []
    try:
        try:
            srv.start()
        except Exception as e:  # noqa: BLE001
            check("server started and wrote listeners.json", False, str(e))
            print(tail(srv.log_path))
            return 2
        try:
            asyncio.run(amain(args, srv))
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            check("run completed without exception", False, repr(e))
    finally:
        srv.stop()
        failed = [r for r in RESULTS if not r[1]]
        if any(r[3] == "core" for r in failed):
            print(f"\n--- server log (last lines) ---\n{tail(srv.log_path)}")
        srv.cleanup()
        print("\nSUMMARY: " + ", ".join(
            f"{g} {sum(1 for r in RESULTS if r[3] == g and r[1])}/{sum(1 for r in RESULTS if r[3] == g)}"
            for g in ("core", "robustness") if any(r[3] == g for r in RESULTS)) + " checks passed")
        for name, _ok, detail, group in failed:
            print(f"  FAILED ({group}): {name}" + (f"  [{detail}]" if detail else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
