"""Non-content lines that are not narrated: reading-time headers, editor/layout/source
credits, platform disclaimers, bare reference URLs. Each rule has a name so users can
switch it off (`[boilerplate] disable = ["credits"]`) or add their own patterns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError

_CREDIT_ROLES = (
    "排版|編輯|编辑|主編|主编|責編|责编|責任編輯|责任编辑|來源|来源|校對|校对|審核|审核|審校|审校|美編|美编|"
    "監製|监制|出品|策劃|策划|翻譯|翻译|編譯|编译|撰文|文字|攝影|摄影|圖片|图片|配圖|配图|圖源|图源|視覺|视觉|設計|设计|統籌|统筹"
)

DEFAULT_RULES: dict[str, str] = {
    # 全文 4,000字 | 閱讀約10分鐘 ; 阅读时间 5 分钟 ; 本文约3000字，预计阅读8分钟
    "reading-time": r"(全文|本文)?\s*(約|约)?\s*[\d,，.]+\s*(字|words).{0,12}(閱讀|阅读|read).{0,8}\d+\s*"
                    r"(分鐘|分钟|min).{0,6}|(閱讀|阅读)(時間|时间|約|约|大約|大约)\s*[:：]?\s*\d+\s*(分鐘|分钟).{0,6}",
    # 編輯:深思 ; 主編: 圖靈 ; 來源:官方媒體/網絡新聞 (a short role: name line)
    "credits": rf"(【|\[)?({_CREDIT_ROLES})(】|\])?\s*[:：|丨]\s*.{{0,30}}",
    # 特別聲明:以上內容… ; 免责声明：…
    "disclaimer-zh": r"(特別聲明|特别声明|免責聲明|免责声明|版權聲明|版权声明|聲明|声明)\s*[:：].*",
    "disclaimer-en": r"(Notice|Disclaimer|Copyright|©)\b.*(uploaded|posted|platform|rights reserved|"
                     r"information storage|do(es)? not represent).*",
    # 參考資料:https://… ; 原文链接: https://… ; a URL alone on a line
    "reference-url": r"((參考資料|参考资料|參考|参考|原文鏈接|原文链接|原文|鏈接|链接|來源|来源|Source|References?"
                     r"|Link)\s*[:：]?\s*)?(https?://|www\.)\S+",
}


@dataclass(frozen=True)
class Rule:
    name: str
    regex: re.Pattern[str]


def build_rules(extra: Sequence[str] = (), disable: Sequence[str] = ()) -> list[Rule]:
    unknown = sorted(set(disable) - set(DEFAULT_RULES))
    if unknown:
        raise ConfigError(
            f"[boilerplate] disable: unknown rule {unknown[0]!r}; known: {', '.join(DEFAULT_RULES)}"
        )
    rules = [Rule(n, re.compile(p, re.IGNORECASE)) for n, p in DEFAULT_RULES.items() if n not in disable]
    rules += [Rule(f"custom:{p}", re.compile(p)) for p in extra]
    return rules


def match_rule(line: str, rules: Sequence[Rule]) -> str | None:
    """Name of the first rule matching the whole (stripped) line, else None."""
    text = line.strip()
    for rule in rules:
        if rule.regex.fullmatch(text):
            return rule.name
    return None
