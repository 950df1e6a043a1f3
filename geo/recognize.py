"""Text -> toponym mentions, with exact character spans.

A rule-based recognizer driven by the gazetteer; it needs no statistical model.

1. The text is split into word and punctuation tokens.
2. From every capitalised word the longest run of tokens whose text is a gazetteer name is
   taken (multi-word names, "St. Petersburg", "Asia-Pacific", "Kursk region").  Possessives
   ("Russia's") and hyphenated compounds ("Moscow-Pyongyang axis", "Hong Kong-based") fall
   out of the tokenisation.
3. Matches are then filtered with the evidence a reader uses: a capitalised neighbour means
   the name is part of a longer proper noun (a person, "Chatham House", "Global Times"); a
   personal title before it means a person, and the name stays a person for the rest of the
   article; an English common word ("Reading", "Mobile", "March") needs a place cue; an
   acronym must be a known country-level abbreviation ("US", "DPRK" but not "UN").

The word lists below are English grammar (prepositions, titles, months), not place data.
"""

from __future__ import annotations

import bisect
import gzip
import itertools
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from geo.errors import DataFileError
from geo.gazetteer import Gazetteer, may_vary, normalize
from geo.model import Mention, Place

COMMON_WORDS_FILE = Path("recognizer") / "common_words.txt"
ENGLISH_WORDS_FILE = Path("recognizer") / "english_words.txt.gz"
GIVEN_NAMES_FILE = Path("recognizer") / "given_names.txt"
LANGUAGES_FILE = Path("recognizer") / "languages.txt"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"(?:[A-Z]\.){2,}|[^\W_]+|[^\w\s]")
_CONNECTORS = _words(
    """
    of the de del della la le les du des da do dos das upon on am an der y and sur al el
    """
)
_SUFFIXES = _words(
    """
    region province oblast krai kray river strait straits sea island islands peninsula
    county district state prefecture republic bay gulf valley mountains desert lake port
    crossing platform
    """
)
_GLUE = frozenset("-‐–'’.&")
_TITLES = _words(
    """
    president mr mrs ms miss dr minister chairman chairwoman leader secretary general gen
    sen senator rep representative gov governor mayor judge justice king queen prince
    princess pope sir lord lady coach officer sgt lt capt col chief ceo spokesman
    spokeswoman professor prof rev father brother sister chancellor premier ambassador
    envoy commander admiral detective deputy aide adviser advisor director dictator
    counterpart tsar czar emperor marshal comrade uncle aunt son daughter wife husband
    mother st.
    """
)
#: Verbs of saying: a minor place's name right before or after one is a speaker's.
_SPEECH = _words(
    """
    said says told tweeted added wrote explained noted stated argued asked replied recalled
    insisted admitted acknowledged confirmed announced reported reports quoted cited
    """
)
_ABBREVIATED_TITLES = _words(
    "mr mrs ms dr gen sen sens rep reps gov govs sgt lt capt col prof rev st"
)
_FUNCTION = _words(
    """
    a an the in on at to from for by with and but or nor so yet as of after before since
    while when where if then than that this these those there here it its his her their
    our my your we they he she i you not no yes also both either neither even just only
    still already although though because unless until upon via into onto over under
    across around near between among against without within during through toward towards
    like unlike despite meanwhile however moreover indeed thus hence today yesterday
    tomorrow last next every each all some many most much more few several such what which
    who whom whose why how once twice while whereas besides beyond inside outside above
    below behind beside outside along amid amidst throughout down up out off about back
    home north south east west
    """
)
_LOCATIVE = _words(
    """
    in at near from to outside across via into towards toward around through throughout
    inside between visit visited visiting reach reached reaching border borders city town
    port capital
    """
)
#: Prepositions said of places, not of people ("in Samos"; but "referring to Bautista").
_IN_PLACE = _words("in at near outside inside throughout across around")
_DIRECTIONS = _words(
    """
    north south east west northern southern eastern western central northeast northwest
    southeast southwest northeastern northwestern southeastern southwestern upper lower
    greater downtown coastal
    """
)
_MONTHS = _words(
    """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday
    """
)
#: Words that link two places: "with" after one of them is a place cue ("links Rajin with
#: Khasan", "its border with Laos"), as "with" alone is not ("met with Wu").
_LINKS = _words(
    """
    link links linked linking connect connects connected connecting border borders
    bordering join joins joined joining road rail railway bridge route crossing
    """
)
#: How many words before "with" a linking word may stand.
LINK_REACH = 5
#: Nouns that make the name before them an organisation's ("Xinhua news agency").
_ORG_NOUNS = _words(
    """
    news agency agencies corp corporation company inc ltd llc plc group holdings airline
    airlines airways television tv newspaper daily broadcaster bank brand stores
    administration
    """
)
#: Diseases and pathogens named after a place: a minor place's name before one of these is
#: the disease ("Ebola virus", "Lassa fever", "Zika vaccine") for the whole text.
_DISEASE_NOUNS = _words("virus viruses fever disease vaccine vaccines strain strains")
#: ... and before these, a river's, a lake's or a mountain's name is the disease too ("a new
#: Ebola outbreak", the Ebola river); a town or a region is where it broke out ("the Mubende
#: outbreak").
_OUTBREAK_NOUNS = _words("outbreak outbreaks epidemic epidemics cases")
_NAMESAKE_FEATURES = frozenset({"river", "lake", "mountain"})
#: People named by their workplace: a building's name before one of these stands for the
#: institution in it ("White House aides", "Pentagon officials"), not for the place.
_ROLE_NOUNS = _words(
    """
    aide aides official officials staff staffer staffers spokesman spokeswoman spokesperson
    press secretary chief counsel adviser advisers advisor correspondent correspondents
    lawyer lawyers source sources insiders officers employees
    """
)
#: Prior from which a common word's place is well known: it needs evidence to be rejected
#: ("Shanghai", "Phoenix", "the Arctic"), not to be kept.
WELL_KNOWN = 0.85
_SETTLEMENTS = frozenset({"city", "port"})
#: Minimum prior (see geo.gazetteer.prior) of a settlement named without a place cue.
WEAK_SINGLE = 0.55
WEAK_MULTI = 0.45
#: Prior above which a settlement keeps its place sense inside a longer proper noun.
STRONG = 0.7
#: How many of a name's places are checked for being called so only by another name.
MAX_NAME_CHECK = 10
#: A settlement this important is not taken for a person's name ("Tianjin", "Vladimir" is).
PERSON_MAX = 0.8
_ADJECTIVE_ENDINGS = ("ian", "ean", "ese", "ish")
#: Kinds whose names keep their place sense whatever surrounds them.
_GLOBAL = frozenset({"country", "continent", "ocean", "sea"})
_COUNTRY_LEVEL = frozenset({"country", "continent", "admin1", "ocean", "sea"})


