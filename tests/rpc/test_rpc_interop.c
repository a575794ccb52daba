/*
 * tests/rpc/test_rpc_interop.c — cohort against Python's grpcio, a gRPC
 * implementation no one here wrote (tests/rpc/interop_peer.py, run with
 * Debian's /usr/bin/python3):
 *   - cohort's client calls a grpcio server: unary, the three streaming
 *     kinds, status codes and percent-encoded messages, ASCII and -bin
 *     metadata round trips, grpc-timeout seen by the server, a deadline
 *     expiring while grpcio's handler sleeps, UNIMPLEMENTED.
 *   - a grpcio client calls cohort's server (the same handlers as the e2e
 *     test); the Python script checks the answers and exits 0, and this
 *     side checks that grpcio's deadline and cancel reached our handler.
 *   - both directions again over TLS 1.3 (ALPN h2, certificates verified
 *     on both clients) with a throwaway CA made by the openssl CLI.
 * Peers run on 127.0.0.1 ephemeral ports and are stopped by the test.
 * Skipped (77) when /usr/bin/python3 has no grpc module.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "big_service.h"
#include "cohort/rpc.h"
#include "cohort/rpc_health.h"
#include "test_certs.h"

#define PY "/usr/bin/python3"

static uv_loop_t loop;
static char script[1024];

typedef struct peer {
  uv_process_t proc;
  uv_pipe_t in, out;
  char line[64];
  size_t line_len;
  int port;
  int exited;
  int64_t exit_status;
  int closed;
} peer_t;

static void tick_cb(uv_timer_t *t) { (void)t; }

static void run_until(int *flag, int target, int64_t max_ms) {
  int64_t end = cohort_rpc_now_ns() + max_ms * COHORT_NS_PER_MS;
  uv_timer_t tick;
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, tick_cb, 5, 5);
  while (*flag < target && cohort_rpc_now_ns() < end) uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  peer_t *pe = p->data;
  pe->exited = 1;
  pe->exit_status = sig ? 128 + sig : status;
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[256];
  (void)h, (void)s;
  *b = uv_buf_init(buf, sizeof buf);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  peer_t *pe = s->data;
  for (ssize_t i = 0; i < n && pe->port == 0; i++) {
    if (b->base[i] == '\n') {
      pe->line[pe->line_len] = '\0';
      pe->port = atoi(pe->line);
    } else if (pe->line_len + 1 < sizeof pe->line) {
      pe->line[pe->line_len++] = b->base[i];
    }
  }
  if (n < 0) uv_read_stop(s);
}

static void peer_start(peer_t *pe, const char *mode, const char *arg, const char *arg2) {
  memset(pe, 0, sizeof *pe);
  uv_pipe_init(&loop, &pe->in, 0);
  uv_pipe_init(&loop, &pe->out, 0);
  pe->out.data = pe;
  uv_stdio_container_t io[3] = {
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&pe->in},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&pe->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  char *args[] = {PY, script, (char *)mode, (char *)arg, (char *)arg2, NULL};
  uv_process_options_t o = {.file = PY, .args = args, .exit_cb = on_exit_cb,
                            .stdio_count = 3, .stdio = io};
  pe->proc.data = pe;
  int rc = uv_spawn(&loop, &pe->proc, &o);
  assert_int_equal(rc, 0);
  uv_read_start((uv_stream_t *)&pe->out, alloc_cb, read_cb);
}

static void count_close(uv_handle_t *h) { (*(int *)h->data)++; }

static void peer_stop(peer_t *pe) {
  if (!pe->exited) uv_process_kill(&pe->proc, SIGTERM);
  run_until(&pe->exited, 1, 5000);
  pe->closed = 0;
  uv_handle_t *hs[3] = {(uv_handle_t *)&pe->in, (uv_handle_t *)&pe->out,
                        (uv_handle_t *)&pe->proc};
  for (int i = 0; i < 3; i++) {
    hs[i]->data = &pe->closed;
    uv_close(hs[i], count_close);
  }
  run_until(&pe->closed, 3, 1000);
}

static int group_setup(void **state) {
  (void)state;
  const char *src = getenv("COHORT_SOURCE_ROOT");
  snprintf(script, sizeof script, "%s/tests/rpc/interop_peer.py", src ? src : ".");
  if (system(PY " -c 'import grpc' 2>/dev/null") != 0) {
    fprintf(stderr, "grpcio not available for " PY ": skipping\n");
    exit(77);
  }
  uv_loop_init(&loop);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? 0 : -1;
}

/* ---- cohort client → grpcio server ------------------------------------------------- */

