/*
 * tests/rpc/test_rpc_e2e.c — cohort client against cohort server over
 * loopback TCP (h2c and TLS): the four call patterns, deadlines and their
 * propagation, fail-fast, cancellation both ways, metadata (ASCII and
 * -bin), message size limits, unknown methods, keepalive (and a dead peer
 * found by it), accepting with no memory, GOAWAY drain,
 * the blocking convenience, and TLS verification failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "cohort/rpc.h"
#include "test_certs.h"
#include "../support/failalloc.h"

typedef struct fixture {
  uv_loop_t loop;
  cohort_rpc_server_t *srv;
  cohort_rpc_channel_t *ch;
  int port;
  failalloc_t fa;
  /* observations */
  int status_count;
  cohort_rpc_code_t last_code;
  char last_msg[256];
  uint8_t last_data[8192];
  size_t last_len;
  int messages;
  int cancels;
  cohort_rpc_code_t cancel_why;
  int64_t seen_deadline;
  cohort_rpc_call_t *held; /* a server call the handler keeps open */
  int srv_down; /* the test already shut the server down */
  char trailer[64];
  uint8_t trailer_bin[16];
  size_t trailer_bin_len;
} fixture_t;

static fixture_t *F;

/* ---- handlers ----------------------------------------------------------------- */

static void h_echo(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  size_t l1 = 0, l2 = 0;
  const uint8_t *v1 = cohort_rpc_call_metadata_get(call, "x-ascii", &l1);
  const uint8_t *v2 = cohort_rpc_call_metadata_get(call, "x-data-bin", &l2);
  cohort_rpc_metadata_t tr[2];
  size_t nt = 0;
  if (v1) tr[nt++] = (cohort_rpc_metadata_t){"x-ascii", v1, l1};
  if (v2) tr[nt++] = (cohort_rpc_metadata_t){"x-data-bin", v2, l2};
  F->seen_deadline = cohort_rpc_call_deadline(call);
  if (cohort_rpc_call_send(call, d, n) != 0) abort();
  cohort_rpc_call_finish_with_metadata(call, COHORT_RPC_OK, NULL, tr, nt);
}

static void h_fail(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_FAILED_PRECONDITION, "bad \xe2\x9c\x93 100%\nthing");
}

static void h_hold(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  F->held = call; /* never answers; waits for on_cancel */
  F->seen_deadline = cohort_rpc_call_deadline(call);
}

static void h_hold_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)ud;
  F->cancels++;
  F->cancel_why = why;
  if (F->held == call) F->held = NULL;
  cohort_rpc_call_finish(call, COHORT_RPC_CANCELLED, NULL);
}

static void h_stream(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  int count = n ? d[0] : 0;
  for (int i = 0; i < count; i++) {
    uint8_t m[3] = {(uint8_t)i, 'x', 'y'};
    cohort_rpc_call_send(call, m, sizeof m);
  }
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}

typedef struct sum {
  size_t total;
  int count;
} sum_t;
static sum_t g_sum;

static void cs_start(cohort_rpc_call_t *call, void *ud) {
  (void)call, (void)ud;
  memset(&g_sum, 0, sizeof g_sum);
}
static void cs_message(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)call, (void)d, (void)ud;
  g_sum.total += n;
  g_sum.count++;
}
static void cs_half_close(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  char out[64];
  int len = snprintf(out, sizeof out, "%d/%zu", g_sum.count, g_sum.total);
  cohort_rpc_call_reply(call, out, (size_t)len);
}

static void bidi_start(cohort_rpc_call_t *call, void *ud) { (void)call, (void)ud; }
static void bidi_message(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  cohort_rpc_call_send(call, d, n);
}
static void bidi_half_close(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_OK, "done");
}

/* Calls /t.S/Hold from inside a handler: its deadline must be inherited. */
static void child_done(const cohort_rpc_status_t *st, const uint8_t *d, size_t n, void *ud) {
  cohort_rpc_call_t *parent = ud;
  (void)d, (void)n;
  if (parent) cohort_rpc_call_finish(parent, st->code, "child finished");
}
static void h_chain(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  /* 10 s own timeout; the parent's (short) deadline must win. */
  cohort_rpc_call_options_t o = {.timeout_ns = 10 * COHORT_NS_PER_S};
  if (cohort_rpc_unary(F->ch, "/t.S/Hold", "x", 1, &o, child_done, call) != 0) abort();
}
static void h_chain_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)call, (void)why, (void)ud;
  /* The child call is cancelled with us; child_done finishes the call. */
  F->cancels++;
}

