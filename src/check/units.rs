//! Exact quantities: rational numbers with a physical dimension, normalised to bytes,
//! seconds and US dollars. `4 TB + 512 GiB` is exact; `4 TB + 3 h` is an error.

use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// An exact rational number; `den` is always positive and the fraction reduced.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exact {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Exact {
    pub const ZERO: Exact = Exact { num: 0, den: 1 };
    pub const ONE: Exact = Exact { num: 1, den: 1 };

    pub fn new(num: i128, den: i128) -> Option<Exact> {
        if den == 0 {
            return None;
        }
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den);
        Some(Exact {
            num: (num / g).checked_mul(sign)?,
            den: (den / g).checked_mul(sign)?,
        })
    }

    pub fn int(n: i128) -> Exact {
        Exact { num: n, den: 1 }
    }

    /// Parses a decimal literal such as `42`, `-0.09` or `3e-4` exactly.
    pub fn parse(text: &str) -> Option<Exact> {
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let (negative, int_part) = match int_part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, int_part),
        };
        let mut num: i128 = 0;
        for c in int_part.chars().chain(frac_part.chars()) {
            let digit = c.to_digit(10)?;
            num = num.checked_mul(10)?.checked_add(i128::from(digit))?;
        }
        if negative {
            num = -num;
        }
        let scale = exponent.checked_sub(frac_part.len() as i32)?;
        if scale >= 0 {
            Exact::new(num.checked_mul(10i128.checked_pow(scale as u32)?)?, 1)
        } else {
            Exact::new(num, 10i128.checked_pow(scale.unsigned_abs())?)
        }
    }

    pub fn checked_add(self, o: Exact) -> Option<Exact> {
        let g = gcd(self.den, o.den);
        let den = (self.den / g).checked_mul(o.den)?;
        let num = self
            .num
            .checked_mul(o.den / g)?
            .checked_add(o.num.checked_mul(self.den / g)?)?;
        Exact::new(num, den)
    }

    pub fn checked_neg(self) -> Option<Exact> {
        Some(Exact {
            num: self.num.checked_neg()?,
            den: self.den,
        })
    }

    pub fn checked_mul(self, o: Exact) -> Option<Exact> {
        let g1 = gcd(self.num, o.den);
        let g2 = gcd(o.num, self.den);
        Exact::new(
            (self.num / g1).checked_mul(o.num / g2)?,
            (self.den / g2).checked_mul(o.den / g1)?,
        )
    }

    pub fn checked_div(self, o: Exact) -> Option<Exact> {
        if o.num == 0 {
            return None;
        }
        self.checked_mul(
            Exact {
                num: o.den,
                den: o.num,
            }
            .normalised()?,
        )
    }

    fn normalised(self) -> Option<Exact> {
        Exact::new(self.num, self.den)
    }

    /// At most two decimals, for messages (`19073.49`, not `19073.486328125`).
    pub fn rounded(self) -> String {
        match self.as_integer() {
            Some(n) => n.to_string(),
            None => {
                let text = format!("{:.2}", self.to_f64());
                text.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
    }

    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    pub fn as_integer(self) -> Option<i128> {
        (self.den == 1).then_some(self.num)
    }

    pub fn is_positive(self) -> bool {
        self.num > 0
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Exact) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exact {
    fn cmp(&self, other: &Exact) -> Ordering {
        // Cross-multiplication can overflow for huge values; fall back to f64 then.
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

impl fmt::Debug for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}", self.to_f64())
        }
    }
}

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_integer().and_then(|n| i64::try_from(n).ok()) {
            Some(n) => s.serialize_i64(n),
            None => s.serialize_f64(self.to_f64()),
        }
    }
}

/// The physical dimension of a quantity, as exponents of bytes, seconds and dollars.
/// Percentages and multipliers are dimensionless but kept apart so that `70%` cannot
/// stand where `2.0x` is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Dim {
    Percent,
    Multiplier,
    Base { bytes: i8, secs: i8, usd: i8 },
}

impl Dim {
    pub const NUMBER: Dim = Dim::Base {
        bytes: 0,
        secs: 0,
        usd: 0,
    };
    pub const SIZE: Dim = Dim::Base {
        bytes: 1,
        secs: 0,
        usd: 0,
    };
    pub const DURATION: Dim = Dim::Base {
        bytes: 0,
        secs: 1,
        usd: 0,
    };
    pub const MONEY: Dim = Dim::Base {
        bytes: 0,
        secs: 0,
        usd: 1,
    };
    /// Events per unit of time, such as `2M / month`.
    pub const RATE: Dim = Dim::Base {
        bytes: 0,
        secs: -1,
        usd: 0,
    };
    pub const PRICE_PER_SIZE: Dim = Dim::Base {
        bytes: -1,
        secs: 0,
        usd: 1,
    };
    pub const PRICE_PER_TIME: Dim = Dim::Base {
        bytes: 0,
        secs: -1,
        usd: 1,
    };

