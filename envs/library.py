"""Library: catalogue search, book details and availability, and loans for members.

The world is a seeded catalogue with members, current loans (some overdue) and
reservations; borrowing, returning and reserving change it.
"""

from __future__ import annotations

import datetime as dt
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
    all_of,
    answer_is,
    lookup_id,
    tool,
    world_has,
)

ADJ = ["Silent", "Hidden", "Last", "Golden", "Broken", "Distant", "Quiet", "Burning", "Forgotten",
       "Crimson", "Northern", "Endless"]
NOUN = ["River", "Garden", "Lantern", "Harbor", "Mirror", "Orchard", "Compass", "Winter",
        "Falcon", "Archive", "Meadow", "Tower", "Island", "Letter", "Signal", "Forest"]
PLACE = ["Avalon", "Kestrel Bay", "the North", "Ashford", "Marrow Hill", "Eastwick", "Solace",
         "the Deep"]
TITLES = ([f"The {a} {n}" for a in ADJ for n in NOUN]
          + [f"{'An' if n[0] in 'AEIOU' else 'A'} {n} in {p}" for n in NOUN for p in PLACE]
          + [f"{n} and {m}" for n in NOUN for m in NOUN if n != m])
FIRST = ["Amara", "Bruno", "Celia", "Dmitri", "Esther", "Felix", "Greta", "Hassan", "Iris",
         "Julian", "Keiko", "Lionel", "Marta", "Nadia", "Oscar", "Priya", "Quentin", "Rosa"]
LAST = ["Abbott", "Baptiste", "Castellano", "Delacroix", "Eklund", "Fairweather", "Grunwald",
        "Hollis", "Iwasaki", "Jablonski", "Kaur", "Lindqvist", "Mbeki", "Novak", "Oyelaran"]
GENRES = ["fiction", "mystery", "science fiction", "fantasy", "history", "biography", "poetry",
          "science"]
GENRE = Literal["any", "fiction", "mystery", "science fiction", "fantasy", "history", "biography",
                "poetry", "science"]
PERIOD = {"standard": 21, "student": 14, "staff": 28}  # loan days by membership type
LOAN_LIMIT = 4
FINE_PER_DAY = 0.25
FINE_BLOCK = 5.0  # members owing this much cannot borrow
TODAY = dt.date(2026, 3, 10)
N_BOOKS = 36
N_MEMBERS = 6
MAX_RESULTS = 8


@dataclass
class LibraryWorld(World):
    books: dict[str, dict] = field(default_factory=dict)  # book id -> book
    members: dict[str, dict] = field(default_factory=dict)  # member id -> member
    loans: list[dict] = field(default_factory=list)  # active loans
    reservations: list[dict] = field(default_factory=list)  # queue order per book
    next_loan: int = 1


def _iso(d: dt.date) -> str:
    return d.isoformat()


def _active(world: LibraryWorld, book_id: str) -> list[dict]:
    return [ln for ln in world.loans if ln["book_id"] == book_id]


def _available(world: LibraryWorld, book_id: str) -> int:
    return world.books[book_id]["copies"] - len(_active(world, book_id))


def _lend(world: LibraryWorld, member_id: str, book_id: str, borrowed: dt.date) -> dict:
    days = PERIOD[world.members[member_id]["type"]]
    loan = {"loan_id": f"L{world.next_loan:04d}", "book_id": book_id, "member_id": member_id,
            "borrowed": _iso(borrowed), "due": _iso(borrowed + dt.timedelta(days=days))}
    world.next_loan += 1
    world.loans.append(loan)
    return loan


