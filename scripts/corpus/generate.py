#!/usr/bin/env python3
"""Writes a labelled corpus of mail to info@nlg.kz in the format of the shared corpus README
(NNNN.eml files and labels.jsonl).

    python3 scripts/corpus/generate.py                     # tests/corpus/{train,validation}
    python3 scripts/corpus/generate.py --out DIR --train 2400 --validation 600 --seed 9

The two splits are built from different phrasing families (phrases/*.py keep `train` and
`validation` lists apart: other constructions, greetings, subjects, scenarios), so a reader
trained on one and measured on the other is measured on phrasing it has not seen. Everything
else (names, identifiers, scripts, keyboards, typos, MIME structure) is drawn the same way in
both. Output depends only on the seed and the counts.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import identity  # noqa: E402
import mime  # noqa: E402
import script  # noqa: E402
from mime import Part  # noqa: E402
from phrases import en, grammar, kk, ru  # noqa: E402
from template import expand  # noqa: E402

LANGS = {"kk": kk, "ru": ru, "en": en}
REQUEST_KINDS = ["withdraw_consent", "access", "erasure", "restriction", "rectification", "marketing_opt_out"]

MONTHS = {
    "kk": ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан"],
    "ru": ["январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре", "ноябре", "декабре"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
}
STREETS = ["Абая", "Достык", "Сатпаева", "Толе би", "Жандосова", "Розыбакиева", "Гагарина", "Назарбаева", "Тимирязева"]
CITIES = {"kk": "Алматы қ.", "ru": "г. Алматы", "en": "Almaty"}
GENERIC_SUBJECT = {
    "kk": ["Өтініш", "Сұрау", "Дербес деректер", "", "Маңызды"],
    "ru": ["Обращение", "Заявление", "Персональные данные", "", "Важно"],
    "en": ["Request", "Personal data", "", "Important", "Hello"],
}
OUR = {
    "kk": {
        "subject": ["[DSR-2026-<N>] Өтінішіңіз қабылданды", "[DSR-2026-<N>] Өтінішіңізді растаңыз: <CODE>", "NLG.KZ жаңалықтары: жаңа тарифтер"],
        "ack": "Сәлеметсіз бе! Сіздің сұрауыңызды (DSR-2026-<N>) алдық және заңда белгіленген мерзімде жауап береміз.\n\nNLG.KZ",
        "news": "NLG.KZ жаңалықтары\n\nҚұрметті клиент! Осы айда барлық тарифтерге 15% жеңілдік. Толығырақ nlg.kz сайтында.\n\nХат таратудан бас тарту үшін осы хатқа жауап беріңіз.",
    },
    "ru": {
        "subject": ["[DSR-2026-<N>] Ваше обращение получено", "[DSR-2026-<N>] Подтвердите обращение: <CODE>", "Новости NLG.KZ: новые тарифы"],
        "ack": "Здравствуйте! Мы получили ваш запрос (DSR-2026-<N>) и ответим в срок, установленный законом.\n\nNLG.KZ",
        "news": "Новости NLG.KZ\n\nУважаемый клиент! В этом месяце скидка 15% на все тарифы. Подробнее на nlg.kz.\n\nЧтобы отписаться от рассылки, ответьте на это письмо.",
    },
    "en": {
        "subject": ["[DSR-2026-<N>] We have received your request", "[DSR-2026-<N>] Confirm your request: <CODE>", "NLG.KZ news: new plans"],
        "ack": "Hello! We have received your request (DSR-2026-<N>) and will answer within the time the law allows.\n\nNLG.KZ",
        "news": "NLG.KZ news\n\nDear customer! This month every plan is 15% off. More at nlg.kz.\n\nTo unsubscribe, reply to this email.",
    },
}
# Our confirmation request, as quoted in a subject's reply: what it asks to confirm, per kind.
CONFIRM_ASK = {
    "kk": ("Сәлеметсіз бе! Біз сіздің {what} туралы сұрауыңызды алдық (DSR-2026-<N>). Оны орындау үшін сұрауды сіз жібергеніңізді растаңыз: осы хатқа жауап беріңіз.\n\nNLG.KZ", {
        "withdraw_consent": "келісімді кері қайтарып алу", "access": "дербес деректерге қол жеткізу", "erasure": "дербес деректерді жою",
        "restriction": "дербес деректерді бұғаттау", "rectification": "дербес деректерді өзгерту", "marketing_opt_out": "таратылымнан бас тарту"}),
    "ru": ("Здравствуйте! Мы получили ваш запрос на {what} (DSR-2026-<N>). Чтобы мы могли его выполнить, подтвердите, пожалуйста, что запрос отправили вы: ответьте на это письмо.\n\nNLG.KZ", {
        "withdraw_consent": "отзыв согласия", "access": "доступ к персональным данным", "erasure": "удаление персональных данных",
        "restriction": "блокирование персональных данных", "rectification": "изменение персональных данных", "marketing_opt_out": "отписку от рассылки"}),
    "en": ("Hello! We have received your request for {what} (DSR-2026-<N>). So that we can carry it out, please confirm that you sent it by replying to this email.\n\nNLG.KZ", {
        "withdraw_consent": "withdrawal of consent", "access": "access to your personal data", "erasure": "erasure of your personal data",
        "restriction": "blocking of your personal data", "rectification": "a change to your personal data", "marketing_opt_out": "unsubscribing from our mailing"}),
}
CONFIRM = {
    "kk": {"train": ["Иә, растаймын.", "Растаймын, бұл менің сұрауым.", "Иә, мен жібердім. Растаймын.", "Растаймын."], "validation": ["Бәрі дұрыс, сұрау менікі."]},
    "ru": {"train": ["Да, подтверждаю.", "Подтверждаю, это мой запрос.", "Да, это я отправлял(а). Подтверждаю.", "Подтверждаю запрос."], "validation": ["Всё верно, запрос мой."]},
    "en": {"train": ["Yes, I confirm.", "Confirmed, this is my request.", "Yes, it was me. I confirm.", "I confirm."], "validation": ["That's right, the request is mine."]},
}

COMPANY_SIGNATURE = {
    "kk": "<NAME>\n<ORG>\nБСН <BIN>\nТел.: <PHONE>",
    "ru": "<NAME>\n<ORG>\nБИН <BIN>\nТел.: <PHONE>",
    "en": "<NAME>\n<ORG>\nBIN <BIN>\nPhone: <PHONE>",
}
DOC_REQUEST = {
    "kk": ["№<TICKET> шоттың көшірмесін жіберіңізші.", "Өткен айдағы актіні қайта жібере аласыздар ма?"],
    "ru": ["Пришлите, пожалуйста, копию счёта №<TICKET>.", "Можете ещё раз выслать акт за прошлый месяц?"],
    "en": ["Could you send me a copy of invoice No. <TICKET>?", "Could you resend last month's statement?"],
}
DOC_REQUEST_VALIDATION = {
    "kk": ["Келісімшарттың қол қойылған нұсқасы керек еді, жібересіздер ме?"],
    "ru": ["Мне нужен подписанный экземпляр договора, отправите?"],
    "en": ["I need the signed copy of the contract, could you send it over?"],
}
FORM_LABELS = {
    "kk": ("Аты-жөні", "Телефон", "Хабарлама"),
    "ru": ("Имя", "Телефон", "Сообщение"),
    "en": ("Name", "Phone", "Message"),
}


class Ctx(dict):
    """Template slots, remembering which were used (so labels list only what the text holds)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.used: set[str] = set()

    def __getitem__(self, key):
        self.used.add(key)
        return super().__getitem__(key)


