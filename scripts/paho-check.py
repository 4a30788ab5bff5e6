#!/usr/bin/env python3
"""paho-check.py: check Switchboard's gateway protocol (docs/protocol.md) from the outside,
as a plugin author would, with paho-mqtt (2.x).

It starts the server itself on a fresh temporary data dir with every listener on an ephemeral
port (`127.0.0.1:0`), reads the bound ports from `<data_dir>/listeners.json`, provisions a
self-peering connection through the HTTP admin API (docs/protocol.md §16.2), then drives
gateways over MQTT/TLS (3.1.1 and 5) and MQTT over WebSocket/TLS and asserts what the doc
says. Exits 0 when every check passes, 1 otherwise, 2 when the server could not be started.

    python3 scripts/paho-check.py --server target/debug/switchboard
"""
import argparse
import json
import socket
import ssl
import sys
import threading
import time
import traceback

try:
    import paho.mqtt.client as mqtt
except ImportError:
    sys.exit("paho-mqtt 2.x is required: python3 -m pip install --user paho-mqtt")

HOST = "localhost"  # the development certificate is valid for localhost, 127.0.0.1, ::1
RESULTS = []  # (name, ok, detail)


def check(name, ok, detail=""):
    ok = bool(ok)
    RESULTS.append((name, ok, detail))
    print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f"  [{detail}]" if detail else ""), flush=True)
    return ok


def section(title):
    print(f"\n== {title}", flush=True)


# --------------------------------------------------------------------------- server


from sbcheck import Api, Server  # noqa: E402  (scripts/sbcheck.py)


# --------------------------------------------------------------------------- gateway


