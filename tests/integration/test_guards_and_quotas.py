"""The guards block by themselves and notify; quotas defer, never drop (DESIGN.md, "Account
states"). The real daemon, the real drop-in, the real relay peer."""
import datetime
import email
import email.policy
import os

from conftest import api, metrics, order_message, request, status, submit, wait_for

OWNER = "owner@example.com"


def account(**extra):
    return [dict({"name": "demo", "uids": [os.getuid()], "report_to": OWNER}, **extra)]


def customer_token(daemon):
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code in (200, 201), body
    return body["token"]


def parsed(relay):
    return [(m["rcpt_tos"], email.message_from_bytes(m["data"], policy=email.policy.default))
            for m in relay.messages()]


def orders(relay):
    return [msg["subject"] for _, msg in parsed(relay) if str(msg["subject"]).startswith("order ")]


def notices(relay):
    """The guard notices at the relay: (recipients, subject, text)."""
    out = []
    for rcpts, msg in parsed(relay):
        if "was blocked" in str(msg["subject"]):
            out.append((rcpts, str(msg["subject"]), msg.get_body(("plain",)).get_content()))
    return out


def test_spam_guard_blocks_a_flood_holds_the_rest_and_notifies(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=account(),
                         settings={"policy": {"spam_per_hour": 5}}).start()
    for i in range(6):
        submit(daemon, f"flood-{i}")
    wait_for(lambda: status(daemon)["state"] == "blocked", what="the spam guard's block")
    for i in range(6, 8):
        submit(daemon, f"flood-{i}")  # after the trip: accepted and held
    s = status(daemon)
    assert (s["state"], s["blocked_by"]) == ("blocked", "spam_guard")
    assert "6 messages submitted in the last hour, more than 5" in s["reason"]
    # The same reason as a code with its numbers, for clients that word it themselves.
    assert (s["reason_code"], s["reason_params"]) == ("spam_flood", {"submitted": 6, "limit": 5})
    assert s["held"] >= 2
    # The notice was queued after the block: once it has been delivered, delivery has run with
    # the account blocked, and the mail after the trip must still be held.
    found = wait_for(lambda: notices(relay), what="the guard's notice")
    sent = [x for x in orders(relay) if x in {"order flood-6", "order flood-7"}]
    assert sent == []  # the mail after the trip did not go out
    # Nothing lost. A message of the flood claimed before the block is held (unfinished) until
    # its outcome is stored, a moment after the relay has it: wait until none is in flight
    # (message status 1, src/store/schema.h), each then counts on one side only.
    def in_flight():
        return daemon.query("SELECT count(*) FROM messages WHERE status = 1 "
                            "AND subject LIKE 'order flood-%'")[0][0]
    wait_for(lambda: in_flight() == 0 and len(orders(relay)) + status(daemon)["held"] == 8,
             what="every message of the flood either at the relay or held")
    assert 'mailwarden_guard_blocks_total{guard="spam_guard"} 1' in metrics(daemon)[1]

    rcpts, subject, text = found[0]
    assert rcpts == [OWNER]
    assert "demo" in subject
    assert "spam_guard: 6 messages submitted in the last hour, more than 5" in text
    assert "PURGE" in text

    token = customer_token(daemon)
    code, body = request(daemon, "UNBLOCK", token=token)
    assert code == 409, body
    assert "purge" in body["message"].lower()
    assert (body["error"], body["reason"]) == ("conflict", "spam_block")
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/messages/release",
                     body={"match": {"subject": "order flood-6"}}, token=token)
    assert (code, body["reason"]) == (409, "spam_block"), body
    code, body = request(daemon, "PURGE", token=token)
    assert code == 200, body
    wait_for(lambda: status(daemon)["state"] == "active", what="the purge to end")
    assert status(daemon)["held"] == 0
    code, audit = api(daemon, "GET", "/api/v1/audit")
    assert code == 200
    assert any(r["actor"] == "spam_guard" and r["action"] == "BLOCK" for r in audit["items"]), audit


def test_bounce_guard_blocks_on_failures_and_notifies(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=account(),
                         settings={"policy": {"bounce_min": 4, "bounce_rate": 0.5}}).start()
    for i in range(4):
        submit(daemon, f"bad-{i}", to=f"reject{i}@example.net")
    wait_for(lambda: status(daemon)["state"] == "blocked", what="the bounce guard's block")
    s = status(daemon)
    assert s["blocked_by"] == "bounce_guard"
    assert "4 of 4 deliveries in the last hour failed (100%), more than 50%" in s["reason"]
    assert s["reason_code"] == "bounce_rate"
    assert s["reason_params"] == {"failed": 4, "attempted": 4, "rate": 100, "limit": 50}
    found = wait_for(lambda: notices(relay), what="the guard's notice")
    rcpts, _, text = found[0]
    assert rcpts == [OWNER]
    assert "bounce_guard: 4 of 4" in text and "UNBLOCK" in text

    # UNBLOCK lifts a bounce_guard block, and the tolerance is doubled: a rate of 0.5 doubled
    # never trips, so more failures do not block again.
    code, body = request(daemon, "UNBLOCK", token=customer_token(daemon))
    assert code == 200 and body["state"] == "active", body
    for i in range(4, 8):
        submit(daemon, f"bad-{i}", to=f"reject{i}@example.net")
    wait_for(lambda: status(daemon)["errors"] >= 8, what="the second round of failures")
    # A good message after the failures goes out: the account was not blocked again.
    submit(daemon, "good-after")
    wait_for(lambda: "order good-after" in orders(relay), what="the message after the failures")
    assert status(daemon)["state"] == "active"
    assert len(notices(relay)) == 1


def test_quota_defers_mail_beyond_max_per_hour_and_drops_nothing(make_daemon, relay):
    other_uid = 4245
    accounts = account(max_per_hour=3) + [{"name": "other", "uids": [other_uid]}]
    daemon = make_daemon(relay=relay, accounts=accounts).start()
    for i in range(6):
        submit(daemon, f"quota-{i}")
    wait_for(lambda: len(orders(relay)) >= 3, what="the first three messages")
    # Another account's later message goes out: the scheduler has claimed since, and passed
    # over the waiting three.
    r = daemon.sendmail(["-i", "buyer@example.net"], order_message("other-later"), uid=other_uid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "order other-later" in orders(relay), what="the other account's message")
    assert sorted(o for o in orders(relay) if o.startswith("order quota-")) == [
        "order quota-0", "order quota-1", "order quota-2"]
    wait_for(lambda: status(daemon)["sent"] == 3, what="the three outcomes to be stored")
    s = status(daemon)
    assert (s["state"], s["queued"], s["held"], s["sent"]) == ("active", 3, 0, 3)
    # Why the mail waits: the hourly limit, until the hour of the first sends has passed.
    assert (s["max_per_hour"], s["sent_last_hour"], s["limit_reached"]) == (3, 3, "hour"), s
    again = datetime.datetime.fromisoformat(s["sends_again"].replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.timezone.utc)
    assert now < again <= now + datetime.timedelta(hours=1), s
    # Still queued in the store, untouched (never attempted). Only demo's: the other account's
    # message is unfinished too until its outcome is stored, a moment after the relay has it.
    rows = daemon.query("SELECT m.attempts FROM messages m JOIN accounts a ON a.id = m.account_id "
                        "WHERE a.name = 'demo' AND m.status < 2 ORDER BY m.id")
    assert [r[0] for r in rows] == [0, 0, 0]
