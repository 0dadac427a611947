"""Tool specifications: JSON Schema parameters, OpenAI function format, the ``@tool`` decorator."""

from __future__ import annotations

import copy
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from tool_gym.errors import SpecError

MAX_ENUM_SHOWN = 6
_PY_TO_JSON = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}


@dataclass
class ToolSpec:
    """One tool as an agent sees it, plus the backend that runs it.

    Attributes:
        name: Tool name the agent calls.
        description: What the tool does, in one or two sentences.
        parameters: A JSON Schema object describing the keyword arguments.
        returns: Optional JSON Schema of the result (documentation only).
        side_effects: True when the tool changes the world (book, send, write).
        fn: ``fn(world, **arguments)`` returning a JSON-serialisable result.

    Example:
        >>> spec = ToolSpec("echo", "Echo text.", {"type": "object",
        ...     "properties": {"text": {"type": "string"}}, "required": ["text"]})
        >>> spec.validate({"text": 3}).split(":")[0]
        "at 'text'"
    """

    name: str
    description: str
    parameters: dict[str, Any]
    returns: dict[str, Any] | None = None
    side_effects: bool = False
    fn: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    _validator: Draft202012Validator | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.parameters.get("type") != "object":
            raise SpecError(f"{self.name}: parameters must be a JSON Schema object")
        Draft202012Validator.check_schema(self.parameters)

    @property
    def validator(self) -> Draft202012Validator:
        # One compiled validator per tool: jsonschema.validate() re-checks the schema every call.
        if self._validator is None:
            self._validator = Draft202012Validator(self.parameters)
        return self._validator

    @property
    def param_names(self) -> list[str]:
        return list(self.parameters.get("properties", {}))

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", []))

    def validate(self, arguments: Any) -> str | None:
        """None when ``arguments`` satisfy the schema, else what is wrong and what is expected.

        One wording for every tool, drifted or not (the drift layer's specs are ToolSpecs
        too), so an error never tells which tools drifted: an unknown parameter or a
        missing required one names every parameter and the required ones; wrong values
        are listed together (up to four), each with its path, rule and expected form.
        """
        if self.validator.is_valid(arguments):
            return None
        if isinstance(arguments, dict):
            props = self.parameters.get("properties", {})
            names = ", ".join(props) or "none"
            required = list(self.parameters.get("required", []))
            req = ", ".join(required) or "none"
            unknown = [k for k in arguments if k not in props]
            if unknown and self.parameters.get("additionalProperties") is False:
                return (f"at 'arguments': unknown parameter '{str(unknown[0])[:60]}'; "
                        f"parameters: {names} (required: {req})")
            missing = [r for r in required if r not in arguments]
            if missing:
                sub = props.get(missing[0], {})
                desc = f" ({sub['description']})" if sub.get("description") else ""
                allowed = (f"; one of: {json.dumps(sub['enum'])}" if "enum" in sub else "")
                return (f"at 'arguments': missing required parameter '{missing[0]}'{desc}"
                        f"{allowed}; parameters: {names} (required: {req})")
            # every wrong value at once (up to 4), so one trial shows all the new formats
            errors = [e for e in self.validator.iter_errors(arguments) if e.absolute_path]
            if errors:
                errors.sort(key=lambda e: [str(p) for p in e.absolute_path])
                return " | ".join(_describe_error(e) for e in errors[:4])
        err = best_match(self.validator.iter_errors(arguments))
        path = ".".join(str(p) for p in err.absolute_path) or "arguments"
        hint = ""
        if err.validator == "additionalProperties":
            allowed = ", ".join(self.param_names) or "none"
            hint = f" Allowed parameters: {allowed}."
        elif err.validator == "required":
            hint = f" Required parameters: {', '.join(self.required)}."
        elif err.validator in ("type", "enum", "pattern", "minimum", "maximum", "format"):
            sub = err.schema
            if "description" in sub:
                hint = f" Expected: {sub['description']}"
        return f"at '{path}': {err.message} (rule: {err.validator}).{hint}"

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this spec."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": copy.deepcopy(self.parameters),
            },
        }

    @classmethod
    def from_openai(
        cls, entry: Mapping[str, Any], fn: Callable[..., Any] | None = None, **kwargs: Any
    ) -> ToolSpec:
        """Build a spec from an OpenAI ``tools`` entry (with or without the outer wrapper)."""
        function = entry.get("function", entry)
        params = copy.deepcopy(function.get("parameters") or {"type": "object", "properties": {}})
        return cls(function["name"], function.get("description", ""), params, fn=fn, **kwargs)

    def signature(self) -> str:
        """One compact line: ``name(a: string, b?: integer) - description``."""
        parts = []
        req = set(self.required)
        for pname, pschema in self.parameters.get("properties", {}).items():
            opt = "" if pname in req else "?"
            parts.append(f"{pname}{opt}: {_type_label(pschema)}")
        desc = self.description.split("\n")[0]
        return f"{self.name}({', '.join(parts)}) - {desc}" if desc else f"{self.name}({', '.join(parts)})"

    def replace(self, **changes: Any) -> ToolSpec:
        """A copy with some fields changed (schemas deep-copied)."""
        values = {
            "name": self.name,
            "description": self.description,
            "parameters": copy.deepcopy(self.parameters),
            "returns": copy.deepcopy(self.returns),
            "side_effects": self.side_effects,
            "fn": self.fn,
        }
        values.update(changes)
        return ToolSpec(**values)


