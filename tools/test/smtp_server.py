"""A real SMTP server for the e-mail channel's tests: aiosmtpd on 127.0.0.1, offering STARTTLS
and requiring it (and AUTH, when --user is given) before mail is accepted. Each accepted message is
written to OUT/N.eml with OUT/N.json (envelope and session facts, and the MIME parts as Python's
email parser reads them: type, file name, size and SHA-256 of each; each attached file is
also written to OUT/N-<file name>). With --size-limit the server
states that limit (RFC 1870 SIZE) and refuses larger mail. Prints "ready" when it listens and runs
until its standard input closes.

    smtp_server.py --port P --out DIR [--cert C --key K] [--user U --password P] [--size-limit N]
"""

import argparse
import email
import email.policy
import hashlib
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out, str(self.count))
        content = envelope.original_content or envelope.content
        with open(base + ".eml", "wb") as f:
            f.write(content)
        message = email.message_from_bytes(content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename:
                # The attachment itself, for the test to read: OUT/N-<file name>.
                with open(f"{base}-{os.path.basename(filename)}", "wb") as f:
                    f.write(payload)
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "filename": filename,
                    "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                    "text": payload.decode("utf-8") if part.get_content_maintype() == "text" else None,
                }
            )
        with open(base + ".json", "w") as f:
            json.dump(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "tls": session.ssl is not None,
                    "authenticated": bool(session.authenticated),
                    "subject": str(message["subject"]),
                    "defects": [str(d) for part in message.walk() for d in part.defects],
                    "parts": parts,
                },
                f,
            )
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--size-limit", type=int)
    args = parser.parse_args()

    kwargs = {}
    if args.size_limit:
        kwargs.update(data_size_limit=args.size_limit)
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        kwargs.update(tls_context=context, require_starttls=True)
    if args.user:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == args.user
                and auth_data.password.decode() == args.password
            )
            # handled=False: the server answers (235 or 535) itself.
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)

    controller = Controller(
        Store(args.out), hostname="127.0.0.1", port=args.port, server_hostname="localhost", **kwargs
    )
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
