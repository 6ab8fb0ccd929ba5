#!/usr/bin/env python3
"""Failover on replicated PostgreSQL, against the built binary: a primary with a synchronous
streaming standby (`pg_basebackup -R`), two Rolegate nodes given both hosts in one libpq
multi-host URL (`target_session_attrs=read-write`). Under a bounded stream of SCIM writes
and admin changes the primary is stopped with `-m immediate`, the standby promoted and its
`synchronous_standby_names` cleared, as an HA manager would. Every acknowledged write must
be there afterwards, every failed request a fast 503 with a body, and both nodes must write
again without a restart. Standard library only.

Usage: failover.py path/to/rolegate
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import operations as ops  # noqa: E402

DB_TIMEOUT = 2
STATEMENT_TIMEOUT = 5
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class Server:
    """One PostgreSQL server of the pair."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = ops.free_port()

    def run(self, program, *args):
        subprocess.run([os.path.join(ops.PG_BIN, program), *args], check=True, cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **ops.as_postgres())

    def start(self):
        self.run("pg_ctl", "-D", self.data, "-l", self.dir + "/log", "-w", "start", "-o",
                 f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def sql(self, statement, database="postgres"):
        return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                               "-qAtc", statement], check=True, capture_output=True, text=True).stdout.strip()


def replicated_pair(root):
    primary, standby = Server(root, "primary"), Server(root, "standby")
    primary.run("initdb", "-D", primary.data, "-A", "trust", "-U", "postgres", "--no-sync")
    primary.start()
    primary.sql("CREATE DATABASE rolegate")
    # Set before the copy, as on a real primary: the standby inherits it, and keeps it
    # after its promotion until the HA manager clears it.
    primary.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.sql("SELECT pg_reload_conf()")
    primary.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-D", standby.data, "-R", "-X", "stream", "--no-sync")
    standby.start()
    deadline = time.time() + 30
    while primary.sql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1":
        if time.time() > deadline:
            raise RuntimeError("the standby did not become synchronous")
        time.sleep(0.1)
    return primary, standby


def node_args():
    return ["--db-timeout", str(DB_TIMEOUT), "--statement-timeout", str(STATEMENT_TIMEOUT)]


class Load:
    """SCIM writers (a user, then that user added to a mapped IdP group) and an admin writer
    (end-user groups), spread over both nodes. Records every answer with its times."""

    def __init__(self, nodes, token, admin, group_id, environment_id):
        self.nodes, self.token, self.admin = nodes, token, admin
        self.group_id, self.environment_id = group_id, environment_id
        self.results = []  # (kind, key, node index, status, body, started, finished)
        self.lock = threading.Lock()
        self.stop_at = None

    def record(self, *entry):
        with self.lock:
            self.results.append(entry)

    def scim_writer(self, worker):
        i = 0
        while time.time() < self.stop_at:
            n = (worker + i) % len(self.nodes)
            base = self.nodes[n].base + "/scim/v2"
            name = f"f{worker}-{i}@example.com"
            started = time.time()
            status, body, _ = ops.call(base, self.token, "POST", "/Users", ops.user(name), timeout=60)
            self.record("user", name, n, status, body, started, time.time())
            if status == 201:
                uid = body["id"]
                started = time.time()
                status, body, _ = ops.call(base, self.token, "PATCH", f"/Groups/{self.group_id}",
                                           {"schemas": [PATCH], "Operations": [
                                               {"op": "add", "path": "members", "value": [{"value": uid}]}]},
                                           timeout=60)
                self.record("member", uid, n, status, body, started, time.time())
            i += 1
            time.sleep(0.02)

    def admin_writer(self):
        i = 0
        while time.time() < self.stop_at:
            n = i % len(self.nodes)
            name = f"Team {i}"
            started = time.time()
            status, body, _ = ops.call(self.nodes[n].base + "/admin/v1", self.admin, "POST", "/end-user-groups",
                                       {"environment_id": self.environment_id, "name": name}, timeout=60)
            self.record("end_user_group", name, n, status, body, started, time.time())
            i += 1
            time.sleep(0.05)

    def run(self, seconds, during):
        self.stop_at = time.time() + seconds
        threads = [threading.Thread(target=self.scim_writer, args=(w,)) for w in range(3)]
        threads.append(threading.Thread(target=self.admin_writer))
        for t in threads:
            t.start()
        during()
        for t in threads:
            t.join()


