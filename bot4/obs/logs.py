"""Structured logs: one JSON object per line on stderr, which Ray shows in its dashboard's
logs view for each actor.

Every record has ``ts`` (UTC, ISO 8601 with ms), ``level``, ``logger`` and ``msg``, plus the
fields passed with `event`: ``symbol``, ``account``, ``orderId``, ``clientOrderId``, ``code``
and whatever else the call names. Levels: WARNING for what an operator must know (kill switch,
breaches, breaker trips, sheds), INFO for lifecycle (an actor started and what it replayed),
DEBUG for single orders. Nothing on the per-order path logs at INFO or above: `order_refused`
checks the level before it builds anything.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from bot4.core.errors import VenueError

FIELDS = "bot4_fields"
_HANDLER = "bot4-json"


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, FIELDS, {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


def setup_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Logger:
    """Send the ``bot4`` loggers to `stream` (stderr) as JSON lines, once per process."""
    logger = logging.getLogger("bot4")
    logger.setLevel(level)
    logger.propagate = False
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER:
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    return logger


def event(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log `msg` with structured `fields` (only when `level` is enabled)."""
    if logger.isEnabledFor(level):
        logger.log(level, msg, extra={FIELDS: fields})


def order_refused(logger: logging.Logger, symbol: str, request: Any, error: VenueError) -> None:
    """A refused order or request, at DEBUG (the per-order path: nothing at INFO)."""
    if logger.isEnabledFor(logging.DEBUG):
        event(logger, logging.DEBUG, "request refused", symbol=symbol,
              account=getattr(request, "account", None),
              orderId=getattr(request, "order_id", None),
              clientOrderId=getattr(request, "client_order_id", None)
              or getattr(request, "orig_client_order_id", None),
              code=error.code, reason=error.msg)  # fmt: skip
