#!/bin/sh
# Runs under /usr/bin/python3 when present (a pyenv shim costs ~0.25 s per call), else python3.
''''[ -x /usr/bin/python3 ] && exec /usr/bin/python3 "$0" "$@"; exec python3 "$0" "$@" # '''
USAGE = """Independent IMAP/SMTP client for the dsr-worker integration tests (Python stdlib only).

Talks to the local services started by scripts/services. Prints JSON on stdout; on failure
prints a message on stderr and exits non-zero.

  mailbox.py append USER FILE            APPEND FILE ('-' = stdin) to USER's INBOX, no flags
  mailbox.py send FROM TO FILE           SMTP-send FILE with envelope FROM -> TO (TO may be a
                                         comma-separated list)
  mailbox.py list USER [--mailbox NAME]  messages as a JSON array (BODY.PEEK: does not set \\Seen)
  mailbox.py wait USER COUNT TIMEOUT     poll every 100 ms until INBOX has >= COUNT messages or
                                         TIMEOUT seconds pass; prints the list either way (exit 0)
  mailbox.py clear USER                  delete every message in USER's INBOX

Environment: DSR_TEST_IMAP_HOST (127.0.0.1), DSR_TEST_IMAP_PORT (1143, plain),
DSR_TEST_SMTP_HOST (127.0.0.1), DSR_TEST_SMTP_PORT (2525), DSR_MAIL_PASSWORD (secret).

Each listed message is an object with: uid, flags, subject, from, to, cc, date, message_id,
in_reply_to, references, auto_submitted, content_language, content_type, body (decoded text/plain
part with CRLF turned into LF, "" if there is none), attachments ([{filename, content_type, size},
with the decoded "text" of text/* and JSON files]), raw_size. Header values are RFC 2047-decoded; absent optional headers are null. flags leaves out
the session-only \\Recent.
"""

import argparse
import email
import email.policy
import imaplib
import json
import os
import re
import smtplib
import sys
import time

IMAP_HOST = os.environ.get("DSR_TEST_IMAP_HOST", "127.0.0.1")
IMAP_PORT = int(os.environ.get("DSR_TEST_IMAP_PORT", "1143"))
SMTP_HOST = os.environ.get("DSR_TEST_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("DSR_TEST_SMTP_PORT", "2525"))
PASSWORD = os.environ.get("DSR_MAIL_PASSWORD", "secret")
TIMEOUT = 30


class Fail(Exception):
    pass


def read_input(path):
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def check(typ, data, what):
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise Fail(f"{what}: {typ} {detail}")
    return data


def imap_login(user):
    try:
        conn = imaplib.IMAP4(IMAP_HOST, IMAP_PORT, timeout=TIMEOUT)
    except OSError as e:
        raise Fail(f"cannot connect to IMAP {IMAP_HOST}:{IMAP_PORT}: {e}") from e
    try:
        conn.login(user, PASSWORD)
    except imaplib.IMAP4.error as e:
        raise Fail(f"IMAP login as {user} failed: {e}") from e
    return conn


def imap_quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def select(conn, mailbox, readonly):
    typ, data = conn.select(imap_quote(mailbox), readonly=readonly)
    check(typ, data, f"SELECT {mailbox}")
    return int(data[0] or 0)


def header(msg, name):
    value = msg.get(name)
    if value is None:
        return None
    try:
        text = str(value)
    except Exception:  # undecodable header: fall back to the raw value
        text = msg.get_all(name, failobj=[""])[0]
        text = str(text)
    return " ".join(text.split()) if name.lower() != "subject" else text.strip()


def part_text(part):
    try:
        return part.get_content()
    except (LookupError, UnicodeError, KeyError, AssertionError):
        # Unknown or wrong charset: decode the transfer encoding, then best-effort text.
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")


def text_body(msg):
    try:
        part = msg.get_body(preferencelist=("plain",))
    except Exception:
        part = None
    if part is None:
        if msg.get_content_maintype() == "text" and msg.get_content_subtype() == "plain":
            part = msg
        else:
            return ""
    text = part_text(part)
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace")
    return text.replace("\r\n", "\n")


def attachments(msg):
    out = []
    if not msg.is_multipart():
        return out
    for part in msg.walk():
        if part.is_multipart():
            continue
        disp = part.get_content_disposition()
        filename = part.get_filename()
        if disp == "attachment" or filename:
            payload = part.get_payload(decode=True) or b""
            entry = {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(payload),
            }
            if part.get_content_maintype() == "text" or part.get_content_type().endswith("json"):
                entry["text"] = payload.decode(part.get_content_charset() or "utf-8", "replace")
            out.append(entry)
    return out


FETCH_META = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)|RFC822\.SIZE (\d+)")


