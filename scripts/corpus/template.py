"""A tiny template language for phrasing families.

    {a|b|c}   one alternative, chosen at random
    [x]       optional: x or nothing (even odds)
    <SLOT>    a value from the context dictionary (names, numbers, services)

Alternatives and options nest. Expansion takes a `random.Random`, so a seed fixes the output.
"""

from __future__ import annotations

import random
import re


class Template:
    """A parsed template: a sequence of text, choice, option and slot nodes."""

    def __init__(self, source: str):
        self.source = source
        self.nodes, end = _parse(source, 0, None)
        if end != len(source):
            raise ValueError(f"unbalanced template: {source!r}")

    def expand(self, rng: random.Random, ctx: dict[str, str]) -> str:
        return _tidy(_expand(self.nodes, rng, ctx))


def expand(source: str, rng: random.Random, ctx: dict[str, str] | None = None) -> str:
    return Template(source).expand(rng, ctx or {})


def _parse(s: str, i: int, closer: str | None):
    """Parses until `closer` (or the end); returns (alternatives-or-nodes, index after)."""
    alternatives: list[list] = [[]]
    buf = []

    def flush():
        if buf:
            alternatives[-1].append(("text", "".join(buf)))
            buf.clear()

    while i < len(s):
        c = s[i]
        if c == "{":
            flush()
            alts, i = _parse(s, i + 1, "}")
            alternatives[-1].append(("choice", alts))
            continue
        if c == "[":
            flush()
            alts, i = _parse(s, i + 1, "]")
            alternatives[-1].append(("option", alts))
            continue
        if c == "<":
            j = s.find(">", i)
            name = s[i + 1 : j]
            if j > i and re.fullmatch(r"[A-Z_0-9]+", name):
                flush()
                alternatives[-1].append(("slot", name))
                i = j + 1
                continue
        if closer and c == closer:
            flush()
            return alternatives, i + 1
        if c == "|" and closer:
            flush()
            alternatives.append([])
            i += 1
            continue
        buf.append(c)
        i += 1
    flush()
    if closer:
        raise ValueError(f"missing {closer!r} in template: {s!r}")
    return alternatives[0], i


def _expand(nodes, rng, ctx) -> str:
    out = []
    for kind, value in nodes:
        if kind == "text":
            out.append(value)
        elif kind == "slot":
            if value not in ctx:
                raise KeyError(f"template slot <{value}> has no value")
            out.append(ctx[value])
        elif kind == "choice":
            out.append(_expand(rng.choice(value), rng, ctx))
        elif kind == "option":
            if rng.random() < 0.5:
                out.append(_expand(rng.choice(value), rng, ctx))
    return "".join(out)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.!?;:])", r"\1", text)
    text = re.sub(r"\n ", "\n", text)
    return text.strip()
