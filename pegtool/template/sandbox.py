"""Stage 1 (template): the sandboxed, HF-compatible jinja2 environment and its resource limits.

Hugging Face renders chat templates with ``ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True, extensions=[loopcontrols, <generation-tag>])`` plus ``tojson``,
``raise_exception`` and ``strftime_now``. Real templates need list mutation (Kimi K2 calls
``list.append``), so this module uses the mutable :class:`~jinja2.sandbox.SandboxedEnvironment`,
which still blocks Python internals (``__class__``, ``__globals__``, ``str.format`` escapes, ...).

Time and size are bounded *cooperatively*: while a render runs, every sandboxed call, attribute
and item access, intercepted operator (``*``, ``**``, ``+``), ``~`` concatenation, filter call,
every 256 iterations of every ``{% for %}`` loop and every output chunk checks a per-thread
deadline and size budget, and a list that a method call grew (``append``, ``extend``, ...) is
measured after the call. No signals or threads are involved, so rendering works from any thread.
Compilation runs under the same budget, so jinja's compile-time constant folding of a filter
(``{{ 'x'|center(1000000000) }}``, even in a branch never taken) is refused and left to the
render, where the bound applies. Deep recursion (template syntax or template macros) becomes a
:class:`RenderLimitError`.

Budgets nest: :func:`operation` sets a deadline for a whole operation (an analysis, a
``prepare``), and each render inside it has its own deadline as well; the earlier one applies.
The defaults live in :data:`LIMITS` and can be set from the environment (see :class:`Limits`).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from pegtool.errors import TemplateError

TEMPLATE_FILENAME = "<template>"
_GUARD_FILTER = "_pegtool_loop_guard"
_SIZE_FILTER = "_pegtool_size_guard"
_SIZED = (str, list, tuple, dict)


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class Limits:
    """The resource limits of template operations (module-wide defaults in :data:`LIMITS`).

    Each can be raised by assigning to ``pegtool.template.sandbox.LIMITS`` or with the environment
    variable named in brackets (read at import):

    * ``render_timeout_s`` — one render (``PEGTOOL_RENDER_TIMEOUT``, 5 s);
    * ``analysis_timeout_s`` — one whole analysis, ~90 renders (``PEGTOOL_ANALYSIS_TIMEOUT``, 60 s);
    * ``prepare_timeout_s`` — the renders of one ``prepare`` (``PEGTOOL_PREPARE_TIMEOUT``, 30 s);
    * ``max_generated`` — characters a render may produce beyond what its input brings, and the
      size of any intermediate string / list (``PEGTOOL_MAX_GENERATED``, 2,000,000);
    * ``input_factor`` — how many times the render may repeat the characters of its messages, tools
      and keywords (``PEGTOOL_INPUT_FACTOR``, 4): a 10 MB user message is fine, a template that
      writes 100 MB of its own is not.
    """

    render_timeout_s: float = _env_number("PEGTOOL_RENDER_TIMEOUT", 5.0)
    analysis_timeout_s: float = _env_number("PEGTOOL_ANALYSIS_TIMEOUT", 60.0)
    prepare_timeout_s: float = _env_number("PEGTOOL_PREPARE_TIMEOUT", 30.0)
    max_generated: int = int(_env_number("PEGTOOL_MAX_GENERATED", 2_000_000))
    input_factor: int = int(_env_number("PEGTOOL_INPUT_FACTOR", 4))


LIMITS = Limits()


class TemplateRaised(TemplateError):
    """The template itself called ``raise_exception(message)``; ``template_message`` holds it."""

    def __init__(self, template_message: str, *, source: str | None = None) -> None:
        super().__init__(f"template raised: {template_message}", source=source)
        self.template_message = template_message


class RenderTimeout(TemplateError):
    """A render ran past its time limit."""


class RenderLimitError(TemplateError):
    """A render exceeded its output-size (or recursion/operand size) bound."""


class OperationTimeout(RenderTimeout):
    """A whole operation (an analysis, a ``prepare``) ran past its time limit."""


class _Limits(threading.local):
    """Per-thread render budget; inactive (no checks) outside :func:`limits`."""

    deadline: float | None = None
    timeout_s: float = 0.0
    max_size: int = 0
    size_note: str = ""
    now: datetime | None = None
    op_deadline: float | None = None
    op_name: str = ""
    op_timeout_s: float = 0.0
    op_hint: str = ""
    depth: int = 0  # calls (macros, methods) now nested inside one another


_LIMITS = _Limits()

#: nested calls a render may make (macros calling macros): a bound of its own, so how deep a
#: runaway macro goes does not depend on ``sys.getrecursionlimit()`` (which other code may raise)
MAX_CALL_DEPTH = 256


def check_budget() -> None:
    """Raise :class:`RenderTimeout` when the current render (or :class:`OperationTimeout` when the
    enclosing operation) is past its deadline."""
    deadline = _LIMITS.deadline
    if deadline is None:
        return
    now = time.monotonic()
    op = _LIMITS.op_deadline
    if op is not None and now > op:
        raise OperationTimeout(f"{_LIMITS.op_name} exceeded its time limit of {_LIMITS.op_timeout_s:g} s "
                               f"(raise it with {_LIMITS.op_hint})")
    if now > deadline:
        raise RenderTimeout(f"render exceeded its time limit of {_LIMITS.timeout_s:g} s (raise it with "
                            "PEGTOOL_RENDER_TIMEOUT or LIMITS.render_timeout_s)")


def _size_error(what: str) -> RenderLimitError:
    return RenderLimitError(f"{what} exceeds the size bound {_LIMITS.max_size:,}{_LIMITS.size_note} "
                            "(raise it with PEGTOOL_MAX_GENERATED or LIMITS.max_generated)")


def _check_size(value: Any) -> Any:
    limit = _LIMITS.max_size
    if limit and isinstance(value, _SIZED) and len(value) > limit:
        raise _size_error(f"an intermediate value of {len(value):,} items")
    return value


def _check_int_args(args: Iterable[Any]) -> None:
    limit = _LIMITS.max_size
    if limit and any(isinstance(a, int) and a > limit for a in args):
        raise _size_error("a numeric argument")


class limits:  # noqa: N801 - used as a context manager, reads like a function
    """Context manager activating a time and size budget for renders on this thread
    (``size_note`` explains how ``max_size`` was derived, for the error message)."""

    def __init__(self, timeout_s: float, max_size: int, now: datetime | None = None, size_note: str = "") -> None:
        self._timeout_s, self._max_size, self._now, self._note = timeout_s, max_size, now, size_note

    def __enter__(self) -> None:
        self._saved = (_LIMITS.deadline, _LIMITS.timeout_s, _LIMITS.max_size, _LIMITS.now, _LIMITS.size_note)
        _LIMITS.deadline = time.monotonic() + self._timeout_s
        _LIMITS.timeout_s = self._timeout_s
        _LIMITS.max_size, _LIMITS.now, _LIMITS.size_note = self._max_size, self._now, self._note

    def __exit__(self, *exc: object) -> None:
        (_LIMITS.deadline, _LIMITS.timeout_s, _LIMITS.max_size, _LIMITS.now, _LIMITS.size_note) = self._saved


class operation:  # noqa: N801 - used as a context manager, reads like a function
    """Context manager giving a whole operation (``name``) a deadline shared by all its renders;
    ``hint`` says how to raise the limit. Nested operations keep the earlier deadline."""

    def __init__(self, name: str, timeout_s: float, hint: str) -> None:
        self._name, self._timeout_s, self._hint = name, timeout_s, hint

    def __enter__(self) -> None:
        self._saved = (_LIMITS.op_deadline, _LIMITS.op_name, _LIMITS.op_timeout_s, _LIMITS.op_hint)
        deadline = time.monotonic() + self._timeout_s
        if _LIMITS.op_deadline is None or deadline < _LIMITS.op_deadline:
            _LIMITS.op_deadline, _LIMITS.op_name = deadline, self._name
            _LIMITS.op_timeout_s, _LIMITS.op_hint = self._timeout_s, self._hint

    def __exit__(self, *exc: object) -> None:
        _LIMITS.op_deadline, _LIMITS.op_name, _LIMITS.op_timeout_s, _LIMITS.op_hint = self._saved


def _loop_guard(iterable: Any) -> Iterator[Any]:
    """Iterate ``iterable`` unchanged, checking the budget every 256 items."""
    for i, item in enumerate(iterable):
        if not i & 255:
            check_budget()
        yield item


def _size_guard(value: Any) -> Any:
    """The value of a ``~`` concatenation, refused past the size bound."""
    check_budget()
    return _check_size(value)


class GenerationTagExtension(Extension):
    """Accepts ``{% generation %}...{% endgeneration %}`` (HF's assistant mask) and renders the body."""

    tags = {"generation"}

    def parse(self, parser: Any) -> list[nodes.Node]:
        next(parser.stream)
        return list(parser.parse_statements(("name:endgeneration",), drop_needle=True))


def tojson(value: Any, ensure_ascii: bool = False, indent: int | str | None = None,
           separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    """HF's ``tojson``: plain :func:`json.dumps` (no HTML escaping) with its keyword arguments.

    One leniency over HF: an iterator (``tools | map(attribute='function')``) dumps as a list, as
    llama.cpp's template engine does.
    """
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Iterator) and not isinstance(value, jinja2.Undefined):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def from_json(text: str) -> Any:
    """Filter ``from_json`` (DeepSeek V3.2/V4 templates): parse a JSON string."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"from_json: not JSON: {exc}") from None


def raise_exception(message: Any) -> None:
    """Template global: abort rendering with the template's own message."""
    raise TemplateRaised(str(message))


def strftime_now(fmt: str) -> str:
    """Template global: the current (or the render's fixed) time formatted with ``fmt``."""
    return (_LIMITS.now or datetime.now()).strftime(fmt)


def today() -> str:
    """The current (or the render's fixed) date, ``YYYY-MM-DD``: the default of a ``datetime``
    variable that some templates print and fail without (Firefunction v2: ``Today is …``)."""
    return (_LIMITS.now or datetime.now()).strftime("%Y-%m-%d")


def _guard_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_budget()
        _check_int_args(list(args[1:]) + list(kwargs.values()))
        return _check_size(func(*args, **kwargs))

    return guarded


class PegtoolSandbox(SandboxedEnvironment):
    """Mutable sandbox with budget checks on every hook the sandbox offers."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check_budget()
        if operator == "**" and isinstance(right, int) and right > 64 and left not in (0, 1, -1):
            raise RenderLimitError("exponent too large")
        if operator == "*":
            _check_repeat(left, right)
        return _check_size(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        check_budget()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_int_args(list(args) + list(kwargs.values()))
        if _LIMITS.depth >= MAX_CALL_DEPTH:
            raise RenderLimitError(f"recursion too deep: more than {MAX_CALL_DEPTH} nested calls")
        _LIMITS.depth += 1
        try:
            result = _check_size(super().call(__context, __obj, *args, **kwargs))
        finally:
            _LIMITS.depth -= 1
        if isinstance(owner, (list, dict)):  # list.extend / append / insert, dict.update grow in place
            _check_size(owner)
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_budget()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_budget()
        return super().getitem(obj, argument)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _GUARD_FILTER, [], [], None, None, lineno=loop.lineno)
        return _SizeGuards().visit(tree)


class _SizeGuards(NodeTransformer):
    """Wraps every ``~`` concatenation in the size-guard filter (jinja joins them unchecked)."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802 - NodeTransformer naming
        self.generic_visit(node)
        return nodes.Filter(node, _SIZE_FILTER, [], [], None, None, lineno=node.lineno)


def _check_repeat(left: Any, right: Any) -> None:
    seq, count = (left, right) if isinstance(right, int) else (right, left)
    limit = _LIMITS.max_size
    if limit and isinstance(seq, _SIZED) and isinstance(count, int) and len(seq) * count > limit:
        raise RenderLimitError(f"repetition of {len(seq)} x {count} exceeds the size bound {limit}")


def make_environment() -> PegtoolSandbox:
    """The HF-compatible environment: trim/lstrip blocks, loop controls, generation tag, HF globals."""
    env = PegtoolSandbox(trim_blocks=True, lstrip_blocks=True,
                         extensions=[loopcontrols, GenerationTagExtension])
    env.filters = {name: _guard_filter(f) for name, f in env.filters.items()}
    env.filters["tojson"] = _guard_filter(tojson)
    env.filters["from_json"] = _guard_filter(from_json)
    env.filters[_GUARD_FILTER] = _loop_guard
    env.filters[_SIZE_FILTER] = _size_guard
    env.globals.pop("lipsum", None)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENVIRONMENT = make_environment()


@functools.lru_cache(maxsize=512)
def _compile(text: str) -> jinja2.Template:
    # Under a render budget: a filter that jinja tries to fold at compile time and that would
    # exceed it raises, and jinja then leaves the call to the render (where the budget holds).
    with limits(LIMITS.render_timeout_s, LIMITS.max_generated):
        return ENVIRONMENT.from_string(text)


def compile_template(text: str, name: str = TEMPLATE_FILENAME) -> jinja2.Template:
    """Compile template text once (cached by text); syntax errors name ``name`` and the line."""
    try:
        return _compile(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}", source=name, line=exc.lineno) from None
    except (RecursionError, MemoryError, SyntaxError) as exc:  # nesting deeper than Python compiles
        raise TemplateError(f"template nesting too deep to compile ({type(exc).__name__})", source=name) from None
