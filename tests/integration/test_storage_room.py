"""What the store keeps at most: a hacked site's flood stops at its account's storage quota
(store.max_held_*_per_account) without touching other accounts, the store keeps free room
for BLOCK, UNBLOCK and PURGE (store.min_free_space), and a full disk is told "try again later"
(drop-in 75, SMTP 452) with nothing acknowledged lost, until there is room again.

The disk is a small tmpfs of the test's own (root only)."""
import contextlib
import os
import pathlib
import smtplib
import subprocess
import tempfile

import pytest

from conftest import (OTHER_UID, Daemon, api, demo_and_other, free_port, metric,
                      metrics, order_message, order_tags, request, status, submit, wait_for)

EX_TEMPFAIL = 75


def refused_no_room(daemon, reason):
    code, text = metrics(daemon)
    assert code == 200, text
    for line in text.splitlines():
        if line.startswith(f'mailwarden_refused_no_room_total{{reason="{reason}"}} '):
            return int(float(line.split()[1]))
    raise AssertionError(f"no refused_no_room_total for {reason} in:\n{text}")


def short_of_room(daemon):
    code, text = metrics(daemon)
    assert code == 200, text
    return metric(text, "mailwarden_store_short_of_room")


@contextlib.contextmanager
def small_disk(megabytes):
    """A tmpfs of `megabytes` MiB, mounted on a folder of its own and unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    folder = pathlib.Path(tempfile.mkdtemp(prefix="mw-disk-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0755",
                              "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"no small file system to fill here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def big_message(tag, size):
    """A message of about `size` bytes whose body does not compress away."""
    line = (tag + " ") * 10
    body = "\n".join(f"{i:08d} {line}"[:76] for i in range(size // 77))
    return f"From: shop@example.com\nTo: buyer@example.net\nSubject: order {tag}\n\n{body}\n"


def fill(path):
    """Writes a file at path until the file system is full; returns its size."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
                written += len(chunk)
        except OSError:
            pass
    return written


def test_a_flood_stops_at_its_accounts_quota_and_other_accounts_go_on(make_daemon, relay):
    daemon = make_daemon(relay=relay, accounts=demo_and_other(), settings={
        "store": {"max_held_messages_per_account": 3}}).start()
    assert request(daemon, "BLOCK")[0] == 200
    for i in range(3):
        submit(daemon, f"held-{i}")
    over = daemon.sendmail(["-t", "-i"], order_message("over"))
    assert over.returncode == EX_TEMPFAIL, over
    assert b"storage quota" in over.stderr, over.stderr
    # The other account is not touched by demo's quota.
    submit(daemon, "other-1", uid=OTHER_UID)
    wait_for(lambda: "other-1" in order_tags(relay), what="the other account's mail")
    assert status(daemon)["held"] == 3
    assert refused_no_room(daemon, "account_quota") == 1
    assert short_of_room(daemon) == 0
    assert "result=tempfail" in daemon.log_text()
    # Unblocked, the held mail goes out, and the account takes mail again.
    assert request(daemon, "UNBLOCK")[0] == 200
    wait_for(lambda: {"held-0", "held-1", "held-2"} <= set(order_tags(relay)), what="the held mail")
    wait_for(lambda: status(daemon)["queued"] == 0, what="the queue to empty")
    submit(daemon, "after")
    wait_for(lambda: "after" in order_tags(relay), what="mail after the flood")
    assert "over" not in order_tags(relay)


