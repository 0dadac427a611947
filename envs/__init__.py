"""The tool APIs. Each module defines ``DOMAIN``; registration discovers them.

The suite ids name their domains here, explicitly and versioned: a domain added to this
package (or registered by a user) joins none of them. Changing a list changes what the
id draws for a seed, so it takes a new version (``Seen-v1``), never an edit of ``-v0``.
"""

SUITES: dict[str, tuple[str, ...]] = {
    "Seen-v0": ("banking", "calendar", "currency", "files", "messaging", "shopping", "sqldb",
                "travel", "units", "weather"),
    "Unseen-v0": ("encyclopedia", "helpdesk", "jokes", "library", "music", "pharmacy",
                  "recipes", "transit"),
}