def setup_access(node, token, admin):
    """An IdP group mapped into an end-user group that holds an application role."""
    admin_base = node.base + "/admin/v1"
    _, envs, _ = ops.call(admin_base, admin, "GET", "/environments")
    environment_id = envs["environments"][0]["id"]
    _, group, _ = ops.call(node.base + "/scim/v2", token, "POST", "/Groups", {"schemas": [GROUP], "displayName": "staff"})
    _, eug, _ = ops.call(admin_base, admin, "POST", "/end-user-groups", {"environment_id": environment_id, "name": "Staff"})
    ops.call(admin_base, admin, "POST", "/group-mappings", {"idp_group_id": group["id"], "end_user_group_id": eug["id"]})
    _, roles, _ = ops.call(admin_base, admin, "GET", "/roles?scope=application")
    operator = next(r["id"] for r in roles["roles"] if r["system_key"] == "project_operator")
    _, app, _ = ops.call(admin_base, admin, "POST", "/applications", {"environment_id": environment_id, "name": "Ledger"})
    status, _, _ = ops.call(admin_base, admin, "POST", "/assignments",
                            {"principal": {"type": "end_user_group", "id": eug["id"]},
                             "role_id": operator, "application_id": app["id"]})
    ops.check(status == 201, f"an IdP group is mapped into an end-user group holding a role ({status})")
    return group["id"], environment_id


