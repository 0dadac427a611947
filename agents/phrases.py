"""What the trial teacher says: its reasons to distrust a tool and its phrasebooks.

Each phrasebook maps a key (``"try"``, ``"fix_args"``, ``"reason_stale"``...) to a few
wordings; the teacher draws one with its seeded RNG. ``"verbose"`` quotes errors and
arguments; ``"terse"`` (and ``"diff"``, which spells fixes out itself) keeps thoughts short
enough for a small student to learn.
"""

from __future__ import annotations

__all__ = ["FORMAT", "PHRASEBOOKS", "SIDE_EFFECT", "SIMILAR", "STALE", "THIN", "UNSEEN"]

# Reasons to distrust a tool. Only THIN and SIMILAR are read off the catalogue alone;
# STALE compares it with the live API and UNSEEN knows the training split (privileged).
UNSEEN, STALE, THIN, SIMILAR, SIDE_EFFECT, FORMAT = (
    "unseen", "stale", "thin", "similar", "side_effect", "format")
_REASON_TEXT = {
    UNSEEN: ["I have not used this API before, so I don't know how `{tool}` really behaves.",
             "This is an unfamiliar tool set; `{tool}` is new to me.",
             "I don't know this API yet, and `{tool}` is the first tool I need from it."],
    STALE: ["Tool docs can lag behind the live API, and I have no evidence `{tool}` still "
            "works as documented.",
            "I can't be sure the documentation for `{tool}` is current.",
            "APIs change; the catalogue entry for `{tool}` may be out of date."],
    THIN: ["The documentation of `{tool}` is thin, so its parameters are a guess.",
           "The catalogue says very little about `{tool}`.",
           "`{tool}` is barely documented."],
    SIMILAR: ["Several tools have similar names ({names}), so I should make sure I pick the "
              "right one.",
              "The names {names} are easy to confuse.",
              "There are near-duplicate tool names here ({names})."],
    SIDE_EFFECT: ["`{tool}` changes state, so I'll rehearse it where nothing real happens.",
                  "`{tool}` has side effects; a dry run first is safer.",
                  "Since `{tool}` modifies things, I want to see its behaviour before doing it "
                  "for real."],
    FORMAT: ["I need the output of `{tool}` for the next step, so I want to see its format.",
             "The next step depends on what `{tool}` returns; let me look at its output first.",
             "I'll check the shape of `{tool}`'s result before I rely on it."],
}
_TRY_TEXT = ["I'll try it on the sandbox first.", "A trial call will tell me.",
             "Let me probe it with a trial.", "So: a sandbox trial before the real call.",
             "I'll test it with a trial call."]
_DOC_GUESS_TEXT = ["Going by the docs, I'd call `{name}` with {args}.",
                   "The catalogue says `{name}` with {args}.",
                   "Following the catalogue: `{name}` with {args}."]
_GUESS_TEXT = ["My first guess is `{name}` with {args}.", "I'll try `{name}` with {args}.",
               "Trying `{name}` with {args}."]
_ERROR_TEXT = ["The trial failed: \"{error}\".", "The sandbox answered with an error: \"{error}\".",
               "That did not work: \"{error}\".", "Error from the trial: \"{error}\"."]
_FIX_NAME = ["It points me to `{name}`, so I'll use that name.",
             "The right tool must be `{name}`.", "The tool I want is `{name}`."]
_FIX_RENAMED = ["So the tool is called `{name}` now; the docs are out of date.",
                "The documented name no longer exists; `{name}` is the current one.",
                "The API was renamed: the tool is `{name}` now."]
_FIX_DEPRECATED = ["`{old}` is deprecated; the error names `{name}` as its replacement.",
                   "The old name is retired in favour of `{name}`.",
                   "I'll switch to `{name}`, which replaces `{old}`."]
_FIX_ARGS = ["I'll fix the arguments: {args}.", "The arguments must be {args}.",
             "Corrected arguments: {args}."]
_FIX_TERSE = ["The message gives little detail, so I'll try the closest alternative: `{name}` "
              "with {args}.",
              "No hint in the error; the most plausible fix is `{name}` with {args}."]
_OK_TEXT = ["The trial works and returns {fields}.", "Good, the trial succeeded ({fields}).",
            "The sandbox call worked; the result has {fields}."]
_VERIFY_TEXT = ["Let me confirm the corrected call on the sandbox first.",
                "I'll check the fix with one more trial.",
                "One more trial to be sure the fix works."]
_RETRY_TEXT = ["Let me try that.", "Trying again.", "Another trial with that change."]
_EXECUTE_TEXT = ["Now the real call.", "Executing it for real.", "Now I'll run it for real.",
                 "Time to execute."]
