"""Accounts as a hosting provider's provisioning manages them: created, changed, suspended,
deleted and imported through the API and mailwardenctl, one uid one account. Each test runs on
SQLite, and on PostgreSQL when MW_TEST_PG_URL names a throw-away cluster."""
import os
import pathlib
import subprocess
import urllib.parse
import uuid

import pytest

from conftest import (ADMIN_TOKEN, BIN, OTHER_UID, api, demo_and_other, order_tags, request, status,
                      submit, wait_for)

PG_URL = os.environ.get("MW_TEST_PG_URL")
NEW_UID = 4251  # a uid no account of the configuration has


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, capture_output=True, timeout=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request):
    """The store of the test's daemon: SQLite in its folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield {}
        return
    if not PG_URL:
        pytest.skip("MW_TEST_PG_URL is not set (scripts/pg-cluster start FOLDER prints one)")
    name = "mw_" + uuid.uuid4().hex[:12]
    psql(PG_URL, f"CREATE DATABASE {name}")
    yield {"store": {"url": urllib.parse.urlsplit(PG_URL)._replace(path="/" + name).geturl()}}
    psql(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def daemon(make_daemon, relay, store_settings):
    return make_daemon(relay=relay, settings=store_settings, accounts=demo_and_other()).start()


class DeadRelay:
    """A relay address nothing listens on: mail stays queued, retried."""
    def __init__(self):
        from conftest import free_port
        self.port = free_port()


def ctl(daemon, *args):
    return subprocess.run([str(BIN / "mailwardenctl"), "--url", f"127.0.0.1:{daemon.http_port}",
                           "--token-file", str(daemon.root / "admin.token"), *args],
                          capture_output=True, text=True, timeout=120)


def test_a_uid_of_another_account_is_refused_and_its_mail_stays(daemon, relay):
    code, body = api(daemon, "POST", "/api/v1/accounts", body={"name": "intruder", "uids": [OTHER_UID]})
    assert code == 409, body
    assert '"other"' in body["message"] and str(OTHER_UID) in body["message"]
    assert api(daemon, "GET", "/api/v1/accounts/intruder/email")[0] == 404
    # Moving it onto an existing account is refused the same way.
    code, body = api(daemon, "PATCH", "/api/v1/accounts/demo", body={"uids": [os.getuid(), OTHER_UID]})
    assert code == 409 and '"other"' in body["message"], body
    submit(daemon, "o1", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "other")["sent"] == 1, what="other's mail sent")
    assert status(daemon, "demo")["sent"] == 0


def test_patch_of_uids_takes_effect_for_the_next_message(daemon, relay):
    code, body = api(daemon, "POST", "/api/v1/accounts", body={"name": "newco", "uids": []})
    assert code == 201, body
    submit(daemon, "before", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "other")["sent"] == 1, what="the first message sent")
    # A uid moves as two changes: the account that has it gives it up, the other takes it.
    code, body = api(daemon, "PATCH", "/api/v1/accounts/other", body={"uids": []})
    assert code == 200 and body["uids"] == [], body
    code, body = api(daemon, "PATCH", "/api/v1/accounts/newco",
                     body={"uids": [OTHER_UID], "max_per_day": 500, "language": "pl"})
    assert code == 200, body
    assert body["uids"] == [OTHER_UID] and body["max_per_day"] == 500 and body["language"] == "pl"
    submit(daemon, "after", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "newco")["sent"] == 1, what="the next message under newco")
    assert status(daemon, "other")["sent"] == 1
    # What cannot be changed is refused, and nothing changes.
    for bad in ({"plan": "basic"}, {"name": "renamed"}, {"uids": "x"}, {"report_to": "a@b, c@d"}):
        code, body = api(daemon, "PATCH", "/api/v1/accounts/newco", body=bad)
        assert code == 400, (bad, body)
    assert api(daemon, "PATCH", "/api/v1/accounts/nobody", body={"uids": []})[0] == 404
    audit = api(daemon, "GET", "/api/v1/audit?limit=10")[1]["items"]
    assert any(r["account"] == "newco" and r["action"] == "CHANGE" and r["actor"] == "admin"
               for r in audit), audit


def test_delete_with_held_mail_is_refused_then_purged(daemon, relay):
    code, body = request(daemon, "BLOCK", name="other")
    assert code == 200, body
    submit(daemon, "held", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "other")["held"] == 1, what="the mail held")
    code, body = api(daemon, "DELETE", "/api/v1/accounts/other")
    assert code == 409 and "purge" in body["message"], body
    assert status(daemon, "other")["held"] == 1
    code, body = api(daemon, "DELETE", "/api/v1/accounts/other?purge=true")
    assert code == 200 and body["purged"] == 1, body
    assert api(daemon, "GET", "/api/v1/accounts/other/email")[0] == 404
    names = [a["name"] for a in api(daemon, "GET", "/api/v1/accounts")[1]["items"]]
    assert names == ["demo"]
    # Its uid has no account any more: the drop-in says so (and nothing was queued).
    r = daemon.sendmail(["-t", "-i"], "To: x@example.net\nSubject: order gone\n\nx\n", uid=OTHER_UID)
    assert r.returncode != 0
    assert "held" not in order_tags(relay)


def test_delete_with_queued_mail_is_refused_then_purged(make_daemon, store_settings):
    daemon = make_daemon(relay=DeadRelay(), settings=store_settings, accounts=demo_and_other()).start()
    submit(daemon, "queued", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "other")["queued"] == 1, what="the mail queued")
    code, body = api(daemon, "DELETE", "/api/v1/accounts/other")
    assert code == 409, body
    assert status(daemon, "other")["queued"] == 1
    code, body = ctl(daemon, "accounts", "delete", "other", "--purge").returncode, None
    assert code == 0
    assert api(daemon, "GET", "/api/v1/accounts/other/email")[0] == 404
    # The purged rows go in the background, as a PURGE's do.
    if not store_settings:
        wait_for(lambda: daemon.query("SELECT COUNT(*) FROM messages WHERE status < 2")[0][0] == 0,
                 what="the purged rows deleted")


def test_a_deleted_accounts_token_is_refused_and_a_new_account_inherits_nothing(daemon, relay):
    code, token = api(daemon, "POST", "/api/v1/accounts/other/tokens")
    assert code == 201, token
    assert api(daemon, "GET", "/api/v1/accounts/other/email", token=token["token"])[0] == 200
    assert api(daemon, "POST", "/api/v1/accounts/other/smtp-password")[0] == 201
    submit(daemon, "old", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "other")["sent"] == 1, what="the old account's mail sent")
    code, body = api(daemon, "DELETE", "/api/v1/accounts/other")
    assert code == 200, body
    code, body = api(daemon, "GET", "/api/v1/accounts/other/email", token=token["token"])
    assert code == 401, body
    # The same name and uid again: a new account, from zero.
    code, body = api(daemon, "POST", "/api/v1/accounts", body={"name": "other", "uids": [OTHER_UID]})
    assert code == 201, body
    assert (body["sent"], body["errors"], body["purged"], body["state"]) == (0, 0, 0, "active")
    assert api(daemon, "GET", "/api/v1/accounts/other/email", token=token["token"])[0] == 401
    assert api(daemon, "GET", "/api/v1/accounts/other/tokens")[1]["items"] == []
    assert api(daemon, "GET", "/api/v1/accounts/other/email/volumes")[1]["items"] == []
    submit(daemon, "new", uid=OTHER_UID)
    wait_for(lambda: status(daemon, "other")["sent"] == 1, what="the new account's mail sent")
    audit = api(daemon, "GET", "/api/v1/audit?limit=20")[1]["items"]
    assert any(r["action"] == "DELETE" and r["actor"] == "admin" for r in audit), audit


def test_a_deleted_account_goes_after_keep_finished_and_the_others_mail_stays(daemon, relay,
                                                                             store_settings):
    """After store.keep_finished (30 days), a deleted account is removed with everything kept of
    it; the other accounts' mail and figures stay, and their mail goes on."""
    url = store_settings.get("store", {}).get("url")

    def rows(sql):
        if url is None:
            return daemon.query(sql)[0][0]
        out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-d", url, "-c", sql], check=True,
                             capture_output=True, text=True, timeout=60).stdout
        return int(out.strip())

    submit(daemon, "gone", uid=OTHER_UID)
    submit(daemon, "kept")
    wait_for(lambda: status(daemon, "other")["sent"] == 1 and status(daemon)["sent"] == 1,
             what="both accounts' mail sent")
    code, body = api(daemon, "DELETE", "/api/v1/accounts/other")
    assert code == 200, body
    daemon.stop()
    # As if it had been deleted 40 days (3,456,000,000 ms) ago.
    moved = "UPDATE accounts SET deleted_ms = deleted_ms - 3456000000 WHERE deleted_ms > 0"
    if url is None:
        import sqlite3
        con = sqlite3.connect(daemon.db)
        con.execute(moved)
        con.commit()
        con.close()
    else:
        psql(url, moved)

    daemon.log.close()
    daemon.start()
    wait_for(lambda: "history: 1 accounts deleted over 30d ago removed with their history"
             in daemon.log_text(), what="the deleted account's removal")
    assert rows("SELECT count(*) FROM accounts WHERE deleted_ms > 0") == 0
    assert rows("SELECT count(*) FROM messages") == 1
    assert rows("SELECT count(*) FROM recipients") == 1
    assert status(daemon)["sent"] == 1
    submit(daemon, "after")
    wait_for(lambda: status(daemon)["sent"] == 2, what="the remaining account's next message")
    assert "after" in order_tags(relay)


