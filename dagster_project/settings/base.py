"""The base of every settings class: read from the environment, or built from text values without it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Self, get_args

from pydantic import AliasChoices
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_FILE_FIELD_SUFFIXES = ("_file", "ca_certs", "_cert", "_key", "_ca", "packs")
"""Text settings that hold a path (certificates, keys, key files) or paths separated by `:` (rule packs)."""

_VALUES_ONLY: ContextVar[bool] = ContextVar("values_only", default=False)


class SuiteSettings(BaseSettings):
    """Settings of one provider: `Cls()` reads the environment; `Cls.from_text(...)` reads only what it is given.

    `from_text` is how Dagster resources turn what `dg.EnvVar` delivered (text, empty when the variable
    is set but blank) into validated settings, so a resource never consults the environment itself.
    """

    # An empty variable (as `.env.example` leaves most) means the default, as it does for `from_text`.
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, env_ignore_empty=True, use_attribute_docstrings=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then the environment (not while `from_text` builds an instance)."""
        if _VALUES_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings)

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field name -> the environment variable that sets it (the first alias where there are several)."""
        prefix = str(cls.model_config.get("env_prefix", ""))
        names: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names[name] = str(alias.choices[0])
            elif isinstance(alias, str):
                names[name] = alias
            else:
                names[name] = f"{prefix}{name}".upper()
        return names

    @classmethod
    def path_env_names(cls) -> list[str]:
        """The variables that name files or folders (`Path` fields; text ones such as `*_file`, `ca_certs`, `packs`)."""
        names = cls.env_names()
        found = []
        for name, field in cls.model_fields.items():
            annotation = field.annotation
            is_path = annotation is Path or Path in get_args(annotation)
            if is_path or (annotation is str and name.endswith(_FILE_FIELD_SUFFIXES)):
                found.append(names[name])
        return found

    @classmethod
    def from_text(cls, values: Mapping[str, Any]) -> Self:
        """Validated settings from field values; an empty string means the field's default; no environment."""
        given = {name: value for name, value in values.items() if name in cls.model_fields and value != ""}
        with _values_only():
            return cls(**given)


@contextmanager
def _values_only() -> Iterator[None]:
    token = _VALUES_ONLY.set(True)
    try:
        yield
    finally:
        _VALUES_ONLY.reset(token)
