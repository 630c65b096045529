"""Several mailwardend nodes on one PostgreSQL database (DESIGN.md, "Multi-node"): a block or
purge made through one node holds on all; a node killed mid-delivery loses nothing; a database
restart loses no acknowledged message; one report per account and day, however many nodes.

MW_TEST_PG_URL is the admin url of a throw-away cluster (scripts/run-tests starts one with
scripts/pg-cluster); each test gets a database of its own in it."""
import collections
import datetime
import os
import pathlib
import socket
import subprocess
import tempfile
import threading
import urllib.parse
import uuid

import pytest

from conftest import (OTHER_UID, api, delivered_meanwhile, demo_and_other, metrics, order_message,
                      order_tags, request, status, submit, wait_for)

PG_URL = os.environ.get("MW_TEST_PG_URL")
PG_CLUSTER = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "pg-cluster"
LEASE = "3s"  # node A's in the kill -9 test: its mail goes out again within the test

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="MW_TEST_PG_URL is not set (scripts/run-tests sets it: scripts/pg-cluster)")


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                   check=True, capture_output=True, timeout=60)


def with_database(url, name):
    return urllib.parse.urlsplit(url)._replace(path="/" + name).geturl()


def create_database(admin_url):
    name = "mw_" + uuid.uuid4().hex[:12]
    psql(admin_url, f"CREATE DATABASE {name}")
    return name


