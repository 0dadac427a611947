"""Words drift draws from: synonyms for generated names, misleading verbs, the added
required parameters and the refusals of distractor tools."""

from __future__ import annotations

# Vocabulary for generated names: generic English verbs and the words several domains
# share. A domain's own words live in its module (``Domain.synonyms``) and win over these;
# adding a domain never edits this table, so no domain changes another's renames.

SYNONYMS: dict[str, list[str]] = {
    # verbs
    "get": ["fetch", "retrieve", "read"], "list": ["enumerate", "browse", "show"],
    "search": ["find", "query", "lookup"], "find": ["locate", "discover", "seek"],
    "set": ["configure", "register", "define"], "create": ["add", "make", "open"],
    "cancel": ["remove", "drop", "revoke"], "delete": ["remove", "erase", "purge"],
    "send": ["post", "dispatch", "deliver"], "update": ["modify", "edit", "patch"],
    "mark": ["flag", "tag"], "rate": ["score", "review"], "run": ["execute", "perform"],
    "execute": ["apply", "perform"], "describe": ["inspect", "explain"], "book": ["reserve"],
    "convert": ["transform", "translate"], "read": ["load", "view"], "write": ["save", "store"],
    "add": ["insert", "append"], "remove": ["drop", "erase"], "check": ["verify", "inspect"],
    "calculate": ["compute"], "compute": ["calculate"], "transfer": ["move", "wire"],
    "move": ["relocate", "shift"], "pay": ["settle"], "buy": ["purchase"], "order": ["purchase"],
    "track": ["follow"], "show": ["display"], "lookup": ["resolve"], "subscribe": ["enroll"],
    "rename": ["relabel"],
    # nouns and parameter words of several domains
    "city": ["location", "town", "place"], "cities": ["locations", "towns", "places"],
    "title": ["heading", "subject"], "category": ["genre", "group"], "balance": ["funds"],
    "date": ["day", "when"], "start": ["begin", "from"], "end": ["finish", "until"],
    "query": ["terms", "phrase"], "name": ["label", "who"], "units": ["system", "measure"],
    "text": ["body", "content"], "limit": ["cap", "most"], "id": ["key", "ref"],
    "duration": ["length", "span"], "minutes": ["mins"], "location": ["venue", "place"],
    "value": ["content", "setting"], "type": ["kind", "sort"], "amount": ["sum", "total"],
    "currency": ["money"], "day": ["date", "daily"], "status": ["state"], "user": ["member"],
    "top": ["popular", "best"], "ticket": ["case", "issue"], "record": ["log"],
    # words drift's own made-up names hold (``x_info``, ``x_internal``)
    "details": ["info"], "info": ["details"], "internal": ["private", "hidden"],
}

MISLEADING_VERBS: dict[str, str] = {
    "get": "delete", "fetch": "erase", "list": "clear", "search": "purge", "find": "drop",
    "set": "unset", "create": "destroy", "cancel": "restore", "delete": "restore",
    "send": "receive", "mark": "unmark", "rate": "unrate", "run": "abort", "execute": "revert",
    "describe": "hide", "update": "freeze", "read": "write", "write": "read", "add": "remove",
    "remove": "add", "book": "unbook", "convert": "keep", "check": "ignore",
}

ADDED_PARAMS: list[tuple[str, str, str]] = [
    ("api_version", "v2", "API version of the request; must be \"v2\""),
    ("response_format", "json", "Format of the response; must be \"json\""),
    ("locale", "en-US", "Locale of the request; must be \"en-US\""),
    ("client_id", "toolmaster", "Client making the request; must be \"toolmaster\""),
]

DISTRACTOR_ERRORS = [
    "'{name}' is not available: it is a retired endpoint that returns no data",
    "'{name}' is an internal endpoint and is not available to this client",
    "'{name}' is not available in this region; it returns no data",
]
