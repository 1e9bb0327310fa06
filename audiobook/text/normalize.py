"""Spoken form: what the engine is asked to say for one sentence of display text.

Stages, in order (each a small function below):
1. `_prepare`      full-width letters/digits → ASCII; thousands commas (`4,000字`) removed;
                   leading bullet marks dropped. In a Chinese sentence the remaining ASCII
                   `, ; : ? !` stand for Chinese marks and become them (`資本,而是`): the
                   engines use them for prosody, and wetext works clause by clause on them.
2. `_split_urls`   URLs and e-mails are never verbalized digit by digit: a URL is read as
                   its host without `www.` (`https://x.com/a/123` → "x.com"), the path is
                   dropped; an e-mail is read as user 艾特 host (local) or left to edge.
3. `_split_lexicon` lexicon words (voices/lexicon.toml) → the engine's reading.
4. `_verbalize`    the rest goes through wetext (WeTextProcessing's FSTs) clause by
                   clause, wrapped in a regex pre/post pass for its known article bugs
                   (`GPT-4`, ranges, `第2天`, thousands commas, `12.9英寸`, `-3.5%`, `US$`,
                   citation years); see reference/zh-text-normalization.md §1.4.
5. `_finish`       `|` → ，and `/` → 、 (pauses, not "slash"); spaces next to Chinese dropped.
                   Local engine: any Latin word left is read letter by letter with Chinese
                   letter names (reported as "spell:WORD"), stray digits one by one.
Traditional characters are kept as written (T→S belongs to the local voice's front end).
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..store.memo import remembered
from .lexicon import DIGIT_NAMES, ENGINES, Lexicon, load_lexicon, speaks_english, spell_out

if TYPE_CHECKING:
    from wetext import Normalizer as WetextNormalizer

__all__ = ["Normalizer", "Spoken", "load_lexicon", "wetext_normalize"]

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u2014\u2018\u2019\u201c\u201d\u2026"

_wetext: WetextNormalizer | None = None
_wetext_lock = threading.Lock()


def _wetext_normalizer() -> WetextNormalizer:
    """One wetext Normalizer per process, created on first use (FST load ~0.7 s)."""
    global _wetext
    with _wetext_lock:
        if _wetext is None:
            from wetext import Normalizer as WetextNormalizer

            _wetext = WetextNormalizer(
                lang="zh", operator="tn", traditional_to_simple=False, full_to_half=False,
                remove_interjections=False, remove_puncts=False, tag_oov=False, remove_erhua=False,
            )  # fmt: skip
        return _wetext


def wetext_normalize(text: str) -> str:
    """wetext's spoken form of `text`, remembered (store/memo.py): loading wetext costs ~0.5 s a process."""
    return str(remembered("wetext", _wetext_version(), text, lambda: _wetext_normalizer().normalize(text)))


@functools.cache
def _wetext_version() -> str:
    """Everything wetext's answer depends on: its version and the options above (bump on change)."""
    return f"wetext {metadata.version('wetext')}; zh tn options 1"


@dataclass
class Spoken:
    text: str  # spoken form
    lexicon_hits: list[str] = field(default_factory=list)  # lexicon keys, "spell:WORD" for fallbacks


@dataclass
class _Piece:
    text: str
    done: bool  # already spoken form: wetext and the lexicon leave it alone
    source: str = ""  # the display text it came from


