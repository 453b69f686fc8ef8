//! One duration grammar for every flag and config key (`--lookback`, `--half-life`,
//! `--horizon`, `[attribution] lookback`, `[clv] horizon`, …).
//!
//! | unit | meaning | exact length |
//! |---|---|---|
//! | `s`, `sec` | seconds | 1 s |
//! | `min` | minutes | 60 s |
//! | `h` | hours | 3,600 s |
//! | `d` | days | 86,400 s |
//! | `w` | weeks | 7 d |
//! | `mo` | months (mean Gregorian) | 30.4375 d |
//! | `y` | years (mean Gregorian) | 365.25 d |
//!
//! ISO 8601 durations are accepted too: `P30D`, `PT12H`, `P1Y6M`, `P2W`, `PT90M`
//! (in ISO 8601 `M` before `T` means months and after it minutes, so it is unambiguous).
//! A bare `m` (`12m`) is refused: it means minutes to some tools and months to others,
//! and the message names both readings.
//!
//! ```
//! use roicast_data::duration::Duration;
//! let d: Duration = "30d".parse()?;
//! assert_eq!(d.as_days(), 30.0);
//! assert_eq!("P1Y".parse::<Duration>()?.as_days(), 365.25);
//! assert_eq!("12mo".parse::<Duration>()?.to_string(), "12mo");
//! let e = "12m".parse::<Duration>().unwrap_err();
//! assert!(e.to_string().contains("12min") && e.to_string().contains("12mo"));
//! # Ok::<(), roicast_data::duration::DurationError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// Microseconds in one second.
const US: i64 = 1_000_000;

/// The units, longest name first where one is a prefix of another.
const UNITS: &[(&str, i64)] = &[
    ("min", 60 * US),
    ("sec", US),
    ("mo", 2_629_800 * US), // 30.4375 days
    ("s", US),
    ("h", 3_600 * US),
    ("d", 86_400 * US),
    ("w", 604_800 * US),
    ("y", 31_557_600 * US), // 365.25 days
];

