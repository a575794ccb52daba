/*
 * tests/rpc/test_rpc_sim.c — cohort's RPC client and server connection
 * cores joined by the simulated byte stream (src/rpc/sim/stream.c) in
 * virtual time, swept over seeds: latency, jitter, bandwidth, short writes
 * and reads, stalls and (in some seeds) a reset. No socket, no libuv loop
 * run, no clock: the test is the host, as io.c is for real sockets, and
 * follows the same flush rule (produce at most COHORT_RPC_CONN_WRITE_MAX
 * per flush, come back while the core says more_out).
 *
 * Each seed runs a random mix of unary echoes (0 B .. the maximum + 1) and
 * bidi streams through the big.B service, some with deadlines, some held
 * by the server until their deadline (the hosts' clock is the virtual
 * one; the cores' deadline and keepalive ticks are driven by the test);
 * every call is recorded as rpc_start (with its deadline) / rpc_done trace
 * events and the trace is judged by the `rpc-once` checker (no call
 * completes twice, none stalls, none ends past its deadline); responses are
 * checked byte for byte and the status must be the expected one unless the
 * stream was reset. A second sweep runs the host with the flush rule of
 * before issue 12 (no flush again after a write that completed at once)
 * and must be caught by the checker: the sweep finds that defect.
 *
 *   COHORT_RPC_SIM_SEEDS=N   seeds to sweep (default 24)
 *   COHORT_RPC_SIM_SEED=S    replay one seed, verbosely
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/rpc/host.h" /* a host: libuv loop and the internals */
#include "../../src/rpc/sim/stream.h"
#include "big_service.h"
#include "cohort/check.h"
#include "cohort/trace.h"
#include "../support/failalloc.h"

#define MAX_CALLS 8
#define MAXMSG ((uint32_t)COHORT_RPC_MESSAGE_MAX)

typedef struct sim_call {
  int id;
  bool bidi, hold;
  int64_t timeout_ns;
  uint32_t count, size, sent, got;
  int statuses;
  bool bad;
  cohort_rpc_code_t code, want;
  cohort_rpc_call_t *call;
  struct sim *sim;
} sim_call_t;

typedef struct side {
  rpc_conn_t *conn;
  rpc_bytes_t out;
} side_t;

typedef struct sim {
  uv_loop_t loop; /* for object creation only: never run while simulating */
  failalloc_t fa;
  cohort_rpc_server_t *srv;
  cohort_rpc_channel_t *ch;
  side_t side[2]; /* 0: client, 1: server; side i writes direction i */
  rpc_sim_stream_t net;
  int64_t now;
  bool old_flush; /* the host flush rule before issue 12 */
  sim_call_t calls[MAX_CALLS];
  int ncalls, done;
  cohort_trace_t trace;
  bool verbose;
} sim_t;

/* The hosts' clock (rpc_host_t.clock) reads virtual time. */
static int64_t sim_now_ns;
static int64_t sim_clock(void) { return sim_now_ns; }

/* /t.S/Hold never answers: only its deadline (or a reset) ends it. */
static void hold_request(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)call, (void)d, (void)n, (void)ud;
}
static void hold_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  (void)why, (void)ud;
  cohort_rpc_call_finish(call, COHORT_RPC_CANCELLED, NULL);
}

/* ---- trace ------------------------------------------------------------------------- */

static void trace_state(sim_t *s, const char *what, const char *data) {
  cohort_trace_event_t ev = {.type = COHORT_EV_STATE, .node = 1, .inc = 1, .local_ns = s->now,
                             .true_ns = s->now, .proto = "rpc", .what = what,
                             .data_json = data, .peer = COHORT_NODE_NONE};
  char line[512];
  int n = cohort_trace_format(&ev, line, sizeof line);
  assert_true(n > 0);
  char err[128];
  assert_int_equal(cohort_trace_parse_line(&s->trace, line, (size_t)n, s->trace.len + 1, err,
                                           sizeof err), 0);
}

/* ---- client calls ------------------------------------------------------------------- */

static void send_more(sim_call_t *c) {
  while (c->sent < c->count) {
    int rc = 0;
    uint8_t *p = cohort_rpc_call_send_reserve(c->call, c->size, &rc);
    if (!p) {
      if (rc != COHORT_EFULL && rc != COHORT_ECANCELED) c->bad = true;
      return;
    }
    big_fill(p, c->size, c->sent);
    cohort_rpc_call_send_commit(c->call);
    c->sent++;
  }
  cohort_rpc_call_close_send(c->call);
}

