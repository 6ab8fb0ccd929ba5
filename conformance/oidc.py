#!/usr/bin/env python3
"""OIDC login against a real OpenID Provider (panva/oidc-provider, conformance/oidc/) and the
built binary, two nodes on one database, following the redirects like a browser (cookies
kept, no human): just-in-time users with mapped attributes and groups, roles from a mapped
end-user group in the session token and /api/v1/me, roles lost when the groups claim
changes, linking by verified e-mail only, a login started on one node and finished on the
other, and the provider rotating its signing key mid-run.

Usage: oidc.py path/to/rolegate   (needs `npm ci` in conformance/oidc and PyJWT)
"""
import base64
import http.cookiejar
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt

from operations import Cluster, Node, call, check, clean_up, create_token, finish, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = base64.b64encode(os.urandom(32)).decode()


class Provider:
    """The OpenID Provider process; restart() keeps its key, rotate() makes a new one."""

    def __init__(self, root, redirect_uris, port=None):
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = os.path.join(root, "provider-keys.json")
        self.accounts_file = os.path.join(root, "accounts.json")
        self.log = open(os.path.join(root, "provider.log"), "a")
        self.redirect_uris = redirect_uris
        self.process = None
        self.accounts = {}

    def set_account(self, account_id, claims):
        self.accounts[account_id] = claims
        with open(self.accounts_file, "w") as f:
            json.dump(self.accounts, f)

    def start(self):
        self.process = subprocess.Popen(
            ["node", os.path.join(HERE, "oidc", "provider.mjs"), str(self.port), self.keys, self.accounts_file,
             *self.redirect_uris], stdout=self.log, stderr=subprocess.STDOUT, cwd=os.path.join(HERE, "oidc"))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.issuer + "/.well-known/openid-configuration", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the OpenID Provider did not start; see {self.log.name}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def kid(self):
        with open(self.keys) as f:
            return json.load(f)["keys"][0]["kid"]

    def rotate(self):
        self.stop()
        os.remove(self.keys)
        self.start()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Follows redirects one by one, keeping cookies; can send the provider's final redirect
    to another Rolegate node, as a load balancer might."""

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())

    def open(self, url, finish_on=None, stop_at=None):
        for _ in range(20):
            if stop_at and url.startswith(stop_at):
                return None, "", url
            if finish_on:
                for prefix, replacement in finish_on:
                    if url.startswith(prefix):
                        url = replacement + url[len(prefix):]
            try:
                with self.opener.open(url, timeout=30) as r:
                    return r.status, r.read().decode(), url
            except urllib.error.HTTPError as e:
                if e.code in (301, 302, 303, 307) and e.headers.get("Location"):
                    url = urllib.parse.urljoin(url, e.headers["Location"])
                    continue
                return e.code, e.read().decode(), url
        raise RuntimeError("too many redirects")


def admin(node, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(node.base + "/admin/v1" + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def verify_session(node, tenant, token):
    """Checks the session token offline with the tenant's published keys."""
    with urllib.request.urlopen(f"{node.base}/oidc/{tenant}/.well-known/jwks.json", timeout=10) as r:
        keys = jwt.PyJWKSet.from_dict(json.loads(r.read()))
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["ES256"], audience="rolegate")