_new_token = tuple.__new__


class Token(NamedTuple):
    """A word or punctuation token of a text."""

    start: int
    end: int
    text: str
    is_word: bool
    is_cap: bool


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Language data the recognizer uses besides the gazetteer."""

    common_words: frozenset[str]
    english_words: frozenset[str] = frozenset()
    given_names: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()


def _word_set(path: Path) -> frozenset[str]:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataFileError(f"{str(path)!r} is missing; run scripts/build_lexicon.py") from None
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DataFileError(f"{str(path)!r} is unreadable: {err}") from err
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def load_lexicon(data_dir: Path) -> Lexicon:
    """Read the word lists in ``data/recognizer/`` (see scripts/build_lexicon.py)."""
    return Lexicon(
        _word_set(data_dir / COMMON_WORDS_FILE),
        _word_set(data_dir / ENGLISH_WORDS_FILE),
        _word_set(data_dir / GIVEN_NAMES_FILE),
        _word_set(data_dir / LANGUAGES_FILE),
    )


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into word and single-character punctuation tokens."""
    out: list[Token] = []
    append, new = out.append, _new_token  # the hot loop of the recognizer
    for m in _TOKEN.finditer(text):
        word = m.group()
        first = word[0]
        # tuple.__new__ skips the NamedTuple constructor's Python-level __new__.
        append(new(Token, (*m.span(), word, first.isalnum(), first.isupper())))
    return out


#: Character classes of the tokenizer (:data:`_TOKEN`): 0 a gap (white space, "_"), 1 a
#: word character, 2 punctuation; plus _UPPER for an upper-case letter.
_WORD_CHAR = re.compile(r"[^\W_]").fullmatch
_PUNCT_CHAR = re.compile(r"[^\w\s]").fullmatch
_UPPER = 4


def _char_class(c: str) -> int:
    cls = 1 if _WORD_CHAR(c) else 2 if _PUNCT_CHAR(c) else 0
    return cls | (_UPPER if c.isupper() else 0)


_ASCII_CLASS = np.array([_char_class(chr(i)) for i in range(128)], dtype=np.uint8)
_A, _Z, _DOT = ord("A"), ord("Z"), ord(".")
_ACRONYM = re.compile(r"[A-Z]\.[A-Z]\.").search


def _token_spans(text: str) -> tuple[array[int], array[int], list[int]]:
    """The start and end offsets of the tokens :data:`_TOKEN` finds in ``text``, and the
    indices of the capitalised ones, computed over the whole text at once (numpy) instead of
    a regular-expression match per token.

    Tokens are the runs of word characters and the single punctuation characters, except
    that an acronym ("U.S.") at a token start is one token, as the expression says.
    """
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = cp.size
    high = cp >= 128
    if high.any():  # classes of the other characters, each distinct one asked once
        cls = _ASCII_CLASS[np.minimum(cp, 127)]
        uniq, inv = np.unique(cp[high], return_inverse=True)
        table = np.array([_char_class(chr(u)) for u in uniq.tolist()], dtype=np.uint8)
        cls[high] = table[inv]
    else:
        cls = _ASCII_CLASS[cp]
    kind = cls & 3
    word = kind == 1
    padded = np.zeros(n + 2, dtype=np.int8)  # a word run starts at +1 and ends at -1
    padded[1:-1] = word
    edges = padded[1:] - padded[:-1]
    punct = (kind == 2).nonzero()[0]
    # Tokens do not overlap: sorted apart, the starts and the ends stay paired.
    starts = np.sort(np.concatenate(((edges == 1).nonzero()[0], punct)))
    ends = np.sort(np.concatenate(((edges == -1).nonzero()[0], punct + 1)))
    if _ACRONYM(text):  # (?:[A-Z]\.){2,} where a token may start: not after a word character
        az, dot = (cp >= _A) & (cp <= _Z), cp == _DOT
        acronym = az[:-3] & dot[1:-2] & az[2:-1] & dot[3:]
        acronym[1:] &= ~word[: n - 4]
        if acronym.any():
            starts, ends = _with_acronyms(acronym.nonzero()[0].tolist(), az, dot, starts, ends)
    caps = (cls[starts] & _UPPER).nonzero()[0].tolist()
    return _offsets(starts), _offsets(ends), caps


def _with_acronyms(at: list[int], az: Any, dot: Any, starts: Any, ends: Any) -> tuple[Any, Any]:
    """Merge the letter and full-stop tokens of each acronym starting at one of ``at`` (in
    order; one inside an earlier acronym is part of it) into one token."""
    n, spans, last = az.size, [], -1
    for i in at:
        if i < last:
            continue
        j = i
        while j + 1 < n and az[j] and dot[j + 1]:
            j += 2
        spans.append((i, j))
        last = j
    first, stop = np.array(spans, dtype=np.int64).reshape(-1, 2).T
    # The tokens starting inside an acronym go, the acronym comes in: linear in the text.
    inside = np.zeros(starts.size + 1, dtype=np.int64)
    np.add.at(inside, np.searchsorted(starts, first), 1)
    np.add.at(inside, np.searchsorted(starts, stop), -1)
    keep = np.cumsum(inside[:-1]) == 0
    return (
        np.sort(np.concatenate((starts[keep], first))),
        np.sort(np.concatenate((ends[keep], stop))),
    )


