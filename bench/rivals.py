"""The two systems the comparing benchmarks of this folder run side by side, on loopback and
in a temporary folder: mailwardend with a config of its own, a private Postfix instance (its
own config, queue and data folders; the system's Postfix is never touched), and Postfix's
smtp-sink as their relay. bench/compare-postfix and bench/noisy-neighbour import it."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time

from benchlib import free_port

TOKEN = "bench-admin-token-0123456789"
MW, PF = "mailwarden", "Postfix"


def wait_for(what, check, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def run(cmd, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def timed(cmd, timeout=600):
    t0 = time.monotonic()
    run(cmd, timeout)
    return time.monotonic() - t0


def driver_rate(cmd, timeout=900, env=None):
    """per_s of an exec_bench or smtp_blast run."""
    out = run(cmd, timeout, env=env)
    return float(re.search(r"per_s (\S+)", out).group(1))


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    """Proportional set size now: shared pages (libraries) split among their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(ppid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("PPid:"):
                        if int(line.split()[1]) == ppid:
                            pids.append(int(entry))
                        break
        except OSError:
            pass
    return pids


class Sink:
    def __init__(self, work):
        self.port = free_port()
        self.out = os.path.join(work, "sink.out")
        self.proc = None

    def start(self):
        sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        # -c: a running "sess=.. quit=.. mesg=N" counter on stdout, rewritten after each message.
        self.proc = subprocess.Popen([sink, "-c", "-u", "nobody", f"127.0.0.1:{self.port}", "256"],
                                     stdout=open(self.out, "w"), stderr=subprocess.STDOUT)
        wait_for("smtp-sink", lambda: self.listening(), 10)

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def count(self):
        with open(self.out, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 200))
            found = re.findall(rb"mesg=(\d+)", f.read())
        return int(found[-1]) if found else 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Mailwarden:
    def __init__(self, args, work, sink, accounts=None):
        """accounts: (name, uid) pairs; by default "bench" (this uid) and "flood"."""
        self.args = args
        self.dir = os.path.join(work, "mw")
        os.makedirs(self.dir)
        self.http_port = free_port()
        self.smtp_port = free_port()
        self.proc = None
        self.flood_uid = 64000 if os.getuid() != 64000 else 64001
        if accounts is None:
            accounts = [("bench", os.getuid()), ("flood", self.flood_uid)]
        self.accounts = [name for name, _ in accounts]
        self.log = os.path.join(self.dir, "daemon.log")
        self.password = None
        with open(os.path.join(self.dir, "mailwarden.toml"), "w") as f:
            f.write(f"""[store]
url = "sqlite:mailwarden.db"
[submit]
socket = "submit.sock"
[smtp]
listen = ["127.0.0.1:{self.smtp_port}"]
[http]
listen = "127.0.0.1:{self.http_port}"
admin_token_file = "admin.token"
[delivery]
mode = "relay"
relay = "127.0.0.1:{sink.port}"
concurrency = 20
[policy]
# Quotas and the spam guard would pace or block the bench's own traffic.
max_per_day = 100000000
max_per_hour = 100000000
spam_per_hour = 100000000
[log]
level = "warn"
""")
            if os.getuid() == 0:
                # The daemon does not handle mail as root: it becomes nobody, in its folder.
                f.write('[daemon]\nuser = "nobody"\n')
            for name, uid in accounts:
                f.write(f'[[account]]\nname = "{name}"\nuids = [{uid}]\n')
        with open(os.path.join(self.dir, "admin.token"), "w") as f:
            f.write(TOKEN + "\n")
        self.env = dict(os.environ, MAILWARDEN_SOCKET=os.path.join(self.dir, "submit.sock"))

    def start(self):
        if os.getuid() == 0:  # what fill_store wrote as root, too
            for top, dirs, files in os.walk(self.dir):
                for name in [top] + [os.path.join(top, x) for x in dirs + files]:
                    os.chown(name, 65534, 65534)
        err = open(self.log, "a")
        self.proc = subprocess.Popen([os.path.join(self.args.bin, "mailwardend"), "--config",
                                      os.path.join(self.dir, "mailwarden.toml")],
                                     stdout=err, stderr=err)

        def up():
            if self.proc.poll() is not None:
                raise SystemExit("mailwardend exited:\n" + open(self.log).read()[-3000:])
            try:
                return self.api("GET", "/api/v1/whoami")[1] == 200
            except OSError:
                return False
        wait_for("mailwardend", up, 60, 0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def api(self, method, path, body=None):
        """(seconds, status, parsed body) of one request on its own connection."""
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=600)
        try:
            headers = {"Authorization": "Bearer " + TOKEN}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return time.monotonic() - t0, resp.status, (json.loads(raw) if raw else None)

    def action(self, account, what):
        took, status, body = self.api("POST", f"/api/v1/accounts/{account}/email/request",
                                      {"action": what})
        if status != 200:
            raise SystemExit(f"{what} {account}: HTTP {status}: {body}")
        return took

    def email(self, account):
        _, status, body = self.api("GET", f"/api/v1/accounts/{account}/email")
        if status != 200:
            raise SystemExit(f"GET {account}: HTTP {status}: {body}")
        return body

    def smtp_password(self):
        _, status, body = self.api("POST", "/api/v1/accounts/bench/smtp-password")
        if status not in (200, 201):
            raise SystemExit(f"smtp-password: HTTP {status}: {body}")
        self.password = body["password"]

    def drained(self):
        return all(self.email(name)["queued"] == 0 for name in self.accounts)

    def sendmail(self):
        return [os.path.join(self.args.bin, "mailwarden-sendmail"), "-t", "-i"]