class Normalizer:
    def __init__(self, lexicon: Lexicon, engine: str):
        if engine not in ENGINES:
            allowed = ", ".join(ENGINES)
            raise ConfigError(f"unknown engine {engine!r} for text normalization; allowed: {allowed}")
        self.lexicon = lexicon
        self.engine = engine

    def spoken(self, text: str) -> Spoken:
        hits: list[str] = []
        text = _prepare(text)
        pieces = self._split_urls(text, hits)
        if _HAS_CJK.search(text):
            for piece in pieces:
                if not piece.done:
                    piece.text = _chinese_punct(piece.text)
        pieces = self._split_lexicon(pieces, hits)
        out = []
        for i, piece in enumerate(pieces):
            if piece.done:
                out.append(piece.text)
            else:
                prev = pieces[i - 1].source if i else ""
                out.append(_verbalize(piece.text, after_word=bool(re.search(r"[A-Za-z0-9]$", prev))))
        spoken = _finish("".join(out), self.engine, hits)
        return Spoken(text=spoken, lexicon_hits=list(dict.fromkeys(hits)))

    # -- stage 2 -----------------------------------------------------------------------
    def _split_urls(self, text: str, hits: list[str]) -> list[_Piece]:
        pieces: list[_Piece] = []
        pos = 0
        for m in _URL_OR_EMAIL.finditer(text):
            url = m.group(0).rstrip(".,;:!?)'\"")
            if m.start() > pos:
                pieces.append(_Piece(text[pos : m.start()], False, text[pos : m.start()]))
            pieces.append(_Piece(self._read_address(url, hits), True, url))
            pos = m.start() + len(url)
        if pos < len(text):
            pieces.append(_Piece(text[pos:], False, text[pos:]))
        return pieces

    def _read_address(self, address: str, hits: list[str]) -> str:
        if "@" in address and "://" not in address:
            user, host = address.split("@", 1)
            if speaks_english(self.engine):
                return address
            return self._read_host(user, hits) + "艾特" + self._read_host(host, hits)
        host = re.sub(r"^(?:[a-z][a-z0-9+.-]*://)?", "", address, flags=re.I)
        host = re.split(r"[/?#:]", host, maxsplit=1)[0].lower()
        host = re.sub(r"^www\.", "", host)
        return self._read_host(host, hits)

    def _read_host(self, host: str, hits: list[str]) -> str:
        entry = self.lexicon.get(host)
        if entry is not None:
            hits.append(host)
            return entry.reading(self.engine)
        if speaks_english(self.engine):
            return host
        return "点".join(self._read_host_part(label, hits) for label in host.split("."))

    def _read_host_part(self, label: str, hits: list[str]) -> str:
        entry = self.lexicon.get(label)
        if entry is not None:
            hits.append(label)
            return entry.reading(self.engine)
        # digits one by one; letters stay for _finish to spell (and report)
        return "".join(DIGIT_NAMES.get(ch, ch) for ch in label if ch.isalnum())

    # -- stage 3 -----------------------------------------------------------------------
    def _split_lexicon(self, pieces: list[_Piece], hits: list[str]) -> list[_Piece]:
        out: list[_Piece] = []
        for piece in pieces:
            if piece.done:
                out.append(piece)
                continue
            pos = 0
            for m in self.lexicon.finditer(piece.text):
                if m.start() > pos:
                    out.append(_Piece(piece.text[pos : m.start()], False, piece.text[pos : m.start()]))
                word = m.group(0)
                hits.append(word)
                out.append(_Piece(self.lexicon.entries[word].reading(self.engine), True, word))
                pos = m.end()
            if pos < len(piece.text):
                out.append(_Piece(piece.text[pos:], False, piece.text[pos:]))
        return out


# ---- stage 1: prepare ---------------------------------------------------------------------
_FULLWIDTH_ALNUM = re.compile("[０-９Ａ-Ｚａ-ｚ％]")
_ASCII_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_LEADING_MARKS = re.compile(r"^[\s?？!！,，;；:：、|]+")
_ASCII_MARK = re.compile(r"[,;?!]|(?<!\d):|:(?!\d)")
_HAS_CJK = re.compile(f"[{CJK}]")


def _prepare(text: str) -> str:
    text = _FULLWIDTH_ALNUM.sub(lambda m: chr(ord(m.group(0)) - 0xFEE0), text)
    text = _LEADING_MARKS.sub("", text.strip())
    return _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)


def _chinese_punct(text: str) -> str:
    """In a Chinese sentence, ASCII `, ; : ? !` stand for the Chinese marks: use those.
    (Only a colon inside a time, 10:30, stays; thousands commas are already gone.)"""
    return _ASCII_MARK.sub(lambda m: _ASCII_TO_FULL[m.group(0)], text)


