"""A real SMTP server for kluis-mail's tests, on aiosmtpd, and an independent e-mail parser.

    python3 mailsink.py serve DIR [--auth USER:PASSWORD] [--reject-rcpt]
                                  [--starttls CERT KEY | --implicit-tls CERT KEY]
    python3 mailsink.py parse FILE...

`serve` listens on a free loopback port, prints the port on its first line of output, and writes
every accepted message as DIR/NNNN.eml (the bytes as received) and DIR/NNNN.json (the SMTP
envelope, the login used, whether the session was TLS, and the message as Python's standard
`email` package parses it), each atomically (temporary file + rename), the JSON last. It stops
when its standard input closes, so it never outlives the test that started it.

`--reject-rcpt` answers every RCPT with a 550 that echoes the address, as real relays do, so a
test can check that the address does not leak into kluis's error. `--auth` offers AUTH (PLAIN,
LOGIN) and accepts only USER:PASSWORD; without TLS it is allowed on plain connections (loopback
only).

`parse` prints, for each file, the same parsed form as one JSON array.
"""

import asyncio
import email
import email.policy
import json
import os
import ssl
import sys


def parse(raw: bytes) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = list(msg.walk())
    body = msg.get_body(preferencelist=("plain",))
    return {
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "reply_to": str(msg["Reply-To"]),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "content_language": str(msg["Content-Language"]),
        "auto_submitted": str(msg["Auto-Submitted"]),
        "content_type": msg.get_content_type(),
        "charset": msg.get_content_charset(),
        "transfer_encoding": str(msg["Content-Transfer-Encoding"]),
        "is_multipart": msg.is_multipart(),
        "parts": len(parts),
        "attachments": sum(1 for p in parts if p.get_content_disposition() == "attachment"),
        "body": body.get_content() if body is not None else None,
        "defects": [type(d).__name__ for p in parts for d in p.defects],
        "raw_is_ascii": all(b < 128 for b in raw),
        # RFC 5322 2.1.1: lines MUST be at most 998 characters; the body's SHOULD be at most 78.
        "too_long_lines": [line.decode("utf-8", "replace") for line in raw.split(b"\r\n") if len(line) > 998],
        "long_body_lines": [
            line.decode("utf-8", "replace") for line in raw.split(b"\r\n\r\n", 1)[-1].split(b"\r\n") if len(line) > 78
        ],
    }


def write_atomically(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Sink:
    def __init__(self, outdir: str, reject_rcpt: bool):
        self.outdir = outdir
        self.reject_rcpt = reject_rcpt
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.outdir, f"{self.count:04}")
        raw = envelope.original_content or envelope.content
        write_atomically(name + ".eml", raw)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data if session.authenticated else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "message": parse(raw),
        }
        write_atomically(name + ".json", json.dumps(record).encode())
        return f"250 OK queued as {self.count:04}"


def make_authenticator(user: str, password: str):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return authenticator


async def serve(args: list) -> None:
    # Imported here so that `parse` needs only the standard library.
    from aiosmtpd.smtp import SMTP

    outdir = args.pop(0)
    auth = None
    reject = False
    starttls = None
    implicit = None
    while args:
        flag = args.pop(0)
        if flag == "--auth":
            auth = args.pop(0).split(":", 1)
        elif flag == "--reject-rcpt":
            reject = True
        elif flag == "--starttls":
            starttls = (args.pop(0), args.pop(0))
        elif flag == "--implicit-tls":
            implicit = (args.pop(0), args.pop(0))
        else:
            raise SystemExit(f"unknown flag {flag}")
    handler = Sink(outdir, reject)
    options = {"hostname": "sink.kluis.test", "ident": "kluis mail sink", "enable_SMTPUTF8": True}
    if auth:
        options["authenticator"] = make_authenticator(*auth)
        options["auth_require_tls"] = starttls is not None
    if starttls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*starttls)
        options["tls_context"] = ctx
        options["require_starttls"] = True
    server_ssl = None
    if implicit:
        server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ssl.load_cert_chain(*implicit)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **options), "127.0.0.1", 0, ssl=server_ssl)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Until the test closes our standard input (or dies).
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    server.close()


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "serve":
        asyncio.run(serve(args))
    elif command == "parse":
        out = []
        for path in args:
            with open(path, "rb") as f:
                out.append(parse(f.read()))
        print(json.dumps(out))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
