"""Plans and finer limits: a plan's limit applies and an account's own wins; per-sender and
per-script limits hold back only that sender's or script's mail; the recipients cap refuses on
both paths; over_limit = "refuse" stores nothing past the limit; the unique-recipients guard
blocks; a warning notice and event at warn_at of the daily limit."""
import os
import smtplib

from conftest import api, free_port, order_tags, status, submit, wait_for


def with_plans(daemon, text):
    """Appends [[plan]] tables (TOML text) to the daemon's file before it starts."""
    daemon.config.write_text(daemon.config.read_text() + text)
    return daemon


PLANS = """
[[plan]]
name = "small"
max_per_day = 3
max_recipients = 2
"""


def message(tag, sender="shop@example.com", to="buyer@example.net", script=None):
    lines = [f"From: {sender}", f"To: {to}", f"Subject: order {tag}"]
    if script:
        lines.append(f"X-PHP-Originating-Script: {os.getuid()}:{script}")
    return "\n".join(lines) + f"\n\nOrder {tag}.\n"


def test_a_plans_limit_applies_and_an_accounts_own_wins(make_daemon, relay):
    accounts = [{"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com",
                 "plan": "small"}]
    d = with_plans(make_daemon(relay=relay, accounts=accounts), PLANS).start()
    limits = status(d)["limits"]
    assert status(d)["plan"] == "small"
    assert limits["max_per_day"] == {"value": 3, "source": "plan"}
    assert limits["max_recipients"] == {"value": 2, "source": "plan"}
    assert limits["max_per_hour"]["source"] == "server"
    for i in range(5):
        submit(d, f"p{i}")
    wait_for(lambda: len(order_tags(relay)) == 3, what="the plan's 3 a day")
    # The relay may hold the third before its outcome is committed: wait for the outcome.
    wait_for(lambda: status(d)["queued"] == 2, what="two deferred, not dropped")
    assert len(order_tags(relay)) == 3

    code, body = api(d, "PATCH", "/api/v1/accounts/demo",
                     body={"limits": {"max_per_day": 5, "max_recipients": 4}})
    assert code == 200, body
    limits = status(d)["limits"]
    assert limits["max_per_day"] == {"value": 5, "source": "account"}
    assert limits["max_recipients"] == {"value": 4, "source": "account"}
    # Effective for the next message: the two waiting go out under the account's 5.
    wait_for(lambda: len(order_tags(relay)) == 5, what="the account's own 5 a day")

    code, body = api(d, "PATCH", "/api/v1/accounts/demo", body={"plan": "gold"})
    assert code == 400 and "gold" in body["message"], body
    code, body = api(d, "PATCH", "/api/v1/accounts/demo",
                     body={"plan": None, "limits": {"max_recipients": None}})
    assert code == 200, body
    assert status(d)["plan"] is None
    assert status(d)["limits"]["max_recipients"] == {"value": 0, "source": "server"}


def test_a_senders_and_a_scripts_limit_hold_back_only_their_mail(make_daemon, relay):
    d = make_daemon(relay=relay, settings={"policy": {"max_per_sender_per_hour": 2,
                                                      "max_per_script_per_hour": 2}}).start()
    for i in range(4):
        r = d.sendmail(["-t", "-i"], message(f"news{i}", sender="news@shop.example"))
        assert r.returncode == 0, r.stderr
    for i in range(4):
        r = d.sendmail(["-t", "-i"], message(f"form{i}", script="/www/contact.php"))
        assert r.returncode == 0, r.stderr
    for i in range(3):
        r = d.sendmail(["-t", "-i"], message(f"order{i}", sender=f"orders{i}@shop.example"))
        assert r.returncode == 0, r.stderr
    wait_for(lambda: len(order_tags(relay)) == 7, what="the mail under the limits")
    tags = sorted(order_tags(relay))
    assert [t for t in tags if t.startswith("news")] == ["news0", "news1"]
    assert [t for t in tags if t.startswith("form")] == ["form0", "form1"]
    assert [t for t in tags if t.startswith("order")] == ["order0", "order1", "order2"]
    wait_for(lambda: status(d)["queued"] == 4, what="four waiting for their hour, none dropped")
    assert len(order_tags(relay)) == 7


def test_a_from_addresses_limit_holds_back_only_its_mail(make_daemon, relay):
    # One envelope sender (the site's), many From addresses: the From's limit holds.
    d = make_daemon(relay=relay, settings={"policy": {"max_per_from_per_hour": 2}}).start()
    for i in range(4):
        r = d.sendmail(["-t", "-i", "-f", "www@host.example"],
                       message(f"alert{i}", sender="Alerts@Shop.example"))
        assert r.returncode == 0, r.stderr
    for i in range(2):
        r = d.sendmail(["-t", "-i", "-f", "www@host.example"],
                       message(f"receipt{i}", sender=f"receipts{i}@shop.example"))
        assert r.returncode == 0, r.stderr
    wait_for(lambda: len(order_tags(relay)) == 4, what="the mail under the limit")
    tags = sorted(order_tags(relay))
    assert tags == ["alert0", "alert1", "receipt0", "receipt1"]
    wait_for(lambda: status(d)["queued"] == 2, what="two waiting for their hour, none dropped")
    assert len(order_tags(relay)) == 4
    assert status(d)["limits"]["max_per_from_per_hour"] == {"value": 2, "source": "server"}


