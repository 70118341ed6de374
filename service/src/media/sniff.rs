//! What an upload really is, read from its first bytes. The client's declared type and the
//! file's extension are never trusted for images and videos: WhatsApp refuses a mislabelled
//! file, and the dashboard shows these inline. A document may be anything, but one whose name
//! promises a format that announces itself (a PDF, an Office file, an archive…) must be it:
//! the groups would otherwise get a file their phones cannot open.

/// How many leading bytes the checks look at.
pub(super) const HEAD_LEN: usize = 1024;

/// A recognised type: its MIME type and the extension its stored file gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Detected {
    pub mime: &'static str,
    pub ext: &'static str,
}

const JPEG: Detected = Detected {
    mime: "image/jpeg",
    ext: "jpg",
};
const PNG: Detected = Detected {
    mime: "image/png",
    ext: "png",
};
const WEBP: Detected = Detected {
    mime: "image/webp",
    ext: "webp",
};
const MP4: Detected = Detected {
    mime: "video/mp4",
    ext: "mp4",
};
const THREE_GPP: Detected = Detected {
    mime: "video/3gpp",
    ext: "3gp",
};

/// ISO base media brands that mean MP4. QuickTime (`qt  `) and HEIF images (`heic`, `mif1`)
/// share the container but not the brands, so they stay out.
const MP4_BRANDS: [&[u8; 4]; 11] = [
    b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash",
    b"mmp4",
];

/// A document format that announces itself in its first bytes.
struct Format {
    exts: &'static [&'static str],
    mime: &'static str,
    /// What it is called: "a PDF".
    name: &'static str,
    magic: &'static [&'static [u8]],
}

const ZIP: &[&[u8]] = &[b"PK\x03\x04", b"PK\x05\x06"];
/// Office's compound file: its older formats, and its newer ones when password-protected.
const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// A newer Office file: a ZIP, or a compound file when it is encrypted.
const OOXML: &[&[u8]] = &[b"PK\x03\x04", OLE];

/// Only formats whose every valid file starts so. The older Office formats are left out: what
/// exports as `.doc` or `.xls` is often RTF, HTML or XML, which Office opens all the same.
const FORMATS: &[Format] = &[
    Format {
        exts: &["docx"],
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        name: "a Word document",
        magic: OOXML,
    },
    Format {
        exts: &["xlsx"],
        mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        name: "an Excel workbook",
        magic: OOXML,
    },
    Format {
        exts: &["pptx"],
        mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        name: "a PowerPoint presentation",
        magic: OOXML,
    },
    Format {
        exts: &["odt"],
        mime: "application/vnd.oasis.opendocument.text",
        name: "an OpenDocument text",
        magic: ZIP,
    },
    Format {
        exts: &["ods"],
        mime: "application/vnd.oasis.opendocument.spreadsheet",
        name: "an OpenDocument spreadsheet",
        magic: ZIP,
    },
    Format {
        exts: &["odp"],
        mime: "application/vnd.oasis.opendocument.presentation",
        name: "an OpenDocument presentation",
        magic: ZIP,
    },
    Format {
        exts: &["epub"],
        mime: "application/epub+zip",
        name: "an EPUB book",
        magic: ZIP,
    },
    Format {
        exts: &["zip"],
        mime: "application/zip",
        name: "a ZIP archive",
        magic: ZIP,
    },
    Format {
        exts: &["gz", "tgz"],
        mime: "application/gzip",
        name: "a gzip archive",
        magic: &[b"\x1F\x8B"],
    },
    Format {
        exts: &["7z"],
        mime: "application/x-7z-compressed",
        name: "a 7-Zip archive",
        magic: &[b"7z\xBC\xAF\x27\x1C"],
    },
    Format {
        exts: &["rar"],
        mime: "application/vnd.rar",
        name: "a RAR archive",
        magic: &[b"Rar!\x1A\x07"],
    },
];

const IMAGE_EXTS: [&str; 5] = ["jpg", "jpeg", "png", "gif", "webp"];

const GIF: Detected = Detected {
    mime: "image/gif",
    ext: "gif",
};

/// A document named `….ext`: `Ok(Some(mime))` when the extension promises a format and the
/// bytes keep the promise, `Ok(None)` when it promises nothing checkable, `Err(name)` of the
/// format promised when the bytes are something else. A picture named as another kind of
/// picture (a WebP saved as `.jpg`) is a picture all the same, stored as what it is; a PDF's
/// header may follow a few bytes of anything, as readers allow.
pub(super) fn document(ext: &str, head: &[u8]) -> Result<Option<&'static str>, &'static str> {
    if ext == "pdf" {
        let found = head.windows(5).any(|w| w == b"%PDF-");
        return if found {
            Ok(Some("application/pdf"))
        } else {
            Err("a PDF")
        };
    }
    if IMAGE_EXTS.contains(&ext) {
        let gif = (head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")).then_some(GIF);
        return match image(head).or(gif) {
            Some(found) => Ok(Some(found.mime)),
            None => Err("an image"),
        };
    }
    match FORMATS.iter().find(|f| f.exts.contains(&ext)) {
        None => Ok(None),
        Some(format) if format.magic.iter().any(|m| head.starts_with(m)) => Ok(Some(format.mime)),
        Some(format) => Err(format.name),
    }
}

/// JPEG, PNG or WebP.
pub(super) fn image(head: &[u8]) -> Option<Detected> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(JPEG)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if head.get(..4) == Some(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Some(WEBP)
    } else {
        None
    }
}