/* ---- client side helpers -------------------------------------------------------- */

static void unary_done(const cohort_rpc_status_t *st, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  F->status_count++;
  F->last_code = st->code;
  snprintf(F->last_msg, sizeof F->last_msg, "%s", st->message);
  F->last_len = n < sizeof F->last_data ? n : sizeof F->last_data;
  if (n) memcpy(F->last_data, d, F->last_len);
}

static void c_message(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)c, (void)ud;
  F->messages++;
  F->last_len = n < sizeof F->last_data ? n : sizeof F->last_data;
  memcpy(F->last_data, d, F->last_len);
}

static void c_status(cohort_rpc_call_t *c, const cohort_rpc_status_t *st,
                     const cohort_rpc_metadata_t *tr, size_t n, void *ud) {
  (void)c, (void)ud;
  F->status_count++;
  F->last_code = st->code;
  snprintf(F->last_msg, sizeof F->last_msg, "%s", st->message);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(tr[i].key, "x-ascii") == 0)
      snprintf(F->trailer, sizeof F->trailer, "%.*s", (int)tr[i].value_len, tr[i].value);
    if (strcmp(tr[i].key, "x-data-bin") == 0 && tr[i].value_len <= sizeof F->trailer_bin) {
      memcpy(F->trailer_bin, tr[i].value, tr[i].value_len);
      F->trailer_bin_len = tr[i].value_len;
    }
  }
}

static void tick_cb(uv_timer_t *t) { (void)t; }

/* Run the loop until *counter reaches target or max_ms pass. A ticking
 * timer keeps uv_run from blocking forever when nothing else happens. */
static void run_until(int *counter, int target, int64_t max_ms) {
  int64_t end = cohort_rpc_now_ns() + max_ms * COHORT_NS_PER_MS;
  uv_timer_t tick;
  uv_timer_init(&F->loop, &tick);
  uv_timer_start(&tick, tick_cb, 5, 5);
  while (*counter < target && cohort_rpc_now_ns() < end) uv_run(&F->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&F->loop, UV_RUN_NOWAIT);
}

static void closed_cb(void *ud) { (*(int *)ud)++; }

/* ---- set-up --------------------------------------------------------------------- */

static void register_all(cohort_rpc_server_t *srv) {
  assert_int_equal(cohort_rpc_server_register_unary(srv, "/t.S/Echo", h_echo, NULL), 0);
  assert_int_equal(cohort_rpc_server_register_unary(srv, "/t.S/Fail", h_fail, NULL), 0);
  cohort_rpc_handler_t hold = {.kind = COHORT_RPC_UNARY, .on_request = h_hold,
                               .on_cancel = h_hold_cancel};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Hold", &hold), 0);
  assert_int_equal(cohort_rpc_server_register_server_streaming(srv, "/t.S/Stream", h_stream,
                                                               NULL), 0);
  cohort_rpc_handler_t cs = {.kind = COHORT_RPC_CLIENT_STREAMING, .on_start = cs_start,
                             .on_message = cs_message, .on_half_close = cs_half_close};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Sum", &cs), 0);
  cohort_rpc_handler_t bidi = {.kind = COHORT_RPC_BIDI_STREAMING, .on_start = bidi_start,
                               .on_message = bidi_message, .on_half_close = bidi_half_close};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Bidi", &bidi), 0);
  cohort_rpc_handler_t chain = {.kind = COHORT_RPC_UNARY, .on_request = h_chain,
                                .on_cancel = h_chain_cancel};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Chain", &chain), 0);
  /* Registration errors. */
  assert_int_equal(cohort_rpc_server_register_unary(srv, "/t.S/Echo", h_echo, NULL),
                   COHORT_EEXIST);
  assert_int_equal(cohort_rpc_server_register_unary(srv, "noslash", h_echo, NULL),
                   COHORT_EINVAL);
  cohort_rpc_handler_t bad = {.kind = COHORT_RPC_BIDI_STREAMING};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.S/Bad", &bad), COHORT_EINVAL);
}

