"""Bounces that come later (docs/bounces.md): the signed return path the relay is given, the
bounce listener that takes DSNs, plain bounces and automatic replies for it, and the failure
categories in the errors list, the report and /metrics. relay_peer.py refuses local parts
starting with "reject" with 550 5.1.1; test_real_postfix_* puts a private Postfix in between."""
import datetime
import email
import email.policy
import os
import pathlib
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import HERE, api, free_port, metrics, order_message, status, wait_for, Relay

DOMAIN = "bounces.test"
SAMPLES = HERE.parent / "data" / "bounces"
RETURN_PATH = re.compile(r"^mw-(\d+)-(\d+)-([0-9a-f]{16})@bounces\.test$")


def bounce_daemon(make_daemon, relay, **policy):
    port = free_port()
    settings = {"bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{port}"]}}
    if policy:
        settings["policy"] = policy
    daemon = make_daemon(relay=relay, settings=settings).start()
    daemon.bounce_port = port
    return daemon


def send_order(daemon, relay, tag, to):
    """Submits an order to `to` and returns the envelope sender the relay was given, once the
    daemon has stored the relay's answer (as a real bounce comes after it)."""
    r = daemon.sendmail(["-t", "-i"], order_message(tag, to))
    assert r.returncode == 0, r.stderr
    m = wait_for(lambda: [m for m in relay.messages() if f"order {tag}".encode() in m["data"]],
                 what=f"order {tag} at the relay")[0]
    outcome_stored(daemon, m)
    return m


def outcome_stored(daemon, m):
    """Waits for the outcome of the message the relay got as m (named by its return path): the
    relay holds it a moment before the daemon commits the relay's answer."""
    message_id = int(RETURN_PATH.match(m["mail_from"]).group(1))
    # Recipient statuses: 0 pending, 1 sent, 2 failed (src/store/schema.h).
    wait_for(lambda: daemon.query("SELECT count(*) FROM recipients WHERE message_id = ? "
                                  "AND status = 0", message_id) == [(0,)],
             what=f"the outcome of message {message_id} to be stored")


def sample(name, return_path):
    return (SAMPLES / name).read_text().replace("RETURN_PATH", return_path).replace("\n", "\r\n")


def give_bounce(daemon, return_path, message, sender=""):
    """Hands a bounce to the bounce listener as a relay would: returns (code, reply) of DATA."""
    with smtplib.SMTP("127.0.0.1", daemon.bounce_port, timeout=30) as s:
        s.ehlo("relay.example.net")
        s.mail(sender)
        code, reply = s.rcpt(return_path)
        if code != 250:
            return code, reply
        return s.data(message.encode())


def errors(daemon, name="demo"):
    code, body = api(daemon, "GET", f"/api/v1/accounts/{name}/email/errors")
    assert code == 200, body
    return body["items"]


def bounces_metric(daemon, category):
    code, text = metrics(daemon)
    assert code == 200
    for line in text.splitlines():
        if line.startswith(f'mailwarden_bounces_total{{category="{category}"}} '):
            return float(line.split()[1])
    raise AssertionError(f"no bounces_total for {category}:\n{text}")


def test_refusal_at_handover_gets_a_category_in_errors_and_metrics(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["-t", "-i"], order_message("1", to="reject-a@example.net"))
    assert r.returncode == 0, r.stderr
    items = wait_for(lambda: errors(daemon), what="the refusal in the errors list")
    assert items[0]["category"] == "bad_mailbox"
    assert items[0]["category_text"].startswith("The address does not exist")
    assert "550 5.1.1" in items[0]["reply"]
    assert bounces_metric(daemon, "bad_mailbox") == 1
    assert bounces_metric(daemon, "spam_block") == 0
    # Nothing of the return path without bounces.domain: the script's sender goes as it is.
    assert relay.messages() == [] or all(
        not RETURN_PATH.match(m["mail_from"]) for m in relay.messages())


def test_return_path_names_the_message_and_leaves_the_message_alone(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "rp", "buyer@example.net")
    match = RETURN_PATH.match(m["mail_from"])
    assert match, m["mail_from"]
    message_id = int(match.group(1))
    # The original envelope sender stays with the message; From: and the body are untouched.
    kept = daemon.query("SELECT sender FROM messages WHERE id = ?", message_id)[0][0]
    assert kept and not RETURN_PATH.match(kept), kept
    assert b"From: shop@example.com" in m["data"]
    assert m["mail_from"].encode() not in m["data"]
    secret = (daemon.root / "var" / "bounces.secret")
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0o600


