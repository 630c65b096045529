"""Tracking, "where is my mail?": the customer searches the account's mail by recipient and
status and opens a message on its history, each delivery attempt with the relay's reply; a
customer's token reaches its own account's messages only. The held list the route answered
before stays as it was when no search parameter is given."""
import urllib.parse

from conftest import OTHER_UID, api, demo_and_other, order_message, submit, wait_for


def customer_token(daemon, name="demo"):
    code, body = api(daemon, "POST", f"/api/v1/accounts/{name}/tokens")
    assert code == 201, body
    return body["token"]


def search(daemon, name="demo", token=None, **params):
    params.setdefault("q", "")
    query = urllib.parse.urlencode(params)
    kwargs = {"token": token} if token else {}
    code, body = api(daemon, "GET", f"/api/v1/accounts/{name}/email/messages?{query}", **kwargs)
    assert code == 200, body
    return body


def test_search_by_recipient_then_open_the_history_with_each_attempt(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    r = daemon.sendmail(["-i", "defer-1@example.net", "ok@example.net"],
                        order_message("7", "defer-1@example.net, ok@example.net"))
    assert r.returncode == 0, r.stderr
    submit(daemon, "8", to="someone@example.net")
    submit(daemon, "9", uid=OTHER_UID, to="someone@example.net")

    # The deferred recipient goes on the third attempt.
    wait_for(lambda: [m["status"] for m in search(daemon, q="defer-1@example.net")["items"]]
             == ["delivered"], what="the message delivered")
    found = search(daemon, q="<DEFER-1@example.net>")["items"]
    assert len(found) == 1, found
    assert found[0]["subject"] == "order 7"
    assert found[0]["attempts"] == 3

    token = customer_token(daemon)
    code, shown = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{found[0]['id']}",
                      token=token)
    assert code == 200, shown
    kinds = [(e["kind"], e["address"]) for e in shown["events"]]
    assert kinds[0] == ("received", None)
    assert "via drop-in" in shown["events"][0]["detail"]
    assert kinds.count(("deferred", "defer-1@example.net")) == 2, kinds
    assert ("delivered", "ok@example.net") in kinds
    assert kinds[-1] == ("delivered", "defer-1@example.net")
    deferred = [e for e in shown["events"] if e["kind"] == "deferred"]
    assert "451 4.3.0" in deferred[0]["detail"]
    assert {d["address"]: d["status"] for d in shown["delivery"]} == {
        "defer-1@example.net": "sent", "ok@example.net": "sent"}
    assert shown["headers"] is None, "a finished message's body is not kept"

    # By status, and every message of the account newest first.
    wait_for(lambda: len(search(daemon, status="delivered")["items"]) == 2, what="both delivered")
    assert [m["subject"] for m in search(daemon)["items"]] == ["order 8", "order 7"]
    assert [m["subject"] for m in search(daemon, status="delivered")["items"]] == ["order 8", "order 7"]
    assert search(daemon, status="failed")["items"] == []


def test_a_customer_sees_only_its_own_accounts_messages(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other()).start()
    submit(daemon, "1", to="shared@example.net")
    submit(daemon, "2", uid=OTHER_UID, to="shared@example.net")
    wait_for(lambda: len(relay.messages()) == 2, what="both delivered")
    token = customer_token(daemon)

    mine = search(daemon, token=token, q="shared@example.net")["items"]
    assert [m["subject"] for m in mine] == ["order 1"]
    theirs = search(daemon, name="other", q="shared@example.net")["items"]
    assert [m["subject"] for m in theirs] == ["order 2"]

    code, _ = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{theirs[0]['id']}",
                  token=token)
    assert code == 404, "another account's message is not found"
    code, _ = api(daemon, "GET", "/api/v1/accounts/other/email/messages?q=", token=token)
    assert code in (403, 404)
    code, _ = api(daemon, "GET", f"/api/v1/accounts/other/email/messages/{theirs[0]['id']}",
                  token=token)
    assert code in (403, 404)


def test_without_search_parameters_the_route_still_lists_the_held_mail(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    code, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})
    assert code == 200
    submit(daemon, "held")
    code, held = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held")
    assert code == 200, held
    assert [m["subject"] for m in held["items"]] == ["order held"]
    assert "status" not in held["items"][0], "the held list's items are as they were"
    assert [m["status"] for m in search(daemon, status="held")["items"]] == ["held"]
    code, bad = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?q=&status=lost")
    assert code == 400, bad
