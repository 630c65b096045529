"""The core pipeline: a script's mail is stored durably and delivered (issue: core pipeline)."""
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BIN, Relay, api, free_port, wait_for

MESSAGE = (
    "From: Shop <shop@example.com>\n"
    "To: Alice <alice@example.net>\n"
    "Subject: order {tag}\n"
    "\n"
    "Your order {tag} has shipped.\n"
)


def delivered_tags(relay):
    tags = set()
    for m in relay.messages():
        for line in m["data"].decode(errors="replace").splitlines():
            if line.startswith("Subject: order "):
                tags.add(line.split()[-1])
    return tags


def test_php_mail_is_delivered_with_envelope_and_no_bcc(make_daemon, relay, tmp_path):
    daemon = make_daemon(relay=relay).start()
    script = tmp_path / "send.php"
    script.write_text(
        "<?php\n"
        "$headers = \"From: Shop <shop@example.com>\\r\\nCc: carol@example.org\\r\\n"
        "Bcc: hidden@example.org\";\n"
        "$ok = mail('Bob <bob@example.net>', 'Hello from PHP', \"Line one\\nLine two\\n\", $headers,"
        " '-fbounces@example.com');\n"
        "exit($ok ? 0 : 1);\n")
    php = subprocess.run(
        ["php", "-n", "-d", f"sendmail_path={BIN / 'mailwarden-sendmail'} -t -i",
         "-d", "mail.add_x_header=1", str(script)],
        env=dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket)), capture_output=True, timeout=30)
    assert php.returncode == 0, php.stderr

    msgs = wait_for(relay.messages, what="the relay to receive the PHP mail")
    assert len(msgs) == 1
    m = msgs[0]
    assert m["mail_from"] == "bounces@example.com"
    assert sorted(m["rcpt_tos"]) == ["bob@example.net", "carol@example.org", "hidden@example.org"]
    text = m["data"].decode()
    headers = text.split("\r\n\r\n", 1)[0]
    assert "Bcc:" not in headers and "hidden@example.org" not in headers
    assert "Subject: Hello from PHP" in headers
    assert "Message-ID:" in headers or "Message-Id:" in headers
    assert "Date:" in headers
    assert f"uid {os.getuid()}" in headers and "demo" in headers  # the Received line
    assert "X-PHP-Originating-Script:" in headers
    assert "Line one\r\nLine two" in text
    # The relay has the message a moment before the daemon logs the relay's answer.
    log = wait_for(lambda: "to=<hidden@example.org> result=sent" in daemon.log_text() and daemon.log_text(),
                   what="the delivery's log line")
    assert "result=queued" in log


def test_deferred_recipient_is_retried_then_delivered(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["-t", "-i"], "From: a@example.com\nTo: defer-later@example.net\nSubject: x\n\nhi\n")
    assert r.returncode == 0, r.stderr
    msgs = wait_for(relay.messages, timeout=30, what="the deferred recipient to be delivered on retry")
    assert [m["rcpt_tos"] for m in msgs] == [["defer-later@example.net"]]
    log = wait_for(lambda: "to=<defer-later@example.net> result=sent" in daemon.log_text()
                   and daemon.log_text(), what="the delivery's log line")
    assert log.count("to=<defer-later@example.net> result=deferred") == 2
    # /metrics (loopback, no token) counts the two deferrals and the finished message's latency.
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{daemon.http_port}/metrics", timeout=10).read().decode()
    assert "mailwarden_deferred_total 2" in text, text
    assert "mailwarden_delivery_latency_seconds_count 1" in text, text


def test_rejected_recipient_is_recorded_as_failed_with_its_reply(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["good@example.net", "reject-me@example.net"],
                        "From: a@example.com\nSubject: x\n\nhi\n")
    assert r.returncode == 0, r.stderr
    msgs = wait_for(relay.messages, what="the good recipient's copy")
    assert msgs[0]["rcpt_tos"] == ["good@example.net"]
    # The store's recipient statuses: 0 pending, 1 sent, 2 failed (src/store/schema.h).
    wait_for(lambda: daemon.query("SELECT count(*) FROM recipients WHERE status = 0") == [(0,)],
             what="both outcomes to be stored")
    rows = daemon.query("SELECT address, status, reply FROM recipients ORDER BY idx")
    assert rows[0][:2] == ("good@example.net", 1)
    assert rows[1][:2] == ("reject-me@example.net", 2)
    assert rows[1][2].startswith("550")
    assert "to=<reject-me@example.net> result=failed" in daemon.log_text()


