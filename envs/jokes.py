"""Jokes: an entertainment API with a generic title search beside specific joke tools.

Reproduces the ToolMaster paper's Figure 1 example: asked for Halloween jokes, the generic
``search`` tool only knows a catalogue of movies, series and specials (so it answers with
irrelevant titles, or nothing), while ``jokes_of_the_day`` is the tool that fits.
"""

from __future__ import annotations

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

Category = Literal["halloween", "christmas", "programming", "dad", "animals", "food", "science",
                   "sports", "school"]

CATEGORIES: dict[str, tuple[str, list[str]]] = {
    "halloween": ("Spooky jokes about ghosts, witches, pumpkins and skeletons.",
                  ["ghosts", "witches", "pumpkins", "skeletons"]),
    "christmas": ("Festive jokes about Santa, elves, reindeer and snowmen.",
                  ["Santa", "elves", "reindeer", "snowmen"]),
    "programming": ("Jokes for developers about code, bugs and computers.",
                    ["code", "bugs", "computers", "developers"]),
    "dad": ("Groan-worthy puns that fathers love to tell.",
            ["puns", "fathers", "groan-worthy puns"]),
    "animals": ("Jokes about pets, farm animals and wildlife.", ["pets", "farm animals", "wildlife"]),
    "food": ("Jokes about cooking, fruit, vegetables and snacks.",
             ["cooking", "fruit", "vegetables", "snacks"]),
    "science": ("Jokes about chemistry, physics, biology and space.",
                ["chemistry", "physics", "biology", "space"]),
    "sports": ("Jokes about football, tennis, golf and athletes.",
               ["football", "tennis", "golf", "athletes"]),
    "school": ("Jokes about teachers, homework and exams.", ["teachers", "homework", "exams"]),
}

JOKES: dict[str, list[tuple[str, str]]] = {
    "halloween": [
        ("Why didn't the skeleton go to the party?", "He had no body to go with."),
        ("What do you call a witch at the beach?", "A sand-witch."),
        ("Why are ghosts bad liars?", "You can see right through them."),
        ("What is a vampire's favourite fruit?", "A neck-tarine."),
        ("How do you fix a cracked pumpkin?", "With a pumpkin patch."),
        ("Which room does a ghost avoid?", "The living room."),
    ],
    "christmas": [
        ("What do elves learn in school?", "The elf-abet."),
        ("What do you call a snowman with a six-pack?", "An abdominal snowman."),
        ("Why was Santa's helper feeling down?", "He had low elf-esteem."),
        ("What do reindeer hang on their trees?", "Horn-aments."),
        ("How does a snowman get around?", "By riding an icicle."),
    ],
    "programming": [
        ("Why do programmers prefer dark mode?", "Because light attracts bugs."),
        ("How many programmers does it take to change a light bulb?",
         "None, that is a hardware problem."),
        ("Why did the developer go broke?", "He used up all his cache."),
        ("What is a computer's favourite snack?", "Microchips."),
        ("Why was the JavaScript developer sad?", "He didn't know how to null his feelings."),
    ],
    "dad": [
        ("I'm reading a book about anti-gravity.", "It's impossible to put down."),
        ("Why don't eggs tell jokes?", "They would crack each other up."),
        ("What do you call a fake noodle?", "An impasta."),
        ("Why did the scarecrow win an award?", "He was outstanding in his field."),
        ("How do you make a tissue dance?", "Put a little boogie in it."),
    ],
    "animals": [
        ("What do you call a sleeping bull?", "A bulldozer."),
        ("Why do cows wear bells?", "Because their horns don't work."),
        ("What do you call a fish with no eyes?", "A fsh."),
        ("What do you call a pile of cats?", "A meow-ntain."),
        ("How do bees get to school?", "On the school buzz."),
    ],
    "food": [
        ("Why did the tomato turn red?", "It saw the salad dressing."),
        ("Why did the cookie go to the doctor?", "It felt crummy."),
        ("What do you call cheese that isn't yours?", "Nacho cheese."),
        ("Why did the banana go to the doctor?", "It wasn't peeling well."),
        ("What kind of nut has no shell?", "A doughnut."),
    ],
    "science": [
        ("Why can't you trust an atom?", "They make up everything."),
        ("What did one tectonic plate say to the other?", "Sorry, my fault."),
        ("Why did the photon skip the hotel?", "It was travelling light."),
        ("How do you organise a space party?", "You planet."),
        ("What do you do with a sick chemist?", "If you can't helium, you barium."),
    ],
    "sports": [
        ("Why did the golfer bring two pairs of trousers?", "In case he got a hole in one."),
        ("Why are basketball players messy eaters?", "They are always dribbling."),
        ("What is a cheerleader's favourite drink?", "Root beer."),
        ("Why did the football coach go to the bank?", "To get his quarter back."),
        ("What do you call a boomerang that doesn't come back?", "A stick."),
    ],
    "school": [
        ("Why did the student eat his homework?", "The teacher said it was a piece of cake."),
        ("What is a snake's favourite subject?", "Hiss-tory."),
        ("Why was the maths book sad?", "It had too many problems."),
        ("What did the pencil say to the paper?", "I dot my i's on you."),
        ("Why did the music teacher need a ladder?", "To reach the high notes."),
    ],
}