/// MP4 or 3GPP: an ISO base media file whose leading `ftyp` box names a known brand, as the
/// major brand or among the compatible ones.
pub(super) fn video(head: &[u8]) -> Option<Detected> {
    if head.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let major = head.get(8..12)?;
    if major.starts_with(b"3gp") {
        return Some(THREE_GPP);
    }
    let box_len = head
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_be_bytes(b) as usize);
    let compatible = head.get(16..box_len.min(head.len())).unwrap_or_default();
    std::iter::once(major)
        .chain(compatible.chunks_exact(4))
        .any(|brand| MP4_BRANDS.iter().any(|known| known.as_slice() == brand))
        .then_some(MP4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let len = 16 + 4 * compatible.len();
        let mut head = (len as u32).to_be_bytes().to_vec();
        head.extend_from_slice(b"ftyp");
        head.extend_from_slice(major);
        head.extend_from_slice(&[0, 0, 0, 0]);
        for brand in compatible {
            head.extend_from_slice(*brand);
        }
        head.extend_from_slice(b"\0\0\0\x08free");
        head
    }

    #[test]
    fn images() {
        let cases: [(&[u8], Option<Detected>); 7] = [
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", Some(JPEG)),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(PNG)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(WEBP)),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"GIF89a", None),
            (b"\xFF\xD8", None),
            (b"", None),
        ];
        for (head, expected) in cases {
            assert_eq!(image(head), expected, "{head:?}");
        }
    }

    #[test]
    fn videos() {
        assert_eq!(video(&ftyp(b"isom", &[b"isom", b"avc1"])), Some(MP4));
        assert_eq!(video(&ftyp(b"mp42", &[])), Some(MP4));
        assert_eq!(video(&ftyp(b"3gp5", &[b"3gp5", b"isom"])), Some(THREE_GPP));
        assert_eq!(
            video(&ftyp(b"XAVC", &[b"mp42"])),
            Some(MP4),
            "a compatible brand is enough"
        );
        assert_eq!(video(&ftyp(b"qt  ", &[b"qt  "])), None, "QuickTime");
        assert_eq!(
            video(&ftyp(b"heic", &[b"mif1", b"heic"])),
            None,
            "HEIF image"
        );
        assert_eq!(video(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(video(b"\0\0\0\x18ftyp"), None, "cut short");
        assert_eq!(
            video(b"\xFF\xFF\xFF\xFFftypXXXX\0\0\0\0mp4"),
            None,
            "a box longer than the head is read only as far as the head goes"
        );
    }

    #[test]
    fn a_document_keeps_the_promise_of_its_name_or_is_refused_naming_it() {
        assert_eq!(document("pdf", b"%PDF-1.7\n"), Ok(Some("application/pdf")));
        assert_eq!(
            document("pdf", b"\xEF\xBB\xBF\r\n%PDF-1.4"),
            Ok(Some("application/pdf")),
            "a header after a few bytes, as readers allow"
        );
        assert_eq!(document("pdf", b"<html>"), Err("a PDF"));
        assert_eq!(
            document("docx", b"PK\x03\x04\x14\0"),
            Ok(Some(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            ))
        );
        assert!(
            document("xlsx", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1").is_ok(),
            "a password-protected workbook"
        );
        assert_eq!(document("docx", b"%PDF-1.7"), Err("a Word document"));
        // What Office opens as .doc or .xls is too varied to check.
        assert_eq!(document("xls", b"<html><table>"), Ok(None));
        assert_eq!(document("doc", b"{\\rtf1\\ansi"), Ok(None));
        // A picture is a picture, stored as what it is.
        assert_eq!(
            document("jpeg", b"\xFF\xD8\xFF\xE0"),
            Ok(Some("image/jpeg"))
        );
        assert_eq!(
            document("jpg", b"RIFF\0\0\0\0WEBPVP8 "),
            Ok(Some("image/webp"))
        );
        assert_eq!(document("gif", b"GIF89a\x01\0"), Ok(Some("image/gif")));
        assert_eq!(document("png", b"just text"), Err("an image"));
        assert_eq!(document("zip", b"PK\x05\x06"), Ok(Some("application/zip")));
        assert_eq!(document("zip", b""), Err("a ZIP archive"));
        assert_eq!(
            document("tgz", b"\x1F\x8B\x08"),
            Ok(Some("application/gzip"))
        );
        // Formats without a signature to read, and no extension at all, promise nothing.
        assert_eq!(document("txt", b"anything"), Ok(None));
        assert_eq!(document("csv", b"\xFF\xD8\xFF"), Ok(None));
        assert_eq!(document("bin", b"%PDF-"), Ok(None));
        // Every extension is named once.
        let mut exts: Vec<&str> = FORMATS
            .iter()
            .flat_map(|f| f.exts.iter().copied())
            .chain(IMAGE_EXTS)
            .chain(["pdf"])
            .collect();
        let all = exts.len();
        exts.sort_unstable();
        exts.dedup();
        assert_eq!(exts.len(), all);
    }
}