def read_only_node(binary, root, standby, token, user_id):
    print("-- a node whose only host is a standby", flush=True)
    env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:{standby.port}/rolegate")
    node = ops.Node(binary, root, "on-standby", env, node_args())
    try:
        status, body, _ = ops.call(node.base, None, "GET", "/readyz")
        ops.check(status == 503 and body == {"status": "database read-only"},
                  f"/readyz says the database is read-only ({status} {body})")
        status, body, took = ops.call(node.base + "/scim/v2", token, "POST", "/Users", ops.user("nope@example.com"))
        ops.check(status == 503 and isinstance(body, dict) and body.get("status") == "503",
                  f"a write answers 503 with a SCIM error body ({status}, {took:.2f}s)")
        status, body, _ = ops.call(node.base + "/scim/v2", token, "GET", f"/Users/{user_id}")
        ops.check(status == 200, f"reads are still served from the standby ({status})")
    finally:
        node.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="rolegate-failover-")
    os.chmod(root, 0o755)
    servers, nodes = [], []
    try:
        primary, standby = replicated_pair(root)
        servers = [primary, standby]
        url = (f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/rolegate"
               "?target_session_attrs=read-write")
        env = dict(os.environ, DATABASE_URL=url)
        token, admin, tenant = ops.create_token(binary, env, with_admin=True)
        nodes = [ops.Node(binary, root, f"node-{i}", env, node_args()) for i in range(2)]
        group_id, environment_id = setup_access(nodes[0], token, admin)
        status, first, _ = ops.call(nodes[0].base + "/scim/v2", token, "POST", "/Users", ops.user("before@example.com"))

        print("-- the primary is killed under load; the standby is promoted", flush=True)
        load = Load(nodes, token, admin, group_id, environment_id)
        switch = {}

        def fail_over():
            time.sleep(4)
            switch["killed"] = time.time()
            primary.stop("immediate")
            time.sleep(1)
            switch["ready_during"] = [ops.call(n.base, None, "GET", "/readyz", timeout=10)[0] for n in nodes]
            standby.run("pg_ctl", "-D", standby.data, "-w", "promote")
            standby.sql("ALTER SYSTEM RESET synchronous_standby_names")
            standby.sql("SELECT pg_reload_conf()")
            switch["promoted"] = time.time()

        load.run(14, fail_over)
        results = load.results
        killed, promoted = switch["killed"], switch["promoted"]
        ops.check(all(s == 503 for s in switch["ready_during"]),
                  f"/readyz reports the switch on both nodes ({switch['ready_during']})")
        ok = [r for r in results if r[3] in (200, 201, 204)]
        failed = [r for r in results if r[3] not in (200, 201, 204)]
        print(f"   {len(results)} requests: {len(ok)} acknowledged, {len(failed)} failed; "
              f"kill to promotion {promoted - killed:.2f}s", flush=True)
        ops.check(len([r for r in ok if r[5] < killed]) > 20, "writes were acknowledged before the kill")
        ops.check(all(r[3] == 503 for r in failed),
                  f"requests during the switch failed with 503 ({sorted(set(r[3] for r in failed))})")
        ops.check(all(isinstance(r[4], dict) and (r[4].get("status") in ("503", 503)) for r in failed),
                  "each failure carries an error body")
        slowest = max(r[6] - r[5] for r in results)
        ops.check(slowest < DB_TIMEOUT + STATEMENT_TIMEOUT,
                  f"no request hung past the timeouts (slowest {slowest:.2f}s, limit {DB_TIMEOUT + STATEMENT_TIMEOUT}s)")
        for n in range(len(nodes)):
            after = sorted(r[6] for r in ok if r[2] == n and r[6] > promoted)
            ops.check(bool(after), f"node {n} writes again without a restart")
            if after:
                print(f"   node {n}: first acknowledged write {after[0] - promoted:.2f}s after the promotion "
                      f"({after[0] - killed:.2f}s after the kill)", flush=True)

        print("-- every acknowledged write is on the new primary", flush=True)
        scim = nodes[1].base + "/scim/v2"
        admin_base = nodes[0].base + "/admin/v1"
        users = {r[4]["id"]: r[1] for r in ok if r[0] == "user"}
        missing_users = [u for u in users if ops.call(scim, token, "GET", f"/Users/{u}")[0] != 200]
        ops.check(not missing_users, f"{len(users)} acknowledged users present ({len(missing_users)} missing)")
        members = [r[1] for r in ok if r[0] == "member"]
        missing_members, missing_roles = [], []
        for uid in members:
            _, got, _ = ops.call(scim, token, "GET", f"/Users/{uid}")
            if group_id not in [g["value"] for g in got.get("groups", [])]:
                missing_members.append(uid)
            _, access, _ = ops.call(admin_base, admin, "GET", f"/users/{uid}/effective-roles")
            held = [r["role"]["name"] for e in access.get("environments", []) for a in e["applications"] for r in a["roles"]]
            if "Project operator" not in held:
                missing_roles.append(uid)
        ops.check(not missing_members, f"{len(members)} acknowledged memberships present ({len(missing_members)} missing)")
        ops.check(not missing_roles, f"their effective roles present ({len(missing_roles)} missing)")
        teams = [r[4]["id"] for r in ok if r[0] == "end_user_group"]
        _, listed, _ = ops.call(admin_base, admin, "GET", f"/end-user-groups?environment_id={environment_id}")
        present = {g["id"] for g in (listed or {}).get("end_user_groups", [])} if isinstance(listed, dict) else set()
        missing_teams = [t for t in teams if t not in present]
        ops.check(not missing_teams, f"{len(teams)} acknowledged admin changes present ({len(missing_teams)} missing)")
        audited = set(standby.sql(
            f"SELECT resource_id FROM audit_log WHERE tenant_id = '{tenant}' "
            "AND operation = 'create' AND resource_type IN ('User', 'EndUserGroup')", "rolegate").split())
        unaudited = [i for i in list(users) + teams if i not in audited]
        ops.check(not unaudited, f"each has its audit entry ({len(unaudited)} missing)")
        ready_after = [ops.call(n.base, None, "GET", "/readyz")[0] for n in nodes]
        ops.check(ready_after == [200, 200], f"/readyz is ready again on both nodes ({ready_after})")
    finally:
        ops.clean_up(root, nodes, servers)
    ops.finish("failover")


if __name__ == "__main__":
    main()
