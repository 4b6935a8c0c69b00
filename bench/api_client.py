#!/usr/bin/env python3
"""The client side of bench/api-latency.sh (standard library only).

    api_client.py BASE_URL CA_FILE ADMIN_NAME ADMIN_PASSWORD ADMIN_SECRET CORPUS SYSLOG_PORT RATE ITERATIONS ATTACKERS

Signs in as the first administrator (TOTP computed from its secret), creates an analyst with a
security_admin binding in tenant `default`, signs in as the analyst and makes an API token; sends
ten failed SSH logins from each of ATTACKERS addresses, so that the shipped brute-force rule raises
an alert per address, and waits for them; then,
while a thread sends the corpus's syslog lines to SYSLOG_PORT at RATE lines per second, measures
ITERATIONS calls of each kind over one kept-alive TLS connection and prints p50 and p99.
"""

import base64
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse


def totp(secret_b32, at=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 15
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


class Client:
    def __init__(self, base, ca):
        parsed = urllib.parse.urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.context = ssl.create_default_context(cafile=ca)
        self.connection = None
        self.headers = {}

    def request(self, method, path, body=None):
        if self.connection is None:
            self.connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=60)
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = None
            raise
        payload = response.read()
        cookie = response.getheader("set-cookie")
        if response.status >= 400:
            raise RuntimeError("%s %s: %d %s" % (method, path, response.status, payload[:300]))
        return (json.loads(payload) if payload else None), cookie


def sign_in(base, ca, name, password, secret):
    client = Client(base, ca)
    session, cookie = client.request("POST", "/api/v1/login", {"name": name, "password": password, "code": totp(secret)})
    client.headers = {"cookie": cookie.split(";")[0], "x-csrf-token": session["csrf"]}
    return client, session


def sender(lines, port, rate, stop, sent):
    sock = socket.create_connection(("127.0.0.1", port))
    interval = 1.0 / rate
    index = 0
    next_at = time.monotonic()
    while not stop.is_set():
        sock.sendall(lines[index % len(lines)])
        index += 1
        sent[0] = index
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sock.close()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    base, ca, admin, password, secret, corpus, port, rate, iterations, attackers = sys.argv[1:11]
    port, rate, iterations, attackers = int(port), float(rate), int(iterations), int(attackers)
    root, _ = sign_in(base, ca, admin, password, secret)
    created, _ = root.request("POST", "/api/v1/system/accounts",
                              {"name": "analyst", "password": "analyst passphrase 2026", "roles": []})
    analyst_secret = urllib.parse.parse_qs(urllib.parse.urlparse(created["otpauth_uri"]).query)["secret"][0]
    binding, _ = root.request("POST", "/api/v1/system/bindings",
                              {"account_id": created["account"]["id"], "scope": "default", "role": "security_admin"})
    analyst, _ = sign_in(base, ca, "analyst", "analyst passphrase 2026", analyst_secret)
    token, _ = analyst.request("POST", "/api/v1/me/tokens", {"binding_id": binding["id"], "name": "bench"})
    api = Client(base, ca)
    api.headers = {"authorization": "Bearer " + token["token"]}

    # Brute force from ATTACKERS addresses: an alert each.
    stamp = time.strftime("%b %d %H:%M:%S", time.gmtime())
    burst = socket.create_connection(("127.0.0.1", port))
    for a in range(attackers):
        address = "10.%d.%d.%d" % (a // 65536 % 256, a // 256 % 256, a % 256)
        for n in range(10):
            burst.sendall(("<38>%s bastion sshd[%d]: Failed password for root from %s port %d ssh2\n"
                           % (stamp, 1000 + a, address, 40000 + n)).encode())
    burst.close()
    deadline = time.monotonic() + 300
    raised = 0
    while time.monotonic() < deadline:
        page, _ = api.request("GET", "/api/v1/tenants/default/alerts?limit=1000")
        raised = len(page["items"])
        if raised >= min(attackers, 1000):
            break
        time.sleep(1)
    print("alerts raised before measuring: %d (of %d attackers)" % (raised, attackers))

    with open(corpus, "rb") as f:
        lines = [line if line.endswith(b"\n") else line + b"\n" for line in f if line.strip()]
    stop, sent = threading.Event(), [0]
    thread = threading.Thread(target=sender, args=(lines, port, rate, stop, sent), daemon=True)
    thread.start()
    time.sleep(3)  # ingest under way before measuring

    kinds = [
        ("alerts (newest 100)", lambda i: "/api/v1/tenants/default/alerts?limit=100"),
        ("alerts (state new, next page)", lambda i: "/api/v1/tenants/default/alerts?state=new&limit=100&before=%d"
         % (10 ** 9 if i % 2 == 0 else 200)),
        ("event search, field term (newest 100)", lambda i: "/api/v1/tenants/default/events?q=%s&limit=100"
         % urllib.parse.quote(["parser:sshd", "parser:nginx-access", "log_kind:security_event", "class:authentication"][i % 4])),
        ("event search, full text (newest 100)", lambda i: "/api/v1/tenants/default/events?q=%s&limit=100"
         % urllib.parse.quote(["failed", "denied", "admin", "error"][i % 4])),
        ("event count by source address, 24 h", lambda i: "/api/v1/tenants/default/events/aggregate?from=now-24h&count_by=src_endpoint.ip&top=10"),
    ]
    started_sent = sent[0]
    started = time.monotonic()
    results = []
    for name, path in kinds:
        timings = []
        last = None
        for i in range(iterations):
            t0 = time.perf_counter()
            last, _ = api.request("GET", path(i))
            timings.append((time.perf_counter() - t0) * 1000)
        size = len(last.get("items", last.get("events", last.get("results", [])))) if isinstance(last, dict) else 0
        results.append((name, percentile(timings, 50), percentile(timings, 99), size, last))
    elapsed = time.monotonic() - started
    stop.set()
    thread.join()
    alerts = api.request("GET", "/api/v1/tenants/default/alerts?limit=1000")[0]["items"]
    for name, p50, p99, size, last in results:
        extra = (" (total %d)" % last["total"]) if isinstance(last, dict) and "total" in last else ""
        print("%-40s p50 %8.2f ms   p99 %8.2f ms   (%d items%s)" % (name, p50, p99, size, extra))
    print("ingest during the measurement: %d lines in %.1f s (%.0f lines/s); %d alerts listed (at most 1000)"
          % (sent[0] - started_sent, elapsed, (sent[0] - started_sent) / max(elapsed, 0.001), len(alerts)))


if __name__ == "__main__":
    main()