def _offsets(values: Any) -> array[int]:
    out = array("q")
    out.frombytes(values.astype(np.int64).tobytes())
    return out


class _Match(NamedTuple):  # a tuple: made thousands of times per text
    first: int  # token index
    last: int  # token index, inclusive
    start: int
    end: int


class Tokens(dict[int, Token]):
    """The tokens of a text by index, each made on first access.

    Most of a news text is lower-case words the recognizer never looks at: the regular
    expression's matches are kept, and a :class:`Token` is made only for the tokens around
    capitalised words.  ``capitalised`` lists those, the recognizer's starting points.  A
    made token is a plain dictionary hit (``__missing__`` runs once per index): the
    recognizer asks for the same few tokens many times.
    """

    __slots__ = ("_text", "capitalised", "ends", "n", "starts")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text
        self.starts, self.ends, self.capitalised = _token_spans(text)
        self.n = len(self.starts)

    def __len__(self) -> int:
        return self.n

    def text_at(self, i: int) -> str:
        """The text of token ``i``, without making its :class:`Token`."""
        return self._text[self.starts[i] : self.ends[i]]

    def __missing__(self, i: int) -> Token:
        if not 0 <= i < self.n:
            raise IndexError(i)
        start, end = self.starts[i], self.ends[i]
        word = self._text[start:end]
        first = word[0]
        tok = self[i] = _new_token(Token, (start, end, word, first.isalnum(), first.isupper()))
        return tok


def _longest(text: str, tokens: Tokens, i: int, key: str, gaz: Gazetteer) -> _Match | None:
    """The longest name starting at capitalised token ``i`` (``key``: its normalized text).

    The name runs on over capitalised words, connectors ("of", "de") and suffixes
    ("region"), joined by one space, or glued by a hyphen, an apostrophe or a full stop
    ("St. Petersburg"), or by a comma and a space ("Washington, D.C.").  The hot loop of
    the recognizer: it reads the token offsets, making no :class:`Token`.
    """
    starts, ends, keys = tokens.starts, tokens.ends, gaz.keys()
    start, end = starts[i], ends[i]
    best = _found(text, tokens, i, i, key, gaz) if key in keys else None
    prev, prev_word = "", True  # the previous token's text matters only for punctuation
    # While the name is ASCII words, single spaces and ASCII glue, its key is made without
    # the name cache (see _plain_key).
    simple = _plain_word(text[start:end])
    for j in range(i + 1, min(tokens.n, i + 3 * gaz.max_tokens)):
        a = starts[j]
        gap = a - end
        first = text[a]
        if gap > 1 or (gap and text[end] != " "):
            break
        if first.isalnum():  # a word: after one space, or glued to a glue character
            if not _word_joins(gap, prev_word, prev):
                break
            end = ends[j]
            tok = text[a:end]
            simple = simple and _plain_word(tok)
            if first.isupper():
                key = _plain_key(text[start:end]) if simple else normalize(text[start:end])
                if key in keys or (may_vary(key) and gaz.has_key(key, variants=True)):
                    best = _found(text, tokens, i, j, key, gaz)
            # a suffix ("region"), or a possessive's "s" ("Cox's Bazar", "St. John's")
            elif tok.lower() in _SUFFIXES or (tok == "s" and prev in "'’"):
                key = _plain_key(text[start:end]) if simple else normalize(text[start:end])
                if key in keys:
                    best = _found(text, tokens, i, j, key, gaz)
            elif tok not in _CONNECTORS:
                break
            prev, prev_word = tok, True
        else:  # punctuation: a glue character or a comma, right after the word
            if gap or (first not in _GLUE and first != ","):
                break
            end = ends[j]
            prev, prev_word, simple = first, False, simple and first in _ASCII_GLUE
    return best


def _word_joins(gap: int, prev_word: bool, prev: str) -> bool:
    """Whether a word continues a name after one space (``gap``) or none, after a word or
    the punctuation ``prev``: a comma only as part of a name that has one ("D.C.")."""
    if gap:
        return prev_word or prev in ".,"
    return not prev_word and prev in _GLUE


#: The glue characters that are ASCII: normalize keeps them, but for the full stop.
_ASCII_GLUE = frozenset(c for c in _GLUE | {","} if c.isascii())


def _plain_key(name: str) -> str:
    """:func:`normalize` of a name of ASCII letters and digits joined by single spaces and
    ASCII glue (no name cache needed): the case, the full stops and a leading "the"."""
    key = name.lower().replace(".", "")
    return key[4:] if key.startswith("the ") else key


def _plain_word(word: str) -> bool:
    """ASCII letters and digits only (no acronym's full stops)."""
    return word.isascii() and word.isalnum()


def _found(text: str, tokens: Tokens, i: int, j: int, key: str, gaz: Gazetteer) -> _Match:
    """The match of tokens ``i`` to ``j``, with a full stop right after that belongs to the
    name ``key`` ("Calif.")."""
    start, end = tokens.starts[i], tokens.ends[j]
    if (
        j + 1 < tokens.n
        and tokens.starts[j + 1] == end
        and text[end] == "."
        and (gaz.abbreviation(key))
    ):
        return _new_token(_Match, (i, j + 1, start, end + 1))
    return _new_token(_Match, (i, j, start, end))


