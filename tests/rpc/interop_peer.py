#!/usr/bin/python3
"""grpcio peer for cohort's interop tests (tests/rpc/test_rpc_interop.c).

Run with Debian's interpreter (/usr/bin/python3, which sees python3-grpcio).
Messages are raw bytes (identity (de)serializers): no generated code.

  interop_peer.py server         serve on 127.0.0.1:0, print the port, run
                                 until stdin closes
  interop_peer.py client PORT    call cohort's test server on PORT, check
                                 every answer; exit 0 when all pass
  interop_peer.py tls-server CERT KEY
                                 as server, over TLS with that certificate
  interop_peer.py tls-client PORT CA
                                 TLS client (CA: the trust root, name
                                 checked: localhost): unary and streaming
  interop_peer.py big-client PORT [CA]
                                 large messages against cohort's big.B
                                 service (tests/rpc/big_service.c): 300 kB,
                                 1 MiB, 4 MiB (the maximum) and 4 MiB + 1,
                                 four patterns; over TLS when CA is given
  interop_peer.py gzip-client PORT
                                 big-client's sizes with grpc-encoding gzip
  interop_peer.py gzip-server    as server, compressing its responses (gzip)
  interop_peer.py health PORT    grpc.health.v1 Check and Watch against cohort's
                                 server, standard wire messages (grpcio's own
                                 health package is not in Debian)
Both servers also serve big.B (the same four methods as big_service.c).
Exit status 77 (meson's "skipped") when grpcio cannot be imported.
"""
import sys
import threading
import time

try:
    import grpc
except ImportError:  # pragma: no cover
    print("grpcio not available for", sys.executable, file=sys.stderr)
    sys.exit(77)

BIN = bytes([0, 1, 2, 0xFF, 0xFE, 0x61])
MSG = "bad \u2713 100%\nthing"


# ---- server -------------------------------------------------------------------

def echo_md(context):
    md = dict(context.invocation_metadata())
    out = []
    for key in ("x-ascii", "x-data-bin"):
        if key in md:
            out.append((key, md[key]))
    left = context.time_remaining()
    if left is not None:
        out.append(("x-time-left-ms", str(int(left * 1000))))
    return out


# ---- rich error details (grpc-status-details-bin = google.rpc.Status) ---------

def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _field(num, data):
    """A length-delimited protobuf field."""
    return _varint(num << 3 | 2) + _varint(len(data)) + data


ERROR_INFO = _field(1, b"R") + _field(2, b"cohort")  # google.rpc.ErrorInfo
ERROR_INFO_URL = b"type.googleapis.com/google.rpc.ErrorInfo"
RICH = (_varint(1 << 3) + _varint(5) + _field(2, b"rich")           # code, message
        + _field(3, _field(1, ERROR_INFO_URL) + _field(2, ERROR_INFO)))  # Any


def unary(request, context):
    context.set_trailing_metadata(echo_md(context))
    if request == b"sleep":
        while context.is_active():
            time.sleep(0.005)
        return b""
    if request == b"rich":
        context.set_trailing_metadata((("grpc-status-details-bin", RICH),))
        context.abort(grpc.StatusCode.NOT_FOUND, "rich")
    if request.startswith(b"fail:"):
        code = int(request[5:])
        status = [c for c in grpc.StatusCode if c.value[0] == code][0]
        context.abort(status, MSG)
    return request


def server_stream(request, context):
    n = request[0] if request else 0
    for i in range(n):
        yield bytes([i]) + b"xy"


def client_stream(request_iterator, context):
    count = total = 0
    for m in request_iterator:
        count += 1
        total += len(m)
    return b"%d/%d" % (count, total)


def bidi(request_iterator, context):
    for m in request_iterator:
        yield m


# ---- large messages (mirror of tests/rpc/big_service.c) ---------------------------

MAX = 4 * 1024 * 1024
BIG_OPTS = [("grpc.max_receive_message_length", MAX),
            ("grpc.max_send_message_length", MAX + 1)]
_BASES = {}


