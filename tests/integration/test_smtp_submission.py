"""SMTP submission for scripts that speak SMTP: same store, states and delivery as the drop-in."""
import os
import smtplib
import socket
import subprocess

import pytest

from conftest import api, free_port, subjects, wait_for


def swaks(daemon, *args, to="bob@example.net", auth="PLAIN", password=None):
    cmd = ["swaks", "--server", f"127.0.0.1:{daemon.smtp_port}", "--from", "shop@example.com",
           "--to", to, "--auth", auth, "--auth-user", "demo",
           "--auth-password", password or daemon.smtp_password, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_swaks_auth_plain_and_login_are_delivered(smtp_daemon, relay):
    for auth in ("PLAIN", "LOGIN"):
        r = swaks(smtp_daemon, "--header", f"Subject: via swaks {auth}", auth=auth)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "250 2.0.0" in r.stdout
    r = swaks(smtp_daemon, "--pipeline", "--header", "Subject: via swaks pipelined")
    assert r.returncode == 0, r.stdout + r.stderr
    msgs = wait_for(lambda: len(relay.messages()) == 3 and relay.messages(), what="3 messages at the relay")
    for m in msgs:
        assert m["mail_from"] == "shop@example.com" and m["rcpt_tos"] == ["bob@example.net"]
        headers = m["data"].decode().split("\r\n\r\n", 1)[0]
        assert "from account demo" in headers and "with ESMTPA" in headers


def test_smtplib_is_delivered(smtp_daemon, relay):
    with smtplib.SMTP("127.0.0.1", smtp_daemon.smtp_port, timeout=30) as s:
        s.ehlo("app.example.net")
        s.login("demo", smtp_daemon.smtp_password)
        refused = s.sendmail("app@example.com", ["carol@example.org"],
                             "Subject: from smtplib\r\n\r\nHello.\r\n")
        assert refused == {}
    msgs = wait_for(relay.messages, what="the smtplib message")
    assert msgs[0]["rcpt_tos"] == ["carol@example.org"]


def test_wrong_password_and_no_auth_are_refused(smtp_daemon, relay):
    r = swaks(smtp_daemon, password="wrong-password")
    assert r.returncode != 0 and "535" in r.stdout
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{smtp_daemon.smtp_port}", "--from",
                        "a@example.com", "--to", "b@example.net"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "530" in r.stdout
    assert smtp_daemon.query("SELECT count(*) FROM messages WHERE account_id = "
                             "(SELECT id FROM accounts WHERE name = 'demo')") == [(0,)]


def test_blocked_account_smtp_mail_is_held_then_released(smtp_daemon, relay):
    assert api(smtp_daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})[0] == 200
    r = swaks(smtp_daemon, "--header", "Subject: held over smtp")
    assert r.returncode == 0 and "250 2.0.0" in r.stdout  # accepted, held
    code, status = api(smtp_daemon, "GET", "/api/v1/accounts/demo/email")
    assert status["held"] == 1 and relay.messages() == []
    assert api(smtp_daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "UNBLOCK"})[0] == 200
    wait_for(relay.messages, what="the held SMTP message after unblock")


