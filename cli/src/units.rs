//! Value syntaxes for command-line flags: sizes, durations, `--since`, `--replay`,
//! and RFC 3339 timestamps (parsing and formatting, with our own calendar math so
//! the CLI needs no date/time crate).
//!
//! Every parser returns a [`ValueError`] naming the offending value and the
//! accepted forms; the caller turns it into a usage error (exit 2).

use std::fmt;
use std::time::Duration;

const NANOS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A flag value that could not be parsed.
///
/// [`message`](Self::message) names the problem and the offending value;
/// [`hint`](Self::hint) describes the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    problem: &'static str,
    value: String,
    hint: &'static str,
}

impl ValueError {
    fn new(problem: &'static str, value: &str, hint: &'static str) -> Self {
        ValueError {
            problem,
            value: value.to_owned(),
            hint,
        }
    }

    /// Short description including the bad value, e.g. `invalid duration '5x'`.
    pub fn message(&self) -> String {
        format!("{} '{}'", self.problem, self.value)
    }

    /// The problem without the value, e.g. `invalid duration` (stable wording).
    pub fn problem(&self) -> &'static str {
        self.problem
    }

    /// The rejected value as given on the command line.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// One sentence describing the accepted forms, with an example.
    pub fn hint(&self) -> &'static str {
        self.hint
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}. {}", self.message(), self.hint)
    }
}

impl std::error::Error for ValueError {}

const SIZE_HINT: &str =
    "Use a whole number of bytes with an optional K, M or G suffix (binary multiples, e.g. 64K, 8M, 1G).";
const DURATION_HINT: &str = "Use a whole number plus ms, s, m, h or d (e.g. 500ms, 10s, 5m).";
const SINCE_HINT: &str =
    "Use an RFC 3339 timestamp (e.g. 2026-02-06T18:58:01Z) or a relative age such as 30s, 5m, 2h or 1d.";
const REPLAY_HINT: &str =
    "Use a speed factor: 1 = realtime, 2 = 2x faster, 0.5 = half speed, 0 = no delay.";

/// Splits `s` into its leading ASCII digits and the rest.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    // `end` is a char boundary because every byte before it is ASCII.
    s.split_at(end)
}

/// Parses a pool size such as `1048576`, `64K`, `8M`, `1G`, `8MiB` or `8mb` into bytes.
///
/// Suffixes are binary multiples (K = 1024) and case-insensitive; an optional
/// `B` or `iB` may follow them (`B` alone means bytes). Whitespace between the
/// number and the suffix is allowed. Decimals are rejected so sizes stay exact.
pub fn parse_size(input: &str) -> Result<u64, ValueError> {
    let s = input.trim();
    let (digits, rest) = split_digits(s);
    if digits.is_empty() {
        return Err(ValueError::new("invalid size", input, SIZE_HINT));
    }
    let suffix = rest.trim_start().to_ascii_lowercase();
    let shift = match suffix.as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ if suffix.starts_with('.') => {
            return Err(ValueError::new("invalid size", input, SIZE_HINT))
        }
        _ => return Err(ValueError::new("invalid size suffix", input, SIZE_HINT)),
    };
    let overflow = || ValueError::new("size overflow", input, SIZE_HINT);
    let n: u64 = digits.parse().map_err(|_| overflow())?;
    n.checked_mul(1u64 << shift).ok_or_else(overflow)
}

/// Multiplier (in milliseconds) for a duration unit, or `None` if unknown.
fn unit_millis(unit: &str) -> Option<u64> {
    Some(match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    })
}

/// Parses a whole number with a unit; the unit must already be normalised.
fn number_with_unit(digits: &str, unit: &str) -> Option<Duration> {
    if digits.is_empty() {
        return None;
    }
    let per = unit_millis(unit)?;
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(per).map(Duration::from_millis)
}

/// Parses a duration such as `500ms`, `30s`, `5m`, `1h` or `2d` (`--timeout`, `--retry-delay`).
///
/// Units are case-sensitive (`m` is minutes, and `M` is refused rather than
/// guessed), there is no space between number and unit, and a bare number is
/// rejected because its unit would be ambiguous. `0s` is valid.
pub fn parse_duration(input: &str) -> Result<Duration, ValueError> {
    let s = input.trim();
    let (digits, unit) = split_digits(s);
    number_with_unit(digits, unit)
        .ok_or_else(|| ValueError::new("invalid duration", input, DURATION_HINT))
}

/// Parses a `--since` value into nanoseconds since the Unix epoch.
///
/// Accepts a relative age (`30s`, `5m`, `2h`, `1d`, `500ms`; units
/// case-insensitive, `M` meaning minutes as upstream does) meaning "that long
/// before `now_ns`", or an RFC 3339 timestamp in any UTC offset. Results before
/// the epoch clamp to 0, which selects everything retained anyway.
pub fn parse_since(input: &str, now_ns: u64) -> Result<u64, ValueError> {
    let s = input.trim();
    let (digits, unit) = split_digits(s);
    if !digits.is_empty() && !unit.is_empty() {
        if let Some(age) = number_with_unit(digits, &unit.to_ascii_lowercase()) {
            let age_ns = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
            return Ok(now_ns.saturating_sub(age_ns));
        }
    }
    match parse_rfc3339(s) {
        Some(ns) => Ok(u64::try_from(ns.max(0)).unwrap_or(u64::MAX)),
        None => Err(ValueError::new("invalid --since value", input, SINCE_HINT)),
    }
}

