#!/usr/bin/python3
"""A real SMTP relay for mailwarden's tests, built on aiosmtpd (Debian's python3-aiosmtpd).

Run it with Debian's Python, which has the module:

    /usr/bin/python3 tests/integration/relay_peer.py --port 0 --spool DIR
        [--host 127.0.0.1] [--tls-cert CERT --tls-key KEY] [--no-pipelining]
        [--size-limit BYTES]

Once listening it prints "PORT <n>" as the first and only line of stdout; logs go to stderr.
It stops on SIGTERM or SIGINT.

Spool. Each accepted message becomes two files in DIR, named by a counter in order of
acceptance (000001, 000002, ...; a relay started on a spool that has messages goes on
from the highest number):
  <seq>.eml   the message exactly as received, dot-stuffing undone (bytes, CRLF line ends,
              without the final ".")
  <seq>.json  its envelope: {"mail_from": "a@x" ("" for the null sender <>), "rcpt_tos":
              ["b@y", ...], "mail_options": ["SIZE=123", ...], "helo": "...",
              "tls": true|false, "peer": ["127.0.0.1", 41234]} (peer: the client's address
              and source port, one port per connection)
Both are written to a temporary name and renamed, the .json last: once <seq>.json exists,
<seq>.eml is complete.

Recipient rules, by the local part of the address (case-insensitive prefix):
  reject...      550 5.1.1 recipient rejected
  escape...      550 5.1.1 with terminal escapes, a bell and a quote in the text (what a
                 hostile server may answer)
  defer...       451 4.3.0 try again later, on the first 2 attempts for that address (counted
                 per address, in memory, for the life of the process); accepted from the 3rd
  datadefer...   accepted at RCPT, but the message's final reply to DATA is 451 4.3.0
  datareject...  accepted at RCPT, but the message's final reply to DATA is 554 5.6.0 (a
                 datadefer recipient wins over a datareject one); nothing is spooled for either
  slow...        accepted, but the final reply to DATA comes SLOW_SECONDS later (a busy
                 relay). How many such replies were waiting at most at one time is kept per
                 local part in DIR/slow.stats, as JSON: {"slow1": 2, ...}
  anything else  250 2.1.5 OK
A message is answered "250 2.0.0 OK queued as <seq>".

Like aiosmtpd by default (and like relays that enforce RFC 5321 4.5.3.1.6), a message with a
line over 1,000 octets is refused at the end of data: "500 Line too long (see RFC5321
4.5.3.1.6)". Nothing here overrides that.

EHLO offers what aiosmtpd offers (SIZE, 8BITMIME, SMTPUTF8, and STARTTLS when --tls-cert is
given) plus PIPELINING, which aiosmtpd handles since it reads commands from a stream; pass
--no-pipelining to leave it out. --size-limit 0 advertises no SIZE and sets no limit.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP

DEFER_ATTEMPTS = 2
SLOW_SECONDS = 1.5


def local_part(address):
    return address.rsplit("@", 1)[0].lower()


class RelayHandler:
    def __init__(self, spool):
        self.spool = spool
        # A restarted relay continues the numbering of what is already in the spool.
        self.sequence = max(
            (int(name[:-5]) for name in os.listdir(spool)
             if name.endswith(".json") and name[:-5].isdigit()),
            default=0)
        self.defer_counts = {}
        self.slow_now = {}   # local part -> replies waiting now
        self.slow_most = {}  # local part -> the most ever waiting at once

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if server.relay_peer_pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = local_part(address)
        if local.startswith("reject"):
            return f"550 5.1.1 <{address}>: recipient rejected"
        if local.startswith("escape"):
            return '550 5.1.1 \x1b[2J\x1b[31mno" result=sent such\x07 user'

        if local.startswith("defer"):
            key = address.lower()
            seen = self.defer_counts.get(key, 0)
            self.defer_counts[key] = seen + 1
            if seen < DEFER_ATTEMPTS:
                return f"451 4.3.0 <{address}>: try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = [local_part(a) for a in envelope.rcpt_tos]
        if any(l.startswith("datadefer") for l in locals_):
            return "451 4.3.0 message deferred by rule"
        if any(l.startswith("datareject") for l in locals_):
            return "554 5.6.0 message rejected by rule"
        slow = next((l for l in locals_ if l.startswith("slow")), None)
        if slow:
            self.slow_now[slow] = self.slow_now.get(slow, 0) + 1
            if self.slow_now[slow] > self.slow_most.get(slow, 0):
                self.slow_most[slow] = self.slow_now[slow]
                self._write("slow.stats", json.dumps(self.slow_most).encode())
            try:
                await asyncio.sleep(SLOW_SECONDS)
            finally:
                self.slow_now[slow] -= 1
        self.sequence += 1
        seq = f"{self.sequence:06d}"
        envelope_json = {
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "helo": session.host_name,
            "tls": session.ssl is not None,
            "peer": list(session.peer[:2]) if session.peer else None,
        }
        self._write(f"{seq}.eml", envelope.original_content)
        self._write(f"{seq}.json", json.dumps(envelope_json).encode())
        logging.info("accepted %s from %s to %s", seq, envelope.mail_from, envelope.rcpt_tos)
        return f"250 2.0.0 OK queued as {seq}"

    def _write(self, name, data):
        tmp = os.path.join(self.spool, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.spool, name))


class RelaySMTP(SMTP):
    def __init__(self, handler, pipelining, **kwargs):
        self.relay_peer_pipelining = pipelining
        super().__init__(handler, **kwargs)


async def serve(args):
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    handler = RelayHandler(args.spool)
    loop = asyncio.get_running_loop()

    def factory():
        return RelaySMTP(
            handler,
            not args.no_pipelining,
            hostname="relay-peer.test",
            ident="mailwarden relay_peer",
            tls_context=tls_context,
            data_size_limit=args.size_limit or None,
            enable_SMTPUTF8=True,
        )

    server = await loop.create_server(factory, host=args.host, port=args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--spool", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--no-pipelining", action="store_true")
    parser.add_argument("--size-limit", type=int, default=32 * 1024 * 1024)
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    os.makedirs(args.spool, exist_ok=True)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="relay_peer: %(levelname)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