/* google.rpc.ErrorInfo{reason: "R", domain: "cohort"}, as interop_peer.py. */
static const uint8_t error_info[] = {0x0a, 1, 'R', 0x12, 6, 'c', 'o', 'h', 'o', 'r', 't'};
static const char error_info_url[] = "type.googleapis.com/google.rpc.ErrorInfo";

typedef struct obs {
  int done;
  cohort_rpc_code_t code;
  char msg[128];
  int messages;
  uint8_t last[128];
  size_t last_len;
  char ascii[64];
  cohort_rpc_details_t details;
  int details_rc;
  uint8_t bin[16];
  size_t bin_len;
  long left_ms;
} obs_t;

static void o_message(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  obs_t *o = ud;
  (void)c;
  o->messages++;
  o->last_len = n < sizeof o->last ? n : sizeof o->last;
  memcpy(o->last, d, o->last_len);
}

static void o_status(cohort_rpc_call_t *c, const cohort_rpc_status_t *st,
                     const cohort_rpc_metadata_t *tr, size_t n, void *ud) {
  obs_t *o = ud;
  (void)c;
  o->done++;
  o->code = st->code;
  snprintf(o->msg, sizeof o->msg, "%s", st->message);
  o->details_rc = st->details ? cohort_rpc_details_unpack(st->details, st->details_len,
                                                          &o->details)
                              : COHORT_ENOTFOUND;
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(tr[i].key, "x-ascii"))
      snprintf(o->ascii, sizeof o->ascii, "%.*s", (int)tr[i].value_len, tr[i].value);
    if (!strcmp(tr[i].key, "x-data-bin") && tr[i].value_len <= sizeof o->bin) {
      memcpy(o->bin, tr[i].value, tr[i].value_len);
      o->bin_len = tr[i].value_len;
    }
    if (!strcmp(tr[i].key, "x-time-left-ms")) o->left_ms = atol((const char *)tr[i].value);
  }
}

static cohort_rpc_call_t *start(cohort_rpc_channel_t *ch, const char *path, obs_t *o,
                                const cohort_rpc_call_options_t *opts) {
  memset(o, 0, sizeof *o);
  cohort_rpc_call_callbacks_t cb = {.on_message = o_message, .on_status = o_status};
  cohort_rpc_call_t *c = NULL;
  assert_int_equal(cohort_rpc_call_start(ch, path, opts, &cb, o, &c), 0);
  return c;
}

