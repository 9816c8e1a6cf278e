#!/usr/bin/env python3
"""A real SMTP server for the tests (Debian's python3-aiosmtpd).

Binds 127.0.0.1 (--port 0 = any free port), prints "PORT <n>" once it listens, and stores every
message it accepts as <dir>/<nnnn>.eml: two X-Envelope-* lines, then the message exactly as
received. Each file is written under a temporary name and renamed, so a reader never sees half
of one. With --auth USER:PASSWORD, AUTH (PLAIN, LOGIN) is offered (also without TLS) and required.
With --tls starttls (STARTTLS offered and required) or --tls implicit (TLS from the first byte), a
throwaway certificate for 127.0.0.1 is made with the openssl CLI in <dir>/tls/ and its path printed
as "CERT <path>" before the PORT line, so the client can trust exactly it. Stops on SIGTERM.
"""
import argparse
import asyncio
import logging
import os
import signal
import ssl
import subprocess
import warnings

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


def make_tls_context(directory):
    tls_dir = os.path.join(directory, "tls")
    os.makedirs(tls_dir)
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", default="")
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    args = parser.parse_args()
    # Messages go to <dir>; the certificate to <dir>/tls (not an .eml, not read as mail).
    context = None
    if args.tls != "none":
        context, cert = make_tls_context(args.dir)
        print("CERT %s" % cert, flush=True)
    mailbox = Mailbox(args.dir)
    options = {"hostname": "sink.test"}
    if args.auth:
        # Without TLS AUTH is offered in clear (a test-only relay); with it, only after TLS.
        options.update(authenticator=authenticator_for(args.auth), auth_required=True,
                       auth_require_tls=args.tls != "none")
    if args.tls == "starttls":
        options.update(tls_context=context, require_starttls=True)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, **options), host="127.0.0.1",
                                      port=args.port, reuse_address=True,
                                      ssl=context if args.tls == "implicit" else None)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    # aiosmtpd warns about AUTH without TLS and its own deprecations; the tests mean both.
    warnings.filterwarnings("ignore")
    # A client refusing our certificate is a test case, not a traceback worth printing.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    asyncio.run(main())
