#!/usr/bin/env python3
"""poison_weights.py IN OUT INDEX VALUE: copies the weights file IN to OUT with parameter INDEX
(an f32 network's) set to VALUE (nan, inf, ...) and the checksum made right again, so that
only the value is wrong."""
import struct
import sys


def fnv1a(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


img = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<f", img, 48 + 4 * int(sys.argv[3]), float(sys.argv[4]))
h = fnv1a(fnv1a(0xCBF29CE484222325, img[:40]), img[48:])
struct.pack_into("<Q", img, 40, h)
open(sys.argv[2], "wb").write(img)