def test_dsn_failure_is_an_error_of_that_message_and_recipient(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "dsn", "nobody@dest.example")
    before = status(daemon)["errors"]
    code, reply = give_bounce(daemon, m["mail_from"], sample("postfix-dsn.eml", m["mail_from"]))
    assert code == 250, reply
    items = errors(daemon)
    assert len(items) == 1, items
    e = items[0]
    assert e["recipient"] == "nobody@dest.example"
    assert e["category"] == "bad_mailbox"
    assert "5.1.1" in e["reply"] and "User unknown in local recipient table" in e["reply"]
    assert "relay.example.net" in e["reply"]  # the reporting MTA
    assert e["subject"] == "order dsn"
    assert status(daemon)["errors"] == before + 1
    assert bounces_metric(daemon, "bad_mailbox") == 1
    # Passed on to the script's own envelope sender, with the null sender (bounces.forward).
    sender = daemon.query("SELECT sender FROM messages WHERE subject = 'order dsn'")[0][0]
    forwarded = wait_for(lambda: [x for x in relay.messages() if x["rcpt_tos"] == [sender]],
                         what="the bounce passed on")
    assert forwarded[0]["mail_from"] == ""
    assert b"User unknown in local recipient table" in forwarded[0]["data"]
    # The same DSN again (a relay that lost our 250) counts nothing more.
    code, _ = give_bounce(daemon, m["mail_from"], sample("postfix-dsn.eml", m["mail_from"]))
    assert code == 250
    assert len(errors(daemon)) == 1 and status(daemon)["errors"] == before + 1

    # In the day's report, in the customer's words.
    today = datetime.date.today().isoformat()
    code, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": today})
    assert (code, body) == (200, {"day": today, "sent": 1})
    report = wait_for(lambda: [x for x in relay.messages() if x["rcpt_tos"] == ["owner@example.com"]],
                      what="the report")[0]
    parsed = email.message_from_bytes(report["data"], policy=email.policy.default)
    text = parsed.get_body(("plain",)).get_content()
    assert "nobody@dest.example" in text and "5.1.1" in text
    assert "The address does not exist" in text


def test_delayed_dsn_is_noted_not_counted(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "slow", "slow@dest.example")
    code, reply = give_bounce(daemon, m["mail_from"], sample("postfix-dsn.eml", m["mail_from"]))
    assert code == 250, reply
    assert errors(daemon) == []  # nobody@ is not this message's; slow@ is only delayed
    assert status(daemon)["errors"] == 0
    note = daemon.query("SELECT note FROM recipients WHERE address = 'slow@dest.example'")[0][0]
    assert "4.4.1" in note and "Connection timed out" in note


def test_plain_text_bounce_is_recognised_from_its_text(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "old", "gone@old.example")
    code, reply = give_bounce(daemon, m["mail_from"], sample("plain-bounce.eml", m["mail_from"]))
    assert code == 250, reply
    items = errors(daemon)
    assert len(items) == 1
    assert items[0]["recipient"] == "gone@old.example"
    assert items[0]["category"] == "bad_mailbox"
    assert "550 5.1.1 user unknown" in items[0]["reply"]


def test_an_unrecognised_bounce_is_kept_unclassified(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "odd", "odd@old.example")
    code, reply = give_bounce(daemon, m["mail_from"],
                              "From: someone@old.example\r\nSubject: about your order\r\n\r\n"
                              "This did not work out.\r\n")
    assert code == 250, reply
    items = errors(daemon)
    assert [i["category"] for i in items] == ["unclassified"]
    assert "about your order" in items[0]["reply"]


def test_auto_reply_is_not_an_error(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "away", "reader@mailbox.example")
    code, reply = give_bounce(daemon, m["mail_from"], sample("auto-reply.eml", m["mail_from"]))
    assert code == 250, reply
    assert errors(daemon) == []
    assert status(daemon)["errors"] == 0