def test_import_creates_updates_is_idempotent_and_removes(daemon, tmp_path):
    f = tmp_path / "accounts.csv"
    f.write_text("name,uids,report_to,language,max_per_day\n"
                 "# the provider's customers\n"
                 f"alpha,{NEW_UID},a@example.com,en,100\n"
                 f"beta,{NEW_UID + 1};{NEW_UID + 2},b@example.com,pl,\n"
                 f"gamma,{OTHER_UID},g@example.com,en,\n")
    r = ctl(daemon, "accounts", "import", str(f))
    assert r.returncode == 65, r.stderr  # gamma's uid is other's
    assert "created 2, updated 0, unchanged 0, removed 0, refused 1" in r.stdout, r.stdout
    assert "line 5: gamma" in r.stderr and '"other"' in r.stderr, r.stderr
    f.write_text(f.read_text().replace(f"gamma,{OTHER_UID}", f"gamma,{NEW_UID + 3}"))
    r = ctl(daemon, "accounts", "import", str(f))
    assert r.returncode == 0, r.stderr
    assert "created 1, updated 0, unchanged 2, removed 0" in r.stdout, r.stdout
    r = ctl(daemon, "accounts", "import", str(f))
    assert "created 0, updated 0, unchanged 3, removed 0" in r.stdout, r.stdout
    # A change, and JSON lines; --remove-missing deletes what the file no longer lists.
    j = tmp_path / "accounts.jsonl"
    j.write_text(f'{{"name": "alpha", "uids": [{NEW_UID}], "report_to": "new@example.com", '
                 f'"max_per_day": 100}}\n'
                 f'{{"name": "beta", "delete": true}}\n'
                 f'{{"name": "demo", "uids": [{os.getuid()}], "report_to": "owner@example.com"}}\n')
    r = ctl(daemon, "--json", "accounts", "import", str(j), "--remove-missing")
    assert r.returncode == 0, r.stdout + r.stderr
    import json
    counts = json.loads(r.stdout)
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["removed"]) == (0, 1, 1, 3)
    names = sorted(a["name"] for a in api(daemon, "GET", "/api/v1/accounts")[1]["items"])
    assert names == ["alpha", "demo"]
    assert status(daemon, "alpha")["report_to"] == "new@example.com"


def test_a_config_uid_held_by_an_api_account_refuses_the_start(make_daemon, store_settings):
    daemon = make_daemon(settings=store_settings).start()
    code, body = api(daemon, "POST", "/api/v1/accounts", body={"name": "fromapi", "uids": [NEW_UID]})
    assert code == 201, body
    daemon.stop()
    text = daemon.config.read_text()
    daemon.config.write_text(text + f'[[account]]\nname = "fromfile"\nuids = [{NEW_UID}]\n')
    r = subprocess.run([str(BIN / "mailwardend"), "--config", str(daemon.config)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 78, r.stderr
    assert '"fromfile"' in r.stderr and '"fromapi"' in r.stderr, r.stderr
