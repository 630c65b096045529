"""Complaints (docs/bounces.md, "Complaints"): a feedback-loop report (RFC 5965 ARF) in the
format large mailbox providers send, at a feedback address of bounces.feedback_addresses or at
a return path, counts one complaint of the account whose message the report's original names
by its return path: in GET .../email, in the volumes and as the "complaint" event."""
import json

from conftest import (api, free_port, keep_events, metrics, order_message, request, status,
                      wait_for)
from test_bounces import SAMPLES as SAMPLES_DIR, give_bounce, outcome_stored, sample

DOMAIN = "bounces.test"
FEEDBACK = "fbl@bounces.test"


def complaint_daemon(make_daemon, relay):
    port = free_port()
    settings = {"bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{port}"],
                            "feedback_addresses": ["FBL@Bounces.Test"]}}
    # The tests read the complaint's event from the outbox: it must stay there.
    daemon = keep_events(make_daemon(relay=relay, settings=settings)).start()
    daemon.bounce_port = port
    return daemon


def send_order(daemon, relay, tag):
    r = daemon.sendmail(["-t", "-i"], order_message(tag, "reader@mailbox.example"))
    assert r.returncode == 0, r.stderr
    m = wait_for(lambda: [m for m in relay.messages() if f"order {tag}".encode() in m["data"]],
                 what=f"order {tag} at the relay")[0]
    # The day's sent count a complaint is measured against is stored with the relay's answer,
    # a moment after the relay has the message.
    outcome_stored(daemon, m)
    return m


def volumes_today(daemon):
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/volumes?days=1")
    assert code == 200, body
    return body["items"][-1] if body["items"] else {}


def test_an_arf_report_is_a_complaint_of_the_account_whose_mail_it_names(make_daemon, relay):
    daemon = complaint_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "offers")
    assert status(daemon)["complaints"] == 0
    report = sample("arf-complaint.eml", m["mail_from"])

    code, reply = give_bounce(daemon, FEEDBACK, report, sender="")
    assert code == 250, reply
    assert status(daemon)["complaints"] == 1
    assert volumes_today(daemon)["complaints"] == 1
    # The same report again, here at a return path (some loops answer to the envelope
    # sender, some send twice): taken, and counted once, as is a second reporter's.
    code, reply = give_bounce(daemon, m["mail_from"], report)
    assert code == 250, reply
    code, reply = give_bounce(daemon, FEEDBACK,
                              report.replace("Feedback-Type: abuse", "Feedback-Type: fraud"))
    assert code == 250, reply
    assert status(daemon)["complaints"] == 1
    assert volumes_today(daemon)["complaints"] == 1
    # Not an error: the message was delivered.
    assert status(daemon)["errors"] == 0

    events = daemon.query("SELECT type, data FROM events WHERE type = 'complaint' ORDER BY id")
    assert len(events) == 1, events
    data = json.loads(events[0][1])
    assert data["feedback_type"] == "abuse"
    assert data["subject"] == "order offers"
    assert data["complaints_today"] == 1 and data["sent_today"] == 1


def test_a_report_about_mail_not_ours_is_taken_and_ignored(make_daemon, relay):
    daemon = complaint_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "offers")
    forged = m["mail_from"][:-len(f"@{DOMAIN}") - 1] + ("0" if m["mail_from"][-len(DOMAIN) - 2] != "0" else "1")
    forged += f"@{DOMAIN}"
    code, reply = give_bounce(daemon, FEEDBACK, sample("arf-complaint.eml", forged))
    assert code == 250, reply
    code, reply = give_bounce(daemon, FEEDBACK,
                              sample("arf-complaint.eml", "someone@elsewhere.example"))
    assert code == 250, reply
    assert status(daemon)["complaints"] == 0
    # Any other address of the domain is still refused.
    code, _ = give_bounce(daemon, "postmaster@bounces.test", sample("arf-complaint.eml", forged))
    assert code == 550