static void on_ready(cohort_rpc_call_t *call, void *ud) {
  (void)call;
  send_more(ud);
}

static void on_message(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)call;
  sim_call_t *c = ud;
  if (n != c->size || !big_check(d, n, c->got)) c->bad = true;
  c->got++;
}

static void on_status(cohort_rpc_call_t *call, const cohort_rpc_status_t *st,
                      const cohort_rpc_metadata_t *tr, size_t n, void *ud) {
  (void)call, (void)tr, (void)n;
  sim_call_t *c = ud;
  c->statuses++;
  c->code = st->code;
  c->sim->done++;
  char data[96];
  snprintf(data, sizeof data, "{\"call\":%d,\"code\":%d}", c->id, (int)st->code);
  trace_state(c->sim, "rpc_done", data);
  if (c->sim->verbose)
    fprintf(stderr, "  %.3f s call %d (%s %u x %u B): %s %s\n", (double)c->sim->now / 1e9, c->id,
            c->bidi ? "bidi" : "unary", c->count, c->size, cohort_rpc_code_name(st->code),
            st->message);
}

static void start_call(sim_t *s, sim_call_t *c) {
  cohort_rpc_call_callbacks_t cb = {.on_message = on_message, .on_ready = on_ready,
                                    .on_status = on_status};
  c->sim = s;
  const char *path = c->hold ? "/t.S/Hold" : c->bidi ? "/big.B/Bidi" : "/big.B/Echo";
  cohort_rpc_call_options_t o = {.timeout_ns = c->timeout_ns};
  assert_int_equal(cohort_rpc_call_start(s->ch, path, &o, &cb, c, &c->call), 0);
  char data[96];
  if (c->timeout_ns)
    snprintf(data, sizeof data, "{\"call\":%d,\"deadline_ns\":%lld}", c->id,
             (long long)cohort_rpc_call_deadline(c->call));
  else
    snprintf(data, sizeof data, "{\"call\":%d}", c->id);
  trace_state(s, "rpc_start", data);
  send_more(c);
}

/* ---- the host: flushes and reads, in virtual time ---------------------------------- */

/* Write what side i has produced; produce more under the flush rule.
 * Returns whether any byte moved. */
static bool flush(sim_t *s, int i) {
  side_t *sd = &s->side[i];
  bool moved = false;
  for (int round = 0; round < 64; round++) {
    if (sd->out.len == 0) {
      if (rpc_conn_produce(sd->conn, &sd->out, COHORT_RPC_CONN_WRITE_MAX) != 0) return moved;
      if (sd->out.len == 0) return moved;
    }
    size_t off = 0;
    for (int w = 0; w < 4 && off < sd->out.len; w++)
      off += rpc_sim_stream_write(&s->net, i, sd->out.data + off, sd->out.len - off, s->now);
    moved |= off > 0;
    memmove(sd->out.data, sd->out.data + off, sd->out.len - off);
    sd->out.len -= off;
    bool at_once = off > 0 && sd->out.len == 0; /* try_write took it all */
    if (sd->out.len > 0) return moved;         /* a write in flight: next step */
    /* All written. Today's rule: produce again while the core has more.
     * Before issue 12: a write that completed at once was the end of it
     * until the peer's next frame. */
    if (!sd->conn->more_out || (s->old_flush && at_once)) return moved;
  }
  return moved;
}

static bool input(sim_t *s, int i) {
  uint8_t buf[65536];
  bool moved = false;
  size_t n;
  while ((n = rpc_sim_stream_read(&s->net, 1 - i, buf, sizeof buf, s->now)) > 0) {
    moved = true;
    if (rpc_conn_feed(s->side[i].conn, s->now, buf, n) != 0) break;
  }
  return moved;
}

/* The connection died (reset): both cores tear down, calls end. */
static void reset_both(sim_t *s) {
  rpc_conn_teardown(s->side[0].conn, "simulated connection reset");
  rpc_conn_teardown(s->side[1].conn, "simulated connection reset");
}

/* Event-driven like io.c: a side flushes when bytes came in, when a write
 * of it is still in flight, or when the core asked for a flush
 * (rpc_conn_dirty: a call sent or finished). */
static bool wants_flush(sim_t *s, int i, bool fed) {
  rpc_conn_t *c = s->side[i].conn;
  bool dirty = c->dirty;
  if (dirty) {
    rpc_list_remove(&c->dirty_link);
    c->dirty = false;
  }
  return fed || dirty || s->side[i].out.len > 0;
}

