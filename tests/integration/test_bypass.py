"""No way around: with the shipped nftables rule set loaded, scripts reach SMTP only through
mailwarden, and the local listener (smtp.local_listen) attributes their mail by uid.

Everything runs in a network namespace of this test's own (the host's firewall is never
touched): the daemon, a stand-in relay on loopback and a stand-in "remote MX" on an address of its own
(192.0.2.25, port 25). Needs root (setuid, namespaces) and Debian's nftables."""
import ctypes
import os
import pathlib
import re
import shutil
import smtplib
import socket
import subprocess

import pytest

from conftest import BIN, PYTHON, Relay, api, status, wait_for

RULES = pathlib.Path(__file__).resolve().parents[2] / "packaging" / "nftables" / "mailwarden.nft"
CLONE_NEWNET = 0x40000000

SCRIPT_UID = 4261      # the demo account's scripts
STRANGER_UID = 4262    # a local user without a mail account
DAEMON_UID = 4263      # stands for the daemon's user, "mailwarden" in the shipped rules
LOCAL_PORT = 2525      # smtp.local_listen, as in the shipped rules
RELAY_PORT = 2526      # delivery.relay's port on 127.0.0.1
MX_ADDRESS = "192.0.2.25"  # a "remote" MX: a dummy interface's address, port 25

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: namespaces and setuid")


