/*
 * tests/rpc/test_rpc_bad.c — bad input against the server's sans-I/O core.
 * A raw nghttp2 client session (no cohort code on that side) crafts
 * requests that a well-behaved client would never send; its bytes are fed
 * to a socket-less server connection and the answers fed back (quicly's
 * t/test.c style: two cores, bytes copied between them). Each case must
 * give the right gRPC status or a clean connection error — never a crash
 * or a leak (run under ASan in the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/rpc/host.h" /* a host: libuv loop and the internals */
#include "../support/failalloc.h"

typedef struct result {
  int http_status;
  int grpc_status;
  char grpc_message[128];
  uint32_t rst; /* error code at close */
  int closed;
  int data_bytes;
  int goaway;
} result_t;

static uv_loop_t loop;
static failalloc_t fa;
static cohort_rpc_server_t *srv;
static rpc_conn_t *conn;
static nghttp2_session *cli;
static result_t res;
static int cancels;
static cohort_rpc_code_t cancel_why;

/* ---- the raw client ------------------------------------------------------------ */

static int c_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *k, size_t kl,
                    const uint8_t *v, size_t vl, uint8_t flags, void *ud) {
  (void)s, (void)f, (void)flags, (void)ud;
  char val[128];
  snprintf(val, sizeof val, "%.*s", (int)vl, (const char *)v);
  if (kl == 7 && !memcmp(k, ":status", 7)) res.http_status = atoi(val);
  if (kl == 11 && !memcmp(k, "grpc-status", 11)) res.grpc_status = atoi(val);
  if (kl == 12 && !memcmp(k, "grpc-message", 12))
    snprintf(res.grpc_message, sizeof res.grpc_message, "%s", val);
  return 0;
}

static int c_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud) {
  (void)s, (void)id, (void)ud;
  res.rst = err;
  res.closed = 1;
  return 0;
}

static int c_data(nghttp2_session *s, uint8_t fl, int32_t id, const uint8_t *d, size_t n,
                  void *ud) {
  (void)s, (void)fl, (void)id, (void)d, (void)ud;
  res.data_bytes += (int)n;
  return 0;
}

static int c_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  (void)s, (void)ud;
  if (f->hd.type == NGHTTP2_GOAWAY) res.goaway = 1;
  return 0;
}

/* Copy bytes both ways until both sides are quiet. Returns the server's
 * feed result (COHORT_EPROTO for a connection-level error). */
static int pump(void) {
  int rc = 0;
  for (int round = 0; round < 50; round++) {
    const uint8_t *p;
    ssize_t n;
    int moved = 0;
    while ((n = nghttp2_session_mem_send(cli, &p)) > 0) {
      moved = 1;
      if (rc == 0) rc = rpc_conn_feed(conn, cohort_rpc_now_ns(), p, (size_t)n);
    }
    rpc_bytes_t out = {0};
    rpc_conn_produce(conn, &out, 1 << 20);
    if (out.len) {
      moved = 1;
      nghttp2_session_mem_recv(cli, out.data, out.len);
    }
    rpc_bytes_free(&out, &fa.base);
    if (!moved) break;
  }
  return rc;
}

/* ---- server handlers -------------------------------------------------------------- */

static void h_echo(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  cohort_rpc_call_reply(call, d, n);
}
static int sum_count;
static void s_start(cohort_rpc_call_t *c, void *ud) {
  (void)c, (void)ud;
  sum_count = 0;
}
static void s_msg(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)c, (void)d, (void)n, (void)ud;
  sum_count++;
}
static void s_end(cohort_rpc_call_t *c, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(c, COHORT_RPC_OK, NULL);
}
static void s_cancel(cohort_rpc_call_t *c, cohort_rpc_code_t why, void *ud) {
  (void)ud;
  cancels++;
  cancel_why = why;
  cohort_rpc_call_finish(c, COHORT_RPC_CANCELLED, NULL);
}

/* Server streaming: one message, then waits (finishes only when cancelled). */
static void slow_request(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  assert_int_equal(cohort_rpc_call_send(c, "abc", 3), 0);
}