class Generator:
    def __init__(self, split: str, seed: int):
        self.split = split
        self.rng = random.Random(f"dsr-corpus:{seed}:{split}")
        self.emails: set[str] = set()

    # ----- small choices -------------------------------------------------------------------
    def pick(self, table, lang_split=True):
        """One entry of a `{train, validation}` table (or of a plain list)."""
        if isinstance(table, dict) and "train" in table:
            options = table[self.split]
            return self.rng.choice(options)
        return self.rng.choice(table)

    def greeting(self, m) -> str:
        if self.split == "train" and self.rng.random() < 0.4:
            return self.rng.choice(grammar.GREETING[m.LANG])
        return self.pick(m.GREETING)

    def closing(self, m) -> str:
        if self.split == "train" and self.rng.random() < 0.4:
            return self.rng.choice(grammar.CLOSING[m.LANG])
        return self.pick(m.CLOSING)

    def pick_indexed(self, table):
        options = table[self.split]
        i = self.rng.randrange(len(options))
        return i, options[i]

    def date_text(self, lang: str) -> str:
        d, m, y = self.rng.randint(1, 28), self.rng.randint(1, 12), self.rng.choice([2025, 2026])
        if lang == "en" and self.rng.random() < 0.5:
            return f"{d} {MONTHS['en'][m - 1]} {y}"
        return f"{d:02d}.{m:02d}.{y}"

    def context(self, lang: str, sender: identity.Person) -> Ctx:
        rng = self.rng
        other = identity.person(rng, rng.choice(["kk", "ru"]) if lang != "en" else rng.choice(["kk", "ru", "en"]), set())
        child_year = rng.randint(2009, 2016)
        child = identity.person(rng, sender.culture if sender.culture != "en" else "kk", set())
        org, org_domain, bin_ = identity.company(rng)
        domain = org_domain
        new_surname = identity.person(rng, sender.culture, set()).last
        street = rng.choice(STREETS)
        old_email = identity.person(rng, sender.culture, set()).email
        n = f"{rng.randint(1, 999999):06d}"
        code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        return Ctx(
            NAME=sender.full,
            FIRST=sender.first,
            IIN=sender.iin,
            PHONE=identity.render_phone(rng, sender.phone),
            EMAIL=identity.person(rng, "ru", set()).email,
            DATE=self.date_text(lang),
            YEAR=str(rng.randint(2018, 2025)),
            MONTH=rng.choice(MONTHS[lang]),
            TICKET=str(rng.randint(1000, 99999)),
            AMOUNT=f"{rng.randint(10, 900)} {rng.randint(100, 999)}",
            ORG=org,
            ORG_DOMAIN=org_domain,
            BIN=bin_,
            OTHER=other.full,
            OTHER_IIN=other.iin,
            CHILD=f"{child.first} {sender.last}",
            CHILD_IIN=identity.iin(rng, child_year),
            CHILD_AGE=str(2026 - child_year),
            OLD_SURNAME=sender.last,
            NEW_SURNAME=new_surname,
            ADDRESS=f"{CITIES[lang]}, {street} {rng.randint(1, 300)}, {rng.randint(1, 200)}",
            OLD_EMAIL=old_email,
            SUBJ=expand(rng.choice(OUR[lang]["subject"]), rng, {"N": n, "CODE": code}),
            HOST=f"mx{rng.randint(1, 5)}.{domain}",
            N=n,
            CODE=code,
        )

    # ----- text ----------------------------------------------------------------------------
    def join(self, pieces: list[str]) -> str:
        pieces = [p for p in pieces if p]
        sep = self.rng.choices(["\n\n", "\n", " "], [60, 30, 10])[0]
        if sep == " ":
            # One paragraph, but the closing stays on its own lines.
            return " ".join(pieces[:-1]) + "\n\n" + pieces[-1] if len(pieces) > 1 else pieces[0]
        return sep.join(pieces)

    def request_sentence(self, m, kind: str):
        """(family, template) of one request sentence; training also draws on the grammar."""
        if self.split == "train" and self.rng.random() < 0.6:
            return "grammar", self.rng.choice(grammar.GRAMMAR[m.LANG][kind])
        return self.pick_indexed(m.REQUEST[kind])

    def request_text(self, m, kind: str, ctx: Ctx, notes: list[str], *, ident=True, intro=True, also=None) -> str:
        rng = self.rng
        fam, tpl = self.request_sentence(m, kind)
        notes.append(f"{self.split} family {kind}/{m.LANG}#{fam}")
        pieces = [expand(self.greeting(m), rng, ctx)]
        if intro and rng.random() < 0.35:
            pieces.append(expand(self.pick(m.INTRO), rng, ctx))
        pieces.append(expand(tpl, rng, ctx))
        if also:
            pieces.append(expand(self.pick(m.ALSO[also]), rng, ctx))
        if rng.random() < 0.25:
            pieces.append(expand(self.pick(m.REASON), rng, ctx))
        if ident and rng.random() < 0.6:
            pieces.append(expand(self.pick(m.IDENT), rng, ctx))
        pieces.append(expand(self.closing(m), rng, ctx))
        return self.join(pieces)

    def variant(self, lang: str) -> str:
        if lang == "kk":
            return script.kk_variant(self.rng)
        if lang == "ru":
            return script.ru_variant(self.rng)
        return "plain"

    def dress(self, text: str, lang: str, variant: str, notes: list[str]) -> str:
        """Script, keyboard, typos and lookalikes."""
        rng = self.rng
        text = script.apply_variant(text, variant, rng)
        if variant != "plain" and variant != "cyrillic":
            notes.append(variant.replace("_", " "))
        if rng.random() < 0.25:
            text = script.typos(text, rng)
            notes.append("typos")
        if variant == "cyrillic" and rng.random() < 0.06:
            text = script.lookalikes(text, rng)
            notes.append("Latin lookalike letters")
        if rng.random() < 0.08:
            text = script.lowercase_sloppy(text, rng)
            notes.append("chat style")
        return text

    # ----- people and envelopes ------------------------------------------------------------
    def sender(self, lang: str) -> identity.Person:
        culture = lang if lang in ("kk", "ru") else self.rng.choice(["en", "kk", "ru", "en"])
        return identity.person(self.rng, culture, self.emails)

    def display_name(self, p: identity.Person, latin: bool) -> str | None:
        r = self.rng.random()
        if r < 0.15:
            return None
        name = p.full if r < 0.8 else p.first
        return identity.ascii_name(name).title() if latin else name

    # ----- MIME ------------------------------------------------------------------------------
    def charset_for(self, text: str) -> str:
        r = self.rng.random()
        for cs, p in (("windows-1251", 0.12), ("koi8-r", 0.03)):
            if r < p:
                try:
                    text.encode(cs)
                    if any("\u0400" <= c <= "\u04ff" for c in text):
                        return cs
                except UnicodeEncodeError:
                    pass
        return "utf-8"

    def encoding(self) -> str:
        return self.rng.choices(["base64", "quoted-printable", "8bit"], [25, 35, 40])[0]

    def text_parts(self, text: str, notes: list[str], quoted: tuple[str, str] | None = None, html_only=None) -> Part:
        """The body as text/plain, multipart/alternative or HTML only; `quoted` is (header, text)."""
        rng = self.rng
        style = html_only or rng.choices(["plain", "alternative", "html"], [66, 20, 14])[0]
        plain = text
        if quoted:
            head, qtext = quoted
            if head.startswith("-----") or head.startswith("----------"):
                plain = text + "\n\n" + head + "\n\n" + qtext
            else:
                plain = text + "\n\n" + head + "\n" + "\n".join("> " + line if line else ">" for line in qtext.splitlines())
        charset = self.charset_for(plain)
        plain_part = Part("text/plain", plain, charset=charset, encoding=self.encoding())
        if style == "plain":
            return plain_part
        qhtml = None
        if quoted:
            head, qtext = quoted
            qhtml = f"<div>{head.replace(chr(10), '<br>').replace('<', '&lt;').replace('>', '&gt;')}</div><blockquote>" + "<br>".join(
                line.replace("<", "&lt;").replace(">", "&gt;") for line in qtext.splitlines()
            ) + "</blockquote>"
        html = mime.html_of(text, rng, qhtml)
        html_part = Part("text/html", html, charset="utf-8", encoding=rng.choice(["base64", "quoted-printable"]))
        if style == "html":
            notes.append("HTML only")
            return html_part
        return Part("multipart/alternative", "", children=[plain_part, html_part])

    def with_attachments(self, root: Part, files: list[tuple[str, str, bytes]]) -> Part:
        if not files:
            return root
        children = [root] + [Part(ct, data, filename=name) for name, ct, data in files]
        return Part("multipart/mixed", "", children=children)

    def envelope(self, p: identity.Person, subject: str, latin: bool, **kw):
        rng = self.rng
        from_ = mime.address(self.display_name(p, latin), p.email, rng)
        to = rng.choice(["info@nlg.kz", "NLG.KZ <info@nlg.kz>", "<info@nlg.kz>"])
        subj = mime.encode_word(subject, "utf-8", rng.random() < 0.7) if subject else ""
        return mime.headers(rng, from_=from_, from_domain=p.email.split("@")[1], to=to, subject=subj, date=mime.message_date(rng), **kw)

    # ----- scenarios -------------------------------------------------------------------------
    def human_langs(self) -> tuple[str, list[str]]:
        r = self.rng.random()
        if r < 0.36:
            return "kk", ["kk"]
        if r < 0.68:
            return "ru", ["ru"]
        if r < 0.87:
            return "en", ["en"]
        pair = self.rng.choices([["kk", "ru"], ["ru", "en"], ["kk", "en"]], [60, 25, 15])[0]
        self.rng.shuffle(pair)
        return "mixed", pair

    def label(self, kind, *, also=(), review=False, reply=None, language, iin=(), bin_=(), phones=(), notes=()):
        if reply is None:
            reply = kind in REQUEST_KINDS
        return {
            "kind": kind,
            "also": list(also),
            "review": review,
            "reply": reply,
            "language": language,
            "iin": list(iin),
            "bin": list(bin_),
            "phones": list(phones),
            "note": "; ".join(notes),
        }

    def identifiers(self, ctx: Ctx, sender: identity.Person, invalid: bool):
        iin = [sender.iin] if "IIN" in ctx.used and not invalid else []
        phones = [sender.phone] if "PHONE" in ctx.used else []
        return iin, phones

    def request_message(self):
        """A data-subject request written by the subject, for themselves."""
        rng = self.rng
        label_lang, langs = self.human_langs()
        kind = rng.choices(REQUEST_KINDS, [19, 19, 20, 14, 13, 15])[0]
        sender = self.sender(langs[0])
        ctx = self.context(langs[0], sender)
        notes = [f"{label_lang} {kind} by the subject"]
        invalid = rng.random() < 0.04
        if invalid:
            ctx["IIN"] = identity.invalid_iin(rng)
            ctx.used.discard("IIN")
            notes.append("IIN with a wrong check digit (not labelled)")
        also = None
        partial = None
        if rng.random() < 0.12:
            also = rng.choice([k for k in ALSO_OK[kind]])
            notes.append(f"second intent {also}")
        elif rng.random() < 0.05:
            partial = self.pick(LANGS[langs[0]].PARTIAL)
            kind = partial[0]
            notes.append("partial or oblique request")
        latin_mode = rng.random() < 0.3
        variants = {}
        texts = []
        for i, lang in enumerate(langs):
            variants[lang] = self.variant(lang)
            if len(langs) > 1 and latin_mode:
                variants[lang] = {"kk": "latin_ascii", "ru": "translit", "en": "plain"}[lang]
        m = LANGS[langs[0]]
        if partial:
            text = self.join([expand(self.greeting(m), rng, ctx), partial[1], expand(self.closing(m), rng, ctx)])
            text = self.dress(text, langs[0], variants[langs[0]], notes)
        elif len(langs) == 1:
            text = self.request_text(m, kind, ctx, notes, also=also)
            text = self.dress(text, langs[0], variants[langs[0]], notes)
        else:
            a, b = (LANGS[x] for x in langs)
            _, req_b = self.request_sentence(b, kind)
            first = [expand(self.greeting(a), rng, ctx)]
            if rng.random() < 0.5:
                first.append(expand(self.request_sentence(a, kind)[1], rng, ctx))
            else:
                first.append(expand(self.pick(a.INTRO), rng, ctx))
            second = [expand(req_b, rng, ctx)]
            if also:
                second.append(expand(self.pick(b.ALSO[also]), rng, ctx))
            if rng.random() < 0.6:
                second.append(expand(self.pick(b.IDENT), rng, ctx))
            second.append(expand(self.closing(rng.choice([a, b])), rng, ctx))
            text = self.dress(self.join(first), langs[0], variants[langs[0]], notes) + "\n\n" + self.dress(self.join(second), langs[1], variants[langs[1]], notes)
            notes.append(f"{langs[0]} then {langs[1]}")
        subj_lang = langs[0]
        sm = LANGS[subj_lang]
        if rng.random() < 0.8:
            subject = self.pick(sm.SUBJECT[kind])
        else:
            subject = rng.choice(GENERIC_SUBJECT[subj_lang])
        subject = script.apply_variant(subject, variants[subj_lang], rng)
        quoted = None
        in_reply_to = None
        if rng.random() < 0.08:
            # Writing again in the thread of our acknowledgement (adding details, insisting).
            ql = langs[0]
            quoted = (expand(rng.choice(LANGS[ql].QUOTE_HEADER), rng, Ctx(ctx, QNAME="NLG.KZ", QEMAIL="info@nlg.kz")), expand(OUR[ql]["ack"], rng, {"N": ctx["N"]}))
            subject = "Re: " + expand(OUR[ql]["subject"][0], rng, {"N": ctx["N"], "CODE": ctx["CODE"]})
            in_reply_to = mime.message_id(rng, "nlg.kz")
            notes.append("written in the thread of our acknowledgement")
        elif rng.random() < 0.1:
            # Replying to our newsletter: the quoted mail is ours and says nothing of the request.
            ql = rng.choice(langs)
            quoted = (expand(rng.choice(LANGS[ql].QUOTE_HEADER), rng, Ctx(ctx, QNAME="NLG.KZ", QEMAIL="info@nlg.kz")), OUR[ql]["news"])
            subject = "Re: " + expand(OUR[ql]["subject"][2], rng, {"N": ctx["N"], "CODE": ctx["CODE"]})
            in_reply_to = mime.message_id(rng, "nlg.kz")
            notes.append("reply quoting our newsletter")
        files = []
        if rng.random() < 0.1:
            name = rng.choice(["udostoverenie.jpg", "скан_удостоверения.jpg", "id_card.jpg", "IMG_2041.jpg", "жеке_куәлік.jpg"])
            files.append((name, "image/jpeg", mime.fake_jpeg(rng)))
            notes.append("ID scan attached")
        root = self.text_parts(text, notes, quoted)
        root = self.with_attachments(root, files)
        iin, phones = self.identifiers(ctx, sender, invalid)
        hdrs = self.envelope(sender, subject, variants[langs[0]] in ("latin_2021", "latin_ascii", "translit"), in_reply_to=in_reply_to)
        also_list = [also] if also else []
        if partial and kind == "restriction":
            also_list = ["withdraw_consent"]
        return mime.render(hdrs, root, rng), self.label(kind, also=also_list, language=label_lang, iin=iin, phones=phones, notes=notes)

    def review_message(self):
        """A request a careful person would not carry out alone."""
        rng = self.rng
        label_lang, langs = self.human_langs()
        lang = langs[0]
        m = LANGS[lang]
        sender = self.sender(lang)
        ctx = self.context(lang, sender)
        notes = []
        scenario = rng.choices(
            ["child", "spouse", "lawyer", "heir", "employer", "police", "new_address", "debt", "dispute", "conflict", "change_iin", "threat", "quoted_only", "forwarded", "attachment_only", "form"],
            [9, 7, 7, 6, 6, 6, 6, 8, 5, 5, 3, 4, 8, 6, 6, 4],
        )[0]
        variant = self.variant(lang)
        files = []
        quoted = None
        also: list[str] = []
        reply_to = None
        iin: list[str] = []
        phones: list[str] = []
        sender_email_override = None
        if scenario in m.REVIEW and self.split == "train" and scenario in ("child", "spouse", "lawyer", "heir") and rng.random() < 0.5:
            frames, acts = grammar.ON_BEHALF[lang]
            kind = rng.choice(list(acts))
            body = expand(rng.choice(frames).replace("<ACT>", acts[kind]), rng, ctx)
            pieces = [expand(self.greeting(m), rng, ctx), body, expand(self.closing(m), rng, ctx)]
            text = self.dress(self.join(pieces), lang, variant, notes)
            subject = self.pick(m.SUBJECT[kind]) if rng.random() < 0.6 else rng.choice(GENERIC_SUBJECT[lang])
            notes.insert(0, f"{label_lang} {kind}: written for another person (grammar)")
        elif scenario in m.REVIEW:
            kind, tpl = self.pick(m.REVIEW[scenario])
            body = expand(tpl, rng, ctx)
            pieces = [expand(self.greeting(m), rng, ctx), body]
            if len(langs) > 1:
                # The other language carries a whole sentence of context, not just a word.
                b = LANGS[langs[1]]
                pieces.insert(1, expand(self.pick(b.INTRO), rng, ctx))
                notes.append(f"{langs[1]} context sentence")
            elif scenario not in ("police", "lawyer", "employer", "child", "change_iin") and rng.random() < 0.5:
                pieces.append(expand(self.pick(m.IDENT), rng, ctx))
            pieces.append(expand(self.closing(m), rng, ctx))
            text = self.dress(self.join(pieces), lang, variant, notes)
            subject = self.pick(m.SUBJECT[kind]) if kind in m.SUBJECT and rng.random() < 0.7 else rng.choice(GENERIC_SUBJECT[lang])
            if scenario == "threat":
                also = ["restriction", "erasure"]
            if scenario == "police":
                sender_email_override = f"{identity.ascii_name(sender.last)}.{rng.choice(['police', 'mvd', 'investigator'])}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'mail.ru', 'inbox.kz'])}"
            iin, phones = self.identifiers(ctx, sender, False)
            notes.insert(0, f"{label_lang} {kind}: {SCENARIO_NOTES[scenario]}")
        elif scenario == "quoted_only":
            kind = rng.choice(["erasure", "withdraw_consent", "restriction", "access"])
            docs = (DOC_REQUEST if self.split == "train" else DOC_REQUEST_VALIDATION)[lang]
            own = self.join([expand(self.greeting(m), rng, ctx), expand(rng.choice(docs), rng, ctx), expand(self.closing(m), rng, ctx)])
            own_used = set(ctx.used)
            earlier_notes: list[str] = []
            earlier = self.request_text(m, kind, ctx, earlier_notes, ident=False)
            text = self.dress(own, lang, variant, notes)
            quoted = (expand(rng.choice(m.QUOTE_HEADER), rng, Ctx(ctx, QNAME=sender.full, QEMAIL=sender.email)), self.dress(earlier, lang, variant, []))
            subject = "Re: " + self.pick(m.SUBJECT[kind])
            also = ["not_a_request"]
            notes.insert(0, f"{label_lang} {kind} only in the quoted earlier message; the new text asks for a document")
            phones = [sender.phone] if "PHONE" in own_used else []
        elif scenario == "forwarded":
            kind = rng.choice(["erasure", "withdraw_consent", "access", "restriction"])
            other = identity.person(rng, sender.culture, set())
            octx = self.context(lang, other)
            inner_notes: list[str] = []
            inner = self.request_text(m, kind, octx, inner_notes, ident=True)
            head = expand(m.FORWARD_HEADER, rng, Ctx(ctx, QNAME=other.full, QEMAIL=other.email, SUBJ=self.pick(m.SUBJECT[kind])))
            note = expand(self.pick(m.FORWARD_NOTE), rng, ctx)
            text = self.dress(note + "\n\n" + expand(self.closing(m), rng, ctx), lang, variant, notes) + "\n\n" + head + "\n\n" + self.dress(inner, lang, variant, [])
            subject = rng.choice(["Fwd: ", "Fw: ", "Пересл.: " if lang == "ru" else "Fwd: "]) + self.pick(m.SUBJECT[kind])
            notes.insert(0, f"{label_lang} {kind} forwarded from another person")
        elif scenario == "attachment_only":
            kind = rng.choice(["withdraw_consent", "erasure", "access", "restriction", "rectification"])
            text = self.dress(self.pick(m.ATTACHMENT_ONLY), lang, variant, notes)
            files.append((m.ATTACHMENT_NAMES[kind], "application/pdf", mime.fake_pdf(rng)))
            subject = rng.choice(GENERIC_SUBJECT[lang])
            notes.insert(0, f"{label_lang} {kind} only in an attached application")
        else:  # website form: sent by the site, the subject's address only in Reply-To
            kind = rng.choice(["erasure", "withdraw_consent", "access"])
            labels = FORM_LABELS[lang]
            fam, tpl = self.pick_indexed(m.REQUEST[kind])
            text = f"{labels[0]}\t{sender.full}\n{labels[1]}\t{ctx['PHONE']}\n{labels[2]}\t{expand(tpl, rng, ctx)}"
            text = self.dress(text, lang, variant, notes)
            subject = {"kk": "Сайттан жаңа хабарлама", "ru": "Новое сообщение с сайта", "en": "New message from the website"}[lang]
            reply_to = sender.email
            phones = [sender.phone]
            notes.insert(0, f"{label_lang} {kind} through the website form (sender not verified by the mail)")
        root = self.text_parts(text, notes, quoted)
        root = self.with_attachments(root, files)
        person = sender
        if sender_email_override:
            person = identity.Person(sender.first, sender.last, sender.female, sender.culture, sender_email_override, sender.iin, sender.phone, sender.born)
        if scenario == "form":
            site = identity.Person("NLG.KZ", "", False, "en", "website@nlg.kz", "", "", 0)
            hdrs = self.envelope(site, subject, True, reply_to=reply_to)
        else:
            hdrs = self.envelope(person, subject, variant in ("latin_2021", "latin_ascii", "translit"))
        reply = scenario != "threat"
        return mime.render(hdrs, root, rng), self.label(kind, also=also, review=True, reply=reply, language=label_lang, iin=iin, phones=phones, notes=notes)

    def business_message(self):
        rng = self.rng
        label_lang, langs = self.human_langs()
        lang = langs[0]
        m = LANGS[lang]
        topic = rng.choice(list(m.BUSINESS))
        sender = self.sender(lang)
        ctx = self.context(lang, sender)
        notes = [f"{label_lang} not a request: {topic}"]
        variant = self.variant(lang) if topic in ("support", "thanks", "howto", "organiser_optout") else "cyrillic"
        if self.split == "train" and rng.random() < 0.35:
            topic = "grammar"
            body = expand(rng.choice(grammar.NOT_A_REQUEST[lang]), rng, ctx)
            notes[0] = f"{label_lang} not a request: request words about something else (grammar)"
            variant = self.variant(lang)
        else:
            body = expand(self.pick(m.BUSINESS[topic]), rng, ctx)
        pieces = [expand(self.greeting(m), rng, ctx), body]
        bin_: list[str] = []
        phones: list[str] = []
        if len(langs) > 1:
            b = LANGS[langs[1]]
            other_topic = topic if topic in b.BUSINESS else rng.choice(["offer", "support", "invoice"])
            pieces.append(expand(self.pick(b.BUSINESS[other_topic]), rng, ctx))
        company_mail = topic in ("invoice", "offer", "meeting") and rng.random() < 0.6
        if company_mail:
            pieces.append(expand(COMPANY_SIGNATURE[lang], rng, ctx))
            bin_ = [ctx["BIN"]]
        else:
            pieces.append(expand(self.closing(m), rng, ctx))
        text = self.dress(self.join(pieces), lang, variant, notes)
        if "PHONE" in ctx.used:
            phones = [sender.phone]
        subject = rng.choice(m.BUSINESS_SUBJECT.get(topic) or m.BUSINESS_SUBJECT["support"] + m.BUSINESS_SUBJECT["howto"] + m.BUSINESS_SUBJECT["invoice"])
        files = []
        if topic in ("invoice", "job") and rng.random() < 0.6:
            fname = {"invoice": rng.choice(["invoice.pdf", "счет.pdf", "akt_sverki.pdf", "шот.pdf"]), "job": rng.choice(["CV.pdf", "резюме.pdf", "түйіндеме.pdf", "resume.docx"])}[topic]
            files.append((fname, "application/pdf", mime.fake_pdf(rng)))
            notes.append("attachment")
        quoted = None
        if topic in ("invoice", "meeting", "offer", "support", "bug_fix") and rng.random() < 0.25:
            qctx = Ctx(ctx, QNAME=rng.choice(["NLG.KZ", ctx["OTHER"]]), QEMAIL=rng.choice(["info@nlg.kz", "office@nlg.kz"]))
            quoted = (expand(rng.choice(m.QUOTE_HEADER), rng, qctx), expand(self.pick(m.BUSINESS[rng.choice(["invoice", "meeting", "offer"])]), rng, ctx))
            subject = "Re: " + subject
            notes.append("quoted earlier business mail")
        root = self.with_attachments(self.text_parts(text, notes, quoted), files)
        if company_mail:
            domain = ctx["ORG_DOMAIN"]
            person = identity.Person(sender.first, sender.last, sender.female, sender.culture, f"{identity.ascii_name(sender.first)}@{domain}", "", sender.phone, 0)
        else:
            person = sender
        extra = []
        if topic in ("spam", "offer", "pitch") and rng.random() < 0.4:
            extra = [("List-Unsubscribe", f"<mailto:unsubscribe@{person.email.split('@')[1]}>"), ("Precedence", "bulk")]
            notes.append("bulk headers")
        hdrs = self.envelope(person, subject, variant in ("latin_2021", "latin_ascii", "translit"), extra=extra)
        also, review = [], False
        if topic == "howto":
            review = None
            notes.append("asks how, makes no request")
        if topic == "organiser_optout":
            review = None
            notes.append("reply-all to a third-party organiser")
        return mime.render(hdrs, root, rng), self.label("not_a_request", also=also, review=review, reply=False, language=label_lang, bin_=bin_, phones=phones, notes=notes)

    def automatic_message(self):
        rng = self.rng
        lang = rng.choices(["kk", "ru", "en"], [30, 40, 30])[0]
        m = LANGS[lang]
        sender = self.sender(lang)
        ctx = self.context(lang, sender)
        sort = rng.choices(["ooo", "ticket", "mdn"], [45, 30, 25])[0]
        notes = [f"{lang} automatic: {sort}"]
        text = expand(self.pick(m.AUTO[sort]), rng, ctx)
        subject = expand(rng.choice(m.AUTO_SUBJECT[sort]), rng, ctx)
        extra = []
        our_id = mime.message_id(rng, "nlg.kz")
        person = sender
        if sort == "ooo":
            r = rng.random()
            if r < 0.55:
                extra.append(("Auto-Submitted", "auto-replied"))
            elif r < 0.7:
                extra.append(("X-Autoreply", "yes"))
            else:
                notes.append("no automatic-mail header")
            text = text + "\n\n" + sender.full
            root = self.text_parts(text, notes)
        elif sort == "ticket":
            _, domain, _ = identity.company(rng)
            person = identity.Person("Support", "", False, "en", rng.choice(["support", "helpdesk", "noreply", "servicedesk"]) + "@" + domain, "", "", 0)
            r = rng.random()
            if r < 0.5:
                extra.append(("Auto-Submitted", "auto-generated"))
            elif r < 0.7:
                extra.append(("Precedence", "bulk"))
            else:
                notes.append("no automatic-mail header")
            root = self.text_parts(text, notes)
        else:
            if rng.random() < 0.7:
                report = (
                    f"Reporting-UA: {person.email.split('@')[1]}; Mail client\r\n"
                    f"Final-Recipient: rfc822;{person.email}\r\n"
                    f"Original-Message-ID: {our_id}\r\n"
                    "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
                )
                root = Part(
                    "multipart/report",
                    "",
                    params={"report-type": "disposition-notification"},
                    children=[Part("text/plain", text, charset="utf-8", encoding=self.encoding()), Part("message/disposition-notification", report)],
                )
                notes.append("multipart/report")
            else:
                root = self.text_parts(text, notes, html_only="plain")
                notes.append("no multipart/report")
        hdrs = self.envelope(person, subject, False, extra=extra, in_reply_to=our_id)
        return mime.render(hdrs, root, rng), self.label("auto_reply", review=False, reply=False, language=lang, notes=notes)

    def bounce_message(self):
        rng = self.rng
        lang = rng.choices(["kk", "ru", "en"], [25, 35, 40])[0]
        m = LANGS[lang]
        sender = self.sender(lang)
        ctx = self.context(lang, sender)
        notes = [f"{lang} bounce of our reply"]
        human = expand(self.pick(m.BOUNCE), rng, ctx)
        host = ctx["HOST"]
        our_subject = ctx["SUBJ"]
        our = (
            f"From: NLG.KZ <info@nlg.kz>\r\nTo: {ctx['EMAIL']}\r\nSubject: {mime.encode_word(our_subject)}\r\n"
            f"Message-ID: {mime.message_id(rng, 'nlg.kz')}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{expand(OUR[lang]['ack'], rng, {'N': ctx['N']})}\r\n"
        )
        status = rng.choice([("5.1.1", "550 5.1.1 user unknown"), ("5.2.2", "552 5.2.2 mailbox full"), ("4.4.7", "delivery time expired")])
        daemon = rng.choice([f"MAILER-DAEMON@{host}", f"postmaster@{host.split('.', 1)[1]}", "mailer-daemon@googlemail.com"])
        person = identity.Person("Mail Delivery System", "", False, "en", daemon, "", "", 0)
        subject = expand(rng.choice(m.BOUNCE_SUBJECT + en.BOUNCE_SUBJECT[:1]), rng, ctx)
        if rng.random() < 0.7:
            dsn = (
                f"Reporting-MTA: dns; {host}\r\n\r\nFinal-Recipient: rfc822; {ctx['EMAIL']}\r\n"
                f"Action: failed\r\nStatus: {status[0]}\r\nDiagnostic-Code: smtp; {status[1]}\r\n"
            )
            tail = Part("message/rfc822", our) if rng.random() < 0.6 else Part("text/rfc822-headers", our.split("\r\n\r\n")[0] + "\r\n")
            root = Part(
                "multipart/report",
                "",
                params={"report-type": "delivery-status"},
                children=[Part("text/plain", human, charset="utf-8", encoding=self.encoding()), Part("message/delivery-status", dsn), tail],
            )
            notes.append("multipart/report")
        else:
            text = human + f"\n\n{status[1]}\n\n------ This is a copy of the message, including all the headers. ------\n\n" + our.replace("\r\n", "\n")
            root = Part("text/plain", text, charset="utf-8", encoding=self.encoding())
            notes.append("plain-text delivery report, original inline")
        hdrs = self.envelope(person, subject, True, extra=[("Auto-Submitted", "auto-replied")] if rng.random() < 0.5 else [])
        return mime.render(hdrs, root, rng), self.label("bounce", review=False, reply=False, language=lang, notes=notes)

    def confirmation_message(self):
        """A subject confirming the request our confirmation e-mail quotes."""
        rng = self.rng
        lang = rng.choices(["kk", "ru", "en"], [36, 40, 24])[0]
        m = LANGS[lang]
        kind = rng.choice(REQUEST_KINDS)
        sender = self.sender(lang)
        ctx = self.context(lang, sender)
        notes = [f"{lang} {kind}: confirms the request our e-mail quotes"]
        variant = self.variant(lang)
        text = self.join([expand(self.greeting(m), rng, ctx) if rng.random() < 0.4 else "", self.pick(CONFIRM[lang]), expand(self.closing(m), rng, ctx)])
        text = self.dress(text, lang, variant, notes)
        ask, what = CONFIRM_ASK[lang]
        quoted = (expand(rng.choice(m.QUOTE_HEADER), rng, Ctx(ctx, QNAME="NLG.KZ", QEMAIL="info@nlg.kz")), expand(ask.replace("{what}", what[kind]), rng, {"N": ctx["N"], "CODE": ctx["CODE"]}))
        subject = "Re: " + expand(OUR[lang]["subject"][rng.choice([0, 1])], rng, {"N": ctx["N"], "CODE": ctx["CODE"]})
        root = self.text_parts(text, notes, quoted)
        hdrs = self.envelope(sender, subject, variant in ("latin_2021", "latin_ascii", "translit"), in_reply_to=mime.message_id(rng, "nlg.kz"))
        iin, phones = self.identifiers(ctx, sender, False)
        return mime.render(hdrs, root, rng), self.label(kind, language=lang, iin=iin, phones=phones, notes=notes)

    def message(self):
        r = self.rng.random()
        if r < 0.03:
            return self.confirmation_message()
        if r < 0.46:
            return self.request_message()
        if r < 0.64:
            return self.review_message()
        if r < 0.86:
            return self.business_message()
        if r < 0.95:
            return self.automatic_message()
        return self.bounce_message()


