"""Shared by the check scripts (paho-check.py, aiortc-check.py): a Switchboard server on
ephemeral loopback ports in a temporary data dir, and a small client for its HTTP API.
Standard library only."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


class Server:
    def __init__(self, binary, keep, name="check"):
        self.binary = os.path.abspath(binary)
        self.keep = keep
        self.data = tempfile.mkdtemp(prefix=f"sb-{name}-")
        self.work = tempfile.mkdtemp(prefix=f"sb-{name}-work-")  # secret file, gateway logs
        self.log_path = os.path.join(self.work, "server.log")
        self.proc = None
        self.listeners = None

    def start(self, timeout=60):
        env = dict(os.environ)
        env.update({
            "SWITCHBOARD_HTTP_LISTEN": "127.0.0.1:0",
            "SWITCHBOARD_MQTT_TLS_LISTEN": "127.0.0.1:0",
            "SWITCHBOARD_MQTT_WSS_LISTEN": "127.0.0.1:0",
            "SWITCHBOARD_TURN_LISTEN": "127.0.0.1:0",
        })
        env.setdefault("NO_COLOR", "1")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary, "serve", "--data-dir", self.data], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        path = os.path.join(self.data, "listeners.json")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}; log: {self.log_path}")
            try:
                with open(path) as f:
                    self.listeners = json.load(f)
                break
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.1)
        else:
            raise RuntimeError(f"no {path} after {timeout} s; log: {self.log_path}")
        self.ca = os.path.join(self.data, "tls", "dev-ca.pem")
        with open(os.path.join(self.data, "admin-token")) as f:
            self.admin = f.read().strip()

    def log_tail(self, n=30):
        return tail(self.log_path, n)

    def port(self, key):
        return int(self.listeners[key].rsplit(":", 1)[1])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def cleanup(self):
        if self.keep:
            print(f"(kept data dir {self.data} and logs in {self.work})")
            return
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
    except OSError:
        return ""


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, token, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def ok(self, method, path, token, body=None):
        status, doc = self.call(method, path, token, body)
        if status // 100 != 2:
            raise RuntimeError(f"{method} {path} -> HTTP {status}: {doc}")
        return doc
