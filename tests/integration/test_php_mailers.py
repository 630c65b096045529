"""PHP mailers as sites and frameworks use them, through the drop-in: Symfony Mailer (Laravel 9
and later) and SwiftMailer (Laravel up to 8) with their default `sendmail -bs`, and Symfony's
`-t`. Debian's php-symfony-mailer and php-swiftmailer."""
import os
import subprocess

import pytest

from conftest import BIN, api, wait_for

SYMFONY = """<?php
require '/usr/share/php/Symfony/Component/Mailer/autoload.php';
use Symfony\\Component\\Mailer\\Envelope;
use Symfony\\Component\\Mailer\\Mailer;
use Symfony\\Component\\Mailer\\Transport\\SendmailTransport;
use Symfony\\Component\\Mime\\Address;
use Symfony\\Component\\Mime\\Email;

[$_, $command, $tag, $count] = $argv;
$mailer = new Mailer(new SendmailTransport($command));
for ($i = 0; $i < (int) $count; $i++) {
    $email = (new Email())
        ->from(new Address('shop@example.com', 'Shop'))
        ->to('bob@example.net')
        ->cc('carol@example.org')
        ->bcc('hidden@example.org')
        ->subject("order $tag-$i")
        ->text("Your order $tag-$i has shipped.");
    $envelope = new Envelope(new Address('bounces@example.com'), [
        new Address('bob@example.net'), new Address('carol@example.org'),
        new Address('hidden@example.org')]);
    $mailer->send($email, $envelope);
}
echo "sent\\n";
"""

SWIFT = """<?php
require_once '/usr/share/php/Swift/autoload.php';

[$_, $command, $tag, $count] = $argv;
$mailer = new Swift_Mailer(new Swift_SendmailTransport($command));
for ($i = 0; $i < (int) $count; $i++) {
    $message = (new Swift_Message("order $tag-$i"))
        ->setFrom(['shop@example.com' => 'Shop'])
        ->setReturnPath('bounces@example.com')
        ->setTo(['bob@example.net'])
        ->setCc(['carol@example.org'])
        ->setBody("Your order $tag-$i has shipped.");
    if ($mailer->send($message) !== 2) {
        fwrite(STDERR, "not sent to both recipients\\n");
        exit(1);
    }
}
echo "sent\\n";
"""

# What each mailer puts in the envelope: the sender it was given, the recipients it was given
# (Symfony's explicit Envelope with a Bcc; SwiftMailer's To and Cc).
MAILERS = {
    "symfony_bs": (SYMFONY, "-bs", ["bob@example.net", "carol@example.org", "hidden@example.org"]),
    "symfony_t": (SYMFONY, "-t", ["bob@example.net", "carol@example.org", "hidden@example.org"]),
    "swiftmailer_bs": (SWIFT, "-bs", ["bob@example.net", "carol@example.org"]),
}


def run_php(daemon, tmp_path, source, flags, tag, count):
    script = tmp_path / "mailer.php"
    script.write_text(source)
    command = f"{BIN / 'mailwarden-sendmail'} {flags}"
    return subprocess.run(
        ["php", "-d", "error_reporting=22527", str(script), command, tag, str(count)],
        env=dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket)), capture_output=True,
        text=True, timeout=60)


def messages_tagged(relay, tag):
    return [m for m in relay.messages() if f"Subject: order {tag}-".encode() in m["data"]]


def status(daemon):
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email")
    assert code == 200, body
    return body


@pytest.mark.parametrize("mailer", sorted(MAILERS))
def test_php_mailer_is_delivered_counted_and_held_while_blocked(make_daemon, relay, tmp_path,
                                                                mailer):
    source, flags, recipients = MAILERS[mailer]
    daemon = make_daemon(relay=relay).start()

    # Three messages from one script: with -bs, one SMTP session.
    php = run_php(daemon, tmp_path, source, flags, "a", 3)
    assert php.returncode == 0 and "sent" in php.stdout, php.stdout + php.stderr
    sent = wait_for(lambda: len(messages_tagged(relay, "a")) == 3 and messages_tagged(relay, "a"),
                    what="the three messages at the relay")
    for m in sent:
        assert m["mail_from"] == "bounces@example.com"
        assert sorted(m["rcpt_tos"]) == recipients
        headers = m["data"].split(b"\r\n\r\n", 1)[0]
        assert b"Bcc:" not in headers and b"hidden@example.org" not in headers
        assert f"uid {os.getuid()}".encode() in headers  # the Received line: the script's uid
    wait_for(lambda: status(daemon)["sent"] == 3, what="the account's sent counter")

    # Blocked: the script still succeeds, its mail is held, then released by an unblock.
    assert api(daemon, "POST", "/api/v1/accounts/demo/email/request",
               body={"action": "BLOCK"})[0] == 200
    php = run_php(daemon, tmp_path, source, flags, "b", 2)
    assert php.returncode == 0 and "sent" in php.stdout, php.stdout + php.stderr
    assert status(daemon)["held"] == 2
    assert messages_tagged(relay, "b") == []
    assert api(daemon, "POST", "/api/v1/accounts/demo/email/request",
               body={"action": "UNBLOCK"})[0] == 200
    released = wait_for(lambda: len(messages_tagged(relay, "b")) == 2 and messages_tagged(relay, "b"),
                        what="the held messages after the unblock")
    assert all(m["mail_from"] == "bounces@example.com" for m in released)
    wait_for(lambda: status(daemon)["sent"] == 5, what="the sent counter after the release")