ALSO_OK = {
    "withdraw_consent": ["marketing_opt_out", "erasure"],
    "access": ["erasure", "marketing_opt_out"],
    "erasure": ["marketing_opt_out", "withdraw_consent"],
    "restriction": ["marketing_opt_out"],
    "rectification": ["marketing_opt_out"],
    "marketing_opt_out": ["withdraw_consent"],
}

SCENARIO_NOTES = {
    "child": "a parent for a minor child (two IINs; only the parent's is the sender's)",
    "spouse": "written for a spouse",
    "lawyer": "a representative under a power of attorney",
    "heir": "for a deceased relative",
    "employer": "an employer for an employee",
    "police": "a claimed police request from a free mailbox about a third person",
    "new_address": "from another address than the account's",
    "debt": "unpaid invoice or active contract (art. 8(2))",
    "dispute": "the sender disputes a request made in their name",
    "conflict": "asks to delete and to keep",
    "change_iin": "asks to change an IIN",
    "threat": "an angry complaint with a threat and no explicit demand",
}


def write(out: Path, split: str, count: int, seed: int) -> None:
    gen = Generator(split, seed)
    target = out / split
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with open(target / "labels.jsonl", "w", encoding="utf-8") as labels:
        for i in range(1, count + 1):
            raw, label = gen.message()
            name = f"{i:04d}.eml"
            (target / name).write_bytes(raw)
            labels.write(json.dumps({"file": name, **label}, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "tests" / "corpus")
    ap.add_argument("--train", type=int, default=3200)
    ap.add_argument("--validation", type=int, default=600)
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args()
    write(args.out, "train", args.train, args.seed)
    write(args.out, "validation", args.validation, args.seed)
    print(f"wrote {args.train} training and {args.validation} validation messages under {args.out}")


if __name__ == "__main__":
    main()
