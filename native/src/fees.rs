//! Commission on a fill, exactly as `bot4/core/fees.py` computes it (`commission`,
//! `trade_commission`): the standard, tax and special parts are exact fractions of the charged
//! asset's unit, added, and rounded up once. On the BNB path the standard part is discounted
//! and every part converted to BNB units at the given price; if the account's BNB does not
//! cover the rounded amount, the full commission is charged in the received asset instead.
//!
//! Fractions are reduced `i128` ratios. Decimal rates and prices stay well inside them; when
//! a step would overflow, the same sum is computed again in unbounded integers, so the answer
//! is always Python's. Only a commission beyond `i128` units is an error, never a wrap.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

use crate::money::MoneyError;

/// Why a commission could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeError {
    Money(MoneyError),
    /// A negative received amount, or a zero or negative BNB price or denominator.
    Invalid(&'static str),
}

impl From<MoneyError> for FeeError {
    fn from(err: MoneyError) -> Self {
        FeeError::Money(err)
    }
}

impl std::fmt::Display for FeeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeeError::Money(err) => err.fmt(f),
            FeeError::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for FeeError {}

/// An exact fraction, reduced, with a positive denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    num: i128,
    den: i128,
}

impl Default for Ratio {
    fn default() -> Self {
        Ratio::ZERO
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    // on magnitudes; callers keep i128::MIN out (it has no positive counterpart)
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };

    /// `num / den`, reduced; `den` must be positive.
    pub fn new(num: i128, den: i128) -> Result<Self, FeeError> {
        if den <= 0 {
            return Err(FeeError::Invalid(
                "a fraction's denominator must be positive",
            ));
        }
        if num == i128::MIN {
            return Err(MoneyError::Overflow.into());
        }
        let g = gcd(num, den).max(1);
        Ok(Ratio {
            num: num / g,
            den: den / g,
        })
    }

    pub fn integer(value: i128) -> Result<Self, FeeError> {
        Ratio::new(value, 1)
    }

    pub fn numer(&self) -> i128 {
        self.num
    }

    pub fn denom(&self) -> i128 {
        self.den
    }

    pub fn is_positive(&self) -> bool {
        self.num > 0
    }

    pub fn checked_add(self, other: Ratio) -> Result<Ratio, FeeError> {
        let g = gcd(self.den, other.den);
        let (a, b) = (self.den / g, other.den / g);
        let num = mul(self.num, b)?.checked_add(mul(other.num, a)?);
        Ratio::new(num.ok_or(MoneyError::Overflow)?, mul(self.den, b)?)
    }

    pub fn checked_mul(self, other: Ratio) -> Result<Ratio, FeeError> {
        // cross-reduce first so that the products stay as small as the result
        let g1 = gcd(self.num, other.den).max(1);
        let g2 = gcd(other.num, self.den).max(1);
        Ratio::new(
            mul(self.num / g1, other.num / g2)?,
            mul(self.den / g2, other.den / g1)?,
        )
    }

    pub fn checked_div(self, other: Ratio) -> Result<Ratio, FeeError> {
        if other.num == 0 {
            return Err(FeeError::Invalid("division by zero"));
        }
        let flip = if other.num < 0 {
            Ratio {
                num: -other.den,
                den: -other.num,
            }
        } else {
            Ratio {
                num: other.den,
                den: other.num,
            }
        };
        self.checked_mul(flip)
    }

    /// The smallest whole number at least this (the fee module's one rounding rule).
    pub fn ceil(self) -> i128 {
        // den > 0; num > i128::MIN by construction, so the negation cannot overflow
        -(-self.num).div_euclid(self.den)
    }
}

fn mul(a: i128, b: i128) -> Result<i128, MoneyError> {
    a.checked_mul(b).ok_or(MoneyError::Overflow)
}

/// One trade's effective rates (role and side already added), as `fees.Rates`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub standard: Ratio,
    pub tax: Ratio,
    pub special: Ratio,
    /// The factor on `standard` when paid in BNB, or None if BNB cannot be used.
    pub discount: Option<Ratio>,
    pub is_buyer: bool,
}

