"""Locale-aware Jinja filters backed by Babel: numbers, currency, dates, lists and plurals.

Every filter formats for the render's formatting locale, which the render engine sets in
:data:`render_locale` around each render: the locale asked for when the text served is in
its language, else the served one (``registry.locales.tags.format_locale``). A filter
never takes the locale as an argument, so one template renders correctly in every locale
it is translated to.

A filter's errors are the registry's own messages, in the language of the request that
renders (``registry.locales.messages``); the values they quote are shown as written.

Template variables come from JSON, so dates and times may be ISO 8601 strings and
numbers may be numeric strings. Naive datetimes are taken as UTC and aware ones are shown
in their own offset: the registry does not know the reader's time zone. Digits are
Latin in every locale, as Babel's dates always are, so numbers and dates in one prompt
agree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal, cast

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import lists as babel_lists
from babel import numbers as babel_numbers
from jinja2.exceptions import TemplateRuntimeError

from registry.locales.messages import _, _n

__all__ = [
    "LOCALE_FILTERS",
    "PLURAL_CATEGORIES",
    "FilterError",
    "currency_filter",
    "date_filter",
    "datetime_filter",
    "list_filter",
    "number_filter",
    "percent_filter",
    "plural_filter",
    "render_locale",
    "time_filter",
]

# The formatting locale of the render in progress (a canonical locale id).
render_locale: ContextVar[str] = ContextVar("render_locale", default="en")

PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
_LIST_STYLES = (
    "standard",
    "standard-short",
    "standard-narrow",
    "or",
    "or-short",
    "or-narrow",
    "unit",
    "unit-short",
    "unit-narrow",
)
_CURRENCY_FORMATS = ("standard", "accounting", "name")
_ListStyle = Literal[
    "standard", "standard-short", "or", "or-short", "unit", "unit-short", "unit-narrow"
]
_CurrencyFormat = Literal["name", "standard", "accounting"]
_Number = int | float | Decimal
_MAX_EXPONENT = 1000
# CLDR patterns are a few dozen characters; Babel keeps the last thousand date patterns
# it parsed, so a long one would be kept too.
MAX_PATTERN_CHARS = 200


class FilterError(TemplateRuntimeError):
    """A filter got a value or argument it cannot format."""


def number_filter(
    value: object, format: str | None = None, decimal_quantization: bool = True
) -> str:
    """Format a number the way the served locale writes it ("1,234.5", "1 234,5")."""
    return str(
        babel_numbers.format_decimal(
            _number(value, "number"),
            format=_pattern(format, "number"),
            locale=_formatting_locale(),
            decimal_quantization=decimal_quantization,
        )
    )


def percent_filter(
    value: object, format: str | None = None, decimal_quantization: bool = True
) -> str:
    """Format a ratio as a percentage in the served locale (0.25 → "25%", "25 %")."""
    return str(
        babel_numbers.format_percent(
            _number(value, "percent"),
            format=_pattern(format, "percent"),
            locale=_formatting_locale(),
            decimal_quantization=decimal_quantization,
        )
    )


def currency_filter(
    value: object, code: object, format: str | None = None, format_type: str = "standard"
) -> str:
    """Format an amount of an ISO 4217 currency in the served locale ("€3.50", "3,50 €")."""
    amount = _number(value, "currency")
    if not isinstance(code, str) or code.upper() not in _currencies():
        raise FilterError(
            _("the {filter} filter needs an ISO 4217 currency code, got {value}").format(
                filter="'currency'", value=repr(code)
            )
        )
    if format_type not in _CURRENCY_FORMATS:
        raise FilterError(
            _("the {filter} filter's {argument} must be one of {choices}, got {value}").format(
                filter="'currency'",
                argument="format_type",
                choices=", ".join(_CURRENCY_FORMATS),
                value=repr(format_type),
            )
        )
    return str(
        babel_numbers.format_currency(
            amount,
            code.upper(),
            format=_pattern(format, "currency"),
            locale=_formatting_locale(),
            format_type=cast(_CurrencyFormat, format_type),
        )
    )


def date_filter(value: object, format: str = "medium") -> str:
    """Format a date (or an ISO 8601 string) as short, medium, long, full or a CLDR pattern."""
    moment = _temporal(value, "date")
    if isinstance(moment, dt.time):
        raise FilterError(
            _("the {filter} filter needs a date, got the time {value}").format(
                filter="'date'", value=repr(value)
            )
        )
    return _format_moment("date", babel_dates.format_date, moment, format)


def time_filter(value: object, format: str = "medium") -> str:
    """Format a time or datetime (or an ISO 8601 string) in the served locale."""
    moment = _temporal(value, "time")
    if not isinstance(moment, dt.time | dt.datetime):
        raise FilterError(
            _("the {filter} filter needs a time or datetime, got the date {value}").format(
                filter="'time'", value=repr(value)
            )
        )
    return _format_moment("time", babel_dates.format_time, moment, format)


def datetime_filter(value: object, format: str = "medium") -> str:
    """Format a datetime (or an ISO 8601 string) in the served locale; a date means midnight."""
    moment = _temporal(value, "datetime")
    if isinstance(moment, dt.time):
        raise FilterError(
            _("the {filter} filter needs a date and time, got {value}").format(
                filter="'datetime'", value=repr(value)
            )
        )
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time.min)
    return _format_moment("datetime", babel_dates.format_datetime, moment, format)


def list_filter(values: object, style: str = "standard") -> str:
    """Join items as the served locale writes a list ("a, b and c"); numbers are formatted."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise FilterError(
            _("the {filter} filter needs a list of items, got {value}").format(
                filter="'format_list'", value=_describe(values)
            )
        )
    if style not in _LIST_STYLES:
        raise FilterError(
            _("the {filter} filter's {argument} must be one of {choices}, got {value}").format(
                filter="'format_list'",
                argument="style",
                choices=", ".join(_LIST_STYLES),
                value=repr(style),
            )
        )
    locale = _formatting_locale()
    items = [
        str(babel_numbers.format_decimal(item, locale=locale))
        if isinstance(item, int | float | Decimal) and not isinstance(item, bool)
        else str(item)
        for item in values
    ]
    # Babel's data for the short, narrow and unit styles often lacks a pattern CLDR
    # inherits (German "unit" has none for three items): use the next broader style.
    for candidate in _broader_list_styles(style):
        try:
            return str(
                babel_lists.format_list(items, style=cast(_ListStyle, candidate), locale=locale)
            )
        except (KeyError, ValueError):
            continue
    raise FilterError(
        _("the locale {locale} has no {style} list patterns").format(
            locale=locale, style=repr(style)
        )
    )


