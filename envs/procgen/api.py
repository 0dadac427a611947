"""The API description of one API seed: entity kinds and tools as plain data (so domains,
tools and tasks pickle), and :func:`generate_api`, a pure function of the seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tool_gym.envs.procgen.vocabulary import (
    BOOL_ATTRS,
    DATE_ATTRS,
    ENUM_ATTRS,
    FROM_PARAMS,
    ID_PARAMS,
    MONEY_ATTRS,
    NAME_PARAMS,
    NOUNS,
    PARENTS,
    QTY_ATTRS,
    RATES,
    TEXT_PARAMS,
    TO_PARAMS,
    VALUE_PARAMS,
    VERBS,
    pick,
    plural,
)
from tool_gym.units import UNITS


@dataclass(frozen=True)
class Kind:
    """An entity kind: its noun, id prefix and typed attributes."""

    noun: str
    prefix: str
    enums: tuple[tuple[str, tuple[str, ...]], ...]
    qty: tuple[str, str, str, int, int] | None = None  # (field, unit, dimension, lo, hi)
    money: str | None = None  # field name, in the API's currency
    date: str | None = None
    flag: str | None = None

    @property
    def plural(self) -> str:
        return plural(self.noun)


@dataclass(frozen=True)
class ToolDef:
    """One generated tool: its family, target kind and parameter names by role."""

    family: str
    kind: str  # "main" or "parent"
    name: str
    params: tuple[tuple[str, str], ...]  # (role, parameter name)
    attr: str = ""  # the attribute a filter / update / aggregate / range works on

    def param(self, role: str) -> str:
        return dict(self.params)[role]


@dataclass(frozen=True)
class Api:
    seed: int
    main: Kind
    parent: Kind | None
    currency: str
    tools: tuple[ToolDef, ...]

    def kind(self, which: str) -> Kind:
        assert which == "main" or self.parent is not None
        return self.main if which == "main" else self.parent  # type: ignore[return-value]

    def tool(self, family: str, kind: str = "main") -> ToolDef | None:
        return next((t for t in self.tools if t.family == family and t.kind == kind), None)


def _kind(rng: np.random.Generator, noun: str, taken_prefixes: set[str], rich: bool) -> Kind:
    prefix = noun[:3].upper()
    if prefix in taken_prefixes:
        prefix = (noun[0] + noun[-2:]).upper()
    taken_prefixes.add(prefix)
    order = rng.permutation(len(ENUM_ATTRS))
    n_enums = 2 if rich and rng.random() < 0.5 else 1
    enums = tuple((ENUM_ATTRS[int(i)][0], tuple(ENUM_ATTRS[int(i)][1])) for i in order[:n_enums])
    if not rich:
        return Kind(noun, prefix, enums)
    qa = QTY_ATTRS[int(rng.integers(len(QTY_ATTRS)))]
    qty = (f"{qa[0]}_{qa[1]}", qa[1], qa[2], qa[3], qa[4])
    money = f"{pick(rng, MONEY_ATTRS)}" if rng.random() < 0.6 else None
    date = pick(rng, DATE_ATTRS) if rng.random() < 0.5 else None
    flag = pick(rng, BOOL_ATTRS) if rng.random() < 0.5 else None
    return Kind(noun, prefix, enums, qty, money, date, flag)


def generate_api(seed: int) -> Api:
    """The API of one API seed (pure function of the seed)."""
    rng = np.random.default_rng([seed, 0x9E0C])
    prefixes: set[str] = set()
    main = _kind(rng, pick(rng, NOUNS), prefixes, rich=True)
    parent = _kind(rng, pick(rng, PARENTS), prefixes, rich=False) if rng.random() < 0.75 \
        else None
    currency = pick(rng, list(RATES))
    if main.money:
        main = Kind(main.noun, main.prefix, main.enums, main.qty,
                    f"{main.money}_{currency.lower()}", main.date, main.flag)
    id_style = pick(rng, ID_PARAMS)
    text_p, name_p = pick(rng, TEXT_PARAMS), pick(rng, NAME_PARAMS)
    n, pn = main.noun, parent.noun if parent else ""
    id_p = id_style.format(n=n)
    pid_p = f"{pn}_{'ref' if id_style == '{n}_ref' else 'id'}"
    enum0 = main.enums[0][0]
    qty_field, qty_unit = main.qty[0], main.qty[1]  # type: ignore[index]
    unit_word = UNITS[qty_unit].word
    range_p = pick(rng, [f"min_{qty_field}", f"at_least_{unit_word}", unit_word])

    def name_for(family: str, pattern_opts: list[str]) -> str:
        return pick(rng, pattern_opts).format(v=pick(rng, VERBS[family]), n=n, ns=main.plural,
                                               p=pn, ps=plural(pn) if pn else "", a=enum0,
                                               q=main.qty[0].rsplit("_", 1)[0],  # type: ignore[index]
                                               d=main.qty[2])  # type: ignore[index]

    candidates: list[ToolDef] = []
    core = [
        ToolDef("search", "main", name_for("search", ["{v}_{ns}", "{v}_{n}_by_name"]),
                (("text", text_p),)),
        ToolDef("get", "main", name_for("get", ["{v}_{n}", "{v}_{n}_details"]), (("id", id_p),)),
    ]
    candidates.append(ToolDef("filter", "main", name_for("filter", ["{v}_{ns}_by_{a}"]),
                              (("value", enum0),), attr=enum0))
    candidates.append(ToolDef("range", "main", name_for("range", ["{v}_{ns}_over_{q}",
                                                                     "{v}_{ns}_by_{q}"]),
                              (("min", range_p),), attr=qty_field))
    candidates.append(ToolDef("create", "main", name_for("create", ["{v}_{n}"]),
                              (("name", name_p), ("value", enum0))
                              + ((("parent", pid_p),) if parent else ())))
    candidates.append(ToolDef("update", "main", name_for("update", ["{v}_{n}_{a}"]),
                              (("id", id_p), ("value", enum0)), attr=enum0))
    candidates.append(ToolDef("delete", "main", name_for("delete", ["{v}_{n}"]),
                              (("id", id_p),)))
    candidates.append(ToolDef("aggregate", "main", name_for("aggregate", ["{v}_{n}_{q}",
                                                                             "{v}_{q}_by_{a}"]),
                              (("value", enum0),), attr=qty_field))
    candidates.append(ToolDef("convert", "main", name_for("convert", ["{v}_{n}_{q}", "{v}_{q}_of_{n}"]),
                              (("amount", pick(rng, VALUE_PARAMS)), ("from", pick(rng, FROM_PARAMS)),
                               ("to", pick(rng, TO_PARAMS)))))
    if parent is not None:
        core.append(ToolDef("search", "parent", name_for("search", ["{v}_{ps}", "{v}_{p}_by_name"]),
                            (("text", text_p),)))
        candidates.append(ToolDef("related", "main", name_for("related", ["{v}_{p}_{ns}",
                                                                           "{ns}_in_{p}"]),
                                  (("parent", pid_p),)))
        candidates.append(ToolDef("move", "main", name_for("move", ["{v}_{n}", "{v}_{n}_to_{p}"]),
                                  (("id", id_p), ("parent", pid_p))))
        candidates.append(ToolDef("get", "parent", name_for("get", ["{v}_{p}", "{v}_{p}_details"]),
                                  (("id", f"{pn}_id" if id_p != f"{pn}_id" else f"{pn}_key"),)))
    order = rng.permutation(len(candidates))
    extra = int(rng.integers(max(0, 4 - len(core)), min(len(candidates), 12 - len(core)) + 1))
    chosen = [candidates[int(i)] for i in sorted(order[:extra])]
    tools: list[ToolDef] = []
    names: set[str] = set()
    for t in core + chosen:  # a generated name may repeat within one API: make it unique
        name = t.name
        if name in names:
            name = f"{t.name}_{t.kind}" if f"{t.name}_{t.kind}" not in names else f"{t.name}_2"
        names.add(name)
        tools.append(ToolDef(t.family, t.kind, name, t.params, t.attr))
    return Api(seed, main, parent, currency, tuple(tools))