def test_uid_without_account_gets_77_and_nothing_is_stored(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["-t", "-i"], "To: x@example.net\nSubject: x\n\nhi\n", uid=4242)
    assert r.returncode == 77, (r.returncode, r.stderr)
    assert b"4242" in r.stderr
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


@pytest.mark.parametrize("name,args,message", [
    ("no recipients", ["-t", "-i"], b"Subject: x\n\nhi\n"),
    ("NUL byte", ["-i", "x@example.net"], b"Subject: x\n\nhi\x00there\n"),
    ("header over 998 bytes", ["-i", "x@example.net"], b"Subject: " + b"y" * 1000 + b"\n\nhi\n"),
    ("over the size limit", ["-i", "x@example.net"], b"Subject: x\n\n" + b"z" * 70000 + b"\n"),
])
def test_bad_message_gets_65_with_a_reason(make_daemon, relay, name, args, message):
    daemon = make_daemon(relay=relay, settings={"submit": {"max_message_bytes": 65536}}).start()
    r = daemon.sendmail(args, message)
    assert r.returncode == 65, (name, r.returncode, r.stderr)
    assert r.stderr.strip(), name
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


def test_without_i_a_lone_dot_ends_the_message(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["x@example.net"], "Subject: dot\n\nbefore\n.\nafter\n")
    assert r.returncode == 0, r.stderr
    msgs = wait_for(relay.messages, what="the message")
    body = msgs[0]["data"].decode()
    assert "before" in body and "after" not in body


def test_daemon_down_gives_75_after_retrying(tmp_path):
    env = dict(os.environ, MAILWARDEN_SOCKET=str(tmp_path / "nobody.sock"))
    start = time.monotonic()
    r = subprocess.run([str(BIN / "mailwarden-sendmail"), "-i", "x@example.net"], input=b"hi\n",
                       env=env, capture_output=True, timeout=30)
    assert r.returncode == 75
    assert time.monotonic() - start >= 2  # it retried before giving up


def test_relay_down_then_up_delivers_the_stored_mail(make_daemon, tmp_path):
    port = free_port()
    relay = Relay(tmp_path / "late-relay", port=port)
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["-i", "x@example.net"], "Subject: waiting\n\nhi\n")
    assert r.returncode == 0
    wait_for(lambda: "result=deferred" in daemon.log_text(), what="a deferral while the relay is down")
    relay.start()
    try:
        wait_for(relay.messages, timeout=30, what="delivery once the relay is back")
    finally:
        relay.stop()


def test_kill9_during_8_parallel_submitters_loses_no_acknowledged_message(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    acknowledged = set()
    lock = threading.Lock()
    stop = threading.Event()

    def submitter():
        while not stop.is_set():
            tag = uuid.uuid4().hex
            r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag=tag), timeout=60)
            if r.returncode == 0:
                with lock:
                    acknowledged.add(tag)

    threads = [threading.Thread(target=submitter) for _ in range(8)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acknowledged) >= 40, timeout=60, what="40 acknowledged submissions")
    daemon.kill9()
    # Submitters now retry against a dead socket while the daemon is down; restart it with the
    # same store and let them go on until more have been acknowledged by the new daemon.
    before_restart = len(acknowledged)
    daemon.start()
    wait_for(lambda: len(acknowledged) >= before_restart + 16, timeout=60,
             what="submissions acknowledged after the restart")
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 40
    wait_for(lambda: acknowledged <= delivered_tags(relay), timeout=60,
             what=f"all {len(acknowledged)} acknowledged messages at the relay")


def test_another_program_opening_the_store_loses_no_acknowledged_message(make_daemon):
    """An administrator's sqlite3 shell (or a backup) opening the live store read-write and
    closing it must not take the WAL from under the daemon: mail acknowledged afterwards
    survives a kill -9."""
    daemon = make_daemon().start()
    assert daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="before")).returncode == 0
    con = sqlite3.connect(daemon.db, timeout=10)
    assert con.execute("SELECT count(*) FROM messages").fetchone() == (1,)
    con.close()  # were it the last connection, it would checkpoint and delete the WAL
    assert daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="after")).returncode == 0
    daemon.kill9()
    daemon.start()
    assert daemon.query("SELECT subject FROM messages ORDER BY id") == \
        [("order before",), ("order after",)]


