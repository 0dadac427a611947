"""The interface and observation mutation kinds, and the table of every kind (``KINDS``;
the behaviour kinds of ``tool_gym.behaviour`` join it)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tool_gym.domain import Domain
from tool_gym.drift.adapters import (
    DATE_FORMATS,
    DATE_PATTERN,
    FIELD_STYLES,
    TIME_FORMATS,
    TIME_PATTERN,
    WRAP_STYLES,
    AddKey,
    CaseValue,
    ConvertKey,
    DateFormat,
    DropKey,
    MapValue,
    RecaseFields,
    Scale,
    TimeFormat,
    Wrap,
    chain,
)
from tool_gym.drift.build import Mutation, SurfaceBuild, derive, free_name, taken_params
from tool_gym.drift.names import (
    misleading_name,
    opaque_name,
    param_name,
    reversed_name,
    shuffled,
    synonym_name,
    synonyms_of,
    typo_name,
)
from tool_gym.drift.vocabulary import ADDED_PARAMS, DISTRACTOR_ERRORS
from tool_gym.surface import Surface, SurfaceTool, unchanged
from tool_gym.units import CONVERSIONS, UNIT_WORDS, UNITS

# Kinds. Each ``apply(b, spec)`` resolves the spec's open choices with ``b.rng``, edits the
# surface and returns the resolved spec (or None when nothing applies).


def _names_for(b: SurfaceBuild, spec: Mutation, make: Callable[[str, str, set[str]], str]
               ) -> dict[str, str]:
    if isinstance(spec.get("names"), dict):
        names = {str(k): str(v) for k, v in spec["names"].items()}
        for backend, new in names.items():
            b.rename_tool(backend, new)
        return names
    names = {}
    for backend in b.targets(spec, b.live()):
        current, _ = b.current(backend)
        new = make(backend, current, b.taken())
        b.rename_tool(backend, new)
        names[backend] = new
    return names


def _apply_rename_tool(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    style = spec.get("style") or b.choice(["synonym", "opaque"])
    if style not in ("synonym", "opaque"):
        raise ValueError(f"rename_tool style must be synonym or opaque, got {style!r}")
    if style == "synonym":
        names = _names_for(b, spec, lambda bk, cur, taken: synonym_name(b, cur, taken))
    else:
        names = _names_for(b, spec, lambda bk, cur, taken: opaque_name(b, "tool", taken))
    return {"kind": "rename_tool", "style": style, "names": names} if names else None


def _apply_name_noise(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    level = spec.get("level") or b.choice(["typo", "reversed", "misleading"])
    if level not in ("typo", "reversed", "misleading"):
        raise ValueError(f"name_noise level must be typo, reversed or misleading, got {level!r}")
    with_params = bool(spec.get("params", False)) and level != "misleading"
    makers = {
        "typo": lambda bk, cur, taken: typo_name(b, cur, taken),
        "reversed": lambda bk, cur, taken: reversed_name(cur, taken),
        "misleading": lambda bk, cur, taken: misleading_name(b, bk, cur, taken),
    }
    names = _names_for(b, spec, makers[level])
    params: dict[str, dict[str, str]] = {}
    if isinstance(spec.get("param_names"), dict):
        params = {k: dict(v) for k, v in spec["param_names"].items()}
        for backend, mapping in params.items():
            b.rename_params(backend, mapping)
    elif with_params:
        for backend in names:
            mapping: dict[str, str] = {}
            taken = taken_params(b, backend)
            for i, p in enumerate(b.params_of(backend)):
                if (backend, p) in b.pinned:
                    continue
                mapping[p] = param_name(b, backend, p, level, i, taken)
                taken.add(mapping[p])
            b.rename_params(backend, mapping)
            params[backend] = mapping
    if not names:
        return None
    out: Mutation = {"kind": "name_noise", "level": level, "names": names}
    if params:
        out["param_names"] = params
    return out


def _apply_rename_params(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    style = spec.get("style") or b.choice(["synonym", "opaque", "case"])
    if style not in ("synonym", "opaque", "case"):
        raise ValueError(f"rename_params style must be synonym, opaque or case, got {style!r}")
    if isinstance(spec.get("params"), dict):
        params = {k: dict(v) for k, v in spec["params"].items()}
        for backend, mapping in params.items():
            b.rename_params(backend, mapping)
        return {"kind": "rename_params", "style": style, "params": params}
    only = spec.get("params") if isinstance(spec.get("params"), list) else None
    eligible = [t for t in b.live() if b.params_of(t)]
    params = {}
    for backend in b.targets(spec, eligible):
        current = b.params_of(backend)
        chosen = [p for p in b.renamable(backend) if only is None or p in only
                  or b.origin.get((backend, p)) in only]
        taken = taken_params(b, backend)
        mapping = {}
        for p in chosen:
            mapping[p] = param_name(b, backend, p, style, current.index(p), taken)
            taken.add(mapping[p])
        if mapping:
            b.rename_params(backend, mapping)
            params[backend] = mapping
    return {"kind": "rename_params", "style": style, "params": params} if params else None


def _apply_reorder_params(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("orders"), dict):
        orders = {k: list(v) for k, v in spec["orders"].items()}
    else:
        eligible = [t for t in b.live() if len(b.params_of(t)) >= 2]
        orders = {}
        for backend in b.targets(spec, eligible):
            current = b.params_of(backend)
            order = current
            for _ in range(10):
                order = shuffled(b, current)
                if order != current:
                    break
            if order == current:
                order = current[::-1]
            orders[backend] = order
    for backend, order in orders.items():
        current = b.params_of(backend)
        if sorted(order) != sorted(current):
            raise ValueError(f"{backend}: order {order} is not a permutation of {current}")

        def edit(params: dict[str, Any], order: list[str] = order) -> dict[str, Any]:
            props = params.get("properties", {})
            params["properties"] = {k: props[k] for k in order if k in props}
            req = set(params.get("required", []))
            params["required"] = [k for k in order if k in req]
            return params

        b.map_params(backend, edit, unchanged, unchanged)
    return {"kind": "reorder_params", "orders": orders} if orders else None


def _apply_add_required_param(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("added"), dict):
        added = {k: dict(v) for k, v in spec["added"].items()}
    else:
        added = {}
        for backend in b.targets(spec, b.live()):
            taken = taken_params(b, backend)
            options = [a for a in ADDED_PARAMS if a[0] not in taken]
            if not options:
                continue
            name, value, desc = b.choice(options)
            added[backend] = {"name": name, "value": value, "description": desc}
    for backend, a in added.items():
        name, value = a["name"], a["value"]
        if name in taken_params(b, backend):
            raise ValueError(f"{backend}: parameter name '{name}' is taken")
        schema = {"type": "string", "enum": [value], "description": a.get("description", "")}

        def edit(params: dict[str, Any], name: str = name, schema: dict = schema) -> dict:
            params.setdefault("properties", {})[name] = dict(schema)
            params["required"] = [*params.get("required", []), name]
            return params

        b.map_params(backend, edit, DropKey(name), AddKey(name, value))
        b.old_params[backend].add(name)
    return {"kind": "add_required_param", "added": added} if added else None


def _unit_of(hint: str) -> str | None:
    if not hint.startswith("unit:"):
        return None
    u = hint.split(":", 1)[1].strip().lower()
    u = UNIT_WORDS.get(u, u)
    return u if u in UNITS else None


def _format_options(b: SurfaceBuild, backend: str, pname: str, schema: dict[str, Any]) -> list[str]:
    canon = b.origin.get((backend, pname), pname)
    hint = b.domain.hints.get(f"{backend}.{canon}", "")
    t = schema.get("type")
    out: list[str] = []
    if hint == "date" or schema.get("pattern") == DATE_PATTERN:
        if t in (None, "string"):
            out += [f"date:{f}" for f in DATE_FORMATS]
    elif hint == "time" or schema.get("pattern") == TIME_PATTERN:
        if t in (None, "string"):
            out += [f"time:{f}" for f in TIME_FORMATS]
    elif "enum" in schema and schema["enum"] and all(isinstance(v, str) for v in schema["enum"]):
        vals = schema["enum"]
        for style, fn in (("upper", str.upper), ("lower", str.lower), ("title", str.title)):
            new = [fn(v) for v in vals]
            if len(set(new)) == len(new) and all(a != n for a, n in zip(vals, new, strict=True)):
                out.append(f"enum:{style}")
    elif hint == "currency" and t in (None, "string"):
        out.append("currency:lower")
    elif hint == "amount" and t in ("number", "integer"):
        out.append("amount:cents")
    unit = _unit_of(hint)
    if unit and t in ("number", "integer"):
        out += [f"unit:{unit}->{u}" for u in CONVERSIONS.get(unit, [])]
    return out


def _unit_name(pname: str, old_unit: str, new_unit: str, taken: set[str]) -> str:
    toks = pname.split("_")
    new_word = UNITS[new_unit][2]
    swapped = [new_word if UNIT_WORDS.get(t.lower(), t.lower()) == old_unit else t
               for t in toks]
    options = ["_".join(swapped)] if swapped != toks else []
    options += [f"{pname}_{new_word}", f"{pname}_in_{new_word}"]
    return free_name(options, taken) or f"{pname}_{new_unit}"


def _change_format(b: SurfaceBuild, backend: str, pname: str, fmt: str, new_name: str | None
                   ) -> str:
    _, st = b.current(backend)
    schema = dict(st.spec.parameters["properties"][pname])
    family, _, detail = fmt.partition(":")
    name = pname
    label = " ".join(pname.split("_"))
    if family == "date":
        regex, _, example = DATE_FORMATS[detail]
        new = {"type": "string", "pattern": regex,
               "description": f"date as {detail}, e.g. {example}"}
        fwd, inv = DateFormat(detail, True), DateFormat(detail, False)
    elif family == "time":
        regex, desc = TIME_FORMATS[detail]
        new = {"type": "string", "pattern": regex, "description": desc}
        fwd, inv = TimeFormat(detail, True), TimeFormat(detail, False)
    elif family == "enum":
        fn = {"upper": str.upper, "lower": str.lower, "title": str.title}[detail]
        vals = schema["enum"]
        forward = {v: fn(v) for v in vals}
        new = {k: v for k, v in schema.items() if k not in ("enum", "default")}
        new["enum"] = [forward[v] for v in vals]
        new["description"] = f"one of {', '.join(new['enum'])} ({detail} case)"
        if "default" in schema:
            new["default"] = forward.get(schema["default"], schema["default"])
        fwd, inv = MapValue({v: k for k, v in forward.items()}), MapValue(forward)
    elif family == "currency":
        new = {"type": "string", "pattern": r"^[a-z]{3}$",
               "description": "currency as a lower-case ISO 4217 code, e.g. eur"}
        fwd, inv = CaseValue(True), CaseValue(False)
    elif family == "amount":
        integer = schema.get("type") == "integer"
        name = new_name or free_name([f"{pname}_cents", f"{pname}_in_cents"],
                                   taken_params(b, backend)) or f"{pname}_c"
        new = {"type": "integer", "description": f"{label} in cents (1/100 of the unit)"}
        fwd, inv = Scale(0.01, integer=integer), Scale(100.0, integer=True)
    elif family == "unit":
        old_u, new_u = detail.split("->")
        dim_o, f_o, _ = UNITS[old_u]
        dim_n, f_n, word = UNITS[new_u]
        if dim_o != dim_n:
            raise ValueError(f"cannot convert {old_u} to {new_u}")
        integer = schema.get("type") == "integer"
        if dim_o == "temperature":
            to_new = Scale(9 / 5, 32.0) if new_u == "f" else Scale(5 / 9, -160 / 9)
            to_old = Scale(5 / 9, -160 / 9, integer) if new_u == "f" else Scale(9 / 5, 32.0, integer)
        else:
            ratio = f_o / f_n  # new value per old value
            new_int = integer and ratio >= 1 and float(ratio).is_integer()
            to_new = Scale(ratio, integer=new_int)
            to_old = Scale(1 / ratio, integer=integer)
        name = new_name or _unit_name(pname, old_u, new_u, taken_params(b, backend))
        new_int = isinstance(to_new, Scale) and to_new.integer
        new = {"type": "integer" if new_int else "number",
               "description": f"{label} in {word}"}
        fwd, inv = to_old, to_new
    else:
        raise ValueError(f"unknown format '{fmt}'")
    if name != pname and name in taken_params(b, backend):
        raise ValueError(f"{backend}: parameter name '{name}' is taken")

    def edit(params: dict[str, Any], keep_type: bool = True) -> dict[str, Any]:
        props = params.get("properties", {})
        old = props.get(pname, {})
        sub = dict(new)
        if not keep_type and "type" not in old:
            sub.pop("type", None)
        params["properties"] = {(name if k == pname else k): (sub if k == pname else v)
                                for k, v in props.items()}
        params["required"] = [name if r == pname else r for r in params.get("required", [])]
        return params

    b.map_params(backend, edit, ConvertKey(name, pname, fwd), ConvertKey(pname, name, inv),
                 doc_edit=lambda p: edit(p, keep_type=False))
    if name != pname:
        b.origin[(backend, name)] = b.origin.pop((backend, pname), pname)
    b.formatted.add((backend, name))
    return name


def _apply_change_format(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("changes"), list):
        changes = [dict(c) for c in spec["changes"]]
        for c in changes:
            c["name"] = _change_format(b, c["tool"], c["param"], c["format"], c.get("name"))
        return {"kind": "change_format", "changes": changes}
    tools = b.targets(spec, b.live()) if ("tool" in spec or "tools" in spec) else b.live()
    candidates = []
    for backend in tools:
        props = b.current(backend)[1].spec.parameters.get("properties", {})
        for pname, schema in props.items():
            canon = b.origin.get((backend, pname), pname)
            if "param" in spec and spec["param"] not in (pname, canon):
                continue
            if "params" in spec and pname not in spec["params"] and canon not in spec["params"]:
                continue
            if (backend, pname) in b.formatted:
                continue
            opts = _format_options(b, backend, pname, schema)
            if "format" in spec:
                opts = [o for o in opts if o == spec["format"] or o.startswith(spec["format"])]
            if opts:
                candidates.append((backend, pname, opts))
    if not candidates:
        return None
    count = min(int(spec.get("count", 1)), len(candidates))
    if any(k in spec for k in ("tool", "tools", "param", "params")):
        count = len(candidates) if spec.get("count") is None else count
    picks = sorted(int(i) for i in b.rng.choice(len(candidates), size=count, replace=False))
    changes = []
    for i in picks:
        backend, pname, opts = candidates[i]
        fmt = b.choice(opts)
        name = _change_format(b, backend, pname, fmt, None)
        changes.append({"tool": backend, "param": pname, "format": fmt, "name": name})
    return {"kind": "change_format", "changes": changes}


def _map_responses(b: SurfaceBuild, spec: Mutation, kind: str, key: str, styles: tuple[str, ...],
                   transform: Callable[[str], Any]) -> Mutation | None:
    """Shared by the response mutations: a style per target tool, its transform chained
    after the tool's current response mapping. ``spec[key]`` pins the styles by tool."""
    if isinstance(spec.get(key), dict):
        chosen = dict(spec[key])
    else:
        style = spec.get("style")
        chosen = {t: style or b.choice(styles) for t in b.targets(spec, b.live())}
    for backend, style in chosen.items():
        if style not in styles:
            raise ValueError(f"{kind} style must be one of {styles}, got {style!r}")
        name, st = b.current(backend)
        b.put(name, name, replace(st, from_backend=chain(st.from_backend, transform(style))))
    return {"kind": kind, key: chosen} if chosen else None