class Postfix:
    def __init__(self, args, work, sink):
        self.args = args
        self.root = os.path.join(work, "postfix")
        self.conf = os.path.join(self.root, "conf")
        self.queue = os.path.join(self.root, "queue")
        self.data = os.path.join(self.root, "data")
        for d in (self.conf, self.queue, self.data):
            os.makedirs(d)
        os.chmod(self.root, 0o755)
        shutil.chown(self.data, "postfix")  # master's lock file and the TLS/verify caches
        self.smtp_port = free_port()
        self.hold_port = free_port()
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.localdomain
myorigin = bench.localdomain
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink.port}
smtpd_relay_restrictions = permit_mynetworks, reject
maillog_file = {self.data}/maillog
maillog_file_prefixes = {self.root}
""")
        # chroot off (column 5): nothing of the system is copied into the queue folder.
        # The second smtpd tells every client HOLD: its mail goes straight to the hold queue.
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{self.smtp_port} inet n - n - - smtpd
127.0.0.1:{self.hold_port} inet n - n - - smtpd
  -o smtpd_client_restrictions=check_client_access,static:HOLD
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")

    def postfix(self, *cmd):
        return run(["postfix", "-c", self.conf, *cmd], 120)

    def start(self):
        self.postfix("start")

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for("Postfix's smtpd", up, 30, 0.05)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        pid = self.master_pid()
        subprocess.run(["postfix", "-c", self.conf, "stop"], capture_output=True, timeout=120)
        if pid:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.1)
            if os.path.exists(f"/proc/{pid}"):
                os.kill(pid, signal.SIGKILL)

    def set_param(self, text):
        run(["postconf", "-c", self.conf, "-e", text])
        self.postfix("reload")

    def count(self, *queues):
        n = 0
        for q in queues:
            for _, _, files in os.walk(os.path.join(self.queue, q)):
                n += len(files)
        return n

    def drained(self):
        return self.count("maildrop", "incoming", "active", "deferred") == 0

    def sendmail(self):
        return ["/usr/sbin/sendmail", "-C", self.conf, "-t", "-i"]

    def postsuper(self, *flags):
        return timed(["postsuper", "-c", self.conf, *flags])

    def processes(self):
        pid = self.master_pid()
        return [pid] + children(pid) if pid else []


def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_values(values):
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"
