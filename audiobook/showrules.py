"""Rules the show's settings must follow to be a valid podcast: an absolute http(s) base URL (made
ASCII for the feed) and an Apple Podcasts category. Checked when audiobook.toml is loaded, so a bad
value stops a render before any work, and used again by the feed."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from .errors import ConfigError

log = logging.getLogger(__name__)


def check_base_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{where} [show] base_url = {url!r} must be an absolute http(s) URL: where the "
                          "site is published, like https://example.com/podcast/")
    if parts.scheme != "https":
        log.info("base_url %s is not https: fine for a local/LAN feed; podcast directories want https", url)
    # An IRI like https://例子.com/书架/ becomes a URI: feeds carry ASCII URLs.
    netloc = parts.netloc if parts.netloc.isascii() else parts.netloc.encode("idna").decode("ascii")
    path = quote(parts.path, safe="/%!$&'()*+,;=:@~")
    return f"{parts.scheme}://{netloc}{path}" + ("" if path.endswith("/") else "/")


def check_category(category: str, subcategory: str, where: str) -> None:
    if category not in APPLE_CATEGORIES:
        raise ConfigError(f"{where} [show] category = {category!r} is not an Apple Podcasts category; "
                          f"allowed: {', '.join(APPLE_CATEGORIES)}")
    subs = APPLE_CATEGORIES[category]
    if subcategory and subcategory not in subs:
        allowed = ", ".join(subs) if subs else "none (leave it empty)"
        raise ConfigError(f"{where} [show] subcategory = {subcategory!r} is not under {category!r}; "
                          f"allowed: {allowed}")


# Apple Podcasts categories (podcasters.apple.com/support/1691, = W3C feedvalidator's list).
APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition",
                         "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
                "Home & Garden", "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary", "Politics",
             "Sports News", "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
                "Natural Sciences", "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy", "Places & Travel",
                          "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey", "Rugby",
               "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}