def test_full_disk_answers_75_and_loses_nothing_acknowledged(make_daemon, relay, tmp_path):
    """The store's file system fills up: the next submission is told to try again later (75),
    the daemon stays up, and once there is room again everything acknowledged goes out."""
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"no small file system to fill here: {mounted.stderr.strip()}")
    try:
        daemon = make_daemon(relay=relay, settings={
            "store": {"url": f"sqlite:{small}/mailwarden.db"}}).start()
        status, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request",
                        body={"action": "BLOCK"})
        assert status == 200
        filler = ("x" * 76 + "\n") * 4000  # 300 KB: the 3 MB fill up within a dozen
        acknowledged = []
        for i in range(40):
            tag = f"full-{i}"
            r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag=tag) + filler)
            if r.returncode != 0:
                break
            acknowledged.append(tag)
        assert r.returncode == 75, r.stderr
        assert "try again later" in r.stderr.decode()
        assert acknowledged, "nothing fitted before the disk was full"
        assert "disk is full" in daemon.log_text()

        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="after-room"))
        assert r.returncode == 0, r.stderr
        acknowledged.append("after-room")
        status, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request",
                        body={"action": "UNBLOCK"})
        assert status == 200
        wait_for(lambda: set(acknowledged) <= delivered_tags(relay), timeout=60,
                 what=f"all {len(acknowledged)} acknowledged messages at the relay")
        daemon.stop()
    finally:
        # Lazily: if an assertion failed, the daemon (stopped by the fixture) still has it open.
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def test_maildir_mode_puts_the_mail_in_the_outbox(make_daemon):
    daemon = make_daemon().start()
    r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="maildir"))
    assert r.returncode == 0, r.stderr
    files = wait_for(lambda: list((daemon.outbox / "new").glob("*")), what="a file in outbox/new")
    assert "Subject: order maildir" in files[0].read_text()


@pytest.mark.parametrize("config,needle", [
    ("[delivery]\nconcurency = 3\n", "delivery.concurency"),
    ("[policy]\nhold = \"three days\"\n", "policy.hold"),
])
def test_bad_config_stops_the_start_with_78(tmp_path, config, needle):
    f = tmp_path / "bad.toml"
    f.write_text(config)
    r = subprocess.run([str(BIN / "mailwardend"), "--config", str(f)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert needle in r.stderr


def test_missing_config_stops_the_start_with_78(tmp_path):
    r = subprocess.run([str(BIN / "mailwardend"), "--config", str(tmp_path / "none.toml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert "none.toml" in r.stderr


def test_finished_mail_past_keep_finished_is_deleted_and_the_figures_stay(make_daemon):
    daemon = make_daemon().start()
    # More than one background batch (200) of old mail, and one recent message.
    tags = [f"old-{i}" for i in range(201)] + ["recent"]
    for tag in tags:
        r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag=tag))
        assert r.returncode == 0, r.stderr
    # Message statuses: 2 is finished (src/store/schema.h).
    wait_for(lambda: daemon.query("SELECT count(*) FROM messages WHERE status = 2") == [(202,)],
             what="the deliveries")
    status, before = api(daemon, "GET", "/api/v1/accounts/demo/email")
    assert status == 200 and before["sent"] == 202, before
    daemon.stop()
    # As if the old ones had finished 40 days ago (store.keep_finished is 30 days by default).
    con = sqlite3.connect(daemon.db)
    con.execute("UPDATE messages SET done_ms = done_ms - 40 * 86400000 "
                "WHERE subject LIKE 'order old-%'")
    con.commit()
    con.close()

    daemon.start()
    wait_for(lambda: daemon.query("SELECT subject FROM messages") == [("order recent",)],
             what="the mail finished 40 days ago to be deleted")
    assert daemon.query("SELECT count(*) FROM recipients") == [(1,)]
    # One line for the pass, over its two batches.
    wait_for(lambda: "history: 201 messages finished over 30d ago deleted (store.keep_finished)"
             in daemon.log_text(), what="the pass's log line")
    assert daemon.log_text().count("history: ") == 1
    # The figures are kept apart from the messages: the panel shows the same.
    status, after = api(daemon, "GET", "/api/v1/accounts/demo/email")
    assert status == 200
    assert {k: after[k] for k in ("sent", "errors", "held", "queued")} == \
        {k: before[k] for k in ("sent", "errors", "held", "queued")}
