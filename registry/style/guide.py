"""Style guides: loaded from YAML, extended, overridden per guide and per locale, compiled once.

A guide is a mapping (one YAML file, or a folder whose YAML files are merged)::

    name: support
    description: House style for the support prompts.
    extends: default            # the shipped guide; other names come from the resolver
    rules:                      # new rules, or rules replacing the extended guide's
      support.product-name:
        kind: substitution
        swap: {Acme cloud: Acme Cloud}
    overrides:                  # change the extended guide's rules
      clarity.vague: off
      prompt.size: {level: warning, params: {max_tokens: 16000}}
    locales:                    # rules and overrides for one locale and its variants
      de:
        rules: {...}
        overrides: {...}

The rules for a locale are the extended guide's rules for it, then this guide's
``rules``, then those of its ``locales`` blocks along the locale's CLDR fallback chain
(``de`` before ``de_AT``); the overrides are applied in the same order. Every rule is
compiled when the guide is loaded; the selection for a locale is made once and cached.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from registry.locales.tags import LocaleError, canonical_locale, fallback_chain
from registry.style.builtin import BUILTINS, Builtin
from registry.style.findings import LEVELS, GuideError, Level
from registry.style.i18n import mark, translate
from registry.style.rules import (
    E_LEVEL,
    E_MAPPING,
    Rule,
    Spec,
    compile_rule,
    parse_message,
    parse_scope,
    pattern_budget,
)

__all__ = ["DEFAULT_GUIDE_DIR", "ENGINE_RULES", "StyleGuide", "default_guide", "load_guide"]

DEFAULT_GUIDE_DIR = Path(__file__).resolve().parent / "guides" / "default"
DEFAULT_NAME = "default"
# The engine's own findings; a guide can neither define nor change them.
ENGINE_RULES = frozenset({"style.silenced", "style.unknown-rule", "style.template"})

GUIDE_KEYS = ("name", "description", "extends", "rules", "overrides", "locales")
BLOCK_KEYS = ("rules", "overrides")
OVERRIDE_KEYS = ("level", "scope", "link", "message", "params")

E_YAML = mark("not valid YAML: {error}")
E_NOT_GUIDE = mark("a style guide is a mapping with keys such as name, rules and overrides")
E_NO_FILES = mark("the folder has no .yaml or .yml files")
E_TWICE = mark("{what} is defined in both {first} and {second}")
E_EXTENDS = mark("no guide named {name} to extend")
E_CYCLE = mark("the guides extend each other in a circle: {chain}")
E_LOCALE = mark("not a locale: {error}")
E_OVERRIDE_OFF = mark("write off, or a mapping of level, scope, link, message or params")
E_NO_RULE = mark("no rule {rule} in this guide or the guides it extends")
E_ENGINE_RULE = mark("{rule} is the engine's own rule and cannot be defined or changed")
E_PARAMS_ONLY_BUILTIN = mark("only builtin checks have params")

Resolver = Callable[[str], Mapping[str, Any]]


@dataclass(frozen=True)
class _Override:
    path: str
    off: bool = False
    level: Level | None = None
    changes: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    params: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class _Block:
    rules: Mapping[str, Rule]
    overrides: Mapping[str, _Override]


@dataclass(frozen=True)
class RuleSet:
    """The rules a guide applies to one locale: the enabled ones, every id it knows, and
    the ids of the rules written for the locale's language (its wording rules)."""

    rules: tuple[Rule, ...]
    ids: frozenset[str]
    worded: frozenset[str] = frozenset()