def plural_filter(value: object, **forms: object) -> str:
    """Choose the form for the served locale's CLDR plural category; "#" becomes the number."""
    unknown = sorted(set(forms) - set(PLURAL_CATEGORIES))
    if unknown:
        raise FilterError(
            _n(
                "the {filter} filter got the unknown form {forms}; the forms are {choices}",
                "the {filter} filter got the unknown forms {forms}; the forms are {choices}",
                len(unknown),
            ).format(
                filter="'plural'", forms=", ".join(unknown), choices=", ".join(PLURAL_CATEGORIES)
            )
        )
    if "other" not in forms:
        raise FilterError(
            _("the {filter} filter needs an {form} form, which every locale uses").format(
                filter="'plural'", form="'other'"
            )
        )
    not_text = sorted(name for name, form in forms.items() if not isinstance(form, str))
    if not_text:
        raise FilterError(
            _n(
                "the {filter} filter's form {forms} must be text",
                "the {filter} filter's forms {forms} must be text",
                len(not_text),
            ).format(filter="'plural'", forms=", ".join(not_text))
        )
    count = _number(value, "plural")
    # 1.0 prints as "1", so it must also choose the form of 1: CLDR counts visible
    # fraction digits, and the default pattern shows none for a whole number.
    if count == int(count):
        count = int(count)
    locale = _formatting_locale()
    category = str(locale.plural_form(count))
    chosen = cast(str, forms.get(category, forms["other"]))
    return chosen.replace("#", str(babel_numbers.format_decimal(count, locale=locale)))


def _broader_list_styles(style: str) -> list[str]:
    """Return a list style followed by the broader ones CLDR derives it from."""
    family = style.split("-")[0]
    styles = [style]
    if style.endswith("-narrow"):
        styles.append(f"{family}-short")
    styles += [family, "or" if family == "or" else "standard"]
    return list(dict.fromkeys(styles))


LOCALE_FILTERS: dict[str, Callable[..., Any]] = {
    "number": number_filter,
    "percent": percent_filter,
    "currency": currency_filter,
    "date": date_filter,
    "time": time_filter,
    "datetime": datetime_filter,
    "format_list": list_filter,
    "plural": plural_filter,
}