static int setup(void **state) {
  (void)state;
  failalloc_init(&fa, 0);
  uv_loop_init(&loop);
  cohort_rpc_server_config_t cfg = {.allocator = &fa.base, .max_recv_message_bytes = 1000};
  assert_int_equal(cohort_rpc_server_create(&loop, &cfg, &srv), 0);
  assert_int_equal(cohort_rpc_server_register_unary(srv, "/t.S/Echo", h_echo, NULL), 0);
  cohort_rpc_handler_t h = {.kind = COHORT_RPC_BIDI_STREAMING, .on_start = s_start,
                            .on_message = s_msg, .on_half_close = s_end, .on_cancel = s_cancel};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Sum", &h), 0);
  cohort_rpc_handler_t slow = {.kind = COHORT_RPC_SERVER_STREAMING, .on_request = slow_request,
                               .on_cancel = s_cancel};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Slow", &slow), 0);
  assert_int_equal(rpc_server_virtual_conn(srv, &conn), 0);
  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, c_header);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_close);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, c_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, c_frame);
  nghttp2_session_client_new(&cli, cbs, NULL);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(cli, NGHTTP2_FLAG_NONE, NULL, 0);
  memset(&res, 0, sizeof res);
  res.grpc_status = -1;
  cancels = 0;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  nghttp2_session_del(cli);
  rpc_list_remove(&conn->link); /* linked by tests that need the server timer */
  rpc_server_virtual_free(srv, conn);
  cohort_rpc_server_free(srv);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(fa.live, 0);
  return 0;
}

/* ---- request helpers ------------------------------------------------------------ */

typedef struct body {
  const uint8_t *p;
  size_t len, off, chunk; /* chunk: bytes per DATA frame (0: all) */
} body_t;

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *ud) {
  (void)s, (void)id, (void)ud;
  body_t *b = src->ptr;
  size_t n = b->len - b->off;
  if (n > len) n = len;
  if (b->chunk && n > b->chunk) n = b->chunk;
  memcpy(buf, b->p + b->off, n);
  b->off += n;
  if (b->off == b->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), 0}

static int32_t request(const char *path, const char *ct, const char *timeout, body_t *body) {
  nghttp2_nv nv[8] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", path),
                      NV(":authority", "x"), NV("te", "trailers"), NV("content-type", ct)};
  size_t n = 6;
  if (timeout) nv[n++] = (nghttp2_nv)NV("grpc-timeout", timeout);
  nghttp2_data_provider prd = {.source = {.ptr = body}, .read_callback = body_read};
  return nghttp2_submit_request(cli, NULL, nv, n, body ? &prd : NULL, NULL);
}

static void frame(uint8_t *out, uint8_t flag, uint32_t len) {
  out[0] = flag;
  out[1] = (uint8_t)(len >> 24);
  out[2] = (uint8_t)(len >> 16);
  out[3] = (uint8_t)(len >> 8);
  out[4] = (uint8_t)len;
}

/* ---- cases ---------------------------------------------------------------------------- */

static void test_ok_split_across_frames(void **state) {
  (void)state;
  uint8_t msg[5 + 300];
  frame(msg, 0, 300);
  memset(msg + 5, 'q', 300);
  body_t b = {msg, sizeof msg, 0, 1}; /* one byte per DATA frame */
  request("/t.S/Echo", "application/grpc", "1S", &b);
  assert_int_equal(pump(), 0);
  assert_int_equal(res.http_status, 200);
  assert_int_equal(res.grpc_status, 0);
  assert_int_equal(res.data_bytes, 305);
}

static void test_several_messages_in_one_frame(void **state) {
  (void)state;
  uint8_t msgs[5 * 4 + 6];
  size_t o = 0;
  for (int i = 0; i < 4; i++) {
    uint32_t l = i == 3 ? 6u : 0u; /* three empty messages and one of 6 bytes */
    frame(msgs + o, 0, l);
    o += 5;
    if (l) {
      memcpy(msgs + o, "abcdef", 6);
      o += 6;
    }
  }
  body_t b = {msgs, o, 0, 0};
  request("/t.S/Sum", "application/grpc+proto", NULL, &b);
  assert_int_equal(pump(), 0);
  assert_int_equal(sum_count, 4);
  assert_int_equal(res.grpc_status, 0);
}