ADJECTIVES = ["Midnight", "Silent", "Golden", "Broken", "Hidden", "Last", "Crimson", "Frozen",
              "Electric", "Lonely", "Wild", "Secret", "Burning", "Distant", "Paper", "Velvet"]
NOUNS = ["Harbor", "Garden", "Empire", "Signal", "Orchard", "Voyage", "Station", "Kingdom",
         "Mirror", "River", "Lantern", "Circus", "Frontier", "Island", "Letters", "Machine"]
HOLIDAY_TITLES = ["Halloween {n}", "A {a} Halloween", "Christmas at the {n}", "The {a} Christmas",
                  "No Jokes Tonight", "Jokes Aside"]
FIRST = ["Ava", "Noah", "Mila", "Leo", "Iris", "Omar", "Lena", "Hugo", "Zara", "Ivan", "Nora",
         "Theo", "Maya", "Ravi", "Elsa", "Kofi"]
LAST = ["Moreau", "Tanaka", "Okafor", "Lindqvist", "Alvarez", "Novak", "Brennan", "Sato",
        "Haddad", "Kowalski", "Fischer", "Mensah", "Quinn", "Rossi", "Varga", "Castillo"]
GENRES = ["drama", "comedy", "horror", "thriller", "documentary", "animation", "romance", "sci-fi"]
MEDIA = ["movie", "series", "special"]
STOPWORDS = {"the", "a", "an", "of", "at", "and", "in", "on", "for", "to", "me", "some"}
MAX_RESULTS = 5


@dataclass
class JokesWorld(World):
    today: str = ""
    jokes: dict[str, dict] = field(default_factory=dict)  # joke id -> joke with rating totals
    daily: dict[str, list[str]] = field(default_factory=dict)  # category -> today's joke ids
    titles: dict[str, dict] = field(default_factory=dict)  # title id -> catalogue entry
    ratings: list[dict] = field(default_factory=list)  # ratings submitted through rate_joke


def make_world(rng: np.random.Generator) -> JokesWorld:
    w = JokesWorld(today=f"2026-10-{int(rng.integers(1, 32)):02d}")
    n_jokes = sum(len(v) for v in JOKES.values())
    ids = (rng.choice(9000, size=n_jokes, replace=False) + 1000).tolist()
    i = 0
    for cat, bank in JOKES.items():
        cat_ids = []
        for setup, punchline in bank:
            jid = f"J{ids[i]}"
            i += 1
            votes = int(rng.integers(3, 80))
            w.jokes[jid] = {"id": jid, "category": cat, "setup": setup, "punchline": punchline,
                            "votes": votes,
                            "stars_total": int(round(votes * float(rng.uniform(1.5, 5.0))))}
            cat_ids.append(jid)
        order = rng.permutation(len(cat_ids))[:3]
        w.daily[cat] = [cat_ids[int(k)] for k in order]
    names = set()
    while len(names) < 18:
        a = ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]
        n = NOUNS[int(rng.integers(len(NOUNS)))]
        pattern = int(rng.integers(3))
        names.add(f"The {a} {n}" if pattern == 0 else f"{a} {n}" if pattern == 1
                  else f"Return to the {a} {n}")
    for pattern in HOLIDAY_TITLES:
        names.add(pattern.format(a=ADJECTIVES[int(rng.integers(len(ADJECTIVES)))],
                                 n=NOUNS[int(rng.integers(len(NOUNS)))]))
    tids = (rng.choice(9000, size=len(names), replace=False) + 1000).tolist()
    for tid, title in zip(tids, sorted(names), strict=True):
        kind = MEDIA[int(rng.integers(len(MEDIA)))]
        entry = {"id": f"T{tid}", "title": title, "type": kind,
                 "year": int(rng.integers(1975, 2026)),
                 "director": f"{FIRST[int(rng.integers(len(FIRST)))]} "
                             f"{LAST[int(rng.integers(len(LAST)))]}",
                 "genre": GENRES[int(rng.integers(len(GENRES)))],
                 "rating": round(float(rng.uniform(4.0, 9.5)), 1)}
        if kind == "series":
            entry["seasons"] = int(rng.integers(1, 9))
        else:
            entry["runtime_min"] = int(rng.integers(45 if kind == "special" else 80, 160))
        w.titles[entry["id"]] = entry
    return w


