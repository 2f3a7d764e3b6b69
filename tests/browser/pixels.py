"""Read the pixels of a browser screenshot (an 8-bit PNG) without an imaging library."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

Pixel = tuple[int, int, int]


def png_pixels(png: bytes) -> tuple[int, int, Callable[[int, int], Pixel]]:
    """Return width, height and a function giving the RGB colour at (x, y) of an 8-bit PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    at, data = 8, b""
    width = height = channels = 0
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
    raw = zlib.decompress(data)
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min(
                    (abs(guess - left), 0, left),
                    (abs(guess - up), 1, up),
                    (abs(guess - corner), 2, corner),
                )[2]
                line[i] = (line[i] + near) & 255
        rows.append(line)
        previous = line

    def pixel(x: int, y: int) -> Pixel:
        """Return the RGB colour at (x, y)."""
        row = rows[y]
        return row[x * channels], row[x * channels + 1], row[x * channels + 2]

    return width, height, pixel


def risk_of(pixel: Pixel) -> str:
    """Name the risk colour a building's fill shows at this pixel: red, yellow, green or other."""
    r, g, b = pixel
    if r > 150 and g > 140 and b < 110:
        return "yellow"
    if r > 140 and g < 100 and b < 100:
        return "red"
    if g > r + 40 and g > b + 30:
        return "green"
    return "other"
