"""Outgoing content scanning with a real Rspamd (docs/scanning.md): the real daemon, the real
drop-in, the real relay peer, and Debian's Rspamd started by the tests on ports of their own."""
import os
import shutil

import pytest

from conftest import api, free_port, metrics, request, status, subjects, wait_for
from rspamd_peer import Rspamd, _free_port

pytestmark = pytest.mark.skipif(shutil.which("rspamd") is None,
                                reason="Debian's rspamd is not installed")

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
OWNER = "owner@example.com"


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    r = Rspamd(tmp_path_factory.mktemp("rspamd")).start()
    yield r
    r.stop()


def account(**extra):
    return [dict({"name": "demo", "uids": [os.getuid()], "report_to": OWNER}, **extra)]


def scanning(url, **scan):
    return {"scan": dict({"rspamd": url, "timeout": "10s"}, **scan),
            "policy": {"quarantine_per_hour": 50}}


def send(daemon, subject, body="Your order has shipped.", script=None):
    message = f"From: shop@example.com\nTo: buyer@example.net\nSubject: {subject}\n\n{body}\n"
    env = {"PHP_SCRIPT_NAME": script} if script else None
    r = daemon.sendmail(["-t", "-i"], message, env=env)
    assert r.returncode == 0, r.stderr
    return r


def quarantined(daemon, token=None):
    kwargs = {"token": token} if token else {}
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=quarantined",
                     **kwargs)
    assert code == 200, body
    return body["items"]


def scanned_metric(text, verdict):
    for line in text.splitlines():
        if line.startswith(f'mailwarden_scanned_total{{verdict="{verdict}"}} '):
            return float(line.split()[1])
    raise AssertionError(f"no scanned_total for {verdict}")


def counter(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name}")


def test_gtube_is_quarantined_and_never_reaches_the_relay_clean_mail_is_delivered(
        make_daemon, relay, rspamd):
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url)).start()
    send(daemon, "spam run", body=GTUBE)
    send(daemon, "order 1")
    wait_for(lambda: "order 1" in subjects(relay), what="the clean message at the relay")
    items = wait_for(lambda: quarantined(daemon), what="the GTUBE message in quarantine")
    assert len(items) == 1
    q = items[0]
    assert q["subject"] == "spam run"
    assert q["scan"]["state"] == "quarantined"
    assert q["scan"]["action"] == "reject"
    assert q["scan"]["score"] >= 15
    assert "GTUBE" in q["scan"]["symbols"]
    # The scheduler has delivered since (the clean one): the quarantined one stayed.
    assert "spam run" not in subjects(relay)
    # A verdict is counted just after it is stored: the quarantine may be listed a moment before.
    text = wait_for(lambda: (lambda t: scanned_metric(t, "quarantined") >= 1 and t)(
        metrics(daemon)[1]), what="the quarantine counted")
    assert scanned_metric(text, "quarantined") == 1
    assert scanned_metric(text, "clean") == 1
    assert counter(text, "mailwarden_scan_seconds_count") == 2
    # The message's details and the day's volumes carry the verdict.
    code, shown = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{q['id']}")
    assert code == 200, shown
    assert shown["scan"]["action"] == "reject"
    code, volumes = api(daemon, "GET", "/api/v1/accounts/demo/email/volumes?days=1")
    assert code == 200, volumes
    today = volumes["items"][-1]
    assert (today["scanned"], today["quarantined"], today["suspicious"]) == (2, 1, 0)


def test_mail_past_add_header_is_delivered_with_its_score_and_counted_suspicious(
        make_daemon, relay, rspamd):
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url)).start()
    send(daemon, "a suspicious offer")
    wait_for(lambda: "a suspicious offer" in subjects(relay), what="the suspicious message")
    text = metrics(daemon)[1]
    assert scanned_metric(text, "suspicious") == 1
    rows = daemon.query("SELECT scan_action, scan_score_milli, scan_symbols FROM messages")
    assert len(rows) == 1
    action, score_milli, symbols = rows[0]
    assert action == "add header"
    assert 6000 <= score_milli < 15000
    assert "MW_TEST_SUSPICIOUS" in symbols.split(",")
    code, volumes = api(daemon, "GET", "/api/v1/accounts/demo/email/volumes?days=1")
    assert volumes["items"][-1]["suspicious"] == 1


def test_rspamd_sees_the_account_and_the_script(make_daemon, relay, rspamd):
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url)).start()
    message = ("From: shop@example.com\nTo: buyer@example.net\nSubject: from evil\n"
               "X-PHP-Originating-Script: 1000:evil.php\n\nHello.\n")
    assert daemon.sendmail(["-t", "-i"], message).returncode == 0
    items = wait_for(lambda: quarantined(daemon), what="the evil script's message in quarantine")
    assert "MW_TEST_EVIL_SCRIPT" in items[0]["scan"]["symbols"]
    log = (rspamd.root / "log" / "rspamd.log").read_text(errors="replace")
    assert "user: demo" in log or "demo" in log


def test_rspamd_stopped_with_on_error_deliver_delivers_and_counts_errors(make_daemon, relay):
    nobody = f"http://127.0.0.1:{_free_port()}"  # a stopped Rspamd: nothing listens there
    daemon = make_daemon(relay=relay, accounts=account(),
                         settings=scanning(nobody, on_error="deliver")).start()
    send(daemon, "order 2", body=GTUBE)
    wait_for(lambda: "order 2" in subjects(relay), what="the unscanned message at the relay")
    text = metrics(daemon)[1]
    assert counter(text, "mailwarden_scan_errors_total") >= 1
    assert scanned_metric(text, "unscanned") == 1
    assert quarantined(daemon) == []