def _words(text: str) -> list[str]:
    return [t for t in re.findall(r"[a-z0-9]+", text.lower()) if t not in STOPWORDS]


def _joke(world: JokesWorld, joke_id: str) -> dict:
    return lookup_id(world.jokes, joke_id,
                     "no joke with id '{id}'; ids look like J1234 and come from jokes_of_the_day")


def _average(joke: dict) -> float:
    return round(joke["stars_total"] / joke["votes"], 2)


@tool
def search(
    world: JokesWorld, query: str, media_type: Literal["any", "movie", "series", "special"] = "any"
) -> dict:
    """Search the entertainment catalogue (movies, series, specials) by words in the title.

    Args:
        query: Words from the title, e.g. The Silent Harbor.
        media_type: Restrict to one kind of title: any, movie, series or special.
    """
    words = set(_words(query))
    if not words:
        raise ToolError("the query has no searchable words; give words from a title")
    scored = []
    for entry in world.titles.values():
        if media_type != "any" and entry["type"] != media_type:
            continue
        title_words = _words(entry["title"])
        hits = len(words & set(title_words))
        if hits:
            exact = entry["title"].lower() == query.strip().lower()
            scored.append((-int(exact), -hits, len(title_words), entry["id"], entry))
    scored.sort(key=lambda s: s[:4])
    results = [{k: e[k] for k in ("id", "title", "type", "year")} for *_, e in scored]
    out = {"query": query[:80], "results": results[:MAX_RESULTS], "total": len(results)}
    if not results:
        out["note"] = "no titles match; this searches the movie and show catalogue only"
    return out


@tool
def get_title(world: JokesWorld, title_id: str) -> dict:
    """Full details of one catalogue title: director, genre, rating, runtime or seasons.

    Args:
        title_id: Title id as returned by search, e.g. T4821.
    """
    return dict(lookup_id(world.titles, title_id,
                          "no title with id '{id}'; call search to find title ids"))


@tool
def list_joke_categories(world: JokesWorld) -> list[dict]:
    """List the joke categories with a short description of each."""
    return [{"name": c, "description": d, "jokes": sum(j["category"] == c
                                                       for j in world.jokes.values())}
            for c, (d, _) in CATEGORIES.items()]


@tool
def jokes_of_the_day(world: JokesWorld, category: Category) -> dict:
    """Today's three featured jokes in one category, with setup and punchline.

    Args:
        category: Joke category, e.g. halloween, programming or dad.
    """
    if category not in world.daily:
        raise ToolError(f"unknown category '{category}'; known: {', '.join(CATEGORIES)}")
    jokes = [{k: world.jokes[j][k] for k in ("id", "setup", "punchline")}
             for j in world.daily[category]]
    return {"category": category, "date": world.today, "jokes": jokes}


@tool
def get_joke(world: JokesWorld, joke_id: str) -> dict:
    """One joke by id, with its category, average star rating and number of votes.

    Args:
        joke_id: Joke id, e.g. J1234.
    """
    j = _joke(world, joke_id)
    return {"id": j["id"], "category": j["category"], "setup": j["setup"],
            "punchline": j["punchline"], "average_rating": _average(j), "votes": j["votes"]}


@tool(side_effects=True, params={"stars": {"minimum": 1, "maximum": 5}})
def rate_joke(world: JokesWorld, joke_id: str, stars: int) -> dict:
    """Rate a joke from 1 to 5 stars; updates its average rating.

    Args:
        joke_id: Joke id, e.g. J1234.
        stars: Whole number of stars from 1 (worst) to 5 (best).
    """
    if not 1 <= stars <= 5:
        raise ToolError(f"stars must be between 1 and 5, got {stars}")
    j = _joke(world, joke_id)
    j["votes"] += 1
    j["stars_total"] += stars
    world.ratings.append({"joke_id": j["id"], "stars": stars})
    return {"status": "rated", "joke_id": j["id"], "stars": stars,
            "average_rating": _average(j), "votes": j["votes"]}


TOOLS = [search, get_title, list_joke_categories, jokes_of_the_day, get_joke, rate_joke]

ORDINALS = ["first", "second", "third"]
AUDIENCES = ["my kids", "my coworkers", "a school class", "my grandparents", "a party",
             "my friends", "a newsletter", "a birthday card"]



def _rated(joke_id: str, stars: int):
    def has_rating(w: JokesWorld) -> bool:
        return any(r["joke_id"] == joke_id and r["stars"] == stars for r in w.ratings)

    return world_has(has_rating)