static void test_cohort_client_grpcio_server(void **state) {
  (void)state;
  peer_t pe;
  peer_start(&pe, "server", NULL, NULL);
  run_until(&pe.port, 1, 10000);
  assert_true(pe.port > 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", pe.port);
  cohort_rpc_channel_t *ch;
  assert_int_equal(cohort_rpc_channel_create(&loop, target, NULL, &ch), 0);
  obs_t o;

  /* unary + metadata both ways + grpc-timeout propagated */
  static const uint8_t bin[] = {0, 1, 2, 0xff, 0xfe, 'a'};
  cohort_rpc_metadata_t md[2] = {{"x-ascii", (const uint8_t *)"hello world", 11},
                                 {"x-data-bin", bin, sizeof bin}};
  cohort_rpc_call_options_t opts = {.metadata = md, .metadata_count = 2,
                                    .timeout_ns = 5 * COHORT_NS_PER_S};
  cohort_rpc_call_t *c = start(ch, "/interop.Test/Unary", &o, &opts);
  cohort_rpc_call_send(c, "ping", 4);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_OK);
  assert_int_equal(o.messages, 1);
  assert_memory_equal(o.last, "ping", 4);
  assert_string_equal(o.ascii, "hello world");
  assert_int_equal(o.bin_len, sizeof bin);
  assert_memory_equal(o.bin, bin, sizeof bin);
  assert_true(o.left_ms > 3000 && o.left_ms <= 5000);

  /* every status code, with a percent-encoded UTF-8 message */
  for (int code = 1; code < COHORT_RPC_CODE_COUNT; code++) {
    char req[16];
    int n = snprintf(req, sizeof req, "fail:%d", code);
    c = start(ch, "/interop.Test/Unary", &o, NULL);
    cohort_rpc_call_send(c, req, (size_t)n);
    cohort_rpc_call_close_send(c);
    run_until(&o.done, 1, 5000);
    assert_int_equal(o.code, code);
    assert_string_equal(o.msg, "bad \xe2\x9c\x93 100%\nthing");
  }

  /* rich error details from grpcio's server */
  c = start(ch, "/interop.Test/Unary", &o, NULL);
  cohort_rpc_call_send(c, "rich", 4);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_NOT_FOUND);
  assert_int_equal(o.details_rc, 0);
  assert_int_equal(o.details.code, COHORT_RPC_NOT_FOUND);
  assert_string_equal(o.details.message, "rich");
  assert_int_equal(o.details.count, 1);
  assert_string_equal(o.details.details[0].type_url, error_info_url);
  assert_int_equal(o.details.details[0].value_len, sizeof error_info);
  assert_memory_equal(o.details.details[0].value, error_info, sizeof error_info);
  cohort_rpc_details_free(&o.details);
  /* and a malformed one is a clear error, not a crash */
  cohort_rpc_details_t bad;
  assert_int_equal(cohort_rpc_details_unpack((const uint8_t *)"\xff\xff\xff", 3, &bad),
                   COHORT_EPROTO);

  /* deadline expiring while grpcio's handler sleeps */
  cohort_rpc_call_options_t short_opts = {.timeout_ns = 200 * COHORT_NS_PER_MS};
  int64_t t0 = cohort_rpc_now_ns();
  c = start(ch, "/interop.Test/Unary", &o, &short_opts);
  cohort_rpc_call_send(c, "sleep", 5);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_DEADLINE_EXCEEDED);
  assert_true(cohort_rpc_now_ns() - t0 < 2 * COHORT_NS_PER_S);

  /* unknown method */
  c = start(ch, "/interop.Test/Nope", &o, NULL);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_UNIMPLEMENTED);

  /* server streaming */
  c = start(ch, "/interop.Test/ServerStream", &o, NULL);
  uint8_t count = 40;
  cohort_rpc_call_send(c, &count, 1);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_OK);
  assert_int_equal(o.messages, 40);
  assert_int_equal(o.last[0], 39);

  /* client streaming with a 100 kB message split across DATA frames */
  c = start(ch, "/interop.Test/ClientStream", &o, NULL);
  static uint8_t big[100000];
  size_t total = 0;
  for (int i = 0; i < 30; i++) {
    cohort_rpc_call_send(c, big, (size_t)i);
    total += (size_t)i;
  }
  cohort_rpc_call_send(c, big, sizeof big);
  total += sizeof big;
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_OK);
  char expect[32];
  snprintf(expect, sizeof expect, "31/%zu", total);
  assert_int_equal(o.last_len, strlen(expect));
  assert_memory_equal(o.last, expect, strlen(expect));

  /* bidi ping-pong */
  c = start(ch, "/interop.Test/Bidi", &o, NULL);
  for (int i = 0; i < 10; i++) {
    uint8_t m = (uint8_t)i;
    cohort_rpc_call_send(c, &m, 1);
    run_until(&o.messages, i + 1, 5000);
    assert_int_equal(o.last[0], i);
  }
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 5000);
  assert_int_equal(o.code, COHORT_RPC_OK);

  cohort_rpc_channel_close(ch, NULL, NULL);
  peer_stop(&pe);
}

/* ---- grpcio client → cohort server ----------------------------------------------- */

static int hold_cancels;
static cohort_rpc_code_t hold_why[4];

