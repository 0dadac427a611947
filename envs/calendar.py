"""Calendar: a two-week work calendar to search, inspect, book into and cancel from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np

from tool_gym import (
    Domain,
    Ref,
    Step,
    Task,
    ToolError,
    World,
    all_of,
    answer_in_all,
    answer_is,
    tool,
    world_has,
)

TOPICS = ["Budget review", "Sprint planning", "Design critique", "Quarterly sync",
          "Hiring debrief", "Roadmap session", "Vendor call", "Security briefing",
          "Onboarding chat", "Product demo", "Retrospective", "Strategy workshop"]
TEAMS = ["Marketing", "Finance", "Legal", "Sales", "Platform team", "Mobile team", "Support",
         "Research", "Operations", "Data team"]
NEW_TOPICS = ["Coffee chat", "Mentoring session", "Interview prep", "Lunch", "Catch-up",
              "Code review", "Pairing session", "Career talk"]
PEOPLE = ["Alice Chen", "Bruno Silva", "Chloe Martin", "Dev Patel", "Elena Rossi", "Farid Haddad",
          "Grace Okafor", "Hiro Tanaka", "Ines Garcia", "Jonas Berg", "Kemi Adeyemi", "Liam Walsh",
          "Mara Novak", "Nils Larsen", "Olga Petrova", "Priya Nair"]
ROOMS = ["Aurora Room", "Birch Room", "Cedar Room", "Delta Lab", "Harbor Hall", "Video call"]
FIRST_DAY = dt.date(2026, 1, 1)  # each world's two weeks start somewhere in 2026
DAYS = 14
DAY_START, DAY_END = 9 * 60, 18 * 60  # working hours used by find_free_slots
N_EVENTS = 26
MAX_LIST = 12
DATE = Annotated[str, {"pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "date as YYYY-MM-DD"}]
TIME = Annotated[str, {"pattern": r"^\d{2}:\d{2}$", "description": "24-hour time as HH:MM"}]


@dataclass
class CalendarWorld(World):
    start: str = "2026-06-01"  # first day the calendar covers; it covers DAYS days
    events: dict[str, dict] = field(default_factory=dict)  # event_id -> event
    next_id: int = 1

    def day(self, i: int) -> str:
        return (dt.date.fromisoformat(self.start) + dt.timedelta(days=i)).isoformat()


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _mins(text: str) -> int:
    return int(text[:2]) * 60 + int(text[3:5])


def make_world(rng: np.random.Generator) -> CalendarWorld:
    w = CalendarWorld(start=(FIRST_DAY + dt.timedelta(days=int(rng.integers(340)))).isoformat())
    combos = rng.choice(len(TOPICS) * len(TEAMS), size=N_EVENTS, replace=False)
    days = rng.integers(0, DAYS, size=N_EVENTS)
    slots = rng.integers(0, 16, size=N_EVENTS)  # half-hour slots from 09:00
    lengths = rng.integers(1, 4, size=N_EVENTS) * 30
    rooms = rng.integers(0, len(ROOMS), size=N_EVENTS)
    people = rng.integers(0, len(PEOPLE), size=(N_EVENTS, 3))
    n_people = rng.integers(1, 4, size=N_EVENTS)
    ids = rng.choice(9000, size=N_EVENTS, replace=False) + 1000
    busy: dict[int, list[tuple[int, int]]] = {}
    for i in range(N_EVENTS):
        day, length = int(days[i]), int(lengths[i])
        taken = busy.setdefault(day, [])
        for k in range(16):
            s = DAY_START + 30 * ((int(slots[i]) + k) % 16)
            e = s + length
            if e <= DAY_END and all(e <= a or s >= b for a, b in taken):
                break
        else:
            continue
        taken.append((s, e))
        attendees: list[str] = []
        for p in people[i, : int(n_people[i])]:
            if PEOPLE[int(p)] not in attendees:
                attendees.append(PEOPLE[int(p)])
        c = int(combos[i])
        eid = f"evt-{int(ids[i])}"
        w.events[eid] = {
            "event_id": eid,
            "title": f"{TOPICS[c // len(TEAMS)]} with {TEAMS[c % len(TEAMS)]}",
            "date": w.day(day),
            "start": _hhmm(s),
            "end": _hhmm(e),
            "location": ROOMS[int(rooms[i])],
            "attendees": attendees,
        }
    return w


def _date(world: CalendarWorld, date: str) -> str:
    first, last = world.start, world.day(DAYS - 1)
    try:
        d = dt.date.fromisoformat(date.strip()).isoformat()
    except ValueError:
        raise ToolError(f"'{date}' is not a valid date; use YYYY-MM-DD, e.g. {first}") from None
    if not first <= d <= last:
        raise ToolError(f"no calendar for {d}; the calendar covers {first} to {last}")
    return d


def _time(text: str) -> int:
    t = text.strip()
    if len(t) != 5 or t[2] != ":" or not (t[:2] + t[3:]).isdigit():
        raise ToolError(f"'{text}' is not a valid time; use 24-hour HH:MM, e.g. 14:30")
    h, m = int(t[:2]), int(t[3:])
    if h > 23 or m > 59:
        raise ToolError(f"'{text}' is not a valid time; hours 00-23 and minutes 00-59")
    return h * 60 + m


def _event(world: CalendarWorld, event_id: str) -> dict:
    ev = world.events.get(event_id.strip())
    if ev is None:
        raise ToolError(f"unknown event id '{event_id}'; call search_events or list_events to "
                        "find event ids")
    return ev


def _day_events(world: CalendarWorld, date: str) -> list[dict]:
    return sorted((e for e in world.events.values() if e["date"] == date),
                  key=lambda e: (e["start"], e["end"], e["event_id"]))


def _brief(ev: dict) -> dict:
    return {k: ev[k] for k in ("event_id", "title", "date", "start", "end")}


@tool
def list_events(world: CalendarWorld, date: DATE, attendee: str = "") -> dict:
    """List the events on one date in start-time order, optionally only those a person attends.

    Args:
        date: Day as YYYY-MM-DD.
        attendee: Full name of an attendee, e.g. Alice Chen; empty for all events.
    """
    day = _date(world, date)
    events = _day_events(world, day)
    who = attendee.strip().lower()
    if who:
        events = [e for e in events if who in (a.lower() for a in e["attendees"])]
    return {"date": day, "count": len(events), "events": [_brief(e) for e in events[:MAX_LIST]]}


@tool
def search_events(world: CalendarWorld, query: str) -> list[dict]:
    """Find events whose title contains some text (case-insensitive), soonest first.

    Args:
        query: Text to look for in event titles, e.g. Budget review.
    """
    q = " ".join(query.lower().split())
    if not q:
        raise ToolError("query is empty; give part of an event title, e.g. 'Budget review'")
    hits = sorted((e for e in world.events.values() if q in e["title"].lower()),
                  key=lambda e: (e["date"], e["start"], e["event_id"]))
    return [_brief(e) for e in hits[:MAX_LIST]]


@tool
def get_event(world: CalendarWorld, event_id: str) -> dict:
    """Full details of one event: time, location and attendees.

    Args:
        event_id: Event id from list_events or search_events, e.g. evt-1234.
    """
    ev = _event(world, event_id)
    return {**ev, "attendees": list(ev["attendees"]),
            "duration_minutes": _mins(ev["end"]) - _mins(ev["start"])}


@tool
def find_free_slots(world: CalendarWorld, date: DATE, duration_minutes: int) -> dict:
    """Free periods between 09:00 and 18:00 on a date that are long enough for a meeting.

    Args:
        date: Day as YYYY-MM-DD.
        duration_minutes: Meeting length in minutes (1 to 540).
    """
    day = _date(world, date)
    if not 1 <= duration_minutes <= DAY_END - DAY_START:
        raise ToolError(f"duration_minutes must be between 1 and {DAY_END - DAY_START}, "
                        f"got {duration_minutes}")
    free, cursor = [], DAY_START
    for ev in _day_events(world, day):
        s, e = _mins(ev["start"]), _mins(ev["end"])
        if s - cursor >= duration_minutes:
            free.append({"start": _hhmm(cursor), "end": _hhmm(min(s, DAY_END))})
        cursor = max(cursor, e)
    if DAY_END - cursor >= duration_minutes:
        free.append({"start": _hhmm(cursor), "end": _hhmm(DAY_END)})
    return {"date": day, "duration_minutes": duration_minutes, "slots": free}


@tool(side_effects=True)
def create_event(
    world: CalendarWorld,
    title: str,
    date: DATE,
    start_time: TIME,
    duration_minutes: int,
    attendees: list[str] | None = None,
    location: str = "Video call",
) -> dict:
    """Book a new event; it must not overlap an existing event.

    Args:
        title: Event title, e.g. Coffee chat with Alice.
        date: Day as YYYY-MM-DD.
        start_time: Start as 24-hour HH:MM.
        duration_minutes: Length in minutes (5 to 720); the event must end by midnight.
        attendees: Full names of the people invited; empty for none.
        location: Room name or Video call.
    """
    name = " ".join(title.split())
    if not name or len(name) > 120:
        raise ToolError(f"title must be 1 to 120 characters, got {len(name)}")
    day = _date(world, date)
    start = _time(start_time)
    if not 5 <= duration_minutes <= 720:
        raise ToolError(f"duration_minutes must be between 5 and 720, got {duration_minutes}")
    end = start + duration_minutes
    if end > 24 * 60:
        raise ToolError(f"event would end after midnight ({_hhmm(start)} + {duration_minutes} "
                        "min); choose an earlier start or a shorter duration")
    for ev in _day_events(world, day):
        if start < _mins(ev["end"]) and _mins(ev["start"]) < end:
            raise ToolError(f"{_hhmm(start)}-{_hhmm(end)} overlaps '{ev['title']}' "
                            f"({ev['start']}-{ev['end']}); call find_free_slots for open times")
    people = [" ".join(a.split()) for a in attendees or []]
    if len(people) > 20 or any(not 0 < len(a) <= 60 for a in people):
        raise ToolError("attendees must be at most 20 full names of 1 to 60 characters each, "
                        "e.g. Alice Chen")
    place = " ".join(location.split()) or "Video call"
    if len(place) > 60:
        raise ToolError("location must be at most 60 characters")
    eid = f"new-{world.next_id}"
    world.next_id += 1
    world.events[eid] = {"event_id": eid, "title": name, "date": day, "start": _hhmm(start),
                         "end": _hhmm(end), "location": place,
                         "attendees": people}
    return {"status": "created", **_brief(world.events[eid])}


@tool(side_effects=True)
def cancel_event(world: CalendarWorld, event_id: str) -> dict:
    """Cancel (delete) an event.

    Args:
        event_id: Event id from list_events or search_events, e.g. evt-1234.
    """
    ev = _event(world, event_id)
    del world.events[ev["event_id"]]
    return {"status": "cancelled", **_brief(ev)}


TOOLS = [list_events, search_events, get_event, find_free_slots, create_event, cancel_event]


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(len(items)))]


def _has_event(title: str, date: str, start: str, end: str, person: str = "") -> object:
    def pred(w: CalendarWorld) -> bool:
        return any(e["title"].lower() == title.lower() and e["date"] == date
                   and e["start"] == start and e["end"] == end
                   and (not person or person.lower() in (a.lower() for a in e["attendees"]))
                   for e in w.events.values())

    return pred


def _time_is(hhmm: str) -> object:
    """The answer names the time as 09:30 or 9:30."""
    forms = [answer_is(hhmm), answer_is(hhmm.lstrip("0") or "0:00")]

    def check(answer: str | None, world: World) -> bool:
        return any(f(answer, world) for f in forms)

    return check


def make_task(rng: np.random.Generator, world: CalendarWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    ev = world.events[_pick(rng, sorted(world.events))]
    title, date = ev["title"], ev["date"]
    if kind == 0:
        return Task("", "calendar", f"Where is the '{title}' meeting on {date} held?",
                    [Step("search_events", {"query": title}),
                     Step("get_event", {"event_id": Ref(0, "0.event_id")})],
                    Ref(1, "location"), answer_is(ev["location"]))
    if kind == 1:
        n = len(_day_events(world, date))
        return Task("", "calendar", f"How many events are on my calendar on {date}?",
                    [Step("list_events", {"date": date})], Ref(0, "count"), answer_is(n))
    if kind == 2:
        eid, count = ev["event_id"], len(world.events)

        def cancelled(w: CalendarWorld) -> bool:
            return eid not in w.events and len(w.events) == count - 1

        return Task("", "calendar", f"Cancel my '{title}' meeting on {date}, then say done.",
                    [Step("search_events", {"query": title}),
                     Step("cancel_event", {"event_id": Ref(0, "0.event_id")})],
                    "done", world_has(cancelled))
    if kind in (3, 5):
        person = str(_pick(rng, PEOPLE))
        new_title = f"{_pick(rng, NEW_TOPICS)} with {person.split()[0]}"
        day = world.day(int(rng.integers(DAYS)))
        dur = int(_pick(rng, [30, 45, 60, 90]))
        slots = find_free_slots.fn(world, day, dur)["slots"]
        if not slots:
            dur = 30
            slots = find_free_slots.fn(world, day, dur)["slots"]
        if kind == 3:
            start = slots[0]["start"]
            end = _hhmm(_mins(start) + dur)
            return Task("", "calendar", f"Book a {dur}-minute meeting titled '{new_title}' on "
                        f"{day} at the earliest time that is free between 09:00 and 18:00, "
                        "then tell me its start time.",
                        [Step("find_free_slots", {"date": day, "duration_minutes": dur}),
                         Step("create_event", {"title": new_title, "date": day,
                                               "start_time": Ref(0, "slots.0.start"),
                                               "duration_minutes": dur})],
                        Ref(1, "start"),
                        all_of(_time_is(start), world_has(_has_event(new_title, day, start, end))))
        gap = slots[int(rng.integers(len(slots)))]
        lo, hi = _mins(gap["start"]), _mins(gap["end"]) - dur
        choices = [m for m in range(lo, hi + 1) if m % 15 == 0] or [lo]
        s = choices[int(rng.integers(len(choices)))]
        start, end = _hhmm(s), _hhmm(s + dur)
        return Task("", "calendar", f"Put '{new_title}' on my calendar on {day} from {start} to "
                    f"{end} with {person} attending, then say done.",
                    [Step("create_event", {"title": new_title, "date": day, "start_time": start,
                                           "duration_minutes": dur, "attendees": [person]})],
                    "done", world_has(_has_event(new_title, day, start, end, person)))
    if kind == 4:
        names = ev["attendees"]
        return Task("", "calendar", f"Who is attending '{title}' on {date}? List everyone.",
                    [Step("search_events", {"query": title}),
                     Step("get_event", {"event_id": Ref(0, "0.event_id")})],
                    ", ".join(names), answer_in_all(names))
    if kind == 6:
        day_events = _day_events(world, date)
        last = max(day_events, key=lambda e: e["end"])
        idx = day_events.index(last)
        return Task("", "calendar", f"At what time does my last event on {date} end?",
                    [Step("list_events", {"date": date})], Ref(0, f"events.{idx}.end"),
                    _time_is(last["end"]))
    person = ev["attendees"][0]
    first = list_events.fn(world, date, person)["events"][0]
    return Task("", "calendar", f"What time does my first meeting with {person} on {date} start?",
                [Step("list_events", {"date": date, "attendee": person})],
                Ref(0, "events.0.start"), _time_is(first["start"]))


DOMAIN = Domain(
    name="calendar",
    title="Calendar",
    description="A two-week work calendar: search events, find free time, book and cancel.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"list_events.date": "date", "find_free_slots.date": "date",
           "find_free_slots.duration_minutes": "unit:min", "create_event.date": "date",
           "create_event.start_time": "time", "create_event.duration_minutes": "unit:min",
           "get_event.event_id": "id", "cancel_event.event_id": "id"},
    synonyms={"event": ["meeting", "appointment"], "events": ["meetings", "appointments"],
              "slots": ["windows", "openings"], "free": ["open", "available"],
              "time": ["hour", "clock"], "attendees": ["guests", "invitees"]},
)
