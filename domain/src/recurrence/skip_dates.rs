//! How a schedule's skipped dates are stored: ISO dates, comma-separated, earliest first
//! (`2026-12-24,2026-12-31`). A list that does not read is refused rather than half-read, so a
//! skipped date is never silently lost.

use chrono::NaiveDate;

use super::RuleError;

/// The stored form of `dates` (sorted, each once); `None` when there are none.
pub fn to_text(dates: &[NaiveDate]) -> Option<String> {
    if dates.is_empty() {
        return None;
    }
    let text: Vec<String> = dates
        .iter()
        .map(|date| date.format("%Y-%m-%d").to_string())
        .collect();
    Some(text.join(","))
}

/// Reads what [`to_text`] wrote (blank reads as none), sorted and each once whatever the text's
/// order, as [`super::Schedule`] needs them.
pub fn from_text(text: &str) -> Result<Vec<NaiveDate>, RuleError> {
    let mut dates = text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            NaiveDate::parse_from_str(part, "%Y-%m-%d")
                .map_err(|_| RuleError::BadSkipDate(part.to_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    dates.sort_unstable();
    dates.dedup();
    Ok(dates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_garbage_is_refused() {
        let dates = [
            NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        ];
        let text = to_text(&dates).unwrap();
        assert_eq!(text, "2026-12-24,2027-01-01");
        assert_eq!(from_text(&text).unwrap(), dates);
        assert_eq!(to_text(&[]), None);
        assert_eq!(from_text(" ").unwrap(), []);
        assert_eq!(
            from_text("2027-01-01, 2026-12-24,2027-01-01").unwrap(),
            dates
        );
        assert_eq!(
            from_text("2026-12-24,24/12/2026"),
            Err(RuleError::BadSkipDate("24/12/2026".into()))
        );
    }
}
