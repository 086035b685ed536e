"""Types in specs: a type expression as a string, and back.

A typed codec records its type in its spec. A class is recorded by its import path
(``"app.models:User"``, as :func:`~nstore.codecs.type_path` gives it); a parametrised generic and a
union are recorded as an expression over import paths::

    list[User]          -> "builtins:list[app.models:User]"
    dict[str, int]      -> "builtins:dict[builtins:str, builtins:int]"
    User | None         -> "app.models:User | None"

so that ``Msgspec(list[User])`` is as rebuildable from its spec as ``Msgspec(User)``.
"""

from __future__ import annotations

import ast
import enum
import functools
import operator
import re
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, get_args, get_origin

from nstore.codecs._spec import import_type, type_path
from nstore.errors import ConfigurationError, SpecError

R = TypeVar("R")

__all__ = [
    "build",
    "class_of",
    "contents_check",
    "exact_classes",
    "format_type",
    "parse_type",
    "plain_type",
    "rebuild_typed",
    "type_name",
]

_UNIONS = (types.UnionType, typing.Union)
_PUNCTUATION = frozenset("[],|")
# A quoted string (a Literal's value) is one token, whatever it holds.
_TOKEN = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\(\)|\[|\]|,|\||[^\[\],|\s]+)""")
_INT = re.compile(r"-?[0-9]+")
_CONSTANTS = {"True": True, "False": False, "None": None}


def format_type(tp: Any) -> str:
    """The spec string of ``tp``: an import path, or an expression over import paths."""
    return _spell(tp, tp, _path_of)


def _path_of(tp: Any, whole: Any) -> str:
    if tp is typing.Literal:
        return "typing:Literal"
    if not isinstance(tp, type):
        raise SpecError(f"Cannot record {whole!r} in a spec: expected classes, generics and unions of them.")
    return type_path(tp)


def _spell(tp: Any, whole: Any, name_of: Callable[[Any, Any], str]) -> str:
    """``tp`` as a type expression whose classes (and generic origins) ``name_of`` names."""
    if tp is None or tp is type(None):
        return "None"
    if tp is Ellipsis:
        return "..."
    origin = get_origin(tp)
    if origin in _UNIONS:
        return " | ".join(_spell(arg, whole, name_of) for arg in get_args(tp))
    if origin is None:
        return name_of(tp, whole)
    if origin is typing.Literal:
        values = ", ".join(_literal_value(value, whole, name_of) for value in get_args(tp))
        return f"{name_of(origin, whole)}[{values}]"
    if not get_args(tp):  # a bare alias (typing.List), or the empty tuple
        return f"{name_of(origin, whole)}[()]" if _is_empty_tuple(tp) else name_of(origin, whole)
    args = ", ".join(_spell(arg, whole, name_of) for arg in get_args(tp))
    return f"{name_of(origin, whole)}[{args}]"


def _literal_value(value: Any, whole: Any, name_of: Callable[[Any, Any], str]) -> str:
    """A value of a ``Literal``: a str, an int, a bool or None as Python writes it, an enum member
    as its class's path and its name."""
    if isinstance(value, enum.Enum):
        return f"{name_of(type(value), whole)}.{value.name}"
    if value is None or type(value) in (str, int, bool):
        return repr(value)
    raise SpecError(f"Cannot record {whole!r} in a spec: a Literal holds str, int, bool, None, enums.")


def _is_empty_tuple(tp: Any) -> bool:
    """Whether ``tp``, a generic with no arguments, is ``tuple[()]`` rather than a bare alias."""
    return get_origin(tp) is tuple and tp is not typing.Tuple  # noqa: UP006  (the bare alias)


