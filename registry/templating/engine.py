"""Compile, inspect and render prompt templates in Jinja2's immutable sandbox.

Includes name other prompts (``{% include "support/tone@production" %}``). The caller
resolves each reference to template source beforehand; rendering never touches the
store. Compiled templates are cached by content hash, so a reference whose label moved
compiles its new text once and an unchanged one is never compiled twice.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property, lru_cache, partial, update_wrapper
from typing import Any, cast

from jinja2 import BaseLoader, StrictUndefined, Template, TemplateNotFound, nodes
from jinja2.compiler import CodeGenerator, Frame, operators, optimizeconst
from jinja2.exceptions import (
    SecurityError,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter, safe_range
from markupsafe import Markup

from registry.errors import ErrorItem, InvalidTemplate, RenderError
from registry.locales.messages import N_, _
from registry.templating.filters import LOCALE_FILTERS, FilterError, render_locale
from registry.templating.limits import (
    _CLOCK_EVERY,
    _OUTPUT_OVERHEAD,
    MAX_BUILT_SIZE,
    MAX_CALL_DEPTH,
    MAX_OUTPUT_CHARS,
    MAX_TEXT_CHARS,
    Budget,
    Exhausted,
    bounded_filter,
    budget_var,
    charge,
    check_binop,
    check_method,
    check_output,
    check_text,
    checked_parts,
    comparable,
    format_field_size,
    text_size,
    tick,
    ticking,
    too_slow,
)
from registry.templating.nesting import TooDeep, nesting_fault

NAME_SEGMENT = r"[a-z0-9][a-z0-9._-]*"
NAME_PATTERN = rf"{NAME_SEGMENT}(?:/{NAME_SEGMENT})*"
# A label is never all digits, so "name@3" is always version 3.
LABEL_PATTERN = r"[a-z0-9_.-]*[a-z_.-][a-z0-9_.-]*"
_REF_RE = re.compile(rf"^(?P<name>{NAME_PATTERN})(?:@(?P<ref>[0-9]+|{LABEL_PATTERN}))?$")
_HASH_PREFIX = "sha256:"
# What one render may cost is in limits.py; each limit is refused with a RenderError
# that names it. How deeply a template may nest is in nesting.py.

_BAD_REF = N_("include {ref} is not a prompt reference; write 'name', 'name@label' or 'name@3'")


@dataclass(frozen=True)
class IncludeRef:
    """A parsed ``name@label`` or ``name@3``; neither means the ``production`` label."""

    name: str
    label: str | None
    version: int | None

    @property
    def pinned(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class TemplateInfo:
    """What a template needs: the variables it reads and the prompts it includes."""

    variables: frozenset[str]
    includes: tuple[str, ...]


def parse_ref(ref: str) -> IncludeRef:
    """Split an include reference into prompt name and label or version."""
    match = _REF_RE.match(ref)
    if match is None:
        raise ValueError(_(_BAD_REF).format(ref=repr(ref)))
    name, tail = match["name"], match["ref"]
    if tail is None:
        return IncludeRef(name=name, label="production", version=None)
    if tail.isdigit():
        return IncludeRef(name=name, label=None, version=int(tail))
    return IncludeRef(name=name, label=tail, version=None)


@lru_cache(maxsize=8192)
def content_hash(source: str) -> str:
    """The cache key of a template's source (memoized: a render needs it every time)."""
    return hashlib.sha256(source.encode()).hexdigest()


# The references of the render in progress: ref -> hash, and hash -> source.
_refs: ContextVar[Mapping[str, str]] = ContextVar("registry_template_refs")
_sources: ContextVar[Mapping[str, str]] = ContextVar("registry_template_sources")