def candidates(text: str, tokens: Tokens, gaz: Gazetteer) -> list[_Match]:
    """Leftmost-longest gazetteer matches starting at capitalised words."""
    out: list[_Match] = []
    after = 0  # the first token not inside an earlier match
    caps, starts, ends = tokens.capitalised, tokens.starts, tokens.ends
    # The capitalised words, their keys, and whether a name starts with each: map and the
    # C-level name cache do it without a Python call per word.
    words = list(map(text.__getitem__, map(slice, map(starts.__getitem__, caps),
                                          map(ends.__getitem__, caps))))  # fmt: skip
    keys = list(map(normalize, words))
    heads = map(gaz.heads().__contains__, keys)
    simple = map(str.isalnum, keys)  # else: the key's first word is looked up
    for i, word, key, head, plain in zip(caps, words, keys, heads, simple, strict=True):
        if i < after or not (head if plain else gaz.starts_name(word)):
            continue
        if word.lower() == "the":
            continue
        found = _longest(text, tokens, i, key, gaz)
        if found:
            out.append(found)
            after = found.last + 1
    return out


def _sentence_initial(text: str, tokens: Tokens, i: int) -> bool:
    j = i - 1
    while j >= 0 and tokens[j].text in "\"'“‘(*[":
        j -= 1
    if j < 0:
        return True
    if "\n" in text[tokens[j].end : tokens[i].start]:
        return True
    return tokens[j].text in {".", "!", "?", ":", "…", "•"}


@dataclass(slots=True)
class _Context:
    text: str
    tokens: Tokens
    gaz: Gazetteer
    lex: Lexicon
    persons: set[str]
    tops: dict[str, list[Place]] = field(default_factory=dict)

    def top(self, surface: str) -> list[Place]:
        """The most important place called ``surface`` (a list of at most one), looked up once."""
        found = self.tops.get(surface)
        if found is None:
            found = self.tops[surface] = self.gaz.candidates(surface, limit=1)
        return found

    def word(self, i: int) -> Token | None:
        return self.tokens[i] if 0 <= i < self.tokens.n else None

    def adjacent(self, a: int, b: int) -> bool:
        """Tokens ``a`` < ``b`` are separated by one space only."""
        tokens = self.tokens
        n = tokens.n
        return 0 <= a < n and 0 <= b < n and self.text[tokens.ends[a] : tokens.starts[b]] == " "

    def prev_word(self, i: int) -> str:
        j = i - 1
        while j >= 0 and not self.tokens[j].is_word:
            if self.tokens[j].text not in ".’'":
                return ""
            j -= 1
        return self.tokens[j].text.lower() if j >= 0 else ""


def _titled(ctx: _Context, m: _Match) -> bool:
    """A personal title right before the name ("President Biden", "Mr. Kim", "leader Kim")."""
    i = m.first - 1
    dotted = i >= 0 and ctx.tokens[i].text == "."
    if dotted:
        i -= 1
    prev = ctx.word(i)
    if not (prev and prev.is_word and prev.text.lower() in _TITLES):
        return False
    # "Mr. Kim", but not "the Ministry of Justice. Azerbaijan has ...".
    return not dotted or prev.text.lower() in _ABBREVIATED_TITLES


def _hyphen_glued(ctx: _Context, m: _Match) -> bool:
    """Part of a hyphenated name or designation ("Kim Jong-Un", "Tu-160", "Sino-Russian")."""
    after = ctx.word(m.last + 1)  # the word beyond is looked at only after a hyphen
    if after and after.text in "-‐" and after.start == m.end:
        nxt = ctx.word(m.last + 2)
        if nxt and nxt.start == after.end:
            return nxt.text[0].isdigit() or (nxt.is_cap and not _placelike(ctx, nxt))
    before = ctx.word(m.first - 1)
    if before and before.text in "-‐" and before.end == m.start:
        prev = ctx.word(m.first - 2)
        if prev and prev.end == before.start:
            return prev.is_cap and not _placelike(ctx, prev)
    return False


def _placelike(ctx: _Context, tok: Token) -> bool:
    """A capitalised word that can be the other place of a compound ("Moscow-Pyongyang",
    "Rajin-Khasan"), not a name's ordinary word ("Wal-Mart")."""
    return ctx.gaz.has_key(normalize(tok.text)) and (
        not _ordinary(ctx, tok) or _strong(ctx, tok.text)
    )


def _strong(ctx: _Context, surface: str) -> bool:
    """A country-level name or a major city: it keeps its place sense inside a longer name."""
    top = ctx.top(surface)
    return bool(top) and (top[0].kind in _COUNTRY_LEVEL or top[0].score >= STRONG)


def _part_of_longer_name(ctx: _Context, m: _Match) -> bool:
    """Whether a capitalised neighbour makes the match part of a person's or other name.

    A strong name ("Toronto police", "Air Zimbabwe", "Jamaica Cancer Society") stays a
    place; a weak one ("Jack Sullivan", "Chatham House", "Kim Jong-un") does not, and a weak
    name seen as part of a person's name is remembered as a person for the whole article.
    """
    if _hyphen_glued(ctx, m):
        return True
    nxt = ctx.word(m.last + 1)
    surface = ctx.text[m.start : m.end]
    glued_next = bool(
        nxt and _name_word(nxt) and ctx.adjacent(m.last, m.last + 1)
        and nxt.text.lower() not in _MONTHS and not _placed_in(ctx, surface, nxt.text)
    )  # fmt: skip
    prev = ctx.word(m.first - 1)
    glued_prev = bool(prev and _name_word(prev) and ctx.adjacent(m.first - 1, m.first))
    if glued_prev and prev and _placed_in(ctx, prev.text, ctx.tokens[m.first].text):
        glued_prev = False  # "Maiduguri Borno State": the region of the town before it
    if glued_prev and prev:
        low = prev.text.lower()
        initial = _sentence_initial(ctx.text, ctx.tokens, m.first - 1)
        if low in _DIRECTIONS or (initial and (low in _FUNCTION or low in ctx.lex.common_words)):
            glued_prev = False
    # "In London Starmer said": a place, then the person who spoke there.
    located = glued_next and not glued_prev and _located(ctx, m, surface)
    if located or not (glued_next or glued_prev):
        return False
    acronym = surface.isupper()  # "Henry Lazenby US-based": no one's name is in capitals
    if not acronym and _personal_name(
        ctx, m, nxt if glued_next else None, prev if glued_prev else None
    ):
        ctx.persons.add(normalize(surface))
        return True
    top = ctx.top(surface)
    if top and top[0].kind in _GLOBAL:  # "DeSmog Canada", "Air France KLM", "SME Mauritius"
        return False
    neighbours = [t for t, glued in ((nxt, glued_next), (prev, glued_prev)) if glued and t]
    if _strong(ctx, surface) and all(_ordinary(ctx, t) for t in neighbours):
        return False
    named = any(ctx.gaz.has_key(normalize(t.text)) for t in neighbours)
    # Remembered as a person's name only beside a word that can be one: "Jack Sullivan", not
    # "Nenagh Municipal District" or "Liverpool FC" (an organisation, which names a place).
    personal = any(not _ordinary(ctx, t) and not t.text.isupper() for t in neighbours)
    if m.first == m.last and top and top[0].score < PERSON_MAX and not named and personal:
        ctx.persons.add(normalize(surface))
    return True


