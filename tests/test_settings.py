"""Settings: read from the environment, bad values are clear errors."""

from __future__ import annotations

import pytest

from geo import settings
from geo.errors import BadInput


def test_defaults_are_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NEWS_ATLAS_ONLINE", "NEWS_ATLAS_TIMEOUT", "NEWS_ATLAS_DATA"):
        monkeypatch.delenv(var, raising=False)
    cfg = settings.load()
    assert cfg.online is False
    assert cfg.timeout == 10.0
    assert cfg.data_dir == settings.ROOT / "data"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("NEWS_ATLAS_ONLINE", "1")
    monkeypatch.setenv("NEWS_ATLAS_DATA", str(tmp_path))
    monkeypatch.setenv("NEWS_ATLAS_MIN_DELAY", "0")
    cfg = settings.load()
    assert (cfg.online, cfg.data_dir, cfg.min_delay) == (True, tmp_path, 0.0)


@pytest.mark.parametrize("value", ["ten", "-1", ""])
def test_bad_numbers_name_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NEWS_ATLAS_TIMEOUT", value)
    with pytest.raises(BadInput, match="NEWS_ATLAS_TIMEOUT"):
        settings.load()


@pytest.mark.parametrize(
    "address, allow, allowed",
    [("127.0.0.1", False, True), ("localhost", False, True), ("::1", False, True),
     ("127.0.1.1", False, True), ("0.0.0.0", False, False), ("192.168.1.5", False, False),
     ("", False, False), (None, False, False), ("0.0.0.0", True, True)],
)  # fmt: skip
def test_edits_are_off_beyond_this_machine_unless_allowed(monkeypatch, address, allow, allowed):
    monkeypatch.setenv("NEWS_ATLAS_ALLOW_EDITS", "1" if allow else "0")
    assert settings.edits_allowed(settings.load(), address) is allowed


def test_host_and_upload_limit(monkeypatch):
    monkeypatch.delenv("NEWS_ATLAS_HOST", raising=False)
    monkeypatch.setenv("NEWS_ATLAS_MAX_UPLOAD_MB", "0.5")
    cfg = settings.load()
    assert (cfg.host, cfg.max_upload_bytes, cfg.allow_edits) == ("127.0.0.1", 500_000, False)
    monkeypatch.setenv("NEWS_ATLAS_MAX_UPLOAD_MB", "lots")
    with pytest.raises(
        BadInput, match="NEWS_ATLAS_MAX_UPLOAD_MB='lots' is not a number of megabytes"
    ):
        settings.load()
