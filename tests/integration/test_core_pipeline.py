"""The core pipeline: a script's mail is stored durably and delivered (issue: core pipeline)."""
import concurrent.futures
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BIN, Relay, api, free_port, metric, metrics, order_tags, wait_for

MESSAGE = (
    "From: Shop <shop@example.com>\n"
    "To: Alice <alice@example.net>\n"
    "Subject: order {tag}\n"
    "\n"
    "Your order {tag} has shipped.\n"
)


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
    # /metrics counts the two deferrals and the finished message's latency.
    text = metrics(daemon)[1]
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


def test_a_relays_reply_cannot_write_escapes_or_fields_into_the_log(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["escape-me@example.net"], "From: a@example.com\nSubject: x\n\nhi\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "to=<escape-me@example.net> result=failed" in daemon.log_text(),
             what="the failure's log line")
    line = next(l for l in daemon.log_text().splitlines()
                if "to=<escape-me@example.net>" in l and "attempt=" in l)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in line), repr(line)
    # The reply's own quote cannot end its field: everything it says, "result=sent" included,
    # stays between the field's two quotes, after the line's real result.
    assert line.count('"') == 2 and line.endswith('"'), line
    before, field = line.split(' reply="', 1)
    assert "result=failed" in before and "result=sent" not in before, line
    assert field.startswith("550 5.1.1"), line


def test_uid_without_account_gets_77_and_nothing_is_stored(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    r = daemon.sendmail(["-t", "-i"], "To: x@example.net\nSubject: x\n\nhi\n", uid=4242)
    assert r.returncode == 77, (r.returncode, r.stderr)
    assert b"4242" in r.stderr
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


@pytest.mark.parametrize("name,args,message", [
    ("no recipients", ["-t", "-i"], b"Subject: x\n\nhi\n"),
    ("NUL byte", ["-i", "x@example.net"], b"Subject: x\n\nhi\x00there\n"),
    ("header line over 998 bytes, nowhere to fold", ["-i", "x@example.net"], b"Subject: " + b"y" * 1000 + b"\n\nhi\n"),
    ("over the size limit", ["-i", "x@example.net"], b"Subject: x\n\n" + b"z" * 70000 + b"\n"),
])
def test_bad_message_gets_65_with_a_reason(make_daemon, relay, name, args, message):
    daemon = make_daemon(relay=relay, settings={"submit": {"max_message_bytes": 65536}}).start()
    r = daemon.sendmail(args, message)
    assert r.returncode == 65, (name, r.returncode, r.stderr)
    assert r.stderr.strip(), name
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


def two_connections_held_open(daemon, tag):
    """Two drop-ins (tags TAG-0, TAG-1) that have sent their message but keep stdin open: two
    connections being served, until their stdin is closed."""
    open_ones = [start_sendmail(daemon) for _ in range(2)]
    for i, p in enumerate(open_ones):
        p.stdin.write(MESSAGE.format(tag=f"{tag}-{i}").encode())
        p.stdin.flush()
    wait_for(lambda: all(waiting_for_more_input(p) for p in open_ones),
             what="both drop-ins connected and waiting for more input")
    return open_ones


def test_one_uid_cannot_take_every_connection(make_daemon, relay):
    """With submit.max_connections_per_uid at 2, a third drop-in of the same uid waits
    submit.uid_wait for a place and is then told to try again later (75), while another
    account's script is served as usual."""
    other_uid = 4243
    daemon = make_daemon(relay=relay, settings={
        "submit": {"max_connections_per_uid": 2, "uid_wait": "1s"}}, accounts=[
        {"name": "demo", "uids": [os.getuid()]}, {"name": "other", "uids": [other_uid]}]).start()
    open_ones = two_connections_held_open(daemon, "mine")

    r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="mine-third"))
    assert r.returncode == 75, (r.returncode, r.stderr)
    assert b"too many submissions at once" in r.stderr
    r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="theirs"), uid=other_uid)
    assert r.returncode == 0, r.stderr

    for p in open_ones:
        p.stdin.close()
        assert p.wait(30) == 0, p.stderr.read()
    wait_for(lambda: {"mine-0", "mine-1", "theirs"} <= set(order_tags(relay)),
             what="the three served messages at the relay")
    assert "mine-third" not in order_tags(relay)
    assert "no place of this uid came free within 1s" in daemon.log_text()