def test_on_error_hold_holds_until_rspamd_is_back_then_scans_and_delivers(
        make_daemon, relay, tmp_path):
    later = Rspamd(tmp_path / "rspamd-later")
    daemon = make_daemon(relay=relay, accounts=account(),
                         settings=scanning(later.url, on_error="hold")).start()
    send(daemon, "order 3")
    send(daemon, "held spam", body=GTUBE)
    wait_for(lambda: counter(metrics(daemon)[1], "mailwarden_scan_errors_total") >= 2,
             what="scans failing while Rspamd is down")
    assert subjects(relay) == []
    assert status(daemon)["queued"] == 2
    try:
        later.start()
        wait_for(lambda: "order 3" in subjects(relay), timeout=90,
                 what="the held message delivered once Rspamd is back")
        wait_for(lambda: quarantined(daemon), what="the spam quarantined once Rspamd is back")
        assert "held spam" not in subjects(relay)
    finally:
        later.stop()


def test_quarantine_per_hour_blocks_the_account_with_a_content_reason(make_daemon, relay, rspamd):
    settings = scanning(rspamd.url)
    settings["policy"]["quarantine_per_hour"] = 3
    daemon = make_daemon(relay=relay, accounts=account(), settings=settings).start()
    for i in range(3):
        send(daemon, f"phish {i}", body=GTUBE)
    wait_for(lambda: status(daemon)["state"] == "blocked", what="the content guard's block")
    s = status(daemon)
    assert s["blocked_by"] == "spam_guard"
    assert "content" in s["reason"]
    assert "3 messages quarantined" in s["reason"]
    assert s["reason_code"] == "content_quarantine"
    assert s["reason_params"] == {"quarantined": 3, "limit": 3}
    wait_for(lambda: any("was blocked" in x for x in subjects(relay)), what="the notice")
    assert not any(x.startswith("phish") for x in subjects(relay))


def test_operator_release_delivers_and_customer_release_is_refused_by_default(
        make_daemon, relay, rspamd):
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url)).start()
    send(daemon, "false positive", body=GTUBE)
    items = wait_for(lambda: quarantined(daemon), what="the message in quarantine")
    mid = items[0]["id"]
    code, token = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code in (200, 201), token
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/quarantine/release",
                     token=token["token"], body={"ids": [mid]})
    assert (code, body["error"]) == (403, "customer_release_off"), body
    assert quarantined(daemon, token=token["token"])[0]["id"] == mid  # the customer sees it
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/quarantine/release",
                     body={"ids": [mid]})
    assert (code, body) == (200, {"released": 1})
    wait_for(lambda: "false positive" in subjects(relay), what="the released message")
    assert quarantined(daemon) == []


def test_operator_delete_removes_quarantined_mail(make_daemon, relay, rspamd):
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url)).start()
    send(daemon, "to delete", body=GTUBE)
    items = wait_for(lambda: quarantined(daemon), what="the message in quarantine")
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/quarantine/delete",
                     body={"ids": [items[0]["id"]]})
    assert (code, body) == (200, {"deleted": 1})
    assert quarantined(daemon) == []
    assert status(daemon)["queued"] == 0


def test_held_mail_of_a_blocked_account_is_scanned_and_stays_held(make_daemon, relay, rspamd):
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url)).start()
    assert request(daemon, "BLOCK")[0] == 200
    send(daemon, "held clean")
    send(daemon, "held spam", body=GTUBE)
    wait_for(lambda: quarantined(daemon), what="the held spam in quarantine")
    wait_for(lambda: sorted(m["scan"]["state"] for m in api(
        daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held")[1]["items"])
        == ["quarantined", "scanned"], what="both held messages scanned")
    assert subjects(relay) == []
    assert request(daemon, "UNBLOCK")[0] == 200
    wait_for(lambda: "held clean" in subjects(relay), what="the clean held message")
    assert "held spam" not in subjects(relay)


def test_a_quarantine_is_sent_to_webhooks_signed(make_daemon, relay, rspamd, tmp_path):
    from test_webhooks import SECRET, Receiver
    receiver = Receiver(free_port()).start()
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    daemon = make_daemon(relay=relay, accounts=account(), settings=scanning(rspamd.url))
    daemon.config.write_text(daemon.config.read_text() + f"""
[[webhook]]
url = "http://127.0.0.1:{receiver.port}/hooks"
secret_file = "{tmp_path / 'hook.secret'}"
events = ["message.quarantined"]
""")
    daemon.start()
    try:
        send(daemon, "spam run", body=GTUBE)
        send(daemon, "order 1")
        events = wait_for(lambda: receiver.events, what="the quarantine's event")
        wait_for(lambda: "order 1" in subjects(relay), what="the clean message at the relay")
        assert receiver.bad_signatures == 0
        assert [e["type"] for e in receiver.events] == ["message.quarantined"]
        e = events[0]
        assert e["account"] == "demo"
        q = quarantined(daemon)[0]
        assert e["data"]["version"] == 1
        assert e["data"]["message"] == q["id"]
        assert e["data"]["action"] == "reject"
        assert e["data"]["score"] >= 15
        assert "GTUBE" in e["data"]["symbols"]
    finally:
        receiver.stop()
