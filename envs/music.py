"""Music: a personal music library with track search, albums, play counts and playlists.

The world is a seeded library of albums and their tracks (with play counts) and a few user
playlists; creating playlists and adding or removing their tracks change it, and the order
of a playlist's tracks is part of the state.
"""

from __future__ import annotations

import math
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

WORD_A = ["Midnight", "Golden", "Electric", "Paper", "Velvet", "Silver", "Broken", "Wild",
          "Fading", "Summer", "Hollow", "Crystal", "Restless", "Lonely", "Burning", "Neon"]
WORD_B = ["Avenue", "Heartbeat", "Echoes", "Skyline", "Daydream", "Satellite", "Harbour",
          "Parade", "Mirage", "Lullaby", "Highway", "Rain", "Fever", "Horizon", "Static",
          "Ocean"]
TRACK_TITLES = [f"{a} {b}" for a in WORD_A for b in WORD_B]
ALBUM_A = ["Songs from", "Nights in", "Letters to", "Postcards from", "Dreams of", "Tales of",
           "Live in"]
ALBUM_B = ["Lisbon", "the Valley", "Harlem", "Kyoto", "the Coast", "Marrakesh", "Reykjavik",
           "the Old Town", "Havana", "Brooklyn"]
ALBUM_TITLES = [f"{a} {b}" for a in ALBUM_A for b in ALBUM_B]
FIRST = ["Mara", "Tobias", "Lucia", "Desmond", "Anouk", "Rafael", "Yara", "Casper", "Ines",
         "Malik", "Freya", "Jonah"]
LAST = ["Quinn", "Okoye", "Santos", "Hale", "Verhoeven", "Moreno", "Lind", "Abara", "Castell",
        "Whitlock", "Nakamura", "Reyes"]
BANDS = ["The Velvet Owls", "Northbound", "The Glasshouse Club", "The Lantern Society",
         "Copper Tide", "Saint Juniper", "Lantern Choir", "Moonlit Radio"]
GENRES = ["rock", "pop", "jazz", "hip-hop", "classical", "electronic", "folk", "soul"]
GENRE = Literal["any", "rock", "pop", "jazz", "hip-hop", "classical", "electronic", "folk",
                "soul"]
PLAYLIST_NAMES = ["Road Trip", "Focus", "Sunday Morning", "Workout", "Rainy Day",
                  "Dinner Party", "Late Night", "Study Session"]
NEW_NAMES = ["Chill Evenings", "Summer Party", "Morning Commute", "Deep Focus", "Throwbacks",
             "Kitchen Grooves", "Sleepy Time", "Gym Mix", "Weekend Vibes", "Long Drive",
             "Coffee Shop", "Beach Days"]
N_ALBUMS = 8
N_ARTISTS = 6
N_PLAYLISTS = 3
MAX_RESULTS = 8
MAX_TOP = 20
MAX_PLAYLIST = 50


@dataclass
class MusicWorld(World):
    tracks: dict[str, dict] = field(default_factory=dict)  # track id -> track
    albums: dict[str, dict] = field(default_factory=dict)  # album id -> album (track ids in order)
    playlists: dict[str, dict] = field(default_factory=dict)  # playlist id -> name, track ids
    next_playlist: int = 10