@pytest.fixture
def database():
    """A fresh database for one test; dropped after the test's daemons have stopped."""
    name = create_database(PG_URL)
    yield with_database(PG_URL, name)
    psql(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def node_settings(name, url, lease=None):
    # Other nodes keep the default lease: a short one could send a slow delivery twice.
    return {"hostname": f"{name}.test", "store": {"url": url},
            "delivery": {"lease": lease} if lease else {}}


@pytest.fixture
def make_node(database, make_daemon):
    """Starts a node named NAME.test on the test's database: its own socket and HTTP port."""
    def make(name, relay, lease=None):
        return make_daemon(relay=relay, settings=node_settings(name, database, lease),
                           accounts=demo_and_other(), name=name).start()
    return make


class BlackHole:
    """A relay that accepts connections and never says a word: a delivery to it hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def connections(self):
        return len(self.accepted)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def unfinished(node):
    """Messages queued or held on all nodes (the store's totals, from /metrics)."""
    code, text = metrics(node)
    assert code == 200, text
    return sum(float(line.split()[1]) for line in text.splitlines()
               if line.startswith("mailwarden_queue_messages{"))


def test_block_through_one_node_holds_mail_submitted_through_another(make_node, relay):
    a = make_node("node-a", relay)
    b = make_node("node-b", relay)
    code, body = request(a, "BLOCK")
    assert code == 200 and body["state"] == "blocked", body
    assert status(b)["state"] == "blocked"
    for i in range(5):
        submit(b, f"held-{i}")  # the script still succeeds: its mail is held
    for node in (a, b):
        s = status(node)
        assert (s["state"], s["held"], s["queued"]) == ("blocked", 5, 0), s
    delivered_meanwhile(b, relay, "other-1", timeout=60)
    delivered_meanwhile(a, relay, "other-2", timeout=60)
    assert not [x for x in order_tags(relay) if x.startswith("held-")]

    code, body = request(a, "UNBLOCK")
    assert code == 200 and body["state"] == "active", body
    wait_for(lambda: sorted(x for x in order_tags(relay) if x.startswith("held-")) ==
             [f"held-{i}" for i in range(5)], timeout=60, what="the five held messages delivered")
    for node in (a, b):
        wait_for(lambda: status(node)["held"] == 0 and status(node)["sent"] >= 5, timeout=30,
                 what=f"{node.root.name} to show the outcomes")
        assert status(node)["state"] == "active"


def test_the_fleet_summary_names_every_node_and_when_it_was_last_seen(make_node, relay):
    a = make_node("node-a", relay)
    b = make_node("node-b", relay)
    def nodes(node):
        code, body = api(node, "GET", "/api/v1/fleet")
        assert code == 200, body
        return body["nodes"]

    for node in (a, b):
        # Each node writes its row just after it starts: the second may be a moment behind.
        wait_for(lambda: [(n["name"], n["running"]) for n in nodes(node)] == [
            ("node-a.test", True), ("node-b.test", True)], what="both nodes in the summary")
        for n in nodes(node):
            assert n["last_seen"] >= n["started"], n


def test_purge_through_one_node_removes_the_held_mail_for_all(make_node, relay):
    a = make_node("node-a", relay)
    b = make_node("node-b", relay)
    assert request(a, "BLOCK")[0] == 200
    for i in range(6):
        submit(a if i % 2 else b, f"spam-{i}")
    assert status(a)["held"] == 6 and status(b)["held"] == 6

    code, body = request(b, "PURGE")
    assert code == 200 and body["state"] == "purging", body
    for node in (a, b):
        wait_for(lambda: status(node)["state"] == "active", timeout=60,
                 what=f"the purge to end, seen from {node.root.name}")
    s = status(a)
    assert (s["held"], s["queued"], s["purged"]) == (0, 0, 6), s
    assert status(b)["held"] == 0
    delivered_meanwhile(a, relay, "other-3", timeout=60)
    delivered_meanwhile(b, relay, "other-4", timeout=60)
    assert not [x for x in order_tags(relay) if x.startswith("spam-")]


def test_mail_of_a_node_killed_mid_delivery_is_delivered_by_another(make_node, relay):
    hole = BlackHole()
    try:
        a = make_node("node-a", hole, lease=LEASE)
        tags = [f"orphan-{i}" for i in range(5)]
        for tag in tags:
            submit(a, tag)
        # One connection per message in flight: all five are leased to node A, which waits for
        # a greeting that never comes.
        wait_for(lambda: hole.connections() >= len(tags), timeout=30,
                 what="node A to be delivering all five messages")
        a.kill9()
        b = make_node("node-b", relay)
        wait_for(lambda: set(tags) <= set(order_tags(relay)), timeout=90,
                 what="node B to deliver node A's mail once its lease ran out")
        wait_for(lambda: (lambda s: (s["held"], s["queued"]) == (0, 0) and s["sent"] >= 5)(status(b)),
                 timeout=30, what="the outcomes to be stored")
    finally:
        hole.stop()


@pytest.fixture
def own_cluster():
    """A cluster of this test's own: restarting the shared one would break the tests running
    beside this one. The folder is made by tempfile (under /tmp), which the `postgres` user can
    reach when the tests run as root."""
    folder = tempfile.mkdtemp(prefix="mw-pg-")
    try:
        admin = subprocess.run([str(PG_CLUSTER), "start", folder], check=True, capture_output=True,
                               text=True, timeout=120).stdout.strip()
    except subprocess.CalledProcessError as e:
        subprocess.run([str(PG_CLUSTER), "stop", folder], timeout=120)
        raise AssertionError(f"pg-cluster start failed: {e.stderr}") from e
    url = with_database(admin, create_database(admin))
    yield folder, url
    subprocess.run([str(PG_CLUSTER), "stop", folder], check=True, timeout=120)


def test_database_restart_during_submissions_loses_no_acknowledged_message(own_cluster, make_daemon,
                                                                              relay):
    folder, url = own_cluster
    nodes = [make_daemon(relay=relay, settings=node_settings(name, url), accounts=demo_and_other(),
                         name=name).start() for name in ("node-a", "node-b")]
    results = []  # (tag, exit code, stderr)
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(k):
        for i in range(2000):
            if stop.is_set():
                return
            tag = f"restart-{k}-{i:04d}"
            r = nodes[(k + i) % 2].sendmail(["-t", "-i"], order_message(tag))
            with lock:
                results.append((tag, r.returncode, r.stderr.decode(errors="replace")))
            if r.returncode != 0:
                stop.wait(0.05)  # a refusal is quick: pace the loop through the outage

    def acknowledged():
        with lock:
            return sum(1 for _, rc, _ in results if rc == 0)

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: acknowledged() >= 10, timeout=60, what="submissions before the restart")
        # Down for two seconds, then up again on the same port.
        subprocess.run([str(PG_CLUSTER), "restart", folder, "2"], check=True, capture_output=True,
                       timeout=120)
        after = acknowledged()
        wait_for(lambda: acknowledged() >= after + 10, timeout=90,
                 what="submissions acknowledged again after the database came back")
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    codes = collections.Counter(rc for _, rc, _ in results)
    print(f"submissions by exit code: {dict(codes)}")
    odd = [(tag, rc, err) for tag, rc, err in results if rc not in (0, 75)]
    assert not odd, f"exit codes other than 0 and 75 (EX_TEMPFAIL): {odd[:5]}"
    acked = {tag for tag, rc, _ in results if rc == 0}
    wait_for(lambda: acked <= set(order_tags(relay)), timeout=120,
             what="every acknowledged message at the relay")
    for node in nodes:
        assert node.proc.poll() is None, f"{node.root.name} exited:\n{node.log_text()[-3000:]}"


def test_two_nodes_running_the_reports_send_one_per_account_and_day(make_node, relay):
    a = make_node("node-a", relay)
    b = make_node("node-b", relay)
    assert b.sendmail(["reject-a@example.net"], "Subject: order x\n\nhi\n").returncode == 0
    assert a.sendmail(["reject-b@example.net"], "Subject: order y\n\nhi\n",
                      uid=OTHER_UID).returncode == 0
    for name in ("demo", "other"):
        wait_for(lambda: status(a, name)["errors"] == 1, timeout=60, what=f"{name}'s failure")
    today = datetime.date.today().isoformat()  # the daemons' local day: they run in our zone

    def run_on_both():
        barrier = threading.Barrier(2)
        answers = {}

        def run(node):
            barrier.wait()
            answers[node.root.name] = api(node, "POST", "/api/v1/reports/run", body={"day": today})

        threads = [threading.Thread(target=run, args=(n,)) for n in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(code == 200 for code, _ in answers.values()), answers
        return sum(body["sent"] for _, body in answers.values())

    assert run_on_both() == 2
    for to in ("owner@example.com", "other@example.com"):
        wait_for(lambda: any(m["rcpt_tos"] == [to] for m in relay.messages()), timeout=60,
                 what=f"the report to {to}")
    # Once nothing is queued anywhere, a report queued twice would be at the relay.
    wait_for(lambda: unfinished(a) == 0, timeout=60, what="an empty queue")
    for to in ("owner@example.com", "other@example.com"):
        assert len([m for m in relay.messages() if m["rcpt_tos"] == [to]]) == 1, to
    assert run_on_both() == 0
