"""Types of the native core's extension module (built from native/ by maturin)."""

__version__: str

class AveragePrice:
    """The symbol's reference price, natively (`bot4.venue.avgprice.AveragePrice`)."""

    def __init__(self, window_minutes: int, seed_price: int | None = None) -> None: ...
    def record(self, time: int, price: int, lots: int) -> None: ...
    @property
    def last(self) -> int | None: ...
    @property
    def window_ms(self) -> int: ...
    def reference(self, now: int) -> tuple[int, int] | None: ...
    def state(self) -> tuple[int | None, list[tuple[int, int, int]]]: ...

class StopBook:
    """Waiting stop orders by order id (`bot4.venue.stops.StopBook`, natively)."""

    def __init__(self) -> None: ...
    def __len__(self) -> int: ...
    def add(
        self,
        order_id: int,
        rise: bool,
        buy: bool,
        stop_price: int,
        trailing_delta: int,
        last_price: int | None = None,
    ) -> None: ...
    def remove(self, order_id: int) -> bool: ...
    def fire(self, price: int, now: int) -> list[int]: ...
    def trail(self, order_id: int) -> tuple[int | None, int] | None: ...

_Pair = tuple[int, int]
_Commission = tuple[int, bool, _Pair, _Pair, _Pair]

def commission(
    received: int,
    standard: _Pair,
    tax: _Pair,
    special: _Pair,
    discount: _Pair | None,
    is_buyer: bool,
    bnb_price: _Pair | None = None,
    bnb_balance: int = 0,
) -> _Commission:
    """`bot4.core.fees.commission` natively: (units, in_bnb, standard, tax, special)."""

def trade_commission(
    standard: _Pair,
    tax: _Pair,
    special: _Pair,
    discount: _Pair | None,
    is_buyer: bool,
    base_units: int,
    quote_units: int,
    bnb_price_quote: _Pair | None = None,
    bnb_balance: int = 0,
) -> tuple[str, _Commission]:
    """`bot4.core.fees.trade_commission` natively: the asset, and the commission."""