class _ContentLoader(BaseLoader):
    """Loads templates by content hash from the render in progress."""

    def get_source(
        self, environment: Any, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source = _sources.get({}).get(template)
        if source is None:
            raise TemplateNotFound(template)
        # Content-addressed: a cached compilation is never out of date.
        return source, None, lambda: True


class _TooDeep(TemplateSyntaxError):
    """A template nested beyond a limit of nesting.py, refused before it is parsed."""

    def __init__(self, fault: TooDeep) -> None:
        super().__init__(fault.msgid, fault.line)
        self.fault = fault


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator with the constructs the sandbox cannot intercept bounded:
    a concatenation's parts are checked before they are joined, every loop counts its
    iterations against the render's time, and every operand of a comparison is bounded
    before Python compares it (item by item, in one call that no tick can stop)."""

    @optimizeconst
    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("(environment.comparable(")
        self.visit(node.expr, frame)
        self.write(")")
        for op in node.ops:
            self.visit(op, frame)
        self.write(")")

    def visit_Operand(self, node: nodes.Operand, frame: Frame) -> None:
        self.write(f" {operators[node.op]} environment.comparable(")
        self.visit(node.expr, frame)
        self.write(")")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"{join}(environment.checked_parts((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # The iterable is written as environment.ticking(iterable); see visit.
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> None:
        if id(node) in self._loop_iterables:
            self._loop_iterables.discard(id(node))
            self.write("environment.ticking(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return
        super().visit(node, *args, **kwargs)

    @cached_property
    def _loop_iterables(self) -> set[int]:
        return set()


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, each field and the whole result bounded before
    they are written."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._size = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        self._size += format_field_size(value, format_spec)
        check_text(self._size, ".format()")
        return super().format_field(value, format_spec)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            # repr() and ascii() write at most ten characters for one.
            check_text(10 * text_size(value, MAX_TEXT_CHARS), ".format()")
        return super().convert_field(value, conversion)


class _GuardedRange:
    """``range`` that counts its iterations against the render's budget."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        for value in self._range:
            tick()
            yield value

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]


def _finalize(value: Any) -> Any:
    # Called for every {{ … }} output, also inside macros and {% set %} blocks, so
    # what they capture is bounded as it is made. The clock check is tick() written
    # out, one call less for every output of every render.
    budget = budget_var.get()
    if budget is not None:
        kind = value.__class__
        if kind is str:
            budget.built += len(value) + _OUTPUT_OVERHEAD
            if budget.built > MAX_BUILT_SIZE:
                charge(0)  # raises
        elif kind is not int and kind is not float:
            # A number's text is short; a container's is bounded before str() writes it.
            check_output(value)
        budget.steps += 1
        if budget.steps % _CLOCK_EVERY == 0 and time.monotonic() > budget.deadline:
            raise too_slow()
    return value


class _PromptEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "-", "%"})
    ticking = staticmethod(ticking)
    checked_parts = staticmethod(checked_parts)
    comparable = staticmethod(comparable)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A dict, where Jinja makes a ChainMap over the environment's globals: every
        # render copies a template's globals into its context, which a ChainMap does key
        # by key in Python. What the ChainMap adds, seeing globals set on the
        # environment after a template is loaded, is not needed: they are set once, in
        # _make_environment.
        return {**self.globals, **(d or {})}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every parse, at publish, lint and render, is preceded by the nesting scan:
        # Jinja's parser and Python's compiler fail on what it refuses.
        fault = nesting_fault(self.lexer, source)
        if fault is not None:
            raise _TooDeep(fault)
        return super()._parse(source, name, filename)

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        check_binop(operator_, left, right)
        return self.binop_table[operator_](left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # As the sandbox's own, with a formatter that bounds what it writes.
        wrapped = super().wrap_str_format(value)
        if wrapped is None or isinstance(value.__self__, Markup):
            return wrapped
        text: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    return wrapped(*args, **kwargs)  # raises the sandbox's TypeError
                kwargs, args = args[0], ()
            return type(text)(_BoundedFormatter(self).vformat(text, args, kwargs))

        return update_wrapper(bounded, value)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = budget_var.get()
        if budget is None:
            check_method(__obj, args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)
        budget.tick()
        if budget.depth >= MAX_CALL_DEPTH:
            raise Exhausted(
                N_("the template nests macro or function calls deeper than {limit}"),
                MAX_CALL_DEPTH,
            )
        check_method(__obj, args, kwargs)
        budget.depth += 1
        try:
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.depth -= 1

    def join_path(self, template: str, parent: str) -> str:
        # Map an include reference to the content hash it resolved to for this render.
        digest = _refs.get({}).get(template)
        if digest is None:
            raise TemplateNotFound(template, f"include {template!r} was not resolved")
        return _HASH_PREFIX + digest


# Globals that have no bounded use in a prompt: without them, a template that uses one
# reads an undeclared variable and is refused when it is published.
_REMOVED_GLOBALS = ("lipsum",)


def _bounded_test(test: Any) -> Callable[..., Any]:
    """A test (``is in``, ``is eq``, ``select("lt", …)``) whose operands are bounded as a
    comparison's are."""

    def bounded(value: Any, *args: Any) -> Any:
        return test(comparable(value), *map(comparable, args))

    return update_wrapper(bounded, test)


def _make_environment() -> _PromptEnvironment:
    env = _PromptEnvironment(
        loader=_ContentLoader(),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        cache_size=4096,
        auto_reload=False,
        finalize=_finalize,
    )
    env.globals["range"] = _GuardedRange
    for name in _REMOVED_GLOBALS:
        del env.globals[name]
    env.filters.update(LOCALE_FILTERS)
    env.filters = {name: bounded_filter(name, func) for name, func in env.filters.items()}
    env.tests = {name: _bounded_test(func) for name, func in env.tests.items()}
    return env


ENVIRONMENT = _make_environment()

_DISALLOWED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "{% extends %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
}
_QUOTED = re.compile(r"'([^']+)'")
_UNDEFINED = re.compile(r"'(?P<name>[^']*)' is undefined")


