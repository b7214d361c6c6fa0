"""Command-line options declared once, on the fields of the typed configs they fill.

A config dataclass declares each setting with :func:`option`: its default, help text,
other spellings (the original's underscore flags, ``-i``/``-o``), and its valid range.
From that one declaration :func:`add_options` builds the argparse options,
:func:`config_from_args` builds the config, and :func:`check_options` validates a config
however it was made (command line, Python API, demo), raising :class:`ConfigError`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from lungnet.errors import ConfigError

__all__ = ["Option", "option", "add_options", "config_from_args", "check_options", "flag_of"]

_KEY = "lungnet_option"


@dataclasses.dataclass(frozen=True)
class Option:
    """How one config field appears on the command line and which values it accepts."""

    help: str
    flag: str | None = None  # the main spelling; default: the field name, dashed
    aliases: tuple[str, ...] = ()  # other spellings, e.g. "-i", "--data_dir"
    metavar: str | tuple[str, ...] | None = None
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None  # inclusive
    maximum: float | None = None  # inclusive
    above: float | None = None  # exclusive lower bound
    below: float | None = None  # exclusive upper bound
    parse: Callable[[str], Any] | None = None  # argparse type; default: the field's type
    nargs: int | str | None = None
    on_command_line: bool = True
    required: bool = False  # on the command line (the dataclass default then unused)


def option(default: Any = dataclasses.MISSING, *, help: str, **details: Any) -> Any:
    """A dataclass field carrying its command-line :class:`Option` (keywords as its fields)."""
    meta = {_KEY: Option(help=help, **details)}
    if isinstance(default, list | dict | set):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _declared(config_cls: type) -> Iterable[tuple[dataclasses.Field, Option]]:
    for f in dataclasses.fields(config_cls):
        opt = f.metadata.get(_KEY)
        if opt is not None:
            yield f, opt


def flag_of(name: str) -> str:
    """The dashed command-line flag of a config field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def _parser_for(value_type: Any) -> Callable[[str], Any] | None:
    text = str(value_type)
    if "bool" in text:
        return None
    if "int" in text and "float" not in text:
        return _optional(int) if "None" in text else int
    if "float" in text:
        return _optional(float) if "None" in text else float
    return None


def _optional(cast: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.lower() == "none" else cast(text)

    parse.__name__ = cast.__name__
    return parse


def add_options(
    parser: argparse.ArgumentParser,
    config_cls: type,
    *,
    exclude: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
) -> None:
    """Add one option per declared field of ``config_cls`` (its dashed name plus aliases).

    Args:
        parser: the command's parser.
        config_cls: a dataclass whose fields were declared with :func:`option`.
        exclude: fields the command sets otherwise.
        defaults: command-line defaults that differ from the dataclass's.
    """
    skip = set(exclude)
    defaults = defaults or {}
    for f, opt in _declared(config_cls):
        if not opt.on_command_line or f.name in skip:
            continue
        flags = [opt.flag or flag_of(f.name)]
        underscored = flags[0].replace("-", "_").replace("__", "--", 1)
        if underscored != flags[0]:
            flags.append(underscored)
        flags += [a for a in opt.aliases if a not in flags]
        default = defaults.get(f.name, f.default)
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        kwargs: dict[str, Any] = {"dest": f.name, "help": _help(opt, default)}
        if "bool" in str(f.type) and opt.parse is None:
            kwargs.update(action=argparse.BooleanOptionalAction, default=default)
        else:
            kwargs.update(
                default=None if default is dataclasses.MISSING else default,
                type=opt.parse or _parser_for(f.type),
                metavar=opt.metavar,
                nargs=opt.nargs,
                required=opt.required,
            )
            if opt.choices is not None:
                kwargs["choices"] = opt.choices
        parser.add_argument(*flags, **{k: v for k, v in kwargs.items() if v is not None})


def _help(opt: Option, default: Any) -> str:
    if default in (dataclasses.MISSING, None) or opt.required:
        return opt.help
    shown = " ".join(str(v) for v in default) if isinstance(default, tuple | list) else default
    return f"{opt.help} (default: {shown})"


def config_from_args(config_cls: type, args: argparse.Namespace, **values: Any) -> Any:
    """Build ``config_cls`` from parsed arguments; ``values`` set the fields given otherwise."""
    for f, opt in _declared(config_cls):
        if f.name in values or not opt.on_command_line or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return config_cls(**values)


def check_options(config: Any) -> None:
    """Raise :class:`ConfigError` for the first declared field outside its choices or range."""
    for f, opt in _declared(type(config)):
        value = getattr(config, f.name)
        if value is None or isinstance(value, bool):
            continue
        where = f"{f.name} ({opt.flag or flag_of(f.name)})"
        if opt.choices is not None and value not in opt.choices:
            choices = ", ".join(str(c) for c in opt.choices)
            raise ConfigError(f"{where} must be one of {choices}, got {value!r}")
        for item in value if isinstance(value, tuple | list) else (value,):
            if not isinstance(item, int | float):
                continue
            if opt.minimum is not None and item < opt.minimum:
                raise ConfigError(f"{where} must be >= {opt.minimum:g}, got {value!r}")
            if opt.maximum is not None and item > opt.maximum:
                raise ConfigError(f"{where} must be <= {opt.maximum:g}, got {value!r}")
            if opt.above is not None and not item > opt.above:
                raise ConfigError(f"{where} must be > {opt.above:g}, got {value!r}")
            if opt.below is not None and not item < opt.below:
                raise ConfigError(f"{where} must be < {opt.below:g}, got {value!r}")