    fn divide(self, other: Dim) -> Option<Dim> {
        match (self, other) {
            (
                Dim::Base {
                    bytes: b1,
                    secs: s1,
                    usd: u1,
                },
                Dim::Base {
                    bytes: b2,
                    secs: s2,
                    usd: u2,
                },
            ) => Some(Dim::Base {
                bytes: b1 - b2,
                secs: s1 - s2,
                usd: u1 - u2,
            }),
            _ => None,
        }
    }

    /// A name for messages: "size", "duration", ...
    pub fn describe(self) -> &'static str {
        match self {
            Dim::Percent => "percentage",
            Dim::Multiplier => "multiplier",
            d if d == Dim::NUMBER => "plain number",
            d if d == Dim::SIZE => "size",
            d if d == Dim::DURATION => "duration",
            d if d == Dim::MONEY => "amount of money",
            d if d == Dim::RATE => "rate",
            d if d == Dim::PRICE_PER_SIZE => "price per size",
            d if d == Dim::PRICE_PER_TIME => "price per time",
            _ => "compound quantity",
        }
    }

    /// An example of a value of this dimension, for help texts.
    pub fn example(self) -> &'static str {
        match self {
            Dim::Percent => "70%",
            Dim::Multiplier => "2.0x",
            d if d == Dim::SIZE => "512 GiB",
            d if d == Dim::DURATION => "30 min",
            d if d == Dim::MONEY => "25000 USD",
            d if d == Dim::RATE => "2M / month",
            d if d == Dim::PRICE_PER_SIZE => "0.09 USD/GB",
            d if d == Dim::PRICE_PER_TIME => "3.2 USD/h",
            _ => "42",
        }
    }
}

/// A quantity normalised to base units (bytes, seconds, USD; percent as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quantity {
    pub value: Exact,
    pub dim: Dim,
}

impl Quantity {
    pub fn number(value: Exact) -> Quantity {
        Quantity {
            value,
            dim: Dim::NUMBER,
        }
    }
}

/// Seconds in a billing month: the clouds' 730-hour convention.
pub const SECONDS_PER_MONTH: i128 = 730 * 3600;

pub struct UnitInfo {
    pub name: &'static str,
    pub dim: Dim,
    /// Multiply by this to get base units.
    pub factor: (i128, i128),
}

const fn unit(name: &'static str, dim: Dim, num: i128, den: i128) -> UnitInfo {
    UnitInfo {
        name,
        dim,
        factor: (num, den),
    }
}

const KI: i128 = 1024;

pub static UNITS: &[UnitInfo] = &[
    unit("B", Dim::SIZE, 1, 1),
    unit("KB", Dim::SIZE, 1_000, 1),
    unit("MB", Dim::SIZE, 1_000_000, 1),
    unit("GB", Dim::SIZE, 1_000_000_000, 1),
    unit("TB", Dim::SIZE, 1_000_000_000_000, 1),
    unit("PB", Dim::SIZE, 1_000_000_000_000_000, 1),
    unit("KiB", Dim::SIZE, KI, 1),
    unit("MiB", Dim::SIZE, KI * KI, 1),
    unit("GiB", Dim::SIZE, KI * KI * KI, 1),
    unit("TiB", Dim::SIZE, KI * KI * KI * KI, 1),
    unit("PiB", Dim::SIZE, KI * KI * KI * KI * KI, 1),
    unit("ms", Dim::DURATION, 1, 1000),
    unit("s", Dim::DURATION, 1, 1),
    unit("min", Dim::DURATION, 60, 1),
    unit("h", Dim::DURATION, 3600, 1),
    unit("d", Dim::DURATION, 86_400, 1),
    unit("day", Dim::DURATION, 86_400, 1),
    unit("week", Dim::DURATION, 604_800, 1),
    unit("month", Dim::DURATION, SECONDS_PER_MONTH, 1),
    unit("year", Dim::DURATION, 12 * SECONDS_PER_MONTH, 1),
    unit("USD", Dim::MONEY, 1, 1),
    unit("K", Dim::NUMBER, 1_000, 1),
    unit("M", Dim::NUMBER, 1_000_000, 1),
    unit("%", Dim::Percent, 1, 1),
    unit("x", Dim::Multiplier, 1, 1),
];