@lru_cache(maxsize=256)
def _load_locale(locale_id: str) -> Locale:
    """Return Babel's locale for an id, loaded once per process."""
    return Locale.parse(locale_id, sep="-" if "-" in locale_id else "_")


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    """Return the ISO 4217 codes CLDR knows."""
    return frozenset(babel_numbers.list_currencies())


def _formatting_locale() -> Locale:
    """Return the locale the render in progress formats for."""
    locale_id = render_locale.get()
    try:
        return _load_locale(locale_id)
    except (UnknownLocaleError, ValueError, TypeError):
        raise FilterError(
            _("the locale {locale} is not a known locale").format(locale=repr(locale_id))
        ) from None


def _number(value: object, name: str) -> _Number:
    """Return a finite number from a number or numeric string, or raise FilterError."""
    number: _Number
    if isinstance(value, bool):
        # True is an int to Python, but never a count or an amount in a template.
        raise _not_a_number(name, value)
    if isinstance(value, int | float | Decimal):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _not_a_number(name, value) from None
    else:
        raise _not_a_number(name, value)
    if isinstance(number, Decimal):
        # A string such as "1e999999999" would make Babel write a billion digits.
        if not number.is_finite() or abs(number.adjusted()) > _MAX_EXPONENT:
            raise FilterError(
                _("the {filter} filter cannot format {value}").format(
                    filter=repr(name), value=_describe(value)
                )
            )
    elif isinstance(number, float) and not math.isfinite(number):
        raise FilterError(
            _("the {filter} filter needs a finite number, got {value}").format(
                filter=repr(name), value=_describe(value)
            )
        )
    return number


def _not_a_number(name: str, value: object) -> FilterError:
    return FilterError(
        _("the {filter} filter needs a number, got {value}").format(
            filter=repr(name), value=_describe(value)
        )
    )


def _pattern(pattern: object, name: str) -> str | None:
    """Check a CLDR number pattern argument."""
    if pattern is None or (isinstance(pattern, str) and len(pattern) <= MAX_PATTERN_CHARS):
        return pattern
    raise FilterError(
        _n(
            "the {filter} filter's format must be a CLDR pattern of at most {limit} character, "
            "got {value}",
            "the {filter} filter's format must be a CLDR pattern of at most {limit} characters, "
            "got {value}",
            MAX_PATTERN_CHARS,
        ).format(filter=repr(name), limit=MAX_PATTERN_CHARS, value=_describe(pattern))
    )


def _temporal(value: object, name: str) -> dt.date | dt.time:
    """Return a date, datetime or time from one of those or an ISO 8601 string."""
    if isinstance(value, dt.date | dt.time):
        return value
    if isinstance(value, str):
        text = value.strip()
        # Try the narrowest reading first: "2024-03-05" is a date, "14:30" a time.
        for parse in (dt.date.fromisoformat, dt.time.fromisoformat, dt.datetime.fromisoformat):
            try:
                return parse(text)
            except ValueError:
                continue
    raise FilterError(
        _("the {filter} filter needs a date, time or ISO 8601 string, got {value}").format(
            filter=repr(name), value=_describe(value)
        )
    )


def _format_moment(
    name: str, formatter: Callable[..., str], moment: dt.date | dt.time, pattern: object
) -> str:
    """Run a Babel date formatter, turning a bad format into a FilterError."""
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_CHARS:
        raise FilterError(
            _n(
                "the {filter} filter's format must be short, medium, long, full or a CLDR "
                "pattern of at most {limit} character",
                "the {filter} filter's format must be short, medium, long, full or a CLDR "
                "pattern of at most {limit} characters",
                MAX_PATTERN_CHARS,
            ).format(filter=repr(name), limit=MAX_PATTERN_CHARS)
        )
    try:
        return str(formatter(moment, pattern, locale=_formatting_locale()))
    except (ValueError, KeyError, AttributeError, TypeError):
        # Babel's reason names pattern letters in English; the format as written is
        # what the template's author changes. A pattern asking a date for its time
        # ("bogus" reads as era, week, seconds…) fails inside Babel as an AttributeError.
        raise FilterError(
            _("the {filter} filter cannot use the format {format}").format(
                filter=repr(name), format=repr(pattern)
            )
        ) from None


def _describe(value: object) -> str:
    """Name a value's type and show a short excerpt of it for an error message."""
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{type(value).__name__} {shown}"
