//! Dates without a date library: UTC civil time from seconds, human durations, and `--exp`
//! durations such as `15m` or `-5m`.

/// Seconds since the Unix epoch, now: the library's clock.
pub(crate) fn now() -> i64 {
    tower_jwt_auth::NumericDate::now().as_secs()
}

/// (year, month 1-12, day 1-31) of the day `days` after 1970-01-01, proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction.
    (year, month as u32, day as u32)
}

/// RFC 3339 UTC time of a NumericDate, such as `2026-11-25T14:00:00Z`; `None` outside years
/// 0..=9999, where the notation stops making sense.
pub(crate) fn utc(secs: i64) -> Option<String> {
    // 0000-01-01 and 9999-12-31T23:59:59.
    if !(-62_167_219_200..=253_402_300_799).contains(&secs) {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// `utc`, or the raw number when out of range.
pub(crate) fn utc_or_raw(secs: i64) -> String {
    utc(secs).unwrap_or_else(|| format!("{secs} (out of range)"))
}

/// A non-negative span in the largest unit that keeps it readable: `45 s`, `3 min`, `2 h`,
/// `12 days`. Counts are rounded down.
pub(crate) fn span(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 120 * 60 {
        format!("{} min", secs / 60)
    } else if secs < 48 * 3600 {
        format!("{} h", secs / 3600)
    } else {
        format!("{} days", secs / 86_400)
    }
}

/// `3 min ago` or `in 3 min`.
pub(crate) fn ago(secs: i64, now: i64) -> String {
    if secs <= now {
        format!("{} ago", span(now - secs))
    } else {
        format!("in {}", span(secs - now))
    }
}

/// What a NumericDate claim means now, in words.
pub(crate) fn relative(claim: &str, secs: i64, now: i64) -> String {
    match claim {
        "exp" if secs <= now => format!("expired {}", ago(secs, now)),
        "exp" => format!("valid for {}", more(secs - now)),
        "nbf" if secs > now => format!("not valid for another {}", span(secs - now)),
        "nbf" => format!("valid since {}", ago(secs, now)),
        "iat" if secs > now => format!("issued in the future ({})", ago(secs, now)),
        "iat" => format!("issued {}", ago(secs, now)),
        _ => ago(secs, now),
    }
}

/// `12 more min`: the number, then the unit (`span` with "more" in between).
fn more(secs: i64) -> String {
    let s = span(secs);
    match s.split_once(' ') {
        Some((n, unit)) => format!("{n} more {unit}"),
        None => s,
    }
}

/// Reads an `--exp` value: a signed duration with a unit (`30s`, `15m`, `2h`, `1d`, `-5m`) is
/// relative to `now`; a bare integer is an absolute NumericDate.
pub(crate) fn parse_exp(value: &str, now: i64) -> Result<i64, String> {
    let value = value.trim();
    if let Ok(absolute) = value.parse::<i64>() {
        return Ok(absolute);
    }
    parse_duration(value)
        .and_then(|d| now.checked_add(d))
        .ok_or_else(|| {
            format!(
                "--exp {value:?}: expected a duration such as 30s, 15m, 2h, 1d or -5m, \
                 or an absolute NumericDate (seconds since 1970)"
            )
        })
}

/// A signed duration in seconds: digits followed by `s`, `m`, `h` or `d`.
pub(crate) fn parse_duration(value: &str) -> Option<i64> {
    let (sign, rest) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let split = rest.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = rest.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let unit = match unit {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit)?.checked_mul(sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(utc(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(utc(-1).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(utc(4_102_444_800).unwrap(), "2100-01-01T00:00:00Z");
        assert_eq!(utc(253_402_300_799).unwrap(), "9999-12-31T23:59:59Z");
        assert!(utc(253_402_300_800).is_none());
    }

    #[test]
    fn spans_and_relative_phrases_read_naturally() {
        assert_eq!(relative("exp", 1000 - 180, 1000), "expired 3 min ago");
        assert_eq!(relative("exp", 1000 + 720, 1000), "valid for 12 more min");
        assert_eq!(relative("nbf", 1000 + 7200, 1000), "not valid for another 2 h");
        assert_eq!(relative("iat", 1000 - 5, 1000), "issued 5 s ago");
        assert_eq!(span(3 * 86_400), "3 days");
    }

    #[test]
    fn exp_values_are_durations_or_absolute_dates() {
        assert_eq!(parse_exp("15m", 1000), Ok(1900));
        assert_eq!(parse_exp("-5m", 1000), Ok(700));
        assert_eq!(parse_exp("2h", 0), Ok(7200));
        assert_eq!(parse_exp("1d", 0), Ok(86_400));
        assert_eq!(parse_exp("30s", 0), Ok(30));
        assert_eq!(parse_exp("1700000000", 0), Ok(1_700_000_000));
        assert!(parse_exp("15x", 0).is_err());
        assert!(parse_exp("m", 0).is_err());
    }
}
