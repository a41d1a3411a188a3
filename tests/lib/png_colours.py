#!/usr/bin/env python3
"""png_colours.py - what a screenshot shows, for tests/cli_report_html.sh:
reads an 8-bit RGB or RGBA PNG (as headless Chromium writes them) with
zlib alone (no imaging library is installed), undoes the row filters and
prints: width, height, the number of distinct colours, the share of
pixels that are not white (percent), and how many pixels have each
colour given as RRGGBB on the command line.

usage: png_colours.py FILE.png [RRGGBB ...]
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG" % path)
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    if depth != 8 or colour not in (2, 6) or interlace:
        sys.exit("%s: only 8-bit RGB/RGBA, not interlaced" % path)
    return width, height, 3 if colour == 2 else 4, zlib.decompress(idat)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def rows(width, height, bpp, raw):
    stride, prev, pos = width * bpp, bytearray(width * bpp), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]) & 0xFF
        yield line
        prev = line


def main():
    width, height, bpp, raw = read_png(sys.argv[1])
    wanted = {bytes.fromhex(h): 0 for h in sys.argv[2:]}
    colours, coloured = set(), 0
    for line in rows(width, height, bpp, raw):
        for i in range(0, len(line), bpp):
            px = bytes(line[i:i + 3])
            colours.add(px)
            coloured += px != b"\xff\xff\xff"
            if px in wanted:
                wanted[px] += 1
    print(width, height, len(colours), round(100.0 * coloured / (width * height), 1),
          *[wanted[k] for k in wanted])


if __name__ == "__main__":
    main()
