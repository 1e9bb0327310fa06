"""Words listeners read (show notes, MP3 comments, the show's web pages), in the show's language:
Simplified or Traditional Chinese, English otherwise. No engine names or other jargon."""

from __future__ import annotations

from typing import Literal

Script = Literal["hans", "hant", "en"]

_TEXTS: dict[str, dict[Script, str]] = {
    "synthetic_voice": {"hans": "本集由合成语音朗读。", "hant": "本集由合成語音朗讀。",
                        "en": "Read by a synthetic voice."},
    "synthetic_voice_show": {"hans": "本节目由合成语音朗读。", "hant": "本節目由合成語音朗讀。",
                             "en": "This show is read by a synthetic voice."},
    "subscribe": {"hans": "订阅", "hant": "訂閱", "en": "Subscribe"},
    "subscribe_hint": {"hans": "在播客应用里添加下面的 RSS 地址，新单集会自动出现。",
                       "hant": "在 Podcast 應用程式裡加入下方的 RSS 網址，新單集會自動出現。",
                       "en": "Add this RSS address in your podcast app; new episodes arrive by themselves."},
    "feed_url": {"hans": "RSS 订阅地址", "hant": "RSS 訂閱網址", "en": "RSS feed address"},
    "copy": {"hans": "复制", "hant": "複製", "en": "Copy"},
    "copied": {"hans": "已复制", "hant": "已複製", "en": "Copied"},
    "open_in_app": {"hans": "用播客应用打开", "hant": "用 Podcast 應用程式開啟", "en": "Open in a podcast app"},
    "episodes": {"hans": "单集", "hant": "單集", "en": "Episodes"},
    "chapters": {"hans": "章节", "hant": "章節", "en": "Chapters"},
    "intro": {"hans": "片头", "hant": "片頭", "en": "Intro"},  # the intro music's chapter (audio/music.py)
    "transcript": {"hans": "文字稿", "hant": "逐字稿", "en": "Transcript"},
    "download": {"hans": "下载", "hant": "下載", "en": "Download"},
    "download_mp3": {"hans": "下载 MP3", "hant": "下載 MP3", "en": "Download MP3"},
    "captions": {"hans": "字幕", "hant": "字幕", "en": "Captions"},
    "listen": {"hans": "收听", "hant": "收聽", "en": "Listen"},
    "back_to_show": {"hans": "返回节目：{title}", "hant": "返回節目：{title}", "en": "Back to {title}"},
    "player": {"hans": "播放器", "hant": "播放器", "en": "Player"},
    "jump_to": {"hans": "跳到", "hant": "跳到", "en": "Jump to"},
    "by": {"hans": "作者", "hant": "作者", "en": "By"},
    "minutes": {"hans": "{n} 分钟", "hant": "{n} 分鐘", "en": "{n} min"},
    "no_audio": {"hans": "你的浏览器无法播放这段音频，请下载 MP3 收听。",
                 "hant": "你的瀏覽器無法播放這段音訊，請下載 MP3 收聽。",
                 "en": "Your browser can't play this audio; download the MP3 instead."},
}

_TRADITIONAL_REGIONS = {"tw", "hk", "mo", "hant"}


def script_of(language: str) -> Script:
    """"zh-CN" → hans; "zh-TW", "zh-HK", "zh-Hant" → hant; anything else → en."""
    parts = language.strip().replace("_", "-").lower().split("-")
    if parts[0] not in ("zh", "cmn", "yue"):
        return "en"
    return "hant" if parts[0] == "yue" or any(p in _TRADITIONAL_REGIONS for p in parts[1:]) else "hans"


def text(key: str, language: str, **values: object) -> str:
    template = _TEXTS[key][script_of(language)]
    return template.format(**values) if values else template


def synthetic_voice_note(language: str) -> str:
    """The disclosure that a synthetic voice reads the episode (show notes, MP3 comment)."""
    return text("synthetic_voice", language)