def pattern(n, seed):
    """Byte i is ((i mod 251) * 7 + seed) mod 256, as big_fill() in C."""
    seed &= 255
    base = _BASES.get(seed)
    if base is None:
        base = _BASES[seed] = bytes(((j * 7 + seed) & 255) for j in range(251))
    return (base * (n // 251 + 1))[:n]


def big_echo(request, context):
    return request


def big_fan(request, context):
    count = int.from_bytes(request[0:4], "big")
    size = int.from_bytes(request[4:8], "big")
    for k in range(count):
        yield pattern(size, k)


def big_last(request_iterator, context):
    last = None
    for i, m in enumerate(request_iterator):
        if m != pattern(len(m), i):
            context.abort(grpc.StatusCode.DATA_LOSS, "request pattern mismatch")
        last = (len(m), i)
    if last is None:
        context.abort(grpc.StatusCode.DATA_LOSS, "no request")
    return pattern(last[0], last[1])


def big_bidi(request_iterator, context):
    for i, m in enumerate(request_iterator):
        if m != pattern(len(m), i):
            context.abort(grpc.StatusCode.DATA_LOSS, "request pattern mismatch")
        yield pattern(len(m), i)


def big_handlers():
    ident = dict(request_deserializer=None, response_serializer=None)
    return grpc.method_handlers_generic_handler("big.B", {
        "Echo": grpc.unary_unary_rpc_method_handler(big_echo, **ident),
        "Fan": grpc.unary_stream_rpc_method_handler(big_fan, **ident),
        "Last": grpc.stream_unary_rpc_method_handler(big_last, **ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(big_bidi, **ident),
    })


def serve(tls=None, gzip=False):
    from concurrent import futures
    ident = dict(request_deserializer=None, response_serializer=None)
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, **ident),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, **ident),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, **ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, **ident),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=BIG_OPTS,
                         compression=grpc.Compression.Gzip if gzip else None)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("interop.Test", handlers), big_handlers()))
    if tls:
        with open(tls[0], "rb") as f:
            cert = f.read()
        with open(tls[1], "rb") as f:
            key = f.read()
        creds = grpc.ssl_server_credentials([(key, cert)])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the test closes our stdin (or kills us)
    server.stop(0)


# ---- client -------------------------------------------------------------------

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)


def run_client(port):
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    grpc.channel_ready_future(ch).result(timeout=5)
    uu = lambda m: ch.unary_unary(m)
    # unary with ASCII and binary metadata round trips
    md = (("x-ascii", "hello world"), ("x-data-bin", BIN))
    resp, call = uu("/t.S/Echo").with_call(b"ping", metadata=md, timeout=5)
    check(resp == b"ping", "unary echo")
    tr = dict(call.trailing_metadata())
    check(tr.get("x-ascii") == "hello world", "ascii trailer %r" % tr)
    check(tr.get("x-data-bin") == BIN, "binary trailer %r" % tr)
    check(call.code() == grpc.StatusCode.OK, "unary status")
    # status code and percent-encoded message
    try:
        uu("/t.S/Fail")(b"", timeout=5)
        check(False, "Fail must raise")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, "fail code %s" % e.code())
        check(e.details() == MSG, "fail message %r" % e.details())
    # rich error details from cohort's server
    try:
        uu("/t.S/Rich")(b"", timeout=5)
        check(False, "Rich must raise")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "rich code %s" % e.code())
        got = dict(e.trailing_metadata()).get("grpc-status-details-bin")
        check(got == RICH, "rich details %r" % (got,))
    # unknown method
    try:
        uu("/t.S/Nope")(b"", timeout=5)
        check(False, "Nope must raise")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, "unimplemented %s" % e.code())
    # deadline expiring on cohort's server (the handler never answers)
    t0 = time.monotonic()
    try:
        uu("/t.S/Hold")(b"x", timeout=0.2)
        check(False, "Hold must time out")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "deadline %s" % e.code())
    check(time.monotonic() - t0 < 2, "deadline took too long")
    # server streaming
    got = list(ch.unary_stream("/t.S/Stream")(bytes([30]), timeout=5))
    check(len(got) == 30 and got[-1] == bytes([29]) + b"xy", "server stream %d" % len(got))
    # client streaming, including a message > 64 KiB split over DATA frames
    msgs = [b"a" * i for i in range(50)] + [b"b" * 100000]
    resp = ch.stream_unary("/t.S/Sum")(iter(msgs), timeout=5)
    check(resp == b"%d/%d" % (len(msgs), sum(map(len, msgs))), "client stream %r" % resp)
    # bidi
    out = list(ch.stream_stream("/t.S/Bidi")(iter([bytes([i]) for i in range(20)]), timeout=5))
    check(out == [bytes([i]) for i in range(20)], "bidi %r" % out[:3])
    # cancellation from the client reaches the handler (checked on the C side)
    fut = uu("/t.S/Hold").future(b"x")
    time.sleep(0.1)
    fut.cancel()
    time.sleep(0.1)
    ch.close()
    print("client checks done, %d failure(s)" % len(FAILS), file=sys.stderr)
    return 1 if FAILS else 0


def run_tls_client(port, ca_file):
    with open(ca_file, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    opts = (("grpc.ssl_target_name_override", "localhost"),)
    ch = grpc.secure_channel("127.0.0.1:%d" % port, creds, options=opts)
    grpc.channel_ready_future(ch).result(timeout=5)
    md = (("x-ascii", "over tls"),)
    resp, call = ch.unary_unary("/t.S/Echo").with_call(b"tls ping", metadata=md, timeout=5)
    check(resp == b"tls ping", "tls unary echo %r" % resp)
    check(dict(call.trailing_metadata()).get("x-ascii") == "over tls", "tls trailer")
    got = list(ch.unary_stream("/t.S/Stream")(bytes([5]), timeout=5))
    check(len(got) == 5, "tls server stream %d" % len(got))
    try:
        ch.unary_unary("/t.S/Fail")(b"", timeout=5)
        check(False, "tls Fail must raise")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.FAILED_PRECONDITION, "tls fail code %s" % e.code())
    ch.close()
    print("tls client checks done, %d failure(s)" % len(FAILS), file=sys.stderr)
    return 1 if FAILS else 0