@pytest.fixture
def netns():
    """Moves this process into a new network namespace for the test, then back."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert shutil.which("nft"), "nft is missing: scripts/install-deps test installs nftables"
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        assert libc.unshare(CLONE_NEWNET) == 0, os.strerror(ctypes.get_errno())
        try:
            for cmd in (["ip", "link", "set", "lo", "up"],
                        ["ip", "addr", "add", f"{MX_ADDRESS}/32", "dev", "lo"]):
                subprocess.run(cmd, check=True, timeout=10)
            yield
        finally:
            # Whatever the daemons left, the namespace goes with the last process in it.
            assert libc.setns(home, CLONE_NEWNET) == 0, os.strerror(ctypes.get_errno())
    finally:
        os.close(home)


def load_rules(smtp_users):
    """Loads the shipped rule set with this test's ports and users put in its variables."""
    text = RULES.read_text()
    text = re.sub(r"(?m)^define smtp_users = .*$", f"define smtp_users = {{ {smtp_users} }}", text)
    text = re.sub(r"(?m)^define relay_port = .*$", f"define relay_port = {RELAY_PORT}", text)
    r = subprocess.run(["nft", "-f", "-"], input=text, text=True, capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr


def connect_as(uid, address, port):
    """Connects to address:port as uid in a child; returns its first line, or the error's name."""
    code = (
        "import socket, sys\n"
        "try:\n"
        f"    s = socket.create_connection(({address!r}, {port}), timeout=10)\n"
        "    print(s.makefile().readline().strip())\n"
        "except OSError as e:\n"
        "    print(type(e).__name__)\n")
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        PYTHON, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def smtplib_as(uid, address, subject):
    """A script's smtplib.SMTP(address, 25) without login, as uid: "sent" or the refusal."""
    code = (
        "import smtplib\n"
        "try:\n"
        f"    with smtplib.SMTP({address!r}, 25, timeout=20) as s:\n"
        f"        s.sendmail('cron@example.com', ['ops@example.net'],\n"
        f"                   'Subject: {subject}\\r\\n\\r\\nnightly job done\\r\\n')\n"
        "    print('sent')\n"
        "except smtplib.SMTPException as e:\n"
        "    print('refused', e)\n")
    r = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                        PYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def doctor(daemon):
    return subprocess.run([str(BIN / "mailwardenctl"), "--config", str(daemon.config), "doctor"],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def bypass(netns, tmp_path, make_daemon):
    """The daemon (as root) with smtp.local_listen, the relay on 127.0.0.1:RELAY_PORT and the
    "remote MX" on MX_ADDRESS:25, all in the test's namespace; demo is SCRIPT_UID's account."""
    relay = Relay(tmp_path / "relay-spool", port=RELAY_PORT)
    mx = Relay(tmp_path / "mx-spool")
    daemon = None
    try:
        relay.start()
        mx.proc = subprocess.Popen([PYTHON, str(pathlib.Path(__file__).parent / "relay_peer.py"),
                                    "--host", MX_ADDRESS, "--port", "25", "--spool", str(mx.spool)],
                                   stdout=subprocess.PIPE, text=True)
        assert mx.proc.stdout.readline().startswith("PORT "), "the stand-in MX did not start"
        daemon = make_daemon(relay=relay,
                             settings={"smtp": {"local_listen": [f"127.0.0.1:{LOCAL_PORT}",
                                                                f"[::1]:{LOCAL_PORT}"]}},
                             accounts=[{"name": "demo", "uids": [SCRIPT_UID],
                                        "report_to": "owner@example.com"}])
        daemon.start()
        yield daemon, relay, mx
    finally:
        # Every process of the namespace ends before the test leaves it.
        if daemon:
            daemon.stop()
        relay.stop()
        mx.stop()


def test_without_the_rules_doctor_says_so_and_scripts_reach_the_relay(bypass):
    daemon, relay, mx = bypass
    assert connect_as(SCRIPT_UID, "127.0.0.1", RELAY_PORT).startswith("220 ")
    r = doctor(daemon)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "problem: the rule set is not loaded" in r.stdout
    assert f"problem: uid 65534 (nobody) can connect to the relay at 127.0.0.1:{RELAY_PORT}" in r.stdout


def test_with_the_rules_only_the_daemons_user_reaches_smtp(bypass):
    daemon, relay, mx = bypass
    load_rules(f"0, {DAEMON_UID}")
    # A script: the relay and the other SMTP ports are closed; port 25 anywhere is mailwarden.
    assert connect_as(SCRIPT_UID, "127.0.0.1", RELAY_PORT) == "ConnectionRefusedError"
    assert connect_as(SCRIPT_UID, MX_ADDRESS, 587) == "ConnectionRefusedError"
    assert connect_as(SCRIPT_UID, MX_ADDRESS, 465) == "ConnectionRefusedError"
    banner = connect_as(SCRIPT_UID, MX_ADDRESS, 25)
    assert banner.startswith("220 ") and "ESMTP mailwarden" in banner, banner
    assert "ESMTP mailwarden" in connect_as(SCRIPT_UID, "127.0.0.1", 25)
    # The daemon's user (and root) go where they connect.
    assert connect_as(DAEMON_UID, "127.0.0.1", RELAY_PORT).startswith("220 ")
    mx_banner = connect_as(DAEMON_UID, MX_ADDRESS, 25)
    assert mx_banner.startswith("220 ") and "ESMTP mailwarden" not in mx_banner, mx_banner
    assert connect_as(0, "127.0.0.1", RELAY_PORT).startswith("220 ")
    r = doctor(daemon)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"ok: the rule set is loaded; port 25 goes to smtp.local_listen at :{LOCAL_PORT}" in r.stdout
    assert "ok: uid 65534 (nobody) cannot connect to the relay" in r.stdout
    # A relay on port 25 (here the stand-in MX): nobody's connection lands in mailwarden.
    on_25 = daemon.root / "relay-on-25.toml"
    on_25.write_text(daemon.config.read_text().replace(f'relay = "127.0.0.1:{RELAY_PORT}"',
                                                       f'relay = "{MX_ADDRESS}:25"'))
    r = subprocess.run([str(BIN / "mailwardenctl"), "--config", str(on_25), "doctor"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"ok: uid 65534 (nobody) connecting to the relay at {MX_ADDRESS}:25 reaches mailwarden" in r.stdout


def test_smtplib_without_login_is_held_for_the_account_of_its_uid(bypass):
    daemon, relay, mx = bypass
    load_rules(f"0, {DAEMON_UID}")
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "BLOCK"})
    assert code == 200, body
    assert smtplib_as(SCRIPT_UID, "127.0.0.1", "cron one") == "sent"
    assert smtplib_as(SCRIPT_UID, MX_ADDRESS, "cron two") == "sent"  # "straight to the MX"
    assert smtplib_as(SCRIPT_UID, "::1", "cron three") == "sent"  # IPv6: to [::1]:LOCAL_PORT
    st = status(daemon)
    assert st["held"] == 3, st
    rows = daemon.query("SELECT uid FROM messages WHERE account_id = "
                        "(SELECT id FROM accounts WHERE name = 'demo')")
    assert rows == [(SCRIPT_UID,)] * 3
    assert relay.messages() == [] and mx.messages() == []
    log = daemon.log_text()
    assert f"uid={SCRIPT_UID} account=demo local=ok" in log
    # Unblocked, it leaves through the relay, as mail of demo.
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/request", body={"action": "UNBLOCK"})
    assert code == 200, body
    msgs = wait_for(lambda: len(relay.messages()) == 3 and relay.messages(), what="the released mail")
    assert all("from account demo" in m["data"].decode() for m in msgs)
    wait_for(lambda: status(daemon)["sent"] == 3, what="demo's sent counter")
    assert mx.messages() == []


def test_a_uid_without_an_account_is_refused(bypass):
    daemon, relay, mx = bypass
    load_rules(f"0, {DAEMON_UID}")
    out = smtplib_as(STRANGER_UID, "127.0.0.1", "who am I")
    assert out.startswith("refused") and "550" in out and f"uid {STRANGER_UID} has no mail account" in out, out
    assert daemon.query("SELECT count(*) FROM messages") == [(0,)]
    assert relay.messages() == [] and mx.messages() == []
