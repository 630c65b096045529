"""Account control through the API: block, unblock, purge, hold expiry, token isolation."""
from conftest import (api, delivered_meanwhile, demo_and_other, request, status, subjects, submit,
                      wait_for)


def test_block_holds_and_unblock_releases_oldest_first(make_daemon, relay):
    # One delivery at a time: with several at once the relay may finish a later one first,
    # so only then is the order the relay sees the order the scheduler released them in.
    daemon = make_daemon(relay=relay, accounts=demo_and_other(),
                         settings={"delivery": {"concurrency": 1}}).start()
    code, body = request(daemon, "BLOCK")
    assert code == 200, body
    assert body["state"] == "blocked" and body["blocked_by"] == "admin"
    assert "72 hours" in body["message"]
    for i in range(20):
        submit(daemon, f"held-{i:02d}")  # sendmail still exits 0 while blocked
    delivered_meanwhile(daemon, relay, "other-1")
    s = status(daemon)
    assert (s["state"], s["held"], s["queued"]) == ("blocked", 20, 0)
    assert not [x for x in subjects(relay) if x.startswith("order held-")]

    code, body = request(daemon, "UNBLOCK")
    assert code == 200 and body["state"] == "active", body
    wait_for(lambda: len([x for x in subjects(relay) if x.startswith("order held-")]) == 20,
             what="all 20 held messages delivered after unblock")
    held = [x for x in subjects(relay) if x.startswith("order held-")]
    assert held == sorted(held)  # oldest first
    # The relay has the last message a moment before its outcome is stored.
    wait_for(lambda: status(daemon)["held"] == 0 and status(daemon)["sent"] >= 20,
             what="the outcomes to be stored")


def test_purge_while_active_is_refused_with_409(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    code, body = request(daemon, "PURGE")
    assert code == 409
    assert body["error"] == "conflict"
    assert "Block sending first" in body["message"]
    assert status(daemon)["state"] == "active"


def test_purge_deletes_the_held_mail_then_unblocks_by_itself(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    assert request(daemon, "BLOCK")[0] == 200
    for i in range(50):
        submit(daemon, f"spam-{i:02d}")
    assert status(daemon)["held"] == 50
    code, body = request(daemon, "PURGE")
    assert code == 200, body
    assert body["state"] == "purging"
    wait_for(lambda: status(daemon)["state"] == "active", what="the purge to end by itself")
    s = status(daemon)
    assert (s["held"], s["queued"], s["purged"]) == (0, 0, 50)
    delivered_meanwhile(daemon, relay, "other-2")
    assert not [x for x in subjects(relay) if x.startswith("order spam-")]
    submit(daemon, "after-purge")
    wait_for(lambda: "order after-purge" in subjects(relay), what="the next message delivered")
    code, audit = api(daemon, "GET", "/api/v1/audit")
    assert code == 200
    actions = [(r["account"], r["action"], r["from"], r["to"]) for r in audit["items"]]
    assert ("demo", "PURGE_DONE", "purging", "active") in actions
    assert ("demo", "PURGE", "blocked", "purging") in actions
    assert ("demo", "BLOCK", "active", "blocked") in actions


def test_held_mail_expires_after_policy_hold_and_is_listed_among_errors(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other(), settings={"policy": {"hold": "3s"}}).start()
    assert request(daemon, "BLOCK")[0] == 200
    submit(daemon, "too-late")
    assert status(daemon)["held"] == 1

    def expired():
        code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/errors")
        assert code == 200
        return [e for e in body["items"] if e["subject"] == "order too-late"]

    errors = wait_for(expired, timeout=30, what="the held message to expire")
    assert "expired" in errors[0]["reply"]
    s = status(daemon)
    assert (s["held"], s["expired"]) == (0, 1)
    assert s["errors"] >= 1
    assert request(daemon, "UNBLOCK")[0] == 200
    delivered_meanwhile(daemon, relay, "other-3")
    assert "order too-late" not in subjects(relay)


def test_customer_token_reaches_its_own_account_only(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, body
    token = body["token"]
    assert status(daemon, "demo", token=token)["state"] == "active"
    assert api(daemon, "GET", "/api/v1/accounts/other/email", token=token)[0] == 403
    assert api(daemon, "GET", "/api/v1/accounts/nobody/email", token=token)[0] == 403
    assert api(daemon, "GET", "/api/v1/accounts/demo/email", token=None)[0] == 401
    assert api(daemon, "GET", "/api/v1/accounts/demo/email", token="not-a-token")[0] == 401
    assert api(daemon, "GET", "/api/v1/accounts", token=token)[0] == 403
    assert api(daemon, "POST", "/api/v1/accounts/demo/tokens", token=token)[0] == 403
    # A customer blocks and unblocks their own account; an admin block they cannot lift.
    assert request(daemon, "BLOCK", token=token)[1]["blocked_by"] == "customer"
    assert request(daemon, "UNBLOCK", token=token)[0] == 200
    assert request(daemon, "BLOCK")[0] == 200  # admin
    code, body = request(daemon, "UNBLOCK", token=token)
    assert code == 403 and "administrator" in body["message"]


def test_bad_requests_get_400_with_a_reason(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    for body in [{"action": "DESTROY"}, {"action": "PURGE_DONE"}, {}, {"action": 3}]:
        code, reply = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body=body)
        assert code == 400, (body, reply)
        assert reply["error"] == "invalid_input" and reply["message"]
    assert api(daemon, "GET", "/api/v1/accounts/nobody/email")[0] == 404
    for value in ["not an address", "a@b.c\r\nBcc: x@y.z", "a@b.c, d@e.f"]:
        code, reply = api(daemon, "PUT", "/api/v1/accounts/demo/email", body={"report_to": value})
        assert code == 400, (value, reply)
    assert status(daemon)["report_to"] == "owner@example.com"
    code, reply = api(daemon, "PUT", "/api/v1/accounts/demo/email", body={"report_to": "new@example.com"})
    assert code == 200 and reply["report_to"] == "new@example.com"


def test_errors_are_listed_newest_first_in_pages(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    for i in range(3):
        r = daemon.sendmail(["-i", f"reject-{i}@example.net"], f"Subject: attempt {i}\n\nhi\n")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: status(daemon)["errors"] == i + 1, what=f"failure {i}")
    code, page1 = api(daemon, "GET", "/api/v1/accounts/demo/email/errors?limit=2")
    assert code == 200 and len(page1["items"]) == 2 and page1["next"]
    assert [e["recipient"] for e in page1["items"]] == ["reject-2@example.net", "reject-1@example.net"]
    assert page1["items"][0]["reply"].startswith("550")
    code, page2 = api(daemon, "GET", f"/api/v1/accounts/demo/email/errors?limit=2&cursor={page1['next']}")
    assert code == 200 and page2["next"] is None
    assert [e["recipient"] for e in page2["items"]] == ["reject-0@example.net"]
    assert api(daemon, "GET", "/api/v1/accounts/demo/email/errors?cursor=garbage")[0] == 400
