"""A store written by the previous schema (version 9: tests/fixtures/make-schema9-fixtures) is
migrated forward by today's daemon, on both engines, with its mail, counters, held state and
tokens kept."""
import email
import email.policy
import json
import os
import pathlib
import shutil
import subprocess
import urllib.parse
import uuid

import pytest

from conftest import api, request, status, wait_for

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
INFO = json.loads((FIXTURES / "schema9.json").read_text())
PG_URL = os.environ.get("MW_TEST_PG_URL")


def delivered(daemon):
    out = []
    for f in (daemon.outbox / "new").glob("*"):
        out.append(str(email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
                       ["subject"]))
    return out


def check_migrated(daemon, info):
    assert "store: schema migrated from version 9 to" in daemon.log_text()
    sent = status(daemon, "sent")
    assert (sent["state"], sent["sent"], sent["queued"]) == ("active", 2, 0)
    held = status(daemon, "held")
    assert (held["state"], held["blocked_by"], held["held"], held["sent"]) == \
        ("blocked", "admin", 2, 0)
    queued = status(daemon, "queued")
    assert queued["state"] == "active" and queued["sent"] + queued["queued"] == 3
    assert info["accounts"]["queued"]["queued"] == 2  # the fixture is what it says
    # The customer token of version 9 still opens its own account, and only it.
    assert api(daemon, "GET", "/api/v1/accounts/sent/email", token=info["token"])[0] == 200
    assert api(daemon, "GET", "/api/v1/accounts/held/email", token=info["token"])[0] in (403, 404)
    # The held mail is still there to release.
    assert request(daemon, "UNBLOCK", "held")[0] == 200
    wait_for(lambda: {"order held-0", "order held-1"} <= set(delivered(daemon)),
             what="the held mail, released")
    # The maildir has the mail a moment before its outcome commits: the count follows.
    wait_for(lambda: status(daemon, "held")["sent"] == 2, what="the released mail counted sent")


def test_a_sqlite_store_of_schema_9_is_migrated_with_its_mail(make_daemon):
    daemon = make_daemon(accounts=[])
    shutil.copyfile(FIXTURES / "schema9.sqlite", daemon.db)
    daemon.db.chmod(0o600)
    daemon.start()
    # Migration 11 counted the bytes of each account's unfinished mail (the storage quota's
    # counter), read here in one snapshot with the messages it counts.
    counted = daemon.query(
        "SELECT a.name, a.pending_bytes, (SELECT COALESCE(SUM(m.size), 0) FROM messages m "
        "WHERE m.account_id = a.id AND m.status < 2 AND m.id > a.purge_upto) "
        "FROM accounts a WHERE a.name = 'held'")
    assert counted and counted[0][1] == counted[0][2] > 0, counted
    check_migrated(daemon, INFO["sqlite"])


@pytest.mark.skipif(not PG_URL, reason="MW_TEST_PG_URL is not set (scripts/pg-cluster)")
def test_a_postgresql_store_of_schema_9_is_migrated_with_its_mail(make_daemon):
    name = "mw_" + uuid.uuid4().hex[:12]
    url = urllib.parse.urlsplit(PG_URL)._replace(path="/" + name).geturl()

    def psql(target, *args):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, *args],
                       check=True, capture_output=True, timeout=120)

    psql(PG_URL, "-c", f"CREATE DATABASE {name}")
    try:
        psql(url, "-f", str(FIXTURES / "schema9.pg.sql"))
        daemon = make_daemon(accounts=[], settings={"store": {"url": url}})
        daemon.start()
        check_migrated(daemon, INFO["postgresql"])
        daemon.stop()
    finally:
        psql(PG_URL, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