@dataclass(frozen=True)
class _Fault:
    """Why a template is refused. The analysis is cached across requests, so the message
    is kept as a msgid and its values and translated when it is reported."""

    msgid: str
    params: tuple[tuple[str, str], ...] = ()
    line: int | None = None
    column: int | None = None
    # Jinja's own messages are English text, not msgids.
    translate: bool = True

    def message(self) -> str:
        if not self.translate:
            return _jinja_says(N_("syntax error"), self.msgid)
        return _(self.msgid).format(**dict(self.params))

    def item(self, loc: tuple[str | int, ...]) -> ErrorItem:
        return ErrorItem(loc=loc, message=self.message(), line=self.line, column=self.column)


def _syntax_fault(exc: TemplateSyntaxError, source: str) -> _Fault:
    if isinstance(exc, _TooDeep):
        fault = exc.fault
        return _Fault(fault.msgid, (("limit", str(fault.limit)),), line=fault.line)
    line = exc.lineno or 1
    lines = source.splitlines() or [""]
    text = lines[min(line, len(lines)) - 1]
    column = _guess_column(text, exc.message or "")
    if exc.message:
        return _Fault(exc.message, line=line, column=column, translate=False)
    return _Fault(N_("syntax error"), line=line, column=column)


def _guess_column(text: str, message: str) -> int:
    # Jinja reports only the line; point at the token the message names, else at the
    # first tag or expression on that line.
    starts = [i for i in (text.find("{%"), text.find("{{")) if i >= 0]
    first = min(starts) if starts else 0
    for token in _QUOTED.findall(message):
        found = text.find(token, first)
        if found >= 0:
            return found + 1
    return first + 1


@lru_cache(maxsize=4096)
def _analyze_cached(source: str) -> TemplateInfo | _Fault:
    try:
        tree = ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        return _syntax_fault(exc, source)
    for node_type, tag in _DISALLOWED_TAGS.items():
        node = tree.find(node_type)
        if node is not None:
            return _Fault(
                N_("{tag} is not supported; compose prompts with {include}"),
                (("tag", tag), ("include", "{% include %}")),
                line=node.lineno,
            )
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        attr: str | None = None
        if isinstance(node, nodes.Getattr):
            attr = node.attr
        elif isinstance(node, nodes.Getitem):
            attr = _const_str(node.arg)
        if attr is not None and attr.startswith("_"):
            return _Fault(
                N_("access to the private attribute {attribute} is not allowed"),
                (("attribute", repr(attr)),),
                line=node.lineno,
            )
    includes: list[str] = []
    for node in tree.find_all(nodes.Include):
        name = _const_str(node.template)
        if name is None:
            return _Fault(
                N_("an include must name a prompt as a literal string, such as {example}"),
                (("example", '{% include "support/tone@production" %}'),),
                line=node.lineno,
            )
        if _REF_RE.match(name) is None:
            return _Fault(_BAD_REF, (("ref", repr(name)),), line=node.lineno)
        if name not in includes:
            includes.append(name)
    try:
        # Jinja's code generator, run once: it raises what compiling would (an unknown
        # filter or test, a misplaced statement) and tracks the undeclared names. Turning
        # its output into Python is left to the first render.
        variables = find_undeclared_variables(tree)
    except TemplateSyntaxError as exc:
        return _syntax_fault(exc, source)
    return TemplateInfo(variables=frozenset(variables), includes=tuple(includes))


