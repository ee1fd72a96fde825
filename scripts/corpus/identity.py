"""Invented people, companies and their identifiers: names, addresses, IINs, BINs, phones.

IINs and BINs carry the real check digit (weights 1..11 modulo 11, then 3..11,1,2 when the first
sum gives 10), the same rule as src/domain/iin.rs, so the worker accepts them as valid.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

KK_MALE = [
    "Ерлан", "Асхат", "Бауыржан", "Дәурен", "Ержан", "Жандос", "Қанат", "Мұрат", "Нұрсұлтан",
    "Серік", "Талғат", "Әділет", "Абзал", "Арман", "Бекзат", "Ғалым", "Дархан", "Еламан",
    "Жасұлан", "Ілияс", "Мейіржан", "Олжас", "Рүстем", "Санжар", "Темірлан", "Ұлан", "Шыңғыс",
]
KK_FEMALE = [
    "Айгүл", "Ақмарал", "Балжан", "Гүлнар", "Динара", "Жанар", "Зарина", "Қарлығаш", "Ләззат",
    "Мадина", "Нұргүл", "Сәуле", "Талшын", "Ұлжан", "Әсел", "Аружан", "Дана", "Еңлік", "Жұлдыз",
    "Көркем", "Меруерт", "Назерке", "Райхан", "Самал", "Томирис", "Фариза", "Шолпан",
]
KK_SURNAMES = [
    "Серікбаев", "Жұмабеков", "Омаров", "Нұрланов", "Әбенов", "Қасымов", "Тоқтаров", "Байжанов",
    "Ермеков", "Сәрсенбаев", "Мұхамеджанов", "Есенов", "Құдайбергенов", "Ахметов", "Исаев",
    "Тұрсынов", "Бекенов", "Жақсылықов", "Оспанов", "Дүйсенов", "Қуанышев", "Мақсұтов",
]
RU_MALE = [
    "Алексей", "Дмитрий", "Сергей", "Андрей", "Игорь", "Максим", "Владимир", "Павел", "Роман",
    "Олег", "Евгений", "Виктор", "Константин", "Артём", "Денис", "Михаил", "Николай", "Юрий",
]
RU_FEMALE = [
    "Анна", "Елена", "Ольга", "Наталья", "Ирина", "Татьяна", "Светлана", "Юлия", "Мария",
    "Екатерина", "Виктория", "Ксения", "Людмила", "Вера", "Алина", "Дарья", "Галина", "Полина",
]
RU_SURNAMES = [
    "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Новиков",
    "Морозов", "Волков", "Фёдоров", "Белов", "Ким", "Пак", "Шевченко", "Коваленко", "Гордеев",
    "Захаров", "Тимофеев", "Романенко",
]
EN_MALE = ["James", "Daniel", "Michael", "Thomas", "David", "Oliver", "Robert", "Lucas", "Adam"]
EN_FEMALE = ["Emily", "Sarah", "Laura", "Hannah", "Olivia", "Grace", "Sophie", "Rachel", "Kate"]
EN_SURNAMES = ["Walker", "Bennett", "Hughes", "Fletcher", "Morgan", "Reid", "Carter", "Lawson"]

FREE_DOMAINS = [
    "mail.ru", "gmail.com", "inbox.kz", "mail.kz", "yandex.kz", "yandex.ru", "bk.ru", "list.ru",
    "outlook.com", "icloud.com", "internet.ru", "rambler.ru", "hotmail.com", "proton.me",
]
COMPANY_WORDS = [
    "qazsoft", "stepdata", "almatrade", "dalagroup", "nomadlogistics", "steppeprint",
    "altynmedia", "kaspilabs", "turanconsult", "saryarqa-it", "baitaq", "zhetysu-agro",
    "orda-systems", "sunqar", "kokzhiek", "tengri-trade", "arnau", "kenestech",
]
COMPANY_TLDS = ["kz", "com", "kz", "ru", "io"]

RU_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "g",
    "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}


def ascii_name(text: str) -> str:
    return "".join(RU_TRANSLIT.get(c, c) for c in text.lower())


def check_digit(digits: list[int]) -> int | None:
    s = sum(d * w for d, w in zip(digits[:11], range(1, 12))) % 11
    if s == 10:
        s = sum(d * w for d, w in zip(digits[:11], [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])) % 11
    return None if s == 10 else s


def iin(rng: random.Random, year: int | None = None, female: bool | None = None) -> str:
    """A valid IIN of a person born in `year` (random when None)."""
    while True:
        y = year if year is not None else rng.randint(1950, 2006)
        f = female if female is not None else rng.random() < 0.5
        m = rng.randint(1, 12)
        d = rng.randint(1, 28)
        century = (3 if y < 2000 else 5) + (1 if f else 0)
        digits = [int(c) for c in f"{y % 100:02d}{m:02d}{d:02d}{century}"]
        digits += [rng.randint(0, 9) for _ in range(4)]
        c = check_digit(digits)
        if c is not None:
            return "".join(map(str, digits + [c]))


def invalid_iin(rng: random.Random) -> str:
    """Twelve digits shaped like an IIN whose check digit is wrong."""
    good = iin(rng)
    last = (int(good[-1]) + rng.randint(1, 9)) % 10
    return good[:-1] + str(last)


def bin_number(rng: random.Random) -> str:
    while True:
        y = rng.randint(0, 24)
        m = rng.randint(1, 12)
        digits = [int(c) for c in f"{y:02d}{m:02d}"]
        digits += [rng.randint(4, 6), rng.randint(0, 4)]
        digits += [rng.randint(0, 9) for _ in range(5)]
        c = check_digit(digits)
        if c is not None:
            return "".join(map(str, digits + [c]))


MOBILE_PREFIXES = ["700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778"]


def phone(rng: random.Random) -> str:
    """A Kazakh mobile number in E.164."""
    return "+7" + rng.choice(MOBILE_PREFIXES) + "".join(str(rng.randint(0, 9)) for _ in range(7))


def render_phone(rng: random.Random, e164: str) -> str:
    """The way people write the number: +7 701 234 56 78, 8 (701) 234-56-78, 87012345678..."""
    n = e164[2:]
    a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
    return rng.choice(
        [
            f"+7 {a} {b} {c} {d}",
            f"8 ({a}) {b}-{c}-{d}",
            f"8{n}",
            f"+7{n}",
            f"+7 ({a}) {b}-{c}-{d}",
            f"8 {a} {b} {c} {d}",
            f"+7-{a}-{b}-{c}-{d}",
        ]
    )


@dataclass
class Person:
    first: str
    last: str
    female: bool
    culture: str  # kk, ru, en
    email: str
    iin: str
    phone: str
    born: int
    extra: dict = field(default_factory=dict)

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}".strip()

    def surname_for(self, female: bool) -> str:
        return self.last


def _feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


def person(rng: random.Random, culture: str, used: set[str]) -> Person:
    female = rng.random() < 0.5
    if culture == "kk":
        first = rng.choice(KK_FEMALE if female else KK_MALE)
        last = rng.choice(KK_SURNAMES)
    elif culture == "ru":
        first = rng.choice(RU_FEMALE if female else RU_MALE)
        last = rng.choice(RU_SURNAMES)
    else:
        first = rng.choice(EN_FEMALE if female else EN_MALE)
        last = rng.choice(EN_SURNAMES)
    if female and culture != "en":
        last = _feminine(last)
    born = rng.randint(1958, 2004)
    while True:
        local = rng.choice(
            [
                f"{ascii_name(first)}.{ascii_name(last)}",
                f"{ascii_name(first)[0]}.{ascii_name(last)}",
                f"{ascii_name(first)}{born % 100:02d}",
                f"{ascii_name(last)}_{ascii_name(first)[0]}",
                f"{ascii_name(first)}_{rng.randint(1, 999)}",
                f"{ascii_name(first)}.{ascii_name(last)[:3]}{rng.randint(1, 99)}",
            ]
        )
        email = f"{local}@{rng.choice(FREE_DOMAINS)}"
        if email not in used:
            used.add(email)
            break
    return Person(first, last, female, culture, email, iin(rng, born, female), phone(rng), born)


def company(rng: random.Random) -> tuple[str, str, str]:
    """(display name, domain, BIN) of an invented company."""
    word = rng.choice(COMPANY_WORDS)
    domain = f"{word}.{rng.choice(COMPANY_TLDS)}"
    name = word.replace("-", " ").title().replace(" ", "")
    return (f"ТОО «{name}»" if rng.random() < 0.5 else f"{name} LLP"), domain, bin_number(rng)
