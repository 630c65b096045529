"""Sender identity against the real daemon: each account's domains, the From check (hold and
reject), DKIM signatures verified by an independent verifier (Debian's python3-dkim, given the
public key from the TXT record mailwardenctl printed), and the DNS check against a local
dnsmasq on a loopback port."""
import os
import re
import shutil
import smtplib
import subprocess

import pytest

from conftest import (ADMIN_TOKEN, BIN, OTHER_UID, api, free_port, metrics, request, status,
                      wait_for)

dkim = pytest.importorskip("dkim")

SHOP = "shop.example"


def ctl(daemon, *args):
    cmd = [str(BIN / "mailwardenctl"), "--config", str(daemon.config)] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def generate(daemon, domain, algorithm, rotate=False, selector=None):
    """mailwardenctl dkim generate|rotate: the (name, TXT value) it printed."""
    args = ["dkim", "rotate" if rotate else "generate", domain, "--algorithm", algorithm]
    if selector:
        args += ["--selector", selector]
    r = ctl(daemon, *args)
    assert r.returncode == 0, r.stderr
    m = re.match(r'(\S+) TXT "(v=DKIM1; k=(rsa|ed25519); p=[A-Za-z0-9+/=]+)"', r.stdout)
    assert m, r.stdout
    return m.group(1), m.group(2)


def verify(data, records):
    """dkimpy's verdict on data, its keys looked up in records (name -> TXT value)."""
    crlf = re.sub(rb"(?<!\r)\n", b"\r\n", data)

    def dnsfunc(name, timeout=5):
        key = name.decode() if isinstance(name, bytes) else name
        return records.get(key.rstrip("."), "").encode()

    return dkim.verify(crlf, dnsfunc=dnsfunc)


def signature_tags(data):
    text = data.decode(errors="replace")
    m = re.search(r"^DKIM-Signature:(.*?)(?=\r?\n\S)", text, re.S | re.M)
    assert m, text[:400]
    value = re.sub(r"\s+", "", m.group(1))
    return dict(t.split("=", 1) for t in value.split(";") if "=" in t)


def accounts(sender_check_domains=(SHOP,)):
    return [
        {"name": "demo", "uids": [os.getuid()], "report_to": "owner@example.com",
         "domains": list(sender_check_domains)},
        {"name": "other", "uids": [OTHER_UID], "report_to": "other@example.com",
         "domains": ["other.example"]},
    ]


def daemon_with(make_daemon, relay, sender_check="off", dns=None, smtp_port=None, domains=(SHOP,)):
    settings = {"policy": {"sender_check": sender_check}}
    if dns:
        settings["dns"] = dns
    if smtp_port:
        settings["smtp"] = {"listen": [f"127.0.0.1:{smtp_port}"]}
    return make_daemon(relay=relay, settings=settings, accounts=accounts(domains)).start()


PLAIN = f"From: Shop <orders@{SHOP}>\nTo: buyer@example.net\nSubject: plain\n\nYour order.  \n\n\n"
MULTIPART = (f"From: orders@{SHOP}\nTo: buyer@example.net\nSubject: multipart\nMIME-Version: 1.0\n"
             "Content-Type: multipart/alternative; boundary=XX\n\n--XX\n"
             "Content-Type: text/plain; charset=utf-8\n\nplain part\n--XX\n"
             "Content-Type: text/html; charset=utf-8\n\n<p>html part</p>\n--XX--\n")
EIGHT_BIT = (f"From: orders@{SHOP}\nTo: buyer@example.net\nSubject: 8bit\nMIME-Version: 1.0\n"
             "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
             "Zamówienie przyjęte: żółw, gęś, źdźbło.\n")
LONG_HEADER = (f"From: orders@{SHOP}\nTo: " + ", ".join(f"buyer{i}@example.net" for i in range(60))
               + "\nSubject: long header " + "word " * 300 + "\n\n" + "x" * 3000 + "\n")
MESSAGES = {"plain": PLAIN, "multipart": MULTIPART, "8bit": EIGHT_BIT, "long": LONG_HEADER}


def at_relay(relay, count):
    wait_for(lambda: len(relay.messages()) >= count, what=f"{count} message(s) at the relay")
    return relay.messages()


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_mail_of_an_accounts_domain_leaves_signed_and_verifies(make_daemon, relay, algorithm):
    daemon = daemon_with(make_daemon, relay)
    name, record = generate(daemon, SHOP, algorithm)
    assert name.endswith("._domainkey." + SHOP)
    for kind, text in MESSAGES.items():
        r = daemon.sendmail(["-t", "-i"], text)
        assert r.returncode == 0, (kind, r.stderr)
    for m in at_relay(relay, len(MESSAGES)):
        tags = signature_tags(m["data"])
        assert tags["a"] == f"{algorithm}-sha256" and tags["c"] == "relaxed/relaxed", tags
        assert tags["d"] == SHOP and name.startswith(tags["s"] + ".")
        signed = tags["h"].lower().split(":")
        assert signed.count("from") == 2, "From is signed once more than it occurs"
        assert {"to", "subject", "date", "message-id"} <= set(signed)
        assert verify(m["data"], {name: record}), m["data"][:300]
        # A From added on the way breaks it.
        forged = b"From: ceo@" + SHOP.encode() + b"\r\n" + m["data"]
        assert not verify(forged, {name: record})
    assert metrics(daemon)[1].count('mailwarden_dkim_total{outcome="signed"} 4') == 1