def test_a_drop_in_killed_mid_message_stores_nothing(make_daemon, relay):
    """A script killed mid-mail() takes its sendmail along: the half-sent message must neither
    be queued nor go out cut short. The next message goes through as usual."""
    daemon = make_daemon(relay=relay).start()
    half = start_sendmail(daemon)
    half.stdin.write(MESSAGE.format(tag="half").encode()[:60])
    half.stdin.flush()
    # Once the drop-in has passed on what it was given, it is killed, as with its script.
    wait_for(lambda: waiting_for_more_input(half), what="the drop-in waiting for the rest")
    half.send_signal(signal.SIGKILL)
    half.wait(10)
    wait_for(lambda: "ended before its end mark" in daemon.log_text(),
             what="the daemon noticing the message stopped short")
    r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="whole"))
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "whole" in order_tags(relay), what="the next message at the relay")
    assert daemon.query("SELECT subject FROM messages") == [("order whole",)]
    assert set(order_tags(relay)) == {"whole"}


def waiting_for_more_input(proc):
    """True while proc is blocked reading its standard input (read(0, ...)): the drop-in
    reads its input only once connected, and blocks only when it has sent what it read."""
    try:
        with open(f"/proc/{proc.pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    return fields[:2] == ["0", "0x0"]


def test_a_drop_in_of_the_previous_wire_version_is_still_served(make_daemon, relay):
    """Version 1 of the submission wire (no end mark) comes from a drop-in of an older
    release, e.g. a copy in a chroot not yet updated; its mail is taken as before."""
    daemon = make_daemon(relay=relay).start()
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.socket))
        s.sendall(b"MWSUBMIT 1\nextract\n\n" + MESSAGE.format(tag="v1").encode())
        s.shutdown(socket.SHUT_WR)
        reply = s.makefile("rb").readline()
    assert reply.startswith(b"0 queued as "), reply
    wait_for(lambda: "v1" in order_tags(relay), what="the version 1 message at the relay")


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
    wait_for(lambda: acknowledged <= set(order_tags(relay)), timeout=60,
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


def receive_waits(daemon):
    return metric(metrics(daemon)[1], "mailwarden_receive_waits_total")


def start_sendmail(daemon):
    env = dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket))
    return subprocess.Popen([str(BIN / "mailwarden-sendmail"), "-t", "-i"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


# Room for one large message being received at a time.
ONE_LARGE_SLOT = {"max_message_bytes": 2 << 20, "max_receiving_bytes": 2 << 20}


def one_holds_the_slot_one_waits(daemon, tag, fill):
    """Two drop-ins send 1 MB messages (tags TAG-1 and TAG-2, bodies of FILL): the first keeps
    its stdin open, holding the only large slot; the second waits for it. Returns both and the
    thread feeding the second."""
    filler = (fill * 76 + "\n") * 13000  # 1 MB, past the 256 KiB every message may hold
    first = start_sendmail(daemon)
    first.stdin.write((MESSAGE.format(tag=f"{tag}-1") + filler).encode())
    first.stdin.flush()
    # Once the drop-in has passed it all on, the daemon has read more than 256 KiB of it (a
    # socket buffers about 200 KB): the slot is the first's before the second starts.
    wait_for(lambda: waiting_for_more_input(first), what="the first drop-in waiting for more input")
    second = start_sendmail(daemon)
    feeder = threading.Thread(target=second.communicate,
                              args=((MESSAGE.format(tag=f"{tag}-2") + filler).encode(),))
    feeder.start()
    wait_for(lambda: receive_waits(daemon) == 1, what="the second large message waiting for room")
    return first, second, feeder


def test_small_mail_is_not_held_up_by_large_mail_waiting_for_room(make_daemon, relay):
    """With room for one large message being received (max_receiving_bytes = max_message_bytes),
    a second large one waits, its sender blocked, until the first is stored; a script's ordinary
    mail goes through meanwhile. Nothing is refused, and all three are delivered."""
    daemon = make_daemon(relay=relay, settings={"submit": ONE_LARGE_SLOT}).start()
    first, second, feeder = one_holds_the_slot_one_waits(daemon, "large", "y")
    assert second.poll() is None, "the second large message was taken without room for it"

    r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="small"))
    assert r.returncode == 0, r.stderr
    assert second.poll() is None

    first.stdin.close()
    assert first.wait(30) == 0, first.stderr.read()
    feeder.join(30)
    assert second.returncode == 0, second.stderr
    wait_for(lambda: {"large-1", "large-2", "small"} <= set(order_tags(relay)),
             what="all three messages at the relay")
    large = [m for m in relay.messages() if b"Subject: order large-" in m["data"]]
    assert all(m["data"].count(b"y" * 76) == 13000 for m in large)
    daemon.stop()