@pytest.mark.parametrize("payload", [b"\n.\n", b"\n.\r\n", b"\r.\r\n"])
def test_smuggling_payloads_give_exactly_one_message(smtp_daemon, relay, payload):
    """A second message hidden behind a non-standard end of data is never a message of its own:
    it stays text of the first, which reaches the relay once, with CRLF line ends only."""
    import base64
    auth = base64.b64encode(b"\0demo\0" + smtp_daemon.smtp_password.encode())
    smuggled = (b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
    with socket.create_connection(("127.0.0.1", smtp_daemon.smtp_port), timeout=30) as s:
        f = s.makefile("rb")
        def expect(prefix):
            line = f.readline()
            while line[3:4] == b"-":
                line = f.readline()
            assert line.startswith(prefix), line
            return line
        expect(b"220")
        s.sendall(b"EHLO attacker.example\r\n"); expect(b"250")
        s.sendall(b"AUTH PLAIN " + auth + b"\r\n"); expect(b"235")
        s.sendall(b"MAIL FROM:<shop@example.com>\r\n"); expect(b"250")
        s.sendall(b"RCPT TO:<bob@example.net>\r\n"); expect(b"250")
        s.sendall(b"DATA\r\n"); expect(b"354")
        s.sendall(b"Subject: first\r\n\r\nfirst" + payload + smuggled)
        expect(b"250 2.0.0")  # one reply: the smuggled commands were data
        s.sendall(b"QUIT\r\n"); expect(b"221")
        assert f.read() == b""
    wait_for(lambda: smtp_daemon.query("SELECT count(*) FROM messages WHERE status < 2") == [(0,)],
             what="delivery of the accepted message")
    delivered = relay.messages()
    assert len(delivered) == 1
    m = delivered[0]
    assert m["mail_from"] == "shop@example.com" and m["rcpt_tos"] == ["bob@example.net"]
    assert b"Subject: first" in m["data"]
    assert b"\r\nMAIL FROM:<evil@example.com>\r\n" in m["data"]  # as text, not as a command
    assert b"\n" not in m["data"].replace(b"\r\n", b"") and b"\r" not in m["data"].replace(b"\r\n", b"")


def test_php_phpmailer_over_smtp_with_starttls_is_delivered(make_daemon, relay, tmp_path):
    """A PHP application sending the way most do: PHPMailer (Debian's libphp-phpmailer) over
    SMTP with STARTTLS and AUTH LOGIN, to a listener with a configured certificate."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    daemon = make_daemon(relay=relay, settings={"smtp": {
        "listen": [f"127.0.0.1:{port}"], "tls_cert": str(cert), "tls_key": str(key)}}).start()
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/smtp-password")
    assert code == 201, body
    script = tmp_path / "send.php"
    script.write_text(f"""<?php
require '/usr/share/php/libphp-phpmailer/autoload.php';
use PHPMailer\\PHPMailer\\PHPMailer;
$m = new PHPMailer(true);
$m->isSMTP();
$m->Host = '127.0.0.1';
$m->Port = {port};
$m->SMTPAuth = true;
$m->AuthType = 'LOGIN';
$m->Username = 'demo';
$m->Password = '{body["password"]}';
$m->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS;
$m->SMTPOptions = ['ssl' => ['verify_peer' => false, 'verify_peer_name' => false, 'allow_self_signed' => true]];
$m->setFrom('shop@example.com', 'Shop');
$m->addAddress('dave@example.net');
$m->Subject = 'via PHPMailer';
$m->Body = 'Sent through SMTP.';
$m->send();
echo "sent\\n";
""")
    r = subprocess.run(["php", str(script)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "sent" in r.stdout, r.stdout + r.stderr
    msgs = wait_for(relay.messages, what="the PHPMailer message")
    assert msgs[0]["rcpt_tos"] == ["dave@example.net"]
    headers = msgs[0]["data"].decode().split("\r\n\r\n", 1)[0]
    assert "Subject: via PHPMailer" in headers and "from account demo" in headers


def test_one_account_cannot_take_every_smtp_connection(make_daemon, relay):
    """With smtp.max_connections_per_account at 3, three SMTP clients of one account stay logged
    in and send; a fourth login of that account is told 421 and closed, while another account
    logs in and sends as usual; once one of the three quits, the account logs in again."""
    port = free_port()
    daemon = make_daemon(relay=relay, accounts=[
        {"name": "demo", "uids": [os.getuid()]}, {"name": "other", "uids": [4244]}],
        settings={"smtp": {"listen": [f"127.0.0.1:{port}"], "max_connections_per_account": 3}}).start()
    passwords = {}
    for name in ("demo", "other"):
        code, body = api(daemon, "POST", f"/api/v1/accounts/{name}/smtp-password")
        assert code == 201, body
        passwords[name] = body["password"]

    def login(name):
        # One mechanism: smtplib's login() would try the next on a refusal, and find the
        # connection closed.
        client = smtplib.SMTP("127.0.0.1", port, timeout=30)
        client.ehlo("app.example.net")
        client.user, client.password = name, passwords[name]
        client.auth("PLAIN", client.auth_plain)
        return client

    def send(client, tag):
        assert client.sendmail("shop@example.com", ["bob@example.net"],
                               f"Subject: {tag}\r\n\r\nHello.\r\n") == {}

    mine = [login("demo") for _ in range(3)]
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        login("demo")
    assert refused.value.smtp_code == 421
    assert b"Too many connections for this account" in refused.value.smtp_error
    theirs = login("other")
    send(theirs, "theirs")
    for i, client in enumerate(mine):
        send(client, f"mine-{i}")
    mine[0].quit()
    again = login("demo")
    send(again, "again")
    for client in mine[1:] + [theirs, again]:
        client.quit()

    wanted = {"theirs", "mine-0", "mine-1", "mine-2", "again"}
    wait_for(lambda: wanted <= set(subjects(relay)), what="the five sent messages at the relay")
    assert set(subjects(relay)) == wanted
    assert 'reason="too many connections of the account"' in daemon.log_text()
