"""`audiobook init`: the commented audiobook.toml template."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from audiobook.cli.init_template import COMMENTS, config_template, write_config_template
from audiobook.config import _SECTIONS, Config, load_config
from audiobook.errors import ConfigError


def test_template_loads_back_as_the_defaults(tmp_path: Path) -> None:
    path = write_config_template(tmp_path / "audiobook.toml")
    assert load_config(path) == Config(path=path)


def test_template_covers_every_section_and_key() -> None:
    data = tomllib.loads(config_template())
    assert set(data) == {"show", "feed", "render", "boilerplate", "edge", "fetch", "follow", "music"}
    for section, cls in _SECTIONS.items():
        assert set(data[section]) == {f.name for f in fields(cls)}


def test_every_key_is_explained() -> None:
    missing = [f"[{section}] {f.name}" for section, cls in _SECTIONS.items() for f in fields(cls)
               if (section, f.name) not in COMMENTS]
    assert not missing, "add a comment for these keys to audiobook/cli/init_template.py COMMENTS"
    text = config_template()
    assert all(line.startswith(("#", "[")) or " = " in line or not line for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) <= 100


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "audiobook.toml"
    path.write_text("[show]\ntitle = \"mine\"\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="already exists"):
        write_config_template(path)
    assert path.read_text(encoding="utf-8") == "[show]\ntitle = \"mine\"\n"


def test_defaults_to_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert write_config_template() == Path("audiobook.toml")
    assert load_config() == Config(path=tmp_path / "audiobook.toml")


def test_init_says_which_section_to_edit_literally(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "audiobook", "init"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wrote audiobook.toml; edit [show] before publishing"


@pytest.mark.parametrize("name", ["../x.xml", "sub/feed.rss", ".feed.rss", "index.html", "feed.json", ""],
                         ids=["parent", "subfolder", "hidden", "the-show-page", "not-a-feed", "empty"])
def test_the_feed_file_is_a_plain_name_at_the_top_of_the_site(tmp_path: Path, name: str) -> None:
    path = tmp_path / "audiobook.toml"
    path.write_text(f'[feed]\nfile = "{name}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[feed\] file = .* must be a plain file name ending in .rss"):
        load_config(path)