def test_the_floor_keeps_room_for_block_unblock_and_purge(relay, tmp_path):
    with small_disk(12) as disk:
        daemon = Daemon(disk / "node", relay=relay, accounts=demo_and_other(), settings={
            "store": {"min_free_space": 3 * 1024 * 1024, "max_held_bytes_per_account": 0},
            "submit": {"max_message_bytes": 1024 * 1024}})
        daemon.log_path = tmp_path / "daemon.log"  # the log is not on the small disk
        try:
            daemon.start()
            assert request(daemon, "BLOCK")[0] == 200
            held = 0
            while True:  # a blocked site's flood of 200 KB messages until the store says no
                r = daemon.sendmail(["-t", "-i"], big_message(f"flood-{held}", 200_000))
                if r.returncode != 0:
                    break
                held += 1
                assert held < 60, "a 12 MiB disk with 3 MiB kept free took 12 MB of mail"
            assert r.returncode == EX_TEMPFAIL, r
            assert b"short of disk space" in r.stderr, r.stderr
            assert held >= 10
            # Short of room, new mail of every account waits; nothing stored is lost.
            other = daemon.sendmail(["-t", "-i"], order_message("other-short"), uid=OTHER_UID)
            assert other.returncode == EX_TEMPFAIL, other
            assert short_of_room(daemon) == 1
            assert refused_no_room(daemon, "store_disk") == 2
            assert status(daemon)["held"] == held
            # The customer can still act on the flood: UNBLOCK and BLOCK again, then PURGE.
            # (The held mail released meanwhile is delivered: the relay takes some of it.)
            assert request(daemon, "UNBLOCK")[0] == 200
            assert request(daemon, "BLOCK")[0] == 200
            code, body = request(daemon, "PURGE")
            assert code == 200, body
            # The purge frees pages inside the database file, not on the file system: the store
            # counts those as room, and takes mail again.
            wait_for(lambda: daemon.sendmail(["-t", "-i"], order_message("after-purge"),
                                             uid=OTHER_UID).returncode == 0,
                     what="the store to take mail again after the purge")
            wait_for(lambda: "after-purge" in order_tags(relay), what="mail after the purge")
            assert short_of_room(daemon) == 0
            log = daemon.log_text()
            # The want of room is said once, not at each refusal; and its end once.
            assert log.count("no room for new mail") == 1, log[-3000:]
            assert log.count("there is room again") == 1, log[-3000:]
        finally:
            daemon.stop()


def test_a_full_disk_is_try_again_later_and_nothing_acknowledged_is_lost(relay, tmp_path):
    with small_disk(16) as disk:
        port = free_port()
        daemon = Daemon(disk / "node", relay=relay, accounts=demo_and_other(), settings={
            "store": {"min_free_space": 0},
            "smtp": {"listen": [f"127.0.0.1:{port}"]}})
        daemon.log_path = tmp_path / "daemon.log"  # the log is not on the full disk
        try:
            daemon.start()
            code, body = api(daemon, "POST", "/api/v1/accounts/demo/smtp-password")
            assert code == 201, body
            password = body["password"]
            assert request(daemon, "BLOCK")[0] == 200  # what is stored stays in the store
            accepted = []
            for i in range(5):
                submit(daemon, f"before-{i}")
                accepted.append(f"before-{i}")
            # Someone else fills the disk.
            filler = disk / "filler"
            fill(filler)
            # Mail is told to try later, by the drop-in and by SMTP.
            statuses = set()
            for i in range(40):  # the WAL's file may still have room for a few messages
                r = daemon.sendmail(["-t", "-i"], big_message(f"full-{i}", 400_000))
                statuses.add(r.returncode)
                if r.returncode == 0:
                    accepted.append(f"full-{i}")
                else:
                    assert r.returncode == EX_TEMPFAIL, r
                    break
            assert EX_TEMPFAIL in statuses
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.login("demo", password)
                with pytest.raises(smtplib.SMTPDataError) as refused:
                    smtp.sendmail("shop@example.com", ["buyer@example.net"],
                                  big_message("smtp-full", 400_000))
                assert refused.value.smtp_code == 452, refused.value
            assert short_of_room(daemon) == 1
            assert daemon.proc.poll() is None, "the daemon must keep running"
            assert daemon.log_text().count("no room for new mail") == 1
            # Space returns: mail is taken again, and every acknowledged message goes out.
            filler.unlink()
            submit(daemon, "after")
            accepted.append("after")
            assert short_of_room(daemon) == 0
            assert request(daemon, "UNBLOCK")[0] == 200
            wait_for(lambda: set(accepted) <= set(order_tags(relay)), timeout=30,
                     what="every acknowledged message at the relay")
        finally:
            daemon.stop()
