"""docs/openapi.json describes the routes the daemon serves: every documented operation is
answered by a real handler (not 404 or 405), and what is not documented is not served."""
import json
import pathlib

from conftest import api

SPEC = json.loads((pathlib.Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())

# A body each operation accepts or refuses with 400: either proves a handler is there.
BODIES = {"post": {}, "put": {}}


def test_every_documented_operation_is_served(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    code, token = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, token
    # Deleting the account comes last: every other operation needs it.
    last = ("/api/v1/accounts/{name}", "delete")
    calls = [(p, m) for p, ops in SPEC["paths"].items() for m in ops if (p, m) != last] + [last]
    for path, method in calls:
        operations = SPEC["paths"][path]
        concrete = path.replace("{name}", "demo").replace("{id}", token["id"])
        body = BODIES.get(method)
        code, reply = api(daemon, method.upper(), concrete, body=body)
        assert code not in (404, 405), (method, path, code, reply)
        assert str(code) in operations[method]["responses"], (method, path, code, reply)


def test_what_is_not_documented_is_not_served(make_daemon, relay):
    daemon = make_daemon(relay=relay).start()
    documented = {(m.upper(), p.replace("{name}", "demo")) for p, ops in SPEC["paths"].items() for m in ops}
    candidates = [("DELETE", "/api/v1/accounts/demo/email"), ("GET", "/api/v1/accounts/demo"),
                  ("GET", "/api/v1/accounts/demo/email/request"), ("POST", "/api/v1/whoami"),
                  ("GET", "/api/v2/accounts"), ("GET", "/api/v1/accounts/demo/email/messages/release"),
                  ("PUT", "/api/v1/audit")]
    for method, path in candidates:
        assert (method, path) not in documented
        code, _ = api(daemon, method, path, body={} if method in ("POST", "PUT") else None)
        assert code in (404, 405), (method, path, code)
