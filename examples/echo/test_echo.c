/*
 * examples/echo/test_echo.c — the example service end to end, in one
 * process on one loop: a cohort server (echo_service.c) and a channel to
 * it over 127.0.0.1, calling through the generated stubs. Covers the four
 * call patterns, the blocking convenience, a handler's error status, and
 * the stubs' own failure paths: a response or request that does not parse
 * (INTERNAL on the receiving side) and a method a server lacks
 * (UNIMPLEMENTED). Every wait is bounded by a timer: a hang fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#include "echo_service.h"

#define WAIT_MS 10000

typedef struct fx {
  uv_loop_t loop;
  cohort_rpc_server_t *srv, *bad_srv; /* bad_srv answers Say with garbage */
  cohort_rpc_channel_t *ch, *bad_ch;
  /* what the callbacks saw */
  int done;
  cohort_rpc_code_t code;
  char message[128];
  char texts[8][64];
  uint32_t indexes[8];
  int n_texts;
} fx_t;

static void on_timeout(uv_timer_t *t) { *(int *)t->data = 1; }

/* Runs the loop until *flag is set or WAIT_MS pass (then fails). */
static void wait_for(fx_t *f, int *flag) {
  uv_timer_t timer;
  int expired = 0;
  uv_timer_init(&f->loop, &timer);
  timer.data = &expired;
  uv_timer_start(&timer, on_timeout, WAIT_MS, 0);
  while (!*flag && !expired) uv_run(&f->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_false(expired);
}

static void record_status(fx_t *f, const cohort_rpc_status_t *st) {
  f->code = st->code;
  snprintf(f->message, sizeof f->message, "%s", st->message);
  f->done = 1;
}

static void record_text(fx_t *f, const Example__EchoReply *r) {
  assert_true(f->n_texts < 8);
  snprintf(f->texts[f->n_texts], sizeof f->texts[0], "%s", r->text);
  f->indexes[f->n_texts++] = r->index;
}

static void garbage_say(cohort_rpc_call_t *call, const uint8_t *data, size_t len, void *ud) {
  (void)data;
  (void)len;
  (void)ud;
  static const uint8_t bad[] = {0xff, 0xff, 0xff}; /* a varint that never ends */
  cohort_rpc_call_reply(call, bad, sizeof bad);
}

static int setup(void **state) {
  static fx_t f;
  memset(&f, 0, sizeof f);
  assert_int_equal(uv_loop_init(&f.loop), 0);
  int port = 0, bad_port = 0;
  char target[64];
  assert_int_equal(cohort_rpc_server_create(&f.loop, NULL, &f.srv), 0);
  assert_int_equal(echo_service_register(f.srv), 0);
  assert_int_equal(cohort_rpc_server_listen(f.srv, "127.0.0.1:0", &port), 0);
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  assert_int_equal(cohort_rpc_channel_create(&f.loop, target, NULL, &f.ch), 0);
  assert_int_equal(cohort_rpc_server_create(&f.loop, NULL, &f.bad_srv), 0);
  assert_int_equal(cohort_rpc_server_register_unary(f.bad_srv, EXAMPLE_ECHO_SAY_PATH,
                                                    garbage_say, NULL),
                   0);
  assert_int_equal(cohort_rpc_server_listen(f.bad_srv, "127.0.0.1:0", &bad_port), 0);
  snprintf(target, sizeof target, "127.0.0.1:%d", bad_port);
  assert_int_equal(cohort_rpc_channel_create(&f.loop, target, NULL, &f.bad_ch), 0);
  *state = &f;
  return 0;
}

static void count_closed(void *ud) { (*(int *)ud)++; }

static int teardown(void **state) {
  fx_t *f = *state;
  int closed = 0;
  cohort_rpc_channel_close(f->ch, count_closed, &closed);
  cohort_rpc_channel_close(f->bad_ch, count_closed, &closed);
  cohort_rpc_server_shutdown(f->srv, 0, count_closed, &closed);
  cohort_rpc_server_shutdown(f->bad_srv, 0, count_closed, &closed);
  while (closed < 4) uv_run(&f->loop, UV_RUN_ONCE);
  cohort_rpc_server_free(f->srv);
  cohort_rpc_server_free(f->bad_srv);
  uv_run(&f->loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  return 0;
}

/* ---- unary ------------------------------------------------------------ */

static void on_say(const cohort_rpc_status_t *st, const Example__EchoReply *r, void *ud) {
  fx_t *f = ud;
  if (r != NULL) record_text(f, r);
  record_status(f, st);
}

static void test_unary(void **state) {
  fx_t *f = *state;
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = "abc";
  assert_int_equal(example_echo_say(f->ch, &req, NULL, on_say, f), 0);
  assert_false(f->done); /* never from inside the starting call */
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_OK);
  assert_int_equal(f->n_texts, 1);
  assert_string_equal(f->texts[0], "abc");
}

static void test_unary_blocking(void **state) {
  fx_t *f = *state;
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = "blocking";
  cohort_rpc_result_t result;
  Example__EchoReply *reply = NULL;
  assert_int_equal(example_echo_say_blocking(f->ch, &req, NULL, &result, &reply), 0);
  assert_int_equal(result.code, COHORT_RPC_OK);
  assert_non_null(reply);
  assert_string_equal(reply->text, "blocking");
  example__echo_reply__free_unpacked(reply, NULL);
  cohort_rpc_result_free(&result);
}

/* The natural client loop: the next call starts from the completion
 * callback of the previous one, on the same channel. */
typedef struct chain {
  fx_t *f;
  int left;
} chain_t;

static void on_chain(const cohort_rpc_status_t *st, const Example__EchoReply *r, void *ud) {
  chain_t *c = ud;
  assert_int_equal(st->code, COHORT_RPC_OK);
  assert_string_equal(r->text, "chain");
  if (--c->left == 0) {
    c->f->done = 1;
    return;
  }
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = "chain";
  assert_int_equal(example_echo_say(c->f->ch, &req, NULL, on_chain, c), 0);
}

static void test_unary_chained(void **state) {
  fx_t *f = *state;
  chain_t chain = {f, 5000};
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = "chain";
  assert_int_equal(example_echo_say(f->ch, &req, NULL, on_chain, &chain), 0);
  wait_for(f, &f->done);
  assert_int_equal(chain.left, 0);
}

/* A response that does not parse is INTERNAL for the stub's caller. */
static void test_unary_bad_response(void **state) {
  fx_t *f = *state;
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = "x";
  assert_int_equal(example_echo_say(f->bad_ch, &req, NULL, on_say, f), 0);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_INTERNAL);
  assert_string_equal(f->message, "cannot parse the response message");
  assert_int_equal(f->n_texts, 0);
  /* The blocking form says the same, and gives no response. */
  cohort_rpc_result_t result;
  Example__EchoReply *reply = (void *)&result;
  assert_int_equal(example_echo_say_blocking(f->bad_ch, &req, NULL, &result, &reply), 0);
  assert_int_equal(result.code, COHORT_RPC_INTERNAL);
  assert_null(reply);
  cohort_rpc_result_free(&result);
}