static void run(sim_t *s, int64_t until) {
  bool torn = false;
  while (s->done < s->ncalls && s->now < until) {
    bool moved = false, fed[2];
    for (int i = 0; i < 2; i++) moved |= fed[i] = input(s, i);
    for (int i = 0; i < 2; i++)
      if (wants_flush(s, i, fed[i])) moved |= flush(s, i);
    if (s->net.reset && !torn) {
      torn = true;
      reset_both(s);
      continue;
    }
    int64_t tick = COHORT_TIME_NEVER; /* deadlines and keepalive of both cores */
    for (int i = 0; i < 2; i++) rpc_conn_tick(s->side[i].conn, s->now, &tick);
    if (moved) {
      s->now += 1000; /* 1 µs of processing */
      sim_now_ns = s->now;
      continue;
    }
    int64_t next = rpc_sim_stream_next(&s->net);
    if (tick < next) next = tick;
    if (next == COHORT_TIME_NEVER) break; /* nothing in flight, to send or due: stuck */
    s->now = next > s->now ? next : s->now + 1000;
    sim_now_ns = s->now;
  }
}

/* ---- one seed ------------------------------------------------------------------------- */

static uint32_t pick_size(cohort_prng_t *p) {
  static const uint32_t sizes[] = {0, 1, 100, 16383, 16384, 65535, 300000, 1u << 20,
                                   MAXMSG, MAXMSG + 1};
  return sizes[cohort_prng_next(p) % COHORT_ARRAY_LEN(sizes)];
}

static void net_config(cohort_prng_t *p, rpc_sim_stream_config_t *c, uint64_t seed) {
  memset(c, 0, sizeof *c);
  c->latency_ns = (int64_t)(cohort_prng_next(p) % 5000000);
  c->jitter_ns = (int64_t)(cohort_prng_next(p) % 1000000);
  static const uint64_t bw[] = {0, 10000000, 100000000, 1000000000};
  c->bytes_per_s = bw[cohort_prng_next(p) % 4];
  c->write_max = 1 + cohort_prng_next(p) % 131072;
  c->read_max = 1 + cohort_prng_next(p) % 131072;
  c->stall_per_mille = (uint32_t)(cohort_prng_next(p) % 20);
  c->stall_ns = 200000000;
  c->reset_per_million = seed % 8 == 7 ? 20000 : 0; /* 2% of writes: resets do happen */
  c->buffer_max = 256 * 1024 + cohort_prng_next(p) % (2u << 20);
}

static void sim_setup(sim_t *s, uint64_t seed, bool old_flush) {
  memset(s, 0, sizeof *s);
  failalloc_init(&s->fa, 0);
  uv_loop_init(&s->loop);
  s->old_flush = old_flush;
  cohort_trace_init(&s->trace);
  cohort_rpc_server_config_t sc = {.allocator = &s->fa.base, .keepalive_interval_ms = -1};
  assert_int_equal(cohort_rpc_server_create(&s->loop, &sc, &s->srv), 0);
  big_register(s->srv);
  cohort_rpc_handler_t hold = {.kind = COHORT_RPC_UNARY, .on_request = hold_request,
                               .on_cancel = hold_cancel};
  assert_int_equal(cohort_rpc_server_register(s->srv, "/t.S/Hold", &hold), 0);
  sim_now_ns = 0;
  s->srv->host.clock = sim_clock;
  cohort_rpc_channel_config_t cc = {.allocator = &s->fa.base,
                                    .max_send_message_bytes = MAXMSG + 1};
  assert_int_equal(cohort_rpc_channel_create(&s->loop, "127.0.0.1:1", &cc, &s->ch), 0);
  s->ch->host.clock = sim_clock;
  /* Both connection cores, with no transport under them; has_tcp lets
   * them ask for flushes (c->dirty), which this host serves. */
  assert_int_equal(rpc_server_virtual_conn(s->srv, &s->side[1].conn), 0);
  s->side[1].conn->has_tcp = true;
  rpc_conn_t *c = cohort_alloc(&s->fa.base, sizeof *c);
  assert_int_equal(rpc_conn_init(c, &s->ch->host, &s->fa.base, NULL, s->ch, 0), 0);
  c->ready = true;
  c->has_tcp = true;
  rpc_list_push(&s->ch->conns, &c->link);
  s->ch->conn = c;
  s->side[0].conn = c;
  cohort_prng_t p;
  cohort_prng_seed(&p, seed * 2654435761u + 17);
  rpc_sim_stream_config_t nc;
  net_config(&p, &nc, seed);
  rpc_sim_stream_init(&s->net, &nc, seed, &s->fa.base);
  s->ncalls = 2 + (int)(cohort_prng_next(&p) % (MAX_CALLS - 1));
  for (int i = 0; i < s->ncalls; i++) {
    sim_call_t *k = &s->calls[i];
    k->id = i;
    k->bidi = cohort_prng_next(&p) % 3 == 0;
    k->count = k->bidi ? 3 : 1;
    k->size = pick_size(&p);
    if (k->bidi && k->size > (1u << 20)) k->size = 1u << 20;
    k->want = k->size > MAXMSG ? COHORT_RPC_RESOURCE_EXHAUSTED : COHORT_RPC_OK;
    uint64_t r = cohort_prng_next(&p) % 6;
    if (r == 0) { /* held by the server: only the deadline ends it */
      k->hold = true;
      k->bidi = false;
      k->count = 1;
      k->size = 16;
      k->want = COHORT_RPC_DEADLINE_EXCEEDED;
    }
    if (r <= 2) k->timeout_ns = 1000000 + (int64_t)(cohort_prng_next(&p) % 3000000000u);
  }
}

