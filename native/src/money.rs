//! Exact money: integer ticks, lots and asset units, every step checked. An overflow is a
//! typed error the caller turns into the venue's refusal; it never wraps and never panics.

use std::fmt;

/// Why an amount could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// The result does not fit the integer type.
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::Overflow => f.write_str("amount out of range"),
        }
    }
}

impl std::error::Error for MoneyError {}

/// The integer types money is kept in.
pub trait Amount: Copy {
    fn add(self, other: Self) -> Option<Self>;
    fn sub(self, other: Self) -> Option<Self>;
    fn mul(self, other: Self) -> Option<Self>;
}

macro_rules! amount {
    ($($t:ty),*) => {$(
        impl Amount for $t {
            fn add(self, other: Self) -> Option<Self> { self.checked_add(other) }
            fn sub(self, other: Self) -> Option<Self> { self.checked_sub(other) }
            fn mul(self, other: Self) -> Option<Self> { self.checked_mul(other) }
        }
    )*};
}

amount!(i64, i128);

/// `a + b`, or `Overflow`.
pub fn checked_add<T: Amount>(a: T, b: T) -> Result<T, MoneyError> {
    a.add(b).ok_or(MoneyError::Overflow)
}

/// `a - b`, or `Overflow`.
pub fn checked_sub<T: Amount>(a: T, b: T) -> Result<T, MoneyError> {
    a.sub(b).ok_or(MoneyError::Overflow)
}

/// `a * b`, or `Overflow`.
pub fn checked_mul<T: Amount>(a: T, b: T) -> Result<T, MoneyError> {
    a.mul(b).ok_or(MoneyError::Overflow)
}

/// An i128 amount narrowed to i64, or `Overflow`.
pub fn narrow(value: i128) -> Result<i64, MoneyError> {
    i64::try_from(value).map_err(|_| MoneyError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_steps_refuse_instead_of_wrapping() {
        assert_eq!(checked_add(1i64, 2), Ok(3));
        assert_eq!(checked_add(i64::MAX, 1), Err(MoneyError::Overflow));
        assert_eq!(checked_sub(i64::MIN, 1), Err(MoneyError::Overflow));
        assert_eq!(checked_mul(i64::MAX, 2), Err(MoneyError::Overflow));
        assert_eq!(
            checked_mul(i128::from(i64::MAX), 2),
            Ok(i128::from(i64::MAX) * 2)
        );
        assert_eq!(narrow(i128::from(i64::MAX) + 1), Err(MoneyError::Overflow));
        assert_eq!(narrow(-5), Ok(-5));
        assert_eq!(MoneyError::Overflow.to_string(), "amount out of range");
    }
}
