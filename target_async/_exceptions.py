"""The exceptions target-async raises.

Every error the SDK raises derives from `TargetError`:

```text
TargetError
├── TargetConfigError          bad option given to `create()` (names the key)
├── TargetValidationError      bad `get_offers` / `send_notifications` input
├── TargetRequestError         the edge could not be reached or answered badly
│   ├── TargetConnectionError  connect / read / write failure, reset connection
│   │   └── TargetTimeoutError the `timeout` budget ran out
│   ├── TargetStatusError      non-2xx answer (`status_code`, `body`)
│   │   ├── BadRequestError        400
│   │   ├── AuthenticationError    401, 403
│   │   ├── NotFoundError          404
│   │   ├── RateLimitError         429
│   │   └── ServerError            5xx
│   └── ResponseDecodingError  the body was not a Delivery API response
├── DecisioningError           on-device decisioning failed
│   ├── ArtifactError          an artifact could not be fetched, read or used
│   └── ArtifactNotReadyError  on-device call before the first artifact arrived
├── AttributeNotFoundError     `get_value()` for an attribute the mbox does not have
└── ClientStateError           client used after `aclose()`, opened twice, ...
```

httpx exceptions never escape: they are translated where the HTTP call is made
and kept as `__cause__`.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "ArtifactNotReadyError",
    "AttributeNotFoundError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "DecisioningError",
    "NotFoundError",
    "RateLimitError",
    "ResponseDecodingError",
    "ServerError",
    "TargetConfigError",
    "TargetConnectionError",
    "TargetError",
    "TargetRequestError",
    "TargetStatusError",
    "TargetTimeoutError",
    "TargetValidationError",
    "status_error",
]


class TargetError(Exception):
    """Base class of every error raised by target-async."""


class TargetConfigError(TargetError, ValueError):
    """An option given to `create()` is missing, unknown or of the wrong type."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class TargetValidationError(TargetError, ValueError):
    """The request options of a call are invalid (missing request, empty notifications, ...)."""


class ClientStateError(TargetError, RuntimeError):
    """The client was used in a state that does not allow it (closed, opened twice, ...)."""


class TargetRequestError(TargetError):
    """The Delivery API call failed."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class TargetConnectionError(TargetRequestError):
    """The edge could not be reached, or the connection broke."""


class TargetTimeoutError(TargetConnectionError):
    """The request did not complete within its `timeout`."""


class ResponseDecodingError(TargetRequestError):
    """The edge answered 2xx with a body that is not a Delivery API response."""


class TargetStatusError(TargetRequestError):
    """The edge answered with a non-2xx status; `status_code` and `body` say what it said.

    `retry_after`: the seconds the edge's `Retry-After` header asked to wait, if it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: str,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after


class BadRequestError(TargetStatusError):
    """HTTP 400: the edge rejected the request."""


class AuthenticationError(TargetStatusError):
    """HTTP 401 or 403."""


class NotFoundError(TargetStatusError):
    """HTTP 404."""


class RateLimitError(TargetStatusError):
    """HTTP 429. When its `Retry-After` is longer than the call has left, the call fails at
    once with this error instead of waiting out its timeout; `retry_after` says how long."""


class ServerError(TargetStatusError):
    """HTTP 5xx."""


class AttributeNotFoundError(TargetError, KeyError):
    """`AttributesProvider.get_value()` was asked for an attribute the mbox does not have."""

    def __init__(self, mbox: str, key: str) -> None:
        super().__init__(f"Attribute '{key}' does not exist for mbox '{mbox}'")
        self.mbox = mbox
        self.key = key

    def __str__(self) -> str:
        # KeyError would quote the message; show it as written.
        return str(self.args[0])


class DecisioningError(TargetError):
    """On-device decisioning could not produce a decision."""


class ArtifactError(DecisioningError):
    """A rules artifact could not be downloaded, read or used."""


class ArtifactNotReadyError(DecisioningError):
    """An on-device decision was asked for before any artifact was loaded."""


_STATUS_CLASSES: dict[int, type[TargetStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
}


def status_error(
    status_code: int, body: str, *, url: str | None = None, retry_after: float | None = None
) -> TargetStatusError:
    """The `TargetStatusError` subclass for an HTTP status, with a readable message."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else TargetStatusError
    snippet = body[:200] + ("..." if len(body) > 200 else "")
    message = f"Target edge answered HTTP {status_code}"
    if retry_after is not None:
        message += f" (Retry-After: {retry_after:g} s)"
    if snippet:
        message += f": {snippet}"
    return cls(message, status_code=status_code, body=body, url=url, retry_after=retry_after)