static int setup_with(void **state, const cohort_rpc_server_config_t *scfg,
                      const cohort_rpc_channel_config_t *ccfg) {
  F = calloc(1, sizeof *F);
  failalloc_init(&F->fa, 0);
  uv_loop_init(&F->loop);
  cohort_rpc_server_config_t s = scfg ? *scfg : (cohort_rpc_server_config_t){0};
  s.allocator = &F->fa.base;
  assert_int_equal(cohort_rpc_server_create(&F->loop, &s, &F->srv), 0);
  register_all(F->srv);
  assert_int_equal(cohort_rpc_server_listen(F->srv, "127.0.0.1:0", &F->port), 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", F->port);
  cohort_rpc_channel_config_t c = ccfg ? *ccfg : (cohort_rpc_channel_config_t){0};
  c.allocator = &F->fa.base;
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &c, &F->ch), 0);
  *state = F;
  return 0;
}

static int setup(void **state) { return setup_with(state, NULL, NULL); }

static int teardown(void **state) {
  (void)state;
  int closed = 0, done = 0;
  if (F->ch) cohort_rpc_channel_close(F->ch, closed_cb, &closed);
  run_until(&closed, F->ch ? 1 : 0, 2000);
  if (F->srv_down)
    done = 1;
  else
    cohort_rpc_server_shutdown(F->srv, 100, closed_cb, &done);
  run_until(&done, 1, 2000);
  assert_int_equal(done, 1);
  cohort_rpc_server_free(F->srv);
  uv_run(&F->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&F->loop), 0);
  assert_int_equal(F->fa.live, 0); /* nothing leaked through the allocator */
  free(F);
  F = NULL;
  return 0;
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_unary_and_metadata(void **state) {
  (void)state;
  static const uint8_t bin[] = {0, 1, 2, 0xff, 0xfe, 'a'};
  cohort_rpc_metadata_t md[2] = {{"x-ascii", (const uint8_t *)"hello world", 11},
                                 {"x-data-bin", bin, sizeof bin}};
  cohort_rpc_call_options_t o = {.metadata = md, .metadata_count = 2,
                                 .timeout_ns = 5 * COHORT_NS_PER_S};
  cohort_rpc_call_callbacks_t cb = {.on_message = c_message, .on_status = c_status};
  cohort_rpc_call_t *call;
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Echo", &o, &cb, NULL, &call), 0);
  assert_int_equal(cohort_rpc_call_send(call, "ping", 4), 0);
  assert_int_equal(cohort_rpc_call_close_send(call), 0);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  assert_int_equal(F->messages, 1);
  assert_memory_equal(F->last_data, "ping", 4);
  assert_string_equal(F->trailer, "hello world");
  assert_int_equal(F->trailer_bin_len, sizeof bin);
  assert_memory_equal(F->trailer_bin, bin, sizeof bin);
  /* The server saw a deadline about 5 s away. */
  int64_t left = F->seen_deadline - cohort_rpc_now_ns();
  assert_true(left > 3 * COHORT_NS_PER_S && left <= 5 * COHORT_NS_PER_S);
  /* Many sequential calls reuse pooled call objects. */
  for (int i = 0; i < 200; i++) {
    assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", "abc", 3, NULL, unary_done, NULL), 0);
    run_until(&F->status_count, 2 + i, 3000);
    assert_int_equal(F->last_code, COHORT_RPC_OK);
  }
  /* Bad metadata is refused at start. */
  cohort_rpc_metadata_t badmd = {"Upper", (const uint8_t *)"x", 1};
  o.metadata = &badmd;
  o.metadata_count = 1;
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Echo", &o, &cb, NULL, &call),
                   COHORT_EINVAL);
  badmd = (cohort_rpc_metadata_t){"grpc-x", (const uint8_t *)"x", 1};
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Echo", &o, &cb, NULL, &call),
                   COHORT_EINVAL);
  badmd = (cohort_rpc_metadata_t){"x-ctl", (const uint8_t *)"a\nb", 3};
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Echo", &o, &cb, NULL, &call),
                   COHORT_EINVAL);
}

/* Closing the channel from inside a completion callback, while nghttp2 is
 * still reading the response that completed it, must not free the HTTP/2
 * session under nghttp2 (a use-after-free found by the bench client). */
