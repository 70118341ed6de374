//! The current instant on either side: the server's clock, or the browser's (chrono cannot read
//! the clock in wasm on its own).

use chrono::{DateTime, Utc};

pub fn now() -> DateTime<Utc> {
    #[cfg(feature = "hydrate")]
    {
        // Milliseconds since the epoch, well inside f64's exact integers.
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Utc::now()
    }
}
