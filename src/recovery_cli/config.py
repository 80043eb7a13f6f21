"""The home directory and the seller's settings (``config.toml``).

Settings are named as ``recover config set`` takes them: ``seller``, ``from``,
``smtp.host``... A dotted name is a key of a TOML table (``[smtp]`` ``host = ...``).
No secret is ever a setting: the SMTP password lives in the system keyring or in
``RECOVER_SMTP_PASSWORD``, never in this file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import ConfigError
from .fileio import ensure_private_dir, write_atomic

HOME_ENV = "RECOVER_HOME"
# The home's folder of mail drafts (replies and follow-ups not sent from here).
DRAFTS = "drafts"

SETTINGS: dict[str, str] = {
    "seller": "your name, as the customer hears it ($seller in playbooks)",
    "business": "your business name ($business in playbooks)",
    "currency": "the currency of new cases, a three-letter code like USD or EUR",
    "from": "the address replies and follow-ups are sent from",
    "smtp.host": "your mail provider's SMTP server, like smtp.example.com",
    "smtp.port": "its port (default 587 for starttls, 465 for tls)",
    "smtp.security": "starttls, tls, or none (none only for a server on this machine)",
    "smtp.user": "the user name to log in with (the password: recover config password)",
    "smtp.timeout": "seconds to wait for the mail server (default 30)",
    "mail.order_pattern": "a regular expression that finds your order references in an email",
}
# The attribute of Settings each setting is kept in.
_ATTRIBUTES = {key: key.replace(".", "_").replace("from", "sender") for key in SETTINGS}
# Written to config.toml even when blank (as they always were).
_ALWAYS = ("seller", "business", "currency")
DEFAULTS = {"seller": "", "business": "", "currency": "USD"}
SECURITIES = ("starttls", "tls", "none")

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ADDRESS = re.compile(r'^[^@\s<>,;:"()\[\]\\]+@[^@\s<>,;:"()\[\]\\]+\.[^@\s<>,;:"()\[\]\\.]+$')
_HOST = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63})*|\[?[0-9A-Fa-f:.]+\]?)$"
)


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
    sender: str = ""
    smtp_host: str = ""
    smtp_port: int | None = None
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_timeout: float | None = None
    mail_order_pattern: str = ""

    def as_dict(self) -> dict[str, str]:
        """The settings placeholders use, as plain strings."""
        return {"seller": self.seller, "business": self.business, "currency": self.currency}

    def shown(self) -> dict[str, str | int | float | None]:
        """Every setting by its name (``smtp.host``), for display and ``--json``."""
        return {key: getattr(self, attribute) for key, attribute in _ATTRIBUTES.items()}

    def value(self, key: str) -> str:
        """One setting as text ("" when not set)."""
        found = getattr(self, _ATTRIBUTES[key])
        return "" if found is None else str(found)


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
    settings = Settings()
    for key, value in _flatten(data).items():
        if key not in SETTINGS:
            raise ConfigError(
                f"{path}: unknown setting {key!r} (known: {', '.join(SETTINGS)})",
                hint="A password is never a setting: use `recover config password`."
                if "pass" in key.lower()
                else None,
            )
        setattr(settings, _ATTRIBUTES[key], _check(key, value, path))
    return settings


def _flatten(data: dict[str, object]) -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for inner, item in value.items():
                flat[f"{key}.{inner}"] = item
        else:
            flat[key] = value
    return flat


def _check(key: str, value: object, where: object) -> object:
    """A setting's value as kept, or ConfigError naming what is wrong (never the value:
    a pattern or an address typed by mistake could be anything)."""
    if key == "smtp.port":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ConfigError(f"{where}: smtp.port must be a port number, 1 to 65535")
        return value
    if key == "smtp.timeout":
        try:
            seconds = float(value) if isinstance(value, (str, int, float)) else -1.0
        except ValueError:
            seconds = -1.0
        if isinstance(value, bool) or not 0 < seconds <= 600:
            raise ConfigError(f"{where}: smtp.timeout must be a number of seconds, up to 600")
        return seconds
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text")
    if key == "currency" and not _CURRENCY.match(value):
        raise ConfigError(f"{where}: currency must be a three-letter code like USD or EUR")
    if key == "from" and value and not _ADDRESS.match(value):
        raise ConfigError(f"{where}: from must be one email address, like help@example.com")
    if key == "smtp.host" and value and not _HOST.match(value):
        raise ConfigError(f"{where}: smtp.host must be a host name, like smtp.example.com")
    if key == "smtp.security" and value not in SECURITIES:
        raise ConfigError(f"{where}: smtp.security must be one of {', '.join(SECURITIES)}")
    if key == "smtp.user" and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{where}: smtp.user cannot hold control characters")
    if key == "mail.order_pattern" and value:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ConfigError(
                f"{where}: mail.order_pattern is not a regular expression: {exc}"
            ) from None
        if compiled.groups > 1:
            raise ConfigError(
                f"{where}: mail.order_pattern may have one group (the reference), not "
                f"{compiled.groups}"
            )
    return value


def set_setting(home: Path, key: str, value: str) -> Settings:
    """Change one setting and write ``config.toml`` atomically (an empty value
    clears a setting that has no default)."""
    if key not in SETTINGS:
        hint = (
            "A password is never a setting: use `recover config password`."
            if ("pass" in key.lower())
            else None
        )
        raise ConfigError(
            f"unknown setting {key!r}; known settings: {', '.join(SETTINGS)}", hint=hint
        )
    value = value.strip()
    if key == "currency":
        value = value.upper()
    if key == "smtp.security":
        value = value.lower()
    settings = load_settings(home)
    blank = Settings()
    attribute = _ATTRIBUTES[key]
    if value == "" and key not in _ALWAYS:
        setattr(settings, attribute, getattr(blank, attribute))
    else:
        setattr(settings, attribute, _check(key, value, "value"))
    import tomli_w

    ensure_home(home)
    write_atomic(config_path(home), tomli_w.dumps(_as_toml(settings)).encode("utf-8"))
    return settings


def _as_toml(settings: Settings) -> dict[str, object]:
    """What config.toml holds: the three first settings always, the rest when set."""
    blank = Settings()
    data: dict[str, object] = {}
    tables: dict[str, dict[str, object]] = {}
    for field in fields(Settings):
        key = next(k for k, a in _ATTRIBUTES.items() if a == field.name)
        value = getattr(settings, field.name)
        if key not in _ALWAYS and value == getattr(blank, field.name):
            continue
        table, _, name = key.rpartition(".")
        if table:
            tables.setdefault(table, {})[name] = value
        else:
            data[key] = value
    return {**data, **tables}
