/*
 * tools/protoc-gen-cohort/tests/test_stub_names.c — the stubs generated
 * for names.proto: they compile warning-free (this file is built with the
 * project's flags), their paths and names are what docs/rpc-stubs.md
 * promises, and every argument check of the generated functions returns
 * its documented error without starting a call. No traffic: the channel
 * is never connected (calls that would start are refused first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#include "names.cohort.h"
#include "no_service.cohort.h"

typedef struct fixture {
  uv_loop_t loop;
  cohort_rpc_server_t *srv;
  cohort_rpc_channel_t *ch;
} fixture_t;

static void on_closed(void *ud) { *(int *)ud = 1; }

static int setup(void **state) {
  static fixture_t f;
  memset(&f, 0, sizeof f);
  assert_int_equal(uv_loop_init(&f.loop), 0);
  assert_int_equal(cohort_rpc_server_create(&f.loop, NULL, &f.srv), 0);
  assert_int_equal(cohort_rpc_channel_create(&f.loop, "127.0.0.1:1", NULL, &f.ch), 0);
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  int closed = 0;
  cohort_rpc_channel_close(f->ch, on_closed, &closed);
  cohort_rpc_server_free(f->srv);
  while (!closed) uv_run(&f->loop, UV_RUN_ONCE);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  return 0;
}

static void test_paths(void **state) {
  (void)state;
  assert_string_equal(MY_PKG_SUB_PKG_PATTERN_SVC_UNARY_PATH, "/my_pkg.subPkg.Pattern_svc/Unary");
  assert_string_equal(MY_PKG_SUB_PKG_PATTERN_SVC_SERVER_STREAM_PATH,
                      "/my_pkg.subPkg.Pattern_svc/ServerStream");
  assert_string_equal(MY_PKG_SUB_PKG_PATTERN_SVC_CLIENT_STREAM_PATH,
                      "/my_pkg.subPkg.Pattern_svc/ClientStream");
  assert_string_equal(MY_PKG_SUB_PKG_PATTERN_SVC_BIDI_PATH, "/my_pkg.subPkg.Pattern_svc/Bidi");
  assert_string_equal(MY_PKG_SUB_PKG_SECOND_UNARY_PATH, "/my_pkg.subPkg.Second/Unary");
}

static void on_unary(cohort_rpc_call_t *call, const MyPkg__SubPkg__FooBarBaz *req, void *ud) {
  (void)req;
  (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}

static void on_inner(cohort_rpc_call_t *call, const Other__SubPkg__HTTPThing__InnerMsg *m,
                     void *ud) {
  (void)call;
  (void)m;
  (void)ud;
}

static void on_half_close(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}

static void test_register_errors(void **state) {
  fixture_t *f = *state;
  my_pkg_sub_pkg_pattern_svc_server_t impl;
  memset(&impl, 0, sizeof impl);
  /* Nothing implemented, or no server / no impl. */
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_register(f->srv, &impl), COHORT_EINVAL);
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_register(NULL, &impl), COHORT_EINVAL);
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_register(f->srv, NULL), COHORT_EINVAL);
  /* A streaming handler with on_message but no on_half_close. */
  impl.client_stream.on_message = on_inner;
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_register(f->srv, &impl), COHORT_EINVAL);
}

static void test_register(void **state) {
  fixture_t *f = *state;
  static my_pkg_sub_pkg_pattern_svc_server_t impl;
  memset(&impl, 0, sizeof impl);
  impl.unary.on_request = on_unary;
  impl.client_stream.on_message = on_inner;
  impl.client_stream.on_half_close = on_half_close;
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_register(f->srv, &impl), 0);
  /* The same paths again: the library refuses duplicates. */
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_register(f->srv, &impl), COHORT_EEXIST);
  /* The other service of the file registers its own path. */
  static my_pkg_sub_pkg_second_server_t second;
  memset(&second, 0, sizeof second);
  second.unary.on_request = on_unary;
  assert_int_equal(my_pkg_sub_pkg_second_register(f->srv, &second), 0);
}

static void on_done(const cohort_rpc_status_t *st, const MyPkg__SubPkg__FooBarBaz__X9Y *resp,
                    void *ud) {
  (void)st;
  (void)resp;
  (void)ud;
  fail_msg("no call was started, so no callback may run");
}

static void on_status(cohort_rpc_call_t *call, const cohort_rpc_status_t *st, void *ud) {
  (void)call;
  (void)st;
  (void)ud;
  fail_msg("no call was started, so no callback may run");
}

static void test_client_argument_errors(void **state) {
  fixture_t *f = *state;
  MyPkg__SubPkg__FooBarBaz req = MY_PKG__SUB_PKG__FOO_BAR_BAZ__INIT;
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_unary(f->ch, NULL, NULL, on_done, NULL),
                   COHORT_EINVAL);
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_unary(f->ch, &req, NULL, NULL, NULL),
                   COHORT_EINVAL);
  cohort_rpc_result_t result;
  MyPkg__SubPkg__FooBarBaz__X9Y *resp = (void *)&result; /* must stay untouched */
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_unary_blocking(f->ch, NULL, NULL, &result, &resp),
                   COHORT_EINVAL);
  assert_ptr_equal(resp, (void *)&result);

  my_pkg_sub_pkg_pattern_svc_server_stream_callbacks_t ss = {0};
  cohort_rpc_call_t *call = NULL;
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_server_stream_start(f->ch, &req, NULL, &ss, NULL,
                                                                  &call),
                   COHORT_EINVAL); /* on_status is required */
  ss.on_status = on_status;
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_server_stream_start(f->ch, NULL, NULL, &ss, NULL,
                                                                  &call),
                   COHORT_EINVAL);
  my_pkg_sub_pkg_pattern_svc_bidi_callbacks_t bidi = {.on_status = on_status};
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_bidi_start(f->ch, NULL, &bidi, NULL, NULL),
                   COHORT_EINVAL); /* a client-sending call must return its call */
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_bidi_start(f->ch, NULL, NULL, NULL, &call),
                   COHORT_EINVAL);
  assert_null(call);
  /* Sends on no call, or of no message, are refused. */
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_bidi_send_request(NULL, &req), COHORT_EINVAL);
  assert_int_equal(my_pkg_sub_pkg_pattern_svc_bidi_send_response(NULL, NULL), COHORT_EINVAL);
  uv_run(&f->loop, UV_RUN_NOWAIT); /* a callback here would fail the test */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paths),
      cmocka_unit_test_setup_teardown(test_register_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_register, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_argument_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