class StyleGuide:
    """A compiled style guide: immutable, and safe to share between threads."""

    def __init__(
        self,
        name: str,
        description: str,
        base: StyleGuide | None,
        main: _Block,
        locales: Mapping[str, _Block],
    ) -> None:
        self.name = name
        self.description = description
        self.base = base
        self._main = main
        self._locales = dict(locales)
        self._cache: dict[tuple[str, ...], RuleSet] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<StyleGuide {self.name!r}>"

    def rules_for(self, locale: str) -> RuleSet:
        """The rules this guide applies to a text in ``locale`` (cached per locale chain)."""
        chain = _chain(locale)
        found = self._cache.get(chain)
        if found is None:
            errors: list[tuple[str, str]] = []
            resolved = self._resolve(chain, errors)
            if errors:
                raise GuideError(errors)
            found = RuleSet(
                rules=tuple(rule for rule, enabled in resolved.values() if enabled),
                ids=frozenset(resolved),
                worded=frozenset(self._worded(chain)),
            )
            with self._lock:
                self._cache.setdefault(chain, found)
        return found

    def locales(self) -> frozenset[str]:
        """Every locale this guide or a guide it extends has rules or overrides for."""
        own = frozenset(self._locales)
        return own | self.base.locales() if self.base else own

    def _resolve(
        self, chain: tuple[str, ...], errors: list[tuple[str, str]]
    ) -> dict[str, tuple[Rule, bool]]:
        rules = dict(self.base._resolve(chain, errors)) if self.base else {}
        blocks = [self._main]
        # General to specific: de's rules, then de_AT's.
        blocks += [self._locales[loc] for loc in reversed(chain) if loc in self._locales]
        for block in blocks:
            rules.update((rule_id, (rule, True)) for rule_id, rule in block.rules.items())
        for block in blocks:
            for rule_id, override in block.overrides.items():
                if rule_id in rules:
                    rules[rule_id] = _apply(*rules[rule_id], override, errors)
        return rules

    def _worded(self, chain: tuple[str, ...]) -> set[str]:
        ids = set(self.base._worded(chain)) if self.base else set()
        for locale in chain:
            if locale in self._locales:
                ids.update(self._locales[locale].rules)
        return ids

    def _defined(self) -> set[str]:
        ids = set(self.base._defined()) if self.base else set()
        for block in (self._main, *self._locales.values()):
            ids.update(block.rules)
        return ids


def _apply(
    rule: Rule, enabled: bool, override: _Override, errors: list[tuple[str, str]]
) -> tuple[Rule, bool]:
    if override.off:
        return rule, False
    changes = dict(override.changes)
    if override.level is not None:
        changes["level"] = override.level
    if override.params is not None:
        if not isinstance(rule, Builtin):
            errors.append((override.path + ".params", translate(E_PARAMS_ONLY_BUILTIN)))
            return rule, enabled
        merged = {**rule.params, **override.params}
        spec = Spec({"params": merged}, override.path, errors)
        own = type(rule).parse(spec)
        if own is None:
            return rule, enabled
        changes.update(own)
    if "message" in changes and changes["message"] is not None:
        errors_before = len(errors)
        spec = Spec({}, override.path, errors)
        message = parse_message(spec, "message", changes["message"], rule.fields, False)
        if len(errors) > errors_before:
            return rule, enabled
        changes["message"] = message
    # A level given again turns back on a rule that an extended guide turned off.
    return dataclasses.replace(rule, **changes), enabled or override.level is not None


@lru_cache(maxsize=1024)
def _chain(locale: str) -> tuple[str, ...]:
    # Only canonical locales come out, so the guides' caches stay as small as CLDR.
    try:
        return tuple(fallback_chain(locale, locale))
    except LocaleError:
        pass
    try:
        # A tag CLDR does not know ("de-XX-foo") still gets its language's rules.
        language = canonical_locale(locale.replace("-", "_").split("_")[0])
    except LocaleError:
        return ()
    return tuple(fallback_chain(language, language))


# ------------------------------------------------------------------ loading


def load_guide(
    source: str | Path | Mapping[str, Any], *, resolver: Resolver | None = None
) -> StyleGuide:
    """Load and compile a guide from YAML text, a YAML file, a folder of them, or a mapping.

    ``extends: default`` is the shipped guide; any other name is looked up with
    ``resolver(name)``, which returns that guide's mapping (or raises LookupError).
    A string is a path when it names an existing file or folder, else YAML text.
    """
    # The guide and those it extends share one budget of compiled patterns.
    with pattern_budget():
        return _load(source, resolver=resolver, translatable=False, stack=())


@cache
def default_guide() -> StyleGuide:
    """The guide shipped with the registry (``registry/style/guides/default``)."""
    # Ours, so not counted against the budget of a guide that extends it.
    with pattern_budget(None):
        return _load(DEFAULT_GUIDE_DIR, resolver=None, translatable=True, stack=())