/// A commission in whole units of the charged asset: BNB if `in_bnb`, else the received one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commission {
    pub units: i128,
    pub in_bnb: bool,
}

/// The exact (unrounded) standard, tax and special parts of a commission.
pub type Parts = [BigRational; 3];

/// The commission on `received` units of the received asset. `bnb_price` is received-asset
/// units per BNB unit; with it, a BNB discount in `rates`, and `bnb_balance` covering the
/// rounded BNB amount, the commission is charged in BNB.
pub fn commission(
    received: i128,
    rates: &Rates,
    bnb_price: Option<Ratio>,
    bnb_balance: i128,
) -> Result<Commission, FeeError> {
    match commission_small(received, rates, bnb_price, bnb_balance) {
        Err(FeeError::Money(MoneyError::Overflow)) => {
            let price = bnb_price.map(big);
            let (units, in_bnb, _) =
                commission_parts(received, rates, price.as_ref(), bnb_balance)?;
            let units = units.to_i128().ok_or(MoneyError::Overflow)?;
            Ok(Commission { units, in_bnb })
        }
        other => other,
    }
}

fn check(received: i128, rates: &Rates, bnb_price: Option<bool>) -> Result<bool, FeeError> {
    if received < 0 {
        return Err(FeeError::Invalid("received_units must not be negative"));
    }
    let bnb = bnb_price.is_some() && rates.discount.is_some();
    if bnb && bnb_price != Some(true) {
        return Err(FeeError::Invalid("bnb_price must be positive"));
    }
    Ok(bnb)
}

/// `commission` in `i128` fractions: an overflow error when they run out.
fn commission_small(
    received: i128,
    rates: &Rates,
    bnb_price: Option<Ratio>,
    bnb_balance: i128,
) -> Result<Commission, FeeError> {
    let amount = Ratio::integer(received)?;
    if check(received, rates, bnb_price.map(|p| p.is_positive()))? {
        let (price, discount) = (
            bnb_price.unwrap_or(Ratio::ZERO),
            rates.discount.unwrap_or(Ratio::ZERO),
        );
        let std = amount
            .checked_mul(rates.standard)?
            .checked_mul(discount)?
            .checked_div(price)?;
        let tax = amount.checked_mul(rates.tax)?.checked_div(price)?;
        let special = amount.checked_mul(rates.special)?.checked_div(price)?;
        let units = std.checked_add(tax)?.checked_add(special)?.ceil();
        if units <= bnb_balance {
            return Ok(Commission {
                units,
                in_bnb: true,
            });
        }
    }
    let std = amount.checked_mul(rates.standard)?;
    let tax = amount.checked_mul(rates.tax)?;
    let special = amount.checked_mul(rates.special)?;
    let units = std.checked_add(tax)?.checked_add(special)?.ceil();
    Ok(Commission {
        units,
        in_bnb: false,
    })
}

/// The same fraction, unbounded.
pub fn big(value: Ratio) -> BigRational {
    BigRational::new(BigInt::from(value.num), BigInt::from(value.den))
}

/// `commission` in unbounded integers, with its exact parts: (units, in_bnb, parts).
pub fn commission_parts(
    received: i128,
    rates: &Rates,
    bnb_price: Option<&BigRational>,
    bnb_balance: i128,
) -> Result<(BigInt, bool, Parts), FeeError> {
    let amount = BigRational::from_integer(BigInt::from(received));
    if check(received, rates, bnb_price.map(|p| p.is_positive()))? {
        let discount = big(rates.discount.unwrap_or(Ratio::ZERO));
        let price = bnb_price.cloned().unwrap_or_else(BigRational::zero);
        let parts = [
            &amount * big(rates.standard) * discount / &price,
            &amount * big(rates.tax) / &price,
            &amount * big(rates.special) / &price,
        ];
        let units = (&parts[0] + &parts[1] + &parts[2]).ceil().to_integer();
        if units <= BigInt::from(bnb_balance) {
            return Ok((units, true, parts));
        }
    }
    let parts = [
        &amount * big(rates.standard),
        &amount * big(rates.tax),
        &amount * big(rates.special),
    ];
    let units = (&parts[0] + &parts[1] + &parts[2]).ceil().to_integer();
    Ok((units, false, parts))
}

