"""The operator's overview of accounts (GET /api/v1/accounts, mailwardenctl accounts list):
paged on the server, ordered by name or by today's figures, filtered by state, blocker and part
of the name. On SQLite, and on PostgreSQL when MW_TEST_PG_URL names a throw-away cluster."""
import os
import subprocess
import urllib.parse

import pytest

from conftest import BIN, OTHER_UID, api, demo_and_other, request, submit, wait_for
from test_provisioning import store_settings  # noqa: F401  (the fixture: both engines)


def ctl(daemon, *args):
    return subprocess.run([str(BIN / "mailwardenctl"), "--url", f"127.0.0.1:{daemon.http_port}",
                           "--token-file", str(daemon.root / "admin.token"), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def daemon(make_daemon, relay, store_settings):  # noqa: F811
    d = make_daemon(relay=relay, settings=store_settings, accounts=demo_and_other()).start()
    # 1,200 more accounts: more than one page of the largest size.
    rows = "\n".join(f"shop{i:04d},,owner{i}@example.com" for i in range(1200))
    f = d.root / "accounts.csv"
    f.write_text("name,uids,report_to\n" + rows + "\n")
    r = ctl(d, "accounts", "import", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def pages(daemon, query):
    """Every page of a listing, following "next" as a client does; the pages' sizes too."""
    names, sizes, cursor = [], [], None
    for _ in range(100):
        q = dict(query, **({"cursor": cursor} if cursor else {}))
        code, body = api(daemon, "GET", "/api/v1/accounts?" + urllib.parse.urlencode(q))
        assert code == 200, body
        names += [a["name"] for a in body["items"]]
        sizes.append(len(body["items"]))
        cursor = body["next"]
        if cursor is None:
            return names, sizes
    pytest.fail("the pages never end")


def sent_today(daemon):
    """The accounts that sent today, most first, with their counts."""
    code, body = api(daemon, "GET", "/api/v1/accounts?sort=sent_today")
    assert code == 200, body
    return [(a["name"], a["sent_today"]) for a in body["items"]]


def test_the_list_is_paged_and_every_account_is_on_exactly_one_page(daemon):
    code, body = api(daemon, "GET", "/api/v1/accounts")
    assert code == 200
    assert len(body["items"]) == 100 and body["next"], "a default page, not every account"
    names, sizes = pages(daemon, {"limit": 500})
    assert sizes == [500, 500, 202]
    assert names == sorted(names) and len(set(names)) == 1202
    assert {"demo", "other", "shop0000", "shop1199"} <= set(names)


def test_busiest_senders_failures_and_held_mail_first(daemon, relay):
    for i in range(3):
        submit(daemon, f"demo-{i}")
    submit(daemon, "other-0", uid=OTHER_UID)
    wait_for(lambda: len(relay.messages()) == 4, what="four messages at the relay")
    # The relay has each message a moment before its outcome is stored: wait for the counts,
    # not only for the order (demo with 1 or 2 stored already comes before other's 1).
    wait_for(lambda: sent_today(daemon) == [("demo", 3), ("other", 1)],
             what="today's senders, most first, with all four outcomes stored")
    assert pages(daemon, {"sort": "sent_today"})[0] == ["demo", "other"]
    code, body = api(daemon, "GET", "/api/v1/accounts?sort=sent_today&limit=1")
    assert [a["name"] for a in body["items"]] == ["demo"]
    assert body["items"][0]["sent_today"] == 3 and body["items"][0]["error_rate"] == 0
    assert body["next"].startswith("sent_today:")

    # A blocked account's mail is held: first by unfinished mail, and found by state.
    assert request(daemon, "BLOCK", "other")[0] == 200
    submit(daemon, "other-held-1", uid=OTHER_UID)
    submit(daemon, "other-held-2", uid=OTHER_UID)
    body = api(daemon, "GET", "/api/v1/accounts?sort=pending")[1]
    assert [(a["name"], a["held"], a["queued"]) for a in body["items"]] == [("other", 2, 0)]
    assert [a["name"] for a in api(daemon, "GET", "/api/v1/accounts?state=blocked")[1]["items"]] == ["other"]
    assert [a["name"] for a in api(daemon, "GET", "/api/v1/accounts?blocked_by=admin")[1]["items"]] == ["other"]
    assert api(daemon, "GET", "/api/v1/accounts?blocked_by=spam_guard")[1]["items"] == []
    names = [a["name"] for a in api(daemon, "GET", "/api/v1/accounts?q=shop119")[1]["items"]]
    assert names == [f"shop{i}" for i in range(1190, 1200)]

    # Any figure of a row sorts: held, queued, failure rate, the last hours' submissions.
    held = api(daemon, "GET", "/api/v1/accounts?sort=held")[1]["items"]
    assert [(a["name"], a["held"]) for a in held] == [("other", 2)]
    assert api(daemon, "GET", "/api/v1/accounts?sort=queued")[1]["items"] == []
    assert api(daemon, "GET", "/api/v1/accounts?sort=error_rate")[1]["items"] == []
    recent, sizes = pages(daemon, {"sort": "submitted_recently", "limit": 1})
    assert sorted(recent) == ["demo", "other"] and sizes[:2] == [1, 1]
    body = api(daemon, "GET", "/api/v1/accounts?sort=submitted_recently")[1]
    assert [a["submitted_recently"] for a in body["items"]] == [3, 3]
    code, body = api(daemon, "GET", "/api/v1/accounts?sort=complaints_today")
    assert (code, body["items"]) == (200, [])

    r = ctl(daemon, "accounts", "list", "--sort", "sent_today")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATE", "BLOCKED", "BY"]
    assert lines[1].split()[0] == "demo" and lines[2].split()[0] == "other"
    r = ctl(daemon, "accounts", "list", "--limit", "2")
    assert "More: mailwardenctl accounts list --limit 2 --cursor name:other" in r.stdout, r.stdout


def test_top_shows_the_busiest_accounts_and_refreshes(daemon, relay):
    for i in range(2):
        submit(daemon, f"other-{i}", uid=OTHER_UID)
    submit(daemon, "demo-0")
    wait_for(lambda: len(relay.messages()) == 3, what="three messages at the relay")
    # Their outcomes are stored a moment after the relay has them; top shows the stored ones.
    wait_for(lambda: sent_today(daemon) == [("other", 2), ("demo", 1)],
             what="the three outcomes stored")
    r = ctl(daemon, "top", "-n", "2", "--interval", "1", "--limit", "5")
    assert r.returncode == 0, r.stderr
    rounds = r.stdout.split("mailwarden top - ")[1:]
    assert len(rounds) == 2, r.stdout
    for text in rounds:
        lines = text.splitlines()
        assert "by sent_today, every 1 s" in lines[0]
        table = lines[lines.index("") + 1:]
        assert table[0].split()[:2] == ["NAME", "STATE"]
        assert [table[1].split()[0], table[2].split()[0]] == ["other", "demo"], text
        assert table[1].split()[3] == "2"
        assert "Blocked by a guard (most held first):" in text and "None." in text
    assert "\x1b[2J" not in r.stdout, "no screen clearing into a pipe"
    r = ctl(daemon, "top", "--sort", "size")
    assert r.returncode == 64, r.stderr
    r = ctl(daemon, "top", "--sort", "held", "-n", "1")
    assert r.returncode == 0 and "by held" in r.stdout, r.stdout + r.stderr


def test_bad_questions_are_refused_and_customers_see_no_list(daemon):
    for query in ["sort=size", "state=gone", "blocked_by=none", "q=Shop", "q=%25", "limit=0",
                  "limit=1001", "cursor=name:Other", "cursor=sent_today:1:2",
                  "sort=pending&cursor=name:demo", "sort=pending&cursor=pending:x:1"]:
        code, body = api(daemon, "GET", "/api/v1/accounts?" + query)
        assert code == 400, (query, body)
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, body
    assert api(daemon, "GET", "/api/v1/accounts", token=body["token"])[0] == 403


def test_import_remove_missing_sees_every_page(daemon):
    f = daemon.root / "keep.csv"
    f.write_text(f"name,uids,report_to\ndemo,{os.getuid()},owner@example.com\n"
                 f"other,{OTHER_UID},other@example.com\n")
    r = ctl(daemon, "accounts", "import", str(f), "--remove-missing")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "removed 1200" in r.stdout, r.stdout
    assert pages(daemon, {"limit": 1000})[0] == ["demo", "other"]


def test_fleet_summary_counts_states_names_guard_blocks_the_busiest_and_the_node(
        make_daemon, relay, store_settings):  # noqa: F811
    settings = dict(store_settings, hostname="web7.test", policy={"spam_per_hour": 5})
    d = make_daemon(relay=relay, settings=settings, accounts=demo_and_other()).start()
    # demo floods and its guard blocks it; other sends two and is blocked by the administrator.
    for i in range(6):
        submit(d, f"demo-{i}")
    submit(d, "other-0", uid=OTHER_UID)
    submit(d, "other-1", uid=OTHER_UID)
    wait_for(lambda: api(d, "GET", "/api/v1/accounts/demo/email")[1]["state"] == "blocked",
             what="the spam guard's block")
    assert request(d, "BLOCK", "other")[0] == 200
    # The node writes its row just after it starts.
    wait_for(lambda: api(d, "GET", "/api/v1/fleet")[1]["nodes"], what="the node's row")

    code, body = api(d, "GET", "/api/v1/fleet")
    assert code == 200, body
    assert body["accounts"] == 2, "the system's own account is not counted"
    assert body["states"] == {"active": 0, "blocked": 2, "purging": 0}
    assert body["blocked_by"] == {"admin": 1, "spam_guard": 1}
    assert [(b["account"], b["guard"], b["still_blocked"]) for b in body["guard_blocks"]] == [
        ("demo", "spam_guard", True)]
    assert "6 messages submitted in the last hour" in body["guard_blocks"][0]["reason"]
    assert [(b["account"], b["submitted"]) for b in body["busiest"]] == [("demo", 6), ("other", 2)]
    assert [(n["name"], n["version"], n["running"]) for n in body["nodes"]] == [
        ("web7.test", "0.1.0", True)]

    # An administrator's block is no guard's; after an UNBLOCK the block is listed as lifted.
    assert request(d, "UNBLOCK", "demo")[0] == 200
    body = api(d, "GET", "/api/v1/fleet")[1]
    assert body["states"]["active"] == 1
    assert [(b["account"], b["still_blocked"]) for b in body["guard_blocks"]] == [("demo", False)]

    code, token = api(d, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, token
    assert api(d, "GET", "/api/v1/fleet", token=token["token"])[0] == 403
    assert api(d, "POST", "/api/v1/fleet")[0] == 405