def test_other_domains_and_other_accounts_mail_leave_unsigned(make_daemon, relay):
    daemon = daemon_with(make_daemon, relay)
    generate(daemon, SHOP, "ed25519")
    # The other account writing the shop's From (the check is off): not signed with its key.
    r = daemon.sendmail(["-t", "-i"], PLAIN, uid=OTHER_UID)
    assert r.returncode == 0, r.stderr
    r = daemon.sendmail(["-t", "-i"], PLAIN.replace(SHOP, "elsewhere.example"))
    assert r.returncode == 0, r.stderr
    for m in at_relay(relay, 2):
        assert b"DKIM-Signature" not in m["data"]


def test_held_mail_is_signed_with_the_key_of_the_day_it_leaves(make_daemon, relay):
    daemon = daemon_with(make_daemon, relay)
    old_name, old_record = generate(daemon, SHOP, "rsa", selector="old")
    code, body = request(daemon, "BLOCK")
    assert code == 200, body
    r = daemon.sendmail(["-t", "-i"], PLAIN)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: status(daemon)["held"] == 1, what="the message held")
    new_name, new_record = generate(daemon, SHOP, "ed25519", rotate=True, selector="new")
    listed = ctl(daemon, "dkim", "list", SHOP)
    assert "old" in listed.stdout and "new" in listed.stdout, listed.stdout
    # The daemon reads the keys again at once after a change made through its API.
    code, body = request(daemon, "UNBLOCK")
    assert code == 200, body
    [m] = at_relay(relay, 1)
    tags = signature_tags(m["data"])
    assert tags["s"] == "new" and tags["a"] == "ed25519-sha256", tags
    assert verify(m["data"], {new_name: new_record})
    assert not verify(m["data"], {new_name: old_record})


def test_subdomains_and_internationalised_domains_are_the_accounts(make_daemon, relay):
    daemon = daemon_with(make_daemon, relay, sender_check="reject",
                         domains=(SHOP, "żółw.pl"))
    name, record = generate(daemon, SHOP, "ed25519")
    ok = [
        PLAIN.replace(f"orders@{SHOP}", f"news@mail.{SHOP}"),          # a subdomain
        PLAIN.replace(f"orders@{SHOP}", "sklep@xn--w-uga1v8h.pl"),     # the IDN, A-labels
        "To: buyer@example.net\nSubject: no from\n\nbody\n",            # no From, no -f
    ]
    for text in ok:
        r = daemon.sendmail(["-t", "-i"], text)
        assert r.returncode == 0, (text, r.stderr)
    r = daemon.sendmail(["-t", "-i", "-f", f"bounce@{SHOP}"], "To: b@example.net\nSubject: x\n\n.\n")
    assert r.returncode == 0, r.stderr
    msgs = at_relay(relay, 4)
    sub = [m for m in msgs if f"mail.{SHOP}".encode() in m["data"]][0]
    assert signature_tags(sub["data"])["d"] == SHOP and verify(sub["data"], {name: record})
    # The From mailwarden added from -f is the account's domain: signed too.
    added = [m for m in msgs if m["mail_from"] == f"bounce@{SHOP}"][0]
    assert verify(added["data"], {name: record})


def test_reject_refuses_a_foreign_sender_with_65_and_smtp_550_571(make_daemon, relay):
    port = free_port()
    daemon = daemon_with(make_daemon, relay, sender_check="reject", smtp_port=port)
    generate(daemon, SHOP, "rsa")
    for text, args in [
        (PLAIN.replace(f"orders@{SHOP}", "service@paypal.com"), ["-t", "-i"]),
        (PLAIN.replace(f"orders@{SHOP}", "x@other.example"), ["-t", "-i"]),  # another account's
        (PLAIN, ["-t", "-i", "-f", "bounce@paypal.com"]),  # the envelope sender's domain too
    ]:
        r = daemon.sendmail(args, text)
        assert r.returncode == 65, r
        assert b"sender not allowed" in r.stderr, r.stderr
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/smtp-password")
    assert code == 201, body
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.login("demo", body["password"])
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("service@paypal.com", ["buyer@example.net"],
                       PLAIN.replace(f"orders@{SHOP}", "service@paypal.com"))
        assert refused.value.smtp_code == 550
        assert refused.value.smtp_error.startswith(b"5.7.1 sender not allowed")
        s.sendmail(f"orders@{SHOP}", ["buyer@example.net"], PLAIN)  # its own: accepted
    assert len(at_relay(relay, 1)) == 1
    text = metrics(daemon)[1]
    assert 'mailwarden_sender_check_total{outcome="refused"} 4' in text, text
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/domains")
    assert code == 200 and body["sender_checks"][-1]["refused"] == 4, body