/// A positive length of time, kept exactly in microseconds, with the text it was written
/// as (so a config that says `12mo` is echoed as `12mo`, not as microseconds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Duration {
    us: i64,
    text: String,
}

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}`: {reason}")]
pub struct DurationError {
    /// The text given.
    pub text: String,
    /// What is wrong, with the expected form.
    pub reason: String,
}

const EXPECTED: &str = "expected a positive number with a unit s, min, h, d, w, mo or y (e.g. 30d, 12mo), \
                        or an ISO 8601 duration (e.g. P30D, PT12H)";

impl Duration {
    /// A duration of `us` microseconds (written as whole seconds).
    ///
    /// # Panics
    /// If `us` is not positive (a programming error: durations from input are parsed).
    #[must_use]
    pub fn from_micros(us: i64) -> Duration {
        assert!(us > 0, "a duration is positive");
        let text = if us % (86_400 * US) == 0 { format!("{}d", us / (86_400 * US)) } else { format!("{}s", us / US) };
        Duration { us, text }
    }

    /// Whole days.
    #[must_use]
    pub fn days(n: u32) -> Duration {
        Duration::from_micros(i64::from(n) * 86_400 * US)
    }

    /// The length in microseconds.
    #[must_use]
    pub fn as_micros(&self) -> i64 {
        self.us
    }

    /// The length in seconds.
    #[must_use]
    pub fn as_secs_f64(&self) -> f64 {
        self.us as f64 / US as f64
    }

    /// The length in days (a month is 30.4375 days, a year 365.25).
    #[must_use]
    pub fn as_days(&self) -> f64 {
        self.us as f64 / (86_400 * US) as f64
    }

    /// The text it was written as.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn error(text: &str, reason: impl Into<String>) -> DurationError {
    DurationError { text: text.to_owned(), reason: reason.into() }
}

fn micros(text: &str, value: f64, unit_us: i64) -> Result<i64, DurationError> {
    let us = value * unit_us as f64;
    if !(1.0..9.0e18).contains(&us) {
        return Err(error(text, format!("{EXPECTED}; the value is out of range")));
    }
    Ok(us.round() as i64)
}

fn parse_number(text: &str, num: &str) -> Result<f64, DurationError> {
    let v: f64 = num.trim().parse().map_err(|_| error(text, EXPECTED))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(error(text, format!("{EXPECTED}; the number must be > 0")));
    }
    Ok(v)
}

fn parse_iso(text: &str, body: &str) -> Result<i64, DurationError> {
    // P[nY][nM][nW][nD][T[nH][nM][nS]]
    let mut total = 0i64;
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for c in body.chars() {
        match c {
            'T' | 't' if !in_time && num.is_empty() => in_time = true,
            '0'..='9' | '.' | ',' => num.push(if c == ',' { '.' } else { c }),
            _ => {
                let unit = match (in_time, c.to_ascii_uppercase()) {
                    (false, 'Y') => 31_557_600 * US,
                    (false, 'M') => 2_629_800 * US,
                    (false, 'W') => 604_800 * US,
                    (false, 'D') => 86_400 * US,
                    (true, 'H') => 3_600 * US,
                    (true, 'M') => 60 * US,
                    (true, 'S') => US,
                    _ => return Err(error(text, format!("unexpected `{c}` in an ISO 8601 duration; {EXPECTED}"))),
                };
                if num.is_empty() {
                    return Err(error(text, format!("a number must come before `{c}`; {EXPECTED}")));
                }
                let v: f64 = num.parse().map_err(|_| error(text, EXPECTED))?;
                total = total.saturating_add(if v == 0.0 { 0 } else { micros(text, v, unit)? });
                num.clear();
                any = true;
            }
        }
    }
    if !num.is_empty() || !any {
        return Err(error(text, format!("the ISO 8601 duration is incomplete; {EXPECTED}")));
    }
    if total <= 0 {
        return Err(error(text, format!("{EXPECTED}; the duration must be > 0")));
    }
    Ok(total)
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Duration, DurationError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(error(s, EXPECTED));
        }
        if let Some(body) = text.strip_prefix(['P', 'p']) {
            let us = parse_iso(text, body)?;
            return Ok(Duration { us, text: text.to_owned() });
        }
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| error(text, format!("{EXPECTED}; the unit is missing (did you mean `{text}d`?)")))?;
        let (num, unit) = text.split_at(split);
        let unit = unit.trim();
        if unit == "m" || unit == "M" {
            let n = num.trim();
            return Err(error(
                text,
                format!("`m` is ambiguous: write `{n}min` for {n} minutes or `{n}mo` for {n} months"),
            ));
        }
        let lower = unit.to_ascii_lowercase();
        let aliases = [
            ("seconds", "s"),
            ("second", "s"),
            ("minutes", "min"),
            ("minute", "min"),
            ("mins", "min"),
            ("hours", "h"),
            ("hour", "h"),
            ("hr", "h"),
            ("days", "d"),
            ("day", "d"),
            ("weeks", "w"),
            ("week", "w"),
            ("wk", "w"),
            ("months", "mo"),
            ("month", "mo"),
            ("mon", "mo"),
            ("years", "y"),
            ("year", "y"),
            ("yr", "y"),
        ];
        let canonical = aliases.iter().find(|(a, _)| *a == lower).map_or(lower.as_str(), |(_, c)| *c);
        let Some(&(_, unit_us)) = UNITS.iter().find(|(u, _)| *u == canonical) else {
            return Err(error(text, format!("unknown unit `{unit}`; {EXPECTED}")));
        };
        let v = parse_number(text, num)?;
        let us = micros(text, v, unit_us)?;
        Ok(Duration { us, text: text.to_owned() })
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(s: &str) -> f64 {
        s.parse::<Duration>().unwrap().as_days()
    }

    #[test]
    fn duration_units_have_exact_lengths() {
        assert_eq!(days("30d"), 30.0);
        assert_eq!(days("2w"), 14.0);
        assert_eq!(days("12mo"), 365.25);
        assert_eq!(days("1y"), 365.25);
        assert_eq!(days("36h"), 1.5);
        assert_eq!("90min".parse::<Duration>().unwrap().as_micros(), 90 * 60 * US);
        assert_eq!("45s".parse::<Duration>().unwrap().as_micros(), 45 * US);
        assert_eq!(days("1.5d"), 1.5);
        assert_eq!(days("3 days"), 3.0);
        assert_eq!(days("6 months"), 182.625);
    }

    #[test]
    fn duration_accepts_iso_8601() {
        assert_eq!(days("P30D"), 30.0);
        assert_eq!(days("P2W"), 14.0);
        assert_eq!(days("P1Y6M"), 365.25 + 6.0 * 30.4375);
        assert_eq!(days("PT12H"), 0.5);
        assert_eq!("PT90M".parse::<Duration>().unwrap().as_micros(), 90 * 60 * US);
        assert_eq!(days("P1DT12H"), 1.5);
        assert_eq!(days("p7d"), 7.0);
    }

    #[test]
    fn duration_refuses_the_ambiguous_bare_m() {
        let e = "12m".parse::<Duration>().unwrap_err().to_string();
        assert!(e.contains("ambiguous"), "{e}");
        assert!(e.contains("12min") && e.contains("12mo"), "{e}");
    }

    #[test]
    fn duration_refuses_bad_input_with_the_expected_form() {
        for bad in ["", "30", "-3d", "0d", "abc", "3 parsecs", "P", "PT", "P3", "P3X", "PT1D", "nand", "1e400d"] {
            let e = bad.parse::<Duration>().expect_err(bad).to_string();
            assert!(e.starts_with("invalid duration"), "{bad}: {e}");
        }
        let e = "30".parse::<Duration>().unwrap_err().to_string();
        assert!(e.contains("did you mean `30d`"), "{e}");
    }

    #[test]
    fn duration_round_trips_through_serde_as_written() {
        let d: Duration = serde_json::from_str("\"12mo\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"12mo\"");
        let e = serde_json::from_str::<Duration>("\"12m\"").unwrap_err().to_string();
        assert!(e.contains("ambiguous"), "{e}");
    }
}
