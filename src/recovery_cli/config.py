"""The home directory and the seller's settings (``config.toml``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .fileio import ensure_private_dir, write_atomic

HOME_ENV = "RECOVER_HOME"

SETTINGS: dict[str, str] = {
    "seller": "your name, as the customer hears it ($seller in playbooks)",
    "business": "your business name ($business in playbooks)",
    "currency": "the currency of new cases, a three-letter code like USD or EUR",
}
DEFAULTS = {"seller": "", "business": "", "currency": "USD"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def resolve_home(option: Path | None = None) -> Path:
    """Where cases, settings and the seller's own playbooks live.

    ``--home`` wins over ``RECOVER_HOME``, which wins over the platform's user data
    folder (for example ``~/.local/share/recover`` on Linux).
    """
    if option is not None:
        return option.expanduser()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("recover", appauthor=False)


def ensure_home(home: Path) -> Path:
    """Create the home (private: 0700) if needed, and return it."""
    ensure_private_dir(home)
    return home


@dataclass
class Settings:
    """The seller's settings, with defaults filled in."""

    seller: str = ""
    business: str = ""
    currency: str = "USD"

    def as_dict(self) -> dict[str, str]:
        """Settings as plain strings, for placeholders and display."""
        return {"seller": self.seller, "business": self.business, "currency": self.currency}


def config_path(home: Path) -> Path:
    """The settings file in a home."""
    return home / "config.toml"


def load_settings(home: Path) -> Settings:
    """Read ``config.toml``; a missing file means the defaults."""
    path = config_path(home)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        import tomllib  # only once there is a file to read

        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", hint="Fix or delete it, then try again."
        ) from None
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(SETTINGS)})")
    settings = Settings()
    for key, value in data.items():
        setattr(settings, key, _check(key, value, path))
    return settings


def _check(key: str, value: object, where: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text")
    if key == "currency" and not _CURRENCY.match(value):
        raise ConfigError(f"{where}: currency must be a three-letter code like USD or EUR")
    return value


def set_setting(home: Path, key: str, value: str) -> Settings:
    """Change one setting and write ``config.toml`` atomically."""
    if key not in SETTINGS:
        raise ConfigError(f"unknown setting {key!r}; known settings: {', '.join(SETTINGS)}")
    if key == "currency":
        value = value.strip().upper()
    value = _check(key, value.strip(), "value")
    settings = load_settings(home)
    setattr(settings, key, value)
    import tomli_w

    ensure_home(home)
    write_atomic(config_path(home), tomli_w.dumps(settings.as_dict()).encode("utf-8"))
    return settings
