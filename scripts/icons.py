#!/usr/bin/env python3
"""Draws Herald's PNG app icons (public/icons/) from the shapes of public/favicon.svg.

Standard library only: the machines that build Herald need no imaging package. Run it again
after changing the favicon's shapes below; the output is deterministic, so unchanged icons
produce no diff.

    python3 scripts/icons.py
"""

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "public" / "icons"

# public/favicon.svg on its 64-unit canvas: a rounded square (rx 14) in the brand colour and a
# white "H" made of two bars and a crossbar.
CANVAS = 64.0
CORNER = 14.0
BRAND = (0x0F, 0x76, 0x6E)
WHITE = (0xFF, 0xFF, 0xFF)
H_BARS = [  # x0, y0, x1, y1
    (20, 16, 27, 48),
    (37, 16, 44, 48),
    (27, 29, 37, 35),
]


def rounded_square_coverage(px, py, size, radius):
    """How much of the pixel centred at (px, py) the rounded square covers, from the signed
    distance to its edge: a one-pixel-wide anti-aliased ramp."""
    half = size / 2
    # Distance from the centre, folded into one quadrant, relative to the corner circle's centre.
    qx = abs(px - half) - (half - radius)
    qy = abs(py - half) - (half - radius)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    distance = outside + inside - radius
    return min(max(0.5 - distance, 0.0), 1.0)


def rect_coverage(x, y, rect):
    """The exact area of pixel (x, y) inside an axis-aligned rectangle."""
    x0, y0, x1, y1 = rect
    w = min(x + 1, x1) - max(x, x0)
    h = min(y + 1, y1) - max(y, y0)
    return w * h if w > 0 and h > 0 else 0.0


def draw(size, full_bleed):
    """RGBA rows of the icon at `size` pixels. `full_bleed` fills the whole square (maskable and
    Apple icons: the platform cuts its own shape) instead of rounding the corners."""
    scale = size / CANVAS
    bars = [tuple(v * scale for v in bar) for bar in H_BARS]
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            if full_bleed:
                alpha = 1.0
            else:
                alpha = rounded_square_coverage(x + 0.5, y + 0.5, size, CORNER * scale)
            # The bars do not overlap, so their coverages add up.
            white = min(sum(rect_coverage(x, y, bar) for bar in bars), 1.0)
            colour = (round(b + (w - b) * white) for b, w in zip(BRAND, WHITE))
            row.extend(colour)
            row.append(round(alpha * 255))
        rows.append(bytes(row))
    return rows


def png(size, rows):
    """A truecolour-with-alpha PNG, every row unfiltered."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


# The "H" spans at most 20 of 64 units from the centre (31 %), inside the 40 % radius that
# maskable icons keep, so the maskable one needs no rescaling.
ICONS = [
    ("icon-192.png", 192, False),
    ("icon-512.png", 512, False),
    ("maskable-512.png", 512, True),
    ("apple-touch-icon.png", 180, True),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, full_bleed in ICONS:
        (OUT / name).write_bytes(png(size, draw(size, full_bleed)))
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