static int close_in_cb_closed;
static void close_in_cb_done(const cohort_rpc_status_t *st, const uint8_t *d, size_t n,
                             void *ud) {
  unary_done(st, d, n, ud);
  cohort_rpc_channel_close(F->ch, closed_cb, &close_in_cb_closed);
}

static void test_close_channel_in_callback(void **state) {
  (void)state;
  close_in_cb_closed = 0;
  /* The last call's completion closes the channel, so its connection is
   * torn down right there, inside the read of the response. */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", "abc", 3, NULL, close_in_cb_done, NULL),
                   0);
  run_until(&close_in_cb_closed, 1, 3000);
  assert_int_equal(close_in_cb_closed, 1);
  assert_int_equal(F->status_count, 1);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  F->ch = NULL; /* closed: teardown must not close it again */
}

static void test_status_and_unimplemented(void **state) {
  (void)state;
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Fail", "", 0, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_FAILED_PRECONDITION);
  assert_string_equal(F->last_msg, "bad \xe2\x9c\x93 100%\nthing"); /* percent round trip */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Nope", "", 0, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 2, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_UNIMPLEMENTED);
  assert_non_null(strstr(F->last_msg, "/t.S/Nope"));
}

static void test_streaming(void **state) {
  (void)state;
  cohort_rpc_call_callbacks_t cb = {.on_message = c_message, .on_status = c_status};
  cohort_rpc_call_t *call;
  /* server streaming: 50 messages */
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Stream", NULL, &cb, NULL, &call), 0);
  uint8_t n = 50;
  cohort_rpc_call_send(call, &n, 1);
  cohort_rpc_call_close_send(call);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  assert_int_equal(F->messages, 50);
  assert_int_equal(F->last_data[0], 49);
  /* client streaming: 100 messages of growing size, one above 64 KiB */
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Sum", NULL, &cb, NULL, &call), 0);
  static uint8_t big[100000];
  size_t total = 0;
  for (int i = 0; i < 99; i++) {
    assert_int_equal(cohort_rpc_call_send(call, big, (size_t)i), 0);
    total += (size_t)i;
  }
  assert_int_equal(cohort_rpc_call_send(call, big, sizeof big), 0);
  total += sizeof big;
  cohort_rpc_call_close_send(call);
  F->messages = 0;
  run_until(&F->status_count, 2, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  char expect[64];
  snprintf(expect, sizeof expect, "100/%zu", total);
  assert_int_equal(F->last_len, strlen(expect));
  assert_memory_equal(F->last_data, expect, strlen(expect));
  /* bidi: ping-pong */
  F->messages = 0;
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Bidi", NULL, &cb, NULL, &call), 0);
  for (int i = 0; i < 20; i++) {
    uint8_t m = (uint8_t)i;
    cohort_rpc_call_send(call, &m, 1);
    run_until(&F->messages, i + 1, 3000);
    assert_int_equal(F->last_data[0], i);
  }
  cohort_rpc_call_close_send(call);
  run_until(&F->status_count, 3, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  assert_string_equal(F->last_msg, "done");
}

static void test_deadline_expires(void **state) {
  (void)state;
  cohort_rpc_call_options_t o = {.timeout_ns = 100 * COHORT_NS_PER_MS};
  int64_t t0 = cohort_rpc_now_ns();
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Hold", "x", 1, &o, unary_done, NULL), 0);
  run_until(&F->status_count, 1, 3000);
  int64_t took = cohort_rpc_now_ns() - t0;
  assert_int_equal(F->last_code, COHORT_RPC_DEADLINE_EXCEEDED);
  assert_true(took >= 95 * COHORT_NS_PER_MS && took < 1000 * COHORT_NS_PER_MS);
  run_until(&F->cancels, 1, 2000); /* the handler is cancelled too */
  assert_int_equal(F->cancels, 1);
  assert_true(F->cancel_why == COHORT_RPC_DEADLINE_EXCEEDED ||
              F->cancel_why == COHORT_RPC_CANCELLED);
  assert_int_equal(cohort_rpc_server_active_calls(F->srv), 0);
  /* Fail fast: too little time left, nothing sent. */
  o.timeout_ns = 10000; /* 10 us */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", "x", 1, &o, unary_done, NULL), 0);
  assert_int_equal(F->status_count, 1); /* not from inside the call */
  run_until(&F->status_count, 2, 1000);
  assert_int_equal(F->last_code, COHORT_RPC_DEADLINE_EXCEEDED);
}

static void test_deadline_propagation(void **state) {
  (void)state;
  cohort_rpc_call_options_t o = {.timeout_ns = 300 * COHORT_NS_PER_MS};
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Chain", "x", 1, &o, unary_done, NULL), 0);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_DEADLINE_EXCEEDED);
  /* The child (/t.S/Hold) was called with ~300 ms, not 10 s. */
  int64_t now = cohort_rpc_now_ns();
  assert_true(F->seen_deadline < now + COHORT_NS_PER_S);
  run_until(&F->cancels, 2, 2000);
  assert_true(F->cancels >= 1);
}

static void client_cancel_cb(uv_timer_t *t) { cohort_rpc_call_cancel(t->data); }

static void test_client_cancel(void **state) {
  (void)state;
  cohort_rpc_call_callbacks_t cb = {.on_message = c_message, .on_status = c_status};
  cohort_rpc_call_t *call;
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Hold", NULL, &cb, NULL, &call), 0);
  cohort_rpc_call_send(call, "x", 1);
  cohort_rpc_call_close_send(call);
  run_until(&F->messages, 1, 200); /* let the request reach the handler */
  assert_non_null(F->held);
  uv_timer_t t;
  uv_timer_init(&F->loop, &t);
  t.data = call;
  uv_timer_start(&t, client_cancel_cb, 10, 0);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_CANCELLED);
  run_until(&F->cancels, 1, 2000);
  assert_int_equal(F->cancels, 1);
  assert_int_equal(F->cancel_why, COHORT_RPC_CANCELLED);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&F->loop, UV_RUN_NOWAIT);
}

