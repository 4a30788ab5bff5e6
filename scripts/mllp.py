#!/usr/bin/env python3
"""A minimal HL7 v2 over MLLP endpoint for trying a tunnel (standard library only).

  scripts/mllp.py listen PORT      prints each message received and answers with an ACK
  scripts/mllp.py send HOST:PORT   sends one ADT^A01 and prints the ACK that comes back
"""
import datetime
import socket
import sys

START, END = b"\x0b", b"\x1c\x0d"


def frames(sock):
    buf = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        buf += data
        while START in buf and END in buf:
            start = buf.index(START)
            end = buf.index(END, start)
            yield buf[start + 1:end]
            buf = buf[end + 2:]


def ack_for(message):
    msh = message.split(b"\r")[0].split(b"|")
    control_id = msh[9] if len(msh) > 9 else b""
    stamp = datetime.datetime.now().strftime("%Y%m%d%H%M%S").encode()
    return (b"MSH|^~\\&|RECV|FAC|SEND|FAC|" + stamp + b"||ACK|" + control_id + b"|P|2.5\r"
            b"MSA|AA|" + control_id + b"\r")


def listen(port):
    server = socket.create_server(("127.0.0.1", port))
    print(f"MLLP listener on 127.0.0.1:{port}", flush=True)
    while True:
        conn, peer = server.accept()
        with conn:
            for message in frames(conn):
                print(f"received from {peer[0]}:{peer[1]}:", flush=True)
                print(message.replace(b"\r", b"\n").decode(errors="replace"), flush=True)
                conn.sendall(START + ack_for(message) + END)


def send(address):
    host, port = address.rsplit(":", 1)
    stamp = datetime.datetime.now().strftime("%Y%m%d%H%M%S")
    message = (f"MSH|^~\\&|SEND|FAC|RECV|FAC|{stamp}||ADT^A01|MSG{stamp}|P|2.5\r"
               f"EVN|A01|{stamp}\r"
               "PID|1||123456^^^HOSP^MR||DOE^JANE||19800101|F\r"
               "PV1|1|I|WARD^101^A\r").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(START + message + END)
        for reply in frames(sock):
            print("ACK received:")
            print(reply.replace(b"\r", b"\n").decode(errors="replace"))
            return 0
    print("no ACK: the connection closed", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("listen", "send"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "listen":
        listen(int(sys.argv[2]))
    else:
        sys.exit(send(sys.argv[2]))
