#!/usr/bin/env python3
"""TLS probes of a gateway serving HTTPS (tests/system/outside_probe_round2.sh starts it with a read timeout of 3 s).

- 40 connections that send half a ClientHello and stop, 40 that send nothing, 20 of garbage bytes, plain HTTP to
  the TLS port, a ClientHello cut mid-record with the write side closed: meanwhile a real TLS client is served,
  the half-done handshakes are closed by the server within the read timeout (bounded by a generous guard), and
  afterwards the server still serves TLS.
- A TLS connection whose client sends close_notify mid-request, and one that sends a request and then raw garbage
  records.

Usage: probe_tls.py HOST PORT CA_FILE
"""
import os
import socket
import ssl
import sys
import time

HOST, PORT, CA = sys.argv[1], int(sys.argv[2]), sys.argv[3]
FAILURES = []
GUARD = 60  # seconds: a hang guard far above the server's 3 s read timeout


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL tls: {msg}", flush=True)


def client_hello_bytes():
    """A real ClientHello, taken from an in-memory handshake."""
    ctx = ssl.create_default_context(cafile=CA)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=HOST)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def tls_get(path="/healthz"):
    ctx = ssl.create_default_context(cafile=CA)
    with socket.create_connection((HOST, PORT), timeout=GUARD) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None


def closed_by_server(s):
    """Waits (bounded) for the server to close a connection it should give up on."""
    s.settimeout(GUARD)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def main():
    hello = client_hello_bytes()
    half = []
    for _ in range(40):
        s = socket.create_connection((HOST, PORT), timeout=GUARD)
        s.sendall(hello[: len(hello) // 2])
        half.append(s)
    silent = [socket.create_connection((HOST, PORT), timeout=GUARD) for _ in range(40)]
    garbage = []
    for i in range(20):
        s = socket.create_connection((HOST, PORT), timeout=GUARD)
        s.sendall(bytes([0x16, 0x03, 0x01, 0xFF, 0xFF]) + bytes(range(256)) * (i + 1))
        garbage.append(s)
    try:
        if tls_get() != 200:
            fail("a TLS client was not served while 100 handshakes hung")
    except Exception as e:  # noqa: BLE001
        fail(f"a TLS client failed while 100 handshakes hung: {e}")
    t0 = time.monotonic()
    for name, group in (("half ClientHello", half), ("silent", silent), ("garbage", garbage)):
        open_ones = sum(0 if closed_by_server(s) else 1 for s in group)
        if open_ones:
            fail(f"{open_ones} {name} connection(s) still open after the {GUARD} s guard")
        for s in group:
            s.close()
    print(f"half-done handshakes closed after {time.monotonic() - t0:.1f}s", flush=True)
    # Plain HTTP to the TLS port, and a cut ClientHello with the write side closed.
    for data in (b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\n", hello[:7], hello + b"\x17\x03\x03\x00\x05hello"):
        s = socket.create_connection((HOST, PORT), timeout=GUARD)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        if not closed_by_server(s):
            fail(f"a connection that sent {data[:12]!r} was not closed")
        s.close()
    # close_notify in the middle of a request's body.
    ctx = ssl.create_default_context(cafile=CA)
    raw = socket.create_connection((HOST, PORT), timeout=GUARD)
    s = ctx.wrap_socket(raw, server_hostname=HOST)
    s.sendall(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{")
    try:
        s.unwrap()
    except (ssl.SSLError, OSError):
        pass
    raw.close()
    # A request, then a record of garbage on the same connection.
    raw = socket.create_connection((HOST, PORT), timeout=GUARD)
    s = ctx.wrap_socket(raw, server_hostname=HOST)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\n")
    with socket.socket(fileno=os.dup(s.fileno())) as under:  # the TLS socket's own descriptor, past the TLS layer
        under.sendall(b"\x17\x03\x03\x00\x10" + b"\x00" * 16)
    try:
        s.recv(65536)
    except (ssl.SSLError, OSError):
        pass
    s.close()
    try:
        if tls_get("/metadata") != 200:
            fail("/metadata over TLS after the probe")
    except Exception as e:  # noqa: BLE001
        fail(f"TLS after the probe: {e}")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all TLS probes held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
