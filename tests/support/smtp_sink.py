#!/usr/bin/env python3
"""A real SMTP server for the tests (Debian's python3-aiosmtpd).

Binds 127.0.0.1 (--port 0 = any free port), prints "PORT <n>" once it listens, and stores every
message it accepts as <dir>/<nnnn>.eml: two X-Envelope-* lines, then the message exactly as
received. Each file is written under a temporary name and renamed, so a reader never sees half
of one. With --auth USER:PASSWORD, AUTH (PLAIN, LOGIN) is offered without TLS and required.
Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import os
import signal

from aiosmtpd.smtp import SMTP, AuthResult


class Mailbox:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.directory, "%04d.eml" % self.count)
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))
        with open(name + ".tmp", "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content)
        os.rename(name + ".tmp", name)
        return "250 OK stored"


def authenticator_for(spec):
    user, _, password = spec.partition(":")

    def check(server, session, envelope, mechanism, auth_data):
        ok = (getattr(auth_data, "login", None) == user.encode()
              and getattr(auth_data, "password", None) == password.encode())
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", default="")
    args = parser.parse_args()
    mailbox = Mailbox(args.dir)
    options = {"hostname": "sink.test"}
    if args.auth:
        options.update(authenticator=authenticator_for(args.auth), auth_required=True,
                       auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, **options), host="127.0.0.1",
                                      port=args.port, reuse_address=True)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