_TRUSTED_TEXT = ["`{tool}` is documented clearly; calling it directly.",
                 "I know how `{tool}` works, so I'll call it.",
                 "Next: `{tool}`.", "Calling `{tool}` with {args}."]
_CHAINED_TEXT = ["Using the previous result, I call `{tool}` with {args}.",
                 "The last result gives me what `{tool}` needs.",
                 "Now `{tool}` with the value from the previous step."]
_SESSION_TEXT = ["The error says the API needs a session now; I'll open one with `{name}` first.",
                 "A session token is required: opening a session with `{name}`.",
                 "First a session from `{name}`, then the call with its token."]
_ANSWER_TEXT = ["That answers the question.", "I have what I need.",
                "The results give the answer.", "Done; here is the answer."]

_VERBOSE = {
    "try": _TRY_TEXT, "doc_guess": _DOC_GUESS_TEXT, "guess": _GUESS_TEXT, "error": _ERROR_TEXT,
    "fix_name": _FIX_NAME, "fix_renamed": _FIX_RENAMED, "fix_deprecated": _FIX_DEPRECATED,
    "fix_args": _FIX_ARGS, "fix_terse": _FIX_TERSE, "ok": _OK_TEXT, "verify": _VERIFY_TEXT,
    "retry": _RETRY_TEXT, "execute": _EXECUTE_TEXT, "trusted": _TRUSTED_TEXT,
    "chained": _CHAINED_TEXT, "answer": _ANSWER_TEXT, "session": _SESSION_TEXT,
    **{f"reason_{k}": v for k, v in _REASON_TEXT.items()},
}
# Short thoughts for small students: the call right after a thought already shows the
# arguments, and the observation above it already shows the error, so neither is repeated.
# Trial-teacher messages then stay within ~64 tokens (p90) instead of ~105.
_TERSE = {
    "reason_" + UNSEEN: ["New API; `{tool}` is untested.", "`{tool}` is new to me.",
                         "Unfamiliar tool: `{tool}`."],
    "reason_" + STALE: ["Docs may be stale.", "`{tool}` may have changed.",
                        "The docs of `{tool}` may be out of date."],
    "reason_" + THIN: ["`{tool}` is barely documented.", "Thin docs for `{tool}`.",
                       "`{tool}`: few docs."],
    "reason_" + SIMILAR: ["Similar names: {names}.", "Tool names are easy to confuse.",
                          "Near-duplicate tool names."],
    "reason_" + SIDE_EFFECT: ["`{tool}` changes state.", "`{tool}` has side effects.",
                              "`{tool}` modifies data."],
    "reason_" + FORMAT: ["I need the format of `{tool}`'s output.",
                         "The next step needs `{tool}`'s result.", "Check `{tool}`'s output."],
    "try": ["Trial first.", "Test it with a trial.", "Sandbox trial first.", "Trying it safely."],
    "doc_guess": ["As documented:", "Per the docs:", "The docs say:"],
    "guess": ["First guess:", "A guess:", "Trying:"],
    "error": ["Trial failed.", "Error.", "That failed.", "It errored."],
    "fix_name": ["The error points to `{name}`.", "Use `{name}`.", "It must be `{name}`."],
    "fix_renamed": ["Renamed to `{name}`.", "It is `{name}` now.", "New name: `{name}`."],
    "fix_deprecated": ["`{old}` is deprecated; use `{name}`.", "`{name}` replaces `{old}`.",
                       "Switch to `{name}`."],
    "fix_args": ["Fix the arguments.", "Adjust the arguments.", "Corrected arguments."],
    "fix_terse": ["No hint; the closest fix.", "Trying the closest alternative."],
    "ok": ["Trial works.", "Trial ok.", "It works."],
    "verify": ["Check the fix.", "One more trial.", "Verify with a trial."],
    "retry": ["Again.", "Retry.", "Another trial."],
    "execute": ["Now for real.", "Execute.", "Run it for real.", "Real call."],
    "trusted": ["`{tool}` is clear.", "Calling `{tool}`.", "Next: `{tool}`."],
    "chained": ["Using the last result.", "Now `{tool}` with that value.",
                "Chain into `{tool}`."],
    "answer": ["Answer.", "Got it.", "Done.", "That answers it."],
    "session": ["Open a session first.", "Session first: `{name}`.", "Get a session token."],
}
# "diff": terse thoughts, but each fix is spelled out as the change from the failed call
# (see _diff_text), so the corrected call follows from a short, copyable thought.
PHRASEBOOKS: dict[str, dict[str, list[str]]] = {"terse": _TERSE, "verbose": _VERBOSE,
                                                "diff": _TERSE}
