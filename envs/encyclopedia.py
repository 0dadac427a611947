"""Encyclopedia: a local corpus of short articles about fictional places, people, inventions
and organisations, with ranked keyword search, sections, structured facts and bookmarks.

Facts link articles (an invention's inventor is a person with an article, who was born in a
city with an article), so many questions take several hops.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tool_gym import (
    Domain,
    Ref,
    Step,
    Task,
    ToolError,
    World,
    answer_is,
    answer_mentions,
    lookup_id,
    tool,
    world_has,
)

Attribute = Literal["country", "founded", "population", "river", "born", "birthplace",
                    "occupation", "known_for", "inventor", "year", "field", "first_used_in",
                    "founder", "headquarters", "members"]
Section = Literal["overview", "history", "geography", "culture", "early_life", "career", "design"]

SYLLABLES = ["ka", "lo", "mir", "va", "dor", "en", "tha", "ri", "sel", "quo", "bra", "nim", "tor",
             "ul", "zen", "fa", "gil", "or", "pe", "ssa", "mar", "dun", "wy", "ve"]
FIRST = ["Ada", "Bren", "Cato", "Dara", "Elio", "Fenna", "Goran", "Hester", "Ilse", "Jorin",
         "Kira", "Lucan", "Mirela", "Nils", "Oona", "Pavel", "Quilla", "Rurik", "Sabine", "Tomas"]
COUNTRIES = ["Estmark", "Valoria", "Nordhaven", "Kessaly", "Ombria", "Tarsis"]
RIVERS = ["Amber", "Lys", "Corran", "Vetta", "Maren", "Oskel", "Drava", "Ninn"]
OCCUPATIONS = ["engineer", "clockmaker", "chemist", "cartographer", "physician", "astronomer",
               "shipwright", "glassblower"]
ADJ = ["Aether", "Spiral", "Tidal", "Copper", "Lumen", "Gyro", "Prism", "Echo", "Vapor", "Helix",
       "Ember", "Quartz"]
DEVICES = ["Loom", "Engine", "Lantern", "Compass", "Press", "Telegraph", "Clock", "Pump", "Lens",
           "Kiln", "Sextant", "Bellows"]
FIELDS = ["textiles", "navigation", "printing", "timekeeping", "optics", "mining", "medicine",
          "communication"]
ORG_ADJ = ["Silver", "Northern", "Royal", "Free", "Golden", "Ancient", "Grand", "Open"]
ORG_NOUNS = ["Guild of Makers", "Society of Explorers", "Academy of Sciences", "Trading Company",
             "League of Printers", "Brotherhood of Smiths", "Institute of Optics"]
FESTIVALS = ["Lantern Night", "River Fair", "Harvest of Bells", "Glass Parade", "Kite Week",
             "Salt Festival", "Festival of Masks", "Winter Market"]
STOPWORDS = {"the", "a", "an", "of", "in", "on", "and", "to", "is", "was", "what", "who",
             "which", "about", "article"}
COUNTS = {"city": 14, "person": 14, "invention": 10, "organization": 7}


@dataclass
class EncyclopediaWorld(World):
    articles: dict[str, dict] = field(default_factory=dict)  # id -> article
    bookmarks: list[dict] = field(default_factory=list)

    def fork(self) -> EncyclopediaWorld:
        # Articles are never changed by any tool: share them; copy only the bookmarks.
        return EncyclopediaWorld(articles=self.articles,
                                 bookmarks=[dict(b) for b in self.bookmarks])


def _unique(rng: np.random.Generator, make, n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = make()
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def make_world(rng: np.random.Generator) -> EncyclopediaWorld:
    def pick(seq: list) -> str:
        return seq[int(rng.integers(len(seq)))]

    def word(k: int) -> str:
        return "".join(pick(SYLLABLES) for _ in range(k)).capitalize()

    taken: set[str] = set()
    cities = _unique(rng, lambda: word(int(rng.integers(2, 4))), COUNTS["city"], taken)
    people = _unique(rng, lambda: f"{pick(FIRST)} {word(3)}", COUNTS["person"], taken)
    inventions = _unique(rng, lambda: f"{pick(ADJ)} {pick(DEVICES)}", COUNTS["invention"], taken)
    orgs = _unique(rng, lambda: f"{pick(ORG_ADJ)} {pick(ORG_NOUNS)}", COUNTS["organization"],
                   taken)
    ids = [f"A{int(i)}" for i in rng.choice(9000, sum(COUNTS.values()), replace=False) + 1000]
    w = EncyclopediaWorld()

    def add(title: str, kind: str, summary: str, facts: dict, sections: dict) -> None:
        aid = ids[len(w.articles)]
        w.articles[aid] = {"id": aid, "title": title, "kind": kind, "summary": summary,
                           "facts": facts, "sections": {"overview": summary, **sections}}

    for name in cities:
        f = {"country": pick(COUNTRIES), "founded": int(rng.integers(900, 1800)),
             "population": int(rng.integers(2, 900)) * 1000 + int(rng.integers(1, 1000)),
             "river": pick(RIVERS)}
        festival = pick(FESTIVALS)
        add(name, "city", f"{name} is a city in {f['country']} on the river {f['river']}.", f, {
            "history": f"{name} was founded in {f['founded']} as a market town on the "
                       f"{f['river']}.",
            "geography": f"The city lies in {f['country']} and has {f['population']} "
                         "inhabitants.",
            "culture": f"Every year {name} holds the {festival}, its best-known festival.",
        })
    inventor_of: dict[str, str] = {}
    for k, name in enumerate(inventions):
        person = people[k % len(people)]
        inventor_of[person] = name
        f = {"inventor": person, "year": int(rng.integers(1700, 1950)), "field": pick(FIELDS),
             "first_used_in": pick(cities)}
        add(name, "invention", f"The {name} is a device used in {f['field']}.", f, {
            "history": f"The {name} was invented by {person} in {f['year']} and first used in "
                       f"{f['first_used_in']}.",
            "design": f"The {name} brought new precision to {f['field']}.",
        })
    for name in people:
        f = {"born": int(rng.integers(1650, 1920)), "birthplace": pick(cities),
             "occupation": pick(OCCUPATIONS)}
        if name in inventor_of:
            f["known_for"] = inventor_of[name]
        add(name, "person", f"{name} was a {f['occupation']} born in {f['birthplace']}.", f, {
            "early_life": f"{name} was born in {f['born']} in {f['birthplace']}.",
            "career": f"{name} worked as a {f['occupation']}"
                      + (f" and invented the {f['known_for']}." if "known_for" in f else "."),
        })
    for name in orgs:
        f = {"founded": int(rng.integers(1500, 1950)), "founder": pick(people),
             "headquarters": pick(cities), "members": int(rng.integers(20, 5000))}
        add(name, "organization", f"The {name} is an organisation based in "
                                  f"{f['headquarters']}.", f, {
            "history": f"The {name} was founded in {f['founded']} by {f['founder']}; it has "
                       f"{f['members']} members.",
        })
    return w


def _tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in STOPWORDS]


def _article(world: EncyclopediaWorld, article_id: str) -> dict:
    return lookup_id(world.articles, article_id,
                     "no article with id '{id}'; ids look like A1234 and come from search_articles")


def _by_title(world: EncyclopediaWorld, entity: str) -> dict:
    key = " ".join(_tokens(entity))
    for a in world.articles.values():
        if " ".join(_tokens(a["title"])) == key:
            return a
    titles = [a["title"] for a in world.articles.values()]
    close = difflib.get_close_matches(entity.strip(), titles, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else " Try search_articles."
    raise ToolError(f"no article titled '{entity[:80]}'.{hint}")


@tool(params={"limit": {"minimum": 1, "maximum": 10}})
def search_articles(world: EncyclopediaWorld, query: str, limit: int = 5) -> dict:
    """Keyword search over article titles and summaries, best matches first.

    Args:
        query: Keywords, e.g. a name or a topic such as Aether Loom.
        limit: Maximum number of results, 1 to 10.
    """
    words = set(_tokens(query))
    if not words:
        raise ToolError("the query has no searchable words")
    qkey = " ".join(_tokens(query))
    scored = []
    for a in world.articles.values():
        title = set(_tokens(a["title"]))
        body = set(_tokens(a["summary"]))
        score = 3 * len(words & title) + len(words & body)
        if score:
            exact = " ".join(_tokens(a["title"])) == qkey
            scored.append((-(score + 100 * exact), a["id"], a))
    scored.sort(key=lambda s: s[:2])
    limit = max(1, min(int(limit), 10))
    results = [{"id": a["id"], "title": a["title"], "kind": a["kind"], "snippet": a["summary"]}
               for *_, a in scored[:limit]]
    return {"query": query[:80], "results": results, "total": len(scored)}


@tool
def get_article(world: EncyclopediaWorld, article_id: str) -> dict:
    """An article: title, kind, summary, its structured facts and the names of its sections.

    Args:
        article_id: Article id from search_articles, e.g. A1234.
    """
    a = _article(world, article_id)
    return {"id": a["id"], "title": a["title"], "kind": a["kind"], "summary": a["summary"],
            "facts": dict(a["facts"]), "sections": list(a["sections"])}


@tool
def get_section(world: EncyclopediaWorld, article_id: str, section: Section) -> dict:
    """The text of one section of an article.

    Args:
        article_id: Article id from search_articles, e.g. A1234.
        section: Section name; which ones exist depends on the article (see get_article).
    """
    a = _article(world, article_id)
    if section not in a["sections"]:
        raise ToolError(f"'{a['title']}' has no section '{section}'; its sections: "
                        f"{', '.join(a['sections'])}")
    return {"id": a["id"], "title": a["title"], "section": section,
            "text": a["sections"][section]}


@tool
def get_fact(world: EncyclopediaWorld, entity: str, attribute: Attribute) -> dict:
    """One structured fact about an entity, looked up by its exact article title.

    Args:
        entity: Article title, e.g. a city, person, invention or organisation name.
        attribute: Which fact; cities: country, founded, population, river; people: born,
            birthplace, occupation, known_for; inventions: inventor, year, field, first_used_in;
            organisations: founded, founder, headquarters, members.
    """
    a = _by_title(world, entity)
    if attribute not in a["facts"]:
        raise ToolError(f"'{a['title']}' ({a['kind']}) has no '{attribute}'; available: "
                        f"{', '.join(a['facts'])}")
    return {"entity": a["title"], "attribute": attribute, "value": a["facts"][attribute],
            "article_id": a["id"]}


@tool(side_effects=True)
def bookmark(world: EncyclopediaWorld, article_id: str, note: str = "") -> dict:
    """Bookmark an article, optionally with a short note; bookmarking again replaces the note.

    Args:
        article_id: Article id from search_articles, e.g. A1234.
        note: Optional note of at most 200 characters.
    """
    a = _article(world, article_id)
    if len(note) > 200:
        raise ToolError(f"note too long ({len(note)} characters; at most 200)")
    for b in world.bookmarks:
        if b["article_id"] == a["id"]:
            b["note"] = note
            return {"status": "updated", **b}
    entry = {"article_id": a["id"], "title": a["title"], "note": note}
    world.bookmarks.append(entry)
    return {"status": "bookmarked", **entry}


@tool
def list_bookmarks(world: EncyclopediaWorld) -> list[dict]:
    """List the bookmarked articles with their notes (at most 50)."""
    return [dict(b) for b in world.bookmarks[:50]]


TOOLS = [search_articles, get_article, get_section, get_fact, bookmark, list_bookmarks]



def _check(value: object):
    return answer_is(value) if isinstance(value, int) else answer_mentions(str(value))


def make_task(rng: np.random.Generator, world: EncyclopediaWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    by_kind: dict[str, list[dict]] = {}
    for a in world.articles.values():
        by_kind.setdefault(a["kind"], []).append(a)
    title = {a["title"]: a for a in world.articles.values()}

    def pick(k: str) -> dict:
        return by_kind[k][int(rng.integers(len(by_kind[k])))]

    inv, city, person, org = pick("invention"), pick("city"), pick("person"), pick("organization")
    inventor = title[inv["facts"]["inventor"]]
    if kind == 0:  # invention -> inventor -> birthplace
        place = inventor["facts"]["birthplace"]
        return Task("", "encyclopedia", f"The inventor of the {inv['title']} was born in which "
                    "city?",
                    [Step("get_fact", {"entity": inv["title"], "attribute": "inventor"}),
                     Step("get_fact", {"entity": Ref(0, "value"), "attribute": "birthplace"})],
                    Ref(1, "value"), answer_mentions(place))
    if kind == 1:  # search -> article -> fact
        attr, phrase = [("population", "population"), ("founded", "founding year"),
                        ("river", "river")][int(rng.integers(3))]
        return Task("", "encyclopedia", f"Look up the encyclopedia article on {city['title']}. "
                    f"What {phrase} does it give for the city?",
                    [Step("search_articles", {"query": city["title"]}),
                     Step("get_article", {"article_id": Ref(0, "results.0.id")})],
                    Ref(1, f"facts.{attr}"), _check(city["facts"][attr]))
    if kind == 2:
        a = [city, person, inv, org][int(rng.integers(4))]
        attr = list(a["facts"])[int(rng.integers(len(a["facts"])))]
        return Task("", "encyclopedia", f"According to the encyclopedia, what is the "
                    f"{attr.replace('_', ' ')} of {a['title']}?",
                    [Step("get_fact", {"entity": a["title"], "attribute": attr})],
                    Ref(0, "value"), _check(a["facts"][attr]))
    if kind == 3:  # search -> bookmark
        target = [city, person, inv, org][int(rng.integers(4))]
        note = ["read later", "for the report", "check dates", "share with class", ""][
            int(rng.integers(5))]

        def marked(w: EncyclopediaWorld) -> bool:
            return any(b["article_id"] == target["id"] and b["note"].strip() == note
                       for b in w.bookmarks)

        with_note = f" with the note '{note}'" if note else " (no note)"
        args = {"article_id": Ref(0, "results.0.id")}
        if note:
            args["note"] = note
        return Task("", "encyclopedia", f"Bookmark the encyclopedia article about "
                    f"{target['title']}{with_note}, then say done.",
                    [Step("search_articles", {"query": target["title"]}), Step("bookmark", args)],
                    "done", world_has(marked))
    if kind == 4:  # organisation -> founder -> birthplace -> population
        founder = title[org["facts"]["founder"]]
        pop = title[founder["facts"]["birthplace"]]["facts"]["population"]
        return Task("", "encyclopedia", f"What is the population of the city where the founder "
                    f"of the {org['title']} was born?",
                    [Step("get_fact", {"entity": org["title"], "attribute": "founder"}),
                     Step("get_fact", {"entity": Ref(0, "value"), "attribute": "birthplace"}),
                     Step("get_fact", {"entity": Ref(1, "value"), "attribute": "population"})],
                    Ref(2, "value"), answer_is(pop))
    if kind == 5:  # search -> culture section
        festival = city["sections"]["culture"].split(" holds the ")[1].split(",")[0]
        return Task("", "encyclopedia", f"Which yearly festival is {city['title']} known for, "
                    "according to the culture section of its article?",
                    [Step("search_articles", {"query": city["title"]}),
                     Step("get_section", {"article_id": Ref(0, "results.0.id"),
                                          "section": "culture"})],
                    festival, answer_mentions(festival))
    if kind == 6:  # invention -> inventor -> birth year
        return Task("", "encyclopedia", f"In which year was the inventor of the {inv['title']} "
                    "born?",
                    [Step("get_fact", {"entity": inv["title"], "attribute": "inventor"}),
                     Step("get_fact", {"entity": Ref(0, "value"), "attribute": "born"})],
                    Ref(1, "value"), answer_is(inventor["facts"]["born"]))
    hq = title[org["facts"]["headquarters"]]
    attr = ["country", "river"][int(rng.integers(2))]
    return Task("", "encyclopedia", f"The {org['title']} has its headquarters in a city. Which "
                f"{attr} is that city {'in' if attr == 'country' else 'on'}?",
                [Step("get_fact", {"entity": org["title"], "attribute": "headquarters"}),
                 Step("get_fact", {"entity": Ref(0, "value"), "attribute": attr})],
                Ref(1, "value"), answer_mentions(hq["facts"][attr]))


DOMAIN = Domain(
    name="encyclopedia",
    title="Encyclopedia",
    description="A local encyclopedia of fictional places, people, inventions and organisations.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"get_article.article_id": "id", "get_section.article_id": "id",
           "get_section.section": "enum", "get_fact.attribute": "enum",
           "bookmark.article_id": "id"},
)
