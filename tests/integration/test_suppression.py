"""Suppression (docs/bounces.md, "Suppression"): a recipient that failed as a bad mailbox or a
bad domain, at hand-over or in a bounce that came later, is not sent to again by that account
for policy.suppress_for; its mail fails at once as "suppressed" and never reaches the relay,
while the message's other recipients go. The customer lists and lifts suppressions."""
import urllib.parse

from conftest import api, free_port, metrics, order_message, status, wait_for
from test_bounces import give_bounce, outcome_stored, sample

DOMAIN = "bounces.test"


def bounce_daemon(make_daemon, relay, **policy):
    port = free_port()
    settings = {"bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{port}"]}}
    if policy:
        settings["policy"] = policy
    daemon = make_daemon(relay=relay, settings=settings).start()
    daemon.bounce_port = port
    return daemon


def send(daemon, tag, *to):
    r = daemon.sendmail(["-i", *to], order_message(tag, ", ".join(to)))
    assert r.returncode == 0, r.stderr


def at_relay(relay, tag):
    return [m for m in relay.messages() if f"order {tag}".encode() in m["data"]]


def errors(daemon, token=None):
    kwargs = {"token": token} if token else {}
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/errors", **kwargs)
    assert code == 200, body
    return body["items"]


def suppressions(daemon, name="demo", **kwargs):
    code, body = api(daemon, "GET", f"/api/v1/accounts/{name}/email/suppressions", **kwargs)
    assert code == 200, body
    return body


def lift(daemon, address, **kwargs):
    return api(daemon, "DELETE",
               "/api/v1/accounts/demo/email/suppressions/" + urllib.parse.quote(address), **kwargs)


def customer_token(daemon):
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, body
    return body["token"]


def counted(daemon, category):
    code, text = metrics(daemon)
    assert code == 200
    for line in text.splitlines():
        if line.startswith(f'mailwarden_bounces_total{{category="{category}"}} '):
            return float(line.split()[1])
    raise AssertionError(f"no bounces_total for {category}")


def test_after_a_5_1_1_bounce_the_next_mail_to_it_is_suppressed_until_lifted(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    send(daemon, "first", "nobody@dest.example")
    first = wait_for(lambda: at_relay(relay, "first"), what="the first order at the relay")[0]
    # A bounce fails a recipient stored as sent: it comes after the relay's answer is stored.
    outcome_stored(daemon, first)
    code, reply = give_bounce(daemon, first["mail_from"],
                              sample("postfix-dsn.eml", first["mail_from"]))
    assert code == 250, reply

    listed = suppressions(daemon)
    assert listed["next"] is None
    assert len(listed["items"]) == 1, listed
    s = listed["items"][0]
    assert s["address"] == "nobody@dest.example"
    assert s["category"] == "bad_mailbox"
    assert s["status"] == "5.1.1"
    assert "User unknown in local recipient table" in s["reply"]
    assert s["until"] > s["date"]

    # The next order to it (its domain in capitals) and to a good address: the good one goes,
    # the suppressed one never reaches the relay and fails with the first bounce quoted.
    errors_before = status(daemon)["errors"]
    send(daemon, "second", "nobody@DEST.example", "buyer@example.net")
    second = wait_for(lambda: at_relay(relay, "second"), what="the second order at the relay")
    assert [m["rcpt_tos"] for m in second] == [["buyer@example.net"]]
    failed = wait_for(lambda: [e for e in errors(daemon) if e["category"] == "suppressed"],
                      what="the suppressed recipient in the errors list")
    assert failed[0]["recipient"] == "nobody@DEST.example"
    assert failed[0]["subject"] == "order second"
    assert failed[0]["reply"].startswith("suppressed: not sent; this address failed on ")
    assert "(bad_mailbox, 5.1.1)" in failed[0]["reply"]
    assert "User unknown in local recipient table" in failed[0]["reply"]
    assert status(daemon)["errors"] == errors_before + 1
    assert counted(daemon, "suppressed") == 1

    # A message to it alone goes nowhere at all.
    send(daemon, "third", "nobody@dest.example")
    wait_for(lambda: len([e for e in errors(daemon) if e["category"] == "suppressed"]) == 2,
             what="the third order suppressed")
    assert at_relay(relay, "third") == []

    # The customer lifts it: mail goes to the address again. Lifting it twice: 404.
    token = customer_token(daemon)
    assert len(suppressions(daemon, token=token)["items"]) == 1
    code, body = lift(daemon, "nobody@Dest.Example", token=token)
    assert code == 200, body
    assert body["removed"] == "nobody@dest.example"
    assert suppressions(daemon)["items"] == []
    code, body = lift(daemon, "nobody@dest.example", token=token)
    assert code == 404, body
    # Audited, with who lifted it and what it was for; the 404 wrote nothing.
    code, audit = api(daemon, "GET", "/api/v1/audit")
    assert code == 200, audit
    lifts = [r for r in audit["items"] if r["reason"].startswith("suppression of")]
    assert len(lifts) == 1, audit
    assert (lifts[0]["account"], lifts[0]["actor"], lifts[0]["action"]) == (
        "demo", "customer", "DELETE"), lifts
    assert lifts[0]["reason"] == "suppression of <nobody@dest.example> deleted (it was " \
        "bad_mailbox 5.1.1)", lifts
    send(daemon, "fourth", "nobody@dest.example")
    fourth = wait_for(lambda: at_relay(relay, "fourth"), what="the fourth order at the relay")
    assert fourth[0]["rcpt_tos"] == ["nobody@dest.example"]


def test_a_refusal_at_hand_over_suppresses_and_the_guard_does_not_count_it_again(
        make_daemon, relay):
    # bounce_guard: 3 failures or more at a rate over 0.4 would block.
    daemon = bounce_daemon(make_daemon, relay, bounce_min=3, bounce_rate=0.4)
    send(daemon, "a", "reject-gone@example.net", "buyer@example.net")
    wait_for(lambda: suppressions(daemon)["items"], what="the refusal suppressed")
    s = suppressions(daemon)["items"][0]
    assert (s["address"], s["category"], s["status"]) == (
        "reject-gone@example.net", "bad_mailbox", "5.1.1")
    # Many more orders to the dead address with a good one each: were each suppressed failure
    # counted as an attempt that failed, the guard would block the account.
    for i in range(4):
        send(daemon, f"b{i}", "reject-gone@example.net", f"buyer{i}@example.net")
    wait_for(lambda: len([e for e in errors(daemon) if e["category"] == "suppressed"]) == 4,
             what="four suppressed recipients")
    assert status(daemon)["state"] == "active"
    assert sorted(t for m in relay.messages() for t in m["rcpt_tos"]) == sorted(
        ["buyer@example.net"] + [f"buyer{i}@example.net" for i in range(4)])


def test_suppress_for_0_turns_it_off(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay, suppress_for="0")
    send(daemon, "a", "reject-gone@example.net")
    wait_for(lambda: errors(daemon), what="the refusal")
    assert suppressions(daemon)["items"] == []
    send(daemon, "b", "reject-gone@example.net")
    wait_for(lambda: len(errors(daemon)) == 2, what="the second refusal")
    assert all(e["category"] == "bad_mailbox" for e in errors(daemon))
    # A bad page size, and an address that is not suppressed.
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/suppressions?limit=0")
    assert code == 400, body
    code, body = lift(daemon, "never@example.net")
    assert code == 404, body
