"""Cover art: generate one from the title, or load (and if needed fix) the user's own.

Apple's rule for podcast art: square, 1400–3000 px, JPEG or PNG, RGB. The same image is embedded in
every chapter MP3 (APIC), so we also keep it under MAX_COVER_BYTES.
"""

from __future__ import annotations

import hashlib
import io
import logging
from functools import cache
from importlib import resources
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError, features

from ..errors import InputError, PublishError
from .linebreak import break_lines

log = logging.getLogger(__name__)

MIN_SIDE = 1400
MAX_SIDE = 3000
MAX_COVER_BYTES = 1_000_000  # embedded in every chapter file; Apple lists no byte limit, we keep it small
JPEG_QUALITY = 90
FONT_PACKAGE = "cvttf_NotoSansCJK_Bold"
FONT_FILE = "NotoSansCJKtc-Bold.otf"
MAX_TITLE_LINES = 6
MAX_TITLE_CHARS = 150  # more than fits at the smallest size; keeps layout time bounded

# (background, accent) pairs, picked by a hash of the title so the same title gets the same cover.
_PALETTES = [
    ((31, 42, 68), (224, 176, 79)),
    ((18, 60, 58), (236, 200, 120)),
    ((74, 28, 42), (240, 190, 150)),
    ((43, 43, 43), (232, 96, 76)),
    ((30, 59, 36), (214, 222, 140)),
    ((58, 33, 70), (246, 174, 190)),
]
_TITLE_COLOUR = (255, 255, 255)
_SUBTITLE_COLOUR = (208, 212, 220)


