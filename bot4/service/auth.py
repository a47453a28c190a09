"""Signed requests as the venue checks them: API key, HMAC signature, timestamp window, replay.

* Signing: ``signature = hex(HMAC_SHA256(secret, totalParams))`` where totalParams is the query
  string concatenated with the request body, no separator, both exactly as sent
  (percent-encoded). The ``signature`` parameter is the last parameter of the query string or
  of the body and is not itself signed. The hex signature is not case sensitive.
* Timestamps: ``timestamp`` in milliseconds, or in microseconds when it has 16 digits.
  ``recvWindow`` in milliseconds with up to 3 decimals, default 5000, at most 60000. The
  request is accepted when ``timestamp < serverTime + 1000 ms`` and
  ``serverTime - timestamp <= recvWindow``; otherwise -1021. All arithmetic is in integer µs.
* Replay: a signature accepted once is refused again (-9201, a bot4 code) for as long as its
  request could still pass the window, that is until its own ``timestamp + recvWindow``
  (`ReplayMemory`). A signature is never forgotten earlier: when `replay_capacity` signatures
  are live, a new signed request is refused with -9205 (retryable) until some expire. Size the
  capacity for the signed request rate times the longest recvWindow in use plus 1 s.

Pure: the server time is passed in (`now_us`), nothing reads a clock or does I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from bot4.core import errors
from bot4.core.errors import Category, VenueError
from bot4.service.replays import ReplayMemory, Seen

DEFAULT_WINDOW_MS = 5_000
MAX_WINDOW_MS = 60_000
AHEAD_US = 1_000_000  # a timestamp must be less than serverTime + 1000 ms
_US_FROM = 10**15  # timestamps from here (16 digits) are microseconds
_US_TO = 10**16  # 17 digits and more: malformed

TIMESTAMP_AHEAD = VenueError(
    -1021, "Timestamp for this request was 1000ms ahead of the server's time.", Category.AUTH, True
)
TIMESTAMP_OUTSIDE_WINDOW = VenueError(
    -1021, "Timestamp for this request is outside of the recvWindow.", Category.AUTH, True
)
INVALID_SIGNATURE = VenueError(-1022, "Signature for this request is not valid.", Category.AUTH)
INVALID_API_KEY = errors.UNKNOWN_ACCOUNT  # -2015 "Invalid API-key, IP, or permissions for action."
REPLAYED = VenueError(
    int(errors.Code.REPLAYED), "Replayed request: this signature was already used.", Category.AUTH
)
REPLAY_MEMORY_FULL = VenueError(
    int(errors.Code.REPLAY_MEMORY_FULL),
    "Too many signed requests inside their recvWindow to guard against replay; retry later.",
    Category.BACKPRESSURE,
    True,
    1_000,
)
BAD_RECV_WINDOW = VenueError(
    -1131,
    f"recvWindow must be a number of milliseconds from 0 to {MAX_WINDOW_MS} "
    "with at most 3 decimals.",
    Category.VALIDATION,
)
DUPLICATE_PARAMETER = VenueError(
    -1101, "Duplicate values for a parameter detected.", Category.VALIDATION
)
ILLEGAL_PARAMS = VenueError(-1100, "Illegal characters found in a parameter.", Category.VALIDATION)
BAD_TIMESTAMP = errors.mandatory_param("timestamp")  # -1102: missing, empty or malformed

_WINDOW = re.compile(r"([0-9]{1,10})(?:\.([0-9]{1,3}))?")
_SIGNATURE = "signature="


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A signed request as received: API key (X-MBX-APIKEY), raw query string, raw body."""

    api_key: str
    query: str
    body: str = ""


@dataclass(frozen=True, slots=True)
class _Key:
    account: str
    secret: bytes = field(repr=False)