def big_one(ch, method, size, want):
    """One call of big.B/method at `size` (streams of 3); checks the data."""
    n = 1 if method == "Echo" else 3
    t0 = time.monotonic()
    try:
        if method == "Echo":
            got = [ch.unary_unary("/big.B/Echo")(pattern(size, 0), timeout=30)]
            expect = [pattern(size, 0)]
        elif method == "Fan":
            req = n.to_bytes(4, "big") + size.to_bytes(4, "big")
            got = list(ch.unary_stream("/big.B/Fan")(req, timeout=30))
            expect = [pattern(size, k) for k in range(n)]
        elif method == "Last":
            msgs = iter([pattern(size, k) for k in range(n)])
            got = [ch.stream_unary("/big.B/Last")(msgs, timeout=30)]
            expect = [pattern(size, n - 1)]
        else:
            msgs = iter([pattern(size, k) for k in range(n)])
            got = list(ch.stream_stream("/big.B/Bidi")(msgs, timeout=30))
            expect = [pattern(size, k) for k in range(n)]
        code = grpc.StatusCode.OK
        check(got == expect, "big %s %d: data differs" % (method, size))
    except grpc.RpcError as e:
        code = e.code()
    print("  grpcio %-5s %8d B: %s %.3f s" % (method, size, code.name, time.monotonic() - t0),
          file=sys.stderr, flush=True)
    check(code == want, "big %s %d: %s, want %s" % (method, size, code, want))


def run_big_client(port, ca_file=None, gzip=False):
    if gzip:
        ch = grpc.insecure_channel("127.0.0.1:%d" % port, options=BIG_OPTS,
                                   compression=grpc.Compression.Gzip)
    elif ca_file:
        with open(ca_file, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        opts = BIG_OPTS + [("grpc.ssl_target_name_override", "localhost")]
        ch = grpc.secure_channel("127.0.0.1:%d" % port, creds, options=opts)
    else:
        ch = grpc.insecure_channel("127.0.0.1:%d" % port, options=BIG_OPTS)
    grpc.channel_ready_future(ch).result(timeout=5)
    for size, want in ((300000, grpc.StatusCode.OK), (1 << 20, grpc.StatusCode.OK),
                       (MAX, grpc.StatusCode.OK), (MAX + 1, grpc.StatusCode.RESOURCE_EXHAUSTED),
                       (1 << 20, grpc.StatusCode.OK)):
        for method in ("Echo", "Fan", "Last", "Bidi"):
            big_one(ch, method, size, want)
    ch.close()
    print("big client checks done, %d failure(s)" % len(FAILS), file=sys.stderr)
    return 1 if FAILS else 0


def run_health(port):
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    grpc.channel_ready_future(ch).result(timeout=5)
    check_ = ch.unary_unary("/grpc.health.v1.Health/Check")
    req = lambda name: _field(1, name.encode()) if name else b""
    check(check_(req(""), timeout=5) == b"\x08\x01", "health: server SERVING")
    check(check_(req("cohort.Echo"), timeout=5) == b"\x08\x02", "health: Echo NOT_SERVING")
    try:
        check_(req("nope"), timeout=5)
        check(False, "health: unknown service must fail")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "health: unknown %s" % e.code())
    watch = ch.unary_stream("/grpc.health.v1.Health/Watch")(req("cohort.Later"), timeout=10)
    check(next(watch) == b"\x08\x03", "health: watch starts SERVICE_UNKNOWN")
    ch.unary_unary("/t.H/Set")(b"cohort.Later=1", timeout=5)
    check(next(watch) == b"\x08\x01", "health: watch sees SERVING")
    watch.cancel()
    ch.close()
    print("health checks done, %d failure(s)" % len(FAILS), file=sys.stderr)
    return 1 if FAILS else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "server":
        serve()
    elif len(sys.argv) >= 4 and sys.argv[1] == "tls-server":
        serve((sys.argv[2], sys.argv[3]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "tls-client":
        sys.exit(run_tls_client(int(sys.argv[2]), sys.argv[3]))
    elif len(sys.argv) >= 2 and sys.argv[1] == "gzip-server":
        serve(gzip=True)
    elif len(sys.argv) >= 3 and sys.argv[1] == "gzip-client":
        sys.exit(run_big_client(int(sys.argv[2]), gzip=True))
    elif len(sys.argv) >= 3 and sys.argv[1] == "health":
        sys.exit(run_health(int(sys.argv[2])))
    elif len(sys.argv) >= 3 and sys.argv[1] == "big-client":
        sys.exit(run_big_client(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
    elif len(sys.argv) >= 3 and sys.argv[1] == "client":
        sys.exit(run_client(int(sys.argv[2])))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