/// Which asset a trade's commission is charged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeAsset {
    Base,
    Quote,
    Bnb,
}

/// One fill's commission: a BUY pays in base (of `base_units`), a SELL in quote (of the
/// notional); the BNB amount comes from the quote notional for both sides.
pub fn trade_commission(
    rates: &Rates,
    base_units: i128,
    quote_units: i128,
    bnb_price_quote: Option<Ratio>,
    bnb_balance: i128,
) -> Result<(FeeAsset, Commission), FeeError> {
    if bnb_price_quote.is_some() && rates.discount.is_some() {
        let paid = commission(quote_units, rates, bnb_price_quote, bnb_balance)?;
        if paid.in_bnb {
            return Ok((FeeAsset::Bnb, paid));
        }
    }
    if rates.is_buyer {
        Ok((FeeAsset::Base, commission(base_units, rates, None, 0)?))
    } else {
        Ok((FeeAsset::Quote, commission(quote_units, rates, None, 0)?))
    }
}

/// `trade_commission` for a BNB price given unbounded (a fill's own price, a conversion):
/// in `i128` fractions when the price fits them, else wholly in unbounded integers.
pub fn trade_commission_exact(
    rates: &Rates,
    base_units: i128,
    quote_units: i128,
    bnb_price_quote: Option<&BigRational>,
    bnb_balance: i128,
) -> Result<(FeeAsset, Commission), FeeError> {
    let Some(price) = bnb_price_quote else {
        return trade_commission(rates, base_units, quote_units, None, bnb_balance);
    };
    if let (Some(num), Some(den)) = (price.numer().to_i128(), price.denom().to_i128()) {
        if let Ok(small) = Ratio::new(num, den) {
            return trade_commission(rates, base_units, quote_units, Some(small), bnb_balance);
        }
    }
    if rates.discount.is_some() {
        let (units, in_bnb, _) = commission_parts(quote_units, rates, Some(price), bnb_balance)?;
        if in_bnb {
            let units = units.to_i128().ok_or(MoneyError::Overflow)?;
            return Ok((FeeAsset::Bnb, Commission { units, in_bnb }));
        }
    }
    trade_commission(rates, base_units, quote_units, None, bnb_balance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(num: i128, den: i128) -> Ratio {
        Ratio::new(num, den).unwrap()
    }

    fn rates(standard: Ratio, tax: Ratio, discount: Option<Ratio>, is_buyer: bool) -> Rates {
        Rates {
            standard,
            tax,
            special: Ratio::ZERO,
            discount,
            is_buyer,
        }
    }

    #[test]
    fn fractions_reduce_and_round_up_once() {
        assert_eq!(r(2, 4), r(1, 2));
        assert_eq!(r(1, 3).checked_add(r(1, 6)).unwrap(), r(1, 2));
        assert_eq!(r(-7, 2).ceil(), -3);
        assert_eq!(r(7, 2).ceil(), 4);
        assert_eq!(r(6, 3).ceil(), 2);
        assert_eq!(r(1, 2).checked_div(r(-1, 4)).unwrap(), r(-2, 1));
        assert!(Ratio::new(1, 0).is_err() && Ratio::new(i128::MIN, 1).is_err());
        assert_eq!(
            r(i128::MAX, 1).checked_add(r(1, 1)),
            Err(FeeError::Money(MoneyError::Overflow))
        );
        assert_eq!(
            r(1, 2).checked_div(Ratio::ZERO),
            Err(FeeError::Invalid("division by zero"))
        );
    }

    #[test]
    fn a_non_zero_rate_on_a_non_zero_amount_costs_at_least_one_unit() {
        let taker = rates(r(1, 1000), Ratio::ZERO, None, true);
        assert_eq!(commission(1, &taker, None, 0).unwrap().units, 1);
        assert_eq!(commission(0, &taker, None, 0).unwrap().units, 0);
        assert_eq!(commission(2_000, &taker, None, 0).unwrap().units, 2);
        assert!(commission(-1, &taker, None, 0).is_err());
    }

    #[test]
    fn the_faq_tax_figure_rounds_up_at_the_eighth_place() {
        // 0.040229875 USDT of tax at 1e-8 units: 4022987.5 units, charged 4022988
        let sell = rates(Ratio::ZERO, r(1, 1000), None, false);
        let paid = commission(4_022_987_500, &sell, None, 0).unwrap();
        assert_eq!(paid.units, 4_022_988);
        let (_, _, parts) = commission_parts(4_022_987_500, &sell, None, 0).unwrap();
        assert_eq!(parts[1], big(r(8_045_975, 2)));
    }

    #[test]
    fn bnb_pays_the_discounted_standard_part_when_the_balance_covers_it() {
        let buy = rates(r(1, 1000), r(1, 10_000), Some(r(3, 4)), true);
        let price = Some(r(260, 1)); // 260 quote units per BNB unit
        // quote notional 2 600 000: standard 2 600 x 0.75 = 1 950, tax 260, both / 260
        let (asset, paid) = trade_commission(&buy, 100, 2_600_000, price, 9).unwrap();
        assert_eq!((asset, paid.units, paid.in_bnb), (FeeAsset::Bnb, 9, true));
        let (_, _, parts) = commission_parts(2_600_000, &buy, price.map(big).as_ref(), 9).unwrap();
        assert_eq!(parts[0], big(r(15, 2)));
        // one unit short: the full commission in the received asset (base, for a BUY)
        let (asset, paid) = trade_commission(&buy, 100, 2_600_000, price, 8).unwrap();
        assert_eq!((asset, paid.units, paid.in_bnb), (FeeAsset::Base, 1, false));
        let sell = Rates {
            is_buyer: false,
            ..buy
        };
        let (asset, paid) = trade_commission(&sell, 100, 2_600_000, None, 1_000).unwrap();
        assert_eq!((asset, paid.units), (FeeAsset::Quote, 2_860));
        assert!(commission(1, &buy, Some(Ratio::ZERO), 10).is_err());
    }

    #[test]
    fn past_128_bits_the_unbounded_sum_answers() {
        // denominators that share nothing: the i128 fractions run out, the answer does not
        let odd = Rates {
            standard: r(999_999_999_999_999_989, 1_000_000_000_000_000_007),
            tax: r(1, 1_000_000_007),
            special: r(7, 998_244_353),
            discount: Some(r(3, 4)),
            is_buyer: true,
        };
        let price = Some(r(1_000_000_000_000_000_003, 999_999_999_999_999_877));
        assert_eq!(
            commission_small(i64::MAX.into(), &odd, price, i64::MAX.into()),
            Err(FeeError::Money(MoneyError::Overflow))
        );
        let paid = commission(i64::MAX.into(), &odd, price, i64::MAX.into()).unwrap();
        let big_price = price.map(big);
        let (units, in_bnb, _) =
            commission_parts(i64::MAX.into(), &odd, big_price.as_ref(), i64::MAX.into()).unwrap();
        let (asset, exact) = trade_commission_exact(
            &odd,
            1,
            i64::MAX.into(),
            big_price.as_ref(),
            i64::MAX.into(),
        )
        .unwrap();
        assert_eq!((asset, exact.units), (FeeAsset::Bnb, paid.units));
        assert_eq!((BigInt::from(paid.units), paid.in_bnb), (units, in_bnb));
        assert!(paid.in_bnb && paid.units > 0);
    }
}
