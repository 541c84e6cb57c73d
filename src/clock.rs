//! The one place that reads the clock, and the day arithmetic every stored
//! time uses: peluit stores and signs days (UTC), never seconds
//! (SECURITY.md, "What a copy of the data folder shows"). Pure but for
//! [`now_unix`] and [`today`].

/// Where "now" comes from for a server: the system clock, or a fixed second
/// (tests). Given to the server by `main`; the core takes days and seconds
/// as arguments and never reads a clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A fixed Unix second.
    Fixed(u64),
}

impl Clock {
    /// Now, in Unix seconds.
    pub fn now(self) -> u64 {
        match self {
            Clock::System => now_unix(),
            Clock::Fixed(t) => t,
        }
    }

    /// Today (UTC) as `YYYY-MM-DD`.
    pub fn today(self) -> String {
        day_of(self.now())
    }
}

/// Now, in Unix seconds.
pub fn now_unix() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// Today (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    day_of(now_unix())
}

/// The UTC day of `unix` seconds, `YYYY-MM-DD`.
pub fn day_of(unix: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(i64::MAX))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// Days since the epoch of a `YYYY-MM-DD` day; `None` for anything else.
pub fn day_number(day: &str) -> Option<i64> {
    let mut parts = day.split('-');
    let (y, m, d) = (parts.next()?.parse().ok()?, parts.next()?.parse::<u8>().ok()?, parts.next()?.parse().ok()?);
    if parts.next().is_some() || day.len() != 10 {
        return None;
    }
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()?;
    Some(
        i64::from(date.to_julian_day())
            - i64::from(time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?.to_julian_day()),
    )
}

/// The day `days` before `day` (for retention cut-offs); `None` if `day` is
/// not a day.
pub fn days_before(day: &str, days: u32) -> Option<String> {
    let n = day_number(day)? - i64::from(days);
    Some(day_of(u64::try_from(n.max(0)).ok()? * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_count_whole_days() {
        assert_eq!(day_of(1_000_000), "1970-01-12");
        assert_eq!(day_of(1_795_976_890), "2026-11-29");
        assert_eq!(day_number("1970-01-12"), Some(11));
        assert_eq!(day_number("2026-11-29").zip(day_number("2026-12-01")).map(|(a, b)| b - a), Some(2));
        for bad in ["2026-13-01", "2026-1-1", "1796000000", "2026-11-29T10:00", ""] {
            assert_eq!(day_number(bad), None, "{bad}");
        }
        assert_eq!(days_before("2026-11-29", 365).as_deref(), Some("2025-11-29"));
        assert_eq!(days_before("2026-03-01", 1).as_deref(), Some("2026-02-28"));
    }
}
