"""Messaging: contacts and chat threads to search, read, answer and mark as read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tool_gym import Domain, Ref, Step, Task, ToolError, World, answer_is, tool, world_has

FIRST = ["Alice", "Bruno", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kemi", "Liam", "Mara", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tomas"]
LAST = ["Chen", "Silva", "Martin", "Patel", "Rossi", "Haddad", "Okafor", "Tanaka", "Garcia",
        "Berg", "Adeyemi", "Walsh", "Novak", "Larsen", "Petrova", "Nair"]
PLACES = ["Blue Door Cafe", "Harbor Market", "Lantern Bookshop", "Maple Park gate",
          "Old Mill Bakery", "Riverside Pier", "Station Clock", "Tin Cup Diner", "Union Square",
          "Velvet Lounge", "West Gallery", "Copper Kettle"]
FACTS = {  # kind -> (what the user asks for, message template)
    "code": ("door code", "The door code is {v}, see you inside."),
    "place": ("meeting place", "Let's meet at {v} tomorrow."),
    "flight": ("flight number", "My flight is {v}, landing in the evening."),
    "tracking": ("parcel tracking number", "Your parcel's tracking number is {v}."),
}
FILLER_IN = ["Thanks for yesterday!", "How was your weekend?", "Are you free later?",
             "Did you see the game?", "Call me when you can.", "Running a bit late today.",
             "Happy Friday!", "Got your note, thanks."]
FILLER_OUT = ["Sure, sounds good.", "On my way.", "Talk soon!", "Thanks!", "Yes, I'll be there.",
              "Let me check and get back to you."]
REPLIES = ["Thanks, got it", "Running {n} minutes late", "See you at {t}", "Can we move it to {t}?",
           "I will call you at {t}", "Bring {n} chairs please", "Table for {n} is booked"]
AIRLINES = ["LH", "BA", "AF", "KL", "UA", "QF"]
N_CONTACTS = 12
MAX_LIST = 10
NOW = dt.datetime(2026, 6, 12, 18, 0)


@dataclass
class MessagingWorld(World):
    contacts: dict[str, dict] = field(default_factory=dict)  # contact_id -> contact
    messages: list[dict] = field(default_factory=list)  # oldest first
    facts: dict[str, dict] = field(default_factory=dict)  # contact_id -> {"kind", "value"}
    next_id: int = 1


def _fact_value(kind: str, r: int) -> str:
    if kind == "code":
        return str(1000 + r % 9000)
    if kind == "place":
        return PLACES[r % len(PLACES)]
    if kind == "flight":
        return f"{AIRLINES[r % len(AIRLINES)]} {100 + r % 900}"
    return f"TRK-{10000 + r % 90000}"


def make_world(rng: np.random.Generator) -> MessagingWorld:
    w = MessagingWorld()
    firsts = rng.choice(len(FIRST), size=N_CONTACTS, replace=False)
    lasts = rng.integers(0, len(LAST), size=N_CONTACTS)
    cids = rng.choice(900, size=N_CONTACTS, replace=False) + 100
    n_msgs = rng.integers(2, 8, size=N_CONTACTS)
    kinds = rng.integers(0, len(FACTS), size=N_CONTACTS)
    values = rng.integers(0, 10**6, size=N_CONTACTS)
    places = rng.permutation(len(PLACES))
    fills = rng.integers(0, 1000, size=(N_CONTACTS, 8))
    n_unread = rng.integers(0, 4, size=N_CONTACTS)
    hours = np.sort(rng.integers(1, 24 * 10, size=(N_CONTACTS, 8)), axis=1)[:, ::-1]
    fact_at = rng.integers(0, 1000, size=N_CONTACTS)
    thread: list[dict] = []
    seen_values: set[str] = set()
    for i in range(N_CONTACTS):
        name = f"{FIRST[int(firsts[i])]} {LAST[int(lasts[i])]}"
        cid = f"c{int(cids[i])}"
        w.contacts[cid] = {"contact_id": cid, "name": name,
                           "handle": "@" + name.lower().replace(" ", ".")}
        kind = list(FACTS)[int(kinds[i])]
        value = (PLACES[int(places[i])] if kind == "place"
                 else _fact_value(kind, int(values[i]) + i))
        if any(value in v or v in value for v in seen_values):  # one search hit per fact
            kind, value = "place", PLACES[int(places[i])]
        seen_values.add(value)
        w.facts[cid] = {"kind": kind, "value": value}
        n = int(n_msgs[i])
        fact_pos = int(fact_at[i]) % n
        for j in range(n):
            incoming = j == fact_pos or (j + i) % 3 != 0
            if j == fact_pos:
                text = FACTS[kind][1].format(v=value)
            elif incoming:
                text = FILLER_IN[int(fills[i, j]) % len(FILLER_IN)]
            else:
                text = FILLER_OUT[int(fills[i, j]) % len(FILLER_OUT)]
            when = NOW - dt.timedelta(hours=int(hours[i, j]), minutes=int(fills[i, j]) % 60)
            thread.append({"contact_id": cid, "direction": "in" if incoming else "out",
                           "text": text, "time": when.strftime("%Y-%m-%d %H:%M"),
                           "read": True})
        unread = int(n_unread[i])
        for m in [m for m in thread[-n:] if m["direction"] == "in"][::-1][:unread]:
            m["read"] = False
    thread.sort(key=lambda m: (m["time"], m["contact_id"]))
    for k, m in enumerate(thread):
        m["message_id"] = f"m{k + 1}"
    w.messages = thread
    w.next_id = len(thread) + 1
    return w


def _contact(world: MessagingWorld, contact_id: str) -> dict:
    c = world.contacts.get(contact_id.strip())
    if c is None:
        raise ToolError(f"unknown contact id '{contact_id}'; call search_contacts with a name "
                        "to find contact ids")
    return c


def _view(world: MessagingWorld, m: dict) -> dict:
    return {"message_id": m["message_id"], "contact_id": m["contact_id"],
            "name": world.contacts[m["contact_id"]]["name"], "direction": m["direction"],
            "text": m["text"], "time": m["time"]}


def _unread(world: MessagingWorld, cid: str) -> int:
    return sum(1 for m in world.messages if m["contact_id"] == cid and not m["read"])


@tool
def search_contacts(world: MessagingWorld, name: str) -> list[dict]:
    """Find contacts whose name or handle contains some text (case-insensitive).

    Args:
        name: Part of a contact's name, e.g. Alice or Alice Chen.
    """
    q = " ".join(name.lower().split())
    if not q:
        raise ToolError("name is empty; give part of a contact's name, e.g. 'Alice'")
    hits = [c for c in world.contacts.values()
            if q in c["name"].lower() or q.lstrip("@") in c["handle"]]
    return [dict(c) for c in sorted(hits, key=lambda c: c["name"])[:MAX_LIST]]


@tool
def list_conversations(world: MessagingWorld) -> dict:
    """List conversations, most recent first, with unread counts and the total unread."""
    last: dict[str, str] = {}
    for m in world.messages:
        last[m["contact_id"]] = m["time"]
    convs = [{"contact_id": cid, "name": world.contacts[cid]["name"],
              "unread": _unread(world, cid), "last_message_time": t}
             for cid, t in sorted(last.items(), key=lambda kv: kv[1], reverse=True)]
    return {"total_unread": sum(c["unread"] for c in convs), "conversations": convs[:15]}


@tool
def get_messages(world: MessagingWorld, contact_id: str, limit: int = 10) -> dict:
    """The latest messages exchanged with one contact, oldest first, and how many are unread.

    Args:
        contact_id: Contact id from search_contacts, e.g. c123.
        limit: How many of the latest messages to return (1 to 20).
    """
    c = _contact(world, contact_id)
    if not 1 <= limit <= 20:
        raise ToolError(f"limit must be between 1 and 20, got {limit}")
    thread = [m for m in world.messages if m["contact_id"] == c["contact_id"]]
    return {"contact_id": c["contact_id"], "name": c["name"],
            "unread": _unread(world, c["contact_id"]),
            "messages": [{k: m[k] for k in ("message_id", "direction", "text", "time", "read")}
                         for m in thread[-limit:]]}


@tool
def search_messages(
    world: MessagingWorld, keyword: str, direction: Literal["any", "in", "out"] = "any"
) -> list[dict]:
    """Find messages containing some text (case-insensitive), newest first.

    Args:
        keyword: Text to look for, e.g. tracking number or a place name.
        direction: in (received), out (sent) or any.
    """
    q = " ".join(keyword.lower().split())
    if not q:
        raise ToolError("keyword is empty; give some text to search for")
    hits = [m for m in world.messages if q in m["text"].lower()
            and direction in ("any", m["direction"])]
    return [_view(world, m) for m in hits[::-1][:MAX_LIST]]


@tool(side_effects=True)
def send_message(world: MessagingWorld, contact_id: str, text: str) -> dict:
    """Send a text message to a contact.

    Args:
        contact_id: Contact id from search_contacts, e.g. c123.
        text: Message text (1 to 500 characters).
    """
    c = _contact(world, contact_id)
    body = text.strip()
    if not 0 < len(body) <= 500:
        raise ToolError(f"text must be 1 to 500 characters, got {len(body)}")
    m = {"message_id": f"m{world.next_id}", "contact_id": c["contact_id"], "direction": "out",
         "text": body, "time": NOW.strftime("%Y-%m-%d %H:%M"), "read": True}
    world.next_id += 1
    world.messages.append(m)
    return {"status": "sent", **_view(world, m)}


@tool(side_effects=True)
def mark_as_read(world: MessagingWorld, contact_id: str) -> dict:
    """Mark every message from a contact as read.

    Args:
        contact_id: Contact id from search_contacts, e.g. c123.
    """
    c = _contact(world, contact_id)
    n = 0
    for m in world.messages:
        if m["contact_id"] == c["contact_id"] and not m["read"]:
            m["read"] = True
            n += 1
    return {"contact_id": c["contact_id"], "name": c["name"], "marked_read": n}


TOOLS = [search_contacts, list_conversations, get_messages, search_messages, send_message,
         mark_as_read]


def _norm(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch.isalnum() or ch.isspace()).split())


def _sent(cid: str, text: str, before: int) -> object:
    want = _norm(text)

    def pred(w: MessagingWorld) -> bool:
        return any(m["contact_id"] == cid and m["direction"] == "out" and want in _norm(m["text"])
                   for m in w.messages[before:])

    return pred


def make_task(rng: np.random.Generator, world: MessagingWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    cids = sorted(world.contacts)
    cid = cids[int(rng.integers(len(cids)))]
    name = world.contacts[cid]["name"]
    fact = world.facts[cid]
    reply = REPLIES[int(rng.integers(len(REPLIES)))].format(
        n=int(rng.integers(2, 40)), t=f"{int(rng.integers(8, 21))}:{15 * int(rng.integers(4)):02d}")
    find = Step("search_contacts", {"name": name})
    if kind == 0:
        return Task("", "messaging", f"Send {name} a message saying exactly: \"{reply}\". "
                    "Then say done.",
                    [find, Step("send_message", {"contact_id": Ref(0, "0.contact_id"),
                                                 "text": reply})],
                    "done", world_has(_sent(cid, reply, len(world.messages))))
    if kind == 1:
        what = FACTS[fact["kind"]][0]
        return Task("", "messaging", f"What {what} did {name} send me?",
                    [find, Step("get_messages", {"contact_id": Ref(0, "0.contact_id")})],
                    fact["value"], answer_is(fact["value"]))
    if kind == 7:
        other = cids[(cids.index(cid) + 1 + int(rng.integers(len(cids) - 1))) % len(cids)]
        to = world.contacts[other]["name"]
        what = FACTS[fact["kind"]][0]
        return Task("", "messaging", f"Find the {what} that {name} sent me and forward it to {to} "
                    "in a message, then say done.",
                    [find, Step("get_messages", {"contact_id": Ref(0, "0.contact_id")}),
                     Step("search_contacts", {"name": to}),
                     Step("send_message", {"contact_id": Ref(2, "0.contact_id"),
                                           "text": f"{name}'s {what}: {fact['value']}"})],
                    "done", world_has(_sent(other, fact["value"], len(world.messages))))
    unread = [c for c in cids if _unread(world, c) > 0]
    if kind in (2, 5) and unread:
        cid = unread[int(rng.integers(len(unread)))]
        name = world.contacts[cid]["name"]
        find = Step("search_contacts", {"name": name})
        if kind == 2:
            return Task("", "messaging", f"How many unread messages do I have from {name}?",
                        [find, Step("get_messages", {"contact_id": Ref(0, "0.contact_id")})],
                        Ref(1, "unread"), answer_is(_unread(world, cid)))
        others = {c: _unread(world, c) for c in cids if c != cid}

        def all_read(w: MessagingWorld) -> bool:
            return _unread(w, cid) == 0 and all(_unread(w, c) == n for c, n in others.items())

        return Task("", "messaging", f"Mark all messages from {name} as read, then say done.",
                    [find, Step("mark_as_read", {"contact_id": Ref(0, "0.contact_id")})],
                    "done", world_has(all_read))
    value = fact["value"]
    mention = {"code": f"the door code {value}", "place": f"meeting at {value}",
               "flight": f"flight {value}",
               "tracking": f"the tracking number {value}"}[fact["kind"]]
    if kind == 3:
        return Task("", "messaging", f"Which of my contacts messaged me about {mention}? "
                    "Give their full name.",
                    [Step("search_messages", {"keyword": value})], Ref(0, "0.name"),
                    answer_is(name))
    if kind == 4:
        return Task("", "messaging", f"Someone messaged me about {mention}. Reply to that person "
                    f"with the message \"{reply}\", then say done.",
                    [Step("search_messages", {"keyword": value}),
                     Step("send_message", {"contact_id": Ref(0, "0.contact_id"), "text": reply})],
                    "done", world_has(_sent(cid, reply, len(world.messages))))
    total = sum(_unread(world, c) for c in cids)
    if total == 0:  # every thread is read: ask for the latest message time instead
        last = world.messages[-1]
        who = world.contacts[last["contact_id"]]["name"]
        return Task("", "messaging", "Who sent or received my most recent message? Give the "
                    "contact's full name.", [Step("list_conversations", {})],
                    Ref(0, "conversations.0.name"), answer_is(who))
    return Task("", "messaging", "How many unread messages do I have in total across all "
                "conversations?", [Step("list_conversations", {})], Ref(0, "total_unread"),
                answer_is(total))


DOMAIN = Domain(
    name="messaging",
    title="Messaging",
    description="Contacts and chat threads: search, read, send and mark messages as read.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"get_messages.contact_id": "id", "send_message.contact_id": "id",
           "mark_as_read.contact_id": "id", "search_messages.direction": "enum",
           "get_messages.limit": "unit:messages"},
    synonyms={"message": ["note", "text"], "messages": ["notes", "texts"],
              "contact": ["person", "peer"], "contacts": ["people", "peers"],
              "conversations": ["threads", "chats"], "keyword": ["term", "needle"],
              "direction": ["flow", "way"]},
)