class Gw:
    """One MQTT session driven synchronously. Runs its own network loop (client.loop()) in a
    thread instead of loop_start(), because loop_start() reconnects by itself and a refused
    CONNECT retried automatically would count towards the lockout (§5)."""

    def __init__(self, label, client_id, username, password, version, port, ca,
                 transport="tcp"):
        self.label = label
        self.version = version
        self.port = port
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=proto, transport=transport)
        if transport == "websockets":
            self.c.ws_set_options(path="/mqtt")  # paho offers subprotocol "mqtt" by default
        self.c.tls_set(ca_certs=ca)  # verify against the development CA (§3)
        self.c.username_pw_set(username, password)
        self.cond = threading.Condition()
        self.connack = None  # (raw code on the wire, ReasonCode, properties)
        self.subacks = {}
        self.msgs = []  # (topic, payload bytes, parsed JSON or None)
        self.cursor = 0
        self.disconnect_reason = None
        self.closed = False
        self.server_disconnect = None  # reason of a DISCONNECT packet from the server
        self.loop_ended = False
        self._stop = threading.Event()
        self.thread = None
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_message = self._on_message
        self.c.on_disconnect = self._on_disconnect
        self.c.on_log = self._on_log
        self._raw_connack = None
        self.session_present = None

    # callbacks (network thread)
    def _on_log(self, _c, _u, _level, buf):
        if buf.startswith("Received CONNACK ("):
            # "Received CONNACK (flags, rc)" for 3.1.1: the return code as sent on the wire
            try:
                self._raw_connack = int(buf.split("(", 1)[1].split(",")[1].split(")")[0])
            except (IndexError, ValueError):
                pass
        elif buf.startswith("Received DISCONNECT"):
            with self.cond:
                self.server_disconnect = buf

    def _on_connect(self, _c, _u, flags, reason, props):
        with self.cond:
            raw = self._raw_connack if self.version != 5 else reason.value
            self.connack = (raw, reason, props)
            self.session_present = flags.session_present
            self.cond.notify_all()

    def _on_subscribe(self, _c, _u, mid, codes, _props):
        with self.cond:
            self.subacks[mid] = [rc.value for rc in codes]
            self.cond.notify_all()

    def _on_message(self, _c, _u, msg):
        try:
            parsed = json.loads(msg.payload)
        except ValueError:
            parsed = None
        with self.cond:
            self.msgs.append((msg.topic, bytes(msg.payload), parsed))
            self.cond.notify_all()

    def _on_disconnect(self, _c, _u, _flags, reason, _props):
        with self.cond:
            self.closed = True
            self.disconnect_reason = reason
            self.cond.notify_all()

    def _run(self):
        while not self._stop.is_set():
            rc = self.c.loop(timeout=0.05)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                break
        with self.cond:
            self.loop_ended = True
            self.closed = True
            self.cond.notify_all()

    # synchronous API
    def wait(self, pred, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                r = pred()
                if r:
                    return r
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def connect(self, timeout=10):
        """Returns the CONNACK code (3.1.1 return code or MQTT 5 reason code), or None."""
        self.c.connect(HOST, self.port, keepalive=30)
        self.thread = threading.Thread(target=self._run, daemon=True, name=self.label)
        self.thread.start()
        self.wait(lambda: self.connack is not None or self.closed, timeout)
        return self.connack[0] if self.connack else None

    def subscribe(self, topic, qos=1, timeout=5):
        rc, mid = self.c.subscribe(topic, qos=qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return self.wait(lambda: self.subacks.get(mid), timeout)

    def subscribe_many(self, topics, timeout=5):
        rc, mid = self.c.subscribe([(t, 1) for t in topics])
        if rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return self.wait(lambda: self.subacks.get(mid), timeout)

    def publish(self, topic, payload, qos=1):
        return self.c.publish(topic, payload, qos=qos)

    def next_msg(self, timeout=5):
        def have():
            return self.cursor < len(self.msgs)
        if not self.wait(have, timeout):
            return None
        with self.cond:
            m = self.msgs[self.cursor]
            self.cursor += 1
            return m

    def wait_msg(self, pred, timeout=5):
        """First message from the cursor on whose parsed JSON satisfies pred; moves the cursor
        past it. Returns (topic, payload, parsed) or None."""
        found = []

        def scan():
            for i in range(self.cursor, len(self.msgs)):
                m = self.msgs[i]
                if pred(m):
                    found.append(i)
                    return True
            return False
        if not self.wait(scan, timeout):
            return None
        with self.cond:
            i = found[0]
            self.cursor = i + 1
            return self.msgs[i]

    def quiet(self, seconds):
        """Messages that arrive within `seconds` (from the cursor on)."""
        time.sleep(seconds)
        with self.cond:
            out = self.msgs[self.cursor:]
            self.cursor = len(self.msgs)
            return out

    def is_closed(self, timeout):
        return bool(self.wait(lambda: self.closed, timeout))

    def close(self):
        try:
            if not self.closed:
                self.c.disconnect()
        except Exception:
            pass
        self._stop.set()
        if self.thread:
            self.thread.join(5)
        try:
            self.c.socket() and self.c._sock_close()
        except Exception:
            pass


def typ(t):
    return lambda m: isinstance(m[2], dict) and m[2].get("type") == t


def err(code):
    return lambda m: isinstance(m[2], dict) and m[2].get("type") == "error" and m[2].get("code") == code


# --------------------------------------------------------------------------- checks


def setup(api, admin):
    """§16.2: one org, two servers, a published channel, a self-peering, a grant offered and
    approved, a connection provisioned and activated, its secret viewed. Plus a second
    connection (third server as source) whose topics must be off limits."""
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
    g = api.ok("POST", f"/v1/grants/{gr}/approve", owner)
    check("API: grant approved", g.get("status") == "approved", g.get("status"))
    conn = api.ok("POST", "/v1/connections", owner, {
        "grant_id": gr, "source_server_id": src, "target_server_id": tgt})["id"]
    a = api.ok("POST", f"/v1/connections/{conn}/activate", owner)
    check("API: connection activated", a.get("status") == "active", f"{conn} {a.get('status')}")
    secret = api.ok("POST", f"/v1/connections/{conn}/secret/view", owner)["secret"]
    check("API: secret viewed (sbs_…)", secret.startswith("sbs_"))
    # A second connection. Same grant/source/target is refused (409, a live one exists), so a
    # third server is its source.
    src2 = api.ok("POST", "/v1/servers", owner, {"name": "acme-test", "kind": "mirth"})["id"]
    conn2 = api.ok("POST", "/v1/connections", owner, {
        "grant_id": gr, "source_server_id": src2, "target_server_id": tgt})["id"]
    api.ok("POST", f"/v1/connections/{conn2}/activate", owner)
    return owner, conn, secret, conn2


def unknown_conn_id(conn):
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32 (ULID)
    last = conn[-1]
    return conn[:-1] + (alphabet[(alphabet.index(last) + 1) % 32] if last in alphabet else "0")


def refusals(srv, api, owner, conn, secret):
    """§5 refusals. Six failed CONNECTs in all (two per case): under the lockout's 10."""
    section("CONNACK refusals over TLS (§5)")
    port = srv.port("mqtt_tls")

    # Is verification really on? The dev cert must not verify against the system store.
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{conn}.source")
    c.tls_set()  # system CAs only
    c.username_pw_set(conn, secret)
    try:
        c.connect(HOST, port, keepalive=30)
        check("TLS: dev certificate refused without its CA", False, "handshake succeeded")
        c.disconnect()
    except ssl.SSLCertVerificationError as e:
        check("TLS: dev certificate refused without its CA", True, e.verify_message)
    except Exception as e:  # noqa: BLE001
        check("TLS: dev certificate refused without its CA", False, repr(e))

    unknown = unknown_conn_id(conn)
    cases = [
        ("wrong secret", f"{conn}.source", conn, "sbs_not-the-secret", 4, 0x86),
        ("unknown connection id", f"{unknown}.source", unknown, secret, 4, 0x86),
        ("wrong side in client id (.both)", f"{conn}.both", conn, secret, 2, 0x85),
    ]
    for name, cid, user, pw, rc3, rc5 in cases:
        for version, want in ((3, rc3), (5, rc5)):
            g = Gw(f"refuse-{version}", cid, user, pw, version, port, srv.ca)
            try:
                got = g.connect()
                check(f"{name}, MQTT {'3.1.1' if version == 3 else '5'}: CONNACK {want:#04x}",
                      got == want, f"got {got if got is None else hex(got)}")
                check(f"{name}, MQTT {'3.1.1' if version == 3 else '5'}: socket closed after refusal",
                      g.is_closed(3))
            finally:
                g.close()
    doc = api.ok("GET", f"/v1/connections/{conn}", owner)
    laf = (doc.get("connectivity") or {}).get("source", {}).get("last_auth_failure")
    check("API: connectivity.source.last_auth_failure.reason = bad_secret",
          isinstance(laf, dict) and laf.get("reason") == "bad_secret", json.dumps(laf))


def tls_sessions(srv, api, owner, conn, secret, conn2):
    port = srv.port("mqtt_tls")
    rx = lambda side: f"sb/v1/c/{conn}/{side}/rx"  # noqa: E731
    tx = lambda side: f"sb/v1/c/{conn}/{side}/tx"  # noqa: E731

    section("Sessions over TLS: target MQTT 3.1.1, source MQTT 5 (§4, §6, §7)")
    tgt = Gw("target", f"{conn}.target", conn, secret, 3, port, srv.ca)
    src = Gw("source", f"{conn}.source", conn, secret, 5, port, srv.ca)
    try:
        check("target (3.1.1) CONNACK 0", tgt.connect() == 0)
        check("target SUBACK own rx = [0] (granted QoS 0 though 1 asked)",
              tgt.subscribe(rx("target")) == [0], str(tgt.subacks))
        m = tgt.next_msg()
        w = m and m[2]
        check("target: first message is welcome", w and w.get("type") == "welcome",
              m and m[1][:80])
        if w:
            check("target welcome: side/role/kind/status/peer_online/v",
                  (w.get("side"), w.get("role"), w.get("kind"), w.get("status"),
                   w.get("peer_online"), w.get("v"), w.get("connection_id"))
                  == ("target", "answerer", "p2p", "active", False, 1, conn), json.dumps(w)[:200])
            ice = w.get("ice_servers")
            check("target welcome: ice_servers has a turn:…?transport=udp entry with "
                  "username {expiry}:{conn}.target",
                  isinstance(ice, list) and ice and ice[0]["urls"][0].startswith("turn:")
                  and ice[0]["urls"][0].endswith("?transport=udp")
                  and ice[0]["username"].endswith(f":{conn}.target"), json.dumps(ice)[:160])
            check("target welcome: session_timeout_s = 30", w.get("session_timeout_s") == 30)
        time.sleep(0.3)
        doc = api.ok("GET", f"/v1/connections/{conn}", owner)
        check("API: connectivity.target.online = true after subscribing",
              doc["connectivity"]["target"]["online"] is True)

        got = src.connect()
        check("source (MQTT 5) CONNACK 0x00", got == 0, str(got))
        props = src.connack[2] if src.connack else None
        check("source CONNACK: session present = 0, no Server Keep Alive for keep-alive 30 (§4)",
              src.session_present is False and not hasattr(props, "ServerKeepAlive"), str(props))
        check("target CONNACK: session present = 0", tgt.session_present is False)
        check("source SUBACK own rx = [0]", src.subscribe(rx("source")) == [0], str(src.subacks))
        m = src.next_msg()
        w = m and m[2]
        check("source: first message is welcome", w and w.get("type") == "welcome",
              m and m[1][:80])
        if w:
            check("source welcome: role offerer, peer_online true",
                  (w.get("role"), w.get("peer_online"), w.get("side")) == ("offerer", True, "source"))
        m = tgt.wait_msg(typ("peer"))
        check("target gets peer {online: true}", m and m[2] == {"online": True, "type": "peer", "v": 1},
              m and m[1])

        section("Forbidden SUBSCRIBEs (§6): 3.1.1 → 0x80, MQTT 5 → 0x87, session stays")
        forbidden = [
            ("other side's rx", lambda side: rx("target" if side == "source" else "source")),
            ("#", lambda side: "#"),
            ("sb/#", lambda side: "sb/#"),
            ("$SYS/#", lambda side: "$SYS/#"),
            ("sb/v1/c/C/+/rx", lambda side: f"sb/v1/c/{conn}/+/rx"),
            ("own tx", lambda side: tx(side)),
            ("another connection's rx", lambda side: f"sb/v1/c/{conn2}/{side}/rx"),
            ("another connection's tx", lambda side: f"sb/v1/c/{conn2}/{side}/tx"),
        ]
        for g, side, want in ((tgt, "target", 0x80), (src, "source", 0x87)):
            for name, topic in forbidden:
                t = topic(side)
                got = g.subscribe(t)
                check(f"{side} ({'3.1.1' if g.version == 3 else '5'}) SUBSCRIBE {name} ({t}) → "
                      f"[{want:#04x}]", got == [want], str(got))
            got = g.subscribe_many([rx(side), "#"])
            check(f"{side}: SUBACK for [own rx, '#'] = [0, {want:#04x}]", got == [0, want], str(got))
            check(f"{side}: session still open after refused SUBSCRIBEs", not g.closed)
        extra = tgt.quiet(0.3) + src.quiet(0.0)
        check("re-subscribing own rx sends no second welcome",
              not any(isinstance(m[2], dict) and m[2].get("type") == "welcome" for m in extra),
              str([m[1][:60] for m in extra]))

        section("Relay offer/answer/candidate/bye (§10, §12)")
        offer = b'{"v":1,  "type":"offer","session":"s1","sdp":"v=0\\r\\no=- 1 1 IN IP4 0.0.0.0\\r\\n","x-trace":"kept as sent"}'
        src.publish(tx("source"), offer)
        m = tgt.wait_msg(typ("offer"))
        check("target receives the offer byte for byte (unknown field, whitespace kept)",
              m and m[1] == offer and m[0] == rx("target"), m and m[1][:100])
        answer = b'{"session":"s1","type":"answer","v":1,"sdp":"v=0 (the answer)"}'
        tgt.publish(tx("target"), answer)
        m = src.wait_msg(typ("answer"))
        check("source receives the answer byte for byte", m and m[1] == answer, m and m[1][:100])
        cand = (b'{"v":1,"type":"candidate","session":"s1","candidate":{"candidate":"candidate:1 1 '
                b'udp 2122260223 192.0.2.10 50000 typ host","sdpMid":"0","sdpMLineIndex":0}}')
        src.publish(tx("source"), cand)
        m = tgt.wait_msg(typ("candidate"))
        check("target receives source's candidate byte for byte", m and m[1] == cand)
        endc = b'{"v":1,"type":"candidate","session":"s1","candidate":null}'
        tgt.publish(tx("target"), endc)
        m = src.wait_msg(typ("candidate"))
        check("source receives end-of-candidates (candidate: null)", m and m[1] == endc)

        # exactly 64 KiB is allowed (§8 "At most 64 KiB (65 536 bytes)")
        head = b'{"v":1,"type":"candidate","session":"s1","candidate":null,"pad":"'
        tail = b'"}'
        big = head + b"x" * (65536 - len(head) - len(tail)) + tail
        assert len(big) == 65536
        src.publish(tx("source"), big)
        m = tgt.wait_msg(lambda m: typ("candidate")(m) and len(m[1]) == 65536, 10)
        check("a 65 536-byte candidate is relayed", m is not None and m[1] == big)

        # wrong role
        tgt.publish(tx("target"), b'{"v":1,"type":"offer","session":"t1","sdp":"x"}')
        m = tgt.wait_msg(typ("error"))
        check("offer from the target → error not_offerer (ref offer, session t1)",
              m and m[2].get("code") == "not_offerer" and m[2].get("ref") == "offer"
              and m[2].get("session") == "t1", m and m[1])

        bye = b'{"v":1,"type":"bye","session":"s1","reason":"done"}'
        tgt.publish(tx("target"), bye)
        m = src.wait_msg(typ("bye"))
        check("source receives the target's bye byte for byte", m and m[1] == bye, m and m[1])
        src.publish(tx("source"), b'{"v":1,"type":"candidate","session":"s1","candidate":null}')
        m = src.wait_msg(typ("error"))
        check("candidate after bye → error stale_session (ref candidate, session s1)",
              m and m[2].get("code") == "stale_session" and m[2].get("ref") == "candidate"
              and m[2].get("session") == "s1", m and m[1])

        section("bad_message (§8, §11)")
        for g, side in ((src, "source"), (tgt, "target")):
            g.publish(tx(side), b'{"v":1,"type":"offer",')
            m = g.wait_msg(typ("error"))
            e = m and m[2]
            check(f"{side}: malformed JSON → error bad_message, ref null, no session, "
                  f"message 'not valid JSON: …'",
                  e and e.get("code") == "bad_message" and e.get("ref") is None
                  and "session" not in e and str(e.get("message", "")).startswith("not valid JSON"),
                  m and m[1])
            head = b'{"v":1,"type":"candidate","session":"s1","candidate":null,"pad":"'
            over = head + b"x" * (65537 - len(head) - 2) + b'"}'
            assert len(over) == 65537
            g.publish(tx(side), over)
            m = g.wait_msg(typ("error"), 10)
            e = m and m[2]
            check(f"{side}: 65 537-byte payload → error bad_message, ref null, no session",
                  e and e.get("code") == "bad_message" and e.get("ref") is None
                  and "session" not in e, m and m[1])
            g.publish(tx(side), b'{"v":1,"type":"ice_refresh"}')
            m = g.wait_msg(typ("ice"))
            check(f"{side}: session stays after bad_message (ice_refresh → ice)",
                  m is not None and not g.closed)
        # the peer got none of it
        leaked = [m for m in tgt.quiet(0.3) if typ("candidate")(m)]
        check("oversized/malformed messages were not relayed", not leaked)

        section("PUBLISH outside own tx closes the session (§6)")
        src.publish(tx("target"), b'{"v":1,"type":"ice_refresh"}', qos=0)
        check("source (MQTT 5) publishing to the target's tx is disconnected", src.is_closed(3))
        check("… without a DISCONNECT packet", src.server_disconnect is None, src.server_disconnect)
        m = tgt.wait_msg(typ("peer"))
        check("target gets peer {online: false}", m and m[2].get("online") is False, m and m[1])
        tgt.publish(rx("target"), b'{"v":1,"type":"ice_refresh"}', qos=0)
        check("target (3.1.1) publishing to its own rx is disconnected", tgt.is_closed(3))
    finally:
        src.close()
        tgt.close()


def raw_https(port, ca, path, protocol=True):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection((HOST, port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname=HOST) as t:
            req = (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: Upgrade\r\n"
                   "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   + ("Sec-WebSocket-Protocol: mqtt\r\n" if protocol else "") + "\r\n")
            t.sendall(req.encode())
            data = b""
            t.settimeout(3)
            try:
                while True:
                    chunk = t.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data and len(data) > data.index(b"\r\n\r\n") + 4:
                        break
            except (socket.timeout, ssl.SSLError):
                pass
            return data.decode(errors="replace")


def wss(srv, conn, secret):
    section("MQTT over WebSocket/TLS (§2, §16.10)")
    if not srv.listeners.get("mqtt_wss"):
        check("listeners.json has mqtt_wss", False, str(srv.listeners))
        return
    port = srv.port("mqtt_wss")
    rx = lambda side: f"sb/v1/c/{conn}/{side}/rx"  # noqa: E731
    tx = lambda side: f"sb/v1/c/{conn}/{side}/tx"  # noqa: E731
    tgt = Gw("wss-target", f"{conn}.target", conn, secret, 3, port, srv.ca, "websockets")
    src = Gw("wss-source", f"{conn}.source", conn, secret, 5, port, srv.ca, "websockets")
    try:
        check("WSS target (3.1.1) CONNACK 0", tgt.connect() == 0)
        check("WSS target SUBACK own rx = [0]", tgt.subscribe(rx("target")) == [0])
        m = tgt.next_msg()
        check("WSS target: first message is welcome", m and typ("welcome")(m), m and m[1][:80])
        check("WSS source (5) CONNACK 0x00", src.connect() == 0)
        check("WSS source SUBACK own rx = [0]", src.subscribe(rx("source")) == [0])
        m = src.next_msg()
        check("WSS source: first message is welcome, peer_online true",
              m and typ("welcome")(m) and m[2].get("peer_online") is True, m and m[1][:80])
        check("WSS source SUBSCRIBE '#' → [0x87]", src.subscribe("#") == [0x87])
        check("WSS target SUBSCRIBE '#' → [0x80]", tgt.subscribe("#") == [0x80])
        offer = b'{"v":1,"type":"offer","session":"w1","sdp":"v=0 (over wss)"}'
        src.publish(tx("source"), offer)
        m = tgt.wait_msg(typ("offer"))
        check("WSS: offer relayed byte for byte", m and m[1] == offer)
        tunnel = b'{"v":1,"type":"tunnel","session":"w1","state":"connected","path":"direct"}'
        tgt.publish(tx("target"), b'{"v":1,"type":"answer","session":"w1","sdp":"a"}')
        check("WSS: answer relayed", src.wait_msg(typ("answer")) is not None)
        tgt.publish(tx("target"), tunnel)
        src.publish(tx("source"), b'{"v":1,"type":"ice_refresh"}')
        m = src.wait_msg(typ("ice"))
        check("WSS: ice_refresh → ice with ice_servers", m and isinstance(m[2].get("ice_servers"), list))
        stray = [m for m in src.quiet(0.3) + tgt.quiet(0.0) if typ("error")(m)]
        check("WSS: no error for tunnel connected", not stray, str([m[1] for m in stray]))
    finally:
        src.close()
        tgt.close()
    r = raw_https(port, srv.ca, "/other")
    check("WSS: another path → HTTP 404 'Not found: MQTT over WebSocket is served at /mqtt.'",
          r.startswith("HTTP/1.1 404")
          and "Not found: MQTT over WebSocket is served at /mqtt." in r, r.splitlines()[0] if r else "")
    r = raw_https(port, srv.ca, "/mqtt", protocol=False)
    check("WSS: /mqtt without subprotocol → HTTP 400 naming the subprotocol",
          r.startswith("HTTP/1.1 400")
          and 'The WebSocket subprotocol "mqtt" is required (Sec-WebSocket-Protocol: mqtt).' in r,
          r.splitlines()[0] if r else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="path to the switchboard binary")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dir and log")
    args = ap.parse_args()

    srv = Server(args.server, args.keep, "paho-check")
    print(f"data dir {srv.data}")
    try:
        try:
            srv.start()
        except Exception as e:  # noqa: BLE001
            check("server started and wrote listeners.json", False, str(e))
            print(srv.log_tail())
            return 2
        print(f"listeners.json: {json.dumps(srv.listeners)}")
        api = Api(f"http://{srv.listeners['http']}")
        section("HTTP admin API setup (§16.2)")
        try:
            owner, conn, secret, conn2 = setup(api, srv.admin)
        except Exception as e:  # noqa: BLE001
            check("API setup", False, repr(e))
            raise SystemExit(1)
        print(f"  connection {conn} (second: {conn2})")
        for step in (lambda: refusals(srv, api, owner, conn, secret),
                     lambda: tls_sessions(srv, api, owner, conn, secret, conn2),
                     lambda: wss(srv, conn, secret)):
            try:
                step()
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                check("section ran without exception", False, repr(e))
    finally:
        srv.stop()
        failed = [r for r in RESULTS if not r[1]]
        if failed:
            print(f"\n--- server log (last lines) ---\n{srv.log_tail()}")
        srv.cleanup()
        print(f"\nSUMMARY: {len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed")
        for name, _ok, detail in failed:
            print(f"  FAILED: {name}" + (f"  [{detail}]" if detail else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