/// Parses a `--replay SPEED` factor: a finite, non-negative number (`0` = no delay).
pub fn parse_replay_speed(input: &str) -> Result<f64, ValueError> {
    let speed: f64 = input
        .trim()
        .parse()
        .map_err(|_| ValueError::new("invalid --replay speed", input, REPLAY_HINT))?;
    if !speed.is_finite() {
        return Err(ValueError::new(
            "--replay speed must be a finite number, got",
            input,
            REPLAY_HINT,
        ));
    }
    if speed < 0.0 {
        return Err(ValueError::new(
            "--replay speed must be non-negative, got",
            input,
            REPLAY_HINT,
        ));
    }
    // Normalise -0.0 so callers can compare with 0.0 without surprises.
    Ok(speed.abs())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Byte cursor for the fixed-width RFC 3339 grammar.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Reads exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let chunk = self.bytes.get(self.pos..self.pos + n)?;
        let mut value = 0u32;
        for &b in chunk {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.pos += n;
        Some(value)
    }

    /// Consumes one byte if it is one of `allowed`.
    fn expect(&mut self, allowed: &[u8]) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        if allowed.contains(&b) {
            self.pos += 1;
            Some(b)
        } else {
            None
        }
    }
}

/// Parses an RFC 3339 timestamp (`2026-02-06T18:58:01.5+02:00`) into nanoseconds
/// since the Unix epoch (negative before 1970).
///
/// Seconds and an offset (`Z` or `±HH:MM`) are required; `t`/`z` and a space
/// separator are accepted as RFC 3339 allows; fraction digits beyond
/// nanoseconds are truncated. A leap second (`:60`) counts as the next second.
pub fn parse_rfc3339(input: &str) -> Option<i128> {
    let mut c = Cursor {
        bytes: input.trim().as_bytes(),
        pos: 0,
    };
    let year = c.digits(4)?;
    c.expect(b"-")?;
    let month = c.digits(2)?;
    c.expect(b"-")?;
    let day = c.digits(2)?;
    c.expect(b"Tt ")?;
    let hour = c.digits(2)?;
    c.expect(b":")?;
    let minute = c.digits(2)?;
    c.expect(b":")?;
    let second = c.digits(2)?;
    let mut nanos = 0u32;
    if c.expect(b".").is_some() {
        let start = c.pos;
        let mut scale = NANOS_PER_SEC as u32;
        while let Some(&b) = c.bytes.get(c.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            scale /= 10; // becomes 0 after nine digits: extra precision is dropped
            nanos += u32::from(b - b'0') * scale;
            c.pos += 1;
        }
        if c.pos == start {
            return None;
        }
    }
    let offset_secs: i64 = match c.expect(b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let oh = c.digits(2)?;
            c.expect(b":")?;
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -secs
            } else {
                secs
            }
        }
    };
    if c.pos != c.bytes.len() {
        return None;
    }
    let year = i64::from(year);
    let valid = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    if !valid {
        return None;
    }
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_secs;
    Some(i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plasmite::time::{civil_from_days, now_ns, rfc3339};

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_size("64K"), Ok(64 * 1024));
        assert_eq!(parse_size("64k"), Ok(64 * 1024));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size(" 2 M "), Ok(2 << 20));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8mb"), Ok(8 << 20));
        assert_eq!(parse_size("4KB"), Ok(4096));
        assert_eq!(parse_size("1gib"), Ok(1 << 30));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn size_errors() {
        for (bad, problem) in [
            ("", "invalid size"),
            ("   ", "invalid size"),
            ("M", "invalid size"),
            ("-1", "invalid size"),
            ("1.5M", "invalid size"),
            ("abc", "invalid size"),
            ("12T", "invalid size suffix"),
            ("1Mi", "invalid size suffix"),
            ("1 M B", "invalid size suffix"),
            ("1é", "invalid size suffix"),
            ("99999999999999999999", "size overflow"),
            ("17179869184G", "size overflow"),
        ] {
            let err = parse_size(bad).expect_err(bad);
            assert_eq!(err.problem(), problem, "{bad}");
            assert_eq!(err.value(), bad);
            assert!(err.to_string().contains("64K"), "{err}");
        }
        assert_eq!(
            parse_size("12T").unwrap_err().message(),
            "invalid size suffix '12T'"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
    }

    #[test]
    fn duration_errors() {
        for bad in [
            "",
            "10",
            "1.5s",
            "5 s",
            "5S",
            "5M",
            "10us",
            "s",
            "-5s",
            "5sec",
            "ms5",
            "99999999999999999999s",
            "18446744073709551615d",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert_eq!(err.problem(), "invalid duration", "{bad}");
            assert!(err.message().contains(bad));
            assert!(err.hint().contains("ms, s, m, h or d"));
        }
    }

    const NOW: u64 = 1_770_404_281_000_000_000; // 2026-02-06T18:58:01Z

    #[test]
    fn since_relative() {
        assert_eq!(parse_since("1h", NOW), Ok(NOW - 3600 * NANOS_PER_SEC));
        assert_eq!(parse_since("1H", NOW), Ok(NOW - 3600 * NANOS_PER_SEC));
        assert_eq!(parse_since("5m", NOW), Ok(NOW - 300 * NANOS_PER_SEC));
        assert_eq!(parse_since("5M", NOW), Ok(NOW - 300 * NANOS_PER_SEC));
        assert_eq!(parse_since("30s", NOW), Ok(NOW - 30 * NANOS_PER_SEC));
        assert_eq!(parse_since("2d", NOW), Ok(NOW - 2 * 86_400 * NANOS_PER_SEC));
        assert_eq!(parse_since("250ms", NOW), Ok(NOW - 250_000_000));
        assert_eq!(parse_since("0s", NOW), Ok(NOW));
        // Far in the past saturates at the epoch instead of wrapping.
        assert_eq!(parse_since("100000d", NOW), Ok(0));
    }

    #[test]
    fn since_absolute() {
        assert_eq!(parse_since("2026-02-06T18:58:01Z", 0), Ok(NOW));
        assert_eq!(parse_since("2026-02-06T20:58:01+02:00", 0), Ok(NOW));
        assert_eq!(parse_since("2026-02-06T13:28:01-05:30", 0), Ok(NOW));
        assert_eq!(
            parse_since("2026-02-06t18:58:01.5z", 0),
            Ok(NOW + 500_000_000)
        );
        assert_eq!(parse_since("1969-12-31T00:00:00Z", NOW), Ok(0));
    }

    #[test]
    fn since_errors() {
        for bad in [
            "",
            "yesterday",
            "5x",
            "2026-02-06",
            "2026-02-06T18:58Z",
            "2026-02-06T18:58:01",
            "2026-13-06T18:58:01Z",
            "2026-02-30T18:58:01Z",
            "2026-02-06T24:00:00Z",
            "2026-02-06T18:58:01.Z",
            "2026-02-06T18:58:01+2:00",
            "2026-02-06T18:58:01Zjunk",
            "2026-02-06T18:58:01+24:00",
            "２026-02-06T18:58:01Z",
        ] {
            let err = parse_since(bad, NOW).expect_err(bad);
            assert_eq!(err.problem(), "invalid --since value", "{bad}");
            assert!(err.hint().contains("RFC 3339"));
        }
    }

    #[test]
    fn rfc3339_parse_details() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("1969-12-31T23:59:59Z"),
            Some(-(NANOS_PER_SEC as i128))
        );
        assert_eq!(
            parse_rfc3339("1970-01-01 00:00:01Z"),
            Some(NANOS_PER_SEC as i128)
        );
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00.1234567899Z"),
            Some(123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000_000_000)
        );
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(951_782_400_000_000_000)
        );
        assert_eq!(parse_rfc3339("1900-02-29T00:00:00Z"), None);
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            parse_rfc3339("2017-01-01T00:00:00Z")
        );
    }

    #[test]
    fn rfc3339_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(NOW), "2026-02-06T18:58:01Z");
        assert_eq!(rfc3339(NOW + 500_000_000), "2026-02-06T18:58:01.5Z");
        assert_eq!(rfc3339(NOW + 123_456_789), "2026-02-06T18:58:01.123456789Z");
        assert_eq!(rfc3339(NOW + 1_000), "2026-02-06T18:58:01.000001Z");
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(u64::MAX), "2554-07-21T23:34:33.709551615Z");
    }

    #[test]
    fn calendar_round_trip() {
        // Every day across several leap cycles, including the 1900/2000/2100 rules.
        for days in -30_000..200_000 {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn format_parse_round_trip() {
        let mut ns = 1u64;
        while ns < u64::MAX / 3 {
            let text = rfc3339(ns);
            assert_eq!(parse_rfc3339(&text), Some(i128::from(ns)), "{text}");
            ns = ns * 3 + 7;
        }
    }

    #[test]
    fn replay_speed() {
        assert_eq!(parse_replay_speed("1"), Ok(1.0));
        assert_eq!(parse_replay_speed("10"), Ok(10.0));
        assert_eq!(parse_replay_speed("0.5"), Ok(0.5));
        assert_eq!(parse_replay_speed("0"), Ok(0.0));
        assert_eq!(parse_replay_speed("-0"), Ok(0.0));
        let neg = parse_replay_speed("-1").unwrap_err();
        assert!(neg.message().contains("non-negative"));
        for bad in ["NaN", "inf", "-inf", "1e999"] {
            let err = parse_replay_speed(bad).unwrap_err();
            assert!(err.message().contains("finite"), "{bad}");
        }
        for bad in ["", "fast", "2x"] {
            let err = parse_replay_speed(bad).unwrap_err();
            assert_eq!(err.problem(), "invalid --replay speed");
            assert!(err.hint().contains("realtime"));
        }
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ns() > 1_577_836_800 * NANOS_PER_SEC);
    }
}
