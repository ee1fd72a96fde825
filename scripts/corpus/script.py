"""How the same words reach the mailbox: scripts, keyboards and slips of the hand.

Kazakh is written in Cyrillic, typed on a Russian keyboard (Kazakh letters replaced by their
Russian neighbours, `і` by a Latin `i`), written in the 2021 Latin alphabet, or in Latin
without Kazakh letters. Russian arrives in Cyrillic or in translit. Any text may carry typos
and Latin lookalike letters pasted from PDFs.
"""

from __future__ import annotations

import random

KK_TO_RU_KEYBOARD = {
    "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х",
}

# Kazakh Latin, 2021 alphabet (lower case; upper case is derived).
KK_LATIN_2021 = {
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io",
    "ж": "j", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "ñ", "о": "o", "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū",
    "ү": "ü", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "ş", "щ": "şş",
    "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}

# Latin typed without Kazakh letters: two habits seen in chats.
KK_ASCII_STYLES = [
    {"ä": "a", "ğ": "g", "ñ": "n", "ö": "o", "ū": "u", "ü": "u", "ş": "sh", "j": "zh"},
    {"ä": "a", "ğ": "gh", "ñ": "ng", "ö": "o", "ū": "u", "ü": "u", "ş": "sh", "q": "k"},
]

RU_TRANSLIT_STYLES = [
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
        "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
        "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    },
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "j",
        "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
        "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch",
        "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "ь": "'", "э": "e", "ю": "yu", "я": "ya",
    },
]

# Latin letters that look like Cyrillic ones (PDF paste, mixed keyboards).
LOOKALIKES = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "і": "i", "ә": "ə"}


def _map(text: str, table: dict[str, str]) -> str:
    out = []
    for c in text:
        low = c.lower()
        if low in table:
            rep = table[low]
            if c != low and rep:
                rep = rep[0].upper() + rep[1:]
            out.append(rep)
        else:
            out.append(c)
    return "".join(out)


def kk_russian_keyboard(text: str, rng: random.Random) -> str:
    i_as = rng.choice(["i", "и", "і"])
    return _map(text, dict(KK_TO_RU_KEYBOARD, **{"і": i_as}))


def kk_latin_2021(text: str) -> str:
    return _map(text, KK_LATIN_2021)


def kk_latin_ascii(text: str, rng: random.Random) -> str:
    return _map(kk_latin_2021(text), rng.choice(KK_ASCII_STYLES))


def ru_translit(text: str, rng: random.Random) -> str:
    return _map(text, rng.choice(RU_TRANSLIT_STYLES))


def lookalikes(text: str, rng: random.Random, rate: float = 0.08) -> str:
    return "".join(
        LOOKALIKES[c] if c in LOOKALIKES and rng.random() < rate else c for c in text
    )


def typos(text: str, rng: random.Random, rate: float = 0.04) -> str:
    """Drops, doubles or swaps a letter in about `rate` of the longer words."""
    words = text.split(" ")
    out = []
    for w in words:
        if len(w) > 4 and w.isalpha() and rng.random() < rate:
            i = rng.randint(1, len(w) - 2)
            op = rng.randint(0, 2)
            if op == 0:
                w = w[:i] + w[i + 1 :]
            elif op == 1:
                w = w[:i] + w[i] + w[i:]
            else:
                w = w[: i - 1] + w[i] + w[i - 1] + w[i + 1 :]
        out.append(w)
    return " ".join(out)


def lowercase_sloppy(text: str, rng: random.Random) -> str:
    """Chat style: no capitals, fewer full stops."""
    text = text.lower()
    if rng.random() < 0.5:
        text = text.replace(".", "")
    return text


def kk_variant(rng: random.Random) -> str:
    return rng.choices(
        ["cyrillic", "russian_keyboard", "latin_2021", "latin_ascii"], [50, 20, 15, 15]
    )[0]


def ru_variant(rng: random.Random) -> str:
    return rng.choices(["cyrillic", "translit"], [82, 18])[0]


def apply_variant(text: str, variant: str, rng: random.Random) -> str:
    if variant == "russian_keyboard":
        return kk_russian_keyboard(text, rng)
    if variant == "latin_2021":
        return kk_latin_2021(text)
    if variant == "latin_ascii":
        return kk_latin_ascii(text, rng)
    if variant == "translit":
        return ru_translit(text, rng)
    return text