def test_forged_or_foreign_recipients_are_refused_and_nothing_is_recorded(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    m = send_order(daemon, relay, "forge", "nobody@dest.example")
    match = RETURN_PATH.match(m["mail_from"])
    message_id, account, sig = match.groups()
    forged = [
        f"mw-{message_id}-{account}-{'0' * 16}@{DOMAIN}",
        f"mw-{message_id}-{int(account) + 1}-{sig}@{DOMAIN}",
        f"mw-{message_id}-{account}-{sig}@elsewhere.test",
        "postmaster@bounces.test",
        "someone@example.org",
    ]
    for address in forged:
        code, reply = give_bounce(daemon, address, sample("postfix-dsn.eml", address))
        assert code == 550, (address, code, reply)
    assert errors(daemon) == []
    assert status(daemon)["errors"] == 0
    # No AUTH is offered, and none is taken.
    with smtplib.SMTP("127.0.0.1", daemon.bounce_port, timeout=30) as s:
        code, features = s.ehlo("x")
        assert b"AUTH" not in features and b"STARTTLS" not in features


def test_bounce_for_a_purged_message_is_taken_and_ignored(make_daemon, relay):
    daemon = bounce_daemon(make_daemon, relay)
    assert api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})[0] == 200
    r = daemon.sendmail(["-t", "-i"], order_message("held", to="nobody@dest.example"))
    assert r.returncode == 0
    message_id = wait_for(lambda: daemon.query("SELECT id FROM messages ORDER BY id DESC LIMIT 1"),
                          what="the held message")[0][0]
    account = daemon.query("SELECT id FROM accounts WHERE name = 'demo'")[0][0]
    assert api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "PURGE"})[0] == 200
    wait_for(lambda: status(daemon)["state"] == "active", what="the purge's end")
    # A return path the daemon signed for the purged message (as the relay would have had it).
    signed = subprocess.run(
        ["python3", "-c",
         "import hmac,hashlib,sys;k=open(sys.argv[1]).read().strip().encode();"
         "print(hmac.new(k,sys.argv[2].encode(),hashlib.sha256).hexdigest()[:16])",
         str(daemon.root / "var" / "bounces.secret"), f"{message_id}.{account}"],
        capture_output=True, text=True, check=True).stdout.strip()
    return_path = f"mw-{message_id}-{account}-{signed}@{DOMAIN}"
    code, reply = give_bounce(daemon, return_path, sample("postfix-dsn.eml", return_path))
    assert code == 250, reply
    assert errors(daemon) == []
    assert daemon.proc.poll() is None
    assert "no such message" in daemon.log_text()


# --- A real Postfix as the relay ---


