"""Logging: the `target_async` logger, and keeping visitor identifiers and secrets out of logs.

httpx logs every request URL at INFO. A Delivery URL carries the visitor's session id
(from the `mbox` cookie), so its value is masked in those records. `redact_url` masks the
secrets a configured URL may hold (a proxy's password, a signed URL's query string).
"""

from __future__ import annotations

import logging
import re
import urllib.parse

__all__ = ["install_httpx_redaction", "redact_url"]


def redact_url(url: str) -> str:
    """`url` without its secrets: the password of its user info and its query string masked.

    A file path (no scheme) is returned as it is.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" in the host: nothing readable to keep
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if has_password else f"{userinfo}@{host}"
    query = "***" if parts.query else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))

_SESSION_PARAM = re.compile(r"(sessionId=)[^&\s\"]+")
_DELIVERY_PATH = "/rest/v1/delivery"


class _DeliveryUrlRedactor(logging.Filter):
    """Masks `sessionId=` in httpx's log records of Delivery API calls; other records pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_DELIVERY_PATH in str(arg) for arg in record.args):
            record.args = tuple(
                _SESSION_PARAM.sub(r"\1***", str(arg)) if _DELIVERY_PATH in str(arg) else arg
                for arg in record.args
            )
        return True


_redactor = _DeliveryUrlRedactor()


def install_httpx_redaction() -> None:
    """Attach the redactor to the `httpx` logger (idempotent)."""
    logger = logging.getLogger("httpx")
    if _redactor not in logger.filters:
        logger.addFilter(_redactor)