def test_stopping_while_large_mail_waits_for_room_exits_cleanly(make_daemon, relay):
    """SIGTERM while one large message holds the only slot and another waits for it: the
    daemon stops cleanly (exit 0, and on the sanitizer build no report), and both scripts are
    told to try again later (75), nothing of either stored."""
    daemon = make_daemon(relay=relay, settings={"submit": ONE_LARGE_SLOT}).start()
    first, second, feeder = one_holds_the_slot_one_waits(daemon, "stop", "w")

    daemon.stop()  # asserts exit 0
    feeder.join(30)
    first.stdin.close()
    assert first.wait(30) == 75, first.stderr.read()
    assert second.returncode == 75, second.stderr
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]


def test_many_large_submissions_at_once_stay_within_the_memory_budget(make_daemon, relay):
    """24 scripts each send 3 MB at the same moment, with room for two such messages being
    received: every one is acknowledged and delivered, and the daemon's peak memory grows by
    about what the budget allows, not by what all 24 would take at once (72 MB and more)."""
    # 24 messages through room for two: the last waits for eleven rounds of two to be read and
    # stored, longer than the default wait for room (30 s) on a slow machine. That wait and its
    # 75 are tested above; here every one must get in.
    daemon = make_daemon(relay=relay, settings={
        "submit": {"max_message_bytes": 4 << 20, "max_receiving_bytes": 8 << 20,
                   "max_wait_for_room": "5m"}}).start()
    status, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})
    assert status == 200

    def peak_mb():
        with open(f"/proc/{daemon.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024

    with open(f"/proc/{daemon.proc.pid}/maps") as f:
        sanitized = "libasan" in f.read()  # AddressSanitizer keeps freed memory in quarantine
    base = peak_mb()
    filler = ("z" * 76 + "\n") * 40000  # 3.1 MB
    senders = [start_sendmail(daemon) for _ in range(24)]
    results = [None] * 24

    def feed(i, p):
        results[i] = p.communicate((MESSAGE.format(tag=f"big-{i}") + filler).encode())

    feeders = [threading.Thread(target=feed, args=(i, p)) for i, p in enumerate(senders)]
    for t in feeders:
        t.start()
    for t in feeders:
        t.join(600)
    assert [p.returncode for p in senders] == [0] * 24, \
        [r[1] for p, r in zip(senders, results) if p.returncode and r]
    growth = peak_mb() - base
    # Each of 24 may hold 256 KiB; two hold up to their 3 MB, about four times over while
    # prepared and stored; and some slack for the store's cache.
    bound = 24 * 0.25 + 2 * 3.1 * 4 + 16
    if not sanitized:
        assert growth < bound, f"peak memory grew by {growth:.0f} MB (bound {bound:.0f} MB)"

    status, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "UNBLOCK"})
    assert status == 200
    wait_for(lambda: {f"big-{i}" for i in range(24)} <= set(order_tags(relay)), timeout=120,
             what="all 24 large messages at the relay")
    daemon.stop()


