"""YAML read with the line of every mapping key and list item, so that a bad script is
refused naming the line; duplicate keys are refused (PyYAML would keep the last one)."""

import re
from typing import Any

import yaml


class ScriptError(Exception):
    """A script refused before any turn runs: where and what was wrong."""

    def __init__(self, line: int | None, message: str, file: str = "") -> None:
        super().__init__(message)
        self.file, self.line, self.message = file, line, message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" if where else self.message


class Located(dict):
    """A YAML mapping; `line` is its own line, `lines[key]` the line of each key."""

    line: int = 0
    lines: dict[str, int] = {}  # an empty one's; read, never written


class LocatedList(list):
    """A YAML sequence; `line` is its own line, `lines[i]` the line of each item."""

    line: int
    lines: list[int]


class Pattern:
    """A regular expression written `!re "…"`: matches text that it is found in."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.regex = re.compile(source)

    def __repr__(self) -> str:
        return f"/{self.source}/"


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    mapping = Located()
    mapping.line, mapping.lines = line_of(node), {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise ScriptError(line_of(key_node), f"a key must be text, not {key!r}")
        if key in mapping:
            raise ScriptError(line_of(key_node), f"{key!r} is given twice")
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line_of(key_node)
    return mapping


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    items = LocatedList(loader.construct_object(item, deep=True) for item in node.value)
    items.line, items.lines = line_of(node), [line_of(item) for item in node.value]
    return items


def _pattern(loader: _Loader, node: yaml.Node) -> Pattern:
    if not isinstance(node, yaml.ScalarNode):
        raise ScriptError(line_of(node), "!re takes a text, the regular expression")
    source = loader.construct_scalar(node)
    try:
        return Pattern(source)
    except re.error as error:
        problem = f"!re {source!r} is not a valid regular expression: {error}"
        raise ScriptError(line_of(node), problem) from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor("!re", _pattern)


def load_yaml(text: str, file: str) -> Any:
    """The document in `text`; ScriptError naming `file` and the line if it is not YAML."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: no Python objects
    except ScriptError as error:
        error.file = file
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise ScriptError(line, f"not valid YAML: {error.problem or error}", file) from None
    except yaml.YAMLError as error:
        raise ScriptError(None, f"not valid YAML: {error}", file) from None