def make_task(rng: np.random.Generator, world: JokesWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    cat = list(CATEGORIES)[int(rng.integers(len(CATEGORIES)))]
    n = int(rng.integers(3))
    daily = world.jokes[world.daily[cat][n]]
    joke = list(world.jokes.values())[int(rng.integers(len(world.jokes)))]
    stars = int(rng.integers(1, 6))
    title = list(world.titles.values())[int(rng.integers(len(world.titles)))]
    who = AUDIENCES[int(rng.integers(len(AUDIENCES)))]
    if kind == 0:  # Figure 1: the specific tool, not the generic search
        return Task("", "jokes", f"I need a {cat} joke for {who}: tell me the {ORDINALS[n]} of "
                    f"today's {cat} jokes of the day (its punchline or id).",
                    [Step("jokes_of_the_day", {"category": cat})],
                    Ref(0, f"jokes.{n}.punchline"), answer_mentions(daily["id"], daily["punchline"]))
    if kind == 1:  # category by description -> today's joke -> rate it
        keyword = CATEGORIES[cat][1][int(rng.integers(len(CATEGORIES[cat][1])))]
        i = list(CATEGORIES).index(cat)
        return Task("", "jokes", f"Find the joke category whose description mentions {keyword}, "
                    f"take the {ORDINALS[n]} of today's jokes of the day in it, and rate that "
                    f"joke {stars} stars. Then say done.",
                    [Step("list_joke_categories"),
                     Step("jokes_of_the_day", {"category": Ref(0, f"{i}.name")}),
                     Step("rate_joke", {"joke_id": Ref(1, f"jokes.{n}.id"), "stars": stars})],
                    "done", _rated(daily["id"], stars))
    if kind == 2:  # today's joke -> its average rating
        return Task("", "jokes", f"What is the average star rating of the {ORDINALS[n]} of "
                    f"today's {cat} jokes of the day?",
                    [Step("jokes_of_the_day", {"category": cat}),
                     Step("get_joke", {"joke_id": Ref(0, f"jokes.{n}.id")})],
                    Ref(1, "average_rating"), answer_is(_average(daily)))
    if kind == 3:
        return Task("", "jokes", f"Please rate joke {joke['id']} {stars} out of 5 stars for "
                    f"{who}, then say done.",
                    [Step("rate_joke", {"joke_id": joke["id"], "stars": stars})],
                    "done", _rated(joke["id"], stars))
    if kind == 4:  # generic search -> details
        field_name, question = [("director", "Who directed"), ("genre", "What genre is"),
                                ("rating", "What rating does")][int(rng.integers(3))]
        tail = " have" if field_name == "rating" else ""
        value = title[field_name]
        check = answer_is(value) if field_name == "rating" else answer_mentions(value)
        return Task("", "jokes", f"{question} the {title['type']} titled '{title['title']}'"
                    f"{tail} in the entertainment catalogue?",
                    [Step("search", {"query": title["title"]}),
                     Step("get_title", {"title_id": Ref(0, "results.0.id")})],
                    Ref(1, field_name), check)
    if kind == 5:
        return Task("", "jokes", f"In which year was the {title['type']} '{title['title']}' "
                    "released, according to the catalogue search?",
                    [Step("search", {"query": title["title"]})],
                    Ref(0, "results.0.year"), answer_is(title["year"]))
    if kind == 6:
        return Task("", "jokes", f"What is the punchline of joke {joke['id']}?",
                    [Step("get_joke", {"joke_id": joke["id"]})],
                    Ref(0, "punchline"), answer_mentions(joke["punchline"]))
    # kind 7: joke -> its category -> today's joke in that category
    target = world.jokes[world.daily[joke["category"]][n]]
    return Task("", "jokes", f"Look up joke {joke['id']} to find its category, then tell me the "
                f"{ORDINALS[n]} of today's jokes of the day in that same category (punchline or "
                "id).",
                [Step("get_joke", {"joke_id": joke["id"]}),
                 Step("jokes_of_the_day", {"category": Ref(0, "category")})],
                Ref(1, f"jokes.{n}.punchline"), answer_mentions(target["id"], target["punchline"]))


DOMAIN = Domain(
    name="jokes",
    title="Jokes",
    description="Entertainment: a movie and show catalogue search beside jokes of the day.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"search.media_type": "enum", "get_title.title_id": "id",
           "jokes_of_the_day.category": "enum", "get_joke.joke_id": "id",
           "rate_joke.joke_id": "id"},
    synonyms={"joke": ["gag", "quip"], "jokes": ["gags", "quips"],
              "categories": ["genres", "groups"], "stars": ["score", "grade"],
              "media": ["content"]},
)