static void sim_teardown(sim_t *s) {
  rpc_conn_t *c = s->side[0].conn;
  rpc_conn_teardown(c, "done");
  rpc_list_remove(&c->link);
  s->ch->conn = NULL;
  cohort_free(&s->fa.base, c);
  rpc_server_virtual_free(s->srv, s->side[1].conn);
  for (int i = 0; i < 2; i++) rpc_bytes_free(&s->side[i].out, &s->fa.base);
  rpc_sim_stream_close(&s->net);
  cohort_rpc_channel_close(s->ch, NULL, NULL);
  cohort_rpc_server_free(s->srv);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&s->loop), 0);
  cohort_trace_close(&s->trace);
  assert_int_equal(s->fa.live, 0);
}

static struct {
  uint64_t resets, calls, bytes, stalls, short_writes, timed, by_code[COHORT_RPC_CODE_COUNT];
  int64_t virtual_ns;
} totals;

/* Runs one seed; returns the checker's violations (0: all good). */
static uint64_t one_seed(uint64_t seed, bool old_flush, bool verbose) {
  sim_t *s = calloc(1, sizeof *s);
  sim_setup(s, seed, old_flush);
  s->verbose = verbose;
  for (int i = 0; i < s->ncalls; i++) start_call(s, &s->calls[i]);
  run(s, 600 * COHORT_NS_PER_S);
  const cohort_checker_t *chk = cohort_checker_find("rpc-once");
  assert_non_null(chk);
  cohort_check_result_t res;
  char err[128];
  cohort_trace_sort(&s->trace);
  assert_int_equal(chk->run(&s->trace, NULL, 0, &res, err, sizeof err), 0);
  bool reset = s->net.reset;
  if (verbose || (res.violations && !old_flush))
    fprintf(stderr, "  seed %llu: %d calls, %.3f s virtual, %llu writes (%llu short), %llu "
                    "stalls%s: %s%s%s\n",
            (unsigned long long)seed, s->ncalls, (double)s->now / 1e9,
            (unsigned long long)s->net.writes, (unsigned long long)s->net.short_writes,
            (unsigned long long)s->net.stalls, reset ? ", reset" : "", res.summary,
            res.violations ? " — " : "", res.violations ? res.first : "");
  if (!old_flush) {
    for (int i = 0; i < s->ncalls; i++) {
      sim_call_t *k = &s->calls[i];
      bool late_ok = k->timeout_ns && k->code == COHORT_RPC_DEADLINE_EXCEEDED;
      if (k->statuses != 1 || k->bad || (!reset && k->code != k->want && !late_ok)) {
        fprintf(stderr, "  seed %llu call %d: %d statuses, %s (want %s)%s; replay: "
                        "COHORT_RPC_SIM_SEED=%llu tests/rpc/test_rpc_sim\n",
                (unsigned long long)seed, i, k->statuses, cohort_rpc_code_name(k->code),
                cohort_rpc_code_name(k->want), k->bad ? ", bad data" : "",
                (unsigned long long)seed);
        res.violations++;
      }
    }
  }
  uint64_t v = res.violations;
  if (!old_flush) {
    totals.resets += reset;
    totals.calls += (uint64_t)s->ncalls;
    totals.bytes += s->net.bytes[0] + s->net.bytes[1];
    totals.stalls += s->net.stalls;
    totals.short_writes += s->net.short_writes;
    totals.virtual_ns += s->now;
    for (int i = 0; i < s->ncalls; i++) {
      totals.by_code[s->calls[i].code]++;
      totals.timed += s->calls[i].timeout_ns != 0;
    }
  }
  sim_teardown(s); /* ends calls left stuck (old flush rule) */
  free(s);
  return v;
}

