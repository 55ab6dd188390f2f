"""Text analysis shared by both backends, so a query means the same thing to each.

A query is cut into *pieces*: runs of CJK ideographs and runs of Latin letters or digits. Every piece
must match (AND), anywhere in the product's text (name, description, brand, supplier, origin):

- a CJK piece matches when each of its bigrams (or its single character) occurs in the text; the
  engine reads them from the 1–2-gram sub-fields, the embedded backend from its term columns;
- a Latin piece matches a word of the text within the engine's AUTO fuzziness (0 edits up to 2
  letters, 1 up to 5, else 2; a transposition counts as one edit), or a pinyin key exactly.

Pinyin is computed here at index time (the engine has no pinyin plugin): for every CJK run of the
name, brand and origin, each span of 1–4 characters gives its full pinyin (``qicheng``) and, from
two characters on, its initials (``qc``); whole runs of up to 8 characters too.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pypinyin import lazy_pinyin

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(f"[{CJK}]+|[a-z0-9]+")
_CJK_RUN = re.compile(f"[{CJK}]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+")
PINYIN_SPAN = 4
PINYIN_WHOLE_RUN = 8
MAX_TERM = 64


def normalise(text: str) -> str:
    """NFKC (full-width to half-width) and lower case, as the engine's cjk_width + lowercase do."""
    return unicodedata.normalize("NFKC", text or "").lower()


@dataclass(frozen=True)
class Piece:
    text: str
    cjk: bool

    @property
    def grams(self) -> list[str]:
        """The CJK terms that must all occur: the bigrams, or the one character."""
        return cjk_bigrams(self.text) or [self.text]


def pieces(query: str) -> list[Piece]:
    found: list[Piece] = []
    for match in _PIECE.finditer(normalise(query)):
        piece = Piece(match.group(), cjk=not match.group()[0].isascii())
        if piece not in found and (piece.cjk or len(piece.text) <= MAX_TERM):
            found.append(piece)
    return found


def cjk_bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def text_terms(text: str) -> list[str]:
    """The terms of a text as the embedded index stores them: CJK unigrams and bigrams, Latin words."""
    text = normalise(text)
    terms: list[str] = []
    for run in _CJK_RUN.findall(text):
        terms.extend(run)
        terms.extend(cjk_bigrams(run))
    terms.extend(w for w in _LATIN_WORD.findall(text) if len(w) <= MAX_TERM)
    return terms


def latin_words(text: str) -> list[str]:
    return [w for w in _LATIN_WORD.findall(normalise(text)) if len(w) <= MAX_TERM]


@functools.lru_cache(maxsize=65_536)
def _syllables(run: str) -> tuple[str, ...]:
    """One pinyin syllable per character; pypinyin reads phrases, so 重庆 is chong qing. Cached:
    catalogs repeat their runs (district, brand and product words), and pypinyin is slow."""
    syllables = lazy_pinyin(run, errors=lambda chars: ["" for _ in chars])
    return tuple(s if s.isascii() and s.isalpha() else "" for s in syllables)


def pinyin_keys(text: str) -> list[str]:
    keys: list[str] = []
    for run in _CJK_RUN.findall(normalise(text)):
        syllables = _syllables(run)
        n = len(syllables)
        spans = {(i, j) for i in range(n) for j in range(i + 1, min(n, i + PINYIN_SPAN) + 1)}
        if n <= PINYIN_WHOLE_RUN:
            spans.add((0, n))
        for i, j in sorted(spans):
            part = syllables[i:j]
            if not all(part):
                continue
            keys.append("".join(part))
            if j - i >= 2:
                keys.append("".join(s[0] for s in part))
    return keys


def suggest_keys(text: str) -> list[str]:
    """Prefixes of these keys complete to the text: every suffix of each CJK run (脐橙 in 奉节脐橙),
    its full pinyin and initials, and each Latin word."""
    keys: list[str] = []
    for run in _CJK_RUN.findall(normalise(text)):
        syllables = _syllables(run)
        for i in range(len(run)):
            keys.append(run[i:])
            part = syllables[i:]
            if all(part):
                keys.append("".join(part))
                if len(part) >= 2:
                    keys.append("".join(s[0] for s in part))
    keys.extend(latin_words(text))
    return [k[:MAX_TERM] for k in keys]


def unique(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in terms if t))


def join_terms(terms: Iterable[str]) -> str:
    return " ".join(unique(terms))


def suggest_prefix(query: str) -> str:
    """What the user typed, as a prefix of a suggest key: normalised, without spaces or punctuation."""
    return "".join(m.group() for m in _PIECE.finditer(normalise(query)))[:MAX_TERM]


# --- typo tolerance --------------------------------------------------------------------------


def max_edits(word: str) -> int:
    """The engine's AUTO fuzziness."""
    return 0 if len(word) < 3 else 1 if len(word) < 6 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition is one edit), giving up past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


# --- highlight -------------------------------------------------------------------------------


def near_words(text: str, query_pieces: list[Piece]) -> set[str]:
    """The Latin words of `text` that a Latin piece matches within its AUTO fuzziness."""
    latin = [(piece.text, max_edits(piece.text)) for piece in query_pieces if not piece.cjk]
    return {
        word
        for word in set(latin_words(text))
        if any(edit_distance(typed, word, edits) <= edits for typed, edits in latin)
    }


def highlight(text: str, query_pieces: list[Piece], words: set[str]) -> str | None:
    """`text` escaped, with <em> around each occurrence of a CJK piece and each matched Latin word;
    None when nothing in it matched."""
    spans: list[tuple[int, int]] = []
    folded = normalise(text)
    if len(folded) != len(text):  # NFKC changed the length: match on the text as it is
        folded = text.lower()
    for piece in query_pieces:
        if piece.cjk:  # the piece matched gram by gram, so each gram is marked where it occurs
            for gram in piece.grams:
                spans.extend((m.start(), m.end()) for m in re.finditer(re.escape(gram), folded))
    for m in re.finditer(r"[a-z0-9]+", folded):
        if m.group() in words:
            spans.append((m.start(), m.end()))
    if not spans:
        return None
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(html.escape(text[last:start]))
        out.append(f"<em>{html.escape(text[start:end])}</em>")
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)