def _located(ctx: _Context, m: _Match, surface: str) -> bool:
    """A sentence that opens on a place preposition and a well-known place, glued to a
    name: "In Buenos Aires Milei's supporters rallied" names the place, then a person (but
    "ended up in Victoria Vivians' room" is a person's name)."""
    if m.first < 1 or ctx.tokens[m.first - 1].text.lower() not in _IN_PLACE:
        return False
    if not _sentence_initial(ctx.text, ctx.tokens, m.first - 1):
        return False
    top = ctx.top(surface)
    return (
        bool(top)
        and (top[0].kind in _COUNTRY_LEVEL or top[0].score >= WELL_KNOWN)
        and ctx.gaz.is_own_name(surface, top[0])
    )


def _placed_in(ctx: _Context, town: str, region: str) -> bool:
    """Whether ``region`` names a first-level region or a country that a place called
    ``town`` lies in: then "Maiduguri Borno State" is a town and its region, not one name."""
    if len(region) < 3 or region.lower() in ctx.lex.english_words:
        return False
    outer, inner = ctx.top(region), ctx.top(town)
    return bool(
        outer and inner and outer[0].kind in ("admin1", "country")
        and inner[0].kind in _SETTLEMENTS and inner[0].country == outer[0].country
    )  # fmt: skip


def _name_word(tok: Token) -> bool:
    """A capitalised word that can be part of a name: not a code like "A429", "G20", "F16"."""
    return tok.is_word and tok.is_cap and not any(map(str.isdigit, tok.text))


def _personal_name(ctx: _Context, m: _Match, nxt: Token | None, prev: Token | None) -> bool:
    """A given name before the match ("Andrew Jordan"), or the match is a given name before a
    surname ("Mary Pitman"): the whole is a person's name."""
    given = ctx.lex.given_names
    if prev and _given_name_leads(ctx, m.first - 1):
        return True
    if m.first != m.last or not nxt or ctx.text[m.start : m.end].lower() not in given:
        return False
    return not _ordinary(ctx, nxt) and not ctx.gaz.has_key(normalize(nxt.text))


def _given_name_leads(ctx: _Context, i: int) -> bool:
    """Whether the run of capitalised words ending at token ``i`` starts with a given name:
    "Andrew Jordan", "James Knight Newman" (a person's middle names come between)."""
    first = i
    while first > 0 and first > i - 3 and ctx.adjacent(first - 1, first):
        before = ctx.word(first - 1)
        if not (before and _name_word(before)):
            break
        first -= 1
    lead = ctx.tokens[first]
    if lead.text.lower() not in ctx.lex.given_names:
        return False
    # A given name that is a well-known place too ("Jordan", "Victoria") may be the place;
    # one leading a run of names ("James Knight Newman") or a minor place's ("Ashley
    # Sutton") is a person's.
    return first < i or not _strong(ctx, lead.text)


def _ordinary(ctx: _Context, tok: Token) -> bool:
    """An ordinary English word ("Police", "Times", "Air"), not a name ("Putin", "W")."""
    return tok.text.lower() in ctx.lex.english_words


def _acronym_ok(ctx: _Context, m: _Match, surface: str) -> bool:
    """An acronym is a place only as a known country-level short form ("US", "DPRK", "EU"),
    or as a region's postal code after a comma ("Vancouver, BC")."""
    letters = surface.replace(".", "")
    if not (letters.isupper() and len(letters) <= 5):
        return True
    cands = ctx.gaz.candidates(surface, limit=5)
    if any(p.kind in ("country", "continent") or p.source == "curated" for p in cands):
        return True
    before = ctx.word(m.first - 1)
    return bool(before and before.text == ",") and any(p.kind == "admin1" for p in cands)


def _has_cue(ctx: _Context, m: _Match) -> bool:
    """Place evidence around an ambiguous word: a locative word before, ', Place' after."""
    prev = ctx.prev_word(m.first)
    if prev in _LOCATIVE or (prev == "with" and _linked(ctx, m.first - 1)):
        return True
    comma = ctx.word(m.last + 1)
    if not (comma and comma.text == ","):
        return False
    nxt = ctx.word(m.last + 2)
    return bool(
        nxt and nxt.is_cap
        and any(p.kind in ("admin1", "country") for p in ctx.gaz.candidates(nxt.text, limit=3))
    )  # fmt: skip


def _linked(ctx: _Context, with_at: int) -> bool:
    """Whether a linking word ("links", "border") stands a few words before token ``with_at``."""
    start = max(0, with_at - LINK_REACH)
    return any(ctx.tokens.text_at(j).lower() in _LINKS for j in range(start, with_at))


def _well_known(ctx: _Context, surface: str) -> bool:
    """A place everyone knows by this very name ("Shanghai", "the Arctic")."""
    top = ctx.top(surface)
    return bool(top) and top[0].score >= WELL_KNOWN and ctx.gaz.is_own_name(surface, top[0])


