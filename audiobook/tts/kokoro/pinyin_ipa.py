"""One pinyin syllable (TONE3, e.g. "zhong1", "de5") → the IPA Kokoro v1.0 was trained on.

The tables are those of pinyin-to-ipa (Stefan Taubert, MIT) as adapted in misaki 0.9.4
(hexgrad, Apache-2.0), reduced to what misaki's `py2ipa` uses: the first variant of each initial
and final, tone letters turned into arrows (˥ →, ˧˥ ↗, ˧˩˧ ↓, ˥˩ ↘, neutral: none), the apical vowels
ɻ̩ and ɹ̩ written ɨ, and the non-syllabic mark U+032F dropped.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)

INITIALS = {
    "b": "p", "c": "ʦʰ", "ch": "ꭧʰ", "d": "t", "f": "f", "g": "k", "h": "x", "j": "ʨ", "k": "kʰ", "l": "l",
    "m": "m", "n": "n", "p": "pʰ", "q": "ʨʰ", "r": "ɻ", "s": "s", "sh": "ʂ", "t": "tʰ", "x": "ɕ", "z": "ʦ",
    "zh": "ꭧ",
}  # fmt: skip

# Finals with "0" where the tone goes.
FINALS = {
    "a": "a0", "ai": "ai0", "an": "a0n", "ang": "a0ŋ", "ao": "au0", "e": "ɤ0", "ei": "ei0", "en": "ə0n",
    "eng": "ə0ŋ", "i": "i0", "ia": "ja0", "ian": "jɛ0n", "iang": "ja0ŋ", "iao": "jau0", "ie": "je0",
    "in": "i0n", "iou": "jou0", "ing": "i0ŋ", "iong": "jʊ0ŋ", "ong": "ʊ0ŋ", "ou": "ou0", "u": "u0",
    "uei": "wei0", "ua": "wa0", "uai": "wai0", "uan": "wa0n", "uen": "wə0n", "uang": "wa0ŋ", "ueng": "wə0ŋ",
    "uo": "wo0", "o": "wo0", "ü": "y0", "üe": "ɥe0", "üan": "ɥɛ0n", "ün": "y0n",
}  # fmt: skip
AFTER_RETROFLEX = {"i": "ɨ0"}  # zhi chi shi ri
AFTER_SIBILANT = {"i": "ɨ0"}  # zi ci si
WHOLE = {  # interjections and syllabic consonants
    "io": "jɔ0", "ê": "ɛ0", "er": "ɚ0", "o": "ɔ0", "hm": "hm0", "hng": "hŋ0", "m": "m0", "n": "n0", "ng": "ŋ0",
}  # fmt: skip
TONES = {"1": "→", "2": "↗", "3": "↓", "4": "↘", "5": ""}


@functools.cache
def syllable_ipa(tone3: str) -> str:
    """"zhong1" → "ꭧʊ→ŋ"; "" (and a warning) for what isn't a pinyin syllable."""
    from pypinyin.contrib.tone_convert import to_finals, to_initials

    base, tone = tone3[:-1], tone3[-1:]
    if tone not in TONES:
        base, tone = tone3, "5"
    base = base.replace("v", "ü")
    if not base.isascii() and "ü" not in base and "ê" not in base:
        log.warning("kokoro: %r is not a pinyin syllable; skipped", tone3)
        return ""
    if base in WHOLE:
        return WHOLE[base].replace("0", TONES[tone])
    initial = to_initials(base, strict=True)
    final = to_finals(base, strict=True, v_to_u=True)
    if initial in ("zh", "ch", "sh", "r") and final in AFTER_RETROFLEX:
        final_ipa = AFTER_RETROFLEX[final]
    elif initial in ("z", "c", "s") and final in AFTER_SIBILANT:
        final_ipa = AFTER_SIBILANT[final]
    else:
        final_ipa = FINALS.get(final, "")
    if not final_ipa or (initial and initial not in INITIALS):
        log.warning("kokoro: no IPA for pinyin %r; skipped", tone3)
        return ""
    return INITIALS.get(initial, "") + final_ipa.replace("0", TONES[tone])
