"""Hostile tenants at the intake: one local user must not harm the others' mail through the
submission socket or the SMTP listener. Each denial of service is tried with small limits,
bounded in time."""
import os
import subprocess
import threading
import time

from conftest import BIN, order_tags, wait_for
from test_core_pipeline import MESSAGE, waiting_for_more_input

OTHER_UID = 4243
STRANGER_UID = 4999  # no account
LARGE = ("L" * 76 + "\n") * 8000  # 600 KB: past the 256 KiB every message may hold


def accounts():
    return [{"name": "demo", "uids": [os.getuid()]}, {"name": "other", "uids": [OTHER_UID]}]


def start_sendmail(daemon, uid=None):
    cmd = [str(BIN / "mailwarden-sendmail"), "-t", "-i"]
    if uid is not None:
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] + cmd
    env = dict(os.environ, MAILWARDEN_SOCKET=str(daemon.socket))
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def holding_a_large_slot(daemon, tag, uid=None):
    """A drop-in that has sent 600 KB of its message and keeps its stdin open: it holds a
    large slot (or waits for one) until its stdin is closed."""
    p = start_sendmail(daemon, uid)
    try:
        p.stdin.write((MESSAGE.format(tag=tag) + LARGE).encode())
        p.stdin.flush()
    except BrokenPipeError:
        pass  # refused before it read it all: the caller looks at its exit code
    return p


def send_large(daemon, tag, uid=None, timeout=20):
    """Sends a whole 600 KB message; returns (exit code, stderr)."""
    p = start_sendmail(daemon, uid)
    try:
        _, err = p.communicate((MESSAGE.format(tag=tag) + LARGE).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError(f"the large message {tag} was not answered within {timeout}s")
    return p.returncode, err


def trickle(proc, every=0.3):
    """Feeds proc's stdin one byte at a time, as a client that keeps a connection alive on
    purpose, until proc exits."""
    def run():
        while proc.poll() is None:
            try:
                proc.stdin.write(b"x")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            time.sleep(every)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def finish(proc, timeout=20):
    proc.stdin.close()
    return proc.wait(timeout)


def test_a_uid_without_an_account_is_refused_before_its_body_is_read(make_daemon, relay):
    """A local user with no account sends 600 KB and keeps the connection open: it is told 77
    at once and holds no large slot, so an account's large message goes through meanwhile."""
    daemon = make_daemon(relay=relay, accounts=accounts(), settings={
        "submit": {"max_message_bytes": 1 << 20, "max_receiving_bytes": 1 << 20}}).start()
    stranger = holding_a_large_slot(daemon, "stranger", uid=STRANGER_UID)
    assert stranger.wait(10) == 77, stranger.stderr.read()

    code, err = send_large(daemon, "mine")
    assert code == 0, err
    wait_for(lambda: "mine" in order_tags(relay), what="the large message at the relay")
    assert "stranger" not in order_tags(relay)
    daemon.stop()


def test_a_trickling_sender_is_cut_off_at_max_receive_time(make_daemon, relay):
    """A client that takes the only large slot and then sends one byte every 0.3 s (never idle)
    is told 75 once submit.max_receive_time has passed; the slot is free again."""
    daemon = make_daemon(relay=relay, accounts=accounts(), settings={
        "submit": {"max_message_bytes": 1 << 20, "max_receiving_bytes": 1 << 20,
                   "max_receive_time": "2s"}}).start()
    slow = holding_a_large_slot(daemon, "slow")
    wait_for(lambda: waiting_for_more_input(slow), what="the slow drop-in holding the slot")
    trickle(slow)
    assert slow.wait(15) == 75, slow.stderr.read()
    assert b"took too long" in slow.stderr.read()

    code, err = send_large(daemon, "after", uid=OTHER_UID)
    assert code == 0, err
    wait_for(lambda: "after" in order_tags(relay), what="the next large message at the relay")
    assert "slow" not in order_tags(relay)
    assert "(submit.max_receive_time)" in daemon.log_text()
    daemon.stop()


def test_waiting_for_room_ends_with_75_after_max_wait_for_room(make_daemon, relay):
    """While the only large slot is held, another large message waits at most
    submit.max_wait_for_room and is then told to try again later (75); the holder is served."""
    daemon = make_daemon(relay=relay, accounts=accounts(), settings={
        "submit": {"max_message_bytes": 1 << 20, "max_receiving_bytes": 1 << 20,
                   "max_wait_for_room": "1s"}}).start()
    holder = holding_a_large_slot(daemon, "holder")
    wait_for(lambda: waiting_for_more_input(holder), what="the first drop-in holding the slot")

    started = time.monotonic()
    code, err = send_large(daemon, "waiter", uid=OTHER_UID)
    assert code == 75, err
    assert b"no room" in err
    assert time.monotonic() - started < 10

    assert finish(holder) == 0, holder.stderr.read()
    wait_for(lambda: "holder" in order_tags(relay), what="the holder's message at the relay")
    assert "waiter" not in order_tags(relay)
    daemon.stop()


def test_one_uid_holds_no_more_than_its_share_of_large_slots(make_daemon, relay):
    """With two large slots and submit.max_large_messages_per_uid = 1, a uid holding one
    cannot take the second: its next large message waits (then 75), and another account's
    large message is received at once."""
    daemon = make_daemon(relay=relay, accounts=accounts(), settings={
        "submit": {"max_message_bytes": 1 << 20, "max_receiving_bytes": 2 << 20,
                   "max_large_messages_per_uid": 1, "max_wait_for_room": "1s"}}).start()
    holder = holding_a_large_slot(daemon, "mine-1")
    wait_for(lambda: waiting_for_more_input(holder), what="the first drop-in holding a slot")

    code, err = send_large(daemon, "mine-2")
    assert code == 75, err
    code, err = send_large(daemon, "theirs", uid=OTHER_UID)
    assert code == 0, err

    assert finish(holder) == 0, holder.stderr.read()
    wait_for(lambda: {"mine-1", "theirs"} <= set(order_tags(relay)), what="both at the relay")
    assert "mine-2" not in order_tags(relay)
    assert "submit.max_large_messages_per_uid" in daemon.log_text()
    daemon.stop()


def test_a_burst_of_one_site_waits_for_its_places_instead_of_failing(make_daemon, relay):
    """PHP's mail() does not try again: with submit.max_connections_per_uid at 3 and three
    scripts of the uid being served, three more wait for a place (not told 75 at once) and are
    all stored once the first ones end."""
    daemon = make_daemon(relay=relay, accounts=accounts(), settings={
        "submit": {"max_connections_per_uid": 3, "uid_wait": "20s"}}).start()
    served = []
    for i in range(3):
        p = start_sendmail(daemon)
        p.stdin.write(MESSAGE.format(tag=f"served-{i}").encode())
        p.stdin.flush()
        served.append(p)
    wait_for(lambda: all(waiting_for_more_input(p) for p in served),
             what="three drop-ins being served")

    results = {}

    def send(tag):
        results[tag] = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag=tag), timeout=60)

    burst = [threading.Thread(target=send, args=(f"burst-{i}",)) for i in range(3)]
    for t in burst:
        t.start()
    wait_for(lambda: daemon.log_text().count("a new one waits") >= 3 or len(results) == 3,
             what="the burst waiting for places")
    assert results == {}, {k: (r.returncode, r.stderr) for k, r in results.items()}

    for p in served:
        assert finish(p) == 0, p.stderr.read()
    for t in burst:
        t.join(60)
    assert {k: r.returncode for k, r in results.items()} == {f"burst-{i}": 0 for i in range(3)}, \
        {k: r.stderr for k, r in results.items()}
    wait_for(lambda: {f"served-{i}" for i in range(3)} | {f"burst-{i}" for i in range(3)}
             <= set(order_tags(relay)), what="all six at the relay")
    daemon.stop()


