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

    /// Shaped like WhatsApp's pairing codes: a ref, then base64 keys, comma-separated.
    const CODE: &str = "2@Xq3vG9kLmN0pQrStUvWxYz12aBcDeFgHiJkLmNoPqRsTuVwXyZ/+==,\
        hT6p2k1c9QbY0vW3xZ8mN4rS7uA5dF2gJ6kL9pQ3sV0=,Pz8wX1cV4bN7mK2jH5gF9dS3aQ6eR0tY8uI1oP4lZ7=,\
        Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7cF0iL3oR6uX9bE2h=";

    /// Reads `terminal`'s drawing back into modules, `true` for dark: a filled half is a light
    /// module (drawn in the terminal's foreground), an empty half a dark one.
    fn terminal_modules(drawn: &str) -> Vec<Vec<bool>> {
        let mut rows = Vec::new();
        for line in drawn.lines() {
            let (top, bottom): (Vec<bool>, Vec<bool>) = line
                .chars()
                .map(|c| match c {
                    '█' => (false, false),
                    '▀' => (false, true),
                    '▄' => (true, false),
                    ' ' => (true, true),
                    other => panic!("{other:?} is not a half block"),
                })
                .unzip();
            rows.push(top);
            rows.push(bottom);
        }
        // The code is square; an odd side leaves the last line's lower halves unused.
        rows.truncate(rows[0].len());
        rows
    }

    /// What a QR reader finds in an image of `side` pixels, `dark` telling each pixel's colour.
    fn scan(side: usize, dark: impl Fn(usize, usize) -> bool) -> String {
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, dark);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in the image");
        grids[0].decode().expect("the code decodes").1
    }

    #[test]
    fn the_terminal_drawing_scans_back_to_the_text() {
        let modules = terminal_modules(&terminal(CODE).unwrap());
        let side = QrCode::new(CODE.as_bytes()).unwrap().width() + 2 * QUIET_ZONE;
        assert_eq!(modules.len(), side);
        assert!(modules.iter().all(|row| row.len() == side));
        // The quiet zone is light all round, so the code stands out from a dark terminal.
        for (y, row) in modules.iter().enumerate() {
            for (x, dark) in row.iter().enumerate() {
                let margin = [x, y, side - 1 - x, side - 1 - y]
                    .into_iter()
                    .min()
                    .unwrap();
                assert!(
                    margin >= QUIET_ZONE || !dark,
                    "dark module in the quiet zone at {x},{y}"
                );
            }
        }
        // A few pixels per module, as a camera sees a terminal.
        const PIXELS: usize = 4;
        assert_eq!(
            scan(side * PIXELS, |x, y| modules[y / PIXELS][x / PIXELS]),
            CODE
        );
    }

    #[test]
    fn the_png_scans_back_to_the_text() {
        let bytes = png(CODE).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let mut decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        // One byte a pixel, whatever the file's bit depth.
        decoder.set_transformations(::png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(frame.color_type, ::png::ColorType::Grayscale);
        let side = frame.width as usize;
        assert_eq!(frame.height as usize, side);
        let modules = QrCode::new(CODE.as_bytes()).unwrap().width();
        assert_eq!(side, (modules + 2 * QUIET_ZONE) * SCALE);
        assert_eq!(scan(side, |x, y| pixels[y * side + x] < 128), CODE);
    }
}