def make_world(rng: np.random.Generator) -> LibraryWorld:
    w = LibraryWorld()
    titles = rng.permutation(len(TITLES))[:N_BOOKS].tolist()
    ids = (rng.permutation(9000)[: N_BOOKS + N_MEMBERS] + 1000).tolist()
    authors = rng.permutation(len(FIRST) * len(LAST))[:12].tolist()
    authors = [f"{FIRST[a // len(LAST)]} {LAST[a % len(LAST)]}" for a in authors]
    b = rng.integers(0, 1 << 30, (N_BOOKS, 5)).tolist()
    for k in range(N_BOOKS):
        bid = f"B{ids[k]}"
        w.books[bid] = {"book_id": bid, "title": TITLES[titles[k]],
                        "author": authors[b[k][0] % len(authors)],
                        "genre": GENRES[b[k][1] % len(GENRES)], "year": 1950 + b[k][2] % 76,
                        "pages": 120 + b[k][3] % 780, "copies": 1 + b[k][4] % 3}
    types = list(PERIOD)
    m = rng.integers(0, 1 << 30, (N_MEMBERS, 3)).tolist()
    for k in range(N_MEMBERS):
        mid = f"M{ids[N_BOOKS + k]}"
        w.members[mid] = {"member_id": mid,
                          "name": f"{FIRST[m[k][0] % len(FIRST)]} {LAST[m[k][1] % len(LAST)]}",
                          "type": types[m[k][2] % 3], "fines_due": 0.0}
    mids = list(w.members)
    w.members[mids[-1]]["fines_due"] = 7.5  # one member is blocked until they pay
    book_ids = list(w.books)
    out = book_ids[:6]  # six books are fully on loan; a few more have one copy out
    wanted = [bid for bid in out for _ in range(w.books[bid]["copies"])] + book_ids[6:10]
    ago = rng.integers(1, 35, len(wanted)).tolist()
    start = int(rng.integers(N_MEMBERS))
    for j, bid in enumerate(wanted):
        for t in range(N_MEMBERS):
            mid = mids[(start + j + t) % N_MEMBERS]
            held = [ln for ln in w.loans if ln["member_id"] == mid]
            if len(held) < LOAN_LIMIT - 1 and all(ln["book_id"] != bid for ln in held):
                _lend(w, mid, bid, TODAY - dt.timedelta(days=ago[j]))
                break
    for bid in [x for x in out if _available(w, x) == 0][:2]:
        holders = {ln["member_id"] for ln in _active(w, bid)}
        free = [x for x in mids if x not in holders]
        w.reservations.append({"book_id": bid, "member_id": free[int(rng.integers(len(free)))]})
    return w


def _book(world: LibraryWorld, book_id: str) -> dict:
    return lookup_id(world.books, book_id,
                     "no book '{id}'; use a book_id from search_catalogue, "
                     "e.g. B1234")


def _member(world: LibraryWorld, member_id: str) -> dict:
    return lookup_id(world.members, member_id,
                     "no member '{id}'; member ids look like M1234")


def _search(world: LibraryWorld, query: str, where: str, genre: str) -> list[dict]:
    q = " ".join(query.lower().split())
    hits = []
    for bk in world.books.values():
        if genre != "any" and bk["genre"] != genre:
            continue
        in_title = where != "author" and q in bk["title"].lower()
        in_author = where != "title" and q in bk["author"].lower()
        if q and not (in_title or in_author):
            continue
        hits.append(((bk["title"].lower() != q, not in_title, bk["title"]), bk))
    hits.sort(key=lambda h: h[0])
    return [{k: bk[k] for k in ("book_id", "title", "author", "year", "genre")}
            for _, bk in hits]


@tool
def search_catalogue(world: LibraryWorld, query: str = "",
                     field: Literal["any", "title", "author"] = "any",
                     genre: GENRE = "any") -> dict:
    """Search the catalogue by words in the title or author name; exact title matches first.

    Args:
        query: Words to find, e.g. a title or an author's name; empty lists every book.
        field: Where to look: title, author or any.
        genre: Genre to keep, or any.
    """
    hits = _search(world, query, field, genre)
    out: dict = {"count": len(hits), "results": hits[:MAX_RESULTS]}
    if len(hits) > MAX_RESULTS:
        out["note"] = f"showing {MAX_RESULTS} of {len(hits)}; refine the query or genre"
    if not hits:
        out["note"] = "no books match; try fewer words, field 'any' or genre 'any'"
    return out


def _details(world: LibraryWorld, bk: dict) -> dict:
    active = _active(world, bk["book_id"])
    queue = [r for r in world.reservations if r["book_id"] == bk["book_id"]]
    out = {**bk, "available": bk["copies"] - len(active), "reservations": len(queue)}
    if active and out["available"] == 0:
        out["next_due"] = min(ln["due"] for ln in active)
    return out


@tool
def get_book(world: LibraryWorld, book_id: str) -> dict:
    """A book's details: author, genre, year, pages, copies, copies available now, the
    earliest due date when none are available, and the reservation queue length.

    Args:
        book_id: Book id from search_catalogue, e.g. B1234.
    """
    return _details(world, _book(world, book_id))


@tool
def get_member(world: LibraryWorld, member_id: str) -> dict:
    """A member's membership type, loan period, current loans (with due dates), reservations
    and fines owed.

    Args:
        member_id: Member id, e.g. M1234.
    """
    mb = _member(world, member_id)
    loans = [{"book_id": ln["book_id"], "title": world.books[ln["book_id"]]["title"],
              "due": ln["due"], "overdue": ln["due"] < _iso(TODAY)}
             for ln in world.loans if ln["member_id"] == mb["member_id"]]
    res = [r["book_id"] for r in world.reservations if r["member_id"] == mb["member_id"]]
    return {**mb, "loan_days": PERIOD[mb["type"]], "loan_limit": LOAN_LIMIT, "loans": loans,
            "reservations": res, "today": _iso(TODAY)}


