"""Alpine package versions, compared exactly as apk-tools 2.14 compares them (Qt-free).

A version is `digits{.digits}...{letter}{_suffix{digits}}...{-rN}`, e.g. `1.2.3a_rc1_p2-r3`.
apk reads it as a stream of tokens and compares token by token:

- numbers compare as numbers; after a `.`, a run of leading zeros but the last is a token of
  its own worth minus their number (so `1.0 > 1.00` and `1.01 < 1.1`, as apk says);
- a letter right after a number (`1.2a`) compares by its character;
- suffixes rank `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`;
- `-rN` is the package revision;
- when one version runs out first, it is the smaller one, unless the other goes on with a
  pre-release suffix (`1.0_rc1 < 1.0`);
- a number of 18 or more digits, an unknown suffix, an upper-case
  letter or stray punctuation makes the version invalid; apk still orders invalid versions
  (deterministically but oddly), and so does `compare`.

These rules are apk 2.14.4's own (the minirootfs's apk-tools): `tests/test_apk_version.py`
checks `compare` and `is_valid` against that binary on thousands of generated pairs.

`satisfies(version, op, wanted)` is apk's dependency match for the operators of `D:` fields and
the world: "", "=", "<", ">", "<=", ">=", "~" (fuzzy: equal token by token as far as the
shorter one goes, so `~1.2` takes 1.2, 1.2.9 and 1.2_rc1 but not 1.20, and `~1.2.3` takes 1.2:
apk 2.14.4 does so) and "><" (a checksum: the package whose `C:` is `wanted`).
"""

from __future__ import annotations

from functools import lru_cache

# Token kinds, in apk's order: the order matters (a token may only be followed by a later kind,
# with three exceptions) and it decides comparisons where one version runs out first.
_INVALID = -1
_DIGIT_OR_ZERO = 0  # a number after '.': leading zeros get a token of their own
_DIGIT = 1
_LETTER = 2
_SUFFIX = 3
_SUFFIX_NO = 4
_REVISION_NO = 5
_END = 6

_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")  # rank -4..-1: before the plain release
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")  # rank 0..4: after it
_MAX_DIGITS = 18  # apk refuses a number this long (it must fit its 64-bit arithmetic)

LESS, EQUAL, GREATER = -1, 0, 1

OPERATORS = ("", "=", "<", ">", "<=", ">=", "~", "><")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_lower(c: str) -> bool:
    return "a" <= c <= "z"


class _Tokens:
    """apk's tokenizer (version.c get_token/next_token) over one version string."""

    __slots__ = ("text", "pos", "kind")

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.kind = _DIGIT

    def _next_kind(self) -> None:
        """Decide the kind of the token starting at `pos` (consuming its separator)."""
        text, pos, kind = self.text, self.pos, self.kind
        if pos >= len(text):
            new = _END
        elif kind in (_DIGIT, _DIGIT_OR_ZERO) and _is_lower(text[pos]):
            new = _LETTER
        elif kind == _LETTER and _is_digit(text[pos]):
            new = _DIGIT
        elif kind == _SUFFIX and _is_digit(text[pos]):
            new = _SUFFIX_NO
        else:
            c = text[pos]
            if c == ".":
                new = _DIGIT_OR_ZERO
            elif c == "_":
                new = _SUFFIX
            elif c == "-" and pos + 1 < len(text) and text[pos + 1] == "r":
                new = _REVISION_NO
                pos += 1
            else:
                new = _INVALID
            pos += 1
        # A token may only follow an earlier kind, except: '.' after a number, a suffix after a
        # suffix number, a number after a letter.
        if new < kind and not (
            (new == _DIGIT_OR_ZERO and kind == _DIGIT)
            or (new == _SUFFIX and kind == _SUFFIX_NO)
            or (new == _DIGIT and kind == _LETTER)
        ):
            new = _INVALID
        self.pos = pos
        self.kind = new

    def _invalid(self) -> int:
        self.kind = _INVALID
        return -1

    def take(self) -> int:
        """The value of the current token; moves on to the next one (or END/INVALID)."""
        text, pos, kind = self.text, self.pos, self.kind
        if pos >= len(text):
            self.kind = _END
            return 0
        size = 0
        value = 0
        follows = _INVALID
        if kind == _DIGIT_OR_ZERO and text[pos] == "0":
            # All but the last of the leading zeros: their count, negated, is a token of its
            # own; the last zero starts the number that follows.
            while pos + size + 1 < len(text) and text[pos + size + 1] == "0":
                size += 1
            value = -size
            follows = _DIGIT
        elif kind in (_DIGIT_OR_ZERO, _DIGIT, _SUFFIX_NO, _REVISION_NO):
            while pos + size < len(text) and _is_digit(text[pos + size]):
                value = value * 10 + ord(text[pos + size]) - 48
                size += 1
            if size >= _MAX_DIGITS:
                return self._invalid()
        elif kind == _LETTER:
            value = ord(text[pos])
            size = 1
        elif kind == _SUFFIX:
            rest = text[pos:]
            for rank, suffix in enumerate(_PRE_SUFFIXES, start=-len(_PRE_SUFFIXES)):
                if rest.startswith(suffix):
                    value, size = rank, len(suffix)
                    break
            else:
                for rank, suffix in enumerate(_POST_SUFFIXES):
                    if rest.startswith(suffix):
                        value, size = rank, len(suffix)
                        break
                else:
                    return self._invalid()
        else:
            return self._invalid()
        self.pos = pos + size
        if self.pos >= len(text):
            self.kind = _END
        elif follows != _INVALID:
            self.kind = follows
        else:
            self._next_kind()
        return value