def _const_str(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None


def analyze(source: str, *, loc: tuple[str | int, ...] = ("template",)) -> TemplateInfo:
    """Compile a template and report its variables and includes, or raise InvalidTemplate."""
    result = _analyze_cached(source)
    if isinstance(result, _Fault):
        item = result.item(loc)
        if item.line:
            detail = _("the template does not compile at line {line}: {error}").format(
                line=item.line, error=item.message
            )
        else:
            detail = _("the template does not compile: {error}").format(error=item.message)
        raise InvalidTemplate(detail, [item])
    return result


# A template made only of ``{{ name }}`` substitutions: its pieces of text, with a blank
# where each value goes, and each blank's index and variable name.
_Plain = tuple[tuple[str, ...], tuple[tuple[int, str], ...]]


@lru_cache(maxsize=4096)
def _plain_parts(source: str) -> _Plain | None:
    """The pieces and blanks of a template made only of ``{{ name }}`` substitutions."""
    try:
        tree = ENVIRONMENT.parse(source)
    except TemplateSyntaxError:
        return None
    pieces: list[str] = []
    blanks: list[tuple[int, str]] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                pieces.append(node.data)
            elif isinstance(node, nodes.Name) and node.ctx == "load":
                blanks.append((len(pieces), node.name))
                pieces.append("")
            else:
                return None
    return tuple(pieces), tuple(blanks)


def _render_plain(plain: _Plain, loc: tuple[str | int, ...], variables: Mapping[str, Any]) -> str:
    # Same output as Jinja for plain substitutions (str() of each value), at a
    # fraction of the cost: no context object, no generated code.
    pieces, blanks = plain
    out = list(pieces)
    for i, name in blanks:
        if name not in variables:
            raise _undefined(_("{name} is undefined").format(name=repr(name)), loc)
        out[i] = str(variables[name])
    return "".join(out)


def _undefined(message: str, loc: tuple[str | int, ...]) -> RenderError:
    return RenderError(
        _("a variable the template uses has no value: {error}").format(error=message),
        [ErrorItem(loc=(*loc, "variables"), message=message)],
    )


def _undefined_message(exc: UndefinedError) -> str:
    # StrictUndefined's commonest message is rephrased as the fast path words it, so both
    # paths say the same thing in every language; other messages are Jinja's English.
    match = _UNDEFINED.fullmatch(exc.message or "")
    if match is None:
        if not exc.message:
            return _("undefined value")
        return _jinja_says(N_("undefined value"), exc.message)
    return _("{name} is undefined").format(name=repr(match["name"]))


def _jinja_says(msgid: str, cause: str) -> str:
    """A message of the registry's, then Jinja's (or Python's) own English words, set
    apart so a reader of another language sees which part is which."""
    # TRANSLATORS: {message} is one of the registry's messages; {cause} is what the
    # template engine Jinja said, in English. Keep "Jinja".
    return _("{message} (Jinja: {cause})").format(message=_(msgid), cause=cause)


def _scope_sources(
    source: str, components: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The sources by hash name, and each include reference's hash, for one render."""
    sources = {_HASH_PREFIX + content_hash(source): source}
    refs: dict[str, str] = {}
    for ref, text in components.items():
        digest = content_hash(text)
        refs[ref] = digest
        sources[_HASH_PREFIX + digest] = text
    return sources, refs


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Template:
    """The compiled template of a source; compiled once, whatever it includes."""
    name = _HASH_PREFIX + content_hash(source)
    token = _sources.set({**_sources.get({}), name: source})
    try:
        return ENVIRONMENT.get_template(name)
    finally:
        _sources.reset(token)


def render_template(
    source: str,
    variables: Mapping[str, Any],
    components: Mapping[str, str] | None = None,
    *,
    locale: str = "en",
    loc: tuple[str | int, ...] = ("template",),
) -> str:
    """Render ``source`` with values and the resolved sources of its includes."""
    plain = _plain_parts(source)
    if plain is not None:
        return _render_plain(plain, loc, variables)
    scope = _scope_sources(source, components) if components else None
    return _render_jinja(source, None, scope, locale, loc, variables)


def template_renderer(
    source: str,
    components: Mapping[str, str] | None = None,
    *,
    locale: str = "en",
    loc: tuple[str | int, ...] = ("template",),
) -> Callable[[Mapping[str, Any]], str]:
    """``render_template`` with all but the values given: a function of the values.

    What does not depend on the values (the template's compilation, the sources of its
    includes) is worked out here, once, for a caller that renders the same template
    many times. The function renders and fails exactly as ``render_template`` does.
    """
    plain = _plain_parts(source)
    if plain is not None:
        return partial(_render_plain, plain, loc)
    scope = _scope_sources(source, components) if components else None
    try:
        template: Template | None = _compiled(source)
    except Exception:
        # Left to the render, which refuses the template as render_template does.
        template = None
    return partial(_render_jinja, source, template, scope, locale, loc)


def _render_jinja(
    source: str,
    template: Template | None,
    scope: tuple[dict[str, str], dict[str, str]] | None,
    locale: str,
    loc: tuple[str | int, ...],
    variables: Mapping[str, Any],
) -> str:
    """Render with Jinja, within the limits, in ``locale``, with the includes of ``scope``."""
    locale_token = render_locale.set(locale)
    scope_tokens = None
    if scope is not None:
        scope_tokens = (_sources.set(scope[0]), _refs.set(scope[1]))
    budget = Budget()
    budget_token = budget_var.set(budget)
    try:
        if template is None:
            template = _compiled(source)
        return _render_bounded(template, variables, budget)
    except Exhausted as exc:
        message = exc.message()
        raise RenderError(
            _("the template exceeds a render limit: {error}").format(error=message),
            [ErrorItem(loc=loc, message=message)],
        ) from None
    except RecursionError:
        message = Exhausted(
            N_("the template nests macro or function calls deeper than {limit}"), MAX_CALL_DEPTH
        ).message()
        raise RenderError(
            _("the template exceeds a render limit: {error}").format(error=message),
            [ErrorItem(loc=loc, message=message)],
        ) from None
    except SecurityError as exc:
        message = _jinja_says(N_("unsafe operation refused"), str(exc))
        raise RenderError(
            _("the sandbox refused the template: {error}").format(error=message),
            [ErrorItem(loc=loc, message=message)],
        ) from None
    except UndefinedError as exc:
        raise _undefined(_undefined_message(exc), loc) from None
    except TemplateNotFound as exc:
        message = _("include {ref} was not resolved").format(ref=repr(exc.name))
        raise RenderError(message, [ErrorItem(loc=loc, message=message)]) from None
    except TemplateSyntaxError as exc:
        fault = _syntax_fault(exc, source)
        raise InvalidTemplate(
            _("the template does not compile: {error}").format(error=fault.message()),
            [fault.item(loc)],
        ) from None
    except FilterError as exc:
        # A locale filter's own message, already in the request's language.
        message = str(exc)
        raise RenderError(
            _("rendering failed: {error}").format(error=message),
            [ErrorItem(loc=loc, message=message)],
        ) from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        message = _jinja_says(N_("the template failed"), str(exc) or type(exc).__name__)
        raise RenderError(
            _("rendering failed: {error}").format(error=message),
            [ErrorItem(loc=loc, message=message)],
        ) from None
    finally:
        budget_var.reset(budget_token)
        if scope_tokens is not None:
            _refs.reset(scope_tokens[1])
            _sources.reset(scope_tokens[0])
        render_locale.reset(locale_token)


def _render_bounded(template: Template, variables: Mapping[str, Any], budget: Budget) -> str:
    # Streamed, so output that grows without bound is stopped as it is produced. This is
    # Template.generate without its generator around the template's own: one generator
    # less per chunk. The chunks are counted here, with the clock looked at every
    # _CLOCK_EVERY of them, rather than on the budget: this runs for every chunk.
    out: list[str] = []
    append = out.append
    size = 0
    until_clock = _CLOCK_EVERY
    # new_context copies the values into a dict of its own; any mapping will do.
    context = template.new_context(cast(dict[str, Any], variables))
    try:
        for chunk in template.root_render_func(context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise Exhausted(
                    N_("the output is longer than {limit} characters"), MAX_OUTPUT_CHARS
                )
            until_clock -= 1
            if not until_clock:
                if time.monotonic() > budget.deadline:
                    raise too_slow()
                until_clock = _CLOCK_EVERY
            append(chunk)
    except Exception:
        # As Template.generate does: the traceback shows the template's lines.
        ENVIRONMENT.handle_exception()
    return "".join(out)
