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


class Provider(Protocol):
    """A model endpoint. Retries, limits and caching wrap it elsewhere."""

    async def send(self, endpoint: str, body: dict[str, Any]) -> Reply:
        """POST `body` to `endpoint` (e.g. 'chat/completions') and return the reply."""
        ...

    def identity(self) -> dict[str, Any]:
        """What this endpoint is, for the archive (never a secret)."""
        ...
