//! The `Date` header, rendered at most once per second per thread.
//!
//! Every response carries `Date` (RFC 9110 §6.6.1). Formatting a date per
//! response would cost more than the rest of the header; instead each thread
//! (each event loop) keeps a [`Stamp`]: the current second's IMF-fixdate and
//! the ready-made `Server:` and `Date:` lines, and the monotonic instant at
//! which that second ends. The connection driver asks for the stamp with the
//! `Instant` it already read for its deadlines, so a batch of requests costs
//! one clock read, and the wall clock is read (and a date rendered) only
//! when a second has passed.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "weft";

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

const SERVER_PREFIX: &[u8] = b"Server: ";
const DATE_PREFIX: &[u8] = b"\r\nDate: ";

/// Length of the pre-rendered `Server: weft\r\nDate: ...\r\n` lines.
pub(crate) const FIELDS_LEN: usize =
    SERVER_PREFIX.len() + SERVER_NAME.len() + DATE_PREFIX.len() + DATE_LEN + 2;

/// The date of one second, alone and as ready-made header lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The second, in Unix time: one integer compare tells two stamps apart.
    pub(crate) secs: u64,
    pub(crate) date: [u8; DATE_LEN],
    pub(crate) fields: [u8; FIELDS_LEN],
}

impl Stamp {
    /// The stamp of Unix second `secs`.
    pub(crate) fn at(secs: u64) -> Stamp {
        let date = render(secs);
        let mut fields = [0u8; FIELDS_LEN];
        let mut at = 0;
        for part in [
            SERVER_PREFIX,
            SERVER_NAME.as_bytes(),
            DATE_PREFIX,
            &date,
            b"\r\n",
        ] {
            fields[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        Stamp { secs, date, fields }
    }
}

thread_local! {
    /// The stamp is valid while `Instant::now() < VALID_UNTIL` (never, at
    /// first). Plain `Cell`s of `Copy` data with constant initial values:
    /// reading them is a thread-local load, with no lazy set-up to check.
    static VALID_UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
    static STAMP: Cell<Stamp> = const {
        Cell::new(Stamp {
            secs: 0,
            date: [0; DATE_LEN],
            fields: [0; FIELDS_LEN],
        })
    };
}

/// The stamp for `now` (an `Instant` the caller just read), from this
/// thread's cache.
pub(crate) fn stamp(now: Instant) -> Stamp {
    if VALID_UNTIL.get().is_some_and(|until| now < until) {
        return STAMP.get();
    }
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let to_next_second =
        Duration::from_nanos(u64::from(1_000_000_000 - since_epoch.subsec_nanos()));
    let stamp = Stamp::at(since_epoch.as_secs());
    STAMP.set(stamp);
    VALID_UNTIL.set(Some(now + to_next_second));
    stamp
}

/// Month names as an IMF-fixdate spells them.
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Days from 0000-03-01 to 1970-01-01 (the calendar arithmetic counts from
/// a March 1).
const EPOCH_SHIFT: u64 = 719_468;

/// Days in a 400-year Gregorian era.
const DAYS_PER_ERA: u64 = 146_097;

/// Renders unix time `secs` as an IMF-fixdate.
pub(crate) fn render(secs: u64) -> [u8; DATE_LEN] {
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
    let weekday = ((days + 4) % 7) as usize;
    let (year, month, day) = civil_from_days(days);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(WEEKDAYS[weekday]);
    put2(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    put2(&mut out[12..14], (year / 100) % 100);
    put2(&mut out[14..16], year % 100);
    put2(&mut out[17..19], of_day / 3600);
    put2(&mut out[20..22], of_day / 60 % 60);
    put2(&mut out[23..25], of_day % 60);
    out
}

/// The last instant an IMF-fixdate can write (its year has four digits):
/// 9999-12-31 23:59:59 UTC, in seconds since the Unix epoch.
const LAST_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// `time` as an HTTP-date (IMF-fixdate, RFC 9110 §5.6.7), for fields such as
/// `Last-Modified`; times before 1970 read as 1970, times after 9999 as its
/// last second, fractions of a second are dropped.
pub fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
        .min(LAST_HTTP_DATE_SECS);
    // An IMF-fixdate is ASCII.
    render(secs).iter().map(|&b| char::from(b)).collect()
}

/// Parses an HTTP-date in the IMF-fixdate form every current client sends
/// (`Sun, 06 Nov 1994 08:49:37 GMT`); `None` for anything else, including
/// the two obsolete forms RFC 9110 §5.6.7 still allows (a recipient then
/// ignores the field, as it must ignore an invalid date). The weekday is
/// checked for shape only.
pub fn parse_http_date(value: &str) -> Option<SystemTime> {
    let b = value.trim_matches([' ', '\t']).as_bytes();
    if b.len() != DATE_LEN
        || !b[..3].iter().all(u8::is_ascii_alphabetic)
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || b[19] != b':'
        || b[22] != b':'
        || &b[25..] != b" GMT"
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = &b[range];
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
    };
    let day = number(5..7)?;
    let month = MONTHS.iter().position(|m| &b[8..11] == *m)? as u64 + 1;
    let year = number(12..16)?;
    let (hour, minute, second) = (number(17..19)?, number(20..22)?, number(23..25)?);
    if year < 1970 || day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59 {
        return None;
    }
    // 60: a leap second, as RFC 5322 allows; it reads as the next second.
    if second > 60 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    // A leap second at the very end of 9999 would be year 10000: it reads as the last second.
    Some(UNIX_EPOCH + Duration::from_secs(secs.min(LAST_HTTP_DATE_SECS)))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a Gregorian date from 1970 on: the inverse of
/// [`civil_from_days`], with the same March-based eras.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let month_from_march = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT
}

fn put2(slot: &mut [u8], value: u64) {
    slot[0] = b'0' + (value / 10 % 10) as u8;
    slot[1] = b'0' + (value % 10) as u8;
}

/// Gregorian (year, month 1..=12, day 1..=31) of a day count since
/// 1970-01-01, by counting in 400-year eras that start on March 1 (so the
/// leap day is the last day of an era-year and month lengths repeat in a
/// 5-month pattern of 153 days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + EPOCH_SHIFT;
    let era = z / DAYS_PER_ERA;
    let day_of_era = z % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(secs: u64) -> String {
        String::from_utf8(render(secs).to_vec()).unwrap()
    }

    #[test]
    fn http_dates_parse_back_to_the_second_they_render() {
        for secs in [0, 784_111_777, 951_782_400, 1_709_208_000, 4_102_444_799] {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_http_date(&http_date(time)), Some(time), "{secs}");
        }
        // Every day of four years, at a time of day that moves.
        for day in 20_000..20_000 + 4 * 366 {
            let secs = day * 86_400 + (day * 7919) % 86_400;
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_http_date(&http_date(time)), Some(time), "{secs}");
        }
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_millis(784_111_777_900)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn malformed_http_dates_are_none() {
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850, obsolete
            "Sun Nov  6 08:49:37 1994",       // asctime, obsolete
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 2023 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nvm 1994 08:49:37 GMT",
            "Sun, 0x Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMTX",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
        assert!(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT").is_some());
        assert!(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT ").is_some());
    }

    #[test]
    fn known_dates() {
        assert_eq!(text(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(text(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(text(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(text(1_709_208_000), "Thu, 29 Feb 2024 12:00:00 GMT");
        assert_eq!(text(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
    }

    #[test]
    fn every_day_of_four_years_is_consistent() {
        // Consecutive days advance the weekday and the date by exactly one.
        let mut prev = civil_from_days(10_000);
        for d in 10_001..10_001 + 4 * 366 {
            let cur = civil_from_days(d);
            let next_in_month = (prev.0, prev.1, prev.2 + 1);
            let next_month = if prev.1 == 12 {
                (prev.0 + 1, 1, 1)
            } else {
                (prev.0, prev.1 + 1, 1)
            };
            assert!(
                cur == next_in_month || cur == next_month,
                "{prev:?} -> {cur:?}"
            );
            prev = cur;
        }
    }

    #[test]
    fn stamps_are_cached_within_a_second() {
        let now = Instant::now();
        let a = stamp(now);
        assert!(a.date.ends_with(b" GMT"));
        assert_eq!(stamp(now), a);
        let fields = String::from_utf8(a.fields.to_vec()).unwrap();
        assert!(
            fields.starts_with("Server: weft\r\nDate: ") && fields.ends_with(" GMT\r\n"),
            "{fields:?}"
        );
        // Asked for an instant past the cached second, the cache re-reads
        // the wall clock and is then valid past that instant.
        let later = now + Duration::from_secs(2);
        stamp(later);
        let valid_until = VALID_UNTIL.get().unwrap();
        assert!(valid_until > later);
    }

    #[test]
    fn the_end_of_year_9999_round_trips() {
        // Found by the http_date fuzz target: the leap second at the end of 9999 parsed as
        // year 10000, which rendered as "Sat, 01 Jan 0000".
        let last = parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        assert_eq!(parse_http_date("Fri, 31 Dec 9999 23:59:60 GMT"), Some(last));
        assert_eq!(http_date(last), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(
            http_date(last + Duration::from_secs(86_400 * 400)),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }
}
