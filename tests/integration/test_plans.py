"""Plans changed through the API and mailwardenctl (DESIGN.md, "Plans"): a change applies to
the next message; a plan in use is not deleted; keys are checked as the file's are; each change
is audited; the file's plans are written to the store at start and on SIGHUP; in a fleet, a
change made through node A applies on node B."""
import os
import signal
import subprocess

import pytest

from conftest import BIN, api, order_tags, status, submit, wait_for

PLANS = """
[[plan]]
name = "basic"
max_per_hour = 10
"""


def ctl(daemon, *args):
    return subprocess.run([str(BIN / "mailwardenctl"), "--url", f"127.0.0.1:{daemon.http_port}",
                           "--token-file", str(daemon.root / "admin.token"), *args],
                          capture_output=True, text=True, timeout=120)


def on_basic(make_daemon, relay, settings=None, name="node"):
    accounts = [{"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com",
                 "plan": "basic"}]
    d = make_daemon(relay=relay, settings=settings, accounts=accounts, name=name)
    d.config.write_text(d.config.read_text() + PLANS)
    return d


def test_a_plan_changed_through_the_api_applies_to_the_next_message(make_daemon, relay):
    d = on_basic(make_daemon, relay).start()
    code, plans = api(d, "GET", "/api/v1/plans")
    assert code == 200, plans
    assert plans["items"] == [{"name": "basic", "limits": {"max_per_hour": 10}}]
    submit(d, "a0")
    submit(d, "a1")
    wait_for(lambda: len(order_tags(relay)) == 2, what="two under the plan's 10 an hour")

    code, plan = api(d, "PUT", "/api/v1/plans/basic", body={"limits": {"max_per_hour": 2}})
    assert code == 200, plan
    assert plan == {"name": "basic", "limits": {"max_per_hour": 2}}
    assert status(d)["limits"]["max_per_hour"] == {"value": 2, "source": "plan"}
    submit(d, "a2")
    wait_for(lambda: status(d)["queued"] == 1, what="the third deferred by the plan's new 2")
    assert sorted(order_tags(relay)) == ["a0", "a1"]

    # Raised again through mailwardenctl: the deferred message goes.
    r = ctl(d, "plan", "set", "basic", "--set-limit", "max_per_hour=5")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "max_per_hour" in r.stdout and "5" in r.stdout, r.stdout
    wait_for(lambda: len(order_tags(relay)) == 3, what="the deferred one under the plan's 5")

    code, audit = api(d, "GET", "/api/v1/audit")
    assert code == 200, audit
    reasons = [(a["actor"], a["action"], a["reason"]) for a in audit["items"]
               if a["reason"].startswith('plan "basic"')]
    assert reasons[:3] == [("admin", "CHANGE", 'plan "basic": max_per_hour=5'),
                           ("admin", "CHANGE", 'plan "basic": max_per_hour=2'),
                           ("config", "CREATE", 'plan "basic": max_per_hour=10')], reasons


