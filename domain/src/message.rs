//! What WhatsApp accepts in one message part.

/// The most characters a text, or a media part's caption, may have: WhatsApp's own limit.
pub const MAX_CHARS: usize = 65_536;

/// "65,536": a count with thousands separated, as the wizard and errors show it.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Why a part's text is too long, or `None`.
pub fn too_long(text: &str) -> Option<String> {
    let chars = text.chars().count();
    (chars > MAX_CHARS).then(|| {
        format!(
            "WhatsApp takes at most {} characters in one message; this has {}",
            grouped(MAX_CHARS),
            grouped(chars)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_with_thousands_separated() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(65_536), "65,536");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        assert_eq!(too_long(&"é".repeat(MAX_CHARS)), None);
        assert_eq!(
            too_long(&"x".repeat(MAX_CHARS + 1)).as_deref(),
            Some("WhatsApp takes at most 65,536 characters in one message; this has 65,537")
        );
    }
}
