"""RFC 5322 / MIME assembly with explicit, seeded choices (boundaries, encodings, clients).

Written by hand rather than with `email.message` so every byte is decided by the generator's
random source: the same seed gives the same files.
"""

from __future__ import annotations

import base64
import quopri
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


@dataclass
class Part:
    content_type: str  # e.g. "text/plain"
    body: bytes | str
    charset: str | None = None
    filename: str | None = None
    params: dict = field(default_factory=dict)
    encoding: str | None = None  # base64, quoted-printable, 8bit, 7bit
    disposition: str | None = None
    children: list["Part"] = field(default_factory=list)


def encode_word(text: str, charset: str = "utf-8", b: bool = True) -> str:
    """RFC 2047 encoded words for a header value, split so no character is cut."""
    if all(ord(c) < 128 for c in text):
        return text
    words, chunk = [], ""
    for c in text:
        if len((chunk + c).encode(charset, "replace")) > 42:
            words.append(chunk)
            chunk = ""
        chunk += c
    if chunk:
        words.append(chunk)
    out = []
    for w in words:
        raw = w.encode(charset, "replace")
        if b:
            out.append(f"=?{charset}?B?{base64.b64encode(raw).decode()}?=")
        else:
            q = "".join(
                chr(x) if (48 <= x <= 57 or 65 <= x <= 90 or 97 <= x <= 122) else ("_" if x == 32 else f"={x:02X}")
                for x in raw
            )
            out.append(f"=?{charset}?Q?{q}?=")
    return "\r\n ".join(out)


def address(name: str | None, email: str, rng: random.Random) -> str:
    if not name:
        return f"<{email}>" if rng.random() < 0.3 else email
    if all(ord(c) < 128 for c in name):
        return f'"{name}" <{email}>' if rng.random() < 0.4 else f"{name} <{email}>"
    return f"{encode_word(name, 'utf-8', rng.random() < 0.7)} <{email}>"