class KeyRing:
    """API keys per account: api_key -> (account, secret). Secrets never leave the ring."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[str, _Key] = {}

    def add(self, api_key: str, account: str, secret: bytes) -> None:
        """Register a key; an account may hold several. Raises ValueError on bad or reused keys."""
        if not isinstance(api_key, str) or not api_key:
            raise ValueError("api_key must be a non-empty string")
        if not isinstance(account, str) or not account:
            raise ValueError("account must be a non-empty string")
        if not isinstance(secret, bytes) or not secret:
            raise ValueError("secret must be non-empty bytes")
        if api_key in self._keys:
            raise ValueError("api_key is already registered; remove it first")
        self._keys[api_key] = _Key(account, secret)

    def remove(self, api_key: str) -> bool:
        """Revoke a key; False when it was not registered."""
        return self._keys.pop(api_key, None) is not None

    def account_of(self, api_key: str) -> str | None:
        """The account that owns `api_key`, or None."""
        key = self._keys.get(api_key)
        return None if key is None else key.account

    def signature_matches(self, api_key: str, total_params: str, signature: str) -> bool:
        """Whether `signature` (hex, any case) signs `total_params` with this key's secret.

        Constant-time comparison; False for an unknown key.
        """
        key = self._keys.get(api_key)
        if key is None:
            return False
        expected = sign(key.secret, total_params).encode("ascii")
        return hmac.compare_digest(signature.lower().encode("utf-8"), expected)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, api_key: object) -> bool:
        return api_key in self._keys

    def __repr__(self) -> str:
        return f"KeyRing({len(self._keys)} keys)"

    __str__ = __repr__


def sign(secret: bytes, total_params: str) -> str:
    """The venue's HMAC-SHA256 signature of `total_params` (query + body), lowercase hex."""
    return hmac.new(secret, total_params.encode("utf-8"), hashlib.sha256).hexdigest()


def split_signature(params: str) -> tuple[str, str | None]:
    """Strip a trailing ``&signature=...`` (or a lone ``signature=...``) from `params`.

    Returns (params without it, signature); (params, None) when the last parameter is not a
    signature.
    """
    start = params.rfind("&" + _SIGNATURE)
    if start >= 0:
        value = params[start + 1 + len(_SIGNATURE) :]
    elif params.startswith(_SIGNATURE):
        start, value = 0, params[len(_SIGNATURE) :]
    else:
        return params, None
    if "&" in value:
        return params, None
    return params[:start], value


