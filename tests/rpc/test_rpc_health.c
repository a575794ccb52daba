/*
 * tests/rpc/test_rpc_health.c — grpc.health.v1.Health (rpc_health.h) on a
 * cohort server, called by cohort's client over loopback with the standard
 * wire messages: Check for the server (""), an unknown service (NOT_FOUND),
 * a set one; Watch: SERVICE_UNKNOWN at once, then each change and only
 * changes, NOT_SERVING from health_shutdown, and the call freed on cancel;
 * malformed requests (INVALID_ARGUMENT) and bad arguments.
 * (grpcio's client asks the same service in test_rpc_interop.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "cohort/rpc_health.h"

static uv_loop_t loop;
static cohort_rpc_server_t *srv;
static cohort_rpc_health_t *health;
static cohort_rpc_channel_t *ch;

/* HealthCheckRequest{service}: field 1, length-delimited. */
static size_t request(const char *service, uint8_t *out) {
  size_t n = strlen(service);
  if (n == 0) return 0; /* proto3: the empty string is not sent */
  out[0] = 0x0a;
  out[1] = (uint8_t)n;
  memcpy(out + 2, service, n);
  return n + 2;
}

/* HealthCheckResponse{status}: 0x08 status, or empty for UNKNOWN (0). */
static int status_of(const uint8_t *d, size_t n) {
  if (n == 0) return 0;
  return n == 2 && d[0] == 0x08 ? d[1] : -1;
}

static cohort_rpc_code_t check(const char *service, int *status) {
  uint8_t req[300];
  cohort_rpc_result_t r;
  cohort_rpc_call_options_t o = {.timeout_ns = 5 * COHORT_NS_PER_S};
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/grpc.health.v1.Health/Check", req,
                                             request(service, req), &o, &r), 0);
  cohort_rpc_code_t code = r.code;
  if (code == COHORT_RPC_OK) *status = status_of(r.data, r.len);
  cohort_rpc_result_free(&r);
  return code;
}

typedef struct watch {
  int got[16];
  int n, done;
  cohort_rpc_code_t code;
} watch_t;

static void w_message(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)c;
  watch_t *w = ud;
  if (w->n < 16) w->got[w->n] = status_of(d, n);
  w->n++;
}

static void w_status(cohort_rpc_call_t *c, const cohort_rpc_status_t *st,
                     const cohort_rpc_metadata_t *tr, size_t n, void *ud) {
  (void)c, (void)tr, (void)n;
  watch_t *w = ud;
  w->code = st->code;
  w->done = 1;
}

static void tick_cb(uv_timer_t *t) { (void)t; }

static void run_until(int *v, int target) {
  int64_t end = cohort_rpc_now_ns() + 5 * COHORT_NS_PER_S;
  uv_timer_t tick;
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, tick_cb, 5, 5);
  while (*v < target && cohort_rpc_now_ns() < end) uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
}

static void test_check(void **state) {
  (void)state;
  int st = -1;
  assert_int_equal(check("", &st), COHORT_RPC_OK);
  assert_int_equal(st, COHORT_RPC_HEALTH_SERVING);
  assert_int_equal(check("cohort.Echo", &st), COHORT_RPC_NOT_FOUND);
  assert_int_equal(cohort_rpc_health_set(health, "cohort.Echo", COHORT_RPC_HEALTH_NOT_SERVING),
                   0);
  assert_int_equal(check("cohort.Echo", &st), COHORT_RPC_OK);
  assert_int_equal(st, COHORT_RPC_HEALTH_NOT_SERVING);
  /* A request that is not a HealthCheckRequest. */
  cohort_rpc_result_t r;
  assert_int_equal(cohort_rpc_unary_blocking(ch, "/grpc.health.v1.Health/Check", "\xff\xff", 2,
                                             NULL, &r), 0);
  assert_int_equal(r.code, COHORT_RPC_INVALID_ARGUMENT);
  cohort_rpc_result_free(&r);
  /* Bad arguments. */
  char longname[300];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_int_equal(cohort_rpc_health_set(health, longname, COHORT_RPC_HEALTH_SERVING),
                   COHORT_EINVAL);
  assert_int_equal(cohort_rpc_health_set(health, "x", (cohort_rpc_health_status_t)7),
                   COHORT_EINVAL);
  cohort_rpc_health_t *again;
  assert_int_equal(cohort_rpc_health_create(srv, NULL, &again), COHORT_EEXIST);
}

static void test_watch(void **state) {
  (void)state;
  watch_t w = {0};
  cohort_rpc_call_callbacks_t cb = {.on_message = w_message, .on_status = w_status};
  cohort_rpc_call_t *call;
  assert_int_equal(cohort_rpc_call_start(ch, "/grpc.health.v1.Health/Watch", NULL, &cb, &w,
                                         &call), 0);
  uint8_t req[32];
  cohort_rpc_call_send(call, req, request("cohort.Later", req));
  cohort_rpc_call_close_send(call);
  run_until(&w.n, 1);
  assert_int_equal(w.got[0], COHORT_RPC_HEALTH_SERVICE_UNKNOWN);
  cohort_rpc_health_set(health, "cohort.Later", COHORT_RPC_HEALTH_SERVING);
  run_until(&w.n, 2);
  assert_int_equal(w.got[1], COHORT_RPC_HEALTH_SERVING);
  cohort_rpc_health_set(health, "cohort.Later", COHORT_RPC_HEALTH_SERVING); /* no change */
  cohort_rpc_health_set(health, "cohort.Other", COHORT_RPC_HEALTH_NOT_SERVING);
  cohort_rpc_health_shutdown(health);
  run_until(&w.n, 3);
  assert_int_equal(w.n, 3); /* only changes of its own service were sent */
  assert_int_equal(w.got[2], COHORT_RPC_HEALTH_NOT_SERVING);
  assert_int_equal(cohort_rpc_server_active_calls(srv), 1);
  cohort_rpc_call_cancel(call);
  run_until(&w.done, 1);
  assert_int_equal(w.code, COHORT_RPC_CANCELLED);
  for (int i = 0; i < 100 && cohort_rpc_server_active_calls(srv); i++) uv_run(&loop, UV_RUN_ONCE);
  assert_int_equal(cohort_rpc_server_active_calls(srv), 0);
}

static void done_cb(void *ud) { (*(int *)ud)++; }

static int setup(void **state) {
  (void)state;
  uv_loop_init(&loop);
  if (cohort_rpc_server_create(&loop, NULL, &srv)) return -1;
  if (cohort_rpc_health_create(srv, NULL, &health)) return -1;
  int port;
  if (cohort_rpc_server_listen(srv, "127.0.0.1:0", &port)) return -1;
  char target[32];
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  return cohort_rpc_channel_create(&loop, target, NULL, &ch);
}

static int teardown(void **state) {
  (void)state;
  int closed = 0, done = 0;
  cohort_rpc_channel_close(ch, done_cb, &closed);
  run_until(&closed, 1);
  cohort_rpc_server_shutdown(srv, 100, done_cb, &done);
  run_until(&done, 1);
  cohort_rpc_server_free(srv);
  cohort_rpc_health_free(health);
  uv_run(&loop, UV_RUN_DEFAULT);
  return uv_loop_close(&loop) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check),
      cmocka_unit_test(test_watch),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
