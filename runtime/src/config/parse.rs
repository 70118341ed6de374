//! The checks every setting's parser shares.

/// Keeps a valid value, or records why it is not.
pub(super) fn check<T>(
    problems: &mut Vec<String>,
    key: &str,
    result: Result<T, String>,
) -> Option<T> {
    result
        .map_err(|e| problems.push(format!("{key}: {e}")))
        .ok()
}

/// A whole number from `min` to `max` inclusive.
pub(super) fn parse_in_range(raw: &str, min: u32, max: u32, unit: &str) -> Result<u32, String> {
    match raw.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("expected {min} to {max} {unit}, got {raw:?}")),
    }
}