static void test_message_too_large(void **state) {
  (void)state;
  static uint8_t big[5 * 1024 * 1024];
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", big, sizeof big, NULL, unary_done,
                                    NULL), COHORT_EINVAL);
  teardown(state);
  cohort_rpc_server_config_t s = {.max_recv_message_bytes = 1000};
  cohort_rpc_channel_config_t c = {.max_recv_message_bytes = 100};
  setup_with(state, &s, &c);
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", big, 1001, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_RESOURCE_EXHAUSTED);
  /* Response too large for the client. */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", big, 500, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 2, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_RESOURCE_EXHAUSTED);
  /* And the connection still works. */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", big, 50, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 3, 3000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
}

static void test_blocking(void **state) {
  (void)state;
  cohort_rpc_result_t r;
  assert_int_equal(cohort_rpc_unary_blocking(F->ch, "/t.S/Echo", "blk", 3, NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_OK);
  assert_int_equal(r.len, 3);
  assert_memory_equal(r.data, "blk", 3);
  cohort_rpc_result_free(&r);
  assert_int_equal(cohort_rpc_unary_blocking(F->ch, "/t.S/Fail", "", 0, NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_FAILED_PRECONDITION);
  assert_null(r.data);
  assert_non_null(strstr(r.message, "100%"));
  cohort_rpc_result_free(&r);
}

static void test_unavailable(void **state) {
  (void)state;
  /* A channel to a closed port fails with UNAVAILABLE and says why. */
  cohort_rpc_channel_t *ch;
  cohort_rpc_channel_config_t c = {.allocator = &F->fa.base};
  assert_int_equal(cohort_rpc_channel_create(&F->loop, "127.0.0.1:1", &c, &ch), 0);
  cohort_rpc_result_t r;
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/t.S/Echo", "x", 1, NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_UNAVAILABLE);
  assert_non_null(strstr(r.message, "refused"));
  cohort_rpc_result_free(&r);
  int closed = 0;
  cohort_rpc_channel_close(ch, closed_cb, &closed);
  run_until(&closed, 1, 2000);
  assert_int_equal(closed, 1);
  assert_int_equal(cohort_rpc_channel_create(&F->loop, "nohostport", &c, &ch), COHORT_EINVAL);
  assert_int_equal(cohort_rpc_channel_create(&F->loop, "h:99999", &c, &ch), COHORT_EINVAL);
}

static void test_graceful_shutdown(void **state) {
  (void)state;
  /* One call in flight (held), then shutdown: the call may still finish. */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Hold", "x", 1, NULL, unary_done, NULL), 0);
  int dummy = 0;
  run_until(&dummy, 1, 100);
  assert_non_null(F->held);
  int done = 0;
  cohort_rpc_server_shutdown(F->srv, 2000, closed_cb, &done);
  run_until(&dummy, 1, 50);
  assert_int_equal(done, 0);
  cohort_rpc_call_t *held = F->held;
  F->held = NULL;
  cohort_rpc_call_reply(held, "late", 4);
  run_until(&F->status_count, 1, 2000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  assert_memory_equal(F->last_data, "late", 4);
  run_until(&done, 1, 2000);
  assert_int_equal(done, 1);
  F->srv_down = 1;
  /* New calls go to a new connection, which is refused now. */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", "x", 1, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 2, 2000);
  assert_int_equal(F->last_code, COHORT_RPC_UNAVAILABLE);
}

static void test_keepalive(void **state) {
  teardown(state);
  cohort_rpc_channel_config_t c = {.keepalive_interval_ms = 20, .keepalive_timeout_ms = 500};
  cohort_rpc_server_config_t s = {.keepalive_interval_ms = 20};
  setup_with(state, &s, &c);
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", "x", 1, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 1, 2000);
  int dummy = 0;
  run_until(&dummy, 1, 200); /* several pings go back and forth */
  assert_int_equal(cohort_rpc_unary(F->ch, "/t.S/Echo", "y", 1, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 2, 2000);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  assert_string_equal(cohort_rpc_channel_last_error(F->ch), "");
}

/* A "dead" peer: accepts TCP connections and never answers (the kernel
 * still acknowledges the bytes, so only an HTTP/2 PING can tell). */
typedef struct dead_peer {
  uv_tcp_t listener;
  uv_tcp_t accepted;
  int have_accepted;
  int closed;
} dead_peer_t;

static void dead_accept(uv_stream_t *ls, int status) {
  dead_peer_t *d = ls->data;
  if (status < 0 || d->have_accepted) return;
  uv_tcp_init(ls->loop, &d->accepted);
  d->accepted.data = d;
  if (uv_accept(ls, (uv_stream_t *)&d->accepted) == 0) d->have_accepted = 1;
}

static void dead_closed(uv_handle_t *h) { ((dead_peer_t *)h->data)->closed++; }

static void test_keepalive_dead_peer(void **state) {
  (void)state;
  dead_peer_t d = {0};
  uv_tcp_init(&F->loop, &d.listener);
  d.listener.data = &d;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  assert_int_equal(uv_tcp_bind(&d.listener, (const struct sockaddr *)&sa, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&d.listener, 4, dead_accept), 0);
  int len = sizeof sa;
  uv_tcp_getsockname(&d.listener, (struct sockaddr *)&sa, &len);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", ntohs(sa.sin_port));
  cohort_rpc_channel_config_t c = {.allocator = &F->fa.base, .keepalive_interval_ms = 20,
                                   .keepalive_timeout_ms = 100};
  cohort_rpc_channel_t *ch;
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &c, &ch), 0);
  int64_t t0 = cohort_rpc_now_ns();
  /* No deadline: only the keepalive can end this call. */
  assert_int_equal(cohort_rpc_unary(ch, "/t.S/Echo", "x", 1, NULL, unary_done, NULL), 0);
  run_until(&F->status_count, 1, 3000);
  int64_t took_ms = (cohort_rpc_now_ns() - t0) / COHORT_NS_PER_MS;
  /* Close everything before asserting: a failed assertion must not leave
   * handles that keep the fixture's teardown loop running. */
  int closed = 0, accepted = d.have_accepted;
  cohort_rpc_channel_close(ch, closed_cb, &closed);
  uv_close((uv_handle_t *)&d.listener, dead_closed);
  if (accepted) uv_close((uv_handle_t *)&d.accepted, dead_closed);
  run_until(&closed, 1, 2000);
  run_until(&d.closed, 1 + accepted, 2000);
  assert_int_equal(closed, 1);
  assert_true(accepted);
  assert_int_equal(F->status_count, 1);
  assert_int_equal(F->last_code, COHORT_RPC_UNAVAILABLE);
  assert_non_null(strstr(F->last_msg, "keepalive"));
  assert_true(took_ms >= 100 && took_ms < 1000);
}

/* The server cannot allocate a connection: that client is turned away
 * (UNAVAILABLE) and the listener keeps accepting — the next connection,
 * with memory back, is served. */
static void test_accept_without_memory(void **state) {
  (void)state;
  failalloc_t sfa;
  failalloc_init(&sfa, 0);
  cohort_rpc_server_config_t scfg = {.allocator = &sfa.base};
  cohort_rpc_server_t *srv;
  assert_int_equal(cohort_rpc_server_create(&F->loop, &scfg, &srv), 0);
  register_all(srv);
  int port = 0;
  assert_int_equal(cohort_rpc_server_listen(srv, "127.0.0.1:0", &port), 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  cohort_rpc_channel_config_t c = {.allocator = &F->fa.base};
  cohort_rpc_channel_t *ch;
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &c, &ch), 0);
  sfa.fail_at = sfa.count + 1; /* the server's next allocation: the connection */
  cohort_rpc_result_t r;
  /* A wedged listener would leave the call unanswered: bound the wait. */
  cohort_rpc_call_options_t o = {.timeout_ns = 2 * COHORT_NS_PER_S};
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/t.S/Echo", "x", 1, &o, &r), 0);
  cohort_rpc_code_t first = r.code;
  cohort_rpc_result_free(&r);
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/t.S/Echo", "y", 1, &o, &r), 0);
  cohort_rpc_code_t second = r.code;
  cohort_rpc_result_free(&r);
  int closed = 0, done = 0;
  cohort_rpc_channel_close(ch, closed_cb, &closed);
  cohort_rpc_server_shutdown(srv, 100, closed_cb, &done);
  run_until(&closed, 1, 2000);
  run_until(&done, 1, 2000);
  cohort_rpc_server_free(srv);
  int dummy = 0;
  run_until(&dummy, 1, 20);
  assert_int_equal(first, COHORT_RPC_UNAVAILABLE);
  assert_int_equal(second, COHORT_RPC_OK);
  assert_int_equal(closed, 1);
  assert_int_equal(done, 1);
  assert_int_equal(sfa.live, 0);
}

static void test_wire_helpers(void **state) {
  (void)state;
  int64_t ns;
  assert_int_equal(cohort_rpc_timeout_parse("1H", 2, &ns), 0);
  assert_true(ns == 3600 * COHORT_NS_PER_S);
  assert_int_equal(cohort_rpc_timeout_parse("2M", 2, &ns), 0);
  assert_true(ns == 120 * COHORT_NS_PER_S);
  assert_int_equal(cohort_rpc_timeout_parse("3S", 2, &ns), 0);
  assert_true(ns == 3 * COHORT_NS_PER_S);
  assert_int_equal(cohort_rpc_timeout_parse("40m", 3, &ns), 0);
  assert_true(ns == 40 * COHORT_NS_PER_MS);
  assert_int_equal(cohort_rpc_timeout_parse("5u", 2, &ns), 0);
  assert_true(ns == 5000);
  assert_int_equal(cohort_rpc_timeout_parse("99999999n", 9, &ns), 0);
  assert_true(ns == 99999999);
  assert_int_equal(cohort_rpc_timeout_parse("99999999H", 9, &ns), 0);
  assert_true(ns > 0);
  const char *bad[] = {"", "S", "1", "123456789S", "1s", "-1S", "1.5S", " 1S", "1 S", "1x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cohort_rpc_timeout_parse(bad[i], strlen(bad[i]), &ns), COHORT_EPROTO);
  char buf[10];
  assert_int_equal(cohort_rpc_timeout_format(5, buf), 2);
  assert_string_equal(buf, "5n");
  cohort_rpc_timeout_format(123456789012, buf); /* 123.4 s: 8 digits max, rounded up */
  assert_string_equal(buf, "123457m");
  assert_true(strlen(buf) <= 9);
  cohort_rpc_timeout_format(INT64_MAX, buf);
  assert_true(strlen(buf) <= 9);
  assert_int_equal(cohort_rpc_timeout_parse(buf, strlen(buf), &ns), 0);
  assert_string_equal(cohort_rpc_code_name(0), "OK");
  assert_string_equal(cohort_rpc_code_name(16), "UNAUTHENTICATED");
  assert_string_equal(cohort_rpc_code_name(17), "UNKNOWN_CODE");
  assert_string_equal(cohort_rpc_code_name(-1), "UNKNOWN_CODE");
}

/* ---- TLS ------------------------------------------------------------------------------ */

static char tls_dir[64];

static int make_certs(void) { return test_certs_make(tls_dir, "tls"); }
static void remove_certs(void) { test_certs_remove(tls_dir); }

static int setup_tls(void **state) {
  if (make_certs() != 0) {
    fprintf(stderr, "openssl CLI failed\n");
    return -1;
  }
  char cert[128], key[128], ca[128];
  snprintf(cert, sizeof cert, "%s/srv.pem", tls_dir);
  snprintf(key, sizeof key, "%s/srv.key", tls_dir);
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  cohort_rpc_server_config_t s = {.tls_cert_file = cert, .tls_key_file = key};
  cohort_rpc_channel_config_t c = {.tls = 1, .tls_ca_file = ca};
  return setup_with(state, &s, &c);
}

static int teardown_tls(void **state) {
  int rc = teardown(state);
  remove_certs();
  return rc;
}

static void test_tls(void **state) {
  (void)state;
  /* Verified against our CA, IP SAN matches. */
  cohort_rpc_result_t r;
  assert_int_equal(cohort_rpc_unary_blocking(F->ch, "/t.S/Echo", "tls", 3, NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_OK);
  assert_memory_equal(r.data, "tls", 3);
  cohort_rpc_result_free(&r);
  cohort_rpc_call_callbacks_t cb = {.on_message = c_message, .on_status = c_status};
  cohort_rpc_call_t *call;
  assert_int_equal(cohort_rpc_call_start(F->ch, "/t.S/Bidi", NULL, &cb, NULL, &call), 0);
  for (int i = 0; i < 5; i++) cohort_rpc_call_send(call, "abcdef", 6);
  cohort_rpc_call_close_send(call);
  run_until(&F->status_count, 1, 3000);
  assert_int_equal(F->messages, 5);
  assert_int_equal(F->last_code, COHORT_RPC_OK);
  /* Without our CA (system trust store): verification fails, clearly. */
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", F->port);
  cohort_rpc_channel_config_t c = {.allocator = &F->fa.base, .tls = 1};
  cohort_rpc_channel_t *ch;
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &c, &ch), 0);
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/t.S/Echo", "x", 1, NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_UNAVAILABLE);
  assert_non_null(strstr(r.message, "certificate verify failed"));
  cohort_rpc_result_free(&r);
  int closed = 0;
  cohort_rpc_channel_close(ch, closed_cb, &closed);
  /* Our CA but the wrong name: hostname verification fails. */
  char ca[128];
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  c.tls_ca_file = ca;
  c.tls_server_name = "not-this-host.example";
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &c, &ch), 0);
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/t.S/Echo", "x", 1, NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_UNAVAILABLE);
  assert_non_null(strstr(r.message, "verify failed"));
  cohort_rpc_result_free(&r);
  cohort_rpc_channel_close(ch, closed_cb, &closed);
  /* A cleartext client against the TLS port fails instead of hanging. */
  cohort_rpc_channel_config_t plain = {.allocator = &F->fa.base};
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &plain, &ch), 0);
  cohort_rpc_call_options_t o = {.timeout_ns = 2 * COHORT_NS_PER_S};
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/t.S/Echo", "x", 1, &o, &r), 0);
  assert_true(r.code == COHORT_RPC_UNAVAILABLE || r.code == COHORT_RPC_INTERNAL);
  cohort_rpc_result_free(&r);
  cohort_rpc_channel_close(ch, closed_cb, &closed);
  run_until(&closed, 3, 2000);
  assert_int_equal(closed, 3);
  /* Bad TLS files are a clear configuration error. */
  cohort_rpc_server_t *srv;
  cohort_rpc_server_config_t bad = {.tls_cert_file = "/nonexistent.pem",
                                    .tls_key_file = "/nonexistent.key"};
  assert_int_equal(cohort_rpc_server_create(&F->loop, &bad, &srv), COHORT_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_helpers),
      cmocka_unit_test_setup_teardown(test_unary_and_metadata, setup, teardown),
      cmocka_unit_test_setup_teardown(test_status_and_unimplemented, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_channel_in_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadline_expires, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deadline_propagation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_message_too_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_blocking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unavailable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_graceful_shutdown, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive_dead_peer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_accept_without_memory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tls, setup_tls, teardown_tls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