def test_plans_are_made_checked_and_deleted_only_when_unused(make_daemon, relay):
    d = on_basic(make_daemon, relay).start()
    code, body = api(d, "PUT", "/api/v1/plans/gold", body={"limits": {"max_per_dya": 5}})
    assert code == 400 and "max_per_dya" in body["message"], body
    code, body = api(d, "PUT", "/api/v1/plans/gold", body={"limits": {"over_limit": "drop"}})
    assert code == 400 and "over_limit" in body["message"], body
    code, body = api(d, "PUT", "/api/v1/plans/gold", body={"limits": {"max_recipients": -1}})
    assert code == 400 and "max_recipients" in body["message"], body
    code, body = api(d, "PUT", "/api/v1/plans/_x", body={"limits": {}})
    assert code == 400, body

    r = ctl(d, "plan", "set", "gold", "--set-limit", "max_recipients=50",
            "--set-limit", "over_limit=refuse")
    assert r.returncode == 0, r.stdout + r.stderr
    code, body = api(d, "GET", "/api/v1/plans/gold")
    assert code == 200 and body["limits"] == {"max_recipients": 50, "over_limit": "refuse"}, body
    r = ctl(d, "plan", "list")
    assert r.returncode == 0 and "gold" in r.stdout and "over_limit=refuse" in r.stdout, r.stdout

    # A customer's token does not reach plans.
    code, token = api(d, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, token
    code, _ = api(d, "GET", "/api/v1/plans", token=token["token"])
    assert code == 403

    code, body = api(d, "PATCH", "/api/v1/accounts/demo", body={"plan": "gold"})
    assert code == 200, body
    assert status(d)["limits"]["max_recipients"] == {"value": 50, "source": "plan"}
    code, body = api(d, "DELETE", "/api/v1/plans/gold")
    assert code == 409 and '"demo"' in body["message"], body
    r = ctl(d, "plan", "delete", "gold")
    assert r.returncode == 75, r.stdout + r.stderr
    code, body = api(d, "PATCH", "/api/v1/accounts/demo", body={"plan": None})
    assert code == 200, body
    r = ctl(d, "plan", "delete", "gold")
    assert r.returncode == 0, r.stdout + r.stderr
    code, _ = api(d, "GET", "/api/v1/plans/gold")
    assert code == 404


def test_the_files_plans_are_written_again_on_sighup(make_daemon, relay):
    d = on_basic(make_daemon, relay).start()
    code, body = api(d, "PUT", "/api/v1/plans/extra", body={"limits": {"max_per_day": 7}})
    assert code == 201, body
    d.config.write_text(d.config.read_text().replace("max_per_hour = 10", "max_per_hour = 4"))
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: api(d, "GET", "/api/v1/plans/basic")[1].get("limits") == {"max_per_hour": 4},
             what="the file's plan after the reload")
    assert status(d)["limits"]["max_per_hour"] == {"value": 4, "source": "plan"}
    # The plan made through the API stays.
    code, body = api(d, "GET", "/api/v1/plans/extra")
    assert code == 200 and body["limits"] == {"max_per_day": 7}, body


@pytest.mark.skipif(not os.environ.get("MW_TEST_PG_URL"),
                    reason="MW_TEST_PG_URL is not set (scripts/pg-cluster)")
def test_a_plan_changed_through_node_a_applies_on_node_b(database, make_daemon, relay):
    # database first: it is dropped after the nodes have stopped.
    settings = lambda name: {"hostname": f"{name}.test", "store": {"url": database}}  # noqa: E731
    a = on_basic(make_daemon, relay, settings("a"), name="a").start()
    b = on_basic(make_daemon, relay, settings("b"), name="b").start()
    assert b.sendmail(["-t", "-i"], two_recipients("b0")).returncode == 0

    code, body = api(a, "PUT", "/api/v1/plans/basic",
                     body={"limits": {"max_per_hour": 10, "max_recipients": 1}})
    assert code == 200, body
    # Node B reads the account's limits again within seconds: its next message is judged by
    # the plan node A changed.
    def refused_on_b():
        r = b.sendmail(["-t", "-i"], two_recipients("b1"))
        return r.returncode == 65 and b"policy.max_recipients" in r.stderr
    wait_for(refused_on_b, timeout=30, what="node B refusing by the plan changed on node A")
    assert status(b)["limits"]["max_recipients"] == {"value": 1, "source": "plan"}


def two_recipients(tag):
    return (f"From: shop@example.com\nTo: a@x.example, b@x.example\nSubject: order {tag}\n\n"
            f"Order {tag}.\n")


@pytest.fixture
def database():
    """A fresh PostgreSQL database of the test cluster (as test_multi_node.py's)."""
    if not os.environ.get("MW_TEST_PG_URL"):
        yield None
        return
    import test_multi_node
    name = test_multi_node.create_database(test_multi_node.PG_URL)
    yield test_multi_node.with_database(test_multi_node.PG_URL, name)
    test_multi_node.psql(test_multi_node.PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

