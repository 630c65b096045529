"""The daemon as a service: systemd's readiness protocol, --check-config, reload on SIGHUP, an
orderly stop on SIGTERM while scripts submit, and a store newer than the program. The real
daemon, the real drop-in."""
import email
import email.policy
import os
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import threading
import time

import pytest

from conftest import BIN, api, free_port, order_message, status, submit, wait_for

OTHER_UID = 4243


def notify_socket(tmp_path):
    """A datagram socket of the test's own, where the daemon's sd_notify messages arrive."""
    path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(30)
    return s, path


def next_notice(s, wanted):
    """Reads the daemon's notices until one holds the line `wanted`; returns its lines."""
    while True:
        lines = s.recv(4096).decode().split("\n")
        if wanted in lines:
            return lines


def hup(daemon, done="configuration reloaded"):
    """Sends SIGHUP and waits for the log to say `done` once more."""
    seen = daemon.log_text().count(done)
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.log_text().count(done) > seen, what=f"the log to say {done!r}")


def reload(daemon, text_before, text_after, done="configuration reloaded"):
    """Rewrites one line of the file, sends SIGHUP, and waits for the log to say `done`."""
    config = daemon.config.read_text()
    assert text_before in config
    daemon.config.write_text(config.replace(text_before, text_after))
    hup(daemon, done)


def test_ready_once_the_listeners_accept_reloading_and_stopping_are_told(make_daemon, tmp_path):
    s, path = notify_socket(tmp_path)
    daemon = make_daemon()
    daemon.start(env={"NOTIFY_SOCKET": str(path)})
    next_notice(s, "READY=1")
    # Ready means connections are taken: the socket and the HTTP listener answer now.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.connect(str(daemon.socket))
    assert api(daemon, "GET", "/api/v1/accounts/demo/email")[0] == 200

    daemon.proc.send_signal(signal.SIGHUP)
    lines = next_notice(s, "RELOADING=1")
    assert any(line.startswith("MONOTONIC_USEC=") for line in lines), lines
    next_notice(s, "READY=1")

    daemon.proc.send_signal(signal.SIGTERM)
    next_notice(s, "STOPPING=1")
    assert daemon.proc.wait(30) == 0
    s.close()


