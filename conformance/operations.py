#!/usr/bin/env python3
"""Operational checks against the built binary: database failover under write load, two
nodes on one database, and SIGTERM during a long request. Standard library only.

Usage: operations.py path/to/rolegate
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PG_BIN = sorted(
    (d for d in (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql"))
     if os.path.exists(os.path.join(d, "initdb"))),
    key=lambda d: int(d.split("/")[-2]),
)[-1]
FAILURES = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        FAILURES.append(message)


def finish(script):
    """Prints the script's verdict and exits with it."""
    print(f"{script}: {'FAILED ' + str(len(FAILURES)) if FAILURES else 'all checks passed'}")
    sys.exit(1 if FAILURES else 0)


def clean_up(root, nodes=(), clusters=()):
    """Stops what a script started, whatever state it is in, and removes its directory."""
    for node in nodes:
        node.stop()
    for cluster in clusters:
        if cluster is None:
            continue
        try:
            cluster.stop()
        except Exception:  # noqa: BLE001 - an already stopped server is fine here
            pass
    shutil.rmtree(root, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres():
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid}


class Cluster:
    """A PostgreSQL cluster the script can stop and start at will."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.run("initdb", "-D", self.dir + "/data", "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
                        "CREATE DATABASE rolegate"], check=True, stdout=subprocess.DEVNULL)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/rolegate"

    def run(self, program, *args):
        subprocess.run([os.path.join(PG_BIN, program), *args], check=True, cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_postgres())

    def start(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w", "start", "-o",
                 f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=")

    def stop(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop")


class Node:
    def __init__(self, binary, root, name, env, args=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(root, f"{name}.log"), "w")
        self.process = subprocess.Popen(
            [binary, "--log-level", "warn", *args, "serve", "--listen", f"127.0.0.1:{self.port}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not start; see {self.log.name}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def call(base, token, method, path, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/scim+json")
    started = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    except OSError as e:
        status, text = 0, str(e)
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return status, parsed, time.time() - started


def create_token(binary, env, with_admin=False):
    out = subprocess.run([binary, "--log-level", "warn", "tenant", "create", "--name", "ops"], env=env,
                         check=True, capture_output=True, text=True).stdout
    token = next(line.split()[-1] for line in out.splitlines() if line.startswith("token:"))
    if not with_admin:
        return token
    tenant = next(line.split()[-1] for line in out.splitlines() if line.startswith("tenant:"))
    out = subprocess.run([binary, "--log-level", "warn", "token", "create", "--tenant", tenant, "--kind", "admin"],
                         env=env, check=True, capture_output=True, text=True).stdout
    admin = next(line.split()[-1] for line in out.splitlines() if line.startswith("token:"))
    return token, admin, tenant


def user(name):
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}


def failover(binary, root):
    print("-- database stopped and restarted under write load", flush=True)
    cluster = Cluster(root)
    env = dict(os.environ, DATABASE_URL=cluster.url)
    token = create_token(binary, env)
    node = Node(binary, root, "failover", env, ["--db-timeout", "2", "--statement-timeout", "5"])
    base = node.base + "/scim/v2"
    results = []
    lock = threading.Lock()
    stop_at = time.time() + 14

    def writer(worker):
        i = 0
        while time.time() < stop_at:
            name = f"w{worker}-{i}@example.com"
            status, body, took = call(base, token, "POST", "/Users", user(name), timeout=30)
            with lock:
                results.append((name, status, body, took))
            i += 1
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(4)
    cluster.stop()
    time.sleep(1)
    ready_status, _, _ = call(node.base, None, "GET", "/readyz", timeout=10)
    check(ready_status == 503, f"/readyz reports the database down ({ready_status})")
    time.sleep(3)
    cluster.start()
    for t in threads:
        t.join()
    created = [r for r in results if r[1] == 201]
    during = [r for r in results if r[1] not in (201,)]
    check(len(created) > 0, f"{len(created)} users created before and after the outage")
    check(all(r[1] in (503,) for r in during),
          f"requests during the outage failed with 503 ({sorted(set(r[1] for r in during))})")
    check(all(isinstance(r[2], dict) and r[2].get("status") == "503" for r in during),
          "failures carry a SCIM error body")
    slowest = max(r[3] for r in results)
    check(slowest < 10, f"no request hung (slowest {slowest:.1f}s)")
    status, _, _ = call(base, token, "POST", "/Users", user("after-restart@example.com"))
    check(status == 201, f"the server serves again without a restart ({status})")
    missing = []
    for name, _, _, _ in created:
        q = urllib.parse.quote(f'userName eq "{name}"')
        s, body, _ = call(base, token, "GET", f"/Users?filter={q}")
        if s != 200 or body.get("totalResults") != 1:
            missing.append(name)
    check(not missing, f"every request answered 201 is stored ({len(missing)} missing)")
    ready_status, _, _ = call(node.base, None, "GET", "/readyz")
    check(ready_status == 200, "/readyz is ready again")
    node.stop()
    return cluster


def two_nodes(binary, root, cluster):
    print("-- two nodes on one database", flush=True)
    env = dict(os.environ, DATABASE_URL=cluster.url)
    token, admin, tenant = create_token(binary, env, with_admin=True)
    a = Node(binary, root, "node-a", env)
    b = Node(binary, root, "node-b", env)
    base_a, base_b = a.base + "/scim/v2", b.base + "/scim/v2"
    status, body, _ = call(base_a, token, "POST", "/Users", user("shared@example.com"))
    uid = body["id"]
    s, got, _ = call(base_b, token, "GET", f"/Users/{uid}")
    check(s == 200 and got["userName"] == "shared@example.com", "a user written on A is read at once on B")
    s, group, _ = call(base_a, token, "POST", "/Groups",
                       {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "g"})
    gid = group["id"]
    call(base_a, token, "PATCH", f"/Groups/{gid}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}]})
    s, got, _ = call(base_b, token, "GET", f"/Groups/{gid}")
    check(s == 200 and [m["value"] for m in got.get("members", [])] == [uid], "a member added on A is seen on B")
    s, got, _ = call(base_b, token, "GET", f"/Users/{uid}")
    check([g["value"] for g in got.get("groups", [])] == [gid], "the user's groups on B include it")
    call(base_b, token, "PATCH", f"/Users/{uid}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "replace", "path": "active", "value": False}]})
    s, got, _ = call(base_a, token, "GET", f"/Users/{uid}")
    check(got.get("active") is False, "a change on B is seen on A")
    # A group mapping made through A's admin API applies to reads on B at once.
    s, envs, _ = call(a.base + "/admin/v1", admin, "GET", "/environments")
    env_id = envs["environments"][0]["id"]
    s, eug, _ = call(a.base + "/admin/v1", admin, "POST", "/end-user-groups", {"environment_id": env_id, "name": "Marketing"})
    call(a.base + "/admin/v1", admin, "POST", "/group-mappings", {"idp_group_id": gid, "end_user_group_id": eug["id"]})
    s, paths, _ = call(b.base + "/admin/v1", admin, "GET", f"/users/{uid}/end-user-groups")
    check(s == 200 and [(p["end_user_group_name"], p["via"]) for p in paths["memberships"]] == [("Marketing", "idp_group")],
          "a group mapping made on A is seen on B")
    # Effective roles: a role granted through A is held at once when read through B, and a
    # SCIM change made through B takes it away at once for reads through A.
    admin_a, admin_b = a.base + "/admin/v1", b.base + "/admin/v1"
    call(base_b, token, "PATCH", f"/Users/{uid}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "replace", "path": "active", "value": True}]})
    s, roles, _ = call(admin_a, admin, "GET", "/roles?scope=application")
    operator = next(r["id"] for r in roles["roles"] if r["system_key"] == "project_operator")
    s, app, _ = call(admin_a, admin, "POST", "/applications", {"environment_id": env_id, "name": "Campaigns"})
    s, _, _ = call(admin_a, admin, "POST", "/assignments", {"principal": {"type": "end_user_group", "id": eug["id"]},
                                                          "role_id": operator, "application_id": app["id"]})
    check(s == 201, f"a role is assigned to the end-user group on A ({s})")

    def app_roles(admin_base):
        s, access, _ = call(admin_base, admin, "GET", f"/users/{uid}/effective-roles")
        return sorted(r["role"]["name"] for e in access["environments"] for a in e["applications"] for r in a["roles"])

    check(app_roles(admin_b) == ["Project operator"], "an effective role granted on A is read at once on B")
    call(base_b, token, "PATCH", f"/Groups/{gid}", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
         "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}]})
    check(app_roles(admin_a) == [], "a membership removed on B revokes the role for reads on A at once")
    call(base_b, token, "POST", "/Users", user("zz-second@example.com"))
    s, page, _ = call(base_a, token, "GET", "/Users?sortBy=userName&count=1&cursor=")
    s, second, _ = call(base_b, token, "GET", f"/Users?sortBy=userName&count=1&cursor={page.get('nextCursor', '')}")
    check(s == 200 and second["Resources"][0]["userName"] == "zz-second@example.com",
          "a cursor issued by A is honoured by B")
    user_bound_tokens(binary, env, tenant, token, admin, a, b)
    a.stop()
    b.stop()


def user_bound_tokens(binary, env, tenant, token, admin, a, b):
    """A token bound to a person stops on both nodes while that person may not act."""
    status, person, _ = call(a.base + "/scim/v2", token, "POST", "/Users", user("delegate@example.com"))
    pid = person["id"]
    out = subprocess.run([binary, "--log-level", "warn", "token", "create", "--tenant", tenant, "--kind", "admin",
                          "--user", "delegate@example.com", "--name", "delegate"],
                         env=env, check=True, capture_output=True, text=True).stdout
    bound = next(line.split()[-1] for line in out.splitlines() if line.startswith("token:"))
    check("kind:  user" in out, "the CLI makes a user-bound admin token")
    listed = subprocess.run([binary, "--log-level", "warn", "token", "list", "--tenant", tenant],
                            env=env, check=True, capture_output=True, text=True).stdout
    check(any("\tuser\t" + pid in line for line in listed.splitlines())
          and any("\towner\t" in line for line in listed.splitlines()),
          "token list shows each token's kind and user")

    def accepted():
        return [call(n.base + "/admin/v1", bound, "GET", f"/users/{pid}/effective-roles")[0] for n in (a, b)]

    def active(node, value):
        call(node.base + "/scim/v2", token, "PATCH", f"/Users/{pid}",
             {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
              "Operations": [{"op": "replace", "path": "active", "value": value}]})

    check(accepted() == [200, 200], f"a user-bound token works on both nodes ({accepted()})")
    active(a, False)
    check(accepted() == [401, 401], f"deactivated on A: refused on both nodes ({accepted()})")
    active(b, True)
    check(accepted() == [200, 200], f"reactivated on B: accepted on both nodes ({accepted()})")
    call(a.base + "/admin/v1", admin, "POST", f"/users/{pid}/archive")
    check(accepted() == [401, 401], f"archived on A: refused on both nodes ({accepted()})")
    call(b.base + "/admin/v1", admin, "POST", f"/users/{pid}/unarchive")
    check(accepted() == [200, 200], f"unarchived on B: accepted on both nodes ({accepted()})")
    call(a.base + "/scim/v2", token, "DELETE", f"/Users/{pid}")
    check(accepted() == [401, 401], f"deleted on A: refused on both nodes ({accepted()})")


def command_line(binary, root, cluster):
    print("-- command line: CSV import, effective-role checks, managed workspaces", flush=True)
    env = dict(os.environ, DATABASE_URL=cluster.url)

    def run(*args, check=True):
        return subprocess.run([binary, "--log-level", "warn", *args], env=env, check=check,
                              capture_output=True, text=True)

    out = run("tenant", "create", "--name", "cli").stdout
    tenant = next(line.split()[-1] for line in out.splitlines() if line.startswith("tenant:"))
    csv_path = os.path.join(root, "users.csv")
    with open(csv_path, "w") as f:
        f.write("email,name,role\nada@example.com,Ada,Member\nbob@example.com,Bob,\nnot-an-email,X,\n")
    preview = json.loads(run("users", "import", "--tenant", tenant, "--file", csv_path, "--dry-run").stdout)
    check(preview.get("dry_run") is True and preview.get("users_gaining") == 0,
          f"a dry-run import previews nobody gaining: invited users wait ({preview.get('users_gaining')})")
    report = json.loads(run("users", "import", "--tenant", tenant, "--file", csv_path).stdout)
    check(report["created"] == 2 and report["failed"] == 1, f"the import reports each row ({report['created']}, {report['failed']})")
    links = [row.get("invitation_url", "") for row in report["rows"] if row["outcome"] == "created"]
    check(len(links) == 2 and all(f"/oidc/{tenant}/invitations/" in link for link in links),
          f"each created row has its invitation link ({links})")
    again = json.loads(run("users", "import", "--tenant", tenant, "--file", csv_path).stdout)
    check(again["created"] == 0 and again["failed"] == 3, "importing the same rows again creates nobody")
    verified = run("effective-roles", "verify", "--tenant", tenant, check=False)
    check(verified.returncode == 0 and "missing: 0; extra: 0" in verified.stdout,
          f"the maintained effective roles match the recomputation ({verified.stdout.strip()})")
    rebuilt = run("effective-roles", "rebuild", "--tenant", tenant).stdout
    check("paths added: 0; paths removed: 0" in rebuilt, f"a rebuild of a correct table changes nothing ({rebuilt.strip()})")
    # Ada accepts behind Rolegate's back (her status set directly): her Member role is not
    # maintained for her, which verify notices and a rebuild repairs.
    subprocess.run(["psql", cluster.url, "-qc",
                    f"UPDATE users SET status = 'active' WHERE tenant_id = '{tenant}' AND user_name = 'ada@example.com'"],
                   check=True, capture_output=True)
    drifted = run("effective-roles", "verify", "--tenant", tenant, check=False)
    check(drifted.returncode == 1 and "missing: 1" in drifted.stdout,
          f"verify reports a user activated behind its back ({drifted.returncode}, {drifted.stdout.strip()})")
    check("paths added: 1" in run("effective-roles", "rebuild", "--tenant", tenant).stdout,
          "rebuild gives her the role")
    # Damage the table behind Rolegate's back: verify notices, rebuild repairs.
    subprocess.run(["psql", cluster.url, "-qc", f"DELETE FROM effective_roles WHERE tenant_id = '{tenant}'"],
                   check=True, capture_output=True)
    damaged = run("effective-roles", "verify", "--tenant", tenant, check=False)
    check(damaged.returncode == 1 and "missing: 1" in damaged.stdout,
          f"verify reports a damaged table ({damaged.returncode}, {damaged.stdout.strip()})")
    repaired = run("effective-roles", "rebuild", "--tenant", tenant).stdout
    check("paths added: 1" in repaired, f"rebuild repairs it ({repaired.strip()})")
    check(run("effective-roles", "verify", "--tenant", tenant, check=False).returncode == 0, "and verify agrees")
    # A managed workspace of that tenant, one level deep.
    out = run("tenant", "create", "--name", "cli-child", "--parent", tenant).stdout
    child = next(line.split()[-1] for line in out.splitlines() if line.startswith("tenant:"))
    listed = {line.split("\t")[0]: line.split("\t") for line in run("tenant", "list").stdout.splitlines()}
    check(listed.get(child, [""] * 4)[3] == tenant, f"the workspace lists its parent ({listed.get(child)})")
    nested = run("tenant", "create", "--name", "nested", "--parent", child, check=False)
    check(nested.returncode != 0 and "one level deep" in nested.stderr,
          f"a workspace has no workspaces ({nested.returncode}, {nested.stderr.strip()})")


def sigterm(binary, root):
    print("-- SIGTERM during a long request, on the embedded cluster", flush=True)
    data = os.path.join(root, "embedded")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    node = Node(binary, root, "sigterm", env, ["--data-dir", data])
    out = open(node.log.name).read()
    token = next((line.split()[-1] for line in out.splitlines() if line.startswith("SCIM token:")), None)
    check(token is not None, "the first start printed a token")
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(f"bulk{i}@example.com")}
                           for i in range(600)]}
    outcome = {}

    def send():
        outcome["result"] = call(node.base + "/scim/v2", token, "POST", "/Bulk", bulk, timeout=120)

    thread = threading.Thread(target=send)
    thread.start()
    time.sleep(0.3)
    node.process.send_signal(signal.SIGTERM)
    thread.join()
    status, body, _ = outcome["result"]
    done = [op for op in (body or {}).get("Operations", []) if op.get("status") == "201"] if isinstance(body, dict) else []
    check(status == 200 and len(done) == 600, f"the in-flight bulk request completed ({status}, {len(done)} created)")
    node.process.wait(timeout=60)
    check(node.process.returncode == 0, f"the server exited cleanly ({node.process.returncode})")
    left = subprocess.run(["pgrep", "-f", data], capture_output=True, text=True).stdout.strip()
    check(left == "", "no postgres process is left behind")


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="rolegate-ops-")
    os.chmod(root, 0o755)
    cluster = None
    try:
        cluster = failover(binary, root)
        two_nodes(binary, root, cluster)
        command_line(binary, root, cluster)
        sigterm(binary, root)
    finally:
        clean_up(root, clusters=[cluster])
    finish("operations")


if __name__ == "__main__":
    main()