def _common_word_ok(ctx: _Context, m: _Match, surface: str) -> bool:
    low = surface.lower()
    if m.first != m.last or (low not in ctx.lex.common_words and low not in _MONTHS):
        return True
    if surface.isupper() and len(surface) > 1:  # "US" is not the word "us"
        return True
    if low in _MONTHS:
        return _has_cue(ctx, m) and ctx.prev_word(m.first) not in {"in", "since", "from", "until"}
    top = ctx.top(surface)
    if top and top[0].kind in _GLOBAL:  # "China said", "Turkey", "the Pacific"
        return True
    return not _sentence_initial(ctx.text, ctx.tokens, m.first) and _common_word_cued(ctx, m)


def _common_word_cued(ctx: _Context, m: _Match) -> bool:
    """A capitalised common word inside a sentence: a place after a cue, or a well-known
    place unless evidence says otherwise ("the Phoenix" is a ship, "Orange Drugs" a firm)."""
    surface = ctx.text[m.start : m.end]
    the = ctx.prev_word(m.first) == "the"
    nxt = ctx.word(m.last + 1)
    named = bool(nxt and nxt.is_cap and ctx.adjacent(m.last, m.last + 1))
    if _well_known(ctx, surface) and not named:
        # "the Phoenix" is a ship or a paper, "Orange said" a company
        town = ctx.top(surface)[0].kind in _SETTLEMENTS
        return not (town and (the or _next_word(ctx, m) in _SPEECH))
    return not the and (_has_cue(ctx, m) or _qualifying(ctx, m))


def _qualifying(ctx: _Context, m: _Match) -> bool:
    """A region's name after a place and a comma ("Knockhill, Fife"): it says where the
    place is, whatever else the word means."""
    comma, place = ctx.word(m.first - 1), ctx.word(m.first - 2)
    if not (comma and comma.text == "," and place and place.is_cap and place.is_word):
        return False
    if m.end - m.start < 3:
        return False
    region = ctx.text[m.start : m.end]
    if _placed_in(ctx, place.text, region):
        return True
    # A place the gazetteer lacks ("Knockhill", a circuit) before a first-level region.
    top = ctx.top(region)
    unknown = not ctx.gaz.has_key(normalize(place.text)) and not _ordinary(ctx, place)
    return unknown and bool(top) and top[0].kind == "admin1"


def _adjective(ctx: _Context, m: _Match, surface: str) -> bool:
    """A national or regional adjective before a noun ("the English city", "Canadian pension
    obligations") that only happens to be a minor place's name (a river, a hamlet)."""
    if m.first != m.last or not surface.lower().endswith(_ADJECTIVE_ENDINGS):
        return False
    nxt = ctx.word(m.last + 1)
    if not (nxt and nxt.is_word and not nxt.is_cap and ctx.adjacent(m.last, m.last + 1)):
        return False
    top = ctx.top(surface)
    return bool(top) and top[0].kind not in _GLOBAL and top[0].score < STRONG


def _lone_given_name(ctx: _Context, m: _Match, surface: str) -> bool:
    """A given name on its own ("Barry, who was from Dewsbury") is a person unless it is a
    well-known place of that very name or a place cue says otherwise."""
    if m.first != m.last or surface.lower() not in ctx.lex.given_names:
        return False
    top = ctx.top(surface)
    if not top or top[0].kind in _GLOBAL:
        return False
    known = top[0].score >= STRONG and normalize(top[0].name) == normalize(surface)
    return not known and not _has_cue(ctx, m)


def _accept(ctx: _Context, m: _Match, *, known: bool = False, listed: bool = False) -> bool:
    """Whether the match is a toponym; ``known``: the same name is one elsewhere in the text,
    so a minor place needs no cue of its own ("in Samos" ... "the Samos hotspot");
    ``listed``: it stands in a list of places, which is evidence enough for a common word or
    a minor place ("Harbin, Shanghai and Guangzhou")."""
    surface = ctx.text[m.start : m.end]
    key = normalize(surface)
    if key in ctx.persons or _designation(ctx, m, surface) or _workplace(ctx, m, surface):
        return False
    if _titled(ctx, m) or _speaker(ctx, m, surface):
        ctx.persons.add(key)
        return False
    if _is_title(ctx, m, surface) or _part_of_longer_name(ctx, m):
        return False
    if (not listed and _lone_given_name(ctx, m, surface)) or _adjective(ctx, m, surface):
        return False
    if _language(ctx, m, surface) or _organisation(ctx, m, surface):
        ctx.persons.add(key)  # an organisation's name for the rest of the text, too
        return False
    return (
        normalize(surface) not in _DIRECTIONS
        and _acronym_ok(ctx, m, surface)
        and (listed or _common_word_ok(ctx, m, surface))
        and (known or _important_or_cued(ctx, m, surface, listed=listed))
    )


_LIST_JOINS = (",", "and", "or", ",and", ",or")
#: How many names make a list that vouches for its members.
LIST_MIN = 3


def _in_list(ctx: _Context, a: _Match, b: _Match) -> bool:
    """Whether ``b`` follows ``a`` in a list: "A, B", "A and B", "A, and B"."""
    if b.first - a.last > 3:  # at most two tokens between: ", and"
        return False
    between = "".join(ctx.tokens.text_at(j) for j in range(a.last + 1, b.first))
    return between.lower() in _LIST_JOINS and "\n" not in ctx.text[a.end : b.start]


def _listed(ctx: _Context, matches: list[_Match], ok: list[bool]) -> list[bool]:
    """Accept the rejected matches of a list of three or more names of which at least two
    are accepted places ("Harbin, Shanghai and Guangzhou": the list is the evidence; "the
    US or Nato" is no such list)."""
    ok = list(ok)
    chain: list[int] = []
    for k in range(len(matches) + 1):
        if chain and k < len(matches) and _in_list(ctx, matches[chain[-1]], matches[k]):
            chain.append(k)
            continue
        if len(chain) >= LIST_MIN and sum(ok[i] for i in chain) >= LIST_MIN - 1:
            for i in chain:
                m = matches[i]
                initial = _sentence_initial(ctx.text, ctx.tokens, m.first)  # "Still, Hawaii"
                if not ok[i] and not initial:
                    ok[i] = _accept(ctx, m, listed=True)
        chain = [k]
    return ok


