"""What one render may cost, and the checks that hold a template to it.

Every value a template builds is checked before it is built: the size a filter, method,
operator or format would produce is worked out from its inputs (a text's length, a
list's length, a width, a count), and a value over a limit is refused with an
:class:`Exhausted` that names the limit. Work that is not a value (a sort, a wrap, a
search) is bounded through its inputs, so that no single call runs long; the time
budget, looked at between calls and loop iterations, does the rest.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from functools import wraps
from typing import Any

from jinja2.utils import Namespace, _PassArg

from registry.locales.messages import N_, _

# Characters of one text a template builds (a filter's result, a concatenation, …).
MAX_TEXT_CHARS = 1_000_000
# Items of one list a template builds; also Jinja's largest range.
MAX_LIST_ITEMS = 100_000
# Characters and list items all the values of one render add up to, each output
# counted with _OUTPUT_OVERHEAD more for the object that holds it.
MAX_BUILT_SIZE = 10_000_000
_OUTPUT_OVERHEAD = 16
# Characters a filter that does much work per character (wrapping, finding links) takes.
MAX_SLOW_TEXT_CHARS = 100_000
# Length of the rendered text.
MAX_OUTPUT_CHARS = 1_000_000
# Size of an integer built by arithmetic.
MAX_INTEGER_BITS = 4096
# Nesting of macro and function calls (a macro calling itself).
MAX_CALL_DEPTH = 50
MAX_RENDER_SECONDS = 1.0
# Loop iterations, calls and outputs between two looks at the clock.
_CLOCK_EVERY = 1024

_TEXT_TOO_LONG = N_("{what} would make a text longer than {limit} characters")
_LIST_TOO_LONG = N_("{what} would make a list longer than {limit} items")
_INPUT_TOO_LARGE = N_("{what} takes values of at most {limit} characters")
_BUILT_TOO_MUCH = N_("the template builds more than {limit} characters and list items in all")
_NUMBER_TOO_BIG = N_("the template computes a number larger than {limit} bits")
_TOO_SLOW = N_("rendering takes longer than {limit} seconds")


class Exhausted(Exception):
    """A render went over one of the limits above; ``msgid`` names it."""

    def __init__(self, msgid: str, limit: float, what: str = "") -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.limit = limit
        self.what = what

    def message(self) -> str:
        return _(self.msgid).format(limit=self.limit, what=self.what)


class Budget:
    """The cost of the render in progress: time, call depth, steps and values built."""

    __slots__ = ("built", "deadline", "depth", "steps")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS
        self.depth = 0
        self.steps = 0
        self.built = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise too_slow()

    def iterate(self, items: Iterable[Any]) -> Iterator[Any]:
        # A loop's iterations, counted like calls: a loop of loops is stopped in time
        # even when its body outputs nothing and calls nothing.
        for item in items:
            self.steps += 1
            if self.steps % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
                raise too_slow()
            yield item


def too_slow() -> Exhausted:
    return Exhausted(_TOO_SLOW, MAX_RENDER_SECONDS)


budget_var: ContextVar[Budget | None] = ContextVar("registry_render_budget", default=None)


def tick() -> None:
    budget = budget_var.get()
    if budget is not None:
        budget.tick()


def ticking(items: Any) -> Any:
    """``items`` iterated with a tick per item, when a render is in progress."""
    budget = budget_var.get()
    if budget is None:
        return items
    return budget.iterate(items)


def charge(size: int) -> None:
    """Count ``size`` characters or items against the render's total."""
    budget = budget_var.get()
    if budget is not None:
        budget.built += size
        if budget.built > MAX_BUILT_SIZE:
            raise Exhausted(_BUILT_TOO_MUCH, MAX_BUILT_SIZE)


def check_text(size: int, what: str) -> None:
    """Refuse a text of ``size`` characters, else count it against the render's total."""
    if size > MAX_TEXT_CHARS:
        raise Exhausted(_TEXT_TOO_LONG, MAX_TEXT_CHARS, what)
    charge(size)


def check_items(size: int, what: str) -> None:
    """Refuse a list of ``size`` items, else count it against the render's total."""
    if size > MAX_LIST_ITEMS:
        raise Exhausted(_LIST_TOO_LONG, MAX_LIST_ITEMS, what)
    charge(size)