def _load(
    source: str | Path | Mapping[str, Any],
    *,
    resolver: Resolver | None,
    translatable: bool,
    stack: tuple[str, ...],
) -> StyleGuide:
    errors: list[tuple[str, str]] = []
    data, origins, default_name = _read(source, errors)
    if errors:
        raise GuideError(errors)
    spec = Spec(data, "", errors)
    spec.only(GUIDE_KEYS)
    name = spec.string("name", default_name) or default_name
    description = spec.string("description", "") or ""
    base = _base(spec, resolver, (*stack, name))
    main = _block(spec, origins, translatable)
    locales: dict[str, _Block] = {}
    raw_locales = data.get("locales")
    raw_locales = {} if raw_locales is None else raw_locales
    if not isinstance(raw_locales, Mapping):
        spec.error("locales", translate(E_MAPPING))
        raw_locales = {}
    for tag, block in raw_locales.items():
        path = spec.at("locales") + f".{tag}"
        try:
            locale = canonical_locale(str(tag))
        except LocaleError as exc:
            errors.append((path, translate(E_LOCALE).format(error=str(exc))))
            continue
        if not isinstance(block, Mapping):
            errors.append((path, translate(E_MAPPING)))
            continue
        block_spec = Spec(block, path, errors)
        block_spec.only(BLOCK_KEYS)
        locales[locale] = _block(block_spec, origins, translatable)
    if errors:
        raise GuideError(errors)
    guide = StyleGuide(name, description, base, main, locales)
    _check_overrides(guide, errors)
    if errors:
        raise GuideError(errors)
    # Compile every selection a locale can make now, so a bad override fails the load,
    # not a lint.
    for locale in ("und", *sorted(guide.locales())):
        guide.rules_for(locale)
    return guide


def _read(
    source: str | Path | Mapping[str, Any], errors: list[tuple[str, str]]
) -> tuple[Mapping[str, Any], Mapping[str, str], str]:
    """The guide's mapping, the file each rule came from, and a default name."""
    if isinstance(source, Mapping):
        return source, {}, "custom"
    path: Path | None = None
    if isinstance(source, Path):
        path = source
    elif "\n" not in source and len(source) < 4096 and Path(source).exists():
        path = Path(source)
    if path is None:
        return _parse(str(source), "", errors), {}, "custom"
    if not path.is_dir():
        return _parse(path.read_text(encoding="utf-8"), path.name, errors), {}, path.stem
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        errors.append((str(path), translate(E_NO_FILES)))
        return {}, {}, path.name
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for file in files:
        data = _parse(file.read_text(encoding="utf-8"), file.name, errors)
        _merge(merged, data, file.name, origins, errors)
    return merged, origins, path.name


def _parse(text: str, where: str, errors: list[tuple[str, str]]) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        errors.append((where, translate(E_YAML).format(error=str(exc).replace("\n", " "))))
        return {}
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        errors.append((where, translate(E_NOT_GUIDE)))
        return {}
    return data