static void h_echo(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  size_t l1 = 0, l2 = 0;
  const uint8_t *v1 = cohort_rpc_call_metadata_get(call, "x-ascii", &l1);
  const uint8_t *v2 = cohort_rpc_call_metadata_get(call, "x-data-bin", &l2);
  cohort_rpc_metadata_t tr[2];
  size_t nt = 0;
  if (v1) tr[nt++] = (cohort_rpc_metadata_t){"x-ascii", v1, l1};
  if (v2) tr[nt++] = (cohort_rpc_metadata_t){"x-data-bin", v2, l2};
  cohort_rpc_call_send(call, d, n);
  cohort_rpc_call_finish_with_metadata(call, COHORT_RPC_OK, NULL, tr, nt);
}
static void h_fail(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_FAILED_PRECONDITION, "bad \xe2\x9c\x93 100%\nthing");
}
static void h_rich(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  cohort_rpc_detail_t det = {error_info_url, error_info, sizeof error_info};
  assert_int_equal(cohort_rpc_call_finish_with_details(call, COHORT_RPC_NOT_FOUND, "rich", &det, 1),
                   0);
}
static void h_hold(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)call, (void)d, (void)n, (void)ud;
}
static void h_hold_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)ud;
  if (hold_cancels < 4) hold_why[hold_cancels] = why;
  hold_cancels++;
  cohort_rpc_call_finish(call, COHORT_RPC_CANCELLED, NULL);
}
static void h_stream(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  for (int i = 0; i < (n ? d[0] : 0); i++) {
    uint8_t m[3] = {(uint8_t)i, 'x', 'y'};
    cohort_rpc_call_send(call, m, sizeof m);
  }
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}
static size_t sum_total;
static int sum_count;
static void cs_start(cohort_rpc_call_t *c, void *ud) {
  (void)c, (void)ud;
  sum_total = 0;
  sum_count = 0;
}
static void cs_msg(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)c, (void)d, (void)ud;
  sum_total += n;
  sum_count++;
}
static void cs_end(cohort_rpc_call_t *c, void *ud) {
  (void)ud;
  char out[64];
  int len = snprintf(out, sizeof out, "%d/%zu", sum_count, sum_total);
  cohort_rpc_call_reply(c, out, (size_t)len);
}
static void bd_start(cohort_rpc_call_t *c, void *ud) { (void)c, (void)ud; }
static void bd_msg(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  cohort_rpc_call_send(c, d, n);
}
static void bd_end(cohort_rpc_call_t *c, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(c, COHORT_RPC_OK, NULL);
}

static void done_cb(void *ud) { (*(int *)ud)++; }

/* Runs interop_peer.py in client `mode` (PORT, then `arg2`) against `srv`
 * until it exits, which it must do with status 0 (all its checks passed);
 * then the server has no call left. */
static void grpcio_client_run(cohort_rpc_server_t *srv, const char *mode, const char *arg2,
                              int64_t max_ms) {
  int port = 0;
  assert_int_equal(cohort_rpc_server_listen(srv, "127.0.0.1:0", &port), 0);
  char arg[16];
  snprintf(arg, sizeof arg, "%d", port);
  peer_t pe;
  peer_start(&pe, mode, arg, arg2);
  run_until(&pe.exited, 1, max_ms);
  assert_int_equal(pe.exited, 1);
  assert_int_equal(pe.exit_status, 0); /* every check in the Python client passed */
  assert_int_equal(cohort_rpc_server_active_calls(srv), 0);
  peer_stop(&pe);
}

static void server_close(cohort_rpc_server_t *srv) {
  int done = 0;
  cohort_rpc_server_shutdown(srv, 500, done_cb, &done);
  run_until(&done, 1, 3000);
  assert_int_equal(done, 1);
  cohort_rpc_server_free(srv);
}

static void test_grpcio_client_cohort_server(void **state) {
  (void)state;
  cohort_rpc_server_t *srv;
  assert_int_equal(cohort_rpc_server_create(&loop, NULL, &srv), 0);
  cohort_rpc_server_register_unary(srv, "/t.S/Echo", h_echo, NULL);
  cohort_rpc_server_register_unary(srv, "/t.S/Fail", h_fail, NULL);
  cohort_rpc_server_register_unary(srv, "/t.S/Rich", h_rich, NULL);
  cohort_rpc_handler_t hold = {.kind = COHORT_RPC_UNARY, .on_request = h_hold,
                               .on_cancel = h_hold_cancel};
  cohort_rpc_server_register(srv, "/t.S/Hold", &hold);
  cohort_rpc_server_register_server_streaming(srv, "/t.S/Stream", h_stream, NULL);
  cohort_rpc_handler_t cs = {.kind = COHORT_RPC_CLIENT_STREAMING, .on_start = cs_start,
                             .on_message = cs_msg, .on_half_close = cs_end};
  cohort_rpc_server_register(srv, "/t.S/Sum", &cs);
  cohort_rpc_handler_t bd = {.kind = COHORT_RPC_BIDI_STREAMING, .on_start = bd_start,
                             .on_message = bd_msg, .on_half_close = bd_end};
  cohort_rpc_server_register(srv, "/t.S/Bidi", &bd);
  grpcio_client_run(srv, "client", NULL, 30000);
  /* grpcio's deadline and its cancel both reached the Hold handler. */
  assert_int_equal(hold_cancels, 2);
  assert_true(hold_why[0] == COHORT_RPC_DEADLINE_EXCEEDED || hold_why[0] == COHORT_RPC_CANCELLED);
  assert_int_equal(hold_why[1], COHORT_RPC_CANCELLED);
  server_close(srv);
}

