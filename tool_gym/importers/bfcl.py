"""BFCL: Berkeley Function Calling Leaderboard data as tool-use episodes.

Data, checkers and backends come from the ``bfcl-eval`` wheel (``pip install
"toolmaster-gym[bfcl]"`` then ``pip install --no-deps bfcl-eval==2026.3.23``: its
declared dependencies pull every model SDK, none of which the data, checkers or backends
use), or from a file or folder in BFCL's layout (``BFCL_v4_<category>.json`` beside
``possible_answer/``).

- Single-turn categories (``simple_*``, ``multiple``, ``parallel``, ``parallel_multiple``,
  ``irrelevance`` and the ``live_*`` ones): each entry is one episode. A real call is
  recorded (these APIs have no backend) and the episode's calls are checked with BFCL's
  own AST checker; irrelevance entries succeed with no call, relevance ones with any.
- Multi-turn categories (``multi_turn_*``): calls run on BFCL's own stateful backends
  (``func_source_code``); an ``<answer>`` ends one user turn and the next one follows;
  the episode is checked with BFCL's multi-turn checker (final state of every backend
  and the calls' results, turn by turn). Trials run on a copy of the backends.
- Not run: the categories in :data:`NOT_RUN` (the web, memory, prompt formats).

Drift applies as to built-in domains: mutations and stale docs change what the agent
sees and calls, and the checkers see the calls in BFCL's own names.

Example:
    >>> from tool_gym.importers.bfcl import BFCLEnv
    >>> env = BFCLEnv(category="simple_python", drift_level="light", stale_docs=True)
    >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import inspect
import itertools
import json
import os
import pickle
import re
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from jsonschema import Draft202012Validator

from tool_gym.domain import Domain
from tool_gym.env import ToolEnv
from tool_gym.errors import SpecError, ToolError
from tool_gym.spec import ToolSpec
from tool_gym.surface import Surface, SurfaceTool
from tool_gym.task import Step, Task
from tool_gym.world import World

VERSION_PREFIX = "BFCL_v4"
SINGLE_TURN = (
    "simple_python", "simple_java", "simple_javascript", "multiple", "parallel",
    "parallel_multiple", "irrelevance", "live_simple", "live_multiple", "live_parallel",
    "live_parallel_multiple", "live_irrelevance", "live_relevance",
)
MULTI_TURN = (
    "multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param",
    "multi_turn_long_context",
)
CATEGORIES = SINGLE_TURN + MULTI_TURN
# Data files the wheel ships that this module does not run, and why.
NOT_RUN = {
    "web_search": "needs the web: its backend (WebSearchAPI) queries SerpAPI and fetches "
                  "pages (BFCL scores each entry twice: web_search_base, _no_snippet)",
    "memory": "agentic memory: each entry starts from a prerequisite conversation played by "
              "the model under test (and the vector backend needs a sentence-transformers "
              "model); no fixed ground-truth replay exists (BFCL scores each entry once per "
              "memory backend: kv, vector, rec_sum)",
    "format_sensitivity": "reruns other categories' entries under other prompt and output "
                          "formats; this env has one fixed action format (BFCL does not "
                          "score it)",
}
INSTALL_HINT = ("BFCL support needs the bfcl-eval wheel without its model SDKs: "
                "pip install 'toolmaster-gym[bfcl]' && "
                "pip install --no-deps bfcl-eval==2026.3.23")
CHECKER_MODEL = "toolgym"  # the name BFCL's checkers get for the model under test


# -- bfcl_eval, imported on first use ------------------------------------------------------


class _NoDotRewrite(dict):
    """Stands in for BFCL's model table: function names keep their dots."""

    def __missing__(self, key: str) -> Any:
        return types.SimpleNamespace(underscore_to_dot=False)


