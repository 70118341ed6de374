//! Names: what the dashboard shows for an upload, and what a document's declared type and
//! extension are worth. Stored files never take a name from the client.

/// The `original_name` column's width.
const NAME_MAX_CHARS: usize = 256;
/// The `mime_type` column's width.
const MIME_MAX_LEN: usize = 128;
const EXT_MAX_LEN: usize = 8;
const UNKNOWN_MIME: &str = "application/octet-stream";

/// The client's file name made safe to display: its last path component, without control or
/// bidirectional-override characters (which can disguise an extension), trimmed and at most 256
/// characters; `untitled.<ext>` when nothing is left.
pub(super) fn display_name(raw: &str, ext: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_bidi_control(c))
        .collect();
    let cleaned: String = cleaned.trim().chars().take(NAME_MAX_CHARS).collect();
    match cleaned.trim_end() {
        "" | "." | ".." => format!("untitled.{ext}"),
        name => name.to_owned(),
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A document's stored extension: the original name's, when it is short, lower-case-able
/// ASCII letters and digits; else `bin`.
pub(super) fn document_ext(raw_name: &str) -> String {
    let last = raw_name.rsplit(['/', '\\']).next().unwrap_or_default();
    match last.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=EXT_MAX_LEN).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            ext.to_ascii_lowercase()
        }
        _ => "bin".to_owned(),
    }
}

/// A document's MIME type: the declared one, lower-cased and without parameters, when it is a
/// well-formed `type/subtype`; else `application/octet-stream`.
pub(super) fn document_mime(declared: Option<&str>) -> String {
    let Some(declared) = declared else {
        return UNKNOWN_MIME.to_owned();
    };
    let essence = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match essence.split_once('/') {
        Some((kind, subtype)) if essence.len() <= MIME_MAX_LEN && token(kind) && token(subtype) => {
            essence
        }
        _ => UNKNOWN_MIME.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        let cases = [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\ana\\Holiday photo.JPG", "Holiday photo.JPG"),
            ("  spaced  ", "spaced"),
            ("bell\u{7}\nline.txt", "bellline.txt"),
            ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
            ("dir/", "untitled.bin"),
            ("..", "untitled.bin"),
            ("", "untitled.bin"),
        ];
        for (raw, expected) in cases {
            assert_eq!(display_name(raw, "bin"), expected, "{raw:?}");
        }
        let long = "é".repeat(300);
        assert_eq!(display_name(&long, "bin").chars().count(), 256);
    }

    #[test]
    fn document_extensions() {
        let cases = [
            ("Report.PDF", "pdf"),
            ("archive.tar.gz", "gz"),
            ("../../etc/passwd", "bin"),
            (".bashrc", "bin"),
            ("notes.", "bin"),
            ("a.verylongext", "bin"),
            ("a.p/df", "bin"),
            ("photo.jp g", "bin"),
            ("doc.ünï", "bin"),
        ];
        for (raw, expected) in cases {
            assert_eq!(document_ext(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn document_mimes() {
        let cases = [
            (Some("application/pdf"), "application/pdf"),
            (Some("Text/Plain; charset=UTF-8"), "text/plain"),
            (
                Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (Some("pdf"), UNKNOWN_MIME),
            (Some("text/"), UNKNOWN_MIME),
            (Some("text/html\r\nX-Evil: 1"), UNKNOWN_MIME),
            (Some("a/b/c"), UNKNOWN_MIME),
            (None, UNKNOWN_MIME),
        ];
        for (declared, expected) in cases {
            assert_eq!(document_mime(declared), expected, "{declared:?}");
        }
    }
}
