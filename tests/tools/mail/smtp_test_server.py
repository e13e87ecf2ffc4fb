"""A real SMTP server for voicedesk's mail tests (aiosmtpd), run with /usr/bin/python3.

Every accepted message is written to --dir as NAME.eml (the raw bytes, as received)
and NAME.json (envelope, TLS and login state, and the message decoded by Python's
email package: subject, from, to, cc, message_id, body, defects), both renamed into
place once complete. NAME.started is created when the DATA phase begins, before the
optional --delay, so a test can tell that a transfer is in progress.

Recipients whose local part is "reject" get 550, "tempfail" get 451.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import threading
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def write_atomically(path, data):
    temporary = path + ".tmp"
    with open(temporary, "wb") as out:
        out.write(data)
    os.rename(temporary, path)


class Recorder:
    def __init__(self, directory, delay):
        self.directory = directory
        self.delay = delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "reject":
            return "550 5.1.1 no such user here"
        if local == "tempfail":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = uuid.uuid4().hex
        open(os.path.join(self.directory, name + ".started"), "w").close()
        if self.delay:
            # A client that goes away now cancels this (aiosmtpd cancels the
            # session's handler when the connection is lost): nothing is stored.
            await asyncio.sleep(self.delay)
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_content() if not message.is_multipart() else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "subject": str(message["subject"]),
            "from": str(message["from"]),
            "to": str(message["to"]),
            "cc": str(message["cc"]) if message["cc"] is not None else None,
            "message_id": str(message["message-id"]),
            "body": body,
            "defects": [type(d).__name__ for d in message.defects]
            + [type(d).__name__ for part in message.walk() for d in part.defects],
        }
        write_atomically(os.path.join(self.directory, name + ".eml"), raw)
        write_atomically(
            os.path.join(self.directory, name + ".json"),
            json.dumps(record, ensure_ascii=False).encode(),
        )
        return "250 2.0.0 stored as " + name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth", help="USER:PASSWORD the server accepts")
    args = parser.parse_args()

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    parameters = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            return AuthResult(success=ok, handled=False)

        parameters["authenticator"] = authenticator
        parameters["auth_require_tls"] = not args.implicit_tls
    if context is not None and not args.implicit_tls:
        parameters["tls_context"] = context
        parameters["require_starttls"] = True

    controller = Controller(
        Recorder(args.dir, args.delay),
        hostname="127.0.0.1",
        port=args.port,
        ssl_context=context if args.implicit_tls else None,
        **parameters,
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