pub fn lookup_unit(name: &str) -> Option<&'static UnitInfo> {
    UNITS.iter().find(|u| u.name == name)
}

/// Why a quantity could not be built.
#[derive(Debug, PartialEq, Eq)]
pub enum UnitError {
    UnknownUnit { which: Which },
    Overflow,
    BadDenominator,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Which {
    Numerator,
    Denominator,
}

/// Builds a normalised quantity from a literal and its unit words.
pub fn quantity(
    number: &str,
    numer: Option<&str>,
    denom: Option<&str>,
) -> Result<Quantity, UnitError> {
    let mut value = Exact::parse(number).ok_or(UnitError::Overflow)?;
    let mut dim = Dim::NUMBER;
    if let Some(name) = numer {
        let info = lookup_unit(name).ok_or(UnitError::UnknownUnit {
            which: Which::Numerator,
        })?;
        value = scale(value, info.factor)?;
        dim = info.dim;
    }
    if let Some(name) = denom {
        let info = lookup_unit(name).ok_or(UnitError::UnknownUnit {
            which: Which::Denominator,
        })?;
        let (n, d) = info.factor;
        value = scale(value, (d, n))?;
        dim = dim.divide(info.dim).ok_or(UnitError::BadDenominator)?;
    }
    Ok(Quantity { value, dim })
}

fn scale(value: Exact, (num, den): (i128, i128)) -> Result<Exact, UnitError> {
    let factor = Exact::new(num, den).ok_or(UnitError::Overflow)?;
    value.checked_mul(factor).ok_or(UnitError::Overflow)
}

/// The known unit closest to a misspelt one, for "did you mean".
pub fn suggest_unit(name: &str) -> Option<&'static str> {
    let alias = match name.to_ascii_lowercase().as_str() {
        "hour" | "hours" | "hr" | "hrs" => Some("h"),
        "minute" | "minutes" | "mins" => Some("min"),
        "second" | "seconds" | "sec" | "secs" => Some("s"),
        "day" | "days" => Some("d"),
        "weeks" => Some("week"),
        "months" => Some("month"),
        "years" | "yr" => Some("year"),
        "byte" | "bytes" => Some("B"),
        "percent" => Some("%"),
        "dollar" | "dollars" | "usd" | "$" => Some("USD"),
        _ => None,
    };
    alias.or_else(|| crate::check::suggest::closest(name, UNITS.iter().map(|u| u.name)))
}

/// Help for an unknown unit: a suggestion, a note on currencies, or the unit list.
pub fn unit_help(name: &str) -> String {
    let currency = name.len() == 3 && name.chars().all(|c| c.is_ascii_uppercase()) && name != "USD";
    if currency && suggest_unit(name).is_none_or(|s| s != "USD") {
        return format!("prices are in USD only: convert `{name}` amounts to `USD`");
    }
    match suggest_unit(name) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "units: B KB MB GB TB PB KiB MiB GiB TiB PiB, ms s min h d week month year, USD, %, x, K, M".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_binary_sizes_are_exact() {
        let tb = quantity("4", Some("TB"), None).unwrap();
        let gib = quantity("512", Some("GiB"), None).unwrap();
        let sum = tb.value.checked_add(gib.value).unwrap();
        assert_eq!(
            sum.as_integer(),
            Some(4_000_000_000_000 + 512 * 1024 * 1024 * 1024)
        );
    }

    #[test]
    fn literals_parse_exactly() {
        assert_eq!(Exact::parse("3e-4"), Exact::new(3, 10_000));
        assert_eq!(Exact::parse("0.09"), Exact::new(9, 100));
        assert_eq!(Exact::parse("-2.50"), Exact::new(-5, 2));
        assert_eq!(
            Exact::parse("99999999999999999999999999999999999999999"),
            None
        );
    }

    #[test]
    fn rates_and_prices_have_compound_dimensions() {
        let rate = quantity("2", Some("M"), Some("month")).unwrap();
        assert_eq!(rate.dim, Dim::RATE);
        assert_eq!(
            rate.value,
            Exact::new(2_000_000, SECONDS_PER_MONTH).unwrap()
        );
        let price = quantity("0.09", Some("USD"), Some("GB")).unwrap();
        assert_eq!(price.dim, Dim::PRICE_PER_SIZE);
        assert!(matches!(
            quantity("1", Some("%"), Some("h")),
            Err(UnitError::BadDenominator)
        ));
    }
}
