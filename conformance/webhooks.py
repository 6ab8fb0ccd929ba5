#!/usr/bin/env python3
"""Webhook delivery against the built binary: a real HTTP receiver on loopback that refuses
the first deliveries, is down for a while, then accepts; two Rolegate nodes on one database,
one of them killed mid-run. Every event of the feed must arrive (once, after dropping
duplicates by `txn`), in order per subject, each SET verifying against the tenant's JWKS.

Usage: webhooks.py path/to/rolegate   (needs PyJWT with cryptography)
"""
import base64
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import operations as ops  # noqa: E402

TYPES = ["user.created", "user.updated", "user.deactivated", "group.created",
         "membership.changed", "session.revoked"]
PUBLIC_URL = "http://rolegate.test"


class Receiver:
    """Answers 503 to the first `refuse` requests, is down while `down` is set, else 202."""

    def __init__(self, port, refuse):
        self.port = port
        self.refuse = refuse
        self.lock = threading.Lock()
        self.requests = []  # (content type, token, status)
        self.server = None
        self.start()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                with receiver.lock:
                    status = 503 if receiver.refuse > 0 else 202
                    receiver.refuse = max(0, receiver.refuse - 1)
                    receiver.requests.append((self.headers.get("Content-Type"), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self):
        with self.lock:
            return [token for _, token, status in self.requests if status == 202]


def admin_call(node, admin, method, path, body=None):
    return ops.call(node.base + "/admin/v1", admin, method, path, body)


def feed_ids(node, admin):
    ids, cursor = [], None
    while True:
        query = f"/events?limit=1000&types={','.join(TYPES)}" + (f"&after={cursor}" if cursor else "")
        status, page, _ = admin_call(node, admin, "GET", query)
        if status != 200 or not page["events"]:
            return ids
        ids += [(e["id"], e["subject"]) for e in page["events"]]
        cursor = page["next_cursor"]


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="rolegate-hooks-")
    os.chmod(root, 0o755)
    cluster = None
    nodes = []
    try:
        cluster = ops.Cluster(root)
        receiver_port = ops.free_port()
        env = dict(os.environ, DATABASE_URL=cluster.url,
                   ROLEGATE_OUTBOUND_ALLOW=f"127.0.0.1:{receiver_port}",
                   ROLEGATE_WEBHOOK_RETRY_BASE_MS="200",
                   ROLEGATE_PUBLIC_URL=PUBLIC_URL,
                   ROLEGATE_SECRET_KEY=base64.b64encode(os.urandom(32)).decode())
        token, admin, tenant = ops.create_token(binary, env, with_admin=True)
        a = ops.Node(binary, root, "hooks-a", env)
        b = ops.Node(binary, root, "hooks-b", env)
        nodes = [a, b]
        receiver = Receiver(receiver_port, refuse=5)
        url = f"http://127.0.0.1:{receiver_port}/hook"
        status, hook, _ = admin_call(a, admin, "POST", "/webhooks", {"url": url, "events": TYPES})
        ops.check(status == 201, f"webhook created ({status})")

        print("-- writes through both nodes; the receiver refuses, goes down, comes back; the delivering node is killed",
              flush=True)
        survivor, killed_at = b, time.time()
        group_status, group, _ = ops.call(b.base + "/scim/v2", token, "POST", "/Groups",
                                          {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                           "displayName": "hooked"})
        ops.check(group_status == 201, "a group is created")
        written = 0
        for i in range(60):
            live = [n for n in nodes if n.process.poll() is None]
            node = live[i % len(live)]
            base = node.base + "/scim/v2"
            s, u, _ = ops.call(base, token, "POST", "/Users", ops.user(f"hook{i}@example.com"))
            if s != 201:
                continue
            written += 1
            ops.call(base, token, "PATCH", f"/Groups/{group['id']}",
                     {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "add", "path": "members", "value": [{"value": u["id"]}]}]})
            if i % 3 == 0:
                ops.call(base, token, "PATCH", f"/Users/{u['id']}",
                         {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [{"op": "replace", "path": "active", "value": False}]})
            if i == 15:
                receiver.stop()
            if i == 30:
                receiver.start()
            if i == 40:
                # Kill whichever node is delivering (its process id leads its node name).
                _, recent, _ = admin_call(b, admin, "GET", f"/webhooks/{hook['id']}/deliveries?limit=1")
                pid = int(recent["deliveries"][0]["node"].split("-")[0]) if recent["deliveries"] else 0
                victim = next((n for n in nodes if n.process.pid == pid), a)
                survivor = b if victim is a else a
                killed_at = time.time()
                victim.process.kill()
                victim.process.wait(timeout=30)
                print(f"   killed node {'A' if victim is a else 'B'}, which was delivering", flush=True)
            time.sleep(0.1)
        ops.check(written == 60, f"every user was created through a live node ({written})")

        expected = feed_ids(survivor, admin)
        deadline = time.time() + 120
        while time.time() < deadline:
            got = {jwt.decode(t, options={"verify_signature": False})["txn"] for t in receiver.accepted()}
            if {i for i, _ in expected} <= got:
                break
            time.sleep(0.5)
        done_at = time.time()
        started_waiting = done_at - deadline + 120
        print(f"   all events delivered {started_waiting:.1f} s after the last write", flush=True)

        status, keys, _ = ops.call(f"http://127.0.0.1:{survivor.port}", None, "GET",
                                   f"/oidc/{tenant}/.well-known/jwks.json")
        ops.check(status == 200 and keys["keys"], "the tenant's JWKS is published")
        keys = {k["kid"]: jwt.PyJWK(k) for k in keys["keys"]}
        verified, bad, content_types = [], 0, set()
        with receiver.lock:
            requests = list(receiver.requests)
        for content_type, token_text, status in requests:
            content_types.add(content_type)
            header = jwt.get_unverified_header(token_text)
            try:
                claims = jwt.decode(token_text, keys[header["kid"]], algorithms=["ES256"], audience=url,
                                    issuer=f"{PUBLIC_URL}/oidc/{tenant}")
            except Exception as e:  # noqa: BLE001 - any failure is a failed check
                print(f"     unverifiable SET: {e}")
                bad += 1
                continue
            if header.get("typ") != "secevent+jwt":
                bad += 1
            if status == 202:
                verified.append(claims)
        ops.check(bad == 0, f"every SET verifies against the tenant's JWKS ({len(requests)} requests, {bad} bad)")
        ops.check(content_types == {"application/secevent+jwt"}, f"content type {content_types}")
        ops.check(sum(1 for r in requests if r[2] == 503) == 5, "the first five deliveries were refused")

        first_seen = []
        for claims in verified:
            if claims["txn"] not in first_seen:
                first_seen.append(claims["txn"])
        duplicates = len(verified) - len(first_seen)
        wanted = [i for i, _ in expected]
        ops.check(sorted(first_seen, key=int) == sorted(wanted, key=int),
                  f"every event arrived exactly once after dropping duplicates by txn "
                  f"({len(wanted)} events, {len(first_seen)} distinct, {duplicates} duplicates)")
        subject_of = {i: json.dumps(s, sort_keys=True) for i, s in expected}
        per_subject = {}
        for txn in first_seen:
            per_subject.setdefault(subject_of.get(txn), []).append(int(txn))
        ops.check(all(seq == sorted(seq) for seq in per_subject.values()),
                  f"in order per subject ({len(per_subject)} subjects)")
        ops.check(first_seen == sorted(first_seen, key=int), "in feed order overall")

        status, deliveries, _ = admin_call(survivor, admin, "GET", f"/webhooks/{hook['id']}/deliveries?limit=1000")
        outcomes = {d["outcome"] for d in deliveries["deliveries"]} if status == 200 else set()
        ops.check({"retrying", "delivered"} <= outcomes, f"the deliveries record retries and successes {outcomes}")
        took_over = [d for d in deliveries.get("deliveries", [])
                     if int(d["node"].split("-")[0]) == survivor.process.pid]
        ops.check(bool(took_over), "the surviving node carried on delivering")
        print(f"   the survivor made {len(took_over)} of {len(deliveries.get('deliveries', []))} attempts; "
              f"all delivered {done_at - killed_at:.1f} s after the kill (a dead node's lease runs out "
              f"within 30 s)", flush=True)
    finally:
        ops.clean_up(root, nodes, [cluster])
    ops.finish("webhooks")


if __name__ == "__main__":
    main()