static void on_raw(const cohort_rpc_status_t *st, const uint8_t *data, size_t len, void *ud) {
  (void)data;
  (void)len;
  record_status(ud, st);
}

/* A request that does not parse is INTERNAL from the server's stub; a
 * method the server lacks is UNIMPLEMENTED. */
static void test_bad_request_and_unimplemented(void **state) {
  fx_t *f = *state;
  static const uint8_t bad[] = {0xff, 0xff, 0xff};
  assert_int_equal(cohort_rpc_unary(f->ch, EXAMPLE_ECHO_SAY_PATH, bad, sizeof bad, NULL,
                                    on_raw, f),
                   0);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_INTERNAL);
  assert_string_equal(f->message, "cannot parse the request message");
  f->done = 0;
  assert_int_equal(cohort_rpc_unary(f->bad_ch, EXAMPLE_ECHO_REPEAT_PATH, "", 0, NULL, on_raw, f),
                   0);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_UNIMPLEMENTED);
}

/* ---- streams ---------------------------------------------------------- */

static void on_reply(cohort_rpc_call_t *call, const Example__EchoReply *r, void *ud) {
  (void)call;
  record_text(ud, r);
}

static void on_status(cohort_rpc_call_t *call, const cohort_rpc_status_t *st, void *ud) {
  (void)call;
  record_status(ud, st);
}

