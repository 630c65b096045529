"""The daily error report (DESIGN.md promise 5) and /metrics, against the real daemon and a
real SMTP relay (relay_peer.py rejects local parts starting with "reject" with 550)."""
import datetime
import email
import email.policy
import os

from conftest import ADMIN_TOKEN, api, metric, metrics, wait_for

OTHER_UID = 42424  # a second account's scripts (setpriv: the tests run as root)


def accounts():
    return [
        {"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"},
        {"name": "shop", "uids": [OTHER_UID], "report_to": "old-owner@example.com",
         "language": "pl"},
        {"name": "quiet", "uids": [OTHER_UID + 1]},  # no report_to: never a report
    ]


def failed_count(daemon, account):
    return daemon.query(
        "SELECT COUNT(*) FROM recipients r JOIN accounts a ON a.id = r.account_id "
        "WHERE a.name = ? AND r.status = 2", account)[0][0]


def reports_to(relay, address):
    return [m for m in relay.messages() if m["rcpt_tos"] == [address]]


def text_of(message):
    """The text/plain and text/html parts of a report, decoded."""
    parsed = email.message_from_bytes(message["data"], policy=email.policy.default)
    parts = {p.get_content_type(): p.get_content() for p in parsed.walk()
             if p.get_content_type() in ("text/plain", "text/html")}
    return parsed, parts


def test_report_lists_the_days_failures_once_and_goes_to_the_current_recipient(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=accounts()).start()
    r = daemon.sendmail(["-t", "-i"],
                        "From: www@site.example\n"
                        "To: reject-a@example.net, reject-b@example.net, good@example.net\n"
                        "Subject: Order <script>alert(1)</script>\n\nhello\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: failed_count(daemon, "demo") == 2, what="two failed recipients")
    wait_for(lambda: any(m["rcpt_tos"] == ["good@example.net"] for m in relay.messages()),
             what="the good recipient's delivery")
    # Days are the daemon's local days; the test runs in the daemon's zone.
    today = datetime.date.today().isoformat()

    status, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": today})
    assert status == 200, body
    assert body == {"day": today, "sent": 1}
    report = wait_for(lambda: reports_to(relay, "owner@example.com"), what="the report")[0]
    parsed, parts = text_of(report)
    assert parsed["Subject"] == f"E-mail sending error report: demo, {today}"
    assert "mailwarden" in parsed["From"]
    text, html = parts["text/plain"], parts["text/html"]
    for part in (text, html):
        assert "reject-a@example.net" in part and "reject-b@example.net" in part
        assert "550 5.1.1" in part
        assert "good@example.net" not in part
    assert "Failed deliveries: 2" in text
    assert "<script>" not in html and "&lt;script&gt;" in html

    # Again: already sent, nothing goes out.
    status, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": today})
    assert (status, body) == (200, {"day": today, "sent": 0})

    # The second account fails later the same day, and its owner changes the recipient first:
    # the report goes to the new address, in the account's language; demo's is not resent.
    r = daemon.sendmail(["reject-x@example.net"], "Subject: Zamówienie\n\nhi\n", uid=OTHER_UID)
    assert r.returncode == 0, r.stderr
    r = daemon.sendmail(["reject-q@example.net"], "Subject: q\n\nhi\n", uid=OTHER_UID + 1)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: failed_count(daemon, "shop") == 1 and failed_count(daemon, "quiet") == 1,
             what="the other accounts' failures")
    status, body = api(daemon, "PUT", "/api/v1/accounts/shop/email",
                       body={"report_to": "new-owner@example.com"})
    assert status == 200, body
    status, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": today})
    assert (status, body) == (200, {"day": today, "sent": 1})
    report = wait_for(lambda: reports_to(relay, "new-owner@example.com"), what="shop's report")[0]
    parsed, parts = text_of(report)
    assert parsed["Subject"] == f"Raport błędów wysyłki e-maili: shop, {today}"
    assert "reject-x@example.net" in parts["text/plain"]
    assert "Nieudane doręczenia: 1" in parts["text/plain"]
    # A later message goes out after the reports (older mail is claimed first): anything sent
    # twice would be at the relay by then.
    r = daemon.sendmail(["-i", "late@example.net"], "Subject: later\n\nhi\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: any(m["rcpt_tos"] == ["late@example.net"] for m in relay.messages()),
             what="the later message")
    assert reports_to(relay, "old-owner@example.com") == []
    assert len(reports_to(relay, "owner@example.com")) == 1
    assert len(reports_to(relay, "new-owner@example.com")) == 1
    # One claim per account with a recipient; the internal account is never reported on.
    assert daemon.query("SELECT COUNT(*) FROM reports")[0][0] == 2

    # A restart does not send them again (the catch-up skips days already sent).
    daemon.stop()
    daemon.start()
    status, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": today})
    assert (status, body) == (200, {"day": today, "sent": 0})


def test_reports_run_is_admin_only_and_checks_the_day(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=accounts()).start()
    status, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert status in (200, 201), body
    customer = body["token"]
    status, body = api(daemon, "POST", "/api/v1/reports/run", token=customer,
                       body={"day": "2026-01-01"})
    assert status == 403, body
    for bad in ("2026-02-30", "26-01-01", "2026-1-1", "yesterday", "", 20260101):
        status, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": bad})
        assert status == 400, (bad, body)
    status, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": "2020-01-01"})
    assert (status, body) == (200, {"day": "2020-01-01", "sent": 0})


def test_metrics_count_deliveries_and_need_the_admin_token(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=accounts()).start()
    r = daemon.sendmail(["good@example.net", "reject-1@example.net"], "Subject: m\n\nhi\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: failed_count(daemon, "demo") == 1, what="the failure")
    wait_for(lambda: any(m["rcpt_tos"] == ["good@example.net"] for m in relay.messages()),
             what="the delivery")

    def scraped():
        status, text = metrics(daemon)
        return text if status == 200 and metric(text, "mailwarden_delivered_total") >= 1 else None

    text = wait_for(scraped, what="metrics after the delivery")
    assert metric(text, "mailwarden_submitted_total") >= 1
    assert metric(text, "mailwarden_failed_total") == 1
    assert metric(text, "mailwarden_expired_total") == 0
    assert 'mailwarden_queue_messages{state="held"} 0' in text
    assert "# TYPE mailwarden_delivery_latency_seconds histogram" in text
    status, text = metrics(daemon, token=ADMIN_TOKEN)
    assert status == 200 and "mailwarden_delivered_total" in text
    status, _ = metrics(daemon, token="not-a-valid-token")
    assert status == 401
    # Loopback without a token is every local user's script: refused.
    status, _ = metrics(daemon, token=None)
    assert status == 401