def make_world(rng: np.random.Generator) -> MusicWorld:
    w = MusicWorld()
    people = rng.permutation(len(FIRST) * len(LAST))[:N_ARTISTS].tolist()
    artists = [f"{FIRST[p // len(LAST)]} {LAST[p % len(LAST)]}" for p in people]
    bands = rng.permutation(len(BANDS))[: N_ARTISTS // 2].tolist()
    artists = [BANDS[b] for b in bands] + artists[: N_ARTISTS - len(bands)]
    album_titles = rng.permutation(len(ALBUM_TITLES))[:N_ALBUMS].tolist()
    album_ids = (rng.permutation(900)[:N_ALBUMS] + 100).tolist()
    sizes = rng.integers(5, 9, N_ALBUMS).tolist()
    n_tracks = sum(sizes)
    titles = rng.permutation(len(TRACK_TITLES))[:n_tracks].tolist()
    track_ids = (rng.permutation(9000)[:n_tracks] + 1000).tolist()
    plays = (rng.permutation(600)[:n_tracks] + 1).tolist()  # distinct: rankings are unambiguous
    durations = rng.integers(95, 481, n_tracks).tolist()
    a = rng.integers(0, 1 << 30, (N_ALBUMS, 3)).tolist()
    k = 0
    for i in range(N_ALBUMS):
        aid = f"AL{album_ids[i]}"
        artist = artists[i % N_ARTISTS] if i < N_ARTISTS else artists[a[i][0] % N_ARTISTS]
        album = {"album_id": aid, "title": ALBUM_TITLES[album_titles[i]], "artist": artist,
                 "year": 1965 + a[i][1] % 61, "genre": GENRES[a[i][2] % len(GENRES)],
                 "track_ids": []}
        for _ in range(sizes[i]):
            tid = f"T{track_ids[k]}"
            w.tracks[tid] = {"track_id": tid, "title": TRACK_TITLES[titles[k]], "artist": artist,
                             "album": album["title"], "album_id": aid,
                             "duration_seconds": durations[k], "genre": album["genre"],
                             "plays": plays[k]}
            album["track_ids"].append(tid)
            k += 1
        w.albums[aid] = album
    names = rng.permutation(len(PLAYLIST_NAMES))[:N_PLAYLISTS].tolist()
    pids = sorted((rng.permutation(60)[:N_PLAYLISTS] + 10).tolist())
    all_ids = list(w.tracks)
    for j in range(N_PLAYLISTS):
        size = int(rng.integers(3, 10))
        picks = rng.permutation(len(all_ids))[:size].tolist()
        pid = f"P{pids[j]}"
        w.playlists[pid] = {"playlist_id": pid, "name": PLAYLIST_NAMES[names[j]],
                            "track_ids": [all_ids[t] for t in picks]}
    w.next_playlist = pids[-1] + 1
    return w


def _track(world: MusicWorld, track_id: str) -> dict:
    return lookup_id(world.tracks, track_id,
                     "track '{id}' not found: track ids are T plus four digits "
                     "(e.g. T4821), as returned by search_tracks or top_tracks")


def _album(world: MusicWorld, album_id: str) -> dict:
    return lookup_id(world.albums, album_id,
                     "album '{id}' not found: album ids are AL plus three digits "
                     "(e.g. AL123); every track result carries its album_id")


def _playlist(world: MusicWorld, playlist_id: str) -> dict:
    key = playlist_id.strip().upper()
    if key not in world.playlists:
        mine = ", ".join(f"{p} ({pl['name']})" for p, pl in world.playlists.items())
        raise ToolError(f"playlist '{playlist_id[:40]}' not found: ids look like P12; your "
                        f"playlists are {mine}")
    return world.playlists[key]


def _brief(tr: dict) -> dict:
    return {k: tr[k] for k in ("track_id", "title", "artist", "album", "album_id",
                               "duration_seconds", "genre", "plays")}


def _search(world: MusicWorld, query: str, artist: str, genre: str) -> list[dict]:
    q = " ".join(query.lower().split())
    who = " ".join(artist.lower().split())
    hits = []
    for tr in world.tracks.values():
        if genre != "any" and tr["genre"] != genre:
            continue
        if who and who not in tr["artist"].lower():
            continue
        title = tr["title"].lower()
        if q and not any(q in s for s in (title, tr["album"].lower(), tr["artist"].lower())):
            continue
        hits.append(((title != q, q not in title, tr["title"]), tr))
    hits.sort(key=lambda h: h[0])
    return [_brief(tr) for _, tr in hits]


@tool
def search_tracks(world: MusicWorld, query: str = "", artist: str = "",
                  genre: GENRE = "any") -> dict:
    """Find tracks in the library by words in their title, album or artist; exact title
    matches come first.

    Args:
        query: Words to match, e.g. a song title such as Golden Rain; empty matches every track.
        artist: Only tracks whose artist name contains this text; empty for any artist.
        genre: Only tracks of this genre, or any.
    """
    hits = _search(world, query, artist, genre)
    out: dict = {"count": len(hits), "results": hits[:MAX_RESULTS]}
    if len(hits) > MAX_RESULTS:
        out["note"] = (f"{len(hits)} tracks matched and only the first {MAX_RESULTS} are listed; "
                       "add title words, an artist or a genre to narrow it down")
    if not hits:
        out["note"] = ("nothing in the library matches; drop some words, clear the artist "
                       "filter or set genre to any")
    return out


def _total(world: MusicWorld, ids: list[str]) -> int:
    return sum(world.tracks[t]["duration_seconds"] for t in ids)


@tool
def get_album(world: MusicWorld, album_id: str) -> dict:
    """An album's artist, release year, genre and its track listing in order, with the
    total running time in seconds.

    Args:
        album_id: Album id such as AL123 (the album_id of a track).
    """
    al = _album(world, album_id)
    tracks = [{"number": n + 1, "track_id": t, "title": world.tracks[t]["title"],
               "duration_seconds": world.tracks[t]["duration_seconds"]}
              for n, t in enumerate(al["track_ids"])]
    return {"album_id": al["album_id"], "title": al["title"], "artist": al["artist"],
            "year": al["year"], "genre": al["genre"], "track_count": len(tracks),
            "total_duration_seconds": _total(world, al["track_ids"]), "tracks": tracks}


@tool(params={"limit": {"minimum": 1, "maximum": MAX_TOP}})
def top_tracks(world: MusicWorld, genre: GENRE = "any", limit: int = 5) -> dict:
    """The most played tracks in the library, most plays first, optionally of one genre.

    Args:
        genre: Only tracks of this genre, or any.
        limit: How many tracks to list, 1 to 20.
    """
    try:
        n = float(limit)
    except (OverflowError, TypeError, ValueError):
        n = math.nan
    if not (math.isfinite(n) and n == int(n) and 1 <= n <= MAX_TOP):
        raise ToolError(f"limit has to be a whole number between 1 and {MAX_TOP}; "
                        f"{limit!r:.40} is out of range")
    pool = [tr for tr in world.tracks.values() if genre in ("any", tr["genre"])]
    pool.sort(key=lambda tr: (-tr["plays"], tr["track_id"]))
    results = [{"rank": r + 1, **_brief(tr)} for r, tr in enumerate(pool[: int(n)])]
    out: dict = {"genre": genre, "results": results}
    if not pool:
        out["note"] = f"the library holds no {genre} tracks; try genre any"
    return out


def _listing(world: MusicWorld, pl: dict) -> dict:
    tracks = [{"position": n + 1, "track_id": t, "title": world.tracks[t]["title"],
               "artist": world.tracks[t]["artist"],
               "duration_seconds": world.tracks[t]["duration_seconds"]}
              for n, t in enumerate(pl["track_ids"])]
    return {"playlist_id": pl["playlist_id"], "name": pl["name"], "track_count": len(tracks),
            "total_duration_seconds": _total(world, pl["track_ids"]), "tracks": tracks}


@tool
def get_playlist(world: MusicWorld, playlist_id: str) -> dict:
    """One of your playlists: its name, its tracks in play order and the total running time in
    seconds.

    Args:
        playlist_id: Playlist id, e.g. P12.
    """
    return _listing(world, _playlist(world, playlist_id))


@tool(side_effects=True)
def create_playlist(world: MusicWorld, name: str) -> dict:
    """Create a new, empty playlist and return its id.

    Args:
        name: Name of the new playlist, 1 to 60 characters, e.g. Road Trip.
    """
    label = " ".join(name.split())
    if not 1 <= len(label) <= 60:
        raise ToolError(f"a playlist name needs 1 to 60 characters (this one has {len(label)}); "
                        "pick a shorter or non-blank name")
    for pl in world.playlists.values():
        if pl["name"].lower() == label.lower():
            raise ToolError(f"you already have a playlist called '{pl['name']}' "
                            f"({pl['playlist_id']}); add tracks to that one or choose a new name")
    pid = f"P{world.next_playlist}"
    world.next_playlist += 1
    world.playlists[pid] = {"playlist_id": pid, "name": label, "track_ids": []}
    return {"status": "created", "playlist_id": pid, "name": label, "track_count": 0}


@tool(side_effects=True)
def add_to_playlist(world: MusicWorld, playlist_id: str, track_id: str, position: int = 0
                    ) -> dict:
    """Add a track to a playlist, at the end or at a given position (later tracks move down).

    Args:
        playlist_id: Playlist id, e.g. P12.
        track_id: Track id, e.g. T4821.
        position: 1-based place to insert the track at; 0 appends it at the end.
    """
    pl, tr = _playlist(world, playlist_id), _track(world, track_id)
    ids = pl["track_ids"]
    if tr["track_id"] in ids:
        raise ToolError(f"'{tr['title']}' is already number {ids.index(tr['track_id']) + 1} on "
                        f"'{pl['name']}'; a playlist holds each track only once")
    if len(ids) >= MAX_PLAYLIST:
        raise ToolError(f"'{pl['name']}' is full ({MAX_PLAYLIST} tracks); take a track off with "
                        "remove_from_playlist first")
    try:
        p = float(position)
    except (OverflowError, TypeError, ValueError):
        p = math.nan
    if not (math.isfinite(p) and p == int(p) and 0 <= p <= len(ids) + 1):
        raise ToolError(f"position {position!r:.40} does not fit '{pl['name']}', which has "
                        f"{len(ids)} tracks: give 1 to {len(ids) + 1}, or 0 for the end")
    at = len(ids) if p == 0 else int(p) - 1
    ids.insert(at, tr["track_id"])
    return {"status": "added", "playlist_id": pl["playlist_id"], "name": pl["name"],
            "track_id": tr["track_id"], "title": tr["title"], "position": at + 1,
            "track_count": len(ids), "total_duration_seconds": _total(world, ids)}


@tool(side_effects=True)
def remove_from_playlist(world: MusicWorld, playlist_id: str, track_id: str) -> dict:
    """Take a track off a playlist (the tracks after it move up); the track stays in the
    library.

    Args:
        playlist_id: Playlist id, e.g. P12.
        track_id: Id of a track on that playlist, e.g. T4821.
    """
    pl, tr = _playlist(world, playlist_id), _track(world, track_id)
    ids = pl["track_ids"]
    if tr["track_id"] not in ids:
        raise ToolError(f"'{tr['title']}' is not on '{pl['name']}'; get_playlist lists the "
                        "tracks it holds")
    ids.remove(tr["track_id"])
    return {"status": "removed", "playlist_id": pl["playlist_id"], "name": pl["name"],
            "track_id": tr["track_id"], "title": tr["title"], "track_count": len(ids),
            "total_duration_seconds": _total(world, ids)}


TOOLS = [search_tracks, get_album, top_tracks, get_playlist, create_playlist, add_to_playlist,
         remove_from_playlist]

ORDINAL = ["", "", "second", "third", "fourth", "fifth"]


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(len(items)))]


