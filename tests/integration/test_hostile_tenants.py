"""One local user must not harm the others or the provider (docs/security.md): a customer's
token cannot get around a block it may not lift, nor make the daemon do unbounded work for
it. The real daemon and the real drop-in; mail is delivered into a maildir."""
import os

from conftest import api, request, status, submit, wait_for


def customer_token(daemon):
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, body
    return body["token"]


def held(daemon):
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held&limit=500")
    assert code == 200, body
    return body["items"]


def act(daemon, what, body, token):
    return api(daemon, "POST", f"/api/v1/accounts/demo/email/messages/{what}", token=token,
               body=body)


def test_customer_cannot_release_a_spam_guard_flood(make_daemon):
    daemon = make_daemon(settings={"policy": {"spam_per_hour": 3}}).start()
    token = customer_token(daemon)
    for i in range(6):
        submit(daemon, f"flood-{i}")
    wait_for(lambda: status(daemon)["blocked_by"] == "spam_guard", what="the spam guard's block")
    # The guard blocks just after the commit that tripped it, so the scheduler may have sent
    # some of the flood meanwhile; what comes after the block is held for certain.
    for i in range(2):
        submit(daemon, f"after-{i}")
    assert len(held(daemon)) >= 2

    for body in ({"match": {"to": "@"}}, {"ids": [m["id"] for m in held(daemon)]}):
        code, answer = act(daemon, "release", body, token)
        assert (code, answer["reason"]) == (409, "spam_block"), answer
    assert status(daemon)["queued"] == 0  # nothing was released
    # Deleting the flood is what a purge does, which the customer may.
    code, answer = act(daemon, "delete", {"match": {"subject": "after-1"}}, token)
    assert (code, answer) == (200, {"deleted": 1, "more": False}), answer
    # The administrator may release it.
    code, answer = api(daemon, "POST", "/api/v1/accounts/demo/email/messages/release",
                       body={"match": {"subject": "after-0"}})
    assert (code, answer) == (200, {"released": 1, "more": False}), answer


def test_customer_cannot_release_or_delete_mail_an_admin_block_holds(make_daemon):
    daemon = make_daemon().start()
    token = customer_token(daemon)
    assert request(daemon, "BLOCK")[0] == 200  # the administrator's block
    for i in range(3):
        submit(daemon, f"evidence-{i}")
    ids = [m["id"] for m in held(daemon)]
    assert len(ids) == 3
    for what in ("release", "delete"):
        for body in ({"match": {"to": "@"}}, {"ids": ids}):
            code, answer = act(daemon, what, body, token)
            assert (code, answer["reason"]) == (403, "admin_block"), (what, answer)
    assert sorted(m["id"] for m in held(daemon)) == sorted(ids)
    assert status(daemon)["held"] == 3


def test_selective_actions_on_an_active_account_are_refused_as_unblock_and_purge(make_daemon):
    daemon = make_daemon().start()
    token = customer_token(daemon)
    code, answer = act(daemon, "release", {"ids": [1]}, token)
    assert (code, answer["reason"]) == (409, "not_blocked"), answer
    code, answer = act(daemon, "delete", {"ids": [1]}, token)
    assert (code, answer["reason"]) == (409, "block_first"), answer


def test_a_release_or_delete_by_match_is_bounded_and_says_what_is_left(make_daemon):
    daemon = make_daemon(settings={"http": {"held_action_batch": 2, "held_action_max": 5}}).start()
    token = customer_token(daemon)
    assert request(daemon, "BLOCK", token=token)[0] == 200
    for i in range(8):
        submit(daemon, f"flood-{i}")
    assert status(daemon)["held"] == 8
    everything = {"match": {"to": "@"}}
    assert act(daemon, "delete", everything, token) == (200, {"deleted": 5, "more": True})
    assert act(daemon, "delete", everything, token) == (200, {"deleted": 3, "more": False})
    assert status(daemon)["held"] == 0
    for i in range(7):
        submit(daemon, f"again-{i}")
    assert act(daemon, "release", everything, token) == (200, {"released": 5, "more": True})
    assert act(daemon, "release", everything, token) == (200, {"released": 2, "more": False})


