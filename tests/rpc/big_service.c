/*
 * tests/rpc/big_service.c — the large-message test service (big_service.h).
 * Responses are written in place with send_reserve; a send that meets a
 * full queue (COHORT_EFULL) is retried from on_ready, so every pattern
 * really goes through the send-side backpressure path.
 */
#include "big_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define OWED_MAX 64

typedef struct big_state {
  uint32_t size;     /* Fan: size of each response */
  uint32_t left;     /* Fan: responses still to send */
  uint32_t next;     /* index of the next request (Last, Bidi) or response */
  uint32_t owed_size[OWED_MAX]; /* Bidi: responses owed (size; index = sent) */
  uint32_t owed, sent;
  bool half_closed;
  bool bad;
} big_state_t;

static int active;
static char last_status[160]; /* message of the last big_call's status */

const char *big_last_status(void) { return last_status; }

int big_active(void) { return active; }

void big_fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((i % 251) * 7 + seed);
}

bool big_check(const uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (uint8_t)((i % 251) * 7 + seed)) return false;
  return true;
}

/* Queue one patterned message; false when the queue is full (retry later). */
static bool send_pattern(cohort_rpc_call_t *call, uint32_t size, uint32_t seed, int *err) {
  int rc = 0;
  uint8_t *p = cohort_rpc_call_send_reserve(call, size, &rc);
  if (!p) {
    *err = rc == COHORT_EFULL ? 0 : rc;
    return false;
  }
  big_fill(p, size, seed);
  cohort_rpc_call_send_commit(call);
  *err = 0;
  return true;
}

static void big_end(cohort_rpc_call_t *call, cohort_rpc_code_t code, const char *msg) {
  free(cohort_rpc_call_data(call));
  cohort_rpc_call_set_data(call, NULL);
  active--;
  cohort_rpc_call_finish(call, code, msg);
}

static big_state_t *state_new(cohort_rpc_call_t *call) {
  big_state_t *s = calloc(1, sizeof *s);
  if (!s) abort();
  cohort_rpc_call_set_data(call, s);
  active++;
  return s;
}

static void echo(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  cohort_rpc_call_reply(call, d, n);
}

/* Fan and Bidi: send what is owed until the queue fills; finish when done. */
static void pump(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  big_state_t *s = cohort_rpc_call_data(call);
  int err = 0;
  while (s->left > 0 && send_pattern(call, s->size, s->next, &err)) {
    s->left--;
    s->next++;
  }
  while (s->sent < s->owed && send_pattern(call, s->owed_size[s->sent % OWED_MAX], s->sent, &err))
    s->sent++;
  if (err) {
    big_end(call, COHORT_RPC_INTERNAL, "send failed");
    return;
  }
  if (s->left == 0 && s->sent == s->owed && (s->half_closed || s->size))
    big_end(call, COHORT_RPC_OK, NULL);
}

static void fan(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  if (n != 8) {
    cohort_rpc_call_finish(call, COHORT_RPC_INVALID_ARGUMENT, "want count, size");
    return;
  }
  big_state_t *s = state_new(call);
  s->left = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
  s->size = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
  if (s->size == 0) s->size = 1;
  pump(call, ud);
}

static void st_start(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  state_new(call);
}

static void last_message(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  big_state_t *s = cohort_rpc_call_data(call);
  if (!big_check(d, n, s->next++)) s->bad = true;
  s->size = (uint32_t)n;
}

static void last_half_close(cohort_rpc_call_t *call, void *ud) {
  (void)ud;
  big_state_t *s = cohort_rpc_call_data(call);
  if (s->bad || s->next == 0) {
    big_end(call, COHORT_RPC_DATA_LOSS, s->bad ? "request pattern mismatch" : "no request");
    return;
  }
  s->left = 1;
  s->next--; /* answer the last request: same size, same index */
  s->half_closed = true;
  pump(call, ud);
}

static void bidi_message(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  big_state_t *s = cohort_rpc_call_data(call);
  if (!big_check(d, n, s->next++) || s->owed - s->sent >= OWED_MAX) {
    big_end(call, COHORT_RPC_DATA_LOSS, "request pattern mismatch or too many owed");
    return;
  }
  s->owed_size[s->owed % OWED_MAX] = (uint32_t)n;
  s->owed++;
  pump(call, ud);
}

static void bidi_half_close(cohort_rpc_call_t *call, void *ud) {
  big_state_t *s = cohort_rpc_call_data(call);
  s->half_closed = true;
  pump(call, ud);
}

static void on_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)why, (void)ud;
  if (cohort_rpc_call_data(call))
    big_end(call, COHORT_RPC_CANCELLED, NULL);
  else
    cohort_rpc_call_finish(call, COHORT_RPC_CANCELLED, NULL);
}