static void test_server_streaming(void **state) {
  fx_t *f = *state;
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = "again";
  req.times = 5;
  example_echo_repeat_callbacks_t cb = {.on_message = on_reply, .on_status = on_status};
  cohort_rpc_call_t *call = NULL;
  assert_int_equal(example_echo_repeat_start(f->ch, &req, NULL, &cb, f, &call), 0);
  assert_non_null(call);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_OK);
  assert_int_equal(f->n_texts, 5);
  for (int i = 0; i < 5; i++) {
    assert_string_equal(f->texts[i], "again");
    assert_int_equal(f->indexes[i], i);
  }
}

static void send_texts(cohort_rpc_call_t *call, const char *const *texts, size_t n,
                       int (*send)(cohort_rpc_call_t *, const Example__EchoRequest *)) {
  for (size_t i = 0; i < n; i++) {
    Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
    req.text = (char *)texts[i];
    req.times = (uint32_t)i;
    assert_int_equal(send(call, &req), 0);
  }
  assert_int_equal(cohort_rpc_call_close_send(call), 0);
}

static void test_client_streaming(void **state) {
  fx_t *f = *state;
  static const char *const words[] = {"a", "b", "c"};
  example_echo_join_callbacks_t cb = {.on_message = on_reply, .on_status = on_status};
  cohort_rpc_call_t *call = NULL;
  assert_int_equal(example_echo_join_start(f->ch, NULL, &cb, f, &call), 0);
  send_texts(call, words, 3, example_echo_join_send_request);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_OK);
  assert_int_equal(f->n_texts, 1);
  assert_string_equal(f->texts[0], "a b c");
}

/* The handler's own error status reaches the caller unchanged. */
static void test_client_streaming_error_status(void **state) {
  fx_t *f = *state;
  static char big[ECHO_JOIN_MAX];
  memset(big, 'x', sizeof big - 1);
  const char *const texts[] = {big, big};
  example_echo_join_callbacks_t cb = {.on_message = on_reply, .on_status = on_status};
  cohort_rpc_call_t *call = NULL;
  assert_int_equal(example_echo_join_start(f->ch, NULL, &cb, f, &call), 0);
  send_texts(call, texts, 2, example_echo_join_send_request);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_RESOURCE_EXHAUSTED);
  assert_string_equal(f->message, "joined text too long");
  assert_int_equal(f->n_texts, 0);
}

static void test_bidi(void **state) {
  fx_t *f = *state;
  static const char *const words[] = {"one", "two", "three"};
  example_echo_shout_callbacks_t cb = {.on_message = on_reply, .on_status = on_status};
  cohort_rpc_call_t *call = NULL;
  assert_int_equal(example_echo_shout_start(f->ch, NULL, &cb, f, &call), 0);
  send_texts(call, words, 3, example_echo_shout_send_request);
  wait_for(f, &f->done);
  assert_int_equal(f->code, COHORT_RPC_OK);
  assert_int_equal(f->n_texts, 3);
  assert_string_equal(f->texts[0], "ONE");
  assert_string_equal(f->texts[1], "TWO");
  assert_string_equal(f->texts[2], "THREE");
  assert_int_equal(f->indexes[2], 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_unary, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unary_blocking, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unary_chained, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unary_bad_response, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_request_and_unimplemented, setup, teardown),
      cmocka_unit_test_setup_teardown(test_server_streaming, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_streaming, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_streaming_error_status, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bidi, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