/* ---- large messages, both directions ------------------------------------------------ */

/* grpcio's client moves 300 kB .. 4 MiB + 1 through cohort's big.B service
 * (mode "gzip-client": compressed both ways). */
static void big_grpcio_client_mode(const char *mode, const char *cert, const char *key,
                                   const char *ca) {
  cohort_rpc_server_config_t cfg = {.max_send_message_bytes = COHORT_RPC_MESSAGE_MAX + 1,
                                    .tls_cert_file = cert, .tls_key_file = key};
  if (!strcmp(mode, "gzip-client")) cfg.compression = COHORT_RPC_COMPRESS_GZIP;
  cohort_rpc_server_t *srv;
  assert_int_equal(cohort_rpc_server_create(&loop, &cfg, &srv), 0);
  big_register(srv);
  grpcio_client_run(srv, mode, ca, 120000); /* every size and pattern as expected */
  assert_int_equal(big_active(), 0);
  server_close(srv);
}

static void big_grpcio_client(const char *cert, const char *key, const char *ca) {
  big_grpcio_client_mode("big-client", cert, key, ca);
}

/* cohort's client against grpcio's big.B server (gzip: both compress). */
static void big_cohort_client_mode(bool gzip, const char *cert, const char *key,
                                   const char *ca) {
  peer_t pe;
  peer_start(&pe, gzip ? "gzip-server" : cert ? "tls-server" : "server", cert, key);
  run_until(&pe.port, 1, 10000);
  assert_true(pe.port > 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", pe.port);
  cohort_rpc_channel_config_t cfg = {.max_send_message_bytes = COHORT_RPC_MESSAGE_MAX + 1,
                                     .tls = cert != NULL, .tls_ca_file = ca,
                                     .compression = gzip ? COHORT_RPC_COMPRESS_GZIP
                                                         : COHORT_RPC_COMPRESS_NONE};
  cohort_rpc_channel_t *ch;
  assert_int_equal(cohort_rpc_channel_create(&loop, target, &cfg, &ch), 0);
  assert_int_equal(big_four(&loop, ch, 300000, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&loop, ch, 1u << 20, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&loop, ch, COHORT_RPC_MESSAGE_MAX, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&loop, ch, COHORT_RPC_MESSAGE_MAX + 1,
                            COHORT_RPC_RESOURCE_EXHAUSTED), 0);
  assert_int_equal(big_four(&loop, ch, 1u << 20, COHORT_RPC_OK), 0);
  cohort_rpc_channel_close(ch, NULL, NULL);
  peer_stop(&pe);
}

static void big_cohort_client(const char *cert, const char *key, const char *ca) {
  big_cohort_client_mode(false, cert, key, ca);
}

static void test_big_messages(void **state) {
  (void)state;
  big_grpcio_client(NULL, NULL, NULL);
  big_cohort_client(NULL, NULL, NULL);
}

/* grpc.health.v1 asked by grpcio: Check and Watch. /t.H/Set "name=N"
 * changes a status while grpcio watches. */
static void h_set(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  char buf[128];
  snprintf(buf, sizeof buf, "%.*s", (int)n, (const char *)d);
  char *eq = strchr(buf, '=');
  if (eq) *eq = '\0';
  int rc = eq ? cohort_rpc_health_set(ud, buf, (cohort_rpc_health_status_t)atoi(eq + 1))
              : COHORT_EINVAL;
  cohort_rpc_call_finish(call, rc ? COHORT_RPC_INVALID_ARGUMENT : COHORT_RPC_OK, NULL);
}

static void test_health(void **state) {
  (void)state;
  cohort_rpc_server_t *srv;
  cohort_rpc_health_t *h;
  assert_int_equal(cohort_rpc_server_create(&loop, NULL, &srv), 0);
  assert_int_equal(cohort_rpc_health_create(srv, NULL, &h), 0);
  assert_int_equal(cohort_rpc_health_set(h, "cohort.Echo", COHORT_RPC_HEALTH_NOT_SERVING), 0);
  cohort_rpc_handler_t set = {.kind = COHORT_RPC_UNARY, .on_request = h_set, .ud = h};
  assert_int_equal(cohort_rpc_server_register(srv, "/t.H/Set", &set), 0);
  grpcio_client_run(srv, "health", NULL, 30000);
  server_close(srv);
  cohort_rpc_health_free(h);
}

/* grpc-encoding gzip with grpcio, both directions. */
static void test_gzip(void **state) {
  (void)state;
  big_grpcio_client_mode("gzip-client", NULL, NULL, NULL);
  big_cohort_client_mode(true, NULL, NULL, NULL);
}

/* ---- TLS, both directions ------------------------------------------------------------ */

static char tls_dir[64];

static int make_certs(void) { return test_certs_make(tls_dir, "interop"); }
static void remove_certs(void) { test_certs_remove(tls_dir); }

static void tls_cohort_client(const char *cert, const char *key, const char *ca) {
  peer_t pe;
  peer_start(&pe, "tls-server", cert, key);
  run_until(&pe.port, 1, 10000);
  assert_true(pe.port > 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", pe.port); /* checked against the IP SAN */
  cohort_rpc_channel_config_t cfg = {.tls = 1, .tls_ca_file = ca};
  cohort_rpc_channel_t *ch;
  assert_int_equal(cohort_rpc_channel_create(&loop, target, &cfg, &ch), 0);
  obs_t o;
  cohort_rpc_call_options_t opts = {.timeout_ns = 5 * COHORT_NS_PER_S};
  cohort_rpc_call_t *c = start(ch, "/interop.Test/Unary", &o, &opts);
  cohort_rpc_call_send(c, "tls", 3);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 10000);
  assert_int_equal(o.code, COHORT_RPC_OK);
  assert_int_equal(o.last_len, 3);
  assert_memory_equal(o.last, "tls", 3);
  c = start(ch, "/interop.Test/ServerStream", &o, &opts);
  uint8_t n = 7;
  cohort_rpc_call_send(c, &n, 1);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 10000);
  assert_int_equal(o.code, COHORT_RPC_OK);
  assert_int_equal(o.messages, 7);
  cohort_rpc_channel_close(ch, NULL, NULL);
  /* Verification is on: the same server without our CA is refused. */
  cohort_rpc_channel_config_t nocfg = {.tls = 1, .tls_ca_file = cert /* not a CA */};
  assert_int_equal(cohort_rpc_channel_create(&loop, target, &nocfg, &ch), 0);
  c = start(ch, "/interop.Test/Unary", &o, &opts);
  cohort_rpc_call_send(c, "x", 1);
  cohort_rpc_call_close_send(c);
  run_until(&o.done, 1, 10000);
  assert_int_equal(o.code, COHORT_RPC_UNAVAILABLE);
  assert_non_null(strstr(o.msg, "verify"));
  cohort_rpc_channel_close(ch, NULL, NULL);
  peer_stop(&pe);
}

