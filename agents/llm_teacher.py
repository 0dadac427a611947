"""A teacher behind any OpenAI-compatible chat endpoint (``/chat/completions``).

An HTTP client on the standard library only (``urllib``), with retries and backoff on
connection errors, HTTP 429 and 5xx, and errors that say what went wrong.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["LLMTeacher", "LLMTeacherError"]


class LLMTeacherError(RuntimeError):
    """The chat endpoint could not be reached or gave an unusable answer."""


class LLMTeacher:
    """Any OpenAI-compatible chat endpoint as a teacher (``/chat/completions``).

    Sends the env's ``info["messages"]`` plus the dialogue so far and returns the
    assistant text. Uses only the standard library.

    Args:
        base_url: Endpoint root, e.g. ``https://api.deepseek.com/v1`` or
            ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: Model name the endpoint expects.
        api_key_env: Name of the environment variable holding the API key; None for
            endpoints without authentication.
        temperature, max_tokens: Sampling settings sent with each request.
        timeout: Seconds per HTTP request.
        max_retries: Retries on connection errors, HTTP 429 and 5xx, with backoff.
        extra_body: More JSON fields for each request (``top_p``, ``stop``...).
    """

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 temperature: float = 0.7, max_tokens: int = 1024, timeout: float = 60.0,
                 max_retries: int = 2, extra_body: dict[str, Any] | None = None,
                 backoff_s: float = 1.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = None
        if api_key_env is not None:
            self.api_key = os.environ.get(api_key_env)
            if not self.api_key:
                raise LLMTeacherError(
                    f"environment variable {api_key_env} is not set; export the API key there, "
                    "or pass api_key_env=None for an endpoint without authentication")
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.extra_body = dict(extra_body or {})
        self.backoff_s = backoff_s
        self.messages: list[dict[str, str]] = []
        self._replied = False

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        self.messages = [dict(m) for m in info["messages"]]
        self._replied = False

    def act(self, obs: str) -> str:
        if not self.messages:
            raise RuntimeError("call begin(obs, info) after reset() before act()")
        if self._replied:
            self.messages.append({"role": "user", "content": obs})
        text = self.complete(self.messages)
        self.messages.append({"role": "assistant", "content": text})
        self._replied = True
        return text

    def complete(self, messages: list[dict[str, str]]) -> str:
        """One chat completion: the assistant text for ``messages``."""
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens, **self.extra_body}
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    payload = resp.read()
            except urllib.error.HTTPError as e:
                detail = _excerpt(e.read().decode("utf-8", "replace"), 300)
                last_error = f"HTTP {e.code} from {self.url}: {detail}"
                if e.code == 429 or e.code >= 500:
                    logger.warning("%s (attempt %d)", last_error, attempt + 1)
                    continue
                raise LLMTeacherError(last_error) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                reason = getattr(e, "reason", e)
                last_error = f"cannot reach {self.url}: {reason}"
                logger.warning("%s (attempt %d)", last_error, attempt + 1)
                continue
            return _completion_text(payload, self.url)
        raise LLMTeacherError(f"{last_error} (gave up after {self.max_retries + 1} attempts)")


def _completion_text(payload: bytes, url: str) -> str:
    try:
        obj = json.loads(payload)
        content = obj["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LLMTeacherError(f"{url} answered with invalid JSON: {e}") from None
    except (KeyError, IndexError, TypeError):
        raise LLMTeacherError(f"{url} answered without choices[0].message.content: "
                              f"{_excerpt(payload.decode('utf-8', 'replace'), 300)}") from None
    if not isinstance(content, str):
        raise LLMTeacherError(f"{url} answered with non-text content: {content!r:.200}")
    return content


def _excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split()).replace('"', "'")
    return text if len(text) <= limit else text[:limit - 3] + "..."
