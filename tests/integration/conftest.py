"""Fixtures that run the real programs: mailwardend with a temporary configuration, the real
mailwarden-sendmail, and a real SMTP peer (aiosmtpd, in relay_peer.py) as the relay."""
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

BIN = pathlib.Path(os.environ.get("MW_BIN", pathlib.Path(__file__).resolve().parents[2] / "build" / "bin"))
HERE = pathlib.Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"  # Debian's, with python3-aiosmtpd


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls predicate until it is true; fails the test with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """relay_peer.py: an aiosmtpd server that keeps what it accepts in a spool folder."""

    def __init__(self, spool, port=0):
        self.spool = pathlib.Path(spool)
        self.spool.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [PYTHON, str(HERE / "relay_peer.py"), "--port", str(self.port), "--spool", str(self.spool)],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("PORT "), f"relay_peer did not start: {line!r}"
        self.port = int(line.split()[1])
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def messages(self):
        """Every message the relay accepted, as dicts: mail_from, rcpt_tos, data (bytes)."""
        out = []
        for envelope in sorted(self.spool.glob("*.json")):
            m = json.loads(envelope.read_text())
            m["data"] = envelope.with_suffix(".eml").read_bytes()
            out.append(m)
        return out


class Daemon:
    def __init__(self, root, relay=None, settings=None, accounts=None):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "mailwarden.toml"
        # The socket lives in a folder every uid can reach (tests submit as other uids too).
        self.socket_dir = pathlib.Path(tempfile.mkdtemp(prefix="mw-sock-"))
        self.socket_dir.chmod(0o755)
        self.socket = self.socket_dir / "submit.sock"
        self.db = self.root / "mailwarden.db"
        self.outbox = self.root / "outbox"
        self.log_path = self.root / "daemon.log"
        self.proc = None
        self.http_port = free_port()
        sections = {
            "store": {"url": "sqlite:mailwarden.db"},
            "submit": {"socket": str(self.socket)},
            "http": {"listen": f"127.0.0.1:{self.http_port}", "admin_token_file": "admin.token"},
            "delivery": {"mode": "relay" if relay else "maildir", "maildir": "outbox",
                         "relay": f"127.0.0.1:{relay.port if relay else 25}",
                         "retry_first": "200ms", "retry_max": "1s"},
            "log": {"level": "info"},
        }
        if os.geteuid() == 0:
            # Tests run as root in CI: root handles mail only when the file says so (a server
            # sets daemon.user to its own user instead).
            sections["daemon"] = {"user": "root"}
        # A value that is not a table is a top-level key, e.g. {"hostname": "web1.test"}.
        top = {k: v for k, v in (settings or {}).items() if not isinstance(v, dict)}
        for key, values in (settings or {}).items():
            if isinstance(values, dict):
                sections.setdefault(key, {}).update(values)
        if accounts is None:
            accounts = [{"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"}]
        lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        for a in accounts:
            lines.append("[[account]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in a.items()]
        self.config.write_text("\n".join(lines) + "\n")
        (self.root / "admin.token").write_text(ADMIN_TOKEN + "\n")

    def start(self, attempts=3, env=None):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(BIN / "mailwardend"), "--config", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})))
        wait_for(lambda: self.socket.exists() or self.proc.poll() is not None, what="the submission socket")
        # The socket file appears before the HTTP listener is bound: wait for both.
        if self.proc.poll() is None:
            wait_for(lambda: self._http_up() or self.proc.poll() is not None, what="the HTTP listener")
        if self.proc.poll() is not None and attempts > 1 and f"127.0.0.1:{self.http_port}: Address already in use" in self.log_text():
            # The free port picked for HTTP was taken meanwhile by another test: pick again.
            self.log.close()
            old, self.http_port = self.http_port, free_port()
            text = self.config.read_text()
            self.config.write_text(text.replace(f'listen = "127.0.0.1:{old}"', f'listen = "127.0.0.1:{self.http_port}"'))
            return self.start(attempts - 1, env)
        assert self.proc.poll() is None, f"mailwardend exited {self.proc.returncode}:\n{self.log_text()}"
        return self

    def _http_up(self):
        try:
            socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            rc = self.proc.wait(30)
            # A clean stop exits 0; a sanitizer report at exit (ASan build) does not.
            assert rc == 0, f"mailwardend exited {rc} on SIGTERM:\n{self.log_text()[-4000:]}"
        if self.proc:
            self.log.close()
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def sendmail(self, args, message, uid=None, env=None, timeout=30):
        """Runs the real drop-in as a script would; returns the CompletedProcess."""
        cmd = [str(BIN / "mailwarden-sendmail")] + list(args)
        if uid is not None:
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] + cmd
        e = dict(os.environ, MAILWARDEN_SOCKET=str(self.socket))
        e.update(env or {})
        if isinstance(message, str):
            message = message.encode()
        return subprocess.run(cmd, input=message, capture_output=True, env=e, timeout=timeout)

    def query(self, sql, *params):
        """Reads the store (SQLite) directly, for what no API shows yet."""
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def relay(tmp_path):
    r = Relay(tmp_path / "relay-spool").start()
    yield r
    r.stop()