def _type_label(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        if len(values) > MAX_ENUM_SHOWN:  # long unit lists would dominate a small model's prompt
            return "|".join(values[:MAX_ENUM_SHOWN]) + f"|...({len(values)} values)"
        return "|".join(values)
    t = schema.get("type", "any")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "any")
    if t == "array":
        return f"list[{_type_label(schema.get('items', {}))}]"
    label = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(t, str(t))
    if "format" in schema:
        label += f" ({schema['format']})"
    elif "pattern" in schema:
        fmt = _FORMAT_TOKEN.search(schema.get("description", ""))
        if fmt:  # e.g. YYYY-MM-DD, HH:MM: the part of the description a caller must see
            label += f" ({fmt.group()})"
    return label


_FORMAT_TOKEN = re.compile(r"\b[YMDHS]{1,4}(?:[-/:.][YMDHS]{1,4})+\b")


def _annotation_schema(annotation: Any, where: str) -> dict[str, Any]:
    origin = get_origin(annotation)
    if isinstance(annotation, type) and annotation in _PY_TO_JSON:
        return {"type": _PY_TO_JSON[annotation]}
    if origin is Literal:
        values = list(get_args(annotation))
        return {"type": _PY_TO_JSON[type(values[0])], "enum": values}
    if origin in (list, tuple, typing.List):  # noqa: UP006
        (item,) = get_args(annotation)[:1] or (str,)
        return {"type": "array", "items": _annotation_schema(item, where)}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            schema = _annotation_schema(args[0], where)
            if len(get_args(annotation)) > len(args) and "type" in schema:
                schema["type"] = [schema["type"], "null"]  # Optional: an explicit null is fine
            return schema
    if origin is typing.Annotated:
        base, *extra = get_args(annotation)
        schema = _annotation_schema(base, where)
        for e in extra:
            if isinstance(e, Mapping):
                schema.update(e)
        return schema
    raise SpecError(f"{where}: unsupported annotation {annotation!r}")


_ARG_LINE = re.compile(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and per-argument descriptions."""
    doc = inspect.cleandoc(doc or "")
    summary_lines: list[str] = []
    args: dict[str, str] = {}
    section = "summary"
    current = None
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            section = "args"
            continue
        if stripped.endswith(":") and stripped[:-1] in ("Returns", "Raises", "Example", "Examples"):
            section = "other"
            continue
        if section == "summary":
            if stripped or summary_lines:
                summary_lines.append(stripped)
        elif section == "args":
            m = _ARG_LINE.match("  " + line) if not line.startswith("  ") else _ARG_LINE.match(line)
            if m and (not line.startswith("      ")):
                current = m.group(1)
                args[current] = m.group(2).strip()
            elif current and stripped:
                args[current] += " " + stripped
    summary = " ".join(s for s in summary_lines if s).strip()
    return summary, args


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    side_effects: bool = False,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Any:
    """Turn a typed, documented function ``fn(world, ...)`` into a :class:`ToolSpec`.

    The first parameter receives the world and is not part of the schema. Parameters
    without a default are required; ``params`` adds schema keywords per parameter
    (``pattern``, ``minimum``, ``format``...). Descriptions come from the Google-style
    ``Args:`` section.

    Example:
        >>> @tool
        ... def add(world, a: int, b: int = 0) -> int:
        ...     '''Add two integers.
        ...
        ...     Args:
        ...         a: First term.
        ...         b: Second term.
        ...     '''
        ...     return a + b
        >>> add.signature()
        'add(a: int, b?: int) - Add two integers.'
    """

    def build(f: Callable[..., Any]) -> ToolSpec:
        sig = inspect.signature(f)
        hints = typing.get_type_hints(f, include_extras=True)
        summary, arg_docs = _parse_docstring(f.__doc__ or "")
        properties: dict[str, Any] = {}
        required: list[str] = []
        for i, (pname, p) in enumerate(sig.parameters.items()):
            if i == 0:
                continue  # the world
            if pname not in hints:
                raise SpecError(f"{f.__name__}.{pname}: missing type annotation")
            schema = _annotation_schema(hints[pname], f"{f.__name__}.{pname}")
            if pname in arg_docs:
                extra = schema.get("description", "")
                doc = arg_docs[pname]
                schema["description"] = doc if extra.lower() in doc.lower() else f"{doc} ({extra})"
            if params and pname in params:
                schema.update(params[pname])
            if p.default is inspect.Parameter.empty:
                required.append(pname)
            else:
                schema.setdefault("default", p.default)
            properties[pname] = schema
        parameters = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        return ToolSpec(
            name=name or f.__name__,
            description=summary,
            parameters=parameters,
            side_effects=side_effects,
            fn=f,
        )

    return build(fn) if fn is not None else build


def _describe_error(err: Any) -> str:
    path = ".".join(str(p) for p in err.absolute_path)
    hint = ""
    if err.validator in ("type", "enum", "pattern", "minimum", "maximum", "format") and \
            "description" in err.schema:
        hint = f" Expected: {err.schema['description']}"
    return f"at '{path}': {err.message} (rule: {err.validator}).{hint}"