def test_delivery_holds_no_more_bodies_than_max_sending_bytes(make_daemon, relay):
    """With room for 1 MiB of bodies being delivered, 400 KB messages go to a slow relay two at
    a time (a third would pass the budget), though 20 deliveries may run at once: both when new
    mail is handed to delivery as it is stored, and when released mail is claimed at once
    after a block. Every message arrives, whole."""
    daemon = make_daemon(relay=relay, settings={"delivery": {"max_sending_bytes": 1 << 20}}).start()
    filler = ("q" * 76 + "\n") * 5200  # 400 KB
    slow_json = relay.spool / "slow.stats"

    def most_at_once(local):
        return json.loads(slow_json.read_text()).get(local, 0) if slow_json.exists() else 0

    def send(tag, to):
        r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag=tag).replace(
            "alice@example.net", to) + filler)
        assert r.returncode == 0, r.stderr

    # New mail, stored and delivered as it comes: six scripts at once, so that the six are due
    # together however long one submission takes (each is delivered in the relay's 1.5 s).
    with concurrent.futures.ThreadPoolExecutor(6) as scripts:
        list(scripts.map(lambda i: send(f"arrive-{i}", "slow1@example.net"), range(6)))
    wait_for(lambda: {f"arrive-{i}" for i in range(6)} <= set(order_tags(relay)), timeout=60,
             what="six messages delivered as they came")
    assert most_at_once("slow1") == 2
    waits = metric(metrics(daemon)[1], "mailwarden_send_waits_total")
    assert waits >= 1, "the third message waited for room"

    # Held mail, all due at once when the account is unblocked.
    status, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})
    assert status == 200
    for i in range(6):
        send(f"held-{i}", "slow2@example.net")
    status, _ = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "UNBLOCK"})
    assert status == 200
    wait_for(lambda: {f"held-{i}" for i in range(6)} <= set(order_tags(relay)), timeout=60,
             what="six released messages delivered")
    assert most_at_once("slow2") == 2
    assert metric(metrics(daemon)[1], "mailwarden_send_waits_total") > waits
    assert all(m["data"].count(b"q" * 76) == 5200 for m in relay.messages())
    daemon.stop()
    assert "counted in flight" not in daemon.log_text(), "the bytes in flight were miscounted"


def test_scripts_past_max_connections_wait_their_turn(make_daemon, relay):
    """At submit.max_connections, a further script waits (it is not refused) until one of the
    connections being served ends; then its mail is taken like any other."""
    daemon = make_daemon(relay=relay, settings={"submit": {"max_connections": 2}}).start()
    # Both connected before the third: the daemon accepts in the order clients connect.
    open_ones = two_connections_held_open(daemon, "open")
    third = start_sendmail(daemon)
    feeder = threading.Thread(target=third.communicate, args=(MESSAGE.format(tag="third").encode(),))
    feeder.start()
    wait_for(lambda: "the most at once (submit.max_connections); a new one waits" in daemon.log_text(),
             what="the third connection waiting")
    assert third.poll() is None, "a third connection was served beyond max_connections"

    open_ones[0].stdin.close()
    assert open_ones[0].wait(30) == 0
    feeder.join(30)
    assert third.returncode == 0, third.stderr
    open_ones[1].stdin.close()
    assert open_ones[1].wait(30) == 0
    wait_for(lambda: {"open-0", "open-1", "third"} <= set(order_tags(relay)),
             what="all three messages at the relay")
    daemon.stop()
