"""Logging: the `target_async` logger, and keeping visitor identifiers out of INFO logs.

httpx logs every request URL at INFO. A Delivery URL carries the visitor's session id
(from the `mbox` cookie), so its value is masked in those records.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_httpx_redaction"]

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