def _merge(
    into: dict[str, Any],
    data: Mapping[str, Any],
    file: str,
    origins: dict[str, str],
    errors: list[tuple[str, str]],
    prefix: str = "",
) -> None:
    """Merge one file of a folder: a rule, an override or a setting may come from one file."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key in ("rules", "overrides", "locales") and isinstance(value, Mapping):
            target = into.setdefault(key, {})
            if not isinstance(target, dict):
                continue
            for inner, inner_value in value.items():
                inner_path = f"{path}.{inner}"
                if key == "locales" and isinstance(inner_value, Mapping):
                    block = target.setdefault(inner, {})
                    _merge(block, inner_value, file, origins, errors, prefix=inner_path + ".")
                    continue
                if inner in target:
                    errors.append(
                        (
                            f"{file}: {inner_path}",
                            translate(E_TWICE).format(
                                what=inner_path, first=origins.get(inner_path, "?"), second=file
                            ),
                        )
                    )
                    continue
                target[inner] = inner_value
                origins[inner_path] = file
        elif key in into and into[key] != value:
            errors.append(
                (
                    f"{file}: {path}",
                    translate(E_TWICE).format(what=path, first=origins.get(path, "?"), second=file),
                )
            )
        else:
            into[key] = value
            origins[path] = file


def _base(spec: Spec, resolver: Resolver | None, stack: tuple[str, ...]) -> StyleGuide | None:
    name = spec.string("extends")
    if name is None:
        return None
    if name in stack:
        spec.error("extends", translate(E_CYCLE).format(chain=" → ".join((*stack, name))))
        return None
    if name == DEFAULT_NAME:
        return default_guide()
    if resolver is None:
        spec.error("extends", translate(E_EXTENDS).format(name=repr(name)))
        return None
    try:
        data = resolver(name)
    except LookupError:
        spec.error("extends", translate(E_EXTENDS).format(name=repr(name)))
        return None
    try:
        return _load(data, resolver=resolver, translatable=False, stack=stack)
    except GuideError as exc:
        spec.errors.extend((f"extends {name}: {path}", message) for path, message in exc.errors)
        return None


def _block(spec: Spec, origins: Mapping[str, str], translatable: bool) -> _Block:
    rules: dict[str, Rule] = {}
    raw_rules = spec.data.get("rules")
    raw_rules = {} if raw_rules is None else raw_rules
    if not isinstance(raw_rules, Mapping):
        spec.error("rules", translate(E_MAPPING))
        raw_rules = {}
    for rule_id, data in raw_rules.items():
        path = spec.at("rules") + f".{rule_id}"
        where = origins.get(path.removeprefix("."), "")
        if where:
            path = f"{where}: {path}"
        if str(rule_id) in ENGINE_RULES or str(rule_id).startswith("style."):
            spec.errors.append((path, translate(E_ENGINE_RULE).format(rule=repr(rule_id))))
            continue
        rule = compile_rule(
            str(rule_id),
            data,
            path,
            spec.errors,
            translatable=translatable,
            builtins=BUILTINS,
        )
        if rule is not None:
            rules[str(rule_id)] = rule
    overrides: dict[str, _Override] = {}
    raw_overrides = spec.data.get("overrides")
    raw_overrides = {} if raw_overrides is None else raw_overrides
    if not isinstance(raw_overrides, Mapping):
        spec.error("overrides", translate(E_MAPPING))
        raw_overrides = {}
    for rule_id, data in raw_overrides.items():
        override = _override(str(rule_id), data, spec.at("overrides") + f".{rule_id}", spec)
        if override is not None:
            overrides[str(rule_id)] = override
    return _Block(rules, overrides)


def _override(rule_id: str, data: object, path: str, parent: Spec) -> _Override | None:
    errors = parent.errors
    if rule_id in ENGINE_RULES or rule_id.startswith("style."):
        errors.append((path, translate(E_ENGINE_RULE).format(rule=repr(rule_id))))
        return None
    # YAML reads a bare `off` as false.
    if data is False or data == "off":
        return _Override(path, off=True)
    if not isinstance(data, Mapping):
        errors.append((path, translate(E_OVERRIDE_OFF)))
        return None
    spec = Spec(data, path, errors)
    spec.only(OVERRIDE_KEYS)
    level = data.get("level")
    if level is False or level == "off":
        return _Override(path, off=True)
    if level is not None and level not in LEVELS:
        spec.error("level", translate(E_LEVEL))
        return None
    changes: dict[str, Any] = {}
    if "scope" in data:
        roles, parts = parse_scope(spec)
        if roles or not parts:
            changes["scope"] = roles
        if parts:
            changes["reads"] = parts
    if "link" in data:
        changes["link"] = spec.string("link")
    if "message" in data:
        changes["message"] = spec.string("message")
    params = data.get("params")
    if params is not None and not isinstance(params, Mapping):
        spec.error("params", translate(E_MAPPING))
        return None
    return _Override(path, level=level, changes=changes, params=params)


def _check_overrides(guide: StyleGuide, errors: list[tuple[str, str]]) -> None:
    defined = guide._defined()
    for block in (guide._main, *guide._locales.values()):
        for rule_id, override in block.overrides.items():
            if rule_id not in defined:
                errors.append((override.path, translate(E_NO_RULE).format(rule=repr(rule_id))))
