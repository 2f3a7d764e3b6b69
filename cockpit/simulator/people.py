"""Make plausible synthetic Chinese names, ID numbers, phone numbers and company codes."""

from __future__ import annotations

import random
from datetime import date

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华国庆志强晓红海燕文斌玉兰春梅"
    "建国永红丽华凤英宏伟晨曦子涵欣怡浩然宇轩梓萱一诺雨桐思远嘉怡俊杰佳琪"
)

# ISO 7064 MOD 11-2 weights and check characters of the 18-digit resident ID number.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

# Region codes: the street's own district for registered residents, typical origins for migrants.
ORIGIN_REGIONS = (
    "340104",
    "320102",
    "410102",
    "510104",
    "360102",
    "430102",
    "420102",
    "370102",
    "350102",
)

MOBILE_PREFIXES = (
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "158",
    "159",
    "176",
    "177",
    "180",
    "181",
    "186",
    "187",
    "188",
    "189",
    "199",
)

# USCC check: base-31 alphabet without I, O, Z, S, V (GB 32100-2015).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def person_name(rng: random.Random) -> str:
    """Return a two- or three-character Chinese name."""
    given_length = 1 if rng.random() < 0.3 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given_length))


def id_check_digit(first17: str) -> str:
    """Return the check character of an 18-digit resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    """Tell whether a string is an 18-character resident ID number with a valid check character."""
    if len(value) != 18 or not (value[:17].isascii() and value[:17].isdigit()):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return id_check_digit(value[:17]) == value[17].upper()


class IdNumberMaker:
    """Issue unique, valid ID numbers by counting sequence numbers per region, birth date and sex."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, date, str], int] = {}

    def make(self, region: str, birth: date, gender: str) -> str:
        """Return the next unused ID number; odd sequence for men, even for women."""
        key = (region, birth, gender)
        n = self._next.get(key, 0)
        self._next[key] = n + 1
        sequence = n * 2 + (1 if gender == "M" else 0)
        if sequence > 999:
            raise ValueError(f"more than 500 people born {birth} in region {region}")
        first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
        return first17 + id_check_digit(first17)


def mobile(rng: random.Random) -> str:
    """Return an 11-digit mainland mobile number."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def uscc(rng: random.Random, region: str, serial: int) -> str:
    """Return a unified social credit code (统一社会信用代码) with a valid check character."""
    org = f"{serial:08d}"[-8:] + USCC_ALPHABET[rng.randrange(len(USCC_ALPHABET))]
    first17 = "91" + region + org
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]
