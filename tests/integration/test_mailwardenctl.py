"""mailwardenctl, the operator's command line, against the real daemon: accounts, tokens,
block / unblock / purge, the held queue, the audit log, --json, and its exit codes."""
import json
import os
import subprocess

from conftest import BIN, api, free_port, order_message, wait_for


def ctl(daemon, *args, config=None):
    """Runs the real mailwardenctl with the daemon's configuration; returns CompletedProcess."""
    (daemon.root / "admin.token").chmod(0o600)  # as an operator keeps it
    cmd = [str(BIN / "mailwardenctl"), "--config", str(config or daemon.config)] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def ok(daemon, *args):
    r = ctl(daemon, *args)
    assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def field(table, name):
    """The value of one row of a FIELD/VALUE table."""
    for line in table.splitlines():
        if line.startswith(name + "  "):
            return line[len(name):].strip()
    raise AssertionError(f"no {name!r} in:\n{table}")


def test_accounts_list_shows_the_configured_account(make_daemon):
    daemon = make_daemon().start()
    out = ok(daemon, "accounts", "list")
    header, *rows = out.splitlines()
    assert header.split()[:2] == ["NAME", "STATE"]
    assert any(r.split()[:2] == ["demo", "active"] for r in rows), out
    # Columns line up: each row's STATE starts where the header's does.
    col = header.index("STATE")
    assert all(r[col:].startswith("active") for r in rows if r.startswith("demo"))


def test_accounts_add_creates_and_a_duplicate_is_refused_with_75(make_daemon):
    daemon = make_daemon().start()
    out = ok(daemon, "accounts", "add", "shop", "--uid", "5001", "--uid", "5002",
             "--report-to", "ops@shop.example", "--language", "pl", "--max-per-day", "50")
    assert 'Account "shop" created.' in out
    assert field(out, "state") == "active"
    assert field(out, "max per day") == "50"
    code, body = api(daemon, "GET", "/api/v1/accounts")
    shop = [a for a in body["items"] if a["name"] == "shop"]
    assert shop and shop[0]["uids"] == [5001, 5002] and shop[0]["language"] == "pl"

    again = ctl(daemon, "accounts", "add", "shop", "--uid", "5003")
    assert again.returncode == 75, again
    assert again.stderr.strip() == 'mailwardenctl: The account "shop" exists.'

    bad = ctl(daemon, "accounts", "add", "Bad Name", "--uid", "5004")
    assert bad.returncode == 65 and bad.stderr.startswith("mailwardenctl: "), bad
    usage = ctl(daemon, "accounts", "add", "nouid")
    assert usage.returncode == 64, usage


def test_token_create_prints_a_token_that_works(make_daemon):
    daemon = make_daemon().start()
    token = ok(daemon, "token", "create", "demo").strip()
    assert len(token) >= 32 and " " not in token
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email", token=token)
    assert code == 200 and body["account"] == "demo", body
    code, _ = api(daemon, "GET", "/api/v1/accounts", token=token)
    assert code == 403


def test_block_holds_queue_lists_held_then_unblock(make_daemon):
    daemon = make_daemon().start()
    out = ok(daemon, "block", "demo", "--reason", "spam run from contact.php")
    assert "Sending is blocked." in out
    assert field(out, "state") == "blocked"
    assert field(out, "blocked by") == "admin"
    assert field(out, "reason") == "spam run from contact.php"
    for i in range(3):
        r = daemon.sendmail(["-t", "-i"], order_message(f"held-{i}"))
        assert r.returncode == 0, r.stderr

    out = ok(daemon, "queue", "demo", "--status", "held")
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "DATE", "FROM", "TO", "SUBJECT", "SCRIPT", "SIZE"]
    assert len(rows) == 3, out
    assert all("shop@example.com" in r and "buyer@example.net" in r for r in rows)
    assert sorted(r.split("order ")[1].split()[0] for r in rows) == ["held-0", "held-1", "held-2"]
    assert field(ok(daemon, "accounts", "show", "demo"), "held") == "3"

    limited = ok(daemon, "queue", "demo", "--status", "held", "--limit", "2").splitlines()
    assert len(limited) == 4 and limited[-1].startswith("More: mailwardenctl queue demo --status held --before ")

    out = ok(daemon, "unblock", "demo")
    assert "Sending is unblocked." in out and field(out, "state") == "active"
    assert ok(daemon, "queue", "demo", "--status", "held").strip() == "No held messages."
    wait_for(lambda: field(ok(daemon, "accounts", "show", "demo"), "sent") == "3",
             what="the released mail delivered")


