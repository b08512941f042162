"""How two spellings of one Vietnamese name are compared.

Equal when they differ only in Unicode form (precomposed or decomposed), case, extra
whitespace, or where the tone mark sits: Vietnamese has two accepted placements for
syllables such as hoa/hoe/uy ("Hòa" and "Hoà", "Thủy" and "Thuỷ"), and which one a
person types depends on their keyboard, not on the name. Every letter and every mark
still counts: "Nguyen Van An" is not "Nguyễn Văn An", and "Hòa" is not "Hóa".
"""

from __future__ import annotations

import unicodedata

#: The five tone marks as combining characters (huyền, sắc, ngã, hỏi, nặng). The marks
#: that make a different vowel (circumflex, breve, horn) are not tones and stay put.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def normalize_name(name: str) -> str:
    """The comparison key of a name: case-folded, single-spaced, one tone placement."""
    words = []
    for word in unicodedata.normalize("NFD", name).casefold().split():
        tones = "".join(c for c in word if c in TONE_MARKS)
        bare = "".join(c for c in word if c not in TONE_MARKS)
        words.append(unicodedata.normalize("NFC", bare + tones))
    return " ".join(words)
