#!/usr/bin/env python3
"""Loopback mirror farm for scripts/bench.sh (benchmark 2). Listens on 127.0.0.0/8 only.

One process runs:
  * HONEST_ADDRS small HTTP/1.1 servers (ThreadingHTTPServer), one per loopback address
    127.0.0.2, 127.0.0.3, ..., each on its own ephemeral port. Every server serves the same
    mirror tree under many path prefixes: GET /m042/stable/release.json -> TREE/stable/release.json,
    so each mirror in the profile has its own URL.
  * BLACKHOLES "black hole" listeners, one per address 127.0.0.101, 127.0.0.102, ...: they accept
    every TCP connection, read and discard whatever arrives, and never send a byte.

It then writes a profile (TOML) listing HONEST + BLACKHOLES mirrors in a fixed shuffled order,
with countries spread over a list, and finally a ready file (JSON) with the endpoints.

Bounds: at most --max-handlers concurrent HTTP handlers (the accept loop waits beyond that),
a per-connection socket timeout, at most --max-held connections kept by the black holes
(oldest closed first), and a hard --lifetime after which the process exits on its own.
The benchmark script also kills it by PID on exit.
"""

import argparse
import json
import os
import random
import selectors
import signal
import socket
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COUNTRIES = ["FR", "DE", "US", "JP", "BR", "IN", "GB", "NL", "SE", "CA",
             "AU", "ZA", "KR", "SG", "ES", "IT", "PL", "CH", "FI", "NZ"]


def loopback(addr):
    """Refuse anything that is not 127.0.0.0/8: this farm must never leave the machine."""
    parts = addr.split(".")
    if len(parts) != 4 or parts[0] != "127":
        raise SystemExit(f"refusing non-loopback address {addr}")
    return addr


def make_handler(tree, timeout):
    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real mirrors do

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=tree, **kw)

        def setup(self):
            self.timeout = timeout
            super().setup()

        def translate_path(self, path):
            # /mNNN/rest -> TREE/rest ; anything else -> a path that does not exist
            p = unquote(urlsplit(path).path)
            segs = [s for s in p.split("/") if s]
            if not segs or not segs[0].startswith("m") or not segs[0][1:].isdigit():
                return os.path.join(tree, "no such mirror", "x")
            rest = [s for s in segs[1:] if s not in (".", "..")]
            return os.path.join(tree, *rest)

        def list_directory(self, path):
            self.send_error(404)
            return None

        def log_message(self, fmt, *args):  # quiet
            pass

    return Handler


class BoundedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, addr, handler, slots):
        self.slots = slots
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        self.slots.acquire()  # back-pressure: at most --max-handlers handlers at once
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def blackhole_loop(listeners, max_held):
    sel = selectors.DefaultSelector()
    for ls in listeners:
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, "listen")
    held = []  # accepted connections, oldest first
    while True:
        for key, _ in sel.select(timeout=1.0):
            sock = key.fileobj
            if key.data == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                held.append(conn)
                sel.register(conn, selectors.EVENT_READ, "conn")
                while len(held) > max_held:
                    old = held.pop(0)
                    sel.unregister(old)
                    old.close()
            else:
                try:
                    data = sock.recv(65536)  # read and discard; never answer
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:  # peer went away: forget it
                    sel.unregister(sock)
                    held.remove(sock)
                    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", required=True, help="mirror tree to serve")
    ap.add_argument("--root-json", required=True, help="pinned root for the profile")
    ap.add_argument("--profile-out", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--honest", type=int, default=270)
    ap.add_argument("--blackholes", type=int, default=30)
    ap.add_argument("--honest-addrs", type=int, default=30,
                    help="HTTP servers, on 127.0.0.2, 127.0.0.3, ...")
    ap.add_argument("--max-handlers", type=int, default=256)
    ap.add_argument("--max-held", type=int, default=4096)
    ap.add_argument("--conn-timeout", type=float, default=30.0)
    ap.add_argument("--lifetime", type=float, default=900.0)
    ap.add_argument("--seed", type=int, default=300)
    args = ap.parse_args()

    if args.honest_addrs < 1 or args.honest_addrs > 90 or args.blackholes > 150:
        raise SystemExit("at most 90 honest addresses (127.0.0.2-91) and 150 black holes")

    # Hard stop, whatever happens to the parent.
    threading.Timer(args.lifetime, lambda: os._exit(3)).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    tree = os.path.abspath(args.tree)
    slots = threading.BoundedSemaphore(args.max_handlers)
    handler = make_handler(tree, args.conn_timeout)
    servers = []
    for i in range(args.honest_addrs):
        addr = loopback(f"127.0.0.{2 + i}")
        srv = BoundedServer((addr, 0), handler, slots)
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    listeners = []
    for i in range(args.blackholes):
        addr = loopback(f"127.0.0.{101 + i}")
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, 0))
        ls.listen(512)
        listeners.append(ls)
    if listeners:
        threading.Thread(target=blackhole_loop, args=(listeners, args.max_held),
                         daemon=True).start()

    honest_urls = []
    for n in range(args.honest):
        host, port = servers[n % len(servers)].server_address[:2]
        honest_urls.append(f"http://{host}:{port}/m{n:03d}/")
    dead_urls = []
    for n, ls in enumerate(listeners):
        host, port = ls.getsockname()[:2]
        dead_urls.append(f"http://{host}:{port}/m{args.honest + n:03d}/")

    mirrors = [(u, "ok") for u in honest_urls] + [(u, "dead") for u in dead_urls]
    random.Random(args.seed).shuffle(mirrors)

    root_json = os.path.abspath(args.root_json)
    lines = ['name = "benchfarm"', f"root = {json.dumps(root_json)}", 'channel = "stable"', ""]
    for i, (url, _) in enumerate(mirrors):
        lines += ["[[mirrors]]", f"url = {json.dumps(url)}",
                  f'country = "{COUNTRIES[i % len(COUNTRIES)]}"', ""]
    with open(args.profile_out, "w") as f:
        f.write("\n".join(lines))

    ready = {"honest": honest_urls, "blackholes": dead_urls, "pid": os.getpid()}
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ready, f)
    os.replace(tmp, args.ready_file)

    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