def test_purge_while_active_exits_75_with_the_reason(make_daemon):
    daemon = make_daemon().start()
    r = ctl(daemon, "purge", "demo")
    assert r.returncode == 75, r
    assert r.stderr.startswith("mailwardenctl: ") and "Block sending first" in r.stderr
    assert r.stdout == ""


def test_audit_lists_the_block(make_daemon):
    daemon = make_daemon().start()
    ok(daemon, "block", "demo", "--reason", "checking a complaint")
    out = ok(daemon, "audit", "--limit", "5")
    header, *rows = out.splitlines()
    assert header.split() == ["AT", "ACCOUNT", "ACTOR", "ACTION", "FROM", "TO", "REASON"]
    assert any(r.split()[1:6] == ["demo", "admin", "BLOCK", "active", "blocked"] for r in rows), out


def test_release_and_delete_chosen_held_mail(make_daemon):
    daemon = make_daemon().start()
    ok(daemon, "block", "demo")
    for tag in ("keep", "spam-1", "spam-2"):
        assert daemon.sendmail(["-t", "-i"], order_message(tag)).returncode == 0
    assert ok(daemon, "delete", "demo", "--subject", "spam").strip() == "Deleted 2 held messages."
    held = json.loads(ok(daemon, "--json", "queue", "demo", "--status", "held"))["items"]
    assert [m["subject"] for m in held] == ["order keep"]
    out = ok(daemon, "release", "demo", "--id", str(held[0]["id"]))
    assert out.strip() == "Released 1 held message."
    assert ctl(daemon, "release", "demo").returncode == 64  # names no messages
    assert ctl(daemon, "release", "demo", "--id", "1", "--from", "x").returncode == 64


def test_report_to_and_errors(make_daemon):
    daemon = make_daemon().start()
    out = ok(daemon, "report-to", "demo", "billing@shop.example")
    assert field(out, "report to") == "billing@shop.example"
    bad = ctl(daemon, "report-to", "demo", "not an address")
    assert bad.returncode == 65 and "report_to" in bad.stderr, bad
    assert ok(daemon, "errors", "demo").strip() == "No errors."
    missing = ctl(daemon, "accounts", "show", "nobody")
    assert missing.returncode == 65 and 'There is no account "nobody"' in missing.stderr


def test_smtp_password_and_report_run(make_daemon):
    daemon = make_daemon().start()
    password = ok(daemon, "smtp-password", "demo").strip()
    assert len(password) >= 16 and " " not in password
    assert ok(daemon, "report", "run", "2026-01-15").startswith("Reports of 2026-01-15 sent: ")
    bad = ctl(daemon, "report", "run", "2026-02-30")
    assert bad.returncode == 65 and "YYYY-MM-DD" in bad.stderr, bad


def test_json_output_is_the_api_json(make_daemon):
    daemon = make_daemon().start()
    listed = json.loads(ok(daemon, "--json", "accounts", "list"))
    assert [a["name"] for a in listed["items"]] == ["demo"] and listed["next"] is None
    status = json.loads(ok(daemon, "accounts", "show", "demo", "--json"))  # after the command too
    assert status["state"] == "active" and status["account"] == "demo"
    blocked = json.loads(ok(daemon, "--json", "block", "demo"))
    assert blocked["state"] == "blocked" and "message" in blocked
    assert isinstance(json.loads(ok(daemon, "--json", "audit"))["items"], list)
    refused = ctl(daemon, "--json", "unblock", "nobody")
    assert refused.returncode == 65 and json.loads(refused.stdout)["error"] == "not_found"