static void test_bad_timeouts(void **state) {
  (void)state;
  const char *bad[] = {"", "1", "S", "123456789S", "1x", "-5S", "1.5S", "5 S"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&res, 0, sizeof res);
    res.grpc_status = -1;
    uint8_t msg[5];
    frame(msg, 0, 0);
    body_t b = {msg, 5, 0, 0};
    request("/t.S/Echo", "application/grpc", bad[i], &b);
    assert_int_equal(pump(), 0);
    assert_int_equal(res.grpc_status, COHORT_RPC_INTERNAL);
    assert_non_null(strstr(res.grpc_message, "grpc-timeout"));
  }
  /* "0m": valid, already expired. */
  memset(&res, 0, sizeof res);
  uint8_t msg[5];
  frame(msg, 0, 0);
  body_t b = {msg, 5, 0, 0};
  request("/t.S/Echo", "application/grpc", "0m", &b);
  pump();
  assert_int_equal(res.grpc_status, COHORT_RPC_DEADLINE_EXCEEDED);
}

/* The deadline passes after the response headers and a message went out:
 * the client gets the message, then trailers with DEADLINE_EXCEEDED (not a
 * bare RST_STREAM), and the handler gets on_cancel(DEADLINE_EXCEEDED). */
static void test_deadline_after_headers(void **state) {
  (void)state;
  rpc_list_push(&srv->conns, &conn->link); /* so the server timer scans it */
  uint8_t msg[5];
  frame(msg, 0, 0);
  body_t b = {msg, 5, 0, 0};
  request("/t.S/Slow", "application/grpc", "30m", &b);
  assert_int_equal(pump(), 0);
  assert_int_equal(res.http_status, 200);
  assert_int_equal(res.data_bytes, 5 + 3);
  assert_int_equal(res.grpc_status, -1);
  assert_int_equal(res.closed, 0);
  for (int i = 0; i < 100 && cancels == 0; i++) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(cancels, 1);
  assert_int_equal(cancel_why, COHORT_RPC_DEADLINE_EXCEEDED);
  assert_int_equal(pump(), 0);
  assert_int_equal(res.grpc_status, COHORT_RPC_DEADLINE_EXCEEDED);
  assert_non_null(strstr(res.grpc_message, "Deadline"));
  assert_int_equal(res.data_bytes, 5 + 3);
  assert_int_equal(res.closed, 1);
  assert_int_equal(res.rst, NGHTTP2_NO_ERROR);
  assert_int_equal(cohort_rpc_server_active_calls(srv), 0);
}

static void expect_status(const uint8_t *body, size_t len, const char *path, int status) {
  memset(&res, 0, sizeof res);
  res.grpc_status = -1;
  body_t b = {body, len, 0, 0};
  request(path, "application/grpc", NULL, &b);
  assert_int_equal(pump(), 0);
  assert_int_equal(res.grpc_status, status);
  assert_true(res.closed);
}

static void test_bad_length_prefixes(void **state) {
  (void)state;
  uint8_t m[16];
  frame(m, 1, 3); /* compressed without grpc-encoding */
  expect_status(m, 8, "/t.S/Echo", COHORT_RPC_INTERNAL);
  frame(m, 7, 3); /* undefined flag bits */
  expect_status(m, 8, "/t.S/Echo", COHORT_RPC_INTERNAL);
  frame(m, 0, 0xffffffffu); /* claims 4 GiB */
  expect_status(m, 5, "/t.S/Echo", COHORT_RPC_RESOURCE_EXHAUSTED);
  frame(m, 0, 1001); /* one above max_recv_message_bytes */
  expect_status(m, 5, "/t.S/Echo", COHORT_RPC_RESOURCE_EXHAUSTED);
  frame(m, 0, 10); /* truncated: 3 of 10 bytes, then END_STREAM */
  expect_status(m, 8, "/t.S/Echo", COHORT_RPC_INTERNAL);
  expect_status(m, 3, "/t.S/Echo", COHORT_RPC_INTERNAL); /* truncated prefix */
  expect_status(m, 0, "/t.S/Echo", COHORT_RPC_INTERNAL); /* no message for unary */
  frame(m, 0, 0);
  frame(m + 5, 0, 0); /* two messages for unary */
  expect_status(m, 10, "/t.S/Echo", COHORT_RPC_INTERNAL);
  frame(m, 0, 0);
  expect_status(m, 5, "/t.S/Missing", COHORT_RPC_UNIMPLEMENTED);
  expect_status(m, 5, "/", COHORT_RPC_UNIMPLEMENTED);
}

static void test_bad_content_type(void **state) {
  (void)state;
  uint8_t m[5];
  frame(m, 0, 0);
  body_t b = {m, 5, 0, 0};
  request("/t.S/Echo", "text/html", NULL, &b);
  assert_int_equal(pump(), 0);
  assert_int_equal(res.http_status, 415);
  memset(&res, 0, sizeof res);
  b.off = 0;
  request("/t.S/Echo", "application/grpcx", NULL, &b);
  pump();
  assert_int_equal(res.http_status, 415);
}

