//! What kind of device the browser is on, for choices a page makes when tapped.

/// A phone: a touch screen no wider than a phone's. On the phone being paired, a QR code on the
/// same screen cannot be scanned, so pairing starts with the phone number there. Always `false`
/// when rendering on the server; call it from event handlers, not while rendering.
pub fn is_phone() -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|window| {
                window
                    .match_media("(pointer: coarse) and (max-width: 640px)")
                    .ok()
                    .flatten()
            })
            .is_some_and(|query| query.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
