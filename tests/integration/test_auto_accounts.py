"""Automatic accounts (auto_accounts.uids): a uid of the configured range with no account gets
one on its first mail, named after its entry in the system's user database; off by default.
The test uses the users every Debian system has (daemon, bin, sys) and changes no user."""
import os
import pwd
import signal

import pytest

from conftest import api, order_message, wait_for

if os.geteuid() != 0:
    pytest.skip("submits as other uids (setpriv): needs root", allow_module_level=True)


def user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        pytest.skip(f"this system has no user of uid {uid}")


def unused_uid(low, high):
    """A uid of [low, high] the user database does not know."""
    for uid in range(high, low, -1):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    pytest.skip(f"every uid of {low}-{high} has a user")


def send(daemon, uid, tag):
    return daemon.sendmail(["-t", "-i"], order_message(tag), uid=uid)


def account(daemon, name):
    code, body = api(daemon, "GET", "/api/v1/accounts")
    assert code == 200, body
    return next((a for a in body["items"] if a["name"] == name), None)


def test_off_by_default_a_uid_without_account_is_refused(make_daemon):
    daemon = make_daemon().start()
    r = send(daemon, 1, "off-1")
    assert r.returncode == 77, r.stderr
    assert b"has no mail account" in r.stderr
    assert account(daemon, user(1)) is None


def test_a_uid_of_the_range_gets_an_account_named_after_its_user(make_daemon):
    first, second, third = user(1), user(2), user(3)
    nobody_uid = unused_uid(4, 60999)
    daemon = make_daemon(
        settings={"auto_accounts": {"uids": "1-60999", "language": "pl"}},
        accounts=[
            {"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"},
            # The user of uid 2 has a namesake account that was not given uid 2.
            {"name": second, "uids": [4242], "report_to": "owner@example.com"},
        ]).start()

    # First mail: the account is made, the mail taken and delivered as its mail.
    r = send(daemon, 1, "auto-1")
    assert r.returncode == 0, r.stderr
    made = account(daemon, first)
    assert made is not None, daemon.log_text()
    assert made["uids"] == [1]
    assert made["language"] == "pl"
    assert f"accounts: uid=1 account={first} result=created by=auto_accounts" in daemon.log_text()
    # The next mail of that uid goes to the same account, which is not made twice.
    assert send(daemon, 1, "auto-2").returncode == 0
    wait_for(lambda: api(daemon, "GET", f"/api/v1/accounts/{first}/email")[1]["sent_today"] == 2,
             what="both messages of the new account sent")
    assert daemon.log_text().count(f"account={first} result=created") == 1

    # An existing account never takes a uid it was not given, even from its namesake user.
    r = send(daemon, 2, "auto-3")
    assert r.returncode == 77, r.stderr
    assert account(daemon, second)["uids"] == [4242]
    assert f"accounts: uid=2 account={second} result=refused" in daemon.log_text()
    assert "an account of this name exists without this uid" in daemon.log_text()

    # A uid of the range the user database does not know: refused, no account.
    r = send(daemon, nobody_uid, "auto-4")
    assert r.returncode == 77, r.stderr
    assert f"accounts: uid={nobody_uid} result=refused" in daemon.log_text()

    # Outside the range: as without automatic accounts.
    r = send(daemon, 65534, "auto-5")
    assert r.returncode == 77, r.stderr
    assert account(daemon, user(65534)) is None

    # Taken again on reload: without the range, uid 3 gets no account.
    daemon.config.write_text(daemon.config.read_text().replace('uids = "1-60999"', 'uids = ""'))
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in daemon.log_text(), what="the reload")
    r = send(daemon, 3, "auto-6")
    assert r.returncode == 77, r.stderr
    assert account(daemon, third) is None
    # The account made before stays, with its mail.
    assert account(daemon, first)["uids"] == [1]