def check_input(value: Any, what: str, limit: int = MAX_TEXT_CHARS) -> int:
    """The text size of ``value``, refused over ``limit``: what an operation that reads
    all of it (a sort, a search, a conversion to text) may be given."""
    size = len(value) if type(value) is str else text_size(value, limit)
    if size > limit:
        raise Exhausted(_INPUT_TOO_LARGE, limit, what)
    return size


_SCALARS = frozenset({str, int, float, bool, type(None)})


def comparable(value: Any) -> Any:
    """``value`` as an operand of ``==``, ``<``, ``in`` and the like, once bounded.

    Python compares containers item by item within one call, which no tick can stop:
    ``[0]*100000 in [[0]*100000]*100000`` would run for hours. With each operand at most
    ``MAX_TEXT_CHARS`` in text size, a comparison's cost is linear in that limit. A text
    is already bounded when it is made, and a number compares at once.
    """
    if type(value) not in _SCALARS:
        check_input(value, "==, <, in")
    return value


def check_bits(bits: int) -> None:
    if bits > MAX_INTEGER_BITS:
        raise Exhausted(_NUMBER_TOO_BIG, MAX_INTEGER_BITS)


def check_output(value: Any) -> None:
    """Bound a ``{{ … }}`` value before it is turned into text, and count it."""
    kind = type(value)
    if kind is str:
        size = len(value)
    elif kind is int:
        size = value.bit_length() // 3 + 2
    else:
        size = text_size(value, MAX_TEXT_CHARS)
        if size > MAX_TEXT_CHARS:
            raise Exhausted(_TEXT_TOO_LONG, MAX_TEXT_CHARS, "{{ … }}")
    charge(size + _OUTPUT_OVERHEAD)


# ------------------------------------------------------------------ sizes

_OBJECT_TEXT = 100  # what str() of another object (a macro, a loop, a cycler) may write


def text_size(value: Any, cap: int) -> int:
    """An upper bound on ``len(str(value))``, or ``cap + 1`` once that is over ``cap``.

    Containers are walked without recursion, each item counting at least one, so the
    walk costs at most ``cap`` steps whatever the value (shared or cyclic items).
    """
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is int:
        return int(value.bit_length()) // 3 + 2
    if kind is float:
        return 24
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        total += _item_size(item, stack, nested=item is not value)
        if total > cap:
            return cap + 1
    return total


def _item_size(item: Any, stack: list[Any], *, nested: bool) -> int:
    if isinstance(item, str):
        if not nested:
            return len(item)
        # repr() inside a container: quotes, and escapes for what is not printable.
        plain = item.isascii() and item.isprintable()
        return len(item) + 2 if plain else 10 * len(item) + 2
    if isinstance(item, bool) or item is None:
        return 5
    if isinstance(item, int):
        return item.bit_length() // 3 + 2
    if isinstance(item, float):
        return 24
    if isinstance(item, bytes | bytearray):
        return 4 * len(item) + 3
    if isinstance(item, Mapping):
        stack.extend(itertools.chain.from_iterable(item.items()))
        return 2 + 4 * len(item)
    if isinstance(item, list | tuple | set | frozenset):
        stack.extend(item)
        return 2 + 2 * len(item)
    if isinstance(item, Namespace):
        attrs = object.__getattribute__(item, "_Namespace__attrs")
        stack.append(attrs)
        return 14
    return _OBJECT_TEXT


def _bound_count(value: Any, what: str) -> list[Any] | Any:
    """``value`` as a sized collection of at most MAX_LIST_ITEMS items; an iterator is
    read, with a tick per item, up to one item past the limit."""
    if hasattr(value, "__len__"):
        if len(value) > MAX_LIST_ITEMS:
            raise Exhausted(_LIST_TOO_LONG, MAX_LIST_ITEMS, what)
        return value
    items = list(itertools.islice(ticking(value), MAX_LIST_ITEMS + 1))
    if len(items) > MAX_LIST_ITEMS:
        raise Exhausted(_LIST_TOO_LONG, MAX_LIST_ITEMS, what)
    return items


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ------------------------------------------------------------------ operators