def _designation(ctx: _Context, m: _Match, surface: str) -> bool:
    """A short word in lower case or title case ("Co." of a company, "Ga" but not "GA") or
    a minor place's name before a number ("Arc 6" ice class, "Kanal 13"): no place."""
    letters = surface.replace(".", "")
    if len(letters) <= 2 and not letters.isupper() and not surface.endswith("."):
        return True
    nxt = ctx.word(m.last + 1)
    if not (nxt and nxt.text.isdigit() and ctx.adjacent(m.last, m.last + 1)):
        return False
    top = ctx.top(surface)
    return m.first == m.last and bool(top) and top[0].score <= STRONG


def _next_word(ctx: _Context, m: _Match) -> str:
    nxt = ctx.word(m.last + 1)
    return nxt.text.lower() if nxt and nxt.is_word and ctx.adjacent(m.last, m.last + 1) else ""


def _workplace(ctx: _Context, m: _Match, surface: str) -> bool:
    """A building's name before the people who work in it ("White House aides"): the
    institution, not the place (elsewhere in the text it may well be the place)."""
    if _next_word(ctx, m) not in _ROLE_NOUNS:
        return False
    top = ctx.top(surface)
    return bool(top) and top[0].kind == "facility"


def _language(ctx: _Context, m: _Match, surface: str) -> bool:
    """A language's name ("in English", "Arabic and English") that only happens to name a
    minor place (the English River, Ontario): the language, for the whole text."""
    if m.first != m.last or surface.lower() not in ctx.lex.languages or _strong(ctx, surface):
        return False
    comma, region = ctx.word(m.last + 1), ctx.word(m.last + 2)
    if comma and comma.text == "," and region and region.is_cap:  # "English, Indiana"
        top = ctx.top(region.text)
        return not (top and top[0].kind in ("admin1", "country"))
    return True


def _organisation(ctx: _Context, m: _Match, surface: str) -> bool:
    """A minor place's name used for an organisation: before "news agency", "Corp" or the
    like, or as a source ("according to Xinhua"); or for a disease ("Ebola virus")."""
    source = (
        m.first >= 2
        and ctx.tokens.text_at(m.first - 1).lower() == "to"
        and ctx.tokens.text_at(m.first - 2).lower() == "according"
    )
    named_for = _next_word(ctx, m)
    if named_for in _OUTBREAK_NOUNS:
        top = ctx.top(surface)
        return bool(top) and top[0].kind in _NAMESAKE_FEATURES
    if named_for in _DISEASE_NOUNS:
        # A river, a forest or a village gives its name to a disease ("West Nile virus",
        # "Lassa fever"); a major city by its own name is where it broke out ("Wuhan virus").
        top = ctx.top(surface)
        return not (
            top
            and top[0].kind in _COUNTRY_LEVEL | _SETTLEMENTS
            and _strong(ctx, surface)
            and ctx.gaz.is_own_name(surface, top[0])
        )
    return (source or named_for in _ORG_NOUNS) and not _strong(ctx, surface)


def _speaker(ctx: _Context, m: _Match, surface: str) -> bool:
    """A minor place's name as the one who speaks ("Noma said", "said Wu.", "Miranda
    tweeted") is a person's.  Not so after a place cue ("who was from Dewsbury said"), before
    a noun ("said Suffolk City chief of detectives"), or for a country or a major city that
    "said" (its government)."""
    nxt, prev = ctx.word(m.last + 1), ctx.word(m.first - 1)
    says = bool(nxt and nxt.text.lower() in _SPEECH and ctx.adjacent(m.last, m.last + 1))
    said = bool(
        prev and prev.text.lower() in _SPEECH and ctx.adjacent(m.first - 1, m.first)
        and not (nxt and nxt.is_word)
    )  # fmt: skip
    if not (says or said):  # the common case, decided on the neighbours alone
        return False
    return not _strong(ctx, surface) and ctx.prev_word(m.first) not in _LOCATIVE


def _is_title(ctx: _Context, m: _Match, surface: str) -> bool:
    """An abbreviated title before a name ("Sen. Ekweremadu", "Gov. Brown"), not a place."""
    if surface.lower() not in _ABBREVIATED_TITLES:
        return False
    dot, name = ctx.word(m.last + 1), ctx.word(m.last + 2)
    return bool(dot and dot.text == "." and dot.start == m.end and name and name.is_cap)


def _important_or_cued(ctx: _Context, m: _Match, surface: str, *, listed: bool = False) -> bool:
    """A name known only as a hamlet needs a place cue ("in White Swan"; a list of places is
    one), and so does a name that is only another name of a place, sharing no word with its
    own ("Chopin" for Chopinzinho, "Igbo" for Igbo-Ukwu, "Nato"): a list is none for those."""
    top = ctx.top(surface)
    if not top:
        return True
    floor = WEAK_SINGLE if m.first == m.last else WEAK_MULTI
    weak = not listed and top[0].kind in ("city", "port") and top[0].score < floor
    if weak or _nickname_only(ctx, surface, top[0]):
        return _has_cue(ctx, m)
    return True


def _nickname_only(ctx: _Context, surface: str, top: Place) -> bool:
    """Whether every place called ``surface`` has it only as another name (see
    :meth:`Gazetteer.is_nickname`: "Chopin" for Chopinzinho, but "Douma" is Dūmā)."""
    if not ctx.gaz.is_nickname(surface, top):
        return False  # the common case, decided without fetching the other places
    return all(
        ctx.gaz.is_nickname(surface, p) for p in ctx.gaz.candidates(surface, limit=MAX_NAME_CHECK)
    )


