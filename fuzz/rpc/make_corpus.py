#!/usr/bin/python3
"""Writes the seed corpus for fuzz/rpc/fuzz_rpc.c into fuzz/rpc/corpus/.

Frames are built by hand (HPACK literal headers without indexing, no
Huffman), so the seeds do not depend on any HTTP/2 library. Re-run after
changing the target's modes; the output is deterministic.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def hpack(headers):
    out = b""
    for k, v in headers:
        k, v = k.encode(), v.encode() if isinstance(v, str) else v
        out += b"\x00" + bytes([len(k)]) + k + bytes([len(v)]) + v
    return out


def req(path, extra=(), ct="application/grpc", end=False, stream=1):
    h = [(":method", "POST"), (":scheme", "http"), (":path", path),
         (":authority", "x"), ("te", "trailers"), ("content-type", ct)] + list(extra)
    return frame(1, 0x4 | (0x1 if end else 0), stream, hpack(h))


def msg(body, flag=0):
    return bytes([flag]) + struct.pack(">I", len(body)) + body


SETTINGS = frame(4, 0, 0)
SEEDS = {
    "unary": SETTINGS + req("/f.S/Echo", [("grpc-timeout", "1S")]) +
    frame(0, 1, 1, msg(b"hello")),
    "unary_split": SETTINGS + req("/f.S/Echo") + frame(0, 0, 1, msg(b"abcdef")[:3]) +
    frame(0, 0, 1, msg(b"abcdef")[3:]) + frame(0, 1, 1),
    "stream": SETTINGS + req("/f.S/Stream", [("x-a", "b"), ("x-b-bin", "AAEC")]) +
    frame(0, 1, 1, msg(b"xyz")),
    "bidi_many": SETTINGS + req("/f.S/Bidi") +
    frame(0, 0, 1, msg(b"") + msg(b"1") + msg(b"22")) + frame(0, 1, 1, msg(b"333")),
    "bidi_finish_early": SETTINGS + req("/f.S/Bidi") + frame(0, 0, 1, msg(b"F")),
    "bidi_rst": SETTINGS + req("/f.S/Bidi") + frame(0, 0, 1, msg(b"a")) +
    frame(3, 0, 1, struct.pack(">I", 8)),
    "unknown": SETTINGS + req("/f.S/Nope", end=True),
    "bad_timeout": SETTINGS + req("/f.S/Echo", [("grpc-timeout", "123456789S")]) +
    frame(0, 1, 1, msg(b"x")),
    "bad_ct": SETTINGS + req("/f.S/Echo", ct="text/plain", end=True),
    "compressed": SETTINGS + req("/f.S/Echo", [("grpc-encoding", "gzip")]) +
    frame(0, 1, 1, msg(b"x", 1)),
    "huge_len": SETTINGS + req("/f.S/Echo") + frame(0, 1, 1, b"\x00\xff\xff\xff\xff"),
    "trailers_from_client": SETTINGS + req("/f.S/Bidi") + frame(0, 0, 1, msg(b"q")) +
    frame(1, 0x5, 1, hpack([("x-t", "v")])),
    "two_streams": SETTINGS + req("/f.S/Echo") + req("/f.S/Bidi", stream=3) +
    frame(0, 1, 1, msg(b"a")) + frame(0, 1, 3, msg(b"b")),
    "ping_wu_goaway": SETTINGS + frame(6, 0, 0, b"12345678") +
    frame(8, 0, 0, struct.pack(">I", 1000)) + frame(7, 0, 0, struct.pack(">II", 0, 0)),
    "settings_window": frame(4, 0, 0, struct.pack(">HI", 4, 1) + struct.pack(">HI", 5, 16384)) +
    req("/f.S/Stream") + frame(0, 1, 1, msg(b"window")),
    "continuation": SETTINGS + frame(1, 0, 1, hpack([(":method", "POST"), (":scheme", "http")])) +
    frame(9, 0x4, 1, hpack([(":path", "/f.S/Echo"), (":authority", "x"),
                             ("content-type", "application/grpc")])) +
    frame(0, 1, 1, msg(b"c")),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, "h2_" + name), "wb") as f:
            f.write(b"\x00" + data)
    deframe = [msg(b"a") + msg(b"") + msg(b"bc" * 40), msg(b"x" * 300), b"\x00\x00\x00\x10\x00ab"]
    for i, d in enumerate(deframe):
        with open(os.path.join(OUT, "deframe_%d" % i), "wb") as f:
            f.write(b"\xf0" + bytes([i * 5]) + d)
    helpers = [b"100m", b"99999999H", b"%41%zz%", b"AAECAw==", b"-5S"]
    for i, d in enumerate(helpers):
        with open(os.path.join(OUT, "helpers_%d" % i), "wb") as f:
            f.write(b"\xf8" + d)


if __name__ == "__main__":
    main()