def test_the_watchdog_is_told_while_the_loop_turns_and_only_when_asked_for(make_daemon, tmp_path):
    s, path = notify_socket(tmp_path)
    daemon = make_daemon()
    # systemd's WatchdogSec=: WATCHDOG_USEC in the environment, in microseconds.
    daemon.start(env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
    next_notice(s, "READY=1")
    for _ in range(3):
        next_notice(s, "WATCHDOG=1")
    assert "every 200 ms" in daemon.log_text()
    daemon.proc.send_signal(signal.SIGTERM)
    next_notice(s, "STOPPING=1")
    assert daemon.proc.wait(30) == 0
    s.close()

    # Without WatchdogSec= the daemon does not send them.
    (tmp_path / "again").mkdir()
    s, path = notify_socket(tmp_path / "again")
    daemon = make_daemon()
    daemon.start(env={"NOTIFY_SOCKET": str(path)})
    seen = next_notice(s, "READY=1")
    daemon.proc.send_signal(signal.SIGTERM)
    while "STOPPING=1" not in seen:
        seen = s.recv(4096).decode().split("\n")
        assert "WATCHDOG=1" not in seen, seen
    assert daemon.proc.wait(30) == 0
    s.close()


@pytest.mark.parametrize("config,needle", [
    ("", None),
    ("[daemon]\nuser = \"nobody\"\nshutdown_timeout = \"10s\"\n", None),
    ("[daemon]\nuser = \"no-such-mw-user\"\n", "daemon.user: no user"),
    ("[daemon]\nshutdown_timeout = \"soon\"\n", "daemon.shutdown_timeout"),
    ("[policy]\nmax_per_hour = -1\n", "policy.max_per_hour"),
    ("[smtp]\nlisten = [\"127.0.0.1\"]\n", "smtp.listen"),
])
def test_check_config_exits_0_or_78_naming_the_key(tmp_path, config, needle):
    f = tmp_path / "mailwarden.toml"
    f.write_text(config)
    r = subprocess.run([str(BIN / "mailwardend"), "--check-config", str(f)],
                       capture_output=True, text=True, timeout=30)
    if needle is None:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 78, r.stderr
        assert needle in r.stderr
    # Nothing was started: no store, no socket.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mailwarden.toml"]


def orders(relay):
    out = []
    for m in relay.messages():
        subject = str(email.message_from_bytes(m["data"], policy=email.policy.default)["subject"])
        if subject.startswith("order "):
            out.append(subject)
    return out


def test_a_reloaded_policy_applies_to_the_next_message(make_daemon, relay):
    accounts = [{"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"},
                {"name": "other", "uids": [OTHER_UID], "max_per_hour": 100}]
    daemon = make_daemon(relay=relay, accounts=accounts,
                         settings={"policy": {"max_per_hour": 300}}).start()
    submit(daemon, "before")
    wait_for(lambda: "order before" in orders(relay), what="the first message")
    # Its outcome is stored a moment after the relay has it: until then it is unfinished.
    wait_for(lambda: status(daemon)["sent"] == 1, what="the first message's outcome")

    reload(daemon, "max_per_hour = 300", "max_per_hour = 1")
    submit(daemon, "after")
    # Another account's later message goes out: the scheduler has claimed since, and passed
    # over the waiting one, still queued and never attempted.
    submit(daemon, "other", uid=OTHER_UID)
    wait_for(lambda: "order other" in orders(relay), what="the other account's message")
    assert "order after" not in orders(relay)
    assert daemon.query("SELECT m.status, m.attempts FROM messages m JOIN accounts a "
                        "ON a.id = m.account_id WHERE a.name = 'demo' AND m.status < 2") == [(0, 0)]

    reload(daemon, "max_per_hour = 1", "max_per_hour = 300")
    wait_for(lambda: "order after" in orders(relay), what="the waiting message, once allowed")


def test_a_file_with_an_error_is_refused_and_the_running_config_kept(make_daemon):
    daemon = make_daemon(settings={"policy": {"max_per_hour": 300}}).start()
    reload(daemon, "max_per_hour = 300", "max_per_hour = \"lots\"",
           done="reload refused, the running configuration is kept")
    assert "policy.max_per_hour" in daemon.log_text().split("reload refused")[-1]
    assert daemon.proc.poll() is None
    submit(daemon, "still-serving")
    wait_for(lambda: list((daemon.outbox / "new").glob("*")), what="the message delivered")
    assert status(daemon)["max_per_day"] == 1000


def test_a_changed_listen_address_is_logged_and_the_old_one_kept(make_daemon):
    daemon = make_daemon().start()
    old = f'listen = "127.0.0.1:{daemon.http_port}"'
    reload(daemon, old, 'listen = "127.0.0.1:1"')
    assert "http.listen changed; it keeps its running value until a restart" in daemon.log_text()
    assert api(daemon, "GET", "/api/v1/accounts/demo/email")[0] == 200


def test_an_account_added_to_the_file_is_served_after_a_reload(make_daemon):
    daemon = make_daemon().start()
    message = order_message("newshop")
    assert daemon.sendmail(["-t", "-i"], message, uid=4246).returncode == 77
    with daemon.config.open("a") as f:
        f.write('[[account]]\nname = "newshop"\nuids = [4246]\n')
    hup(daemon)
    r = daemon.sendmail(["-t", "-i"], message, uid=4246)
    assert r.returncode == 0, r.stderr
    assert status(daemon, "newshop")["state"] == "active"


def served_certificate(port):
    """The certificate the SMTP listener shows after STARTTLS (DER)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=context)
        return client.sock.getpeercert(binary_form=True)


def test_a_renewed_tls_certificate_is_taken_on_reload_and_a_bad_one_refused(make_daemon, tmp_path):
    pems = {}
    for name in ("first", "second"):
        cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                        f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
        pems[name] = (cert.read_text(), key.read_text())
    cert, key = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert.write_text(pems["first"][0])
    key.write_text(pems["first"][1])
    key.chmod(0o600)
    port = free_port()
    daemon = make_daemon(settings={"smtp": {"listen": [f"127.0.0.1:{port}"], "tls_cert": str(cert),
                                            "tls_key": str(key)}}).start()
    assert served_certificate(port) == ssl.PEM_cert_to_DER_cert(pems["first"][0])

    # Renewed in place, as certbot does: the same names, new contents.
    cert.write_text(pems["second"][0])
    key.write_text(pems["second"][1])
    hup(daemon)
    assert served_certificate(port) == ssl.PEM_cert_to_DER_cert(pems["second"][0])

    cert.write_text("not a certificate\n")
    hup(daemon, done="reload refused, the running configuration is kept")
    assert "smtp.tls_cert" in daemon.log_text().split("reload refused")[-1]
    assert served_certificate(port) == ssl.PEM_cert_to_DER_cert(pems["second"][0])


def maildir_subjects(daemon):
    out = []
    for f in (daemon.outbox / "new").glob("*"):
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        out.append(str(msg["subject"]))
    return out


def test_sigterm_amid_8_submitters_loses_no_acknowledged_message(make_daemon):
    daemon = make_daemon(settings={"daemon": {"shutdown_timeout": "20s"}}).start()
    acknowledged = []
    unexpected = []
    stop = threading.Event()
    lock = threading.Lock()

    def submitter(n):
        i = 0
        while not stop.is_set():
            tag = f"s{n}-{i}"
            i += 1
            r = daemon.sendmail(["-t", "-i"], order_message(tag), timeout=60)
            if r.returncode == 0:
                with lock:
                    acknowledged.append(f"order {tag}")
            elif r.returncode != 75:
                unexpected.append((r.returncode, r.stderr))

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(acknowledged) >= 80, timeout=120, what="80 messages acknowledged")
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0, daemon.log_text()[-4000:]
        at_stop = len(acknowledged)
    finally:
        stop.set()
        for t in threads:
            t.join(90)
    assert not unexpected  # every submission was stored (0) or told to try again (75)
    daemon.log.close()
    daemon.start()
    wait_for(lambda: set(acknowledged) <= set(maildir_subjects(daemon)), timeout=60,
             what="every acknowledged message delivered after the restart")
    delivered = maildir_subjects(daemon)
    # A clean stop records every delivery it made: none goes twice.
    assert len(delivered) == len(set(delivered))
    assert at_stop >= 80


def test_a_drop_in_cut_off_mid_message_by_the_stop_is_told_to_try_again(make_daemon):
    daemon = make_daemon(settings={"daemon": {"shutdown_timeout": "2s"}}).start()
    env = dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket))
    dropin = subprocess.Popen([str(BIN / "mailwarden-sendmail"), "-t", "-i"], env=env,
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    dropin.stdin.write(b"From: shop@example.com\nTo: buyer@example.net\nSubject: half\n\n")
    dropin.stdin.flush()
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(30) == 0, daemon.log_text()[-4000:]
    assert time.monotonic() - started < 20  # within shutdown_timeout, not max_receive_time
    dropin.stdin.write(b"the rest\n")
    try:
        dropin.stdin.close()
    except BrokenPipeError:
        pass
    assert dropin.wait(60) == 75, dropin.stderr.read()
    daemon.log.close()
    daemon.start()
    assert "half" not in maildir_subjects(daemon)


def test_a_delivery_hanging_past_shutdown_timeout_is_left_for_the_next_start(make_daemon, relay):
    """The relay accepts the connection and never answers: the stop does not wait past
    daemon.shutdown_timeout, exits 0, and the next start sends the message."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)
    hole_port = hole.getsockname()[1]
    try:
        daemon = make_daemon(settings={"delivery": {"mode": "relay",
                                                    "relay": f"127.0.0.1:{hole_port}"},
                                       "daemon": {"shutdown_timeout": "2s"}}).start()
        submit(daemon, "stuck")
        wait_for(lambda: daemon.query("SELECT status FROM messages") == [(1,)],
                 what="the delivery in flight")
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(30) == 0, daemon.log_text()[-4000:]
        assert time.monotonic() - started < 15
        assert "daemon.shutdown_timeout passed" in daemon.log_text()
    finally:
        hole.close()
    daemon.log.close()
    daemon.config.write_text(daemon.config.read_text().replace(
        f"127.0.0.1:{hole_port}", f"127.0.0.1:{relay.port}"))
    daemon.start()
    wait_for(lambda: "order stuck" in orders(relay), what="the message, at the next start")


def test_a_store_of_a_newer_schema_is_refused_with_a_sentence(make_daemon):
    daemon = make_daemon().start()
    daemon.stop()
    con = sqlite3.connect(daemon.db)
    version = con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    con.execute("INSERT INTO schema_version (version, applied_ms) VALUES (?, 0)", (version + 1,))
    con.commit()
    con.close()
    r = subprocess.run([str(BIN / "mailwardend"), "--config", str(daemon.config)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 69
    assert f"schema version is {version + 1}, newer than this mailwarden knows ({version})" in r.stderr