@cache
def _bfcl() -> types.SimpleNamespace:
    """bfcl_eval's loaders and checkers.

    BFCL writes result folders under ``BFCL_PROJECT_ROOT`` at import (default: beside
    site-packages); unless set, it is pointed at ``~/.cache/toolmaster/bfcl``. Its AST
    checker imports the table of every supported model only to learn whether a model
    rewrote dots in function names, which imports every model SDK; when those are not
    installed the table is replaced by one that never rewrites, for that import only.
    """
    os.environ.setdefault("BFCL_PROJECT_ROOT",
                          str(Path.home() / ".cache" / "toolmaster" / "bfcl"))
    table = "bfcl_eval.constants.model_config"
    try:
        import bfcl_eval
        from bfcl_eval import utils
        from bfcl_eval.constants import executable_backend_config as backends
        from bfcl_eval.constants.enums import Language
        from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_checker, multi_turn_utils
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    stub = None
    if table not in sys.modules:
        try:
            importlib.import_module(table)
        except ImportError:
            stub = sys.modules[table] = types.ModuleType(table)
            stub.MODEL_CONFIG_MAPPING = _NoDotRewrite()  # type: ignore[attr-defined]
    try:
        from bfcl_eval.eval_checker.ast_eval import ast_checker
    finally:
        if stub is not None:
            del sys.modules[table]  # a later import of BFCL's own table gets the real one
    model = CHECKER_MODEL
    if not isinstance(ast_checker.MODEL_CONFIG_MAPPING, _NoDotRewrite):
        model = next(k for k, v in ast_checker.MODEL_CONFIG_MAPPING.items()
                     if not v.underscore_to_dot).replace("/", "_")
    return types.SimpleNamespace(
        data=Path(bfcl_eval.__file__).parent / "data", utils=utils, backends=backends,
        Language=Language, ast_checker=ast_checker.ast_checker,
        multi_turn_checker=multi_turn_checker.multi_turn_checker,
        multi_turn_utils=multi_turn_utils, model=model,
    )


# -- loading -------------------------------------------------------------------------------


@dataclass
class Entry:
    """One BFCL test entry.

    Attributes:
        id: BFCL's id (``simple_python_0``, ``live_multiple_3-2-0``, ``multi_turn_base_7``).
        category: The file's category (``simple_python``).
        turns: User turns, each a list of chat messages (single-turn entries have one).
        functions: Function docs as BFCL's checkers read them.
        shown: Function docs as a model is shown them (BFCL's language hints; Java and
            JavaScript parameters are strings).
        ground_truth: BFCL's possible answers (None for irrelevance and relevance).
        initial_config: Multi-turn: the backends' starting state.
        involved_classes: Multi-turn: BFCL backend classes the entry uses.
        missed_function: Multi-turn ``miss_func``: user turn -> names of functions that
            join the catalogue at that turn.
    """

    id: str
    category: str
    turns: list[list[dict[str, Any]]]
    functions: list[dict[str, Any]]
    shown: list[dict[str, Any]]
    ground_truth: Any = None
    initial_config: dict[str, Any] = field(default_factory=dict)
    involved_classes: list[str] = field(default_factory=list)
    missed_function: dict[int, list[str]] = field(default_factory=dict)

    @property
    def multi_turn(self) -> bool:
        return self.category.startswith("multi_turn")


def data_dir() -> Path:
    """The bfcl-eval wheel's ``data/`` folder."""
    return _bfcl().data


def data_files(path: str | Path | None = None) -> dict[str, Path]:
    """Category -> data file in BFCL's layout (the wheel's ``data/`` by default)."""
    root = Path(path) if path is not None else data_dir()
    files = [root] if root.is_file() else sorted(root.glob(f"{VERSION_PREFIX}_*.json"))
    return {f.stem[len(VERSION_PREFIX) + 1:]: f for f in files}


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def entry_ids(category: str, path: str | Path | None = None) -> list[str]:
    """The ids of one category's entries, in file order (no preprocessing)."""
    files = data_files(path)
    if category not in files:
        raise KeyError(f"no BFCL data for category {category!r}; available: "
                       f"{', '.join(files)}")
    return [e["id"] for e in _read_jsonl(files[category])]


