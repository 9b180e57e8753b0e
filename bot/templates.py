"""Status-text templates: the built-in TOML file, operator overrides, validation, rendering.

A templates file has one table per service type (plus `generic`, the
fallback for any other type) and one entry per job status, plus
`rescheduled` (the appointment moved) and `reminder` (the day before)::

    ["junk removal"]
    en_route = [
      "{business_name}: {first_name}, our crew is on the way (job {job_id}).",
      "ETA {eta_minutes} min, around {eta_time}.",
      "Track: {tracking_url}",
    ]

A template is a string or a list of parts. Parts are joined with a space,
and a part that uses a placeholder with no value for this job (no ETA, no
total, no invoice link, no appointment, no BUSINESS_PHONE) is left out, so one template
serves a job with or without those facts. The first part is always sent,
so it may only use placeholders that always have a value.

Lookup order for a job: the operator's template for its service type, the
built-in one, the operator's `generic`, the built-in `generic`. Service types
match ignoring case and repeated spaces; a table for a type that is not
built in adds wording for that type.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.jobs import STATUSES

PLACEHOLDERS = (
    "business_name",
    "business_phone",
    "first_name",
    "job_id",
    "service",
    "tracking_url",
    "eta_minutes",
    "eta_time",
    "total",
    "invoice_url",
    "when",
    "review_url",
    "confirm_hint",  # "Reply C to confirm." (bot.confirmations.CONFIRM_HINT): the built-in reminders end with it
)
# Known for every job and every configuration, so usable in a template's first part.
ALWAYS_KNOWN = frozenset({"business_name", "first_name", "job_id", "service", "tracking_url", "confirm_hint"})
# The texts a template can be for: each job status, and two that are not status changes.
RESCHEDULED = "rescheduled"  # PATCH moved an open job's appointment
REMINDER = "reminder"  # the day before the appointment (sender/reminders.py)
REVIEW = "review"  # the day after completion, with REVIEW_URL set (sender/reviews.py)
TEXTS = (*STATUSES, RESCHEDULED, REMINDER, REVIEW)
GENERIC = "generic"
BUILTIN_FILE = Path(__file__).with_name("templates.toml")

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A templates file that cannot be used; the message names the file and the template."""


def service_key(service_type: str) -> str:
    """How service types are matched: case and runs of spaces do not matter."""
    return " ".join(service_type.split()).casefold()


@dataclass(frozen=True)
class Template:
    """One status text for one service type, as validated parts."""

    name: str  # e.g. 'junk removal'.en_route, for messages
    parts: tuple[str, ...]
    fields: tuple[frozenset[str], ...]  # the placeholders each part uses

    def render(self, values: Mapping[str, str | None]) -> str:
        """The text, leaving out parts whose placeholders have no value (None)."""
        kept = [
            part.format_map(values)
            for part, used in zip(self.parts, self.fields, strict=True)
            if all(values.get(name) is not None for name in used)
        ]
        return " ".join(kept)


def _placeholders(text: str, where: str) -> frozenset[str]:
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as error:  # a lone "{" or "}"
        raise TemplateError(f"{where}: malformed ({error}); write {{{{ or }}}} for a literal brace") from None
    used = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise TemplateError(
                f"{where}: unknown placeholder {{{name}}}; use one of " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            )
        if spec or conversion:
            raise TemplateError(f"{where}: write {{{name}}} without a format spec or conversion")
        used.add(name)
    return frozenset(used)


def _template(value: Any, name: str, where: str) -> Template:
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) and p.strip() for p in parts):
        raise TemplateError(f"{where}: must be a non-empty string or a list of non-empty strings")
    parts = [" ".join(p.split()) for p in parts]  # TOML multi-line strings: newlines become single spaces
    fields = tuple(_placeholders(p, where) for p in parts)
    optional_first = sorted(fields[0] - ALWAYS_KNOWN)
    if optional_first:
        raise TemplateError(
            f"{where}: the first part is always sent, so it cannot use {{{optional_first[0]}}}, which is not "
            "always known; move it to a later part"
        )
    return Template(name, tuple(parts), fields)


def parse_templates(text: str, source: str) -> dict[str, dict[str, Template]]:
    """Validated templates from TOML `text` ({service key: {status: Template}}).

    Raises TemplateError naming `source` and the template on any problem.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"templates file {source} is not valid TOML: {error}") from None
    tables: dict[str, dict[str, Template]] = {}
    for service, table in data.items():
        where = f"templates file {source}, [{service}]"
        if not isinstance(table, dict):
            raise TemplateError(f'{where}: must be a table of statuses, e.g. ["{service}"] then en_route = "..."')
        key = service_key(service)
        if not key:
            raise TemplateError(f"{where}: the service type must not be empty")
        for status, value in table.items():
            name = f"'{service}'.{status}"
            template_where = f"templates file {source}, template {name}"
            if status not in TEXTS:
                raise TemplateError(f"{template_where}: unknown status {status!r}; use one of {', '.join(TEXTS)}")
            tables.setdefault(key, {})[status] = _template(value, name, template_where)
    return tables


class Templates:
    """All the wording in force: built-ins with the operator's overrides on top."""

    def __init__(self, builtin: dict[str, dict[str, Template]], overrides: dict[str, dict[str, Template]]) -> None:
        self._layers = (overrides, builtin)
        missing = [s for s in TEXTS if self._find(GENERIC, s) is None]
        if missing:
            raise TemplateError(f"the [{GENERIC}] templates must cover every status; missing {', '.join(missing)}")

    def _find(self, key: str, status: str) -> Template | None:
        for layer in self._layers:
            found = layer.get(key, {}).get(status)
            if found is not None:
                return found
        return None

    def template_for(self, service_type: str, status: str) -> Template:
        """The template a job of `service_type` is texted with for `status` (one of TEXTS)."""
        chosen = self._find(service_key(service_type), status) or self._find(GENERIC, status)
        assert chosen is not None  # __init__ checked that generic covers every status
        return chosen

    def render(self, service_type: str, status: str, values: Mapping[str, str | None]) -> str:
        return self.template_for(service_type, status).render(values)

    @property
    def service_types(self) -> list[str]:
        """Every service type with its own wording (not counting `generic`)."""
        return sorted({key for layer in self._layers for key in layer} - {GENERIC})

    def all_templates(self) -> list[Template]:
        """Every template in force, for checks such as segment counts."""
        return [self.template_for(t, s) for t in [GENERIC, *self.service_types] for s in TEXTS]


@cache
def _builtin() -> dict[str, dict[str, Template]]:
    return parse_templates(BUILTIN_FILE.read_text(encoding="utf-8"), str(BUILTIN_FILE))


def builtin_templates() -> Templates:
    """The wording that ships with the code."""
    return Templates(_builtin(), {})


def load_templates(override_path: Path | None) -> Templates:
    """Built-ins plus the operator's TOML file at `override_path` (TEMPLATES_PATH), if any.

    Raises TemplateError naming the file (and the template) when it is
    missing, unreadable, malformed, or uses an unknown placeholder or status.
    """
    if override_path is None:
        return builtin_templates()
    try:
        text = override_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"templates file {override_path} cannot be read: {error}") from None
    return templates_from_text(text, str(override_path))


def templates_from_text(text: str, source: str) -> Templates:
    """Built-ins plus the overrides in TOML `text`: the checks TEMPLATES_PATH gets, for any text.

    A business's own `templates` (bot/businesses.py) go through here too, so
    both are held to one rule. Raises TemplateError naming `source` and the
    template.
    """
    return Templates(_builtin(), parse_templates(text, source))
