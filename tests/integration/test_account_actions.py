"""GET .../email answers `actions`: which of BLOCK / PURGE / UNBLOCK the caller may take now and,
for the others, why not, as the daemon's rules judge a POST .../email/request. The panel keeps
no copy of the rules, so these answers and the POSTs must agree."""
import json
import pathlib

from conftest import ADMIN_TOKEN, api, wait_for

SPEC = json.loads((pathlib.Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
ACTIONS = ("BLOCK", "PURGE", "UNBLOCK")
# The refusals a customer or the administrator may meet, and the status their POST answers.
STATUS_OF_REFUSAL = {
    "not_blocked": 409, "already_blocked": 409, "already_blocked_by_admin": 409,
    "purge_running": 409, "purge_already_running": 409, "block_first": 409, "spam_block": 409,
    "admin_block": 403,
}


def message(tag):
    return f"From: shop@example.com\nTo: buyer@example.net\nSubject: order {tag}\n\nOrder {tag}.\n"


def submit(daemon, tag):
    r = daemon.sendmail(["-t", "-i"], message(tag))
    assert r.returncode == 0, r.stderr


def customer_token(daemon):
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, body
    return body["token"]


def status(daemon, token=ADMIN_TOKEN):
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email", token=token)
    assert code == 200, body
    return body


def request(daemon, action, token=ADMIN_TOKEN):
    return api(daemon, "POST", "/api/v1/accounts/demo/email/request", token=token,
               body={"action": action})


def allowed(actions):
    """{"BLOCK": True, ...}, and the shape of every entry checked on the way."""
    assert set(actions) == set(ACTIONS), actions
    out = {}
    for name, a in actions.items():
        assert set(a) == {"allowed", "reason", "message"}, a
        if a["allowed"]:
            assert a["reason"] is None and a["message"] is None, (name, a)
        else:
            assert a["reason"] in STATUS_OF_REFUSAL, (name, a)
            assert a["message"].endswith("."), (name, a)
        out[name] = a["allowed"]
    return out


def reasons(actions):
    return {name: a["reason"] for name, a in actions.items() if not a["allowed"]}


def refusals_agree(daemon, token):
    """Every action `actions` refuses is refused by the POST, with the same code and sentence
    and the status that refusal answers with; the state stays as it was."""
    before = status(daemon, token)
    for name, a in before["actions"].items():
        if a["allowed"]:
            continue
        code, body = request(daemon, name, token)
        assert code == STATUS_OF_REFUSAL[a["reason"]], (name, a, code, body)
        assert (body["reason"], body["message"]) == (a["reason"], a["message"]), (name, a, body)
    after = status(daemon, token)
    assert (after["state"], after["blocked_by"]) == (before["state"], before["blocked_by"])


def test_active_customer_may_only_block(make_daemon):
    daemon = make_daemon().start()
    token = customer_token(daemon)
    s = status(daemon, token)
    assert allowed(s["actions"]) == {"BLOCK": True, "PURGE": False, "UNBLOCK": False}
    assert reasons(s["actions"]) == {"PURGE": "block_first", "UNBLOCK": "not_blocked"}
    assert "Block sending first" in s["actions"]["PURGE"]["message"]
    assert s["actions"]["UNBLOCK"]["message"] == "Sending is not blocked."
    refusals_agree(daemon, token)
    # The administrator is under the same rules here.
    assert allowed(status(daemon)["actions"]) == {"BLOCK": True, "PURGE": False, "UNBLOCK": False}
    refusals_agree(daemon, ADMIN_TOKEN)


def test_customer_block_may_be_purged_or_lifted_by_the_customer(make_daemon):
    daemon = make_daemon().start()
    token = customer_token(daemon)
    code, body = request(daemon, "BLOCK", token)
    assert code == 200, body
    # The answer to the POST carries the actions of the state it led to.
    assert allowed(body["actions"]) == {"BLOCK": False, "PURGE": True, "UNBLOCK": True}
    s = status(daemon, token)
    assert s["actions"] == body["actions"]
    assert reasons(s["actions"]) == {"BLOCK": "already_blocked"}
    refusals_agree(daemon, token)
    # The administrator may take the block over, so BLOCK applies for them.
    assert allowed(status(daemon)["actions"]) == {"BLOCK": True, "PURGE": True, "UNBLOCK": True}


def test_admin_block_is_lifted_by_the_admin_only(make_daemon):
    daemon = make_daemon().start()
    token = customer_token(daemon)
    assert request(daemon, "BLOCK")[0] == 200
    seen_by_customer = status(daemon, token)["actions"]
    assert allowed(seen_by_customer) == {"BLOCK": False, "PURGE": False, "UNBLOCK": False}
    assert reasons(seen_by_customer) == {"BLOCK": "already_blocked_by_admin",
                                         "PURGE": "admin_block", "UNBLOCK": "admin_block"}
    assert "only the administrator" in seen_by_customer["UNBLOCK"]["message"]
    refusals_agree(daemon, token)

    seen_by_admin = status(daemon)["actions"]
    assert allowed(seen_by_admin) == {"BLOCK": False, "PURGE": True, "UNBLOCK": True}
    assert reasons(seen_by_admin) == {"BLOCK": "already_blocked_by_admin"}
    refusals_agree(daemon, ADMIN_TOKEN)
    code, body = request(daemon, "UNBLOCK")
    assert code == 200 and body["state"] == "active", body


def test_spam_guard_block_is_lifted_by_purge_not_unblock(make_daemon):
    daemon = make_daemon(settings={"policy": {"spam_per_hour": 3}}).start()
    token = customer_token(daemon)
    for i in range(4):
        submit(daemon, f"flood-{i}")
    wait_for(lambda: status(daemon)["state"] == "blocked", what="the spam guard's block")
    s = status(daemon, token)
    assert s["blocked_by"] == "spam_guard"
    assert allowed(s["actions"]) == {"BLOCK": False, "PURGE": True, "UNBLOCK": False}
    assert reasons(s["actions"]) == {"BLOCK": "already_blocked", "UNBLOCK": "spam_block"}
    assert "purge" in s["actions"]["UNBLOCK"]["message"]
    refusals_agree(daemon, token)
    assert allowed(status(daemon)["actions"]) == {"BLOCK": True, "PURGE": True, "UNBLOCK": True}
    code, body = request(daemon, "PURGE", token)
    assert code == 200, body


def test_nothing_applies_while_purging(make_daemon):
    daemon = make_daemon().start()
    token = customer_token(daemon)
    assert request(daemon, "BLOCK", token)[0] == 200
    for i in range(20):
        submit(daemon, f"held-{i}")
    code, body = request(daemon, "PURGE", token)
    assert code == 200 and body["state"] == "purging", body
    # The answer is the state the PURGE led to, purging, whenever the purge itself ends.
    assert allowed(body["actions"]) == {"BLOCK": False, "PURGE": False, "UNBLOCK": False}
    assert reasons(body["actions"]) == {"BLOCK": "purge_running", "PURGE": "purge_already_running",
                                        "UNBLOCK": "purge_running"}
    wait_for(lambda: status(daemon)["state"] == "active", what="the purge to end")
    assert allowed(status(daemon, token)["actions"]) == {"BLOCK": True, "PURGE": False,
                                                          "UNBLOCK": False}


def test_actions_are_documented(make_daemon):
    daemon = make_daemon().start()
    schemas = SPEC["components"]["schemas"]
    assert "actions" in schemas["EmailStatus"]["properties"]
    assert set(schemas["Actions"]["required"]) == set(ACTIONS)
    entry = schemas["ActionAvailability"]
    assert set(entry["required"]) == {"allowed", "reason", "message"}
    for code in STATUS_OF_REFUSAL:
        assert code in entry["properties"]["reason"]["description"], code
    assert set(status(daemon)["actions"]["PURGE"]) == set(entry["properties"])


def test_created_account_and_changed_recipient_answer_actions_too(make_daemon):
    daemon = make_daemon().start()
    code, body = api(daemon, "POST", "/api/v1/accounts", body={"name": "shop", "uids": [5001]})
    assert code == 201, body
    assert allowed(body["actions"]) == {"BLOCK": True, "PURGE": False, "UNBLOCK": False}
    token = customer_token(daemon)
    assert request(daemon, "BLOCK")[0] == 200
    code, body = api(daemon, "PUT", "/api/v1/accounts/demo/email", token=token,
                     body={"report_to": "new@example.com"})
    assert code == 200, body
    assert reasons(body["actions"]) == {"BLOCK": "already_blocked_by_admin",
                                        "PURGE": "admin_block", "UNBLOCK": "admin_block"}
