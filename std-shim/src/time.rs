//! Wall-clock time as ns since the Unix epoch, and its RFC 3339 rendering.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in ns since the Unix epoch (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

/// Renders ns since the epoch as RFC 3339 UTC, e.g. `2026-02-06T18:58:01.5Z`:
/// up to nine fraction digits with trailing zeros trimmed, none when zero.
pub fn rfc3339(ns: u64) -> String {
    let mut s = String::with_capacity(30);
    write_rfc3339(ns, &mut s);
    s
}

/// Appends the [`rfc3339`] rendering of `ns` to `out`.
pub fn write_rfc3339(ns: u64, out: &mut String) {
    let mut buf = [0u8; RFC3339_MAX];
    let n = rfc3339_into(ns, &mut buf);
    // Only ASCII digits and punctuation are written.
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
}

/// Longest [`rfc3339`] rendering: `YYYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (the
/// year of `u64::MAX` ns has four digits; one spare).
pub const RFC3339_MAX: usize = 31;

/// Writes the [`rfc3339`] rendering of `ns` into `buf`, returning its
/// length. Hand-rolled because message output formats one per message.
pub fn rfc3339_into(ns: u64, buf: &mut [u8; RFC3339_MAX]) -> usize {
    fn put(buf: &mut [u8], at: usize, value: u64, digits: usize) {
        let mut v = value;
        for i in (0..digits).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    put(buf, 0, y as u64, 4);
    buf[4] = b'-';
    put(buf, 5, u64::from(m), 2);
    buf[7] = b'-';
    put(buf, 8, u64::from(d), 2);
    buf[10] = b'T';
    put(buf, 11, rem / 3600, 2);
    buf[13] = b':';
    put(buf, 14, rem / 60 % 60, 2);
    buf[16] = b':';
    put(buf, 17, rem % 60, 2);
    let mut n = 19;
    if frac != 0 {
        buf[19] = b'.';
        put(buf, 20, frac, 9);
        n = 29;
        while buf[n - 1] == b'0' {
            n -= 1;
        }
    }
    buf[n] = b'Z';
    n + 1
}

/// Days since 1970-01-01 to a (year, month, day) civil date (Howard
/// Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_770_404_281_000_000_000), "2026-02-06T18:58:01Z");
        assert_eq!(rfc3339(1_770_404_281_500_000_000), "2026-02-06T18:58:01.5Z");
        assert_eq!(
            rfc3339(1_770_404_281_123_456_789),
            "2026-02-06T18:58:01.123456789Z"
        );
        assert_eq!(rfc3339(951_782_400_000_000_000), "2000-02-29T00:00:00Z");
    }
}
