"""Started as root, the daemon binds, opens its store, hands what it made to daemon.user and
becomes that user for good; it never handles mail as root unless told so. Needs root (as in
CI): a temporary system user is made with useradd and removed afterwards."""
import os
import pathlib
import pwd
import secrets
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import BIN, Daemon, status, submit, wait_for

OTHER_UID = 4243

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root, as CI has")


@pytest.fixture
def service_user():
    name = "mwtest" + secrets.token_hex(3)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False)


def ids(pid, field):
    """The four ids of /proc/PID/status's Uid: or Gid: line (real, effective, saved, fs)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {field} line")


def owner_and_mode(path):
    st = os.lstat(path)
    return st.st_uid, stat.S_IMODE(st.st_mode)


def test_started_as_root_it_runs_as_daemon_user_and_its_files_are_that_users(service_user):
    # A folder every user may pass through (the pytest folder of root is 0700), where the
    # daemon makes its state and run folders itself, as on a first start.
    root = pathlib.Path(tempfile.mkdtemp(prefix="mw-priv-"))
    root.chmod(0o755)
    uid, gid = service_user.pw_uid, service_user.pw_gid
    daemon = Daemon(root, accounts=[
        {"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"},
        {"name": "other", "uids": [OTHER_UID], "report_to": "other@example.com"}],
        settings={"store": {"url": "sqlite:state/mailwarden.db"},
                  "submit": {"socket": str(root / "run" / "submit.sock")},
                  "http": {"admin_token_file": "state/admin.token"},
                  "delivery": {"maildir": "state/outbox"},
                  "daemon": {"user": service_user.pw_name}})
    daemon.socket = root / "run" / "submit.sock"
    daemon.outbox = root / "state" / "outbox"
    try:
        daemon.start()
        # The listeners answer a moment before the daemon becomes its user.
        wait_for(lambda: f"running as {service_user.pw_name}" in daemon.log_text(),
                 what="the daemon to become its user")
        assert ids(daemon.proc.pid, "Uid") == [uid] * 4
        assert ids(daemon.proc.pid, "Gid") == [gid] * 4
        groups = [line for line in pathlib.Path(f"/proc/{daemon.proc.pid}/status").read_text()
                  .splitlines() if line.startswith("Groups:")][0].split()[1:]
        assert set(int(g) for g in groups) <= {gid}, groups

        state = root / "state"
        token = (state / "admin.token").read_text().strip()
        # A script of another uid, with an account: stored, then delivered by the daemon's user.
        r = daemon.sendmail(["-t", "-i"], "To: buyer@example.net\nSubject: order priv\n\nHi.\n",
                            uid=OTHER_UID)
        assert r.returncode == 0, r.stderr
        files = wait_for(lambda: list((daemon.outbox / "new").glob("*")), what="the delivered mail")
        assert "Subject: order priv" in files[0].read_text()
        assert owner_and_mode(files[0]) == (uid, 0o600)
        # The file is written a moment before the delivery's outcome is stored.
        wait_for(lambda: status(daemon, "other", token=token)["sent"] == 1,
                 what="the delivery counted as sent")

        assert owner_and_mode(state) == (uid, 0o755)
        for name in ["mailwarden.db", "mailwarden.db-wal", "mailwarden.db-shm", "admin.token"]:
            assert owner_and_mode(state / name) == (uid, 0o600), name
        # Every local user connects to the socket; none may write its folder.
        assert owner_and_mode(root / "run") == (uid, 0o755)
        assert owner_and_mode(daemon.socket) == (uid, 0o666)
        assert stat.S_ISSOCK(os.lstat(daemon.socket).st_mode)

        daemon.stop()
        assert not daemon.socket.exists()
        # The next start, as root again, uses what the daemon's user owns.
        daemon.start()
        wait_for(lambda: daemon.log_text().count(f"running as {service_user.pw_name}") == 2,
                 what="the daemon to become its user again")
        assert ids(daemon.proc.pid, "Uid") == [uid] * 4
        submit(daemon, "again", uid=OTHER_UID)
        wait_for(lambda: len(list((daemon.outbox / "new").glob("*"))) == 2, what="the second mail")
    finally:
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_root_without_daemon_user_refuses_to_handle_mail(make_daemon):
    daemon = make_daemon(settings={"daemon": {"user": ""}})
    r = subprocess.run([str(BIN / "mailwardend"), "--config", str(daemon.config)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert "set daemon.user to the user it should run as" in r.stdout + r.stderr
    assert not daemon.socket.exists() and not daemon.db.exists()


def test_a_daemon_user_that_does_not_exist_stops_the_start(make_daemon):
    daemon = make_daemon(settings={"daemon": {"user": "no-such-mw-user"}})
    r = subprocess.run([str(BIN / "mailwardend"), "--config", str(daemon.config)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 78
    assert 'daemon.user: no user "no-such-mw-user"' in r.stdout + r.stderr