def _with_direction(ctx: _Context, m: _Match) -> _Match:
    """Extend "California" to "Southern California" (the modifier is part of the toponym)."""
    prev = ctx.word(m.first - 1)
    if not (prev and prev.is_cap and ctx.adjacent(m.first - 1, m.first)):
        return m
    low = prev.text.lower()
    adjective = low.endswith("ern") or low == "central"  # "Southern", not "South" ("South said")
    initial = _sentence_initial(ctx.text, ctx.tokens, m.first - 1)
    if low in _DIRECTIONS and (adjective or not initial):
        return _Match(m.first - 1, m.last, prev.start, m.end)
    return m


_FACILITY_HEADS = _words(
    """
    street avenue road drive boulevard lane square plaza bridge tunnel airport station
    terminal harbour harbor pier park gardens church cathedral basilica chapel mosque temple
    synagogue hospital clinic school academy university college stadium arena center centre
    library museum gallery hotel tower palace castle mall racecourse cemetery graveyard
    county township parish borough valley lake beach canal creek falls forest estate
    """
)
_HEAD_FIRST = _words("university college lake mount fort port isle")
_ANY_HEAD = _FACILITY_HEADS | _HEAD_FIRST
_LEAD_WORDS = _FUNCTION | _DIRECTIONS
_ARTICLES = _words("the a an")


def _named_span(ctx: _Context, head: int) -> _Match | None:
    """The capitalised name ending in a facility word: "Orange County", "Colorado State
    University", "Third Street"; or starting with one: "University of California"."""
    tokens, i = ctx.tokens, head
    while i - 1 >= 0 and ctx.adjacent(i - 1, i) and tokens[i - 1].is_cap and tokens[i - 1].is_word:
        i -= 1
    while i < head and tokens[i].text.lower() in _LEAD_WORDS and i == head - 1:
        i += 1
    # A capitalised article is not part of the name ("The Mozart Estate is", "- The
    # Christian County Sheriff's Office").
    while i < head and tokens[i].text.lower() in _ARTICLES:
        i += 1
    if i < head and not (
        _sentence_initial(ctx.text, tokens, i) and tokens[i].text.lower() in _FUNCTION
    ):
        return _Match(i, head, tokens[i].start, tokens[head].end)
    low = tokens[head].text.lower()
    of, name = ctx.word(head + 1), ctx.word(head + 2)
    if low in _HEAD_FIRST and of and of.text == "of" and name and name.is_cap and name.is_word:
        j = head + 2
        while ctx.word(j + 1) and ctx.adjacent(j, j + 1) and tokens[j + 1].is_cap:
            j += 1
        return _Match(head, j, tokens[head].start, tokens[j].end)
    return None


def named_facilities(ctx: _Context) -> list[_Match]:
    """Spans named like places though the gazetteer lacks them (streets, schools, counties)."""
    out: list[_Match] = []
    for i in ctx.tokens.capitalised:
        if ctx.tokens.text_at(i).lower() in _ANY_HEAD:
            found = _named_span(ctx, i)
            if found and not (out and found.start < out[-1].end):
                out.append(found)
    return out


def _merge(gazetteer_hits: list[_Match], named: list[_Match]) -> list[_Match]:
    """Keep named spans that contain gazetteer hits (the longer name wins), in text order.

    ``named`` is sorted and non-overlapping; both lookups are binary searches, so a long
    text costs O(n log n), not hits × names.
    """
    starts = [n.start for n in named]

    def inside_named(m: _Match) -> bool:
        i = bisect.bisect_right(starts, m.start) - 1
        return i >= 0 and m.end <= named[i].end

    keep = sorted((m for m in gazetteer_hits if not inside_named(m)), key=lambda m: m.start)
    keep_starts = [m.start for m in keep]
    reach = list(itertools.accumulate((m.end for m in keep), max))

    def overlaps_kept(n: _Match) -> bool:
        i = bisect.bisect_left(keep_starts, n.end) - 1  # kept matches starting before n ends
        return i >= 0 and reach[i] > n.start

    extra = [n for n in named if not overlaps_kept(n)]
    return sorted(keep + extra, key=lambda m: m.start)


def recognize(text: str, gaz: Gazetteer, lex: Lexicon, *, article_id: str = "") -> list[Mention]:
    """Find the toponyms of ``text``.

    Returns
    -------
    list of Mention
        In text order, non-overlapping, each with ``text[m.start:m.end] == m.text``.
    """
    tokens = Tokens(text)
    ctx = _Context(text, tokens, gaz, lex, set())
    matches = candidates(text, tokens, gaz)
    accepted = _listed(ctx, matches, [_accept(ctx, m) for m in matches])
    # One sense per text: a minor place named "in X" is a place where it has no cue, too.
    places = {
        normalize(text[m.start : m.end])
        for m, ok in zip(matches, accepted, strict=True)
        if ok and ctx.prev_word(m.first) in _IN_PLACE
    }
    # ... and a place preposition outweighs the name's use in a longer name elsewhere
    # ("Riverdale Lukoil South", a shop, beside "in Riverdale").
    found = []
    for m, ok in zip(matches, accepted, strict=True):
        key = normalize(text[m.start : m.end])
        if not ok and key in places:
            ctx.persons.discard(key)
        if ok or (key in places and _accept(ctx, m, known=True)):
            found.append(m)
    # A name that was a person anywhere in the article is a person everywhere in it.
    persons = ctx.persons - places
    found = [m for m in found if normalize(text[m.start : m.end]) not in persons]
    found = [_with_direction(ctx, m) for m in found]
    named = [m for m in named_facilities(ctx) if not _titled(ctx, m)]
    found = _merge(found, named)
    return [Mention(article_id, m.start, m.end, text[m.start : m.end]) for m in found]


def recognize_all(
    texts: Iterable[tuple[str, str]], gaz: Gazetteer, lex: Lexicon
) -> dict[str, list[Mention]]:
    """Recognize ``(article_id, text)`` pairs; returns mentions by article id."""
    return {aid: recognize(text, gaz, lex, article_id=aid) for aid, text in texts}