def plain_type(tp: Any) -> Any:
    """``tp`` with typing's aliases of builtin generics as the builtins, and NoneType as None.

    ``typing.List[int]`` is ``list[int]`` to msgspec and pydantic, and a spec records both as
    ``builtins:list[builtins:int]``; a typed codec keeps the plain form, so that the codec rebuilt
    from its spec is equal to it.

    >>> plain_type(typing.Optional[typing.List[int]])
    list[int] | None
    """
    if tp is type(None):
        return None
    origin, args = get_origin(tp), get_args(tp)
    if origin in _UNIONS:
        return functools.reduce(operator.or_, [plain_type(arg) for arg in args])
    if origin is None or not isinstance(origin, type):  # a class; Literal, Annotated
        return tp
    if not args:
        return tuple[()] if _is_empty_tuple(tp) else origin
    generic: Any = origin  # a class that takes arguments
    return generic[tuple(plain_type(arg) for arg in args)]


def exact_classes(tp: Any) -> frozenset[type] | None:
    """The classes whose instances a typed codec reads back as ``tp``, when the class decides it.

    For a class, or a union of classes and None: those classes (and ``int`` beside ``float``,
    which both msgspec and pydantic read back as a float); a value of any other class, a subclass
    included, is not read back as a ``tp``. None when the class of a value cannot decide it
    (generics, ``TypedDict``, ``Literal``, ``Annotated``): only validating its contents can.
    """
    members = get_args(tp) if get_origin(tp) in _UNIONS else (tp,)
    classes: set[type] = set()
    for member in members:
        if member is None:
            member = type(None)
        if (
            member is Any
            or member is object
            or not isinstance(member, type)
            or get_origin(member) is not None
            or typing.is_typeddict(member)
        ):
            return None
        classes.add(member)
        if member is float:
            classes.add(int)
    return frozenset(classes)


def contents_check(tp: Any) -> Callable[[Any], bool] | None:
    """A test that a value is a ``tp`` by its classes alone, for containers of such values.

    ``list[X]``, ``set[X]``, ``frozenset[X]``, ``tuple[X, ...]``, ``tuple[X, Y]`` and
    ``dict[K, V]`` whose items pass :func:`exact_classes` (or, nested, this test): the container's
    class is exactly the origin and every item's class is one of its type's. None for anything
    else (TypedDict, Literal, Annotated, Any inside): only validating the contents can tell.
    """
    classes = exact_classes(tp)
    if classes is not None:
        return lambda value: type(value) in classes
    origin, args = get_origin(tp), get_args(tp)
    if origin in (list, set, frozenset) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        each = contents_check(args[0]) if args else None
        if each is None:
            return None
        item: Callable[[Any], bool] = each
        return lambda value: type(value) is origin and all(map(item, value))
    if origin is tuple and args and Ellipsis not in args:
        items = [contents_check(arg) for arg in args]
        checks = [check for check in items if check is not None]
        if len(checks) != len(items):
            return None
        return lambda value: (
            type(value) is tuple
            and len(value) == len(checks)
            and all(check(x) for check, x in zip(checks, value, strict=True))
        )
    if origin is dict and len(args) == 2:
        key, values = contents_check(args[0]), contents_check(args[1])
        if key is None or values is None:
            return None
        return lambda value: type(value) is dict and all(map(key, value)) and all(map(values, value.values()))
    return None


def build(name: str, factory: Callable[..., R], *args: Any, **params: Any) -> R:
    """Call ``factory`` on parameters read from a spec; bad ones raise SpecError."""
    try:
        return factory(*args, **params)
    except (TypeError, ConfigurationError) as exc:
        raise SpecError(f"Bad parameters {sorted(params)} for codec {name!r}: {exc}", codec=name) from exc


def rebuild_typed(name: str, factory: Callable[..., R], params: dict[str, Any]) -> R:
    """Rebuild a typed codec from its params: import ``type``, drop the recorded ``fingerprint``.

    The fingerprint describes the type as it was when the spec was written; the type is rebuilt
    as it is now, and comparing the two is the namespace's business.
    """
    params = dict(params)
    params.pop("fingerprint", None)
    path = params.pop("type", None)
    if not isinstance(path, str):
        raise SpecError(f"Expected an import path string for type in a {name!r} spec.", codec=name)
    return build(name, factory, parse_type(path), **params)