def raw_8bit(daemon, to):
    """A script's message with raw 8-bit bytes (Latin-1, not UTF-8) in its envelope sender and
    in a recipient of its To: header (-t)."""
    message = b"From: shop@example.com\nTo: " + to + b"\nSubject: caf\xe9 \xff\n\nHello.\n"
    r = daemon.sendmail(["-t", "-i"], message)
    assert r.returncode == 0, r.stderr
    return r


def test_raw_8bit_addresses_do_not_break_the_held_list(make_daemon):
    daemon = make_daemon().start()
    assert request(daemon, "BLOCK")[0] == 200
    raw_8bit(daemon, b"buyer@example.net")
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held")
    assert code == 200, body
    assert len(body["items"]) == 1
    assert body["items"][0]["from"].endswith("@example.com")


def test_raw_8bit_addresses_do_not_break_the_errors_list(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    raw_8bit(daemon, b"reject@example.net")
    def errors():
        code, body = api(daemon, "GET", "/api/v1/accounts/demo/email/errors")
        assert code == 200, body
        return body["items"]
    items = wait_for(errors, what="the failed delivery in the errors list")
    assert items[0]["recipient"].startswith("reject")


def test_a_customer_lists_and_revokes_its_own_tokens_only(make_daemon):
    daemon = make_daemon(accounts=[
        {"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com"},
        {"name": "other", "uids": [4243], "report_to": "other@example.com"}]).start()
    mine, lost = [api(daemon, "POST", "/api/v1/accounts/demo/tokens")[1] for _ in range(2)]
    code, other = api(daemon, "POST", "/api/v1/accounts/other/tokens",
                      body={"expires_in": "1h"})
    assert code == 201 and other["expires"].endswith("Z"), other
    code, listed = api(daemon, "GET", "/api/v1/accounts/demo/tokens", token=mine["token"])
    assert code == 200, listed
    assert sorted(t["id"] for t in listed["items"]) == sorted([mine["id"], lost["id"]])
    assert all(t["expires"] is None and t["expired"] is False for t in listed["items"])
    assert mine["token"] not in str(listed) and lost["token"] not in str(listed)
    # The customer can neither see nor revoke the other account's tokens.
    assert api(daemon, "GET", "/api/v1/accounts/other/tokens", token=mine["token"])[0] == 403
    assert api(daemon, "DELETE", f"/api/v1/accounts/other/tokens/{other['id']}",
               token=mine["token"])[0] == 403
    # It signs out the lost token: from then on that token is refused.
    code, body = api(daemon, "DELETE", f"/api/v1/accounts/demo/tokens/{lost['id']}",
                     token=mine["token"])
    assert code == 200, body
    assert api(daemon, "GET", "/api/v1/whoami", token=lost["token"])[0] == 401
    assert api(daemon, "GET", "/api/v1/whoami", token=mine["token"])[0] == 200
    assert api(daemon, "GET", "/api/v1/whoami", token=other["token"])[0] == 200


def test_the_held_list_is_bounded_in_bytes_and_recipients(make_daemon):
    daemon = make_daemon(settings={"http": {"max_answer_bytes": 4096}}).start()
    assert request(daemon, "BLOCK")[0] == 200
    recipients = [f"customer-{i:03d}-with-a-long-name@example.net" for i in range(30)]
    for i in range(10):
        r = daemon.sendmail(["-i"] + recipients, f"Subject: news {i}\n\nHello.\n")
        assert r.returncode == 0, r.stderr
    seen, before, pages = [], "", 0
    while True:
        code, body = api(daemon, "GET",
                         f"/api/v1/accounts/demo/email/messages?status=held&limit=500{before}")
        assert code == 200, body
        assert len(str(body)) < 4096 * 1.5
        pages += 1
        for m in body["items"]:
            assert m["recipients"] == 30 and len(m["to"]) == 20, m
            seen.append(m["id"])
        if body["next"] is None:
            break
        before = f"&before={body['next']}"
    assert len(seen) == len(set(seen)) == 10
    assert pages > 1


def test_metrics_need_a_token_even_from_loopback(make_daemon, tmp_path):
    scraper = "metrics-scraper-token-0123456789"
    (tmp_path / "metrics.token").write_text(scraper + "\n")
    (tmp_path / "metrics.token").chmod(0o600)
    daemon = make_daemon(settings={"http": {"metrics_token_file": str(tmp_path / "metrics.token")}})
    daemon.start()
    token = customer_token(daemon)
    assert api(daemon, "GET", "/metrics", token=None)[0] == 401
    assert api(daemon, "GET", "/metrics", token=token)[0] == 403
    code, text = api(daemon, "GET", "/metrics", token=scraper)
    assert code == 200 and "mailwarden_submitted_total" in text
    # The metrics token reads /metrics only.
    assert api(daemon, "GET", "/api/v1/accounts", token=scraper)[0] == 401


def test_files_of_secrets_are_kept_private(make_daemon):
    daemon = make_daemon()
    (daemon.root / "admin.token").chmod(0o644)  # as an operator may leave it
    daemon.start()
    assert daemon.db.stat().st_mode & 0o077 == 0  # a new store is the daemon's user's only
    assert "http.admin_token_file" in daemon.log_text() and "chmod 600" in daemon.log_text()
    daemon.stop()
    daemon.db.chmod(0o644)
    daemon.start()
    assert "mailwarden.db may be read or written by other users" in daemon.log_text()


def http_get(port, path="/api/v1/whoami", sock=None):
    """A keep-alive GET on a raw connection (a new one unless given); returns (socket, answer's
    status line, or '' if the server closed the connection without one)."""
    import socket
    from conftest import ADMIN_TOKEN
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
                  .encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        data = b""
    return s, data.split(b"\r\n", 1)[0].decode()


def test_the_http_listener_refuses_connections_past_its_caps(make_daemon):
    daemon = make_daemon(settings={"http": {"max_connections": 3,
                                            "max_connections_per_client": 2}}).start()
    port = daemon.http_port
    # This local user (root) holds two connections; its third is refused, on loopback as the
    # same user whatever its address.
    held = [http_get(port) for _ in range(2)]
    assert [line for _, line in held] == ["HTTP/1.1 200 OK"] * 2
    _, third = http_get(port)
    assert third.startswith("HTTP/1.1 429"), third
    # Another local user is served: its own share. With it the listener is full: the next
    # connection, whoever makes it, is answered 503.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            os.setgid(4999)
            os.setuid(4999)
            mine, line = http_get(port)
            _, full = http_get(port)
            os.write(write_end, f"{line}|{full}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    other = os.read(read_end, 1000).decode()
    assert other.startswith("HTTP/1.1 200 OK|HTTP/1.1 503"), other
    # A connection given back makes room again.
    held[0][0].close()
    def served():
        s, line = http_get(port)
        s.close()
        return line == "HTTP/1.1 200 OK"
    wait_for(served, what="a place freed by a closed connection")


def test_an_unauthenticated_body_is_answered_401_before_it_is_sent(make_daemon):
    import socket
    daemon = make_daemon().start()
    s = socket.create_connection(("127.0.0.1", daemon.http_port), timeout=10)
    # 1 MiB announced, nothing of it sent: the answer comes to the header alone.
    s.sendall(b"POST /api/v1/accounts/demo/email/messages/release HTTP/1.1\r\nHost: t\r\n"
              b"Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break  # closed by the server after its answer
        data += chunk
    assert data.startswith(b"HTTP/1.1 401"), data
    assert b"Connection: close" in data, data
    # With a valid token a body is read, up to http.max_body_bytes (64 KiB) for this route.
    token = customer_token(daemon)
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/email/request", token=token,
                     body={"action": "BLOCK", "reason": "x" * 70000})
    assert code == 413, body
    code, body = request(daemon, "BLOCK", token=token)
    assert code == 200, body
