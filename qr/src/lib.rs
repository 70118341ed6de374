//! QR codes for pairing: a PNG for the dashboard and Telegram, block characters for a terminal.

use qrcode::{Color, QrCode, render::unicode::Dense1x2};

/// Pixels per QR module in the PNG: large enough for a phone camera pointed at a screen.
const SCALE: usize = 8;
/// The blank margin scanners need, in modules.
const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the pairing code does not fit in a QR code: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("encoding the QR image failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// A black-on-white, 1-bit PNG of `text`.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(text.as_bytes())?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0u8; row_bytes * side];
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / SCALE, y / SCALE);
            let dark = (QUIET_ZONE..QUIET_ZONE + modules).contains(&mx)
                && (QUIET_ZONE..QUIET_ZONE + modules).contains(&my)
                && colors[(my - QUIET_ZONE) * modules + (mx - QUIET_ZONE)] == Color::Dark;
            // In 1-bit grayscale a set bit is white.
            if !dark {
                pixels[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side).map_err(|_| png::EncodingError::LimitsExceeded)?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

/// `text` drawn with half-block characters, two modules per character cell, light on dark so
/// it scans from a terminal with a dark background.
pub fn terminal(text: &str) -> Result<String, QrError> {
    let code = QrCode::new(text.as_bytes())?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_the_expected_size_and_signature() {
        let bytes = png("2@abcdef,ghijkl,mnopqr").unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        let modules = QrCode::new(b"2@abcdef,ghijkl,mnopqr").unwrap().width();
        assert_eq!(info.width as usize, (modules + 2 * QUIET_ZONE) * SCALE);
        assert_eq!(info.width, info.height);
    }

    #[test]
    fn terminal_rendering_is_block_characters() {
        let drawn = terminal("2@abc").unwrap();
        assert!(drawn.lines().count() > 10);
        assert!(drawn.chars().all(|c| " █▀▄\n".contains(c)), "{drawn}");
    }
}