def make_task(rng: np.random.Generator, world: MusicWorld, seed: int) -> Task:
    kind = int(rng.integers(8))  # kinds 0-3 take one call, 4-7 chain two or three
    tr = world.tracks[str(_pick(rng, sorted(world.tracks)))]
    title = tr["title"]
    find = Step("search_tracks", {"query": title})
    pid = str(_pick(rng, sorted(world.playlists)))
    pl = world.playlists[pid]
    where = f"my '{pl['name']}' playlist ({pid})"
    genres = sorted({t["genre"] for t in world.tracks.values()})
    if kind == 0:  # a fact about one track
        v = int(rng.integers(4))
        if v == 0:
            q, path = f"Who is the artist behind the song '{title}' in my library?", "artist"
        elif v == 1:
            q, path = f"Which album is the track '{title}' from?", "album"
        elif v == 2:
            q, path = f"How long is '{title}'? Give the length in seconds.", "duration_seconds"
        else:
            q, path = f"How many times have I played '{title}'?", "plays"
        return Task("", "music", q, [find], Ref(0, f"results.0.{path}"), answer_is(tr[path]))
    if kind == 1:  # most played
        if rng.random() < 0.5:
            g = str(_pick(rng, genres))
            best = top_tracks.fn(world, genre=g, limit=1)["results"][0]
            if rng.random() < 0.5:
                return Task("", "music", f"Which {g} song have I listened to the most?",
                            [Step("top_tracks", {"genre": g})], Ref(0, "results.0.title"),
                            answer_is(best["title"]))
            return Task("", "music", f"How many plays does my most-played {g} track have?",
                        [Step("top_tracks", {"genre": g})], Ref(0, "results.0.plays"),
                        answer_is(best["plays"]))
        r = int(rng.integers(2, 6))
        hit = top_tracks.fn(world, limit=r)["results"][r - 1]
        return Task("", "music", f"Across my whole library, what is my {ORDINAL[r]} most "
                    "played track? Just the title.", [Step("top_tracks", {})],
                    Ref(0, f"results.{r - 1}.title"), answer_is(hit["title"]))
    if kind == 2:  # read a playlist
        info = _listing(world, pl)
        v = int(rng.integers(3))
        if v == 0:
            q, path = f"How many songs are on {where}?", "track_count"
        elif v == 1:
            q, path = (f"What is the total running time of {where}, in seconds?",
                       "total_duration_seconds")
        else:
            n = int(rng.integers(1, info["track_count"] + 1))
            q, path = f"Which song is number {n} on {where}?", f"tracks.{n - 1}.title"
        answer = Ref(0, path)
        return Task("", "music", q, [Step("get_playlist", {"playlist_id": pid})], answer,
                    answer_is(answer.resolve([info])))
    if kind == 3:  # a new empty playlist
        taken = {p["name"].lower() for p in world.playlists.values()}
        name = str(_pick(rng, [n for n in NEW_NAMES if n.lower() not in taken]))
        new_id = f"P{world.next_playlist}"

        def created(w: MusicWorld) -> bool:
            return any(p["name"] == name for p in w.playlists.values())

        return Task("", "music", f"Start a new playlist named '{name}' for me and tell me the "
                    "id it gets.", [Step("create_playlist", {"name": name})],
                    Ref(0, "playlist_id"), all_of(world_has(created), answer_is(new_id)))
    if kind == 4:  # a fact about a track's album
        al = world.albums[tr["album_id"]]
        v = int(rng.integers(3))
        if v == 0:
            q, path, val = f"In what year was the album with '{title}' released?", "year", \
                al["year"]
        elif v == 1:
            q, path, val = (f"How many tracks are on the album that '{title}' comes from?",
                            "track_count", len(al["track_ids"]))
        else:
            q, path = f"What is the opening track of the album that includes '{title}'?", \
                "tracks.0.title"
            val = world.tracks[al["track_ids"][0]]["title"]
        return Task("", "music", q,
                    [find, Step("get_album", {"album_id": Ref(0, "results.0.album_id")})],
                    Ref(1, path), answer_is(val))
    if kind == 5:  # add a track to a playlist
        outside = [t for t in sorted(world.tracks) if t not in pl["track_ids"]]
        tr = world.tracks[str(_pick(rng, outside))]
        title, tid = tr["title"], tr["track_id"]
        top = rng.random() < 0.5
        args: dict = {"playlist_id": pid, "track_id": Ref(0, "results.0.track_id")}
        if top:
            args["position"] = 1
        count = len(pl["track_ids"]) + 1

        def added(w: MusicWorld) -> bool:
            ids = w.playlists[pid]["track_ids"]
            return tid in ids and (not top or ids[0] == tid)

        verb = f"Put '{title}' at the very top of" if top else f"Add '{title}' to"
        return Task("", "music", f"{verb} {where}, then tell me how many "
                    "tracks the playlist has now.",
                    [Step("search_tracks", {"query": title}), Step("add_to_playlist", args)],
                    Ref(1, "track_count"), all_of(world_has(added), answer_is(count)))
    if kind == 6:  # remove a track from a playlist
        k = int(rng.integers(len(pl["track_ids"])))
        tid = pl["track_ids"][k]
        title = world.tracks[tid]["title"]
        rest = [t for t in pl["track_ids"] if t != tid]
        length = rng.random() < 0.5
        path = "total_duration_seconds" if length else "track_count"
        val = _total(world, rest) if length else len(rest)
        ask = "its total running time in seconds" if length else "how many songs are left on it"

        def removed(w: MusicWorld) -> bool:
            return tid not in w.playlists[pid]["track_ids"]

        return Task("", "music", f"Take '{title}' off {where} and tell me {ask}.",
                    [Step("get_playlist", {"playlist_id": pid}),
                     Step("remove_from_playlist", {"playlist_id": pid,
                                                   "track_id": Ref(0, f"tracks.{k}.track_id")})],
                    Ref(1, path), all_of(world_has(removed), answer_is(val)))
    # kind 7: a new playlist seeded with the top track of a genre
    g = str(_pick(rng, genres))
    best = top_tracks.fn(world, genre=g, limit=1)["results"][0]["track_id"]
    name = f"{g.title()} {_pick(rng, ['Favourites', 'Essentials', 'Heavy Rotation', 'Picks'])}"
    new_id = f"P{world.next_playlist}"

    def seeded(w: MusicWorld) -> bool:
        return any(p["name"] == name and p["track_ids"] == [best] for p in w.playlists.values())

    return Task("", "music", f"Make a new playlist called '{name}' containing only my most "
                f"played {g} track, and tell me the new playlist's id.",
                [Step("top_tracks", {"genre": g, "limit": 1}),
                 Step("create_playlist", {"name": name}),
                 Step("add_to_playlist", {"playlist_id": Ref(1, "playlist_id"),
                                          "track_id": Ref(0, "results.0.track_id")})],
                Ref(1, "playlist_id"), all_of(world_has(seeded), answer_is(new_id)))


DOMAIN = Domain(
    name="music",
    title="Music",
    description="Personal music library: track search, albums, most played and playlists.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"search_tracks.genre": "enum", "top_tracks.genre": "enum",
           "get_album.album_id": "id", "get_playlist.playlist_id": "id",
           "add_to_playlist.playlist_id": "id", "add_to_playlist.track_id": "id",
           "remove_from_playlist.playlist_id": "id", "remove_from_playlist.track_id": "id"},
    synonyms={"tracks": ["songs", "recordings"], "album": ["record", "release"],
              "playlist": ["mix", "setlist"], "artist": ["performer", "musician"],
              "position": ["index", "slot"]},
)