def describe(meta, raw):
    uid = size = None
    flags = []
    for m in FETCH_META.finditer(meta):
        if m.group(1):
            uid = int(m.group(1))
        elif m.group(3):
            size = int(m.group(3))
        else:
            flags = [f for f in m.group(2).decode().split() if f != "\\Recent"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return {
        "uid": uid,
        "flags": flags,
        "subject": header(msg, "Subject") or "",
        "from": header(msg, "From") or "",
        "to": header(msg, "To") or "",
        "cc": header(msg, "Cc"),
        "date": header(msg, "Date"),
        "message_id": (header(msg, "Message-ID") or ""),
        "in_reply_to": header(msg, "In-Reply-To"),
        "references": header(msg, "References"),
        "auto_submitted": header(msg, "Auto-Submitted"),
        "content_language": header(msg, "Content-Language"),
        "content_type": msg.get_content_type(),
        "body": text_body(msg),
        "attachments": attachments(msg),
        "raw_size": size if size is not None else len(raw),
    }


def fetch_all(conn, exists):
    if exists == 0:
        return []
    typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
    check(typ, data, "UID FETCH")
    messages = []
    for item in data:
        if isinstance(item, tuple):
            meta, raw = item
            # FLAGS may come after the literal, in the trailing b')' part; handled below.
            messages.append([meta, raw])
        elif (isinstance(item, bytes) and messages and item.strip() != b")"
              and not re.match(rb"\d+ \(", item)):
            messages[-1][0] += b" " + item
    out = [describe(meta, raw) for meta, raw in messages]
    out.sort(key=lambda m: m["uid"] or 0)
    return out


def list_messages(user, mailbox):
    conn = imap_login(user)
    try:
        exists = select(conn, mailbox, readonly=True)
        return fetch_all(conn, exists)
    finally:
        logout(conn)


def logout(conn):
    try:
        conn.logout()
    except Exception:
        pass


def cmd_append(args):
    data = read_input(args.file)
    conn = imap_login(args.user)
    try:
        typ, resp = conn.append("INBOX", None, None, data)
        check(typ, resp, "APPEND")
    finally:
        logout(conn)
    return {"ok": True}


def cmd_send(args):
    data = read_input(args.file)
    rcpts = [r.strip() for r in args.to.split(",") if r.strip()]
    if not rcpts:
        raise Fail("send: no recipient")
    opts = []
    if any(not s.isascii() for s in [args.sender, *rcpts]):
        opts.append("SMTPUTF8")
    try:
        with smtplib.SMTP(SMTP_HOST, SMTP_PORT, timeout=TIMEOUT) as smtp:
            refused = smtp.sendmail(args.sender, rcpts, data, mail_options=opts)
    except (OSError, smtplib.SMTPException) as e:
        raise Fail(f"SMTP send via {SMTP_HOST}:{SMTP_PORT} failed: {e}") from e
    if refused:
        raise Fail(f"SMTP refused recipients: {refused}")
    return {"ok": True}


def cmd_list(args):
    return list_messages(args.user, args.mailbox)


def cmd_wait(args):
    deadline = time.monotonic() + args.timeout
    conn = imap_login(args.user)
    try:
        exists = select(conn, "INBOX", readonly=True)
        while exists < args.count and time.monotonic() < deadline:
            time.sleep(0.1)
            check(*conn.noop(), "NOOP")
            # Re-select: gives a fresh EXISTS even if an untagged EXISTS was missed.
            exists = select(conn, "INBOX", readonly=True)
        return fetch_all(conn, exists)
    finally:
        logout(conn)


def cmd_clear(args):
    conn = imap_login(args.user)
    try:
        exists = select(conn, "INBOX", readonly=False)
        if exists:
            check(*conn.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
            check(*conn.expunge(), "EXPUNGE")
        conn.close()
    finally:
        logout(conn)
    return {"ok": True, "deleted": exists}


def main(argv):
    p = argparse.ArgumentParser(prog="mailbox.py", description=USAGE,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("append")
    a.add_argument("user")
    a.add_argument("file")
    a.set_defaults(fn=cmd_append)
    s = sub.add_parser("send")
    s.add_argument("sender")
    s.add_argument("to")
    s.add_argument("file")
    s.set_defaults(fn=cmd_send)
    li = sub.add_parser("list")
    li.add_argument("user")
    li.add_argument("--mailbox", default="INBOX")
    li.set_defaults(fn=cmd_list)
    w = sub.add_parser("wait")
    w.add_argument("user")
    w.add_argument("count", type=int)
    w.add_argument("timeout", type=float)
    w.set_defaults(fn=cmd_wait)
    c = sub.add_parser("clear")
    c.add_argument("user")
    c.set_defaults(fn=cmd_clear)
    args = p.parse_args(argv)
    try:
        result = args.fn(args)
    except Fail as e:
        print(f"mailbox.py {args.cmd}: {e}", file=sys.stderr)
        return 1
    except (OSError, imaplib.IMAP4.error, smtplib.SMTPException) as e:
        print(f"mailbox.py {args.cmd}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