def test_a_from_addresses_limit_refuses_with_over_limit_refuse(make_daemon, relay):
    d = make_daemon(relay=relay, settings={"policy": {"max_per_from_per_hour": 1,
                                                      "over_limit": "refuse"}}).start()
    first = d.sendmail(["-t", "-i", "-f", "www@host.example"], message("a", sender="a@shop.example"))
    assert first.returncode == 0, first.stderr
    again = d.sendmail(["-t", "-i", "-f", "www@host.example"], message("b", sender="a@shop.example"))
    assert again.returncode == 75, again
    assert b"policy.max_per_from_per_hour" in again.stderr
    other = d.sendmail(["-t", "-i", "-f", "www@host.example"], message("c", sender="c@shop.example"))
    assert other.returncode == 0, other.stderr


def test_the_recipients_cap_refuses_on_both_paths(make_daemon, relay):
    port = free_port()
    d = make_daemon(relay=relay, settings={"policy": {"max_recipients": 2},
                                           "smtp": {"listen": [f"127.0.0.1:{port}"]}}).start()
    r = d.sendmail(["-t", "-i"], message("many", to="a@x.example, b@x.example, c@x.example"))
    assert r.returncode == 65, r
    assert b"policy.max_recipients" in r.stderr
    assert d.sendmail(["-t", "-i"], message("two", to="a@x.example, b@x.example")).returncode == 0
    code, body = api(d, "POST", "/api/v1/accounts/demo/smtp-password")
    assert code == 201, body
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.login("demo", body["password"])
        s.mail("shop@example.com")
        assert s.rcpt("a@x.example")[0] == 250
        assert s.rcpt("b@x.example")[0] == 250
        code, text = s.rcpt("c@x.example")
        assert code == 452 and text.startswith(b"4.5.3"), (code, text)
    wait_for(lambda: status(d)["sent"] == 1, what="the message within the cap sent")


def test_over_limit_refuse_stores_nothing_past_the_limit(make_daemon, relay):
    port = free_port()
    d = make_daemon(relay=relay, settings={"policy": {"max_per_hour": 2, "over_limit": "refuse"},
                                           "smtp": {"listen": [f"127.0.0.1:{port}"]}}).start()
    assert submit(d, "r0").returncode == 0
    assert submit(d, "r1").returncode == 0
    r = d.sendmail(["-t", "-i"], message("r2"))
    assert r.returncode == 75, r
    assert b"policy.max_per_hour" in r.stderr
    code, body = api(d, "POST", "/api/v1/accounts/demo/smtp-password")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.login("demo", body["password"])
        s.mail("shop@example.com")
        s.rcpt("a@x.example")
        code, text = s.data(message("r3").encode())
        assert code == 451 and b"4.7.1" in text and b"max_per_hour" in text, (code, text)
    wait_for(lambda: len(order_tags(relay)) == 2, what="the two taken")
    assert d.query("SELECT COUNT(*) FROM messages m JOIN accounts a ON a.id = m.account_id "
                   "WHERE a.name = 'demo'")[0][0] == 2


def test_the_unique_recipients_guard_blocks(make_daemon, relay):
    d = make_daemon(relay=relay, settings={"policy": {"unique_recipients_per_hour": 5}}).start()
    for i in range(3):
        submit(d, f"u{i}", to="same@example.net")
    assert status(d)["state"] == "active"
    for i in range(6):
        submit(d, f"list{i}", to=f"person{i}@example.net")
    wait_for(lambda: status(d)["state"] == "blocked", what="the guard's block")
    s = status(d)
    assert s["blocked_by"] == "spam_guard"
    assert "different recipients" in s["reason"]
    # The panel words it from the code, in the customer's language.
    assert s["reason_code"] == "unique_recipients"
    assert s["reason_params"] == {"limit": 5}


def test_a_warning_notice_and_event_at_80_percent(make_daemon, relay):
    d = make_daemon(relay=relay, settings={"policy": {"max_per_day": 5}}).start()
    for i in range(4):
        submit(d, f"w{i}")
    wait_for(lambda: len(order_tags(relay)) == 4, what="four of five")
    wait_for(lambda: any("nearing its daily e-mail limit" in s
                         for s in subjects_of(relay)), what="the warning notice")
    rows = lambda: d.query("SELECT kind FROM notices")
    wait_for(lambda: ("limit.warning",) in rows(), what="the warning's claim")
    for i in range(4, 6):
        submit(d, f"w{i}")
    wait_for(lambda: ("limit.reached",) in rows(), what="the limit reached")
    # One notice a day however many more go.
    assert sum("nearing its daily" in s for s in subjects_of(relay)) == 1


def subjects_of(relay):
    out = []
    for m in relay.messages():
        for line in m["data"].decode(errors="replace").splitlines():
            if line.startswith("Subject: "):
                out.append(line[len("Subject: "):])
    return out