def test_the_daemon_refuses_to_start_without_descriptors_for_its_connections(make_daemon):
    """submit.max_connections (1000 by default) and the daemon's own descriptors do not fit
    under an open files limit of 300: the daemon says so and does not start, rather than
    failing scripts' submissions in accept() later."""
    daemon = make_daemon()
    r = subprocess.run(["prlimit", "--nofile=300:300", str(BIN / "mailwardend"), "--config",
                        str(daemon.config)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "RLIMIT_NOFILE" in r.stdout + r.stderr, r.stdout + r.stderr
    # The HTTP listener's connections are counted too.
    http = make_daemon(settings={"submit": {"max_connections": 20}}, name="http")
    r = subprocess.run(["prlimit", "--nofile=300:300", str(BIN / "mailwardend"), "--config",
                        str(http.config)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "http.max_connections (256)" in r.stdout + r.stderr, r.stdout + r.stderr

    # Lowered to fit, or with a hard limit it may raise its own soft limit to, it starts.
    fits = {"submit": {"max_connections": 20}, "http": {"max_connections": 4}}
    for name, limit, settings in (("fits", "300:300", fits), ("raised", "300:4000", None)):
        starts = make_daemon(settings=settings, name=name)
        proc = subprocess.Popen(["prlimit", f"--nofile={limit}", str(BIN / "mailwardend"),
                                 "--config", str(starts.config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: starts.socket.exists() or proc.poll() is not None, what="the socket")
            assert proc.poll() is None, proc.stdout.read()
        finally:
            proc.terminate()
            proc.wait(30)
