"""pb.py — the little of protobuf and onnx.proto nnc's ONNX tests need, in the standard library.

Writes ModelProto bytes by hand (models for the diagnostics tests, mkonnx.py), reads the
TensorProto files of ONNX's backend node tests and rewrites a model's graph inputs into
initializers (node_tests.py). Field numbers are those of onnx.proto.
"""
import struct

FLOAT, INT32, INT64, DOUBLE = 1, 6, 7, 11


# --- writing ---------------------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_int(field, n):
    return varint(field << 3) + varint(n)


def f_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def f_str(field, s):
    return f_bytes(field, s.encode())


def f_float(field, x):
    return varint(field << 3 | 5) + struct.pack("<f", x)


def tensor(name, dims, values, dtype=FLOAT):
    fmt = {FLOAT: "<f", DOUBLE: "<d", INT64: "<q", INT32: "<i"}[dtype]
    raw = b"".join(struct.pack(fmt, v) for v in values)
    return b"".join(f_int(1, d) for d in dims) + f_int(2, dtype) + f_str(8, name) + f_bytes(9, raw)


def attr_int(name, i):
    return f_str(1, name) + f_int(3, i) + f_int(20, 2)


def attr_float(name, x):
    return f_str(1, name) + f_float(2, x) + f_int(20, 1)


def attr_tensor(name, t):
    return f_str(1, name) + f_bytes(5, t) + f_int(20, 4)


def node(op, inputs, outputs, name="", attrs=()):
    return (b"".join(f_str(1, i) for i in inputs) + b"".join(f_str(2, o) for o in outputs) +
            (f_str(3, name) if name else b"") + f_str(4, op) + b"".join(f_bytes(5, a) for a in attrs))


def value_info(name, dims, elem=FLOAT):
    """dims: ints, or strings for symbolic sizes ('N')."""
    shape = b"".join(f_bytes(1, f_str(2, d) if isinstance(d, str) else f_int(1, d)) for d in dims)
    return f_str(1, name) + f_bytes(2, f_bytes(1, f_int(1, elem) + f_bytes(2, shape)))


def graph(nodes, inputs, outputs, initializers=(), name="g"):
    return (b"".join(f_bytes(1, n) for n in nodes) + f_str(2, name) +
            b"".join(f_bytes(5, t) for t in initializers) +
            b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs))


def model(g, opset=13):
    return f_int(1, 8) + f_str(2, "mkonnx") + f_bytes(8, f_int(2, opset)) + f_bytes(7, g)


# --- reading ---------------------------------------------------------------------------

def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(data):
    """[(field, wire type, value, raw bytes of the whole field)] of one message."""
    out, i = [], 0
    while i < len(data):
        start = i
        key, i = read_varint(data, i)
        wt = key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        elif wt == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        else:
            raise ValueError("unsupported wire type %d" % wt)
        out.append((key >> 3, wt, v, data[start:i]))
    return out


def read_tensor(data):
    """(dims, values as floats) of a TensorProto of floats or doubles."""
    dims, dtype, raw, floats = [], FLOAT, None, []
    for f, wt, v, _ in fields(data):
        if f == 1 and wt == 0:
            dims.append(v)
        elif f == 1 and wt == 2:
            j = 0
            while j < len(v):
                d, j = read_varint(v, j)
                dims.append(d)
        elif f == 2:
            dtype = v
        elif f == 9:
            raw = v
        elif f == 4 and wt == 2:
            floats += list(struct.unpack("<%df" % (len(v) // 4), v))
        elif f == 4 and wt == 5:
            floats.append(struct.unpack("<f", v)[0])
    if raw is not None:
        size = 8 if dtype == DOUBLE else 4
        fmt = {FLOAT: "f", DOUBLE: "d", INT32: "i"}.get(dtype, "f")
        floats = list(struct.unpack("<%d%s" % (len(raw) // size, fmt), raw))
    return dims, floats


def graph_inputs(model_bytes):
    """The names of the graph's inputs, in order."""
    for f, _, v, _ in fields(model_bytes):
        if f == 7:
            return [bytes(dict((ff, vv) for ff, _, vv, _ in fields(vi))[1]).decode()
                    for ff, _, vi, _ in fields(v) if ff == 11]
    return []


def freeze_inputs(model_bytes, constants):
    """The model with the named graph inputs made initializers: constants maps each name to
    the bytes of its TensorProto (the name field is set to the input's)."""
    out = b""
    for f, _, v, whole in fields(model_bytes):
        if f != 7:
            out += whole
            continue
        g = b""
        for gf, _, gv, gwhole in fields(v):
            if gf == 11 and bytes(dict((ff, vv) for ff, _, vv, _ in fields(gv))[1]).decode() in constants:
                continue
            g += gwhole
        for name, t in constants.items():
            g += f_bytes(5, t + f_str(8, name))
        out += f_bytes(7, g)
    return out
