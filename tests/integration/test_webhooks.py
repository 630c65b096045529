"""Webhooks against a receiver run by the test: signed with the shared secret, retried while
the receiver is down, every event arriving in order per account, none lost across kill -9."""
import hashlib
import hmac
import http.server
import json
import threading

from conftest import api, free_port, request, status, wait_for

SECRET = "whsec-test-secret"


class Receiver:
    """An HTTP server that checks each POST's signature and keeps the events."""

    def __init__(self, port):
        self.port = port
        self.events = []
        self.bad_signatures = 0
        self.server = None

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fields = dict(p.split("=", 1) for p in self.headers["Mailwarden-Signature"].split(","))
                expected = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
                if not hmac.compare_digest(expected, fields["v1"]):
                    receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def webhook_daemon(make_daemon, relay, port, tmp_path):
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    d = make_daemon(relay=relay)
    d.config.write_text(d.config.read_text() + f"""
[[webhook]]
url = "http://127.0.0.1:{port}/hooks/mailwarden"
secret_file = "{tmp_path / 'hook.secret'}"
events = ["*"]
""")
    return d


def unique(events):
    """The events by id, first arrival kept: a receiver drops repeats by id."""
    seen, out = set(), []
    for e in events:
        if e["id"] not in seen:
            seen.add(e["id"])
            out.append(e)
    return out


def test_signed_events_arrive_in_order_after_the_receiver_comes_back(make_daemon, relay, tmp_path):
    port = free_port()
    d = webhook_daemon(make_daemon, relay, port, tmp_path).start()
    # The receiver is down: the events wait in the outbox.
    for action in ["BLOCK", "UNBLOCK", "BLOCK", "PURGE"]:
        code, body = request(d, action)
        assert code == 200, body
    wait_for(lambda: status(d)["state"] == "active", what="the purge's end")
    code, body = api(d, "GET", "/api/v1/webhooks/deliveries")
    assert code == 200, body
    wait_for(lambda: api(d, "GET", "/api/v1/webhooks/deliveries")[1]["items"],
             what="a failed attempt listed")
    assert api(d, "GET", "/api/v1/webhooks/deliveries")[1]["items"][0]["status"] == 0

    # kill -9 while events wait: none is lost.
    d.kill9()
    d.start()
    receiver = Receiver(port).start()
    try:
        want = ["account.blocked", "account.unblocked", "account.blocked", "account.purged",
                "account.unblocked"]
        # (An attempt the kill cut short leaves its event leased for 120 s: then it goes.)
        wait_for(lambda: len(unique(receiver.events)) == len(want), timeout=180,
                 what="every event after the receiver came back")
        events = unique(receiver.events)
        assert [e["type"] for e in events] == want
        assert receiver.bad_signatures == 0
        assert all(e["account"] == "demo" for e in events)
        assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)
        assert events[0]["data"]["blocked_by"] == "admin"
        assert "purged" in events[3]["data"]
        ok = [a for a in api(d, "GET", "/api/v1/webhooks/deliveries")[1]["items"]
              if a["status"] == 204]
        assert ok, "the accepted attempts are listed"
    finally:
        receiver.stop()


def test_a_wrong_secret_fails_the_receivers_check(make_daemon, relay, tmp_path):
    port = free_port()
    d = webhook_daemon(make_daemon, relay, port, tmp_path)
    (tmp_path / "hook.secret").write_text("another-secret\n")
    d.start()
    receiver = Receiver(port).start()
    try:
        request(d, "BLOCK")
        wait_for(lambda: receiver.bad_signatures > 0, what="a signature the receiver refuses")
        assert receiver.events == []
    finally:
        receiver.stop()


def test_two_nodes_on_postgresql_send_each_event_once(make_daemon, relay, tmp_path):
    import pytest
    from conftest import demo_and_other
    from test_multi_node import PG_URL, create_database, psql, with_database
    if not PG_URL:
        pytest.skip("MW_TEST_PG_URL is not set (scripts/pg-cluster)")
    name = create_database(PG_URL)
    url = with_database(PG_URL, name)
    port = free_port()
    (tmp_path / "hook.secret").write_text(SECRET + "\n")
    receiver = Receiver(port).start()
    nodes = []
    try:
        for node in ("a", "b"):
            d = make_daemon(relay=relay, accounts=demo_and_other(), name=node,
                            settings={"hostname": f"{node}.test", "store": {"url": url}})
            d.config.write_text(d.config.read_text() + f"""
[[webhook]]
url = "http://127.0.0.1:{port}/"
secret_file = "{tmp_path / 'hook.secret'}"
""")
            nodes.append(d.start())
        rounds = 6
        for i in range(rounds):
            for account in ("demo", "other"):
                node = nodes[i % 2]
                assert request(node, "BLOCK", name=account)[0] == 200
                assert request(nodes[1 - i % 2], "UNBLOCK", name=account)[0] == 200
        want = rounds * 2 * 2
        wait_for(lambda: len(unique(receiver.events)) == want, timeout=60, what="every event")
        assert len(receiver.events) == want, "each event sent once"
        assert receiver.bad_signatures == 0
        for account in ("demo", "other"):
            types = [e["type"] for e in receiver.events if e["account"] == account]
            assert types == ["account.blocked", "account.unblocked"] * rounds
        sent_by = {a["node"] for a in api(nodes[0], "GET", "/api/v1/webhooks/deliveries")[1]["items"]}
        assert sent_by <= {"a.test", "b.test"}
    finally:
        for d in nodes:
            d.stop()
        receiver.stop()
        psql(PG_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
