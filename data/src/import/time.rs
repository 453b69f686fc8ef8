//! Vendor timestamps to UTC: `2024-05-01 10:00:00 -0400` (Shopify), RFC 3339, and
//! timestamps without an offset read in a given fixed offset (`--timezone +02:00`).

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone as _};

/// Parses a fixed UTC offset: `UTC`, `Z`, `+02:00`, `-0530`.
pub fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let bad = || {
        format!(
            "invalid time zone `{s}`: expected UTC or a fixed offset such as +02:00 or -0500 (named zones such as Europe/Berlin are not supported yet: give the offset the export used)"
        )
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i32 = digits[..2].parse().map_err(|_| bad())?;
    let m: i32 = digits[2..].parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

/// A timestamp as µs since the epoch (UTC). Accepts `YYYY-MM-DD HH:MM:SS ±HHMM`,
/// `YYYY-MM-DD HH:MM:SS ±HH:MM`, RFC 3339 (`T`, `Z`) and, with `zone`, the same without
/// an offset. The error says what was expected.
pub fn parse_timestamp_us(s: &str, zone: Option<FixedOffset>) -> Result<i64, String> {
    let t = s.trim();
    // `…T10:00:00+0000` is how the Instagram Graph API writes times (RFC 3339 wants `+00:00`).
    for fmt in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %:z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, fmt) {
            return Ok(d.timestamp_micros());
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.timestamp_micros());
    }
    // Admin grids write the locale's long form: `May 1, 2024 10:00:00 AM` (Magento).
    let t_owned = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t_owned.as_str();
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%b %d, %Y %I:%M:%S %p",
        "%b %d, %Y, %I:%M:%S %p",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return in_zone(t, n, zone, "has no UTC offset");
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return in_zone(t, d.and_hms_opt(0, 0, 0).expect("midnight exists"), zone, "is a date without a UTC offset");
    }
    Err(format!("`{t}` is not a timestamp: expected e.g. 2024-05-01 10:00:00 -0400 or 2024-05-01T14:00:00Z"))
}

/// A local time read in `zone`; without one, the error asks for `--timezone`.
fn in_zone(t: &str, n: NaiveDateTime, zone: Option<FixedOffset>, what: &str) -> Result<i64, String> {
    match zone {
        Some(z) => z
            .from_local_datetime(&n)
            .single()
            .map(|d| d.timestamp_micros())
            .ok_or_else(|| format!("`{t}` does not exist in the time zone {z}")),
        None => Err(format!("`{t}` {what}: pass --timezone (e.g. --timezone +01:00) for this file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn shopify_offsets_and_rfc_3339_become_utc() {
        assert_eq!(parse_timestamp_us("2024-05-01 10:00:00 -0400", None), Ok(us("2024-05-01T14:00:00Z")));
        assert_eq!(parse_timestamp_us("2024-05-01 10:00:00 +0530", None), Ok(us("2024-05-01T04:30:00Z")));
        assert_eq!(parse_timestamp_us("2024-05-01T14:00:00Z", None), Ok(us("2024-05-01T14:00:00Z")));
        assert_eq!(parse_timestamp_us("2024-05-01T10:00:00+0000", None), Ok(us("2024-05-01T10:00:00Z")));
        // DST is carried by the offset the export wrote: the same wall time, an hour apart.
        let winter = parse_timestamp_us("2024-01-10 09:00:00 +0100", None).unwrap();
        let summer = parse_timestamp_us("2024-07-10 09:00:00 +0200", None).unwrap();
        assert_eq!((summer - winter) % 86_400_000_000, 23 * 3_600_000_000);
    }

    #[test]
    fn a_timestamp_without_offset_needs_a_zone() {
        let e = parse_timestamp_us("2024-05-01 10:00:00", None).unwrap_err();
        assert!(e.contains("no UTC offset") && e.contains("--timezone"), "{e}");
        let z = parse_offset("+02:00").unwrap();
        assert_eq!(parse_timestamp_us("2024-05-01 10:00:00", Some(z)), Ok(us("2024-05-01T08:00:00Z")));
        assert!(parse_offset("Europe/Berlin").unwrap_err().contains("fixed offset"));
        assert!(parse_timestamp_us("yesterday", None).unwrap_err().contains("not a timestamp"));
        let utc = Some(parse_offset("UTC").unwrap());
        assert_eq!(parse_timestamp_us("May 1, 2024 10:00:00 PM", utc), Ok(us("2024-05-01T22:00:00Z")));
        assert_eq!(parse_timestamp_us("Dec  9, 2024 7:05:00 AM", utc), Ok(us("2024-12-09T07:05:00Z")));
    }
}