def test_complaints_past_the_rate_block_the_account_until_unblocked(make_daemon, relay):
    """The complaint guard: the complaints of the day above policy.complaint_rate of the
    messages sent that day, over at least policy.complaint_min, block the account
    (complaint_guard) in the complaint's transaction; the owner is told, the customer sees why;
    UNBLOCK lifts it and doubles the rate for 24 hours."""
    from test_guards_and_quotas import OWNER, account, customer_token, notices

    port = free_port()
    settings = {"bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{port}"],
                            "feedback_addresses": [FEEDBACK]},
                "policy": {"complaint_rate": 0.2, "complaint_min": 10}}
    daemon = keep_events(make_daemon(relay=relay, accounts=account(), settings=settings)).start()
    daemon.bounce_port = port
    sent = [send_order(daemon, relay, f"offer-{i}") for i in range(10)]
    wait_for(lambda: status(daemon)["sent_today"] == 10, what="the ten outcomes")

    def complain(i):
        code, reply = give_bounce(daemon, FEEDBACK, sample("arf-complaint.eml",
                                                           sent[i]["mail_from"]))
        assert code == 250, reply

    # 2 of 10: at most the rate.
    complain(0)
    complain(1)
    assert status(daemon)["state"] == "active"
    # 3 of 10: blocked before the intake's 250.
    complain(2)
    token = customer_token(daemon)
    code, s = api(daemon, "GET", "/api/v1/accounts/demo/email", token=token)
    assert code == 200, s
    assert (s["state"], s["blocked_by"]) == ("blocked", "complaint_guard"), s
    assert s["reason_code"] == "complaint_rate"
    assert s["reason_params"] == {"complaints": 3, "sent": 10, "rate": 3000, "limit": 2000}
    assert "3 spam complaints about the 10 messages sent today" in s["reason"]
    assert s["complaints"] == 3
    # The customer may lift it (as a bounce_guard block).
    assert s["actions"]["UNBLOCK"]["allowed"] is True, s["actions"]

    found = wait_for(lambda: notices(relay), what="the guard's notice")
    rcpts, subject, text = found[0]
    assert rcpts == [OWNER]
    assert "spam complaints" in subject
    assert "complaint_guard: 3 spam complaints" in text and "UNBLOCK" in text
    types = [t for (t,) in daemon.query("SELECT type FROM events ORDER BY id")]
    assert "account.blocked" in types and "guard.tripped" in types, types
    code, audit = api(daemon, "GET", "/api/v1/audit")
    assert code == 200
    assert any(r["actor"] == "complaint_guard" and r["action"] == "BLOCK"
               for r in audit["items"]), audit
    assert 'mailwarden_guard_blocks_total{guard="complaint_guard"} 1' in metrics(daemon)[1]

    # An administrator's UNBLOCK lifts it; for 24 hours the rate allowed is doubled: 4 of 10
    # (0.4) does not block again, 5 of 10 does.
    code, body = request(daemon, "UNBLOCK")
    assert code == 200 and body["state"] == "active", body
    complain(3)
    assert status(daemon)["state"] == "active"
    complain(4)
    s = status(daemon)
    assert (s["state"], s["blocked_by"], s["reason_code"]) == (
        "blocked", "complaint_guard", "complaint_rate_doubled"), s


def test_a_report_without_our_return_path_is_matched_by_its_message_id(make_daemon, relay):
    """Mailbox providers often strip the return path and keep the original's headers: at a
    feedback address, the original's Message-ID names the message."""
    import email as email_lib
    import email.policy as email_policy

    daemon = complaint_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "offers")
    stored = email_lib.message_from_bytes(m["data"], policy=email_policy.default)
    message_id = str(stored["Message-ID"]).strip().strip("<>")
    template = (SAMPLES_DIR / "arf-complaint-message-id.eml").read_text().replace("\n", "\r\n")
    assert "Return-Path: <RETURN" not in template and "Original-Mail-From" not in template

    code, reply = give_bounce(daemon, FEEDBACK, template.replace("MESSAGE_ID", "other@x.example"))
    assert code == 250, reply
    assert status(daemon)["complaints"] == 0
    code, reply = give_bounce(daemon, FEEDBACK, template.replace("MESSAGE_ID", message_id))
    assert code == 250, reply
    assert status(daemon)["complaints"] == 1
    events = daemon.query("SELECT data FROM events WHERE type = 'complaint'")
    assert len(events) == 1, events
    assert json.loads(events[0][0])["subject"] == "order offers"
