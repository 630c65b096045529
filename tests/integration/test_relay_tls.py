"""TLS to the relay: delivery.tls and delivery.tls_verify (issue: hostile tenants)."""
import subprocess

from conftest import Relay, order_tags, wait_for
from test_core_pipeline import MESSAGE


def self_signed(folder):
    cert, key = folder / "relay-cert.pem", folder / "relay-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def tls_relay(tmp_path, cert, key):
    relay = Relay(tmp_path / "tls-spool")
    relay.proc = subprocess.Popen(
        ["/usr/bin/python3", str(Relay.__init__.__globals__["HERE"] / "relay_peer.py"), "--port", "0",
         "--spool", str(relay.spool), "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.PIPE, text=True)
    line = relay.proc.stdout.readline()
    assert line.startswith("PORT "), line
    relay.port = int(line.split()[1])
    return relay


def test_required_tls_is_not_given_up_for_plain_text(make_daemon, relay):
    """With delivery.tls = "required", a relay that does not offer STARTTLS gets nothing: the
    message stays queued (a temporary failure), never sent in plain text."""
    daemon = make_daemon(relay=relay, settings={"delivery": {"tls": "required"}}).start()
    r = daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="secret"))
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "does not offer STARTTLS, which is required" in daemon.log_text(),
             what="the refusal to send in plain text")
    assert relay.messages() == []
    daemon.stop()


def test_verified_tls_checks_the_expected_name(make_daemon, tmp_path):
    """With tls_verify, the relay's certificate must chain to tls_ca_file and carry tls_name:
    "localhost" is delivered over TLS; with another expected name nothing is sent."""
    cert, key = self_signed(tmp_path)
    relay = tls_relay(tmp_path, cert, key)
    try:
        settings = {"delivery": {"tls": "required", "tls_verify": True,
                                 "tls_ca_file": str(cert), "tls_name": "localhost"}}
        daemon = make_daemon(relay=relay, settings=settings, name="right-name").start()
        assert daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="verified")).returncode == 0
        wait_for(lambda: "verified" in order_tags(relay), what="the message over verified TLS")
        assert all(m["tls"] for m in relay.messages())
        daemon.stop()

        settings["delivery"]["tls_name"] = "mx.example.net"
        daemon = make_daemon(relay=relay, settings=settings, name="wrong-name").start()
        assert daemon.sendmail(["-t", "-i"], MESSAGE.format(tag="wrong")).returncode == 0
        wait_for(lambda: "certificate verify failed" in daemon.log_text(),
                 what="the certificate refused for its name")
        assert "wrong" not in order_tags(relay)
        daemon.stop()
    finally:
        relay.stop()