@tool(side_effects=True)
def borrow_book(world: LibraryWorld, member_id: str, book_id: str) -> dict:
    """Lend an available copy of a book to a member, due after the member's loan period.

    Args:
        member_id: Member id, e.g. M1234.
        book_id: Book id from search_catalogue, e.g. B1234.
    """
    mb, bk = _member(world, member_id), _book(world, book_id)
    mid, bid = mb["member_id"], bk["book_id"]
    held = [ln for ln in world.loans if ln["member_id"] == mid]
    if mb["fines_due"] >= FINE_BLOCK:
        raise ToolError(f"member {mid} owes {mb['fines_due']:.2f} in fines (limit "
                        f"{FINE_BLOCK:.2f}) and cannot borrow until they are paid at the desk")
    if len(held) >= LOAN_LIMIT:
        raise ToolError(f"member {mid} already has {LOAN_LIMIT} loans (the limit); return one "
                        "first")
    if any(ln["book_id"] == bid for ln in held):
        raise ToolError(f"member {mid} already has '{bk['title']}' on loan")
    queue = [r for r in world.reservations if r["book_id"] == bid]
    own = next((r for r in queue if r["member_id"] == mid), None)
    ahead = queue.index(own) if own else len(queue)
    if _available(world, bid) - ahead <= 0:
        due = _details(world, bk).get("next_due")
        when = f"; the next copy is due back {due}" if due else ""
        raise ToolError(f"no copy of '{bk['title']}' is free for {mid}{when}; use reserve_book")
    if own:
        world.reservations.remove(own)
    loan = _lend(world, mid, bid, TODAY)
    return {"status": "borrowed", "loan_id": loan["loan_id"], "book_id": bid,
            "title": bk["title"], "member_id": mid, "due_date": loan["due"]}


@tool(side_effects=True)
def return_book(world: LibraryWorld, member_id: str, book_id: str) -> dict:
    """Return a member's loan of a book; late returns are fined 0.25 per day after the due date.

    Args:
        member_id: Member id, e.g. M1234.
        book_id: Book id of the loan, e.g. B1234.
    """
    mb, bk = _member(world, member_id), _book(world, book_id)
    loan = next((ln for ln in world.loans
                 if ln["member_id"] == mb["member_id"] and ln["book_id"] == bk["book_id"]), None)
    if loan is None:
        raise ToolError(f"member {mb['member_id']} has no loan of '{bk['title']}'; see "
                        "get_member for their loans")
    world.loans.remove(loan)
    late = max(0, (TODAY - dt.date.fromisoformat(loan["due"])).days)
    fine = round(late * FINE_PER_DAY, 2)
    mb["fines_due"] = round(mb["fines_due"] + fine, 2)
    return {"status": "returned", "book_id": bk["book_id"], "title": bk["title"],
            "days_late": late, "fine": fine, "fines_due": mb["fines_due"]}


@tool(side_effects=True)
def reserve_book(world: LibraryWorld, member_id: str, book_id: str) -> dict:
    """Put a member in the reservation queue for a book that has no copy available.

    Args:
        member_id: Member id, e.g. M1234.
        book_id: Book id from search_catalogue, e.g. B1234.
    """
    mb, bk = _member(world, member_id), _book(world, book_id)
    mid, bid = mb["member_id"], bk["book_id"]
    queue = [r for r in world.reservations if r["book_id"] == bid]
    if any(r["member_id"] == mid for r in queue):
        raise ToolError(f"member {mid} has already reserved '{bk['title']}'")
    if any(ln["member_id"] == mid and ln["book_id"] == bid for ln in world.loans):
        raise ToolError(f"member {mid} already has '{bk['title']}' on loan")
    if _available(world, bid) - len(queue) > 0:
        raise ToolError(f"'{bk['title']}' has a copy available now; use borrow_book instead")
    world.reservations.append({"book_id": bid, "member_id": mid})
    return {"status": "reserved", "book_id": bid, "title": bk["title"], "member_id": mid,
            "position": len(queue) + 1}


TOOLS = [search_catalogue, get_book, get_member, borrow_book, return_book, reserve_book]


