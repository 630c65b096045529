"""A private Rspamd (Debian's package) for the tests: Debian's configuration with overrides of
our own in a folder of the test's, its own loopback ports, DNS pointed at nothing (no lookup
leaves the machine), no Redis (the modules that need it stay off by themselves)."""
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.request

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "rspamd"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rspamd:
    def __init__(self, root, port=None, nice=0):
        self.root = pathlib.Path(root)
        self.nice = nice  # CPU priority below the daemon's (bench/scan), as docs/scanning.md advises
        self.port = port or _free_port()
        self.proc = None
        for d in ("override.d", "local.d", "db", "run", "log"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        o = self.root / "override.d"
        (o / "worker-normal.inc").write_text(f'bind_socket = "127.0.0.1:{self.port}";\n')
        (o / "worker-controller.inc").write_text(f'bind_socket = "127.0.0.1:{_free_port()}";\n')
        (o / "worker-proxy.inc").write_text(f'bind_socket = "127.0.0.1:{_free_port()}";\n')
        (o / "worker-fuzzy.inc").write_text("count = 0;\n")
        (o / "options.inc").write_text('dns { nameserver = ["127.0.0.1:1"]; }\n')
        shutil.copy(FIXTURES / "rspamd.local.lua", self.root / "rspamd.local.lua")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=120):
        r = self.root
        self.log = open(r / "rspamd.out", "ab")
        self.proc = subprocess.Popen(
            (["nice", "-n", str(self.nice)] if self.nice else []) + ["rspamd", "-f", "-i", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf",
             f"--var=LOCAL_CONFDIR={r}", f"--var=DBDIR={r}/db", f"--var=RUNDIR={r}/run",
             f"--var=LOGDIR={r}/log"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (r / "rspamd.out").read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"Rspamd did not answer on {self.url} within {timeout}s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc:
            self.log.close()
        self.proc = None
