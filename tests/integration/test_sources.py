"""Where the mail comes from, and one held message's headers (issue: "Statistics and the daily
error report"): a customer whose site was hacked sees which script sends the spam."""
import os
import subprocess

from conftest import BIN, api

SOURCES = "/api/v1/accounts/demo/email/sources"


def run_php(daemon, script, times):
    for _ in range(times):
        php = subprocess.run(
            ["php", "-n", "-d", f"sendmail_path={BIN / 'mailwarden-sendmail'} -t -i",
             "-d", "mail.add_x_header=1", str(script)],
            env=dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket)), capture_output=True, timeout=30)
        assert php.returncode == 0, php.stderr


def php_script(path, to, subject, sender):
    path.write_text(
        "<?php\n"
        f"$ok = mail('{to}', '{subject}', \"Buy now\\n\", 'From: {sender}', '-f{sender}');\n"
        "exit($ok ? 0 : 1);\n")
    return path


def pairs(items):
    return [(i["value"], i["count"]) for i in items]


def test_sources_list_the_sending_scripts_senders_domains_and_subjects_with_counts(make_daemon, tmp_path):
    daemon = make_daemon().start()
    spam = php_script(tmp_path / "contact.php", "alice@one.example", "Cheap pills", "shop@site.example")
    news = php_script(tmp_path / "newsletter.php", "bob@two.example, carol@ONE.example", "Newsletter",
                      "news@site.example")
    run_php(daemon, spam, 5)
    run_php(daemon, news, 2)

    code, body = api(daemon, "GET", SOURCES + "?hours=24")
    assert code == 200, body
    assert body["hours"] == 24
    uid = os.getuid()
    assert pairs(body["scripts"]) == [(f"{uid}:contact.php", 5), (f"{uid}:newsletter.php", 2)], body
    assert pairs(body["senders"]) == [("shop@site.example", 5), ("news@site.example", 2)], body
    assert pairs(body["domains"]) == [("one.example", 7), ("two.example", 2)], body
    assert pairs(body["subjects"]) == [("Cheap pills", 5), ("Newsletter", 2)], body

    code, default = api(daemon, "GET", SOURCES)
    assert code == 200 and default == body, "24 hours is the default"
    for bad in ("0", "49", "x"):
        code, reply = api(daemon, "GET", SOURCES + "?hours=" + bad)
        assert code == 400 and reply["error"] == "invalid_input", (bad, reply)


def test_held_message_headers_are_shown_without_the_body_to_its_account_only(make_daemon):
    daemon = make_daemon().start()
    code, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})
    assert code == 200
    r = daemon.sendmail(["-t", "-i"], "From: shop@site.example\nTo: alice@one.example\n"
                        "Subject: held one\n\nThe secret body text.\n")
    assert r.returncode == 0, r.stderr
    code, held = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held")
    assert code == 200 and len(held["items"]) == 1, held
    msg_id = held["items"][0]["id"]

    code, body = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{msg_id}")
    assert code == 200, body
    assert body["id"] == msg_id
    headers = body["headers"]
    assert "Subject: held one" in headers
    assert headers.startswith("Received:") and f"uid {os.getuid()}" in headers, headers
    assert "secret body" not in headers

    code, body = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{msg_id + 1000}")
    assert code == 404, body
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/messages/abc")
    assert code == 400, body

    # Another account's customer token reaches neither the headers nor the sources.
    code, _ = api(daemon, "POST", "/api/v1/accounts", body={"name": "other", "uids": []})
    assert code == 201
    code, created = api(daemon, "POST", "/api/v1/accounts/other/tokens")
    assert code == 201
    other = created["token"]
    code, body = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{msg_id}", token=other)
    assert code == 403, body
    code, body = api(daemon, "GET", SOURCES, token=other)
    assert code == 403, body
    code, body = api(daemon, "GET", f"/api/v1/accounts/other/email/messages/{msg_id}", token=other)
    assert code == 404, "the message is not the other account's"
    # Its own token reaches both.
    code, created = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    own = created["token"]
    code, body = api(daemon, "GET", f"/api/v1/accounts/demo/email/messages/{msg_id}", token=own)
    assert code == 200 and "Subject: held one" in body["headers"]
    code, body = api(daemon, "GET", SOURCES, token=own)
    assert code == 200 and pairs(body["subjects"]) == [("held one", 1)], body