def test_hold_holds_a_foreign_sender_until_the_provider_releases_it(make_daemon, relay):
    daemon = daemon_with(make_daemon, relay, sender_check="hold")
    name, record = generate(daemon, SHOP, "ed25519")
    forged = PLAIN.replace(f"orders@{SHOP}", "service@paypal.com").replace("plain", "forged")
    assert daemon.sendmail(["-t", "-i"], forged).returncode == 0
    assert daemon.sendmail(["-t", "-i"], PLAIN).returncode == 0
    [own] = at_relay(relay, 1)
    assert verify(own["data"], {name: record})
    code, held = api(daemon, "GET", "/api/v1/accounts/demo/email/messages?status=held")
    assert code == 200 and len(held["items"]) == 1, held
    item = held["items"][0]
    assert item["held_reason"] == "sender not allowed" and item["subject"] == "forged"
    assert status(daemon)["held"] == 1
    # The customer may delete it but not release it; the provider may release it.
    code, token = api(daemon, "POST", "/api/v1/accounts/demo/tokens")
    assert code == 201, token
    code, refused = api(daemon, "POST", "/api/v1/accounts/demo/email/messages/release",
                        token=token["token"], body={"ids": [item["id"]]})
    assert code == 403 and refused["reason"] == "sender_held", refused
    code, done = api(daemon, "POST", "/api/v1/accounts/demo/email/messages/release",
                     body={"ids": [item["id"]]})
    assert code == 200 and done["released"] == 1, done
    msgs = at_relay(relay, 2)
    assert any(b"Subject: forged" in m["data"] for m in msgs)
    assert 'mailwarden_sender_check_total{outcome="held"} 1' in metrics(daemon)[1]
    code, body = api(daemon, "GET", "/api/v1/accounts/demo/domains")
    assert body["sender_checks"][-1]["held"] == 1, body


def test_a_domain_belongs_to_one_account(make_daemon, relay):
    daemon = daemon_with(make_daemon, relay)
    code, body = api(daemon, "POST", "/api/v1/accounts/other/domains", body={"domain": SHOP})
    assert code == 409 and '"demo"' in body["message"], body
    r = ctl(daemon, "domain", "add", "other", "Blog.Other.Example.")
    assert r.returncode == 0, r.stderr
    r = ctl(daemon, "domain", "list", "other")
    assert "blog.other.example" in r.stdout and "other.example" in r.stdout, r.stdout
    r = ctl(daemon, "domain", "remove", "other", "blog.other.example")
    assert r.returncode == 0, r.stderr
    code, body = api(daemon, "POST", "/api/v1/accounts/demo/domains", token=None,
                     body={"domain": "x.example"})
    assert code == 401


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq is not installed")
def test_dns_check_reads_the_records_from_the_configured_server(make_daemon, relay, tmp_path):
    daemon = make_daemon(relay=relay, accounts=accounts((SHOP, "other-shop.example"))).start()
    name, record = generate(daemon, SHOP, "ed25519")
    name2, _ = generate(daemon, "other-shop.example", "rsa")
    port = free_port()
    # dnsmasq on a loopback port, answering only what it is told (no upstream, no hosts file).
    dns = subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
         f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
         f"--pid-file={tmp_path}/dnsmasq.pid"] + (["--user=root"] if os.geteuid() == 0 else []) + [
         f"--txt-record={name},{record}",
         f"--txt-record={SHOP},v=spf1 include:_spf.hosting.example ~all",
         f"--txt-record=_dmarc.{SHOP},v=DMARC1; p=quarantine",
         f"--txt-record={name2},v=DKIM1; k=rsa; p=AAAA",
         "--txt-record=other-shop.example,v=spf1 mx -all",
         "--local=/example/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        daemon.stop()
        text = daemon.config.read_text()
        daemon.config.write_text(text + f'[dns]\nserver = "127.0.0.1:{port}"\n'
                                 'spf = "include:_spf.hosting.example"\n')
        daemon.start()
        code, body = api(daemon, "GET", "/api/v1/accounts/demo/domains?check=1")
        assert code == 200, body
        by = {d["domain"]: d["dns"] for d in body["items"]}
        shop, other = by[SHOP], by["other-shop.example"]
        assert shop["dkim"][0]["state"] == "ok", shop
        assert shop["spf"]["state"] == "ok" and shop["dmarc"]["state"] == "ok", shop
        assert other["dkim"][0]["state"] == "mismatch", other
        assert other["dkim"][0]["publish"].startswith("v=DKIM1; k=rsa; p=")
        assert other["spf"]["state"] == "not_allowing", other
        assert "include:_spf.hosting.example" in other["spf"]["publish"]
        assert other["dmarc"]["state"] == "missing" and other["dmarc"]["publish"] == "v=DMARC1; p=none"
    finally:
        dns.terminate()
        dns.wait(10)