def test_wrong_token_exits_77(make_daemon, tmp_path):
    daemon = make_daemon().start()
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-admin-token\n")
    wrong.chmod(0o600)
    r = ctl(daemon, "--token-file", str(wrong), "accounts", "list")
    assert r.returncode == 77 and r.stderr == "mailwardenctl: This token is not valid.\n", r


def test_daemon_not_running_exits_69(make_daemon, tmp_path):
    daemon = make_daemon()  # configured, never started
    r = ctl(daemon, "accounts", "list")
    assert r.returncode == 69, r
    assert r.stderr.startswith(f"mailwardenctl: cannot connect to http://127.0.0.1:{daemon.http_port}")
    assert "is mailwardend running?" in r.stderr
    r = subprocess.run([str(BIN / "mailwardenctl"), "--url", f"127.0.0.1:{free_port()}",
                        "--token-file", str(daemon.root / "admin.token"), "audit"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 69, r


def test_unusable_configuration_exits_78(tmp_path):
    r = subprocess.run([str(BIN / "mailwardenctl"), "--config", str(tmp_path / "none.toml"),
                        "accounts", "list"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 78 and r.stderr.startswith("mailwardenctl: "), r
    r = subprocess.run([str(BIN / "mailwardenctl"), "--url", "127.0.0.1:1", "--token-file",
                        str(tmp_path / "none.token"), "audit"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 78 and "none.token" in r.stderr, r


def test_a_token_file_everyone_may_read_is_warned_about(make_daemon):
    daemon = make_daemon().start()
    token_file = daemon.root / "admin.token"
    token_file.chmod(0o644)
    r = subprocess.run([str(BIN / "mailwardenctl"), "--url", f"127.0.0.1:{daemon.http_port}",
                        "--token-file", str(token_file), "accounts", "list"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    assert r.stderr == (f"mailwardenctl: warning: every user may read the admin token "
                        f"{token_file}; chmod 600 it\n")


def test_tokens_are_listed_and_revoked(make_daemon):
    daemon = make_daemon().start()
    token = ok(daemon, "token", "create", "demo", "--expires-in", "30d").strip()
    assert api(daemon, "GET", "/api/v1/accounts/demo/email", token=token)[0] == 200
    out = ok(daemon, "token", "list", "demo")
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "CREATED", "EXPIRES", "EXPIRED"], out
    assert len(rows) == 1 and token not in out, out
    token_id = rows[0].split()[0]
    assert ok(daemon, "token", "revoke", "demo", token_id).strip() == f"Token {token_id} revoked."
    assert api(daemon, "GET", "/api/v1/accounts/demo/email", token=token)[0] == 401
    assert ctl(daemon, "token", "revoke", "demo", token_id).returncode == 65  # no such token
    assert "No tokens." in ok(daemon, "token", "list", "demo")


def test_queue_searches_and_show_prints_a_messages_history(make_daemon):
    daemon = make_daemon().start()
    for tag in ("a", "b"):
        r = daemon.sendmail(["-t", "-i"], order_message(tag, to=f"{tag}@example.net"))
        assert r.returncode == 0, r.stderr
    wait_for(lambda: len(ok(daemon, "queue", "demo", "--status", "delivered").splitlines()) == 3,
             what="both delivered")
    out = ok(daemon, "queue", "demo", "--search", "B@example.net")
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "DATE", "STATUS", "FROM", "TO", "SUBJECT", "ATTEMPTS"]
    assert len(rows) == 1 and "order b" in rows[0] and "delivered" in rows[0], out
    message_id = rows[0].split()[0]
    shown = ok(daemon, "show", "demo", message_id)
    assert field(shown, "status") == "delivered", shown
    assert "received" in shown and "via drop-in" in shown
    assert "b@example.net" in shown
    assert ok(daemon, "queue", "demo", "--search", "nobody@example.net").strip() == "No messages."