@pytest.fixture
def make_daemon(tmp_path):
    started = []

    def make(relay=None, settings=None, accounts=None, name="node"):
        d = Daemon(tmp_path / name, relay=relay, settings=settings, accounts=accounts)
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()
    sys.stdout.flush()


ADMIN_TOKEN = "admin-secret-token"


# A daemon with an SMTP listener on a free loopback port and an SMTP password for "demo"
# (daemon.smtp_port, daemon.smtp_password).
@pytest.fixture
def smtp_daemon(make_daemon, relay):
    port = free_port()
    daemon = make_daemon(relay=relay, settings={"smtp": {"listen": [f"127.0.0.1:{port}"]}}).start()
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/smtp-password")
    assert code == 201, body
    daemon.smtp_port = port
    daemon.smtp_password = body["password"]
    return daemon


def api(daemon, method, path, token=ADMIN_TOKEN, body=None):
    """Calls the daemon's HTTP API; returns (status, parsed JSON body)."""
    import urllib.error
    import urllib.request
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{daemon.http_port}{path}", data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    def parse(raw):
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return raw.decode(errors="replace")  # /metrics and the panel's files are not JSON
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, parse(r.read())
    except urllib.error.HTTPError as e:
        return e.code, parse(e.read())


# The helpers below are shared by the tests of several files: accounts, a shop's order mail,
# submitting it, reading what reached the relay, and the account's API.

OTHER_UID = 4243  # the other account's scripts, run with setpriv (the tests run as root)


def demo_and_other():
    """Two accounts: demo for this process's uid, other for OTHER_UID."""
    return [
        {"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"},
        {"name": "other", "uids": [OTHER_UID], "report_to": "other@example.com"},
    ]


def order_message(tag, to="buyer@example.net"):
    """A shop's order mail with the subject "order TAG", as a PHP script writes it."""
    return f"From: shop@example.com\nTo: {to}\nSubject: order {tag}\n\nOrder {tag}.\n"


def submit(daemon, tag, uid=None, to="buyer@example.net"):
    """Submits order_message(tag, to) with the real drop-in as PHP's mail() runs it (-t -i), as
    uid if given; the script succeeds whatever its account's state."""
    r = daemon.sendmail(["-t", "-i"], order_message(tag, to), uid=uid)
    assert r.returncode == 0, r.stderr
    return r


def subjects(relay):
    """The subject of every message at the relay, in the order of its spool."""
    out = []
    for m in relay.messages():
        for line in m["data"].decode(errors="replace").splitlines():
            if line.startswith("Subject: "):
                out.append(line[len("Subject: "):])
    return out


def order_tags(relay):
    """The TAG of every "order TAG" message at the relay, in the order of its spool."""
    return [s[len("order "):] for s in subjects(relay) if s.startswith("order ")]


def status(daemon, name="demo", token=ADMIN_TOKEN):
    """GET .../email: the account's state and counters (the call must answer 200)."""
    code, body = api(daemon, "GET", f"/api/v1/accounts/{name}/email", token=token)
    assert code == 200, body
    return body


def request(daemon, action, name="demo", token=ADMIN_TOKEN):
    """POST .../email/request with BLOCK, UNBLOCK or PURGE: (status, body)."""
    return api(daemon, "POST", f"/api/v1/accounts/{name}/email/request", token=token,
               body={"action": action})


def delivered_meanwhile(daemon, relay, tag, timeout=20.0):
    """Sends one message of the other (active) account through daemon and waits for it at the
    relay: proof that delivery ran while the blocked account's mail stayed where it was."""
    submit(daemon, tag, uid=OTHER_UID)
    wait_for(lambda: f"order {tag}" in subjects(relay), timeout=timeout,
             what=f"the other account's {tag}")


def keep_events(daemon):
    """Before start: a webhook nothing answers (port 1), so that the daemon's events stay in its
    outbox, retried, for a test to read from the events table. Without any webhook an event is
    done, and deleted, within a second of its commit."""
    secret = daemon.root / "kept-events.secret"
    secret.write_text("kept-events-secret\n")
    daemon.config.write_text(daemon.config.read_text() + f"""
[[webhook]]
url = "http://127.0.0.1:1/events"
secret_file = "{secret}"
""")
    return daemon


def metrics(daemon, token=ADMIN_TOKEN):
    """GET /metrics (the admin token, or the metrics token): (status, the Prometheus text)."""
    return api(daemon, "GET", "/metrics", token=token)


def metric(text, name):
    """The value of the sample `name` (one without labels) in Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in:\n{text}")