void big_register(cohort_rpc_server_t *srv) {
  cohort_rpc_handler_t h_echo = {.kind = COHORT_RPC_UNARY, .on_request = echo,
                                 .on_cancel = on_cancel};
  cohort_rpc_handler_t h_fan = {.kind = COHORT_RPC_SERVER_STREAMING, .on_request = fan,
                                .on_ready = pump, .on_cancel = on_cancel};
  cohort_rpc_handler_t h_last = {.kind = COHORT_RPC_CLIENT_STREAMING, .on_start = st_start,
                                 .on_message = last_message, .on_half_close = last_half_close,
                                 .on_ready = pump, .on_cancel = on_cancel};
  cohort_rpc_handler_t h_bidi = {.kind = COHORT_RPC_BIDI_STREAMING, .on_start = st_start,
                                 .on_message = bidi_message, .on_half_close = bidi_half_close,
                                 .on_ready = pump, .on_cancel = on_cancel};
  if (cohort_rpc_server_register(srv, "/big.B/Echo", &h_echo) ||
      cohort_rpc_server_register(srv, "/big.B/Fan", &h_fan) ||
      cohort_rpc_server_register(srv, "/big.B/Last", &h_last) ||
      cohort_rpc_server_register(srv, "/big.B/Bidi", &h_bidi))
    abort();
}

/* ---- client driver ------------------------------------------------------------ */

typedef struct big_call {
  cohort_rpc_call_t *call;
  uint32_t count, size; /* requests to send */
  uint32_t sent, got, expect, first_seed;
  bool bad;
  int done;
  cohort_rpc_code_t code;
  char msg[160];
} big_call_t;

static void send_more(big_call_t *b) {
  int err = 0;
  while (b->sent < b->count && send_pattern(b->call, b->size, b->sent, &err)) b->sent++;
  if (err) b->bad = true;
  if (b->sent == b->count) cohort_rpc_call_close_send(b->call);
}

static void b_ready(cohort_rpc_call_t *c, void *ud) {
  (void)c;
  send_more(ud);
}

static void b_message(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  (void)c;
  big_call_t *b = ud;
  if (n != b->size || !big_check(d, n, b->first_seed + b->got)) b->bad = true;
  b->got++;
}

static void b_status(cohort_rpc_call_t *c, const cohort_rpc_status_t *st,
                     const cohort_rpc_metadata_t *tr, size_t n, void *ud) {
  (void)c, (void)tr, (void)n;
  big_call_t *b = ud;
  b->code = st->code;
  snprintf(b->msg, sizeof b->msg, "%s", st->message);
  b->done = 1;
}

static void tick_cb(uv_timer_t *t) { (void)t; }

void big_run_until(uv_loop_t *loop, int *flag, int64_t max_ms) {
  int64_t end = cohort_rpc_now_ns() + max_ms * COHORT_NS_PER_MS;
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, tick_cb, 5, 5);
  while (!*flag && cohort_rpc_now_ns() < end) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

cohort_rpc_code_t big_call(uv_loop_t *loop, cohort_rpc_channel_t *ch, const char *path,
                           uint32_t count, uint32_t size, bool *bad) {
  big_call_t b = {.count = count, .size = size};
  bool last = strstr(path, "Last") != NULL;
  b.expect = last ? 1 : count;
  b.first_seed = last ? count - 1 : 0;
  cohort_rpc_call_callbacks_t cb = {.on_message = b_message, .on_ready = b_ready,
                                    .on_status = b_status};
  cohort_rpc_call_options_t o = {.timeout_ns = 30 * COHORT_NS_PER_S};
  if (cohort_rpc_call_start(ch, path, &o, &cb, &b, &b.call) != 0) abort();
  int64_t t0 = cohort_rpc_now_ns();
  if (strstr(path, "Fan")) {
    uint8_t req[8];
    put_u32(req, count);
    put_u32(req + 4, size);
    if (cohort_rpc_call_send(b.call, req, sizeof req) != 0) abort();
    cohort_rpc_call_close_send(b.call);
  } else {
    send_more(&b);
  }
  big_run_until(loop, &b.done, 40000);
  if (!b.done) abort(); /* the 30 s deadline must have ended it */
  double secs = (double)(cohort_rpc_now_ns() - t0) / 1e9;
  fprintf(stderr, "  %-12s %u x %8u B: %-18s %.3f s %s\n", path, count, size,
          cohort_rpc_code_name(b.code), secs, b.msg);
  if (b.code == COHORT_RPC_OK && b.got != b.expect) b.bad = true;
  snprintf(last_status, sizeof last_status, "%s", b.msg);
  *bad = b.bad;
  return b.code;
}

int big_four(uv_loop_t *loop, cohort_rpc_channel_t *ch, uint32_t size, cohort_rpc_code_t code) {
  static const char *const paths[] = {"/big.B/Echo", "/big.B/Fan", "/big.B/Last", "/big.B/Bidi"};
  int rc = 0;
  for (size_t i = 0; i < 4; i++) {
    bool bad = false;
    cohort_rpc_code_t got = big_call(loop, ch, paths[i], i == 0 ? 1 : 3, size, &bad);
    if (got != code || bad) {
      fprintf(stderr, "  %s at %u B: want %s, got %s%s\n", paths[i], size,
              cohort_rpc_code_name(code), cohort_rpc_code_name(got), bad ? " (bad data)" : "");
      rc = -1;
    }
  }
  if (active != 0) {
    fprintf(stderr, "  %d big_service calls still running\n", active);
    rc = -1;
  }
  return rc;
}