static uint64_t env_u64(const char *name, uint64_t def) {
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 10) : def;
}

static void test_sweep(void **state) {
  (void)state;
  const char *one = getenv("COHORT_RPC_SIM_SEED");
  if (one && *one) {
    assert_int_equal(one_seed(strtoull(one, NULL, 10), false, true), 0);
    return;
  }
  uint64_t seeds = env_u64("COHORT_RPC_SIM_SEEDS", 24), bad = 0;
  for (uint64_t seed = 1; seed <= seeds; seed++) bad += one_seed(seed, false, false) ? 1 : 0;
  fprintf(stderr, "  %llu seeds, %llu with violations; %llu calls (OK %llu, RESOURCE_EXHAUSTED "
                  "%llu, UNAVAILABLE %llu, DEADLINE_EXCEEDED %llu; %llu with deadlines), "
                  "%llu resets, %llu stalls, %llu short writes, %.1f MiB moved, %.1f s virtual\n",
          (unsigned long long)seeds, (unsigned long long)bad, (unsigned long long)totals.calls,
          (unsigned long long)totals.by_code[COHORT_RPC_OK],
          (unsigned long long)totals.by_code[COHORT_RPC_RESOURCE_EXHAUSTED],
          (unsigned long long)totals.by_code[COHORT_RPC_UNAVAILABLE],
          (unsigned long long)totals.by_code[COHORT_RPC_DEADLINE_EXCEEDED],
          (unsigned long long)totals.timed,
          (unsigned long long)totals.resets, (unsigned long long)totals.stalls,
          (unsigned long long)totals.short_writes, (double)totals.bytes / 1048576.0,
          (double)totals.virtual_ns / 1e9);
  assert_int_equal(bad, 0);
}

/* The flush rule before issue 12 must be caught by the sweep. */
static void test_old_flush_is_caught(void **state) {
  (void)state;
  uint64_t caught = 0, seeds = 12;
  for (uint64_t seed = 1; seed <= seeds; seed++) caught += one_seed(seed, true, false) ? 1 : 0;
  fprintf(stderr, "  old flush rule: caught in %llu of %llu seeds\n",
          (unsigned long long)caught, (unsigned long long)seeds);
  assert_true(caught > 0);
}

/* The checker rejects hand-broken traces. */
static void test_checker_rejects(void **state) {
  (void)state;
  static const char *const cases[][3] = {
      {"{\"call\":1}", "{\"call\":1,\"code\":0}", "{\"call\":1,\"code\":0}"}, /* twice */
      {"{\"call\":2}", "{\"call\":3,\"code\":0}", NULL},                      /* never started */
      {"{\"call\":4}", NULL, NULL},                                           /* never done */
      {"{\"call\":5,\"deadline_ns\":1000}", "{\"call\":5,\"code\":4}", NULL}, /* late */
  };
  const cohort_checker_t *chk = cohort_checker_find("rpc-once");
  for (size_t k = 0; k < COHORT_ARRAY_LEN(cases); k++) {
    sim_t s;
    memset(&s, 0, sizeof s);
    cohort_trace_init(&s.trace);
    s.now = 0;
    trace_state(&s, "rpc_start", cases[k][0]);
    s.now = 1000 * COHORT_NS_PER_MS;
    for (int j = 1; j < 3; j++)
      if (cases[k][j]) trace_state(&s, "rpc_done", cases[k][j]);
    cohort_check_result_t res;
    char err[128];
    assert_int_equal(chk->run(&s.trace, NULL, 0, &res, err, sizeof err), 0);
    fprintf(stderr, "  broken trace %zu: %s\n", k, res.first);
    assert_true(res.violations > 0);
    cohort_trace_close(&s.trace);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_checker_rejects),
      cmocka_unit_test(test_sweep),
      cmocka_unit_test(test_old_flush_is_caught),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
