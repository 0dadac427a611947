"""Exception hierarchy, so callers can catch by kind."""


class ToolGymError(Exception):
    """Base class of every error raised by tool_gym."""


class ToolError(ToolGymError):
    """Raised by a tool backend for a domain-level failure (no such city, insufficient funds).

    The env turns it into an error observation the agent can read and act on.
    """


class SpecError(ToolGymError):
    """A tool specification is invalid (bad schema, unsupported annotation)."""


class ToolBackendError(ToolGymError):
    """A backend raised something other than ToolError on arguments that passed its schema.

    That is a bug in the domain, not a bad action: the env logs it at ERROR level, counts
    it (``ToolEnv.internal_errors``, ``info["internal_errors"]``) and answers with an error
    observation, so one bug never ends a training run.
    """


class DomainError(ToolGymError, ValueError):
    """A domain cannot be registered or fails its contract; the message names the fix."""
