from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audiobook.errors import InputError
from audiobook.publish.cover import MAX_COVER_BYTES, generate_cover, load_cover

TITLE = "深度求索的故事"


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("size", [1400, 3000])
def test_generated_cover_is_a_compliant_jpeg(size: int) -> None:
    data = generate_cover(TITLE, "张三 著", size=size)
    image = open_image(data)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (size, size))
    assert len(data) <= MAX_COVER_BYTES


def test_generated_cover_is_deterministic() -> None:
    assert generate_cover(TITLE, "张三") == generate_cover(TITLE, "张三")
    assert generate_cover(TITLE) != generate_cover("另一个标题")


def title_band(data: bytes) -> np.ndarray:
    """Greyscale pixels of the band where the title is centred (around 45 % of the height)."""
    pixels = np.asarray(open_image(data).convert("L"), dtype=float)
    n = pixels.shape[0]
    return pixels[int(n * 0.3):int(n * 0.6), int(n * 0.1):int(n * 0.9)]


def test_cjk_title_is_actually_drawn() -> None:
    band = title_band(generate_cover(TITLE))
    assert band.std() > 20  # white strokes on a dark background, not a flat field
    assert (band > 200).mean() > 0.05  # a good share of the band is glyph ink


def test_cjk_glyphs_differ_from_missing_glyph_boxes() -> None:
    # Different characters must give different pixels; tofu boxes would all look the same.
    assert not np.array_equal(title_band(generate_cover("深")), title_band(generate_cover("浅")))


def test_characters_the_font_lacks_are_left_out() -> None:
    # The emoji is not in Noto Sans CJK; it is dropped rather than drawn as a box.
    assert generate_cover("有声书 🎧") == generate_cover("有声书")


@pytest.mark.parametrize("title", ["", "🎧", "x" * 400, "深" * 500, "DeepSeek-V3 " * 40])
def test_any_title_renders(title: str) -> None:
    image = open_image(generate_cover(title, "作者"))
    assert image.size == (1400, 1400)


def test_size_out_of_range_rejected() -> None:
    with pytest.raises(ValueError):
        generate_cover(TITLE, size=1000)


def save(tmp_path: Path, image: Image.Image, name: str, **kwargs: object) -> Path:
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_compliant_cover_used_as_is(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = save(tmp_path, Image.new("RGB", (1400, 1400), (10, 80, 160)), "c.png")
    with caplog.at_level(logging.WARNING):
        data, mime = load_cover(path)
    assert (data, mime) == (path.read_bytes(), "image/png")
    assert not caplog.records

    jpg = save(tmp_path, Image.new("RGB", (2000, 2000), (10, 80, 160)), "c.jpg")
    assert load_cover(jpg) == (jpg.read_bytes(), "image/jpeg")


@pytest.mark.parametrize(
    ("image", "name", "expected_side", "complaint"),
    [
        (Image.new("RGB", (1600, 1200), "red"), "wide.jpg", 1400, "not square"),
        (Image.new("RGB", (600, 600), "red"), "small.png", 1400, "outside"),
        (Image.new("RGB", (3200, 3200), "red"), "big.jpg", 3000, "outside"),
        (Image.new("RGBA", (1400, 1400), (255, 0, 0, 128)), "alpha.png", 1400, "RGBA"),
        (Image.new("L", (1500, 1500), 128), "grey.jpg", 1500, "mode L"),
        (Image.new("CMYK", (1400, 1400), (0, 255, 255, 0)), "cmyk.jpg", 1400, "CMYK"),
        (Image.new("RGB", (1400, 1400), "red"), "cover.gif", 1400, "GIF"),
    ],
    ids=["non-square", "too-small", "too-big", "alpha", "greyscale", "cmyk", "gif"],
)
def test_non_compliant_cover_converted_with_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, image: Image.Image, name: str, expected_side: int,
    complaint: str,
) -> None:
    path = save(tmp_path, image, name)
    with caplog.at_level(logging.WARNING):
        data, mime = load_cover(path)
    out = open_image(data)
    assert mime == "image/jpeg"
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (expected_side, expected_side))
    assert any(complaint in r.getMessage() and name in r.getMessage() for r in caplog.records)


def test_non_square_cover_is_centre_cropped(tmp_path: Path) -> None:
    image = Image.new("RGB", (2100, 1400), "black")
    image.paste((255, 255, 255), (350, 0, 1750, 1400))  # white centre square, black side bars
    data, _ = load_cover(save(tmp_path, image, "wide.png"))
    pixels = np.asarray(open_image(data).convert("L"))
    assert pixels.shape == (1400, 1400) and pixels.min() > 200  # only the white centre survives


def test_heavy_cover_reencoded_under_the_limit(tmp_path: Path) -> None:
    # A photo-like image: smooth gradients plus grain, far over the limit as PNG.
    ramp = np.linspace(0, 200, 2000)
    grain = np.random.default_rng(0).integers(0, 40, (2000, 2000, 3))
    pixels = (ramp[:, None, None] + ramp[None, :, None] / 4 + grain).clip(0, 255).astype(np.uint8)
    path = save(tmp_path, Image.fromarray(pixels), "photo.png", compress_level=0)
    assert path.stat().st_size > MAX_COVER_BYTES
    data, mime = load_cover(path)
    assert mime == "image/jpeg" and len(data) <= MAX_COVER_BYTES


def test_missing_cover_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jpg.*not found") as info:
        load_cover(tmp_path / "nope.jpg")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 20],
                         ids=["empty", "text", "truncated-jpeg"])
def test_file_that_is_not_an_image_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cover.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"cover\.jpg.*JPEG or PNG") as info:
        load_cover(path)
    assert "\n" not in str(info.value)


def test_generated_cover_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-render reads the drawn cover back from the cache instead of drawing it (and importing
    Pillow) again; a different title is drawn."""
    from audiobook.publish import cover, generated

    first = generated.generated_cover("记住的封面", "作者", "zh-CN")
    assert first == generate_cover("记住的封面", "作者")

    def no_drawing(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("drawn again")

    monkeypatch.setattr(cover, "generate_cover", no_drawing)
    assert generated.generated_cover("记住的封面", "作者", "zh-CN") == first
    with pytest.raises(AssertionError, match="drawn again"):
        generated.generated_cover("另一个封面", "作者", "zh-CN")