def make_task(rng: np.random.Generator, world: LibraryWorld, seed: int) -> Task:
    kind = int(rng.integers(6))
    books = sorted(world.books)
    if kind in (0, 1):
        bk = world.books[books[int(rng.integers(len(books)))]]
        find = Step("search_catalogue", {"query": bk["title"], "field": "title"})
        if kind == 0:
            if rng.random() < 0.5:
                return Task("", "library", f"Who wrote '{bk['title']}'?", [find],
                            Ref(0, "results.0.author"), answer_is(bk["author"]))
            return Task("", "library", f"In what year was '{bk['title']}' published?", [find],
                        Ref(0, "results.0.year"), answer_is(bk["year"]))
        return Task("", "library", f"How many pages does '{bk['title']}' have?",
                    [find, Step("get_book", {"book_id": Ref(0, "results.0.book_id")})],
                    Ref(1, "pages"), answer_is(bk["pages"]))
    if kind == 2:  # when will a copy be back
        out = [b for b in books if _available(world, b) == 0]
        bk = world.books[out[int(rng.integers(len(out)))]]
        due = _details(world, bk)["next_due"]
        return Task("", "library", f"Every copy of '{bk['title']}' is on loan. What is the earliest "
                    "due date among its copies? Answer as YYYY-MM-DD.",
                    [Step("search_catalogue", {"query": bk["title"], "field": "title"}),
                     Step("get_book", {"book_id": Ref(0, "results.0.book_id")})],
                    Ref(1, "next_due"), answer_is(due))
    members = sorted(world.members)
    if kind == 3:  # return a loan
        loan = world.loans[int(rng.integers(len(world.loans)))]
        mid, bid = loan["member_id"], loan["book_id"]
        k = [ln for ln in world.loans if ln["member_id"] == mid].index(loan)
        fine = round(max(0, (TODAY - dt.date.fromisoformat(loan["due"])).days) * FINE_PER_DAY, 2)
        title = world.books[bid]["title"]

        def returned(w: LibraryWorld) -> bool:
            return not any(ln["member_id"] == mid and ln["book_id"] == bid for ln in w.loans)

        return Task("", "library", f"Member {mid} is returning their copy of '{title}'. Process "
                    "the return and tell me the late fine in dollars (0 if it is on time).",
                    [Step("get_member", {"member_id": mid}),
                     Step("return_book", {"member_id": mid, "book_id": Ref(0, f"loans.{k}.book_id")})],
                    Ref(1, "fine"), all_of(world_has(returned), answer_is(fine)))

    def can_borrow(mid: str, bid: str) -> bool:
        held = [ln for ln in world.loans if ln["member_id"] == mid]
        return (world.members[mid]["fines_due"] < FINE_BLOCK and len(held) < LOAN_LIMIT
                and all(ln["book_id"] != bid for ln in held))

    if kind == 4:  # borrow an available book
        pairs = [(m, b) for m in members for b in books
                 if can_borrow(m, b) and _available(world, b) > 0
                 and not any(r["book_id"] == b for r in world.reservations)]
        mid, bid = pairs[int(rng.integers(len(pairs)))]
        due = _iso(TODAY + dt.timedelta(days=PERIOD[world.members[mid]["type"]]))
        title = world.books[bid]["title"]

        def borrowed(w: LibraryWorld) -> bool:
            return any(ln["member_id"] == mid and ln["book_id"] == bid and ln["due"] == due
                       for ln in w.loans)

        return Task("", "library", f"Member {mid} wants to borrow '{title}'. Check it out for "
                    "them and tell me the due date (YYYY-MM-DD).",
                    [Step("search_catalogue", {"query": title, "field": "title"}),
                     Step("borrow_book", {"member_id": mid, "book_id": Ref(0, "results.0.book_id")})],
                    Ref(1, "due_date"), all_of(world_has(borrowed), answer_is(due)))
    pairs = [(m, b) for m in members for b in books if _available(world, b) == 0
             and not any(ln["member_id"] == m and ln["book_id"] == b for ln in world.loans)
             and not any(r["member_id"] == m and r["book_id"] == b for r in world.reservations)]
    mid, bid = pairs[int(rng.integers(len(pairs)))]
    title = world.books[bid]["title"]
    position = sum(r["book_id"] == bid for r in world.reservations) + 1

    def reserved(w: LibraryWorld) -> bool:
        return any(r["member_id"] == mid and r["book_id"] == bid for r in w.reservations)

    return Task("", "library", f"Every copy of '{title}' is out. Reserve it for member {mid} and "
                "tell me their position in the reservation queue.",
                [Step("search_catalogue", {"query": title, "field": "title"}),
                 Step("reserve_book", {"member_id": mid, "book_id": Ref(0, "results.0.book_id")})],
                Ref(1, "position"), all_of(world_has(reserved), answer_is(position)))


DOMAIN = Domain(
    name="library",
    title="Library",
    description="Library catalogue search, book availability, and borrowing, returns and holds.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"search_catalogue.field": "enum", "search_catalogue.genre": "enum",
           "get_book.book_id": "id", "get_member.member_id": "id",
           "borrow_book.member_id": "id", "borrow_book.book_id": "id",
           "return_book.member_id": "id", "return_book.book_id": "id",
           "reserve_book.member_id": "id", "reserve_book.book_id": "id"},
)