def type_name(tp: Any) -> str:
    """A short name of ``tp`` for messages: qualified names, also inside generics and unions.

    >>> type_name(dict[str, list[int]] | None)
    'dict[str, list[int]] | None'
    """
    return _spell(tp, tp, lambda part, _: part.__qualname__ if isinstance(part, type) else repr(part))


def class_of(value: object, expected: str) -> str:
    """The name of ``value``'s class for a message that expected ``expected``: its qualified name,
    or, when that is ``expected`` too (another class of the same name), its module as well."""
    name = type(value).__qualname__
    if name != expected:
        return name
    return f"{type(value).__module__}.{name} (another class of that name)"


def parse_type(text: str) -> Any:
    """Rebuild the type that :func:`format_type` recorded as ``text``; raise SpecError."""
    tokens, end = [], 0
    while match := _TOKEN.match(text, end):
        tokens.append(match.group(1))
        end = match.end()
    if not tokens or text[end:].strip():
        raise SpecError(f"Expected a type expression of import paths. Got {text!r}.")
    tp, rest = _union(tokens, text)
    if rest:
        raise SpecError(f"Unexpected {rest[0]!r} in the type expression {text!r}.")
    return tp


def _union(tokens: list[str], text: str) -> tuple[Any, list[str]]:
    members = []
    member, tokens = _atom(tokens, text)
    members.append(member)
    while tokens and tokens[0] == "|":
        member, tokens = _atom(tokens[1:], text)
        members.append(member)
    if len(members) == 1:
        return members[0], tokens
    return functools.reduce(operator.or_, members), tokens


def _atom(tokens: list[str], text: str) -> tuple[Any, list[str]]:
    if not tokens or tokens[0] in _PUNCTUATION:
        raise SpecError(f"Expected a type in the type expression {text!r}.")
    head, tokens = tokens[0], tokens[1:]
    if head == "None":
        return None, tokens
    if head == "...":
        return Ellipsis, tokens
    origin = import_type(head)
    if not tokens or tokens[0] != "[":
        return origin, tokens
    tokens = tokens[1:]
    if tokens[:2] == ["()", "]"]:  # tuple[()]
        return _subscript(origin, (), text), tokens[2:]
    args = []
    while True:
        if origin is typing.Literal and tokens:
            arg, tokens = _parse_literal_value(tokens[0], text), tokens[1:]
        else:
            arg, tokens = _union(tokens, text)
        args.append(arg)
        if not tokens:
            raise SpecError(f"Unclosed '[' in the type expression {text!r}.")
        separator, tokens = tokens[0], tokens[1:]
        if separator == "]":
            break
        if separator != ",":
            raise SpecError(f"Expected ',' or ']' in the type expression {text!r}.")
    return _subscript(origin, tuple(args), text), tokens


def _parse_literal_value(token: str, text: str) -> Any:
    """The value of a ``Literal`` that :func:`_literal_value` wrote as ``token``."""
    if token[:1] in ("'", '"'):
        try:
            return ast.literal_eval(token)
        except (ValueError, SyntaxError) as exc:
            raise SpecError(f"Bad string {token} in the type expression {text!r}: {exc}") from exc
    if _INT.fullmatch(token):
        return int(token)
    if token in _CONSTANTS:
        return _CONSTANTS[token]
    path, _, name = token.rpartition(".")
    cls = import_type(path or token)
    if not (isinstance(cls, type) and issubclass(cls, enum.Enum) and name in cls.__members__):
        raise SpecError(f"Expected a str, int, bool, None or enum member. Got {token!r} in {text!r}.")
    return cls[name]


def _subscript(origin: Any, args: tuple[Any, ...], text: str) -> Any:
    try:
        return origin[args]
    except TypeError as exc:
        raise SpecError(f"Cannot rebuild {text!r}: {exc}") from exc