def check_binop(operator_: str, left: Any, right: Any) -> None:
    """Bound ``left <operator> right`` before it runs (``*``, ``+``, ``-``, ``%``, ``**``)."""
    if operator_ == "*":
        _check_repeat(left, right)
    elif operator_ == "+":
        if isinstance(left, str) and isinstance(right, str):
            check_text(len(left) + len(right), "'+'")
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            check_items(len(left) + len(right), "'+'")
        elif _both_ints(left, right):
            check_bits(max(left.bit_length(), right.bit_length()) + 1)
    elif operator_ == "-":
        if _both_ints(left, right):
            check_bits(max(left.bit_length(), right.bit_length()) + 1)
    elif operator_ == "%":
        if isinstance(left, str):
            check_text(printf_size(left, right), "'%'")
    elif operator_ == "**" and _both_ints(left, right):
        check_bits(max(left.bit_length() - 1, 1) * right)


def _both_ints(left: Any, right: Any) -> bool:
    return isinstance(left, int) and isinstance(right, int)


def _check_repeat(left: Any, right: Any) -> None:
    for seq, count in ((left, right), (right, left)):
        if isinstance(count, int) and not isinstance(seq, int | float):
            if isinstance(seq, str | bytes | bytearray):
                check_text(len(seq) * max(count, 0), "'*'")
            elif isinstance(seq, list | tuple):
                check_items(len(seq) * max(count, 0), "'*'")
            return
    if _both_ints(left, right):
        check_bits(left.bit_length() + right.bit_length())


