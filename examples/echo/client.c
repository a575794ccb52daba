/*
 * examples/echo/client.c — the example's client: one call of each gRPC
 * pattern against echo_server, in the order the README explains them.
 *
 *   usage: echo_client [HOST:PORT] [TEXT]   (default 127.0.0.1:50051 hello)
 *
 * 1. Say, blocking:      the simplest call; runs the loop until done.
 * 2. Say, asynchronous:  a callback gets the reply.
 * 3. Repeat:             one request, a stream of replies.
 * 4. Join:               a stream of requests, one reply.
 * 5. Shout:              both directions stream.
 * Exits 0 when every call returned OK with the expected replies.
 *
 * Ownership: requests are built on the stack (the stubs pack them before
 * returning); replies handed to callbacks are borrowed and printed, never
 * kept; the blocking reply is ours and freed with ..._free_unpacked().
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "echo.cohort.h"

typedef struct client {
  uv_loop_t loop;
  cohort_rpc_channel_t *ch;
  int pending; /* asynchronous calls not yet over */
  int failed;
} client_t;

static void check_status(client_t *c, const char *what, const cohort_rpc_status_t *st) {
  printf("%-7s status %s%s%s\n", what, cohort_rpc_code_name(st->code),
         st->message[0] ? ": " : "", st->message);
  if (st->code != COHORT_RPC_OK) c->failed = 1;
  c->pending--;
}

/* 1. Say, blocking. */
static void say_blocking(client_t *c, const char *text) {
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = (char *)text; /* protobuf-c's fields are not const */
  cohort_rpc_result_t result;
  Example__EchoReply *reply = NULL;
  int rc = example_echo_say_blocking(c->ch, &req, NULL, &result, &reply);
  if (rc != 0) { /* the call never started: nothing to free */
    printf("say     cannot call: %s\n", cohort_strerror(rc));
    c->failed = 1;
    return;
  }
  if (result.code == COHORT_RPC_OK) {
    printf("say     (blocking) reply \"%s\"\n", reply->text);
    example__echo_reply__free_unpacked(reply, NULL); /* ours: free it */
  } else {
    printf("say     (blocking) failed: %s %s (%s)\n", cohort_rpc_code_name(result.code),
           result.message, cohort_rpc_channel_last_error(c->ch));
    c->failed = 1;
  }
  cohort_rpc_result_free(&result); /* always, after a 0 return */
}

/* 2. Say, asynchronous: `reply` is borrowed, NULL unless status is OK. */
static void on_say(const cohort_rpc_status_t *st, const Example__EchoReply *reply, void *ud) {
  if (reply != NULL) printf("say     (async) reply \"%s\"\n", reply->text);
  check_status(ud, "say", st);
}

/* 3. Repeat: one reply per on_message, then on_status. */
static void on_repeat_reply(cohort_rpc_call_t *call, const Example__EchoReply *reply,
                            void *ud) {
  (void)call;
  (void)ud;
  printf("repeat  reply %u \"%s\"\n", reply->index, reply->text);
}

static void on_repeat_status(cohort_rpc_call_t *call, const cohort_rpc_status_t *st, void *ud) {
  (void)call;
  check_status(ud, "repeat", st);
}

/* 4. Join and 5. Shout share their callbacks' shape. */
static void on_stream_reply(cohort_rpc_call_t *call, const Example__EchoReply *reply,
                            void *ud) {
  (void)call;
  (void)ud;
  printf("stream  reply \"%s\"\n", reply->text);
}

static void on_join_status(cohort_rpc_call_t *call, const cohort_rpc_status_t *st, void *ud) {
  (void)call;
  check_status(ud, "join", st);
}

static void on_shout_status(cohort_rpc_call_t *call, const cohort_rpc_status_t *st, void *ud) {
  (void)call;
  check_status(ud, "shout", st);
}

/* Sends the words of a sentence as separate requests, then half-closes. */
static void send_words(client_t *c, cohort_rpc_call_t *call,
                       int (*send)(cohort_rpc_call_t *, const Example__EchoRequest *)) {
  static const char *const words[] = {"one", "two", "three"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
    req.text = (char *)words[i];
    req.times = (uint32_t)i;
    if (send(call, &req) != 0) c->failed = 1;
  }
  cohort_rpc_call_close_send(call);
}

static void start_async_calls(client_t *c, const char *text) {
  Example__EchoRequest req = EXAMPLE__ECHO_REQUEST__INIT;
  req.text = (char *)text;
  req.times = 3;
  cohort_rpc_call_t *call = NULL;
  /* Each start either returns 0 and its status callback will run, or
   * returns an error and nothing runs: count only what started. */
  if (example_echo_say(c->ch, &req, NULL, on_say, c) == 0) c->pending++;
  example_echo_repeat_callbacks_t rcb = {.on_message = on_repeat_reply,
                                         .on_status = on_repeat_status};
  if (example_echo_repeat_start(c->ch, &req, NULL, &rcb, c, NULL) == 0) c->pending++;
  example_echo_join_callbacks_t jcb = {.on_message = on_stream_reply,
                                       .on_status = on_join_status};
  if (example_echo_join_start(c->ch, NULL, &jcb, c, &call) == 0) {
    c->pending++;
    send_words(c, call, example_echo_join_send_request);
  }
  example_echo_shout_callbacks_t scb = {.on_message = on_stream_reply,
                                        .on_status = on_shout_status};
  if (example_echo_shout_start(c->ch, NULL, &scb, c, &call) == 0) {
    c->pending++;
    send_words(c, call, example_echo_shout_send_request);
  }
  if (c->pending != 4) c->failed = 1;
}

static void on_closed(void *ud) { (void)ud; }

int main(int argc, char **argv) {
  const char *target = argc > 1 ? argv[1] : "127.0.0.1:50051";
  const char *text = argc > 2 ? argv[2] : "hello";
  static client_t c;
  uv_loop_init(&c.loop);
  /* A channel connects lazily, on its first call; NULL config: h2c. */
  int rc = cohort_rpc_channel_create(&c.loop, target, NULL, &c.ch);
  if (rc != 0) {
    fprintf(stderr, "echo_client: bad target %s: %s\n", target, cohort_strerror(rc));
    return 2;
  }
  say_blocking(&c, text);
  if (!c.failed) {
    start_async_calls(&c, text);
    while (c.pending > 0) uv_run(&c.loop, UV_RUN_ONCE);
  }
  cohort_rpc_channel_close(c.ch, on_closed, NULL);
  uv_run(&c.loop, UV_RUN_DEFAULT); /* until the channel is closed */
  uv_loop_close(&c.loop);
  printf("%s\n", c.failed ? "FAILED" : "all calls OK");
  return c.failed ? 1 : 0;
}