static void tls_grpcio_client(const char *cert, const char *key, const char *ca) {
  cohort_rpc_server_config_t cfg = {.tls_cert_file = cert, .tls_key_file = key};
  cohort_rpc_server_t *srv;
  assert_int_equal(cohort_rpc_server_create(&loop, &cfg, &srv), 0);
  cohort_rpc_server_register_unary(srv, "/t.S/Echo", h_echo, NULL);
  cohort_rpc_server_register_unary(srv, "/t.S/Fail", h_fail, NULL);
  cohort_rpc_server_register_server_streaming(srv, "/t.S/Stream", h_stream, NULL);
  grpcio_client_run(srv, "tls-client", ca, 30000);
  server_close(srv);
}

static void test_tls_both_ways(void **state) {
  (void)state;
  assert_int_equal(make_certs(), 0);
  char cert[128], key[128], ca[128];
  snprintf(cert, sizeof cert, "%s/srv.pem", tls_dir);
  snprintf(key, sizeof key, "%s/srv.key", tls_dir);
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  tls_cohort_client(cert, key, ca);
  tls_grpcio_client(cert, key, ca);
  big_grpcio_client(cert, key, ca);
  big_cohort_client(cert, key, ca);
  remove_certs();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cohort_client_grpcio_server),
      cmocka_unit_test(test_grpcio_client_cohort_server),
      cmocka_unit_test(test_big_messages),
      cmocka_unit_test(test_gzip),
      cmocka_unit_test(test_health),
      cmocka_unit_test(test_tls_both_ways),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