def checked_parts(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parts of ``a ~ b ~ …``, their texts bounded before any is converted."""
    size = 0
    for part in parts:
        size += text_size(part, MAX_TEXT_CHARS)
        if size > MAX_TEXT_CHARS:
            raise Exhausted(_TEXT_TOO_LONG, MAX_TEXT_CHARS, "'~'")
    charge(size)
    return parts


# ------------------------------------------------------------------ formatting

_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?"
    r"[hlL]?(?P<conversion>.?)",
    re.DOTALL,
)
# What a number may write besides its width and precision: a float's 309 digits.
_NUMBER_TEXT = 330


def printf_size(template: str, args: Any) -> int:
    """An upper bound on ``len(template % args)``; errors are left to ``%`` itself."""
    positional: Iterator[Any] = iter(args if isinstance(args, tuple) else (args,))
    size = len(template)
    for match in _PRINTF.finditer(template):
        if match["conversion"] == "%":
            continue
        field = 0
        for part in ("width", "precision"):
            spec = match[part]
            if spec == "*":
                spec = next(positional, 0)
            field += _count(int(spec)) if isinstance(spec, str) and spec else _count(spec)
            if field > MAX_TEXT_CHARS:
                return field
        if match["key"] is not None and isinstance(args, Mapping):
            value = args.get(match["key"])
        else:
            value = next(positional, None)
        field += _field_size(value, match["conversion"])
        size += field
        if size > MAX_TEXT_CHARS:
            return size
    return size


def _field_size(value: Any, conversion: str) -> int:
    if conversion in ("s", "r", "a") or not isinstance(value, int | float):
        size = text_size(value, MAX_TEXT_CHARS)
        return 10 * size + 2 if conversion in ("r", "a") else size
    return text_size(value, MAX_TEXT_CHARS) + _NUMBER_TEXT


_FORMAT_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d*))?[a-zA-Z%]?",
    re.DOTALL,
)


def format_field_size(value: Any, spec: str) -> int:
    """An upper bound on ``len(format(value, spec))`` for Python's format mini-language."""
    match = _FORMAT_SPEC.fullmatch(spec)
    if match is None:
        # Another object's own mini-language (a date's strftime): at most a few
        # characters for each character of the spec.
        return text_size(value, MAX_TEXT_CHARS) + 32 * len(spec)
    width = int(match["width"] or 0)
    precision = int(match["precision"] or 0)
    return width + precision + text_size(value, MAX_TEXT_CHARS) + _NUMBER_TEXT


# ------------------------------------------------------------------ methods


def check_method(obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Bound a call of a ``str``/``bytes``/``int`` method that makes its result larger
    than its receiver; every other method's result is at most a few times its inputs."""
    receiver = getattr(obj, "__self__", None)
    if isinstance(receiver, str | bytes | bytearray):
        check = _TEXT_METHODS.get(getattr(obj, "__name__", ""))
        if check is not None:
            what = f".{obj.__name__}()"
            check_text(check(receiver, *args, **kwargs), what)
    elif isinstance(receiver, int) and getattr(obj, "__name__", "") == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        check_text(_count(length), ".to_bytes()")


def _padded(text: Any, width: Any = 0, *_: Any) -> int:
    return max(len(text), _count(width))


def _expanded(text: Any, tabsize: Any = 8) -> int:
    tabs: int = text.count("\t" if isinstance(text, str) else b"\t")
    return len(text) + tabs * _count(tabsize)


def _joined(separator: Any, iterable: Any) -> int:
    items = _bound_count(iterable, ".join()")
    if not isinstance(items, list | tuple):
        items = list(items)
    size = len(separator) * max(len(items) - 1, 0)
    for item in items:
        size += len(item) if isinstance(item, str | bytes | bytearray) else 0
        if size > MAX_TEXT_CHARS:
            break
    return size


def _replaced(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, type(text)) or not isinstance(new, type(text)):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _translated(text: Any, table: Any, *_: Any) -> int:
    if not isinstance(table, Mapping):
        return len(text)
    longest = 1
    for replacement in itertools.islice(table.values(), MAX_LIST_ITEMS + 1):
        if isinstance(replacement, str | bytes):
            longest = max(longest, len(replacement))
    return len(text) * longest


_TEXT_METHODS: dict[str, Callable[..., int]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _expanded,
    "join": _joined,
    "replace": _replaced,
    "translate": _translated,
}


# ------------------------------------------------------------------ filters

Check = Callable[..., Any]


def _center(value: Any, width: Any = 80) -> None:
    size = check_input(value, "|center")
    check_text(max(size, _count(width)), "|center")


def _indent(s: Any, width: Any = 4, first: Any = False, blank: Any = False) -> None:
    size = check_input(s, "|indent")
    step = len(width) if isinstance(width, str) else _count(width)
    # Check the indentation first: the filter builds it before anything else.
    check_text(step, "|indent")
    lines = str(s).count("\n") + 1 if size else 1
    check_text(size + step * lines, "|indent")


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_input(value, "|format")
    check_text(printf_size(str(value), kwargs or args), "|format")


def _replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    for part in (s, old, new):
        check_input(part, "|replace")
    check_text(_replaced(str(s), str(old), str(new), -1 if count is None else count), "|replace")


def _wordwrap(
    s: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> None:
    size = check_input(s, "|wordwrap", MAX_SLOW_TEXT_CHARS)
    joint = check_input(wrapstring, "|wordwrap") if wrapstring is not None else 1
    # At most one line per character, fewer the wider the lines.
    check_text(size + joint * size, "|wordwrap")


def _urlize(
    value: Any,
    trim_url_limit: Any = None,
    nofollow: Any = False,
    target: Any = None,
    rel: Any = None,
    extra_schemes: Any = None,
) -> None:
    size = check_input(value, "|urlize", MAX_SLOW_TEXT_CHARS)
    attributes = sum(check_input(a, "|urlize") for a in (target, rel) if a is not None)
    if extra_schemes is not None:
        check_input(extra_schemes, "|urlize")
    # A link for each word that may be an address: the word twice, the attributes and
    # the markup around them.
    links = sum(1 for word in str(value).split() if "." in word or "@" in word or ":" in word)
    check_text(2 * size + links * (attributes + 64), "|urlize")


def _join(value: Any, d: Any = "", attribute: Any = None) -> Any:
    items = _bound_count(value, "|join")
    separator = check_input(d, "|join")
    size = check_input(items, "|join") + separator * max(len(items) - 1, 0)
    check_text(size, "|join")
    return items


def _list(value: Any) -> Any:
    items = _bound_count(value, "|list")
    charge(len(items))
    return items


def _batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    check_items(_count(linecount), "|batch")


def _slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    check_items(_count(slices), "|slice")


def _round(value: Any, precision: Any = 0, method: Any = "common") -> None:
    # The ceil and floor methods compute 10 ** precision.
    check_bits(abs(_count(precision)) * 10 // 3)


def _sum(iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    items = _bound_count(iterable, "|sum")
    if isinstance(start, list | tuple):
        # Each addition copies the sum so far: bound the copying, not just the result.
        size = len(start) + sum(len(i) if isinstance(i, list | tuple) else 1 for i in items)
        check_items(size, "|sum")
        check_items(size * len(items) // 10, "|sum")
    return items


def _tojson(value: Any, indent: Any = None) -> None:
    size, count, depth = _shape(value, "|tojson")
    step = len(indent) if isinstance(indent, str) else _count(indent)
    check_text(size + count * (depth * step + 1), "|tojson")


def _pprint(value: Any) -> None:
    size, count, depth = _shape(value, "|pprint")
    check_text(size + count * (depth + 1), "|pprint")


def _shape(value: Any, what: str) -> tuple[int, int, int]:
    """Text size, item count and nesting depth of a value, each bounded."""
    size = check_input(value, what)
    count = 0
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        count += 1
        depth = max(depth, level)
        if isinstance(item, Mapping):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend((v, level + 1) for v in item)
    return size, count, depth


def _xmlattr(d: Any, autospace: Any = True) -> None:
    # Escaping writes at most six characters for one ("&quot;").
    check_text(6 * check_input(d, "|xmlattr"), "|xmlattr")


def _urlencode(value: Any) -> None:
    # Percent-encoding writes at most twelve characters for one (four UTF-8 bytes).
    check_text(12 * check_input(value, "|urlencode"), "|urlencode")


def _plural(value: Any, **forms: Any) -> None:
    # "#" becomes the number, written with a separator at most every other digit.
    number = 2 * check_input(value, "|plural") + _NUMBER_TEXT
    for form in forms.values():
        size = check_input(form, "|plural")
        if isinstance(form, str):
            check_text(size + form.count("#") * number, "|plural")


def _no_check(*_: Any, **__: Any) -> None:
    return None


# Filters whose cost or result grows with more than the length of their value. Every
# other filter reads its value and arguments once (a case change, a trim, a sort, a
# lookup) and may be given values whose text is at most MAX_TEXT_CHARS long.
FILTER_CHECKS: dict[str, Check] = {
    "batch": _batch,
    "center": _center,
    "format": _format,
    "indent": _indent,
    "join": _join,
    "list": _list,
    "plural": _plural,
    "pprint": _pprint,
    "replace": _replace,
    "round": _round,
    "slice": _slice,
    "sum": _sum,
    "tojson": _tojson,
    "urlencode": _urlencode,
    "urlize": _urlize,
    "wordwrap": _wordwrap,
    "xmlattr": _xmlattr,
}
# Filters that do not read their value's content, or only one item of it: they are
# given any value, their results are bounded by it and iterated with a tick per item.
SHALLOW_FILTERS = frozenset(
    {
        "abs",
        "attr",
        "count",
        "d",
        "default",
        "first",
        "float",
        "int",
        "items",
        "last",
        "length",
        "map",
        "random",
        "reject",
        "rejectattr",
        "reverse",
        "select",
        "selectattr",
    }
)


# Filters that may return an iterator, which whoever reads it (a loop, |list, |join)
# reads item by item, with a tick for each.
_LAZY_FILTERS = frozenset(
    {
        "batch",
        "items",
        "map",
        "reject",
        "rejectattr",
        "reverse",
        "select",
        "selectattr",
        "slice",
        "unique",
    }
)


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its arguments checked before it runs and its iterators ticking."""
    skip = 1 if _PassArg.from_obj(func) is not None else 0
    check = FILTER_CHECKS.get(name)
    if check is None and name not in SHALLOW_FILTERS:
        return _reading_all(func, skip, f"|{name}")
    lazy = name in _LAZY_FILTERS
    if check is None and not lazy:
        return func

    @wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if check is not None and len(args) > skip:
            replaced = check(*args[skip:], **kwargs)
            if replaced is not None:
                args = (*args[:skip], replaced, *args[skip + 1 :])
        result = func(*args, **kwargs)
        if lazy and isinstance(result, Iterator):
            return ticking(result)
        return result

    return bounded


# Values whose text is short whatever they are.
_SHORT = frozenset({int, float, bool, type(None)})


def _reading_all(func: Callable[..., Any], skip: int, what: str) -> Callable[..., Any]:
    """``func`` given values and arguments of at most MAX_TEXT_CHARS characters."""

    # Written for speed: every filter of most templates is one of these.
    @wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        for arg in args[skip:] if skip else args:
            kind = arg.__class__
            if kind not in _SHORT and (kind is not str or len(arg) > MAX_TEXT_CHARS):
                check_input(arg, what)
        if kwargs:
            for arg in kwargs.values():
                check_input(arg, what)
        return func(*args, **kwargs)

    return bounded
