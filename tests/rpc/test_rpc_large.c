/*
 * tests/rpc/test_rpc_large.c — large messages between cohort's client and
 * cohort's server over loopback, in cleartext and over TLS: 300 kB (the
 * first size that stalled), 1 MiB, 4 MiB (= the default maximum), a
 * configured maximum of 6 MiB, and one byte over the maximum, in both
 * directions and all four call patterns (tests/rpc/big_service.c). Each
 * message's pattern is checked. Regression test for the flush that was not
 * rescheduled when nghttp2 still had data after a write completed (calls
 * over 256 KiB stalled until their deadline).
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

#include "big_service.h"
#include "cohort/rpc.h"
#include "test_certs.h"
#include "../support/failalloc.h"

typedef struct fixture {
  uv_loop_t loop;
  cohort_rpc_server_t *srv;
  cohort_rpc_channel_t *ch;
  failalloc_t fa;
  size_t max; /* receive limit on both sides; senders allow max + 1 */
} fixture_t;

static fixture_t *F;
static char tls_dir[64];

/* ---- fixtures ----------------------------------------------------------------------- */

static int setup_full(size_t max, bool tls, cohort_rpc_compression_t comp) {
  F = calloc(1, sizeof *F);
  failalloc_init(&F->fa, 0);
  uv_loop_init(&F->loop);
  F->max = max;
  char cert[128], key[128], ca[128];
  snprintf(cert, sizeof cert, "%s/srv.pem", tls_dir);
  snprintf(key, sizeof key, "%s/srv.key", tls_dir);
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  cohort_rpc_server_config_t s = {.allocator = &F->fa.base, .max_recv_message_bytes = max,
                                  .max_send_message_bytes = max + 1};
  cohort_rpc_channel_config_t c = {.allocator = &F->fa.base, .max_recv_message_bytes = max,
                                   .max_send_message_bytes = max + 1, .compression = comp};
  s.compression = comp;
  if (tls) {
    s.tls_cert_file = cert;
    s.tls_key_file = key;
    c.tls = 1;
    c.tls_ca_file = ca;
  }
  assert_int_equal(cohort_rpc_server_create(&F->loop, &s, &F->srv), 0);
  big_register(F->srv);
  int port;
  assert_int_equal(cohort_rpc_server_listen(F->srv, "127.0.0.1:0", &port), 0);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  assert_int_equal(cohort_rpc_channel_create(&F->loop, target, &c, &F->ch), 0);
  return 0;
}

static int setup_with(size_t max, bool tls) {
  return setup_full(max, tls, COHORT_RPC_COMPRESS_NONE);
}

static void done_cb(void *ud) { (*(int *)ud)++; }

static int teardown(void **state) {
  (void)state;
  int closed = 0, done = 0;
  cohort_rpc_channel_close(F->ch, done_cb, &closed);
  big_run_until(&F->loop, &closed, 2000);
  cohort_rpc_server_shutdown(F->srv, 100, done_cb, &done);
  big_run_until(&F->loop, &done, 2000);
  assert_int_equal(done, 1);
  cohort_rpc_server_free(F->srv);
  uv_run(&F->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&F->loop), 0);
  assert_int_equal(F->fa.live, 0);
  free(F);
  F = NULL;
  return 0;
}

static int setup_default(void **state) {
  (void)state;
  return setup_with(COHORT_RPC_MESSAGE_MAX, false);
}
static int setup_6mib(void **state) {
  (void)state;
  return setup_with(6u << 20, false);
}
static int setup_gzip(void **state) {
  (void)state;
  return setup_full(COHORT_RPC_MESSAGE_MAX, false, COHORT_RPC_COMPRESS_GZIP);
}
static int setup_tls(void **state) {
  (void)state;
  return setup_with(COHORT_RPC_MESSAGE_MAX, true);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_plain_default_max(void **state) {
  (void)state;
  assert_int_equal(big_four(&F->loop, F->ch, 300000, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, 1u << 20, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max + 1,
                            COHORT_RPC_RESOURCE_EXHAUSTED), 0);
  /* The connection is still good after the refusals. */
  assert_int_equal(big_four(&F->loop, F->ch, 1u << 20, COHORT_RPC_OK), 0);
}

static void test_plain_configured_max(void **state) {
  (void)state;
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max + 1,
                            COHORT_RPC_RESOURCE_EXHAUSTED), 0);
}

static void test_tls_large(void **state) {
  (void)state;
  assert_int_equal(big_four(&F->loop, F->ch, 1u << 20, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max + 1,
                            COHORT_RPC_RESOURCE_EXHAUSTED), 0);
}

/* grpc-encoding gzip both ways: the patterns compress well; one byte over
 * the maximum compresses to far less but must still be refused once
 * inflated (a decompression bomb stops at the limit). */
static void test_gzip(void **state) {
  (void)state;
  assert_int_equal(big_four(&F->loop, F->ch, 1u << 20, COHORT_RPC_OK), 0);
  assert_int_equal(big_four(&F->loop, F->ch, (uint32_t)F->max, COHORT_RPC_OK), 0);
  bool bad = false;
  assert_int_equal(big_call(&F->loop, F->ch, "/big.B/Echo", 1, (uint32_t)F->max + 1, &bad),
                   COHORT_RPC_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(big_last_status(), "decompressed")); /* it did go compressed */
  assert_int_equal(big_call(&F->loop, F->ch, "/big.B/Fan", 2, (uint32_t)F->max + 1, &bad),
                   COHORT_RPC_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(big_last_status(), "decompressed"));
  assert_int_equal(big_four(&F->loop, F->ch, 300000, COHORT_RPC_OK), 0);
}

static int group_setup(void **state) {
  (void)state;
  return test_certs_make(tls_dir, "large");
}

static int group_teardown(void **state) {
  (void)state;
  test_certs_remove(tls_dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plain_default_max, setup_default, teardown),
      cmocka_unit_test_setup_teardown(test_plain_configured_max, setup_6mib, teardown),
      cmocka_unit_test_setup_teardown(test_tls_large, setup_tls, teardown),
      cmocka_unit_test_setup_teardown(test_gzip, setup_gzip, teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