def load(category: str, path: str | Path | None = None,
         ids: Sequence[str] | None = None) -> list[Entry]:
    """The entries of one category (only ``ids`` when given), from the wheel or from
    ``path`` (a file or folder in BFCL's layout).

    Raises:
        KeyError: The category is not in the data, or is one of :data:`NOT_RUN`.
    """
    b = _bfcl()
    reason = next((r for k, r in NOT_RUN.items() if category.startswith(k)), None)
    if reason is not None:
        raise KeyError(f"BFCL category {category!r} is not run here: {reason}")
    files = data_files(path)
    if category not in files:
        import difflib

        close = difflib.get_close_matches(category, list(files), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no BFCL data for category {category!r}.{hint} "
                       f"Available: {', '.join(files)}")
    raw = _read_jsonl(files[category])
    if ids is not None:
        wanted = set(ids)
        raw = [e for e in raw if e["id"] in wanted]
    answers_file = files[category].parent / "possible_answer" / files[category].name
    answers = ({a["id"]: a["ground_truth"] for a in _read_jsonl(answers_file)}
               if answers_file.exists() else {})
    # BFCL's own preprocessing (in place): multi-turn docs come from the backends' doc
    # files minus held-out functions; the shown docs carry BFCL's language hints.
    checked = b.utils.populate_test_cases_with_predefined_functions(raw)
    entries = []
    for e in checked:
        held = e.get("missed_function") or {}
        functions = list(e["function"]) + [f for docs in held.values() for f in docs]
        shown = b.utils.add_language_specific_hint_to_function_doc(
            [{"id": e["id"], "function": copy.deepcopy(functions)}])[0]["function"]
        entries.append(Entry(
            id=e["id"], category=category, turns=e["question"], functions=functions,
            shown=shown, ground_truth=answers.get(e["id"]),
            initial_config=e.get("initial_config", {}),
            involved_classes=e.get("involved_classes", []),
            missed_function={int(k): [f["name"] for f in v] for k, v in held.items()},
        ))
    return entries


# -- schemas and plans ---------------------------------------------------------------------

# BFCL's type names -> JSON Schema types (BFCL's GORILLA_TO_OPENAPI, except that "any"
# stays unconstrained instead of becoming a string).
_TYPES = {
    "integer": "integer", "number": "number", "float": "number", "string": "string",
    "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
    "dict": "object", "object": "object", "tuple": "array", "byte": "integer",
    "short": "integer", "long": "integer", "double": "number", "char": "string",
    "ArrayList": "array", "Array": "array", "HashMap": "object", "Hashtable": "object",
    "Queue": "array", "Stack": "array", "String": "string", "Bigint": "integer",
}


