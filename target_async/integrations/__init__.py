"""Web framework integrations.

- `target_async.integrations.starlette`: Starlette and FastAPI (extra `starlette`);
- `target_async.integrations.aiohttp`: aiohttp (extra `aiohttp`);
- here: the framework-neutral helpers they are built on, for any other framework
  (the docs show Flask with the sync `TargetClient`).

Importing this package imports no web framework.
"""

from __future__ import annotations

from ._visitor import (
    COOKIE_PATH,
    HeaderLookup,
    SameSite,
    TargetResult,
    amcv_cookie,
    marketing_cloud_visitor_id,
    request_context,
    response_cookies,
    visitor_options,
)

__all__ = [
    "COOKIE_PATH",
    "HeaderLookup",
    "SameSite",
    "TargetResult",
    "amcv_cookie",
    "marketing_cloud_visitor_id",
    "request_context",
    "response_cookies",
    "visitor_options",
]