static void test_garbage_frames(void **state) {
  (void)state;
  pump(); /* exchange the prefaces */
  /* A frame header announcing type 0 (DATA) on stream 0: PROTOCOL_ERROR. */
  static const uint8_t bad[] = {0, 0, 4, 0, 0, 0, 0, 0, 0, 'a', 'b', 'c', 'd'};
  int rc = rpc_conn_feed(conn, cohort_rpc_now_ns(), bad, sizeof bad);
  assert_true(rc == 0 || rc == COHORT_EPROTO);
  rpc_bytes_t out = {0};
  rpc_conn_produce(conn, &out, 1 << 20); /* GOAWAY(PROTOCOL_ERROR) */
  nghttp2_session_mem_recv(cli, out.data, out.len);
  rpc_bytes_free(&out, &fa.base);
  assert_int_equal(res.goaway, 1);
  /* The session is over: the transport closes the socket now. */
  assert_true(rpc_conn_finished(conn));
}

static void test_bad_preface(void **state) {
  (void)state;
  static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(rpc_conn_feed(conn, cohort_rpc_now_ns(), (const uint8_t *)junk, sizeof junk - 1),
                   COHORT_EPROTO);
}

static void test_disconnect_mid_stream(void **state) {
  (void)state;
  /* A bidi call with half a message received, then the connection dies. */
  uint8_t m[5 + 2];
  frame(m, 0, 100);
  m[5] = m[6] = 'x';
  nghttp2_nv nv[6] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/t.S/Sum"),
                      NV(":authority", "x"), NV("te", "trailers"),
                      NV("content-type", "application/grpc")};
  int32_t id = nghttp2_submit_headers(cli, NGHTTP2_FLAG_NONE, -1, NULL, nv, 6, NULL);
  assert_true(id > 0);
  pump();
  /* Send the partial message with a DATA frame by hand (no END_STREAM). */
  uint8_t raw[9 + sizeof m] = {0, 0, sizeof m, 0, 0, 0, 0, 0, (uint8_t)id};
  memcpy(raw + 9, m, sizeof m);
  assert_int_equal(rpc_conn_feed(conn, cohort_rpc_now_ns(), raw, sizeof raw), 0);
  assert_int_equal(cohort_rpc_server_active_calls(srv), 1);
  rpc_conn_teardown(conn, "peer vanished");
  assert_int_equal(cancels, 1);
  assert_int_equal(cancel_why, COHORT_RPC_UNAVAILABLE);
  assert_int_equal(cohort_rpc_server_active_calls(srv), 0);
}

static void test_client_reset(void **state) {
  (void)state;
  nghttp2_nv nv[6] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/t.S/Sum"),
                      NV(":authority", "x"), NV("te", "trailers"),
                      NV("content-type", "application/grpc")};
  int32_t id = nghttp2_submit_headers(cli, NGHTTP2_FLAG_NONE, -1, NULL, nv, 6, NULL);
  pump();
  nghttp2_submit_rst_stream(cli, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  pump();
  assert_int_equal(cancels, 1);
  assert_int_equal(cancel_why, COHORT_RPC_CANCELLED);
}

/* A fresh virtual connection and raw client, the old ones dropped. */
static void reconnect(void) {
  nghttp2_session_del(cli);
  rpc_server_virtual_free(srv, conn);
  assert_int_equal(rpc_server_virtual_conn(srv, &conn), 0);
  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, c_close);
  nghttp2_session_client_new(&cli, cbs, NULL);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(cli, NGHTTP2_FLAG_NONE, NULL, 0);
}

static size_t orphans(void) {
  size_t n = 0;
  for (rpc_link_t *l = srv->orphans.next; l != &srv->orphans; l = l->next) n++;
  return n;
}

/* Rounds of HEADERS (no END_STREAM) + RST_STREAM on a unary method, as
 * the rapid-reset attack sends them: every call must be freed, whatever
 * callbacks the handler set (Echo has no on_cancel). Before the fix of
 * issue 12 each reset parked a call for ever (10k resets: 7,200 "active"
 * calls, 3 → 39 MiB). 11 connections × 900 (below the reset rate limit). */
