#!/usr/bin/env python3
"""The admin console in a real browser (Debian's chromium through chromedriver, driven with
Selenium) against the built binary: sign-in with an admin token and with the tenant's
OpenID Provider (conformance/oidc), every page walked through its navigation, a change made
after its preview, the Content-Security-Policy shown to hold (an injected inline script does
not run and is reported), and no error in the browser's log. A screenshot of each page is
saved.

Usage: console.py path/to/rolegate [screenshot directory]
  (needs `npm ci` in conformance/oidc, Selenium, chromium and chromium-driver)
"""
import json
import os
import subprocess
import sys
import tempfile
import traceback

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from oidc import SECRET_KEY, Provider, admin
from operations import Cluster, Node, call, check, clean_up, create_token, finish, free_port

# Recorded in every document before its own scripts run: what the policy refused.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def chromium(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--no-first-run", "--window-size=1280,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    return driver


class Walk:
    """One browser: opens pages, screenshots them, and collects what the browser reported."""

    def __init__(self, driver, base, shots, who):
        self.driver = driver
        self.base = base
        self.shots = shots
        self.who = who
        self.problems = []

    def wait_for(self, css, timeout=15):
        return WebDriverWait(self.driver, timeout).until(
            ready.presence_of_element_located((By.CSS_SELECTOR, css)))

    def heading(self):
        return self.driver.find_element(By.CSS_SELECTOR, "h1").text

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def reported(self):
        """Errors and policy violations since the last call."""
        found = [f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser")
                 if e["level"] in ("SEVERE", "WARNING")]
        found += [f"CSP: {v}" for v in self.driver.execute_script("return window.__violations || []")]
        return found

    def page(self, name, expect_heading=None):
        """Checks the page now shown and saves its screenshot."""
        self.wait_for("main#main")
        title = self.heading()
        if expect_heading is not None:
            check(expect_heading in title, f"{self.who}: {name} page shows {expect_heading!r} (got {title!r})")
        problems = self.reported()
        check(not problems, f"{self.who}: {name} page: no error or policy violation in the browser {problems}")
        # The whole page (up to a limit), not only the first screen.
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, max(900, min(int(height) + 100, 2400)))
        self.driver.save_screenshot(os.path.join(self.shots, f"{name}.png"))
        self.driver.set_window_size(1280, 900)
        return title

    def navigate(self, act):
        """Does what loads a new document, and waits until it has replaced the old one."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        act()
        WebDriverWait(self.driver, 30).until(ready.staleness_of(old))
        self.wait_for("main#main")

    def click(self, css):
        self.navigate(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    def type_enter(self, css, text):
        self.navigate(lambda: self.driver.find_element(By.CSS_SELECTOR, css).send_keys(text, Keys.ENTER))

    def nav(self, label):
        self.navigate(lambda: self.driver.find_element(By.LINK_TEXT, label).click())

    def open(self, path):
        self.driver.get(self.base + path)


def seed(a, scim_token, admin_token):
    """A production environment with CRM, an end-user group holding Builder on it, SCIM users
    and an IdP group, a webhook, and Dora as environment admin."""
    _, envs = admin(a, admin_token, "GET", "/environments")
    production = envs["environments"][0]["id"]
    _, roles = admin(a, admin_token, "GET", "/roles")
    role = {r.get("system_key"): r["id"] for r in roles["roles"]}
    _, crm = admin(a, admin_token, "POST", "/applications", {"environment_id": production, "name": "CRM"})
    _, engineers = admin(a, admin_token, "POST", "/end-user-groups",
                         {"environment_id": production, "name": "Engineers"})
    admin(a, admin_token, "POST", "/assignments", {"principal": {"type": "end_user_group", "id": engineers["id"]},
                                                   "role_id": role["builder"], "application_id": crm["id"]})
    users = {}
    for name, given, family in (("ada@example.com", "Ada", "Lovelace"), ("bob@example.com", "Bob", "Marley"),
                                ("dora@example.com", "Dora", "Explorer")):
        status, body, _ = call(a.base, scim_token, "POST", "/scim/v2/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "name": {"givenName": given, "familyName": family}, "displayName": f"{given} {family}",
            "emails": [{"value": name, "primary": True, "type": "work"}]})
        check(status == 201, f"SCIM user {name} created")
        users[name] = body["id"]
    status, sales, _ = call(a.base, scim_token, "POST", "/scim/v2/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales",
        "members": [{"value": users["ada@example.com"]}]})
    check(status == 201, "SCIM group Sales with Ada created")
    status, _ = admin(a, admin_token, "PUT", f"/users/{users['dora@example.com']}/environments/{production}/role",
                      {"role_id": role["environment_manager"]})
    check(status in (200, 201, 204), f"Dora is environment manager of production ({status})")
    return production, crm["id"], engineers["id"], users, sales["id"]


def main():
    binary = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="rolegate-console-")
    os.chmod(root, 0o755)
    shots = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.join(root, "screenshots")
    os.makedirs(shots, exist_ok=True)
    cluster = provider = driver = None
    nodes = []
    try:
        cluster = Cluster(root)
        provider_port = free_port()
        hook_port = free_port()
        env = dict(os.environ, DATABASE_URL=cluster.url, ROLEGATE_SECRET_KEY=SECRET_KEY,
                   ROLEGATE_OUTBOUND_ALLOW=f"127.0.0.1:{provider_port},127.0.0.1:{hook_port}")
        scim_token, admin_token, tenant = create_token(binary, env, with_admin=True)
        a = Node(binary, root, "node", env)
        nodes = [a]
        production, crm, engineers, users, sales = seed(a, scim_token, admin_token)
        # Nothing listens there: its deliveries are retried, which the webhooks page shows.
        status, _ = admin(a, admin_token, "POST", "/webhooks",
                          {"url": f"http://127.0.0.1:{hook_port}/events", "events": ["access.changed"]})
        check(status == 201, f"webhook registered ({status})")

        provider = Provider(root, [f"{a.base}/oidc/{tenant}/corp/callback"], provider_port)
        provider.set_account("dora", {"email": "dora@example.com", "email_verified": True, "name": "Dora Explorer",
                                      "preferred_username": "dora@example.com", "groups": []})
        provider.start()
        status, _ = admin(a, admin_token, "POST", "/oidc-providers", {
            "name": "corp", "issuer": provider.issuer, "client_id": "rolegate",
            "client_secret": "rolegate-conformance-secret", "scopes": ["openid", "email", "profile", "groups"]})
        check(status == 201, "OpenID Provider corp registered")

        driver = chromium(os.path.join(root, "profile-token"))
        walk = Walk(driver, a.base, shots, "token")

        print("-- sign-in with an admin token", flush=True)
        walk.open("/console")
        walk.wait_for("input[name=token]")
        walk.page("sign-in", "Sign in")
        field = driver.find_element(By.CSS_SELECTOR, "input[name=token]")
        check(field.get_attribute("type") == "password", "the token field is a password field")
        walk.type_enter("input[name=token]", "not-a-token")
        walk.wait_for("#sign-in-problem")
        check("not a valid admin token" in walk.text(), "a wrong token is refused with a message")
        walk.reported()
        walk.type_enter("input[name=token]", admin_token)
        walk.wait_for("nav[aria-label=Console]")
        check(driver.current_url.endswith("/console/users"), "signed in, on the users page")
        cookie = driver.get_cookie("rolegate_console")
        check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
              f"the session cookie is HttpOnly and SameSite=Strict {cookie and {k: cookie[k] for k in ('httpOnly', 'sameSite', 'path')}}")
        walk.page("users", "Users")

        print("-- the Content-Security-Policy holds", flush=True)
        ran = driver.execute_script("""
            const s = document.createElement('script');
            s.textContent = 'window.__inline_ran = true';
            document.body.appendChild(s);
            return window.__inline_ran === true;""")
        violations = driver.execute_script("return window.__violations.splice(0)")
        check(not ran and any(v.startswith("script-src") for v in violations),
              f"an injected inline script is refused and reported {violations}")
        driver.get_log("browser")  # the refusal just provoked is logged; nothing else may be

        print("-- keyboard: the first Tab reaches the skip link, which is visible when focused", flush=True)
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        check(focused.text == "Skip to content" and focused.is_displayed(), "skip link first and shown on focus")

        print("-- every page", flush=True)
        walk.type_enter("form[role=search] input[type=search]", "ada")
        walk.wait_for("main#main")
        check("ada@example.com" in walk.text() and "bob@example.com" not in walk.text(),
              "the user search finds Ada only")
        walk.page("users-search", "Users")
        walk.navigate(lambda: driver.find_element(By.LINK_TEXT, "ada@example.com").click())
        walk.page("user", "ada@example.com")
        walk.nav("Environments and groups")
        walk.page("environments", "Environments")
        walk.click(f"a[href='/console/environments/{production}']")
        walk.page("environment")
        walk.click(f"a[href='/console/groups/{engineers}']")
        walk.page("end-user-group", "Engineers")
        check("CRM" in walk.text(), "the group page shows its role on CRM")
        walk.nav("IdP groups")
        walk.page("idp-groups", "IdP groups")
        check("Sales" in walk.text(), "the IdP groups page lists the SCIM group")
        walk.nav("Applications")
        walk.page("applications", "Applications")
        walk.click(f"a[href='/console/applications/{crm}']")
        walk.page("application", "CRM")
        check("Engineers" in walk.text(), "the application page shows the group's project access")
        walk.nav("Roles")
        walk.page("roles", "Roles")
        check(len(driver.find_elements(By.CSS_SELECTOR, "table.matrix")) > 0, "the privilege matrix is shown")
        walk.nav("Connections")
        walk.page("connections", "Connections")
        check(f"{a.base}/scim/v2" in walk.text() and "Microsoft Entra ID" in walk.text() and "Okta" in walk.text(),
              "connections show the SCIM base URL and the Entra ID and Okta steps")
        walk.nav("Audit log")
        walk.page("audit", "Audit")
        walk.nav("Events and webhooks")
        walk.page("events", "Events")
        check("user.created" in walk.text() and "group.created" in walk.text(), "the feed shows the seeding's events")
        walk.click("#webhooks a")
        walk.page("webhook")

        print("-- a change after its preview: map the Sales IdP group into Engineers", flush=True)
        walk.nav("IdP groups")
        walk.wait_for(f"select#into-{sales}")
        Select(driver.find_element(By.CSS_SELECTOR, f"select#into-{sales}")).select_by_visible_text("Engineers")
        walk.click(f"form[action='/console/idp-groups/{sales}/map'] button")
        walk.wait_for("#confirm")
        preview = walk.text()
        check("Gains" in preview and "ada@example.com" in preview and "Builder" in preview,
              "the preview names who gains which role")
        walk.page("preview")
        _, before = admin(a, admin_token, "GET", f"/users/{users['ada@example.com']}/effective-roles")
        check("Builder" not in json.dumps(before), "the preview changed nothing")
        walk.click("#confirm")
        walk.wait_for("main#main")
        check(driver.current_url.endswith(f"/console/groups/{engineers}"), "confirmed, back on the group page")
        walk.page("after-change", "Engineers")
        _, after = admin(a, admin_token, "GET", f"/users/{users['ada@example.com']}/effective-roles")
        check("Builder" in json.dumps(after), "Ada holds Builder on CRM once confirmed")
        walk.open(f"/console/users/{users['ada@example.com']}")
        walk.wait_for("table#memberships")
        shown = walk.text()
        check("Engineers" in shown and "Sales" in shown and "Builder" in shown,
              "Ada's page shows Builder through Engineers, mapped from Sales")
        walk.page("user-after-change", "ada@example.com")

        print("-- sign-out", flush=True)
        walk.click("form[action='/console/sign-out'] button")
        walk.wait_for("input[name=token]")
        walk.open("/console/users")
        walk.wait_for("input[name=token]")
        check("/console/sign-in" in driver.current_url, "after sign-out the console asks to sign in again")
        walk.reported()
        driver.quit()
        driver = None

        print("-- sign-in with the tenant's OpenID Provider, as Dora", flush=True)
        driver = chromium(os.path.join(root, "profile-oidc"))
        walk = Walk(driver, a.base, shots, "oidc")
        walk.open("/console/sign-in")
        walk.wait_for("input[name=tenant]").send_keys(tenant)
        driver.find_element(By.CSS_SELECTOR, "input[name=login_hint]").send_keys("dora")
        walk.type_enter("input[name=login_hint]", "")
        walk.wait_for("a.provider")
        walk.click("a.provider")
        walk.wait_for("nav[aria-label=Console]", timeout=30)
        check("dora@example.com" in driver.find_element(By.CSS_SELECTOR, ".who").text,
              "signed in through the provider as Dora")
        offered = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav[aria-label=Console] a")]
        check("Users" not in offered and "Audit log" not in offered and "IdP groups" in offered,
              f"an environment manager is offered only the sections she may read {offered}")
        walk.page("oidc-first", None)
        for label in offered:
            walk.nav(label)
            walk.page("oidc-" + label.split()[0].lower())
        walk.nav("Connections")
        check(not driver.find_elements(By.CSS_SELECTOR, "form[action='/console/connections/scim-tokens']"),
              "an environment manager is not offered connector tokens")
    except TimeoutException as e:
        check(False, f"the browser waited in vain: {e.msg} at {driver.current_url if driver else '?'}")
        if driver:
            driver.save_screenshot(os.path.join(shots, "timeout.png"))
            print(driver.page_source[:4000])
    except WebDriverException as e:
        check(False, f"the browser failed: {type(e).__name__}: {e.msg} at {driver.current_url if driver else '?'}")
        traceback.print_exc(limit=4)
        if driver:
            driver.save_screenshot(os.path.join(shots, "failure.png"))
    finally:
        if driver:
            driver.quit()
        if provider:
            provider.stop()
        print(f"-- screenshots in {shots}")
        keep = len(sys.argv) > 2
        if keep:
            clean_up(root, nodes, [cluster])
        else:
            for node in nodes:
                node.stop()
            if cluster:
                cluster.stop()
    finish("console")


if __name__ == "__main__":
    main()