def json_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    """A BFCL parameter doc as a JSON Schema object."""

    def convert(schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        out = dict(schema)
        kind = out.pop("type", None)
        if isinstance(kind, str) and kind in _TYPES:
            out["type"] = _TYPES[kind]
        if isinstance(out.get("properties"), dict):
            out["properties"] = {k: convert(v) for k, v in out["properties"].items()}
        if isinstance(out.get("items"), dict):
            out["items"] = convert(out["items"])
        if "required" in out and not isinstance(out["required"], list):
            del out["required"]  # BFCL marks some nested fields "required": true
        out.pop("optional", None)
        return out

    schema = convert(parameters or {})
    schema["type"] = "object"
    schema.setdefault("properties", {})
    return schema


class BFCLToolSpec(ToolSpec):
    """A BFCL function: shown with its declared types, validated as BFCL judges calls.

    BFCL's AST checker accepts a value of another type than the doc declares where its
    possible answer has one (a "variable"), never reads a doc's enum or bounds (some
    ground truths lie outside them), and its multi-turn executor passes anything to the
    backend; so arguments are validated for their names and the required parameters
    only, and the rest is left to BFCL's checkers. (A tool that drift rebuilds validates
    its whole declared schema.)
    """

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:
            names = {"type": "object", "required": self.required,
                     "properties": dict.fromkeys(self.param_names, {})}
            if "additionalProperties" in self.parameters:
                names["additionalProperties"] = self.parameters["additionalProperties"]
            self._validator = Draft202012Validator(names)
        return self._validator


def _first_option(options: Any, required: bool = False) -> tuple[bool, Any]:
    """(present, value): left out when "" is allowed and the doc does not require it, else
    the first allowed value."""
    if "" in options and not required:
        return False, None
    values = [o for o in options if o != ""]
    if not values:
        raise ValueError("a parameter's possible answer is an empty list, so no value "
                         "passes BFCL's own checker")
    return True, _golden_value(values[0])


def _golden_value(option: Any) -> Any:
    # A dict parameter: each key has its own options, one level deep (BFCL's dict_checker).
    if isinstance(option, dict):
        return {k: o[0] for k, o in option.items() if "" not in o}
    if isinstance(option, list) and option and all(isinstance(o, dict) for o in option):
        return [_golden_value(o) for o in option]
    return option


def golden_calls(entry: Entry) -> list[list[tuple[str, dict[str, Any]]]]:
    """One replayable answer per user turn, as ``(tool name, arguments)`` calls.

    Single-turn: the first allowed value of every parameter of BFCL's possible answer
    (optional parameters left out); relevance entries get one call of their first
    function with placeholder values. Multi-turn: BFCL's ground-truth calls, positional
    arguments named from the backend method's signature.
    """
    if entry.multi_turn:  # (multi-turn function names have no dots)
        turns = [[_parse_call(entry, text) for text in turn] for turn in entry.ground_truth]
        for given, names in entry.missed_function.items():
            early = [n for turn in turns[:given] for n, _ in turn if n in names]
            if early:
                raise ValueError(f"the ground truth calls {early[0]!r} before turn {given}, "
                                 "where BFCL first gives it to the model")
        return turns
    if "irrelevance" in entry.category:
        return [[]]
    if entry.ground_truth is None:  # relevance: any call counts
        return [[placeholder_call(entry.shown[0])]]
    language = "java" if "java" in entry.category and "javascript" not in entry.category \
        else "javascript" if "javascript" in entry.category else "python"
    docs = {f["name"]: f["parameters"].get("properties", {}) for f in entry.functions}
    required = {f["name"]: f["parameters"].get("required", []) for f in entry.functions}
    calls = []
    for answer in entry.ground_truth:
        (name, params), = answer.items()
        args = {}
        for pname, options in params.items():
            if pname not in docs.get(name, {}) and "" not in options:
                raise ValueError(f"the possible answer of {name} requires parameter "
                                 f"{pname!r}, which its doc does not have, so no answer "
                                 "passes BFCL's own checker")
            present, value = _first_option(options, pname in required.get(name, []))
            if present:
                doc = docs.get(name, {}).get(pname, {})
                args[pname] = value if language == "python" else _source_literal(
                    value, doc.get("type", "any"), (doc.get("items") or {}).get("type"),
                    language)
        calls.append((tool_name(name), args))
    return [calls]


def _source_literal(value: Any, kind: str, item_kind: str | None, language: str) -> str:
    """A Java or JavaScript value as the source text BFCL's type converters read back.

    Java and JavaScript parameters are shown as strings holding source code; this is
    the inverse of BFCL's ``java_type_converter`` / ``js_type_converter``.
    """
    if isinstance(value, str) and kind in ("String", "any", "char"):
        return value
    if language == "java":
        def element(v: Any, typed: str | None, quoted: bool) -> str:
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, str):
                return f'"{v}"' if quoted else v
            return f"{v}L" if typed == "long" else f"{v}f" if typed == "float" else str(v)

        if kind in ("Array", "ArrayList") and isinstance(value, list):
            if kind == "Array":  # with an element type, elements are read unquoted
                inner = ", ".join(element(v, item_kind, item_kind is None) for v in value)
                return f"new {item_kind or 'Object'}[]{{{inner}}}"
            inner = ", ".join(element(v, item_kind, item_kind in (None, "String", "char"))
                              for v in value)
            return f"new ArrayList<>(Arrays.asList({inner}))"
        if kind == "HashMap" and isinstance(value, dict):
            puts = " ".join(f'put("{k}", {element(v, None, True)});' for k, v in value.items())
            return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
        return element(value, kind, False)

    def js(v: Any, top: bool = False) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return v if top else f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(js(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {js(x)}" for k, x in v.items()) + "}"
        return str(v)

    return f"{value}n" if kind == "Bigint" else js(value, top=True)


def placeholder_call(function: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A call of a BFCL function doc with a placeholder of the right type per required
    parameter (for relevance entries, where any call counts)."""

    def fill(schema: dict[str, Any]) -> Any:
        kind = schema.get("type")
        kind = kind[0] if isinstance(kind, list) else kind
        if kind == "object":
            props = schema.get("properties", {})
            return {p: fill(props.get(p, {})) for p in schema.get("required", [])}
        return {"integer": 1, "number": 1.0, "boolean": True, "array": []}.get(kind, "x")

    return tool_name(function["name"]), fill(json_schema(function["parameters"]))


@cache
def _owners() -> dict[str, str]:
    """Multi-turn function name -> BFCL backend class."""
    b = _bfcl()
    owners = {}
    for cls, doc in b.backends.MULTI_TURN_FUNC_DOC_FILE_MAPPING.items():
        for fn in _read_jsonl(b.data / "multi_turn_func_doc" / doc):
            owners.setdefault(fn["name"], cls)
    return owners


def _backend_class(name: str) -> type:
    b = _bfcl()
    module = importlib.import_module(b.backends.CLASS_FILE_PATH_MAPPING[name])
    return getattr(module, name)


def _parse_call(entry: Entry, text: str) -> tuple[str, dict[str, Any]]:
    node = ast.parse(text, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"{entry.id}: cannot read ground-truth call {text!r}")
    name = node.func.id
    args = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    if node.args:
        method = getattr(_backend_class(_owners()[name]), name)
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        args.update({params[i]: ast.literal_eval(a) for i, a in enumerate(node.args)})
    return name, args


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """A call as BFCL's executable checkers read it: ``f(a=1, b='x')``."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"


# -- worlds, tools and tasks ---------------------------------------------------------------


class BFCLWorld(World):
    """The calls an episode made, and BFCL's backend objects for multi-turn entries.

    ``calls`` holds ``(user turn, agent message, function, arguments)``; the env sets
    ``user_turn`` and ``message`` before each message runs, and ``records`` to the
    episode's call records (every call the agent wrote, including rejected ones).
    """

    def __init__(self, instances: dict[str, Any] | None = None) -> None:
        self.instances = instances or {}
        self.calls: list[tuple[int, int, str, dict[str, Any]]] = []
        self.user_turn = 0
        self.message = 0
        self.records: list[Any] | None = None

    def attempts(self) -> int | None:
        """Real calls the agent wrote that parsed (None when the env gave no records)."""
        if self.records is None:
            return None
        return sum(1 for r in self.records if r.mode == "call" and r.name)

    def __deepcopy__(self, memo: dict[int, Any]) -> BFCLWorld:
        clone = BFCLWorld(copy.deepcopy(self.instances, memo))
        clone.calls = copy.deepcopy(self.calls, memo)
        clone.user_turn, clone.message, clone.records = self.user_turn, self.message, None
        return clone

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps(self.calls, sort_keys=True, default=repr).encode())
        for name in sorted(self.instances):
            h.update(pickle.dumps(vars(self.instances[name])))
        return h.hexdigest()


def _make_world(entry: Entry) -> BFCLWorld:
    instances = {}
    stateless = _bfcl().backends.STATELESS_CLASSES
    for cls in entry.involved_classes:  # as BFCL's execute_multi_turn_func_call sets them up
        instance = _backend_class(cls)()
        if cls not in stateless:
            instance._load_scenario(copy.deepcopy(entry.initial_config.get(cls, {})),
                                    long_context="long_context" in entry.category)
        instances[cls] = instance
    return BFCLWorld(instances)


def _recorder(name: str) -> Callable[..., Any]:
    def record(world: BFCLWorld, **arguments: Any) -> dict[str, str]:
        world.calls.append((world.user_turn, world.message, name, copy.deepcopy(arguments)))
        return {"status": "recorded", "note": "this API has no backend here; answer when "
                                              "every call you need is made"}

    return record


# Arguments that would make a BFCL backend compute for hours (mpmath precision, integer
# powers): refused beyond these magnitudes; BFCL's own entries stay far inside them.
_LIMITS = {("power", "exponent"): 10_000, ("logarithm", "precision"): 10_000,
           ("square_root", "precision"): 10_000}


def _runner(name: str, owner: str) -> Callable[..., Any]:
    def run(world: BFCLWorld, **arguments: Any) -> Any:
        for param, value in arguments.items():
            limit = _LIMITS.get((name, param))
            if limit is not None and isinstance(value, (int, float)) and abs(value) > limit:
                raise ToolError(f"{param} beyond +-{limit} is refused here: the computation "
                                "would not finish")
        world.calls.append((world.user_turn, world.message, name, copy.deepcopy(arguments)))
        method = getattr(world.instances[owner], name)
        try:
            return method(**arguments)
        except Exception as e:  # BFCL's executor reports these as results, so do we
            raise ToolError(f"error during execution: {type(e).__name__}: {e}") from None

    return run


def _tools(entry: Entry) -> list[ToolSpec]:
    owners = _owners() if entry.multi_turn else {}
    return [_tool(json.dumps(fn, sort_keys=True), owners.get(fn["name"])) for fn in entry.shown]


@cache
def _tool(doc: str, owner: str | None) -> ToolSpec:
    # Multi-turn entries share their backends' docs: one spec (one schema check) per doc.
    fn = json.loads(doc)
    name = fn["name"]
    backend = _recorder(name) if owner is None else _runner(name, owner)
    return BFCLToolSpec(tool_name(name), fn.get("description", ""),
                        json_schema(fn["parameters"]), side_effects=True, fn=backend)


def tool_name(function: str) -> str:
    """The tool name of a BFCL function: dots become underscores, as BFCL's own
    function-calling handlers send them (``math.factorial`` -> ``math_factorial``); calls
    are checked under the original name."""
    return function.replace(".", "_")


def _query(messages: Sequence[dict[str, Any]]) -> str:
    return "\n".join(m["content"] if m["role"] == "user" else f"[{m['role']}] {m['content']}"
                     for m in messages)


_checks = itertools.count()


def check_calls(entry: Entry, calls: Sequence[tuple[int, int, str, dict[str, Any]]],
                attempts: int | None = None) -> dict:
    """BFCL's verdict on an episode's real calls: ``{"valid": bool, ...}`` as BFCL says it.

    ``attempts`` (irrelevance and relevance entries): how many real calls the agent wrote,
    valid or not; BFCL counts any decodable call there, not only the ones that ran.
    """
    b = _bfcl()
    made = len(calls) if attempts is None else attempts
    if "irrelevance" in entry.category:
        return {"valid": not made, "error": "made a call where none applies" if made else ""}
    if entry.ground_truth is None:
        return {"valid": bool(made), "error": "" if made else "made no call"}
    if not entry.multi_turn:
        language = (b.Language.JAVA if b.utils.is_java(entry.category) else
                    b.Language.JAVASCRIPT if b.utils.is_js(entry.category) else
                    b.Language.PYTHON)
        output = [{name: args} for _, _, name, args in calls]
        return b.ast_checker(entry.functions, output, entry.ground_truth, language,
                             entry.category, b.model)
    decoded: list[list[list[str]]] = [[] for _ in entry.turns]
    steps: dict[tuple[int, int], list[str]] = {}
    for turn, message, name, args in calls:
        if (turn, message) not in steps:
            steps[(turn, message)] = []
            decoded[turn].append(steps[(turn, message)])
        steps[(turn, message)].append(call_text(name, args))
    # The executor caches backend instances in its module globals under the model name
    # and entry id; a fresh name per check keeps checks independent, and they are dropped.
    model = f"{CHECKER_MODEL}{next(_checks)}"
    prompt = {"id": entry.id, "initial_config": entry.initial_config,
              "involved_classes": entry.involved_classes}
    try:
        return b.multi_turn_checker(decoded, entry.ground_truth, prompt, entry.category, model)
    finally:
        cached = b.multi_turn_utils.__dict__
        for key in [k for k in cached if k.startswith(f"{model}_")]:
            del cached[key]


def entry_domain(entry: Entry) -> Domain:
    """The entry as a :class:`Domain` of its own (its functions, world and one task).

    Raises:
        SpecError: A function doc cannot be expressed (a schema that is not valid JSON
            Schema after conversion, duplicate function names).
    """
    try:
        tools = _tools(entry)
    except SpecError as e:
        raise SpecError(f"{entry.id}: function doc: {e}") from e
    try:
        plan = golden_calls(entry)
    except ValueError as e:  # (raised above with the reason)
        raise SpecError(f"{entry.id}: ground truth: {e}") from e
    except (KeyError, IndexError, TypeError, SyntaxError) as e:
        raise SpecError(f"{entry.id}: ground truth unreadable: {type(e).__name__}: {e}") from e
    if not entry.multi_turn:  # cheap here; a multi-turn check replays every backend
        names = {tool_name(f["name"]): f["name"] for f in entry.functions}
        verdict = check_calls(entry, [(0, 0, names.get(n, n), a) for n, a in plan[0]])
        if not verdict["valid"]:
            raise SpecError(f"{entry.id}: BFCL's own checker rejects its ground truth "
                            f"({'; '.join(map(str, verdict.get('error') or []))[:300]})")
    last = len(entry.turns) - 1

    def check(answer: str | None, world: World) -> bool:
        assert isinstance(world, BFCLWorld)
        if answer is None or world.user_turn != last:
            return False
        return bool(check_calls(entry, world.calls, world.attempts())["valid"])

    check.uses_world = True  # type: ignore[attr-defined]

    def make_task(rng: np.random.Generator, world: World, seed: int) -> Task:
        steps = [Step(name, args) for turn in plan for name, args in turn]
        golden = "I cannot do that with these tools." if "irrelevance" in entry.category \
            else "Done."
        return Task(entry.id, entry.id, _query(entry.turns[0]), steps, golden, check)

    return Domain(
        name=entry.id, title=re.sub(r"\W", "_", entry.id), description=f"BFCL {entry.category}",
        tools=tools, make_world=lambda rng: _make_world(entry), make_task=make_task,
        split="unseen",
    )


# -- the env -------------------------------------------------------------------------------


class BFCLEnv(ToolEnv):
    """Episodes over the entries of one BFCL category.

    Args:
        category: A BFCL category (:data:`CATEGORIES`).
        path: A file or folder in BFCL's layout instead of the wheel's data.
        entries: Only these entry ids.
        max_turns: Agent messages per episode (default 8, or 6 per user turn for
            multi-turn entries).
        **kwargs: As :class:`tool_gym.env.ToolEnv` (drift, catalogue, reward weights...).

    Attributes:
        skipped: Entry id -> why it cannot be expressed as an episode.

    ``reset(options={"entry": id})`` plays one entry; otherwise the seed draws one.
    """

    def __init__(self, category: str = "simple_python", path: str | Path | None = None,
                 entries: Sequence[str] | None = None, max_turns: int | None = None,
                 **kwargs: Any) -> None:
        loaded = load(category, path, entries)
        self.entries: list[Entry] = []
        self.entry_domains: list[Domain] = []
        self.skipped: dict[str, str] = {}
        for entry in loaded:
            try:
                self.entry_domains.append(entry_domain(entry))
                self.entries.append(entry)
            except SpecError as e:
                self.skipped[entry.id] = str(e)
        if not self.entries:
            raise ValueError(f"no playable BFCL entries in {category!r}")
        self.category = category
        self.multi_turn = self.entries[0].multi_turn
        self._default_turns = max_turns is None
        kwargs.setdefault("split", "all")  # an entry is one task: no train/test seeds
        super().__init__(max_turns=8 if max_turns is None else max_turns, **kwargs)
        self.entry: Entry | None = None
        self.user_turn = 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        gym.Env.reset(self, seed=seed)
        options = dict(options or {})
        if "entry" in options:
            wanted = options.pop("entry")
            ids = [e.id for e in self.entries]
            if wanted not in ids:
                raise KeyError(f"no entry {wanted!r} in this env"
                               + (f" ({self.skipped[wanted]})" if wanted in self.skipped else ""))
            index = ids.index(wanted)
        else:
            index = int(self.np_random.integers(len(self.entries)))
        self.entry = self.entries[index]
        self.domains = [self.entry_domains[index]]
        self.user_turn = 0
        if self.multi_turn and self._default_turns:
            self.max_turns = 6 * len(self.entry.turns)
        obs, info = super().reset(options={**options, "task_seed": 0})
        self.episode.world.records = self.episode.records
        info["bfcl_id"] = self.entry.id
        return obs, info

    def make_surface(self, domain: Domain, rng: np.random.Generator) -> Surface:
        surface = super().make_surface(domain, rng)
        held = {n for names in self.entry.missed_function.values() for n in names}
        if held:  # miss_func: these join the catalogue at a later user turn
            surface.tools = {k: t for k, t in surface.tools.items() if t.target not in held}
            if surface.stale_doc is not None:
                surface.stale_doc = [d for d in surface.stale_doc if d.name not in held]
        return surface

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        ep = self._require_episode()
        assert isinstance(ep.world, BFCLWorld)
        ep.world.user_turn, ep.world.message = self.user_turn, ep.turn + 1
        obs, reward, terminated, truncated, info = super().step(action)
        if not (terminated and self.entry.multi_turn
                and self.user_turn < len(self.entry.turns) - 1):
            return obs, reward, terminated, truncated, info
        # The answer ended one user turn, not the episode: the next turn follows.
        self.user_turn += 1
        ep.done, ep.success, ep.answer = False, None, None
        info.pop("success", None)
        lines = [obs.rsplit("\n[done]", 1)[0]]
        added = self._add_tools(ep, self.entry.missed_function.get(self.user_turn, []))
        if added:
            lines.append(f"New tools are available: {', '.join(added)}.")
        text = _query(self.entry.turns[self.user_turn])
        lines.append(f"User: {text}" if text else "User: (nothing new; continue the request)")
        if ep.turn >= self.max_turns:
            ep.done, ep.success = True, False
            info["reward_terms"]["turn_limit"] = self.weights.turn_limit
            reward += self.weights.turn_limit
            lines.append(f"[done] turn limit of {self.max_turns} reached.")
            truncated = True
            info["success"] = False
        obs = self._observe("\n".join(lines))
        ep.transcript[-1] = ("env", obs)
        return obs, reward, False, truncated, info

    def _add_tools(self, ep: Any, names: Sequence[str]) -> list[str]:
        added = []
        for name in names:
            spec = self.domain.tool_map[name]
            ep.surface.tools[name] = SurfaceTool(spec=spec, target=name, doc=spec)
            if ep.surface.stale_doc is not None:
                ep.surface.stale_doc.append(spec)
            added.append(f"{spec.signature()}")
        return added