static void test_rapid_reset_frees_calls(void **state) {
  (void)state;
  nghttp2_nv nv[6] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/t.S/Echo"),
                      NV(":authority", "x"), NV("te", "trailers"),
                      NV("content-type", "application/grpc")};
  long live_after_first = 0;
  for (int round = 0; round < 11; round++) {
    reconnect();
    for (int i = 0; i < 900; i++) {
      int32_t id = nghttp2_submit_headers(cli, NGHTTP2_FLAG_NONE, -1, NULL, nv, 6, NULL);
      assert_true(id > 0);
      pump(); /* HEADERS out first (nghttp2 drops unsent HEADERS of a reset stream) */
      nghttp2_submit_rst_stream(cli, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    }
    pump();
    assert_int_equal(cohort_rpc_server_active_calls(srv), 0);
    assert_int_equal(orphans(), 0);
    if (round == 0) live_after_first = fa.live;
  }
  /* Nothing grows from round to round (pools are bounded). */
  assert_true(fa.live <= live_after_first + 64);
}

/* Many streams each holding a partial request message, then the peer
 * goes away: every call and every reassembly buffer is released. */
static void test_partial_messages_then_disconnect(void **state) {
  (void)state;
  nghttp2_nv nv[6] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", "/t.S/Echo"),
                      NV(":authority", "x"), NV("te", "trailers"),
                      NV("content-type", "application/grpc")};
  long live0 = fa.live;
  for (int i = 0; i < 50; i++) {
    int32_t id = nghttp2_submit_headers(cli, NGHTTP2_FLAG_NONE, -1, NULL, nv, 6, NULL);
    pump();
    uint8_t raw[9 + 5 + 500] = {0, (uint8_t)((5 + 500) >> 8), (uint8_t)(5 + 500), 0, 0,
                                (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
                                (uint8_t)id};
    frame(raw + 9, 0, 999); /* 999 announced (the limit is 1000), 500 sent */
    memset(raw + 14, 'p', 500);
    assert_int_equal(rpc_conn_feed(conn, cohort_rpc_now_ns(), raw, sizeof raw), 0);
  }
  rpc_conn_teardown(conn, "peer vanished");
  assert_int_equal(cohort_rpc_server_active_calls(srv), 0);
  assert_int_equal(orphans(), 0);
  rpc_server_virtual_free(srv, conn);
  assert_int_equal(rpc_server_virtual_conn(srv, &conn), 0);
  /* At most the pooled calls' small buffers remain. */
  assert_true(fa.live <= live0 + 4 * 50);
}

/* Random mutations of a valid request stream: no crash, no leak. */
static void test_random_mutations(void **state) {
  (void)state;
  uint8_t msg[5 + 20];
  frame(msg, 0, 20);
  memset(msg + 5, 'z', 20);
  body_t b = {msg, sizeof msg, 0, 0};
  request("/t.S/Echo", "application/grpc", "5S", &b);
  uint8_t wire[4096];
  size_t wl = 0;
  const uint8_t *p;
  ssize_t n;
  while ((n = nghttp2_session_mem_send(cli, &p)) > 0 && wl + (size_t)n <= sizeof wire) {
    memcpy(wire + wl, p, (size_t)n);
    wl += (size_t)n;
  }
  uint32_t seed = 12345;
  for (int iter = 0; iter < 300; iter++) {
    rpc_server_virtual_free(srv, conn);
    assert_int_equal(rpc_server_virtual_conn(srv, &conn), 0);
    uint8_t mut[4096];
    memcpy(mut, wire, wl);
    for (int k = 0; k < 4; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = 24 + (seed >> 8) % (wl - 24); /* keep the preface */
      mut[at] = (uint8_t)(seed >> 24);
    }
    rpc_conn_feed(conn, cohort_rpc_now_ns(), mut, wl);
    rpc_bytes_t out = {0};
    rpc_conn_produce(conn, &out, 1 << 20);
    rpc_bytes_free(&out, &fa.base);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ok_split_across_frames, setup, teardown),
      cmocka_unit_test_setup_teardown(test_several_messages_in_one_frame, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_timeouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadline_after_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_length_prefixes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_content_type, setup, teardown),
      cmocka_unit_test_setup_teardown(test_garbage_frames, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_preface, setup, teardown),
      cmocka_unit_test_setup_teardown(test_disconnect_mid_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_reset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_mutations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rapid_reset_frees_calls, setup, teardown),
      cmocka_unit_test_setup_teardown(test_partial_messages_then_disconnect, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
