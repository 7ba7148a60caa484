"""Makes one TLS connection with Python's ssl module and lets the exception be printed.

Usage: python3 client.py HOST PORT --ca FILE [--cert FILE --key FILE] [--min TLSv1_x]
       [--max TLSv1_x] [--ciphers LIST] [--timeout S] [--urllib]

HOST is the name to verify (and send in SNI unless it is an IP address); the connection
goes to 127.0.0.1. With --urllib the request is made with urllib.request.urlopen instead,
HOST being resolved to 127.0.0.1.
"""
import argparse
import socket
import ssl
import sys
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("host")
p.add_argument("port", type=int)
p.add_argument("--ca", required=True)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--min")
p.add_argument("--max")
p.add_argument("--ciphers")
p.add_argument("--timeout", type=float, default=3)
p.add_argument("--urllib", action="store_true")
a = p.parse_args()

ctx = ssl.create_default_context(cafile=a.ca)
if a.cert:
    ctx.load_cert_chain(a.cert, a.key)
if a.min:
    ctx.minimum_version = ssl.TLSVersion[a.min]
if a.max:
    ctx.maximum_version = ssl.TLSVersion[a.max]
if a.ciphers:
    ctx.set_ciphers(a.ciphers)

if a.urllib:
    real = socket.getaddrinfo

    def loopback(host, *rest, **kw):
        return real("127.0.0.1", *rest, **kw)

    socket.getaddrinfo = loopback
    with urllib.request.urlopen(f"https://{a.host}:{a.port}/", context=ctx, timeout=a.timeout) as r:
        print("HTTP", r.status)
        sys.stdout.write(r.read().decode())
    sys.exit(0)

with socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout) as sock:
    with ctx.wrap_socket(sock, server_hostname=a.host) as tls:
        print(tls.version(), tls.cipher()[0])
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {a.host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = tls.recv(4096)
            if not chunk:
                break
            data += chunk
        sys.stdout.write(data.decode(errors="replace"))