def _peek_suffix(tokens: _Tokens) -> int:
    """The rank of the suffix `tokens` stands at, without moving it (negative: pre-release)."""
    probe = _Tokens(tokens.text)
    probe.pos, probe.kind = tokens.pos, tokens.kind
    return probe.take()


def _compare(a: str, b: str, fuzzy: bool) -> int:
    ta, tb = _Tokens(a), _Tokens(b)
    va = vb = 0
    while ta.kind == tb.kind and ta.kind not in (_END, _INVALID) and va == vb:
        va = ta.take()
        vb = tb.take()
    if va < vb:
        return LESS
    if va > vb:
        return GREATER
    if ta.kind == tb.kind or fuzzy:
        # Fuzzy: equal as far as both go, whichever runs out first (apk 2.14: 1.2 ~ 1.2.3 and
        # 1.2.3 ~ 1.2 both match).
        return EQUAL
    # Equal so far and one goes on: the longer one is newer, unless it goes on with a
    # pre-release suffix.
    if ta.kind == _SUFFIX and _peek_suffix(ta) < 0:
        return LESS
    if tb.kind == _SUFFIX and _peek_suffix(tb) < 0:
        return GREATER
    if ta.kind > tb.kind:
        return LESS
    if tb.kind > ta.kind:
        return GREATER
    return EQUAL


@lru_cache(maxsize=65536)
def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as apk orders versions `a` and `b` (`apk version -t a b` prints <, = or >)."""
    return _compare(a, b, False)


@lru_cache(maxsize=65536)
def is_valid(version: str) -> bool:
    """Whether apk accepts `version` (`apk version -c` is silent about it)."""
    tokens = _Tokens(version)
    while tokens.kind not in (_END, _INVALID):
        tokens.take()
    return tokens.kind == _END


def fuzzy_match(version: str, wanted: str) -> bool:
    """apk's `~`: equal token by token as far as the shorter goes (1.2.3 ~ 1.2, 1.2 ~ 1.2.3, not
    1.20 ~ 1.2, not 1.2-r1 ~ 1.2-r0)."""
    return _compare(version, wanted, True) == EQUAL


def satisfies(version: str | None, op: str, wanted: str = "", *, checksum: str = "") -> bool:
    """Whether a provider at `version` meets the constraint `op wanted` as apk matches it.

    `version` None is a provider without a version (a bare `p:` name): it meets only a
    constraint without a version. For "><" (a checksum constraint), `wanted` is compared with
    `checksum` (the provider's package `C:`), not with the version."""
    if op == "":
        return True
    if op == "><":
        return bool(checksum) and checksum == wanted
    if version is None:
        return False
    if op == "~":
        return fuzzy_match(version, wanted)
    order = compare(version, wanted)
    if order == EQUAL:
        return op in ("=", "<=", ">=")
    if order == LESS:
        return op in ("<", "<=")
    return op in (">", ">=")