def parse_params(params: str) -> dict[str, str] | VenueError:
    """Decode one query string or form body (`parse_qsl`, strict) to a name -> value map.

    A field without ``=``, an empty name or invalid UTF-8 gives -1100; a repeated name -1101.
    Parse the query and the body separately: their concatenation has no separator.
    """
    try:
        pairs = parse_qsl(params, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:  # includes UnicodeDecodeError
        return ILLEGAL_PARAMS
    result: dict[str, str] = {}
    for name, value in pairs:
        if not name:
            return ILLEGAL_PARAMS
        if name in result:
            return DUPLICATE_PARAMETER
        result[name] = value
    return result


def timestamp_us(timestamp: str | int) -> int | None:
    """A timestamp in µs: milliseconds below 10**15, microseconds with 16 digits; else None."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        return None
    if isinstance(timestamp, str):
        if not (0 < len(timestamp) <= 20 and timestamp.isascii() and timestamp.isdigit()):
            return None
        value = int(timestamp)
    else:
        value = timestamp
    if value < 0 or value >= _US_TO:
        return None
    return value * 1_000 if value < _US_FROM else value


def window_us(recv_window: str | int, max_window_ms: int = MAX_WINDOW_MS) -> int | None:
    """recvWindow (ms, up to 3 decimals) in µs, or None if malformed or above the maximum."""
    if isinstance(recv_window, bool) or not isinstance(recv_window, str | int):
        return None
    if isinstance(recv_window, str):
        match = _WINDOW.fullmatch(recv_window)
        if match is None:
            return None
        whole, fraction = match.groups()
        value = int(whole) * 1_000 + int((fraction or "").ljust(3, "0"))
    else:
        value = recv_window * 1_000
    return value if 0 <= value <= max_window_ms * 1_000 else None


class TimestampGuard:
    """The venue's timing security: accepts `timestamp` within `recv_window` of `now_us`."""

    __slots__ = ("ahead_us", "default_window_ms", "max_window_ms")

    def __init__(
        self,
        *,
        ahead_us: int = AHEAD_US,
        max_window_ms: int = MAX_WINDOW_MS,
        default_window_ms: int = DEFAULT_WINDOW_MS,
    ) -> None:
        if ahead_us <= 0 or max_window_ms <= 0 or not 0 <= default_window_ms <= max_window_ms:
            raise ValueError("need ahead_us > 0, max_window_ms > 0, 0 <= default <= max")
        self.ahead_us = ahead_us
        self.max_window_ms = max_window_ms
        self.default_window_ms = default_window_ms

    def check(
        self, timestamp: str | int, recv_window: str | int | None, now_us: int
    ) -> VenueError | None:
        """None when accepted; else -1102 (bad timestamp), -1131 (bad recvWindow) or -1021.

        Accepted iff ``timestamp < now + ahead`` and ``now - timestamp <= recvWindow`` (µs).
        """
        verdict = self.passes_until(timestamp, recv_window, now_us)
        return verdict if type(verdict) is VenueError else None

    def passes_until(
        self, timestamp: str | int, recv_window: str | int | None, now_us: int
    ) -> int | VenueError:
        """`check`, but an accepted request gives the last µs at which it still passes
        (``timestamp + recvWindow``), which is how long a replay of it must be refused."""
        ts = timestamp_us(timestamp)
        if ts is None:
            return BAD_TIMESTAMP
        if recv_window is None:
            window = self.default_window_ms * 1_000
        else:
            parsed = window_us(recv_window, self.max_window_ms)
            if parsed is None:
                return BAD_RECV_WINDOW
            window = parsed
        if ts >= now_us + self.ahead_us:
            return TIMESTAMP_AHEAD
        if now_us - ts > window:
            return TIMESTAMP_OUTSIDE_WINDOW
        return ts + window


class RequestVerifier:
    """Verifies a signed request end to end: API key, signature, timestamp window, replay."""

    __slots__ = ("_replays", "guard", "keys")

    def __init__(
        self, keys: KeyRing, guard: TimestampGuard | None = None, replay_capacity: int = 1_000_000
    ) -> None:
        self.keys = keys
        self.guard = guard if guard is not None else TimestampGuard()
        self._replays = ReplayMemory(replay_capacity)

    @property
    def replay_size(self) -> int:
        """How many signatures the replay memory holds now (never above its capacity)."""
        return len(self._replays)

    @property
    def replay_capacity(self) -> int:
        return self._replays.capacity

    def verify(
        self, request: SignedRequest, now_us: int
    ) -> tuple[str, dict[str, str]] | VenueError:
        """(account, parameters without the signature), or the venue's error.

        Order: API key (-2015), signature (-1022), parameters (-1100/-1101), timestamp (-1102),
        recvWindow (-1131), window (-1021), replay (-9201), replay memory full (-9205, retryable).
        Only an accepted request is recorded.
        A parameter sent in both query and body takes the query's value, as on the venue.
        """
        account = self.keys.account_of(request.api_key)
        if account is None:
            return INVALID_API_KEY
        query, in_query = split_signature(request.query)
        body, in_body = split_signature(request.body)
        if in_query is not None and in_body is not None:
            return DUPLICATE_PARAMETER
        signature = in_query if in_query is not None else in_body
        if signature is None or not self.keys.signature_matches(
            request.api_key, query + body, signature
        ):
            return INVALID_SIGNATURE
        query_params = parse_params(query)
        if isinstance(query_params, VenueError):
            return query_params
        body_params = parse_params(body)
        if isinstance(body_params, VenueError):
            return body_params
        params = {**body_params, **query_params}
        if "signature" in params:  # a second or non-final signature parameter
            return INVALID_SIGNATURE
        timestamp = params.get("timestamp")
        if timestamp is None:
            return BAD_TIMESTAMP
        last_us = self.guard.passes_until(timestamp, params.get("recvWindow"), now_us)
        if type(last_us) is VenueError:
            return last_us
        assert type(last_us) is int
        seen = self._replays.record(f"{request.api_key}:{signature.lower()}", last_us, now_us)
        if seen is Seen.REPLAYED:
            return REPLAYED
        if seen is Seen.FULL:
            return REPLAY_MEMORY_FULL
        return account, params
