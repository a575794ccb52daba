/*
 * examples/echo/echo_service.c — the handlers of example.Echo, one per
 * gRPC call pattern, written against the skeleton protoc-gen-cohort made
 * from echo.proto (echo.cohort.h).
 *
 * Ownership, the rule of every handler here: a request message passed to
 * a handler is borrowed (the stub frees it when the handler returns), so
 * anything kept past the return is copied — Join copies the texts into
 * its own buffer. A response passed to *_reply / *_send_response is
 * packed at once, so it can live on the stack. Every call is finished
 * exactly once, also after on_cancel.
 */
#include "echo_service.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- Say (unary) ---------------------------------------------------- */

static void say(cohort_rpc_call_t *call, const Example__EchoRequest *req, void *ud) {
  (void)ud;
  Example__EchoReply reply = EXAMPLE__ECHO_REPLY__INIT;
  reply.text = req->text; /* borrowed from req, packed before we return */
  example_echo_say_reply(call, &reply);
}

/* ---- Repeat (server streaming) -------------------------------------- */

static void repeat(cohort_rpc_call_t *call, const Example__EchoRequest *req, void *ud) {
  (void)ud;
  uint32_t times = req->times > ECHO_REPEAT_MAX ? ECHO_REPEAT_MAX : req->times;
  Example__EchoReply reply = EXAMPLE__ECHO_REPLY__INIT;
  reply.text = req->text;
  for (uint32_t i = 0; i < times; i++) {
    reply.index = i;
    /* 100 small replies fit the send queue; a real server streaming more
     * would stop on COHORT_EFULL and continue from on_ready. */
    if (example_echo_repeat_send_response(call, &reply) != 0) {
      cohort_rpc_call_finish(call, COHORT_RPC_RESOURCE_EXHAUSTED, "send queue full");
      return;
    }
  }
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}

/* ---- Join (client streaming) ---------------------------------------- */

/* Per-call state, kept in the call's data slot from on_start until the
 * call is finished. */
typedef struct join_state {
  size_t len;
  char text[ECHO_JOIN_MAX + 1];
} join_state_t;

static void join_start(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  join_state_t *st = calloc(1, sizeof *st); /* NULL is handled below */
  cohort_rpc_call_set_data(call, st);
}

/* Frees the call's state and finishes it; the call is gone afterwards. */
static void join_finish(cohort_rpc_call_t *call, cohort_rpc_code_t code, const char *why) {
  free(cohort_rpc_call_data(call));
  cohort_rpc_call_set_data(call, NULL);
  cohort_rpc_call_finish(call, code, why);
}

static void join_message(cohort_rpc_call_t *call, const Example__EchoRequest *req, void *ud) {
  (void)ud;
  join_state_t *st = cohort_rpc_call_data(call);
  /* Out of memory at on_start, or already too long: answered at half-close. */
  if (st == NULL || st->len == SIZE_MAX) return;
  size_t n = strlen(req->text), sep = st->len > 0;
  if (st->len + sep + n > ECHO_JOIN_MAX) {
    st->len = SIZE_MAX;
    return;
  }
  if (sep) st->text[st->len++] = ' ';
  memcpy(st->text + st->len, req->text, n + 1); /* copied: req is borrowed */
  st->len += n;
}

static void join_half_close(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  join_state_t *st = cohort_rpc_call_data(call);
  if (st == NULL) {
    join_finish(call, COHORT_RPC_RESOURCE_EXHAUSTED, "out of memory");
  } else if (st->len == SIZE_MAX) {
    join_finish(call, COHORT_RPC_RESOURCE_EXHAUSTED, "joined text too long");
  } else {
    Example__EchoReply reply = EXAMPLE__ECHO_REPLY__INIT;
    reply.text = st->text;
    example_echo_join_reply(call, &reply); /* packs, then finishes the call */
    free(st);
  }
}

static void join_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)ud;
  join_finish(call, why, NULL); /* must finish even a cancelled call */
}

/* ---- Shout (bidirectional streaming) -------------------------------- */

static void shout_message(cohort_rpc_call_t *call, const Example__EchoRequest *req, void *ud) {
  (void)ud;
  char loud[256];
  size_t n = strlen(req->text);
  if (n >= sizeof loud) n = sizeof loud - 1;
  for (size_t i = 0; i < n; i++) loud[i] = (char)toupper((unsigned char)req->text[i]);
  loud[n] = '\0';
  Example__EchoReply reply = EXAMPLE__ECHO_REPLY__INIT;
  reply.text = loud; /* on the stack: packed before send_response returns */
  reply.index = req->times;
  example_echo_shout_send_response(call, &reply);
}

static void shout_half_close(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}

static void shout_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)ud;
  cohort_rpc_call_finish(call, why, NULL);
}

/* The skeleton is borrowed by the server until cohort_rpc_server_free():
 * a static table satisfies that trivially. */
static const example_echo_server_t echo_impl = {
    .say = {.on_request = say},
    .repeat = {.on_request = repeat},
    .join = {.on_start = join_start,
             .on_message = join_message,
             .on_half_close = join_half_close,
             .on_cancel = join_cancel},
    .shout = {.on_message = shout_message,
              .on_half_close = shout_half_close,
              .on_cancel = shout_cancel},
};

int echo_service_register(cohort_rpc_server_t *srv) {
  return example_echo_register(srv, &echo_impl);
}