def generate_cover(title: str, subtitle: str = "", size: int = MIN_SIDE, language: str = "zh-CN") -> bytes:
    """A square RGB JPEG with the title (and subtitle, e.g. the author) set in Noto Sans CJK Bold.

    `language` (BCP-47) picks the font's regional glyphs: the bundled font is the Traditional Chinese
    build, which without it centres ，。： the Taiwanese way and draws some characters (骨, 直) in
    their Traditional forms."""
    if not MIN_SIDE <= size <= MAX_SIDE:
        raise ValueError(f"cover size {size} px is outside {MIN_SIDE}–{MAX_SIDE}")
    title, subtitle = _drawable(title)[:MAX_TITLE_CHARS], _drawable(subtitle)
    background, accent = _PALETTES[hashlib.sha256(title.encode("utf-8")).digest()[0] % len(_PALETTES)]
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    margin = size // 10
    box = size - 2 * margin

    bar_height = max(size // 90, 4)
    draw.rectangle((margin, margin, margin + size // 8, margin + bar_height), fill=accent)

    lang = _layout_language(language)
    font, lines = _fit_title(title, box, int(size * 0.6), lang)
    line_height = int(font.size * 1.3)
    top = int(size * 0.45) - line_height * len(lines) // 2
    for n, line in enumerate(lines):
        draw.text((size // 2, top + line_height * n + line_height // 2), line, font=font,
                  fill=_TITLE_COLOUR, anchor="mm", language=lang)

    if subtitle:
        small = _font(int(size * 0.045))
        sub_lines = break_lines(subtitle, box, lambda text: small.getlength(text, language=lang))[:2]
        sub_height = int(small.size * 1.4)
        bottom = size - margin
        for n, line in enumerate(reversed(sub_lines)):
            draw.text((size // 2, bottom - sub_height * n), line, font=small, fill=_SUBTITLE_COLOUR,
                      anchor="md", language=lang)
        draw.rectangle((size // 2 - size // 16, bottom - sub_height * len(sub_lines) - bar_height * 3,
                        size // 2 + size // 16, bottom - sub_height * len(sub_lines) - bar_height * 2),
                       fill=accent)
    return _jpeg(image)


def load_cover(path: Path) -> tuple[bytes, str]:
    """(bytes, mime) of a user's cover. A compliant JPEG/PNG is used as is; anything else that is an
    image is converted to a compliant square JPEG (centre crop, resize), with a warning."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"cover image {path} not found; fix the `cover:` path in the article's front "
                         "matter (relative to the article) or remove it to generate one") from None
    except OSError as exc:
        raise InputError(f"cannot read cover image {path}: {exc.strerror or exc}; check the file's "
                         "permissions") from exc
    return fit_cover(data, str(path))


def fit_cover(data: bytes, name: str, quiet: bool = False) -> tuple[bytes, str]:
    """(bytes, mime) of cover art: a compliant JPEG/PNG as is, any other image converted to a
    compliant square JPEG, with a warning unless `quiet` (a web page's lead image is never square:
    converting it is expected, not news)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            problems = _problems(image, len(data))
            if not problems:
                return data, Image.MIME[image.format or "JPEG"]
            fixed = _make_compliant(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"cover {name} is not an image that can be read ({exc}); use a JPEG or PNG "
                         "file") from exc
    (log.info if quiet else log.warning)(
        "cover %s: %s; using a converted %d×%d JPEG instead (give a square JPEG/PNG of %d–%d px to skip this)",
        name, "; ".join(problems), fixed.width, fixed.height, MIN_SIDE, MAX_SIDE)
    return _jpeg(fixed), "image/jpeg"


def _problems(image: Image.Image, nbytes: int) -> list[str]:
    found = []
    if image.format not in ("JPEG", "PNG"):
        found.append(f"format {image.format} is not JPEG or PNG")
    if image.mode != "RGB":
        found.append(f"colour mode {image.mode} is not RGB")
    if image.width != image.height:
        found.append(f"{image.width}×{image.height} is not square")
    elif not MIN_SIDE <= image.width <= MAX_SIDE:
        found.append(f"{image.width} px is outside {MIN_SIDE}–{MAX_SIDE}")
    if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
        found.append("it is rotated by its EXIF orientation")
    if nbytes > MAX_COVER_BYTES:
        found.append(f"{nbytes // 1000} kB is over {MAX_COVER_BYTES // 1000} kB")
    return found


def _make_compliant(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    image = image.convert("RGB")
    side = max(MIN_SIDE, min(MAX_SIDE, image.width, image.height))
    return ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS)  # centre crop + resize


def _jpeg(image: Image.Image) -> bytes:
    # 4:4:4 chroma (subsampling=0) keeps coloured text edges crisp; drop to 4:2:0 only to save bytes.
    # No optimize=True: on busy images libjpeg then fails with "Suspension not allowed here".
    for quality, subsampling in ((JPEG_QUALITY, 0), (80, 0), (80, 2), (70, 2), (60, 2)):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality, subsampling=subsampling, dpi=(72, 72))  # Apple: 72 dpi
        if out.tell() <= MAX_COVER_BYTES:
            break
    else:
        log.warning("cover is still %d kB at JPEG quality 60; every chapter file will carry it",
                    out.tell() // 1000)
    return out.getvalue()


def _fit_title(title: str, width: int, max_height: int,
               language: str | None) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size at which the title fits in MAX_TITLE_LINES lines and max_height, with
    the lines evened out; at the smallest size, the lines past the limit are cut to an ellipsis."""
    size = width // 6
    while True:
        font = _font(size)

        def measure(text: str, font: ImageFont.FreeTypeFont = font) -> float:
            return font.getlength(text, language=language)

        lines = break_lines(title, width, measure)
        fits = len(lines) <= MAX_TITLE_LINES and len(lines) * size * 1.3 <= max_height
        if fits or size <= width // 20:
            break
        size = int(size * 0.92)
    if len(lines) <= 1:
        return font, lines
    if len(lines) > MAX_TITLE_LINES:
        last = lines[MAX_TITLE_LINES - 1]
        while last and measure(last + "…") > width:
            last = last[:-1]
        return font, lines[: MAX_TITLE_LINES - 1] + [last + "…"]
    # Narrow the measure while the line count holds, so "深度求索的故|事" becomes "深度求|索的故事".
    for narrower in range(int(sum(map(measure, lines)) / len(lines)), width, max(size // 4, 1)):
        even = break_lines(title, narrower, measure)
        if len(even) == len(lines):
            return font, even
    return font, lines


def _layout_language(language: str) -> str | None:
    """raqm applies the font's per-language glyphs; without raqm Pillow refuses `language`."""
    return language or None if features.check("raqm") else None


@cache
def _font_path() -> str:
    try:
        path = resources.files(FONT_PACKAGE) / FONT_FILE
        if not path.is_file():
            raise FileNotFoundError(str(path))
        return str(path)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise PublishError(f"cover font {FONT_FILE} from {FONT_PACKAGE} is missing ({exc}); reinstall "
                           "with `uv sync`") from exc


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_font_path(), size)


@cache
def _has_glyph(ch: str) -> bool:
    """False for characters the font would draw as the 'missing glyph' box (emoji, rare CJK)."""
    return ch.isspace() or _glyph_pixels(ch) != _glyph_pixels("\uffff")


@cache
def _glyph_pixels(ch: str) -> bytes:
    image = Image.new("L", (48, 48))
    ImageDraw.Draw(image).text((8, 0), ch, font=_font(32), fill=255)
    return image.tobytes()


def _drawable(text: str) -> str:
    kept = "".join(ch for ch in " ".join(text.split()) if _has_glyph(ch))
    if kept != " ".join(text.split()):
        log.info("cover: left out characters the font cannot draw in %r", text)
    return kept.strip()
