"""Mail with lines over 998 bytes reaches a relay that enforces RFC 5321's line limit (the test
relay, aiosmtpd, answers such a line with "500 Line too long"), whether it came through PHP's
mail() or over SMTP submission, and the recipient reads what the script wrote."""
import base64
import email
import email.policy
import os
import smtplib
import subprocess

import pytest

from conftest import BIN, api, wait_for

# A page as a shop's template engine writes it: 5,000 characters of HTML on one line.
HTML = "<html><body>" + "".join(
    f'<p class="row">Zamówienie {i}: żółta łódź, 100% gotowe</p>' for i in range(120)) + "</body></html>"
assert len(HTML) > 5000
LONG_SUBJECT = "Your order " + " ".join(f"item-{i}" for i in range(250))  # about 2,000 bytes
PNG = bytes(range(256)) * 8


def lines_fit(data):
    lines = data.split(b"\r\n")
    return max(len(line) for line in lines) <= 998 and b"\n" not in data.replace(b"\r\n", b"")


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def run_php_mail(daemon, tmp_path, to, subject, body, headers):
    script = tmp_path / "send.php"
    script.write_text(
        "<?php\n"
        f"$ok = mail({php_string(to)}, {php_string(subject)}, {php_string(body)}, "
        f"{php_string(headers)});\n"
        "exit($ok ? 0 : 1);\n")
    return subprocess.run(
        ["php", "-n", "-d", f"sendmail_path={BIN / 'mailwarden-sendmail'} -t -i", str(script)],
        env=dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket)), capture_output=True,
        timeout=30)


def php_string(text):
    """A PHP string literal holding text's bytes exactly."""
    return '"' + "".join(f"\\x{b:02x}" for b in text.encode()) + '"'


def test_the_test_relay_refuses_a_line_over_the_limit(relay):
    """The premise of these tests: sent as it came, such mail would be refused."""
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=30) as s:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("a@example.com", ["b@example.net"], b"Subject: s\r\n\r\n" + b"x" * 1500 + b"\r\n")
    assert refused.value.smtp_code == 500 and b"Line too long" in refused.value.smtp_error
    assert relay.messages() == []


def test_php_mail_with_a_5000_character_html_line_arrives_whole(make_daemon, relay, tmp_path):
    daemon = make_daemon(relay=relay).start()
    php = run_php_mail(daemon, tmp_path, "bob@example.net", LONG_SUBJECT, HTML,
                       "From: Shop <shop@example.com>\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: text/html; charset=UTF-8")
    assert php.returncode == 0, php.stderr
    msgs = wait_for(relay.messages, what="the HTML mail at the strict relay")
    data = msgs[0]["data"]
    assert lines_fit(data)
    message = parse(data)
    assert message.get_content_type() == "text/html"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.get_content().rstrip("\r\n") == HTML
    # The long subject arrives folded, and unfolds to what the script gave.
    raw_subject = data.split(b"\r\nSubject:", 1)[1].split(b"\r\n", 1)[0]
    assert len(raw_subject) < len(LONG_SUBJECT)
    assert str(message["Subject"]) == LONG_SUBJECT


def test_held_long_line_mail_shows_the_form_that_leaves(make_daemon, relay, tmp_path):
    daemon = make_daemon(relay=relay).start()
    assert api(daemon, "POST", "/api/v1/accounts/demo/email/request",
               body={"action": "BLOCK"})[0] == 200
    php = run_php_mail(daemon, tmp_path, "bob@example.net", LONG_SUBJECT, HTML,
                       "From: shop@example.com\r\nContent-Type: text/html; charset=UTF-8")
    assert php.returncode == 0, php.stderr
    code, held = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held")
    assert code == 200 and len(held["items"]) == 1, held
    code, shown = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{held['items'][0]['id']}")
    assert code == 200, shown
    assert "Content-Transfer-Encoding: quoted-printable" in shown["headers"]
    assert "MIME-Version: 1.0" in shown["headers"]
    assert api(daemon, "POST", "/api/v1/accounts/demo/email/request",
               body={"action": "UNBLOCK"})[0] == 200
    data = wait_for(relay.messages, what="the released mail")[0]["data"]
    # What the panel showed is the header section that left, byte for byte.
    left = data.split(b"\r\n\r\n", 1)[0].decode()
    assert shown["headers"].replace("\r\n", "\n").strip() == left.replace("\r\n", "\n").strip()
    assert parse(data).get_content().rstrip("\r\n") == HTML


def test_php_mail_attachment_and_raw_utf8_are_unchanged(make_daemon, relay, tmp_path):
    daemon = make_daemon(relay=relay).start()
    attachment = base64.encodebytes(PNG).decode().replace("\n", "\r\n")
    body = ("--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "\r\nZażółć gęślą jaźń: your invoice.\r\n"
            "--b1\r\nContent-Type: image/png; name=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"a.png\"\r\n\r\n" + attachment +
            "--b1--\r\n")
    php = run_php_mail(daemon, tmp_path, "bob@example.net", "Faktura Zażółć", body,
                       "From: shop@example.com\r\nMIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=\"b1\"")
    assert php.returncode == 0, php.stderr
    data = wait_for(relay.messages, what="the mail with the attachment")[0]["data"]
    assert lines_fit(data)
    assert "Subject: Faktura Zażółć\r\n".encode() in data
    assert body.encode() in data
    parts = list(parse(data).iter_attachments())
    assert len(parts) == 1 and parts[0].get_content() == PNG


def test_smtp_submission_with_long_lines_arrives_whole(smtp_daemon, relay):
    attachment = base64.encodebytes(PNG).decode().replace("\n", "\r\n")
    long_header = "X-Campaign: " + " ".join(f"tag{i}" for i in range(300))
    message = ("From: shop@example.com\r\nTo: bob@example.net\r\nSubject: Zamówienie nr 7\r\n"
               f"{long_header}\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
               "--b1\r\nContent-Type: text/html; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n" + HTML + "\r\n"
               "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               "\r\nZażółć gęślą jaźń.\r\n"
               "--b1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
               "Content-Disposition: attachment; filename=\"a.png\"\r\n\r\n" + attachment +
               "--b1--\r\n").encode()
    with smtplib.SMTP("127.0.0.1", smtp_daemon.smtp_port, timeout=30) as s:
        s.login("demo", smtp_daemon.smtp_password)
        s.sendmail("shop@example.com", ["bob@example.net"], message)
    data = wait_for(relay.messages, what="the SMTP mail at the strict relay")[0]["data"]
    assert lines_fit(data)
    assert "Subject: Zamówienie nr 7\r\n".encode() in data
    parsed = parse(data)
    assert " ".join(str(parsed["X-Campaign"]).split()) == long_header[len("X-Campaign: "):]
    html, text = [p for p in parsed.walk() if p.get_content_maintype() == "text"]
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert html.get_content() == HTML
    # The parts without long lines are byte for byte what was sent.
    assert ("Content-Transfer-Encoding: 8bit\r\n\r\nZażółć gęślą jaźń.\r\n").encode() in data
    assert attachment.encode() + b"--b1--\r\n" in data
    assert list(parsed.iter_attachments())[0].get_content() == PNG