# ---- stage 4: numbers (wetext + pre/post pass) -------------------------------------------
_NUM = r"\d+(?:\.\d+)?"
_URL_OR_EMAIL = re.compile(
    r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+",
    re.I,
)
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?!\d)(?!,\d)")
_WORD_HYPHEN = re.compile(r"(?<=[A-Za-z])-(?=\d)|(?<=\d)-(?=[A-Za-z])")
# wetext leaves US$420 → "US四百二十美元", $1.5万 → "$一点五万", ₩100 → "₩一百"
_CURRENCY_NAMES = {"US$": "美元", "$": "美元", "€": "欧元", "£": "英镑", "₩": "韩元"}
_CURRENCY_PREFIX = re.compile(rf"(?<![A-Za-z])(US\$|[$€£₩])\s*({_NUM})([万亿]?)")
_SYMBOL_BEFORE_YUAN = re.compile(rf"[¥￥]\s*({_NUM})(?=\s*元)")
_NEGATIVE = re.compile(rf"(?<![\w.])[-−]({_NUM}%|\d+/\d+|百分之)")  # -3.5% → 负…, not 百分之负…
_LEADING_ZERO_DATE = re.compile(r"(?<!\d)0(\d)(?=[月日号])")  # 08月08号: wetext says 零八月
_SCORE = re.compile(r"(比分|比数)(\D{0,4}?)(\d+)[:：](\d+)")
_RANGE = re.compile(rf"(?<![\d.\-/:])({_NUM})(%?)\s?[-–—]\s?({_NUM})(%?)(?![\d\-/:.])(?=(\s*[{CJK}%])?)")
# 10.5 / 12.9: wetext reads x.y with x in 10..12 as a date (十二月九日); in prose it is a decimal.
_MONTH_LIKE_DECIMAL = re.compile(r"(?<![\d.])(1[0-2])\.(\d{1,2})(?![\d.%])")
_HANZI_DIGIT = "一二三四五六七八九十"
_ORDINAL_LIST = re.compile(rf"(第[\d{_HANZI_DIGIT}]+(?:[，、][{_HANZI_DIGIT}]+)*[，、])(\d{{1,2}})(?!\d)")
_CITATION_YEAR = re.compile(r"(?<=[(（，\s])((?:1[5-9]|20)\d\d)(?=\s*[)）\]】；，])")
# clause marks, except a full-width colon inside a time (22：58)
_CLAUSE = re.compile("([，。；？！、]|(?<!\\d)：|：(?!\\d))")
_NEEDS_WETEXT = re.compile(r"[0-9±≥≤≠×÷²³°℃]")
# Digit strings that name rather than count (phone numbers, codes, rooms, card tails) are read digit
# by digit, 1 as 幺 as people read them aloud; so are years, two-digit ones too (86年 → 八六年).
_YAO_DIGITS = dict(DIGIT_NAMES, **{"1": "幺"})
_INTERNATIONAL_PHONE = re.compile(r"(?<![\d+])\+(\d{1,3})((?:[\s-]?\d{2,5}){2,5})(?!\d)")
_LANDLINE = re.compile(r"(?<![\d.])(0\d{2,3})[\s-](\d{7,8})(?![\d.])")
_MOBILE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?![\d.])")
_IDENTIFIER = re.compile(r"(电话|手机|热线|传真|编号|号码|工号|房间|房号|门牌|邮编|邮政编码|QQ|尾号|账号|帐号|卡号|"
                         r"单号|学号|车次|航班|验证码|密码)(号码|号)?(\s*(?:是|为|：|:)?\s*)(\d{3,})(?![\d.])")
# a count of years, not a year: 活了86年, 近30年, 有2000年历史
_COUNT_BEFORE = "了过近约共多整几每满足达历有超逾"
_YEAR = re.compile(rf"(?<![\d.第{_COUNT_BEFORE}])(1\d{{3}}|20\d{{2}}|[3-9]\d|0\d)(?=年(?!代|级|纪)(.?))")
_YEAR_RANGE = re.compile(r"(?<![\d.])(1\d{3}|20\d{2})(\s*[-–—~～到至]\s*)(1\d{3}|20\d{2})(?=年)")
_YEARS_COUNT = re.compile(rf"(?<=[{_COUNT_BEFORE}])(\d{{2,4}})(?=多?年(?!代|级|纪))")
_POST_FIXES = [
    (re.compile("第两"), "第二"),  # 第2天, 第200名: the 两 rule leaks into ordinals
    (re.compile("月两([日号])"), r"月二\1"),  # 9月2日
]


def _verbalize(text: str, after_word: bool = False) -> str:
    if after_word and re.match(r"-\d", text):
        text = " " + text[1:]  # GPT-4 where GPT was a lexicon word: hyphen, not minus
    text = _pre_pass(text)
    spoken = "".join(
        wetext_normalize(part) if _NEEDS_WETEXT.search(part) else part for part in _CLAUSE.split(text)
    )
    for pattern, repl in _POST_FIXES:
        spoken = pattern.sub(repl, spoken)
    return spoken