class PrivatePostfix:
    """A private Postfix instance (its own configuration, queue and data folders; smtpd on a
    loopback port; chroot off), as bench/compare-postfix starts one. It relays everything to
    `destination` and, by its transport_maps, the bounces' domain to mailwarden's listener."""

    def __init__(self, root, destination_port, bounce_port):
        self.root = pathlib.Path(root)
        self.conf, self.queue, self.data = (self.root / n for n in ("conf", "queue", "data"))
        for d in (self.conf, self.queue, self.data):
            d.mkdir(parents=True)
        self.root.chmod(0o755)
        shutil.chown(self.data, "postfix")
        self.port = free_port()
        (self.conf / "main.cf").write_text(f"""compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = relay.test
myorigin = relay.test
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{destination_port}
transport_maps = inline:{{ {DOMAIN}=smtp:[127.0.0.1]:{bounce_port} }}
smtpd_relay_restrictions = permit_mynetworks, reject
maillog_file = {self.data}/maillog
maillog_file_prefixes = {self.root}
""")
        (self.conf / "master.cf").write_text(f"""127.0.0.1:{self.port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")

    def start(self):
        subprocess.run(["postfix", "-c", str(self.conf), "start"], check=True,
                       capture_output=True, timeout=120)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(up, timeout=30, what="Postfix's smtpd")
        return self

    def stop(self):
        pid_file = self.queue / "pid" / "master.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        subprocess.run(["postfix", "-c", str(self.conf), "stop"], capture_output=True, timeout=120)
        if pid:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.1)

    def log(self):
        path = self.data / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("postfix"),
                    reason="needs root and Postfix installed (a private instance is started)")
def test_real_postfix_dsn_comes_back_as_a_categorised_error(make_daemon, tmp_path):
    # The destination: it refuses reject-... with 550 5.1.1, after Postfix has queued the mail.
    destination = Relay(tmp_path / "destination").start()
    bounce_port = free_port()
    # Postfix's own user must reach its folders: not under pytest's private tmp_path.
    postfix_root = tempfile.mkdtemp(prefix="mw-postfix-")
    os.chmod(postfix_root, 0o755)
    postfix = PrivatePostfix(pathlib.Path(postfix_root) / "postfix", destination.port, bounce_port)
    relay = Relay(tmp_path / "unused")  # the daemon's relay is Postfix
    relay.port = postfix.port
    daemon = make_daemon(relay=relay, settings={
        "bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{bounce_port}"]}}).start()
    postfix.start()
    try:
        r = daemon.sendmail(["-t", "-i"], order_message("pf", to="reject-gone@dest.test"))
        assert r.returncode == 0, r.stderr
        # Postfix takes it (250: nothing failed at hand-over), then the destination refuses it
        # and Postfix's own DSN comes back through its transport map.
        items = wait_for(lambda: errors(daemon), timeout=60,
                         what=f"the DSN in the errors list; Postfix log:\n{postfix.log()}")
        e = items[0]
        assert e["recipient"] == "reject-gone@dest.test"
        assert e["category"] == "bad_mailbox"
        assert "5.1.1" in e["reply"] and "recipient rejected" in e["reply"]
        assert "relay.test" in e["reply"]
        assert "result=sent" in daemon.log_text()  # Postfix did accept it at hand-over
        assert status(daemon)["errors"] == 1
        today = datetime.date.today().isoformat()
        code, body = api(daemon, "POST", "/api/v1/reports/run", body={"day": today})
        assert (code, body) == (200, {"day": today, "sent": 1})
        # The report goes out through Postfix to the destination, which takes owner@.
        report = wait_for(
            lambda: [x for x in destination.messages() if x["rcpt_tos"] == ["owner@example.com"]],
            timeout=60, what="the report at the destination")[0]
        parsed = email.message_from_bytes(report["data"], policy=email.policy.default)
        text = parsed.get_body(("plain",)).get_content()
        assert "reject-gone@dest.test" in text and "5.1.1" in text
        assert "The address does not exist" in text
    finally:
        postfix.stop()
        destination.stop()
        shutil.rmtree(postfix_root, ignore_errors=True)


def test_a_bounce_is_sent_to_webhooks_signed_once(make_daemon, relay, tmp_path):
    from test_webhooks import SECRET, Receiver
    receiver = Receiver(free_port()).start()
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    port = free_port()
    daemon = make_daemon(relay=relay, settings={
        "bounces": {"domain": DOMAIN, "listen": [f"127.0.0.1:{port}"]}})
    daemon.config.write_text(daemon.config.read_text() + f"""
[[webhook]]
url = "http://127.0.0.1:{receiver.port}/hooks"
secret_file = "{tmp_path / 'hook.secret'}"
events = ["message.bounced"]
""")
    daemon.start()
    daemon.bounce_port = port
    try:
        m = send_order(daemon, relay, "hooked", "nobody@dest.example")
        for _ in range(2):  # the same DSN twice: one event
            code, reply = give_bounce(daemon, m["mail_from"],
                                      sample("postfix-dsn.eml", m["mail_from"]))
            assert code == 250, reply
        events = wait_for(lambda: receiver.events, what="the bounce's event")
        assert receiver.bad_signatures == 0
        e = events[0]
        assert e["type"] == "message.bounced" and e["account"] == "demo"
        assert e["data"]["version"] == 1
        assert e["data"]["message"] == int(RETURN_PATH.match(m["mail_from"]).group(1))
        [r] = e["data"]["recipients"]
        assert r["address"] == "nobody@dest.example"
        assert r["status"] == "failed" and r["category"] == "bad_mailbox"
        assert "5.1.1" in r["diagnostic"]
        # The outbox empty: every event written was sent, and the repeat wrote none.
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM events")[0][0] == 0,
                 what="the outbox empty")
        assert len(receiver.events) == 1
    finally:
        receiver.stop()
