"""Complaints (docs/bounces.md, "Complaints"): a feedback-loop report (RFC 5965 ARF) in the
format large mailbox providers send, at a feedback address of bounces.feedback_addresses or at
a return path, counts one complaint of the account whose message the report's original names
by its return path: in GET .../email, in the volumes and as the "complaint" event."""
import json

from conftest import api, free_port, order_message, status, wait_for
from test_bounces import give_bounce, sample

DOMAIN = "bounces.test"
FEEDBACK = "fbl@bounces.test"


def complaint_daemon(make_daemon, relay):
    port = free_port()
    settings = {"bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{port}"],
                            "feedback_addresses": ["FBL@Bounces.Test"]}}
    daemon = make_daemon(relay=relay, settings=settings).start()
    daemon.bounce_port = port
    return daemon


def send_order(daemon, relay, tag):
    r = daemon.sendmail(["-t", "-i"], order_message(tag, "reader@mailbox.example"))
    assert r.returncode == 0, r.stderr
    return wait_for(lambda: [m for m in relay.messages() if f"order {tag}".encode() in m["data"]],
                    what=f"order {tag} at the relay")[0]


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
    # At a return path too (some loops answer to the envelope sender).
    code, reply = give_bounce(daemon, m["mail_from"], report)
    assert code == 250, reply
    assert status(daemon)["complaints"] == 2
    # Not an error: the message was delivered.
    assert status(daemon)["errors"] == 0

    events = daemon.query("SELECT type, data FROM events WHERE type = 'complaint' ORDER BY id")
    assert len(events) == 2, events
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
