"""The error taxonomy: stable Binance-compatible codes, categories and retry advice.

Inside the core an error is a value (`VenueError`) returned in place of a result; at the API
edge it becomes a typed exception (`Bot4Error`). Codes and messages follow the venue's
errors.md; bot4's own codes (risk, backpressure, later) use the -9xxx range, which Binance
leaves free.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Category(enum.Enum):
    """What kind of failure an error is, which decides what a client should do next."""

    VALIDATION = "validation"  # the request is malformed or breaks a symbol filter
    AUTH = "auth"  # authentication, signature or timestamp window
    RATE_LIMIT = "rate_limit"  # throttled: back off, then retry
    VENUE_RULE = "venue_rule"  # well-formed, refused by the matching engine's rules
    RISK = "risk"  # refused by pre-trade risk
    BACKPRESSURE = "backpressure"  # the venue is overloaded: retry later
    INTERNAL = "internal"  # a fault inside bot4; outcome may be unknown


# what a circuit breaker counts as a refused order (the rest of the failures are errors)
REFUSALS = (Category.VALIDATION, Category.VENUE_RULE, Category.RISK, Category.RATE_LIMIT)


class Code(enum.IntEnum):
    """Stable numeric codes (Binance's where Binance has one)."""

    UNKNOWN = -1000
    INVALID_MESSAGE = -1013
    UNKNOWN_ORDER_COMPOSITION = -1014
    INVALID_TIMESTAMP = -1021
    ILLEGAL_CHARS = -1100
    MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
    UNKNOWN_PARAM = -1103
    PARAM_NOT_REQUIRED = -1106
    BAD_PRECISION = -1111
    TIF_NOT_REQUIRED = -1114
    INVALID_TIF = -1115
    INVALID_ORDER_TYPE = -1116
    INVALID_SIDE = -1117
    EMPTY_NEW_CL_ORD_ID = -1118
    BAD_SYMBOL = -1121
    INVALID_PARAMETER = -1130
    INVALID_CANCEL_RESTRICTIONS = -1145
    NEW_ORDER_REJECTED = -2010
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    CANCEL_REPLACE_PARTIALLY_FAILED = -2021
    CANCEL_REPLACE_FAILED = -2022
    ORDER_AMEND_REJECTED = -2038
    CLIENT_ORDER_ID_INVALID = -2039
    NO_REFERENCE_PRICE = -2043
    REJECTED_MBX_KEY = -2015
    TOO_MANY_ORDERS = -1015
    # bot4's pre-trade risk (-91xx): each check has its own code
    RISK_MAX_QTY = -9101
    RISK_MAX_NOTIONAL = -9102
    RISK_PRICE_BAND = -9103
    RISK_MAX_OPEN_ORDERS_SYMBOL = -9104
    RISK_MAX_OPEN_ORDERS_ACCOUNT = -9105
    RISK_MAX_POSITION = -9106
    RISK_MAX_EXPOSURE = -9107
    RISK_HALTED = -9108
    RISK_REDUCE_ONLY = -9109
    RISK_KILL_SWITCH = -9110
    RISK_BREAKER_OPEN = -9111
    RISK_NO_REFERENCE_PRICE = -9112
    BACKPRESSURE = -9301  # a symbol's mailbox is full
    REPLAYED = -9201  # a signature used again inside its request's window
    REPLAY_MEMORY_FULL = -9205  # too many live signatures to take a new one; retry later
    IDEMPOTENCY_CONFLICT = -9203
    IDEMPOTENCY_IN_FLIGHT = -9204  # the same request is running now; retry later
    TIME_BEHIND = -9401  # a command older than its symbol's clock
    SYMBOL_STOPPED = -9501  # the symbol stopped on a fault it cannot repair (a corrupt journal)


@dataclass(frozen=True, slots=True)
class VenueError:
    """A refused request: code, message, category and whether retrying can succeed."""

    code: int
    msg: str
    category: Category
    retryable: bool = False
    retry_after_ms: int | None = None  # when a retry can first succeed (rate limits)

    def exception(self) -> Bot4Error:
        """The typed exception the API raises for this error."""
        return Bot4Error(self)

    def as_dict(self) -> dict[str, object]:
        """The venue's JSON error body: ``{"code": ..., "msg": ...}``."""
        return {"code": self.code, "msg": self.msg}


class Bot4Error(Exception):
    """Raised at the API edge; carries the `VenueError` that describes it."""

    def __init__(self, error: VenueError) -> None:
        super().__init__(f"{error.code}: {error.msg}")
        self.error = error

    @property
    def code(self) -> int:
        return self.error.code

    @property
    def msg(self) -> str:
        return self.error.msg

    @property
    def category(self) -> Category:
        return self.error.category

    @property
    def retryable(self) -> bool:
        return self.error.retryable


def _validation(code: Code, msg: str) -> VenueError:
    return VenueError(int(code), msg, Category.VALIDATION)


def _engine(msg: str, *, retryable: bool = False) -> VenueError:
    return VenueError(int(Code.NEW_ORDER_REJECTED), msg, Category.VENUE_RULE, retryable)


def filter_failure(name: str) -> VenueError:
    """The venue's answer when a symbol filter refuses an order."""
    return _validation(Code.INVALID_MESSAGE, f"Filter failure: {name}")


def mandatory_param(name: str) -> VenueError:
    return _validation(
        Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def one_of_params(first: str, second: str) -> VenueError:
    return _validation(
        Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Param '{first}' or '{second}' must be sent, but both were empty/null!",
    )


def param_not_required(name: str) -> VenueError:
    return _validation(Code.PARAM_NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def unknown_param(name: str) -> VenueError:
    return _validation(Code.UNKNOWN_PARAM, f"An unknown parameter was sent: '{name}'.")


def illegal_number(name: str) -> VenueError:
    return _validation(
        Code.ILLEGAL_CHARS,
        f"Illegal characters found in parameter '{name}'; "
        "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    )


def illegal_chars(name: str, pattern: str) -> VenueError:
    return _validation(
        Code.ILLEGAL_CHARS,
        f"Illegal characters found in parameter '{name}'; legal range is '{pattern}'.",
    )


def bad_precision(name: str) -> VenueError:
    return _validation(Code.BAD_PRECISION, f"Parameter '{name}' has too much precision.")


def invalid_parameter(name: str) -> VenueError:
    return _validation(Code.INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.")


def not_supported(what: str) -> VenueError:
    """An order type the symbol does not list, e.g. 'Market orders'."""
    return _engine(f"{what} are not supported for this symbol.")


BAD_SYMBOL = _validation(Code.BAD_SYMBOL, "Invalid symbol.")
STP_MODE_NOT_ALLOWED = _validation(
    Code.INVALID_MESSAGE, "This symbol does not allow the specified self-trade prevention mode."
)
INVALID_SIDE = _validation(Code.INVALID_SIDE, "Invalid side.")
INVALID_ORDER_TYPE = _validation(Code.INVALID_ORDER_TYPE, "Invalid orderType.")
INVALID_TIF = _validation(Code.INVALID_TIF, "Invalid timeInForce.")
TIF_NOT_REQUIRED = _validation(
    Code.TIF_NOT_REQUIRED, "TimeInForce parameter sent when not required."
)
EMPTY_NEW_CL_ORD_ID = _validation(Code.EMPTY_NEW_CL_ORD_ID, "New client order ID was empty.")
UNSUPPORTED_COMBINATION = _validation(
    Code.UNKNOWN_ORDER_COMPOSITION, "Unsupported order combination."
)

MARKET_CLOSED = _engine("Market is closed.")
DUPLICATE_ORDER = _engine("Duplicate order sent.")
INSUFFICIENT_BALANCE = _engine(
    "Account has insufficient balance for requested action.", retryable=True
)
PRICE_QTY_ZERO = _engine("Price * QTY is zero or less.")
WOULD_MATCH = _engine("Order would immediately match and take.")
WOULD_TRIGGER = _engine("Order would trigger immediately.")
NO_REFERENCE_PRICE = VenueError(
    int(Code.NO_REFERENCE_PRICE),
    "The symbol has no reference price yet (no trade inside avgPriceMins).",
    Category.VENUE_RULE,
    retryable=True,
)


def liquidity_below_min(filter_name: str) -> VenueError:
    return _engine(f"Order book liquidity is less than `{filter_name}` filter minimum quantity.")


UNKNOWN_ORDER = VenueError(int(Code.CANCEL_REJECTED), "Unknown order sent.", Category.VENUE_RULE)
CANCEL_IDS_MISSING = VenueError(
    int(Code.CANCEL_REJECTED),
    "Cancel order is invalid. Check origClOrdId and orderId.",
    Category.VALIDATION,
)
CANCEL_RESTRICTED = VenueError(
    int(Code.CANCEL_REJECTED),
    "Order was not canceled due to cancel restrictions.",
    Category.VENUE_RULE,
)
INVALID_CANCEL_RESTRICTIONS = _validation(
    Code.INVALID_CANCEL_RESTRICTIONS,
    "cancelRestrictions has to be either ONLY_NEW or ONLY_PARTIALLY_FILLED.",
)
CANCEL_REPLACE_PARTIALLY_FAILED = VenueError(
    int(Code.CANCEL_REPLACE_PARTIALLY_FAILED),
    "Order cancel-replace partially failed.",
    Category.VENUE_RULE,
)
CANCEL_REPLACE_FAILED = VenueError(
    int(Code.CANCEL_REPLACE_FAILED), "Order cancel-replace failed.", Category.VENUE_RULE
)


def amend_rejected(msg: str) -> VenueError:
    """An amend refused by the engine: -2038 with the engine's message."""
    return VenueError(int(Code.ORDER_AMEND_REJECTED), msg, Category.VENUE_RULE)


AMEND_NOT_SUPPORTED = amend_rejected("Order amend is not supported for this symbol.")
AMEND_QTY_INCREASE = amend_rejected("Order amend (quantity increase) is not supported.")
AMEND_NO_CHANGE = amend_rejected("The requested action would change no state; rejecting")
AMEND_UNKNOWN_ORDER = amend_rejected("Unknown order sent.")
AMEND_TOO_MANY = amend_rejected("Filter failure: MAX_NUM_ORDER_AMENDS")
AMEND_DUPLICATE = amend_rejected("Duplicate order sent.")
CANCEL_REPLACE_NOT_SUPPORTED = _engine("Order cancel-replace is not supported for this symbol.")

NO_SUCH_ORDER = VenueError(int(Code.NO_SUCH_ORDER), "Order does not exist.", Category.VENUE_RULE)
CLIENT_ORDER_ID_MISMATCH = VenueError(
    int(Code.CLIENT_ORDER_ID_INVALID),
    "Client order ID is not correct for this order ID.",
    Category.VALIDATION,
)
UNKNOWN_ACCOUNT = VenueError(
    int(Code.REJECTED_MBX_KEY), "Invalid API-key, IP, or permissions for action.", Category.AUTH
)


# order lists (rest-api.md, errors.md)


def _oco_error(code: int, msg: str) -> VenueError:
    return VenueError(code, msg, Category.VALIDATION)


OCO_TYPE_REJECTED = _oco_error(-1158, "Order type not supported in OCO.")
BUY_LIMIT_MUST_BE_BELOW = _oco_error(-1165, "A limit order in a buy OCO must be below.")
SELL_LIMIT_MUST_BE_ABOVE = _oco_error(-1166, "A limit order in a sell OCO must be above.")
BOTH_CANNOT_BE_LIMIT = _oco_error(-1168, "At least one OCO order must be contingent.")
BUY_STOP_MUST_BE_ABOVE = _oco_error(-1196, "A stop loss order in a buy OCO must be above.")
SELL_STOP_MUST_BE_BELOW = _oco_error(-1197, "A stop loss order in a sell OCO must be below.")
BUY_PROFIT_MUST_BE_BELOW = _oco_error(-1198, "A take profit order in a buy OCO must be below.")
SELL_PROFIT_MUST_BE_ABOVE = _oco_error(-1199, "A take profit order in a sell OCO must be above.")
BAD_PRICES = VenueError(
    int(Code.NEW_ORDER_REJECTED),
    "The relationship of the prices for the orders is not correct.",
    Category.VENUE_RULE,
)
WORKING_TYPE_REJECTED = _oco_error(-1158, "Order type not supported as the working order.")
PENDING_QUOTE_QTY = param_not_required("pendingQuoteOrderQty")
DUPLICATE_LIST = _engine("Duplicate order sent.")
UNKNOWN_LIST = VenueError(
    int(Code.CANCEL_REJECTED), "Unknown order list sent.", Category.VENUE_RULE
)


def risk(code: Code, msg: str, *, retryable: bool = False) -> VenueError:
    """A refusal by pre-trade risk."""
    return VenueError(int(code), msg, Category.RISK, retryable)


def too_many_orders(limit: int, interval: str, retry_after_ms: int) -> VenueError:
    """The venue's ORDERS rate limit answer, with when the next order can pass."""
    return VenueError(
        int(Code.TOO_MANY_ORDERS),
        f"Too many new orders; current limit is {limit} orders per {interval}.",
        Category.RATE_LIMIT,
        True,
        retry_after_ms,
    )


def backpressure(symbol: str, retry_after_ms: int) -> VenueError:
    """A symbol's mailbox is full: nothing was queued; retry after `retry_after_ms`."""
    return VenueError(
        int(Code.BACKPRESSURE),
        f"Backpressure: the {symbol} mailbox is full; request not queued.",
        Category.BACKPRESSURE,
        True,
        retry_after_ms,
    )


IDEMPOTENCY_CONFLICT = VenueError(
    int(Code.IDEMPOTENCY_CONFLICT),
    "Idempotency key reused with a different request.",
    Category.VALIDATION,
)

IDEMPOTENCY_IN_FLIGHT = VenueError(
    int(Code.IDEMPOTENCY_IN_FLIGHT),
    "A request with this idempotency key is being processed; retry later.",
    Category.BACKPRESSURE,
    True,
    50,
)


def time_behind(now: int, clock: int) -> VenueError:
    """A command whose time is before the symbol's clock: time never goes back on a symbol."""
    return VenueError(
        int(Code.TIME_BEHIND),
        f"Command time {now} is before the symbol's clock {clock}; time cannot go back.",
        Category.VALIDATION,
    )


def symbol_stopped(symbol: str, reason: str) -> VenueError:
    """Every request to a symbol that stopped on a fault it cannot repair by itself."""
    return VenueError(int(Code.SYMBOL_STOPPED), f"{symbol} is stopped: {reason}", Category.INTERNAL)