def smtp_session(daemon, text, uid=None):
    r = daemon.sendmail(["-bs"], text.encode(), uid=uid)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_sendmail_bs_pipelined_session_stores_each_message(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    rc, out, err = smtp_session(
        daemon,
        "EHLO web\r\nMAIL FROM:<shop@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
        "Subject: first\r\n\r\n..dot-stuffed\r\n.\r\n"
        "MAIL FROM:<>\r\nRCPT TO:<carol@example.org>\r\nRCPT TO:<dave@example.org>\r\nDATA\r\n"
        "Subject: second\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    assert rc == 0, err
    lines = out.split("\r\n")
    assert lines[0].startswith("220 ")
    assert "250-PIPELINING" in lines
    assert sum(1 for line in lines if line.startswith("250 2.0.0 Ok: queued as ")) == 2, out
    assert lines[-2] == "221 2.0.0 Bye"
    msgs = wait_for(lambda: len(relay.messages()) == 2 and relay.messages(), what="both messages")
    by_subject = {m["data"].split(b"Subject: ")[1].split(b"\r\n")[0]: m for m in msgs}
    assert by_subject[b"first"]["mail_from"] == "shop@example.com"
    assert by_subject[b"first"]["rcpt_tos"] == ["bob@example.net"]
    assert by_subject[b"first"]["data"].endswith(b"\r\n\r\n.dot-stuffed\r\n")
    assert by_subject[b"second"]["mail_from"] == ""
    assert sorted(by_subject[b"second"]["rcpt_tos"]) == ["carol@example.org", "dave@example.org"]


def test_sendmail_bs_answers_a_refusal_and_goes_on(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    rc, out, _ = smtp_session(
        daemon,
        "HELO web\r\nMAIL FROM:<shop@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
        "Subject: s\r\nX-Long:" + "a" * 1200 + "\r\n\r\nbody\r\n.\r\n"
        "MAIL FROM:<shop@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
        "Subject: fine\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    assert rc == 0
    assert '554 5.6.0 a line of the "X-Long" header is 1207 bytes long' in out, out
    assert "250 2.0.0 Ok: queued as" in out
    msgs = wait_for(relay.messages, what="the second message")
    assert len(msgs) == 1 and b"Subject: fine" in msgs[0]["data"]


def test_sendmail_bs_for_a_uid_without_account_is_refused_with_550(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    rc, out, _ = smtp_session(
        daemon, "EHLO web\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
                "Subject: s\r\n\r\nx\r\n.\r\nQUIT\r\n", uid=65534)
    assert rc == 0
    assert "550 5.7.1 uid 65534 has no mail account here" in out, out
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


def test_sendmail_bs_cut_short_in_data_stores_nothing(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    rc, out, err = smtp_session(
        daemon, "EHLO web\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
                "Subject: s\r\n\r\nhalf a mess")
    assert rc == 75 and "not sent" in err
    assert "354 " in out
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


def test_sendmail_bs_without_a_daemon_answers_451(tmp_path):
    env = dict(os.environ, MAILWARDEN_SOCKET=str(tmp_path / "nothing.sock"))
    r = subprocess.run([str(BIN / "mailwarden-sendmail"), "-bs"],
                       input=b"EHLO web\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\n"
                             b"DATA\r\nQUIT\r\n", capture_output=True, env=env, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 0
    assert "\r\n451 4.3.0 the mail daemon does not answer" in out, out
    assert out.endswith("221 2.0.0 Bye\r\n")