def _pre_pass(text: str) -> str:
    text = _INTERNATIONAL_PHONE.sub(lambda m: "加" + _yao(m.group(1)) + "，" + _yao(m.group(2)), text)
    text = _LANDLINE.sub(lambda m: _yao(m.group(1)) + "，" + _yao(m.group(2)), text)
    text = _IDENTIFIER.sub(lambda m: m.group(1) + (m.group(2) or "") + m.group(3) + _yao(m.group(4)), text)
    text = _MOBILE.sub(lambda m: _yao(m.group(0)), text)
    text = _YEAR_RANGE.sub(lambda m: _digits(m.group(1)) + "到" + _digits(m.group(3)), text)
    text = _YEAR.sub(_year, text)
    text = _YEARS_COUNT.sub(lambda m: _cardinal(m.group(1)), text)  # wetext would read 有2000年 as a year
    text = _WORD_HYPHEN.sub(" ", text)
    text = _CURRENCY_PREFIX.sub(lambda m: m.group(2) + m.group(3) + _CURRENCY_NAMES[m.group(1)], text)
    text = _LEADING_ZERO_DATE.sub(r"\1", text)
    text = _SCORE.sub(r"\1\2\3比\4", text)
    text = _SYMBOL_BEFORE_YUAN.sub(r"\1", text)
    text = _RANGE.sub(_range, text)
    text = _NEGATIVE.sub(r"负\1", text)
    text = _ordinal_lists(text)
    text = _MONTH_LIKE_DECIMAL.sub(lambda m: _small_int(int(m.group(1))) + "点" + _digits(m.group(2)), text)
    return _CITATION_YEAR.sub(lambda m: _digits(m.group(1)), text)


def _ordinal_lists(text: str) -> str:
    """`第1，2名` → 第1，二名: the second number is an ordinal too (wetext would say 两)."""
    while True:
        new = _ORDINAL_LIST.sub(lambda m: m.group(1) + _small_int(int(m.group(2))), text)
        if new == text:
            return text
        text = new


def _range(m: re.Match[str]) -> str:
    """`5-10年`, `10%-20%`, `10-20%` → 到; dates, phone numbers and bare scores stay."""
    left, lpct, right, rpct, unit = m.groups()
    if not (lpct or rpct or unit):
        return m.group(0)  # 中国1-2 (a score), a bare pair: leave it to wetext
    if "." not in left + right:
        if len(left) == 4 and len(right) <= 2:
            return m.group(0)  # 2002-01 (year-month)
        if left.startswith("0") or len(right) >= 5:
            return m.group(0)  # 010-64035547 (telephone)
    if rpct and not lpct:
        lpct = "%"  # 10-20% → 10%到20%
    return f"{left}{lpct}到{right}{rpct}"


def _digits(s: str) -> str:
    return "".join(DIGIT_NAMES[d] for d in s)


def _year(m: re.Match[str]) -> str:
    """A year digit by digit (1998年, 86年), unless what follows makes it a span of years: 30年前,
    1000年来 (a two-digit number or a round hundred before 前/后/来/间)."""
    digits, after = m.group(1), m.group(2)
    if after and after in "前后来间" and (len(digits) == 2 or int(digits) % 100 == 0):
        return _cardinal(digits)
    return _digits(digits)


def _cardinal(digits: str) -> str:
    """An integer as a count (两千, 八十六), from wetext's reading of it as a count of things."""
    return wetext_normalize(f"{int(digits)}个").removesuffix("个")


def _yao(s: str) -> str:
    """Digits one by one, 1 as 幺, separators between groups kept as a short pause."""
    return "".join(_YAO_DIGITS.get(ch, "，" if ch in " -" else "") for ch in s.strip()).strip("，")


def _small_int(n: int) -> str:
    """0..99 as a Chinese cardinal."""
    if n < 10:
        return DIGIT_NAMES[str(n)]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else DIGIT_NAMES[str(tens)]
    return head + "十" + ("" if ones == 0 else DIGIT_NAMES[str(ones)])


# ---- stage 5: finish ----------------------------------------------------------------------
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
# Chinese needs no spaces; a space next to a Chinese character or mark is dropped
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{CJK}{CJK_PUNCT}])\\s+|\\s+(?=[{CJK}{CJK_PUNCT}])")


def _finish(text: str, engine: str, hits: list[str]) -> str:
    text = text.replace("|", "，")
    text = re.sub(r"(?<=\S)/(?=\S)", "、", text)  # 官方媒體/網絡新聞 (numeric fractions are already read)
    if engine == "local":
        text = text.replace("@", "艾特").replace("&", "和")

        def spell(m: re.Match[str]) -> str:
            hits.append(f"spell:{m.group(0)}")
            return spell_out(m.group(0), "local")

        text = _LATIN_WORD.sub(spell, text)
        text = re.sub(r"\d", lambda m: DIGIT_NAMES[m.group(0)], text)
    text = _SPACE_BETWEEN_CJK.sub("", text)
    return re.sub(r"\s{2,}", " ", text).strip()