def _apply_wrap_response(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    return _map_responses(b, spec, "wrap_response", "wraps", WRAP_STYLES, Wrap)


def _apply_rename_fields(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    return _map_responses(b, spec, "rename_fields", "styles", FIELD_STYLES, RecaseFields)


def _apply_deprecate_tool(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("successors"), dict):
        successors = dict(spec["successors"])
        todo = list(successors.items())
    else:
        todo = []
        for backend in b.targets(spec, b.live()):
            current, _ = b.current(backend)
            taken = b.taken()
            style = spec.get("style") or b.choice(["versioned", "synonym"])
            new = (free_name([f"{current}_v2", f"{current}_v3", f"v2_{current}"], taken)
                   if style == "versioned" else None) or synonym_name(b, current, taken)
            todo.append((backend, new))
    successors = {}
    for backend, new in todo:
        current, st = b.current(backend)
        if new in b.taken():
            raise ValueError(f"tool name '{new}' is taken")
        old_doc = None
        if st.doc is not None:
            old_doc = derive(st.doc, description=f"Deprecated: use {new} instead. "
                             f"{st.doc.description}".strip())
        b.put(current, current, replace(st, doc=old_doc, deprecated_for=new))
        succ = replace(st, spec=derive(st.spec, name=new),
                       doc=None if st.doc is None else derive(st.doc, name=new))
        b.insert_after(current, new, succ)
        successors[backend] = new
    return {"kind": "deprecate_tool", "successors": successors} if successors else None


DOC_STYLES = ("truncated", "removed", "misleading")


def _strip_param_docs(params: dict[str, Any]) -> dict[str, Any]:
    for sub in params.get("properties", {}).values():
        sub.pop("description", None)
    return params


def _apply_drift_docs(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("docs"), dict):
        docs = {k: dict(v) for k, v in spec["docs"].items()}
    else:
        docs = {}
        for backend in b.targets(spec, b.live()):
            style = spec.get("style") or b.choice(DOC_STYLES)
            entry: dict[str, Any] = {"style": style}
            if style == "misleading":
                others = [t.name for t in b.domain.tools if t.name != backend]
                if not others:
                    entry["style"] = "removed"
                else:
                    entry["source"] = b.choice(others)
            docs[backend] = entry
    for backend, entry in docs.items():
        style = entry["style"]
        if style not in DOC_STYLES:
            raise ValueError(f"drift_docs style must be one of {DOC_STYLES}, got {style!r}")
        name, st = b.current(backend)
        if st.doc is None:
            continue
        if style == "truncated":
            words = st.doc.description.split()
            keep = max(1, len(words) // 3)
            desc = " ".join(words[:keep]) + ("..." if keep < len(words) else "")
            doc = derive(st.doc, description=desc,
                         parameters=_strip_param_docs(copy.deepcopy(st.doc.parameters)))
        elif style == "removed":
            doc = derive(st.doc, description="",
                         parameters=_strip_param_docs(copy.deepcopy(st.doc.parameters)))
        else:
            source = b.domain.tool_map[entry["source"]]
            doc = derive(st.doc, description=source.description)
        b.put(name, name, replace(st, doc=doc))
    return {"kind": "drift_docs", "docs": docs} if docs else None


def _near_names(b: SurfaceBuild, current: str, taken: set[str]) -> list[str]:
    toks = current.split("_")
    last = toks[-1]
    plural = last[:-1] if last.endswith("s") else last + "s"
    options = ["_".join([*toks[:-1], plural]), f"{current}_legacy", f"{current}_beta",
               f"{current}_internal", f"{current}_v0"]
    for syn in synonyms_of(b, toks[0].lower()):
        options.append("_".join([syn, *toks[1:]]))
    return [o for o in shuffled(b, options) if o not in taken]


def _apply_distractor_tools(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    if isinstance(spec.get("distractors"), dict):
        distractors = {k: [dict(d) for d in v] for k, v in spec["distractors"].items()}
    else:
        distractors = {}
        n = int(spec.get("per_tool", 0)) or None
        for backend in b.targets(spec, b.live()):
            current, _ = b.current(backend)
            k = n or int(b.rng.integers(1, 3))
            made = []
            taken = b.taken()
            for name in _near_names(b, current, taken)[:k]:
                made.append({"name": name, "error": b.choice(DISTRACTOR_ERRORS).format(name=name)})
                taken.add(name)
            distractors[backend] = made
    for backend, made in distractors.items():
        current, st = b.current(backend)
        anchor = current
        for d in made:
            if d["name"] in b.taken():
                raise ValueError(f"tool name '{d['name']}' is taken")
            doc = None if st.doc is None else derive(st.doc, name=d["name"])
            fake = SurfaceTool(spec=derive(st.spec, name=d["name"]), target=None, doc=doc,
                               error=d["error"])
            b.insert_after(anchor, d["name"], fake)
            anchor = d["name"]
    return {"kind": "distractor_tools", "distractors": distractors} if distractors else None


def _apply_terse_errors(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    b.surface.terse_errors = True
    return {"kind": "terse_errors"}


def _remove_types(params: dict[str, Any]) -> dict[str, Any]:
    for sub in params.get("properties", {}).values():
        for key in ("type", "format", "pattern", "items"):
            sub.pop(key, None)
    return params


def _apply_scramble(b: SurfaceBuild, spec: Mutation) -> Mutation | None:
    prefix = re.sub(r"[^a-z0-9]", "", b.domain.name.lower()) or "tool"
    resolved: Mutation = {"kind": "scramble"}
    names = spec.get("names", True)  # a resolved mapping, or whether to scramble tool names
    if isinstance(names, dict) or names:
        target = {"names": names} if isinstance(names, dict) else {"tools": "all"}
        resolved["names"] = _names_for(b, target,
                                       lambda bk, cur, taken: opaque_name(b, prefix, taken))
    else:
        resolved["names"] = {}  # explicit, so applying the resolved form again renames nothing
    if isinstance(spec.get("params"), dict):
        params = {k: dict(v) for k, v in spec["params"].items()}
        for backend, mapping in params.items():
            b.rename_params(backend, mapping)
        resolved["params"] = params
    elif spec.get("params", True):
        params = {}
        for backend in b.live():
            current = b.params_of(backend)
            taken = taken_params(b, backend)
            mapping = {}
            for i, p in enumerate(current):
                if (backend, p) in b.pinned:
                    continue
                mapping[p] = param_name(b, backend, p, "opaque", i, taken)
                taken.add(mapping[p])
            if mapping:
                b.rename_params(backend, mapping)
                params[backend] = mapping
        resolved["params"] = params
    else:
        resolved["params"] = {}
    if spec.get("types", True):
        for backend in b.live():
            name, st = b.current(backend)
            if st.doc is not None:
                doc = derive(st.doc, parameters=_remove_types(copy.deepcopy(st.doc.parameters)))
                b.put(name, name, replace(st, doc=doc))
        resolved["types"] = True
    else:
        resolved["types"] = False
    return resolved


@dataclass(frozen=True)
class Kind:
    """One mutation kind.

    Attributes:
        name: The ``kind`` value in a mutation.
        apply: ``apply(build, spec) -> resolved spec or None``.
        adversarial: Left out of ``drift_level`` sampling (except level "adversarial").
        interface: Changes what a call or a response written from the old docs must look
            like (False: only docs, errors or extra tools change).
        description: One line for tables.
        drift_class: What it changes (RobustBench-TC's classes): ``"interface"`` (the form
            of a call), ``"observation"`` (only what the agent is shown: docs, errors,
            response layout, extra tools) or ``"behaviour"`` (the same call now means or
            returns something else; ``tool_gym.behaviour``).
    """

    name: str
    apply: Callable[[SurfaceBuild, Mutation], Mutation | None]
    adversarial: bool = False
    interface: bool = True
    description: str = ""
    drift_class: str = "interface"


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("rename_tool", _apply_rename_tool, description="tool renamed (synonym or opaque)"),
    Kind("name_noise", _apply_name_noise,
         description="RoTBench name noise: typo, reversed or misleading names"),
    Kind("rename_params", _apply_rename_params,
         description="parameters renamed (synonym, opaque arg_i, or case)"),
    Kind("reorder_params", _apply_reorder_params, interface=False, drift_class="observation",
         description="parameter order changed"),
    Kind("add_required_param", _apply_add_required_param,
         description="new required parameter with one accepted value"),
    Kind("change_format", _apply_change_format,
         description="value format: date, time, enum case, units, currency, cents"),
    Kind("wrap_response", _apply_wrap_response, description="response wrapped in an envelope",
         drift_class="observation"),
    Kind("rename_fields", _apply_rename_fields, description="response keys re-cased",
         drift_class="observation"),
    Kind("deprecate_tool", _apply_deprecate_tool,
         description="old name deprecated in favour of a successor"),
    Kind("drift_docs", _apply_drift_docs, interface=False, drift_class="observation",
         description="docs truncated, removed or misleading"),
    Kind("distractor_tools", _apply_distractor_tools, interface=False, drift_class="observation",
         description="near-name tools that only error"),
    Kind("terse_errors", _apply_terse_errors, adversarial=True, interface=False,
         drift_class="observation",
         description="error messages without hints"),
    Kind("scramble", _apply_scramble,
         description="ToolSandbox scramble: <domain>_i tools, arg_i params, no types"),
]}


def format_targets(domain: Domain) -> dict[str, dict[str, list[str]]]:
    """Parameters ``change_format`` can act on: ``{tool: {param: [formats]}}`` (canonical API)."""
    b = SurfaceBuild(domain, Surface.identity(domain.tools), np.random.default_rng(0))
    out: dict[str, dict[str, list[str]]] = {}
    for t in domain.tools:
        for p, schema in t.parameters.get("properties", {}).items():
            opts = _format_options(b, t.name, p, schema)
            if opts:
                out.setdefault(t.name, {})[p] = opts
    return out