def boundary(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    style = rng.randint(0, 2)
    core = "".join(rng.choice(alphabet) for _ in range(24))
    return ["------------" + core, "----=_Part_" + str(rng.randint(10000, 99999)) + "_" + core[:10], "000000000000" + core[:16].lower()][style]


def _wrap_b64(raw: bytes) -> str:
    s = base64.b64encode(raw).decode()
    return "\r\n".join(s[i : i + 76] for i in range(0, len(s), 76))


def _encode_body(part: Part) -> tuple[str, str]:
    """(Content-Transfer-Encoding, encoded text) for a leaf part."""
    if isinstance(part.body, str):
        raw = part.body.replace("\r\n", "\n").replace("\n", "\r\n").encode(part.charset or "utf-8", "replace")
    else:
        raw = part.body
    enc = part.encoding or ("base64" if not isinstance(part.body, str) else "8bit")
    if enc == "base64":
        return enc, _wrap_b64(raw)
    if enc == "quoted-printable":
        q = quopri.encodestring(raw.replace(b"\r\n", b"\n")).decode("ascii")
        return enc, q.replace("\n", "\r\n")
    if all(b < 128 for b in raw):
        enc = "7bit"
    return enc, raw.decode(part.charset or "utf-8", "replace")


def _filename_params(name: str, rng: random.Random) -> str:
    if all(ord(c) < 128 for c in name):
        return f'filename="{name}"'
    if rng.random() < 0.5:
        from urllib.parse import quote

        return "filename*=utf-8''" + quote(name.encode("utf-8"))
    return f'filename="{encode_word(name)}"'


def render_part(part: Part, rng: random.Random) -> str:
    lines = []
    if part.children:
        b = part.params.get("boundary") or boundary(rng)
        extra = "".join(f'; {k}="{v}"' if k != "boundary" else "" for k, v in part.params.items())
        lines.append(f'Content-Type: {part.content_type}{extra};\r\n boundary="{b}"')
        lines.append("")
        if rng.random() < 0.3:
            lines.append("This is a multi-part message in MIME format.")
        for child in part.children:
            lines.append(f"--{b}")
            lines.append(render_part(child, rng))
        lines.append(f"--{b}--")
        lines.append("")
        return "\r\n".join(lines)
    ct = part.content_type
    if part.charset:
        ct += f'; charset="{part.charset}"' if rng.random() < 0.5 else f"; charset={part.charset}"
    for k, v in part.params.items():
        ct += f"; {k}={v}"
    if part.filename and not part.content_type.startswith("text/"):
        fn = part.filename
        ct += f'; name="{encode_word(fn)}"' if any(ord(c) > 127 for c in fn) else f'; name="{fn}"'
    lines.append(f"Content-Type: {ct}")
    enc, text = _encode_body(part)
    if not part.content_type.startswith("message/"):
        lines.append(f"Content-Transfer-Encoding: {enc}")
    if part.filename:
        lines.append(f"Content-Disposition: {part.disposition or 'attachment'}; {_filename_params(part.filename, rng)}")
    lines.append("")
    lines.append(text)
    return "\r\n".join(lines)


def message_date(rng: random.Random) -> datetime:
    start = datetime(2025, 9, 1, tzinfo=timezone(timedelta(hours=5)))
    return start + timedelta(minutes=rng.randint(0, 60 * 24 * 240))


def rfc_date(d: datetime) -> str:
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{days[d.weekday()]}, {d.day} {months[d.month - 1]} {d.year} {d:%H:%M:%S} +0500"


def message_id(rng: random.Random, domain: str) -> str:
    hexd = "0123456789abcdef"
    style = rng.randint(0, 2)
    if style == 0:
        core = "-".join("".join(rng.choice(hexd) for _ in range(n)) for n in (8, 4, 4, 4, 12))
    elif style == 1:
        core = "".join(rng.choice(hexd) for _ in range(20)) + "." + str(rng.randint(1000, 9999))
    else:
        core = "CA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(30))
    return f"<{core}@{domain}>"


CLIENTS = [
    ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.4.0"),
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("X-Mailer", "iPhone Mail (21G93)"),
    ("X-Mailer", "Mail.Ru Mailer 1.0"),
    ("User-Agent", "Roundcube Webmail/1.6.9"),
    (None, None),
    (None, None),
]


def headers(
    rng: random.Random,
    *,
    from_: str,
    from_domain: str,
    to: str,
    subject: str,
    date: datetime,
    extra: list[tuple[str, str]] | None = None,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
) -> list[tuple[str, str]]:
    ip = f"{rng.randint(5, 212)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    relay = f"{rng.choice(['mx', 'smtp', 'out', 'mail'])}{rng.randint(1, 9)}.{from_domain}"
    queue = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(11))
    received = rfc_date(date + timedelta(seconds=rng.randint(1, 40)))
    h = []
    if rng.random() < 0.8:
        h.append(("Return-Path", f"<{from_.split('<')[-1].rstrip('>')}>" if "<" in from_ else f"<{from_}>"))
        h.append(("Received", f"from {relay} ({relay} [{ip}])\r\n by mx.nlg.kz (Postfix) with ESMTPS id {queue}\r\n for <info@nlg.kz>; {received}"))
    h.append(("Date", rfc_date(date)))
    h.append(("From", from_))
    h.append(("To", to))
    if reply_to:
        h.append(("Reply-To", reply_to))
    h.append(("Subject", subject))
    h.append(("Message-ID", message_id(rng, from_domain)))
    if in_reply_to:
        h.append(("In-Reply-To", in_reply_to))
        h.append(("References", in_reply_to))
    name, value = rng.choice(CLIENTS)
    if name:
        h.append((name, value))
    h.extend(extra or [])
    h.append(("MIME-Version", "1.0"))
    return h


def render(hdrs: list[tuple[str, str]], root: Part, rng: random.Random) -> bytes:
    head = "\r\n".join(f"{k}: {v}" for k, v in hdrs)
    text = head + "\r\n" + render_part(root, rng)
    if not text.endswith("\r\n"):
        text += "\r\n"
    return text.encode("utf-8")


def html_of(text: str, rng: random.Random, quoted_html: str | None = None) -> str:
    """A plain text as a mail client's HTML: paragraphs or <div>s, <br>, entities."""
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("«", "&laquo;").replace("»", "&raquo;")
    paras = [p for p in text.split("\n\n")]
    style = rng.randint(0, 2)
    if style == 0:
        body = "".join(f"<p>{'<br>'.join(esc(l) for l in p.splitlines())}</p>" for p in paras)
    elif style == 1:
        body = "".join(f"<div>{esc(l) if l else '<br>'}</div>" for p in paras for l in p.splitlines() + [""])
    else:
        body = "<div dir=\"ltr\">" + "<br>".join(esc(l) for l in text.splitlines()) + "</div>"
    if quoted_html:
        body += quoted_html
    head = "<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><style>p{margin:0}</style></head>" if rng.random() < 0.6 else ""
    return f"<html>{head}<body>{body}</body></html>"


def fake_pdf(rng: random.Random) -> bytes:
    body = "".join(rng.choice("0123456789abcdef") for _ in range(rng.randint(60, 160)))
    return f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {body}\n%%EOF\n".encode()


def fake_jpeg(rng: random.Random) -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(rng.randint(0, 255) for _ in range(rng.randint(80, 200))) + b"\xff\xd9"