def me(node, token):
    request = urllib.request.Request(node.base + "/api/v1/me")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def app_roles(session, application):
    return sorted(r["name"] for a in session["applications"] if a["id"] == application for r in a["roles"])


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="rolegate-oidc-")
    os.chmod(root, 0o755)
    cluster = provider = None
    nodes = []
    try:
        cluster = Cluster(root)
        # The provider listens on loopback: the outbound policy allows exactly that target.
        provider_port = free_port()
        env = dict(os.environ, DATABASE_URL=cluster.url, ROLEGATE_SECRET_KEY=SECRET_KEY,
                   ROLEGATE_OUTBOUND_ALLOW=f"127.0.0.1:{provider_port}")
        scim_token, admin_token, _ = create_token(binary, env, with_admin=True)
        a = Node(binary, root, "node-a", env)
        b = Node(binary, root, "node-b", env)
        nodes = [a, b]
        status, providers = admin(a, admin_token, "GET", "/environments")
        production = providers["environments"][0]["id"]
        tenant = subprocess.run([binary, "--log-level", "warn", "tenant", "list"], env=env, check=True,
                                capture_output=True, text=True).stdout.split()[0]

        provider = Provider(root, [f"{n.base}/oidc/{tenant}/corp/callback" for n in nodes], provider_port)
        provider.set_account("alice", {"email": "alice@example.com", "email_verified": True, "name": "Alice Liddell",
                                       "given_name": "Alice", "family_name": "Liddell",
                                       "preferred_username": "alice@example.com", "groups": ["engineering", "sales"]})
        provider.set_account("bob", {"email": "bob@example.com", "email_verified": False, "name": "Bob",
                                     "groups": []})
        provider.start()
        print(f"-- OpenID Provider at {provider.issuer}", flush=True)

        status, created = admin(a, admin_token, "POST", "/oidc-providers", {
            "name": "corp", "issuer": provider.issuer, "client_id": "rolegate",
            "client_secret": "rolegate-conformance-secret", "scopes": ["openid", "email", "profile", "groups"]})
        check(status == 201 and created.get("has_client_secret") is True, "provider registered (secret not returned)")
        pid = created["id"]
        # The claim value "engineering" is mapped into an end-user group holding Builder on CRM.
        _, roles = admin(a, admin_token, "GET", "/roles")
        builder = next(r["id"] for r in roles["roles"] if r.get("system_key") == "builder")
        _, crm = admin(a, admin_token, "POST", "/applications", {"environment_id": production, "name": "CRM"})
        _, eug = admin(a, admin_token, "POST", "/end-user-groups", {"environment_id": production, "name": "Engineers"})
        admin(a, admin_token, "POST", "/assignments", {"principal": {"type": "end_user_group", "id": eug["id"]},
                                                       "role_id": builder, "application_id": crm["id"]})
        _, groups = admin(a, admin_token, "POST", f"/oidc-providers/{pid}/groups", {"values": ["engineering"]})
        status, _ = admin(a, admin_token, "POST", "/group-mappings",
                          {"idp_group_id": groups["groups"][0]["id"], "end_user_group_id": eug["id"]})
        check(status == 201, "claim group engineering mapped into the Engineers end-user group")

        last_callback = []

        def login(node, account, finish_on=None):
            status, text, url = Browser().open(f"{node.base}/oidc/{tenant}/corp/login?login_hint={account}",
                                               finish_on=finish_on)
            last_callback[:] = [url]
            try:
                return status, json.loads(text)
            except ValueError:
                return status, text

        print("-- first login creates the user", flush=True)
        status, body = login(a, "alice")
        check(status == 200 and body.get("linked_by") == "created", f"alice's first login creates her ({status})")
        token = body["session_token"]
        claims = verify_session(a, tenant, token)
        check(claims["user"]["user_name"] == "alice@example.com", "the session token verifies with the JWKS")
        check(app_roles(claims, crm["id"]) == ["Builder"], "the mapped group's role is in the session token")
        status, live = me(b, token)
        check(status == 200 and app_roles(live, crm["id"]) == ["Builder"], "/api/v1/me (other node) shows it")
        s, user, _ = call(a.base + "/scim/v2", scim_token, "GET", f"/Users/{claims['sub']}")
        check(s == 200 and user["displayName"] == "Alice Liddell" and user["name"]["givenName"] == "Alice"
              and user["emails"][0]["value"] == "alice@example.com", "mapped attributes stored on the user")
        _, listed = admin(a, admin_token, "GET", f"/oidc-providers/{pid}/groups")
        check(sorted(g["value"] for g in listed["groups"]) == ["engineering", "sales"], "groups from the claim recorded")

        status, text, _ = Browser().open(last_callback[0])
        check(status == 403 and json.loads(text).get("error") == "login_not_bound",
              "replaying the provider's redirect (same state and code) in another browser is refused")

        print("-- a code without its PKCE verifier is refused", flush=True)
        _, _, callback = Browser().open(f"{a.base}/oidc/{tenant}/corp/login?login_hint=alice",
                                        stop_at=f"{a.base}/oidc/{tenant}/corp/callback")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)["code"][0]
        form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": f"{a.base}/oidc/{tenant}/corp/callback"}).encode()
        request = urllib.request.Request(provider.issuer + "/token", data=form, method="POST")
        request.add_header("Authorization", "Basic " + base64.b64encode(b"rolegate:rolegate-conformance-secret").decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                status, answer = r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            status, answer = e.code, json.loads(e.read() or b"null")
        check(status == 400 and answer.get("error") == "invalid_grant",
              f"the provider refuses an intercepted code redeemed without the verifier ({status} {answer})")

        print("-- groups change at the provider", flush=True)
        provider.accounts["alice"]["groups"] = ["sales"]
        provider.set_account("alice", provider.accounts["alice"])
        status, body = login(b, "alice")
        check(status == 200 and body.get("linked_by") == "subject", "second login (node B) finds alice by subject")
        check(app_roles(verify_session(b, tenant, body["session_token"]), crm["id"]) == [],
              "the lost group's role is gone from the new token")
        check(app_roles(me(a, token)[1], crm["id"]) == [], "and from /api/v1/me, even for the earlier token")

        print("-- linking a SCIM-provisioned user", flush=True)
        s, scim_bob, _ = call(a.base + "/scim/v2", scim_token, "POST", "/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob@example.com",
            "emails": [{"value": "bob@example.com", "type": "work", "primary": True}]})
        status, body = login(a, "bob")
        check(status == 200 and body.get("linked_by") == "created"
              and body["session"]["user"]["id"] != scim_bob["id"]
              and body["session"]["user"]["user_name"] == "corp:bob@example.com",
              f"an unverified e-mail links nothing: the login gets its own namespaced user ({status} {body})")
        provider.set_account("bob-verified", {"email": "bob@example.com", "email_verified": True, "name": "Bob"})
        status, body = login(a, "bob-verified")
        check(status == 200 and body.get("linked_by") == "verified_email"
              and body["session"]["user"]["id"] == scim_bob["id"], "a verified e-mail links to the SCIM user")

        print("-- a login started on node A finishes on node B", flush=True)
        status, body = login(a, "alice", finish_on=[(f"{a.base}/oidc/", f"{b.base}/oidc/")])
        check(status == 200 and body.get("linked_by") == "subject", f"the callback on B completes A's login ({status})")

        print("-- the provider rotates its signing key", flush=True)
        old_kid = provider.kid()
        provider.rotate()
        check(provider.kid() != old_kid, "the provider signs with a new key")
        for node in nodes:
            status, body = login(node, "alice")
            check(status == 200, f"login through {node.base} still works without a restart ({status})")
    finally:
        if provider:
            provider.stop()
        clean_up(root, nodes, [cluster])
    finish("oidc")


if __name__ == "__main__":
    main()
