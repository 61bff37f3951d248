"""Literal arguments of the locale filters that fail at every render, found before storing.

``{{ names | format_list("bogus") }}`` or ``{{ price | currency("XYZ") }}`` compiles, and
then fails whatever the variables hold. A call whose arguments are all literals is run
once here on a sample value, by the filter itself, so the rule that refuses it at publish
is the very one that would refuse it at render. A call with any argument computed at
render is left to the render.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from registry.errors import ErrorItem
from registry.locales.messages import _, current_locale
from registry.templating.engine import ENVIRONMENT
from registry.templating.filters import LOCALE_FILTERS, FilterError, render_locale

__all__ = ["argument_errors"]

# A value each filter formats, so that only the arguments can make it fail.
_SAMPLES: dict[str, object] = {
    "number": 1234.5,
    "percent": 0.25,
    "currency": 3.5,
    "date": dt.date(2000, 1, 31),
    "time": dt.time(12, 30),
    "datetime": dt.datetime(2000, 1, 31, 12, 30),
    "format_list": ["a", "b", "c"],
    "plural": 2,
}
# A filter is called after "|" or by a filter block ({% filter number %}): a template
# that names no locale filter so has no call to check, and is not parsed a second time
# (publishing has just parsed it to compile it).
_LOCALE_FILTER_CALL = re.compile(
    r"(?:\||\bfilter)\s*(?:" + "|".join(map(re.escape, LOCALE_FILTERS)) + r")\b"
)
# Literal arguments mean the same in every locale; one with full CLDR data tries them.
_SAMPLE_LOCALE = "en"


@dataclass(frozen=True)
class _Fault:
    line: int
    # What the filter said (in the request's language, as at render), or how the arguments
    # do not fit its signature, or the arguments as written when the filter fails without
    # saying why.
    kind: Literal["filter", "signature", "other"]
    text: str


def argument_errors(source: str, *, loc: tuple[str | int, ...]) -> list[ErrorItem]:
    """Every locale filter call in ``source`` whose literal arguments can never work.

    A template that does not parse has none here: compiling reports it.
    """
    items = []
    for fault in _faults(source, current_locale()):
        if fault.kind == "signature":
            message = _("this filter does not take these arguments: {error}")
        elif fault.kind == "filter":
            message = _("this filter fails at every render: {error}")
        else:
            message = _("this filter fails at every render with the arguments {error}")
        items.append(ErrorItem(loc=loc, message=message.format(error=fault.text), line=fault.line))
    return items


@lru_cache(maxsize=4096)
def _faults(source: str, _language: str) -> tuple[_Fault, ...]:
    # Keyed by the messages' language too: a filter's reason is translated when raised.
    if _LOCALE_FILTER_CALL.search(source) is None:
        return ()
    try:
        tree = ENVIRONMENT.parse(source)
    except TemplateSyntaxError:
        return ()
    faults = []
    for node in tree.find_all(nodes.Filter):
        fault = _check_call(node)
        if fault is not None:
            faults.append(fault)
    return tuple(faults)


def _check_call(node: nodes.Filter) -> _Fault | None:
    function = LOCALE_FILTERS.get(node.name)
    if function is None or node.dyn_args is not None or node.dyn_kwargs is not None:
        return None
    if not all(isinstance(arg, nodes.Const) for arg in node.args):
        return None
    if not all(isinstance(kwarg.value, nodes.Const) for kwarg in node.kwargs):
        return None
    args: list[Any] = [cast(nodes.Const, arg).value for arg in node.args]
    kwargs: dict[str, Any] = {}
    for kwarg in node.kwargs:
        keyword = cast(nodes.Keyword, kwarg)
        kwargs[keyword.key] = cast(nodes.Const, keyword.value).value
    sample = _SAMPLES[node.name]
    try:
        inspect.signature(function).bind(sample, *args, **kwargs)
    except TypeError as exc:
        return _Fault(node.lineno, "signature", f"{node.name}: {exc}")
    token = render_locale.set(_SAMPLE_LOCALE)
    try:
        function(sample, *args, **kwargs)
    except FilterError as exc:
        return _Fault(node.lineno, "filter", str(exc))
    except Exception:
        # Babel's own failures on a pattern (a ValueError, or worse) carry nothing a
        # template's author can act on; the call as written is what to change.
        written = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return _Fault(node.lineno, "other", f"{node.name}({', '.join(written)})")
    finally:
        render_locale.reset(token)
    return None
