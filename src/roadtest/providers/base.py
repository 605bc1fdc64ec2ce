"""What a provider is: one async method that sends one request and returns what came back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Reply:
    """The raw outcome of one HTTP exchange (a transport failure is raised, not returned)."""

    status: int
    body: Any | None
    """Parsed JSON body, or None when the body is not JSON."""
    text: str | None
    """The raw body when it is not JSON."""
    headers: dict[str, str]


class ResponseTooLarge(Exception):
    """The endpoint sent (or announced) a body larger than the model's max_response_bytes: it was not read on."""

    def __init__(self, status: int, limit: int, read: int, declared: int | None = None) -> None:
        self.status, self.limit, self.read, self.declared = status, limit, read, declared
        said = f" (it announced {declared} bytes)" if declared is not None else ""
        super().__init__(f"the HTTP {status} response is larger than max_response_bytes ({limit} bytes){said}; "
                         f"stopped reading after {read} bytes")


class Provider(Protocol):
    """A model endpoint. Retries, limits and caching wrap it elsewhere."""

    async def send(self, endpoint: str, body: dict[str, Any]) -> Reply:
        """POST `body` to `endpoint` (e.g. 'chat/completions') and return the reply."""
        ...

    def identity(self) -> dict[str, Any]:
        """What this endpoint is, for the archive (never a secret)."""
        ...
