/*
 * src/timesync/cristian.c — Cristian's algorithm: the estimate from one
 * probe, and the node protocol (registry name "cristian"). Each round the
 * client sends `probes` requests to its server, keeps the reply with the
 * smallest round trip, and sets its cluster clock to T_S + RTT/2 with the
 * error bound ((t1 − t0) − 2·t_min)/2 plus the server's own bound, which the
 * server sends with the time — so a chain (A from B from C) reports the sum
 * of the errors along it.
 *
 * Wire: request = seq (8 bytes, big-endian); reply = seq, T_S, server error
 * (3 × 8 bytes). Invariants: a reply is used only if it matches a probe of
 * the current round that was not answered yet; anything else is counted.
 */
#include <string.h>

#include "timesync_internal.h"

enum { KIND_REQUEST = 1, KIND_REPLY = 2 };
enum { TIMER_ROUND = 1, TIMER_PROBE = 2 };
#define PROBES_MAX 32

int cohort_cristian_estimate(int64_t t0, int64_t ts, int64_t t1, int64_t t_min_ns,
                             int64_t server_error_ns, cohort_cristian_estimate_t *out) {
  int64_t rtt = t1 - t0;
  if (rtt < 0 || t_min_ns < 0 || rtt < 2 * t_min_ns || server_error_ns < 0)
    return COHORT_EINVAL;
  cohort_cristian_estimate_t e = {.rtt_ns = rtt, .time_ns = ts + rtt / 2,
                                  .error_ns = (rtt - 2 * t_min_ns) / 2 + server_error_ns};
  e.offset_ns = e.time_ns - t1;
  *out = e;
  return 0;
}

typedef struct cristian {
  ts_base_t b; /* first */
  cohort_node_id_t server; /* COHORT_NODE_NONE: we are the reference */
  int64_t interval_ns, tmin_ns;
  uint64_t probes, sent_in_round;
  uint64_t seq_base; /* seq of probe 0 of this round */
  int64_t t0[PROBES_MAX];
  bool answered[PROBES_MAX];
  bool have_best;
  cohort_cristian_estimate_t best;
  int64_t best_local; /* oscillator time of the best reply */
} cristian_t;

static cristian_t *cr_of(cohort_proto_t *p) { return (cristian_t *)p; }

static void put64(uint8_t *b, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) b[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | b[i];
  return v;
}

/* The round is over: apply its best probe. */
static void round_finish(cristian_t *c) {
  if (!c->have_best) return;
  c->have_best = false;
  /* The estimate was for the reply instant: the clock grows its interval
   * from there. */
  int64_t offset = c->best.offset_ns;
  ts_update(&c->b, offset, c->best.error_ns, c->best_local, c->interval_ns);
  ts_trace_clock(&c->b, offset, 0);
}

static void send_probe(cristian_t *c) {
  cohort_node_t *n = c->b.proto.node;
  uint64_t i = c->sent_in_round++;
  uint8_t req[8];
  put64(req, c->seq_base + i);
  c->t0[i] = ts_est(&c->b);
  c->answered[i] = false;
  if (cohort_node_send_to(n, &c->b.proto, c->server, COHORT_INCARNATION_ANY, KIND_REQUEST, req,
                          sizeof req) == 0)
    c->b.stats.sent++;
  if (c->sent_in_round < c->probes) /* spread the probes over 1/4 of the round */
    (void)cohort_node_timer_set(n, &c->b.proto, TIMER_PROBE,
                                cohort_node_now(n) + c->interval_ns / 4 / (int64_t)c->probes);
}

static void cristian_timer(cohort_proto_t *p, uint32_t id) {
  cristian_t *c = cr_of(p);
  cohort_node_t *n = p->node;
  if (ts_base_timer(&c->b, id)) return;
  if (id == TIMER_PROBE) {
    send_probe(c);
  } else if (id == TIMER_ROUND) {
    round_finish(c);
    c->seq_base += c->probes;
    c->sent_in_round = 0;
    send_probe(c);
    (void)cohort_node_timer_set(n, p, TIMER_ROUND, cohort_node_now(n) + c->interval_ns);
  }
}

static int on_reply(cristian_t *c, const cohort_msg_t *msg) {
  if (msg->payload_len != 24 || msg->from != c->server) return COHORT_EPROTO;
  uint64_t seq = get64(msg->payload);
  int64_t ts = (int64_t)get64(msg->payload + 8), serr = (int64_t)get64(msg->payload + 16);
  if (seq < c->seq_base || seq - c->seq_base >= c->sent_in_round ||
      c->answered[seq - c->seq_base])
    return COHORT_ESTALE; /* late, replayed or never sent */
  uint64_t i = seq - c->seq_base;
  c->answered[i] = true;
  cohort_cristian_estimate_t e;
  int64_t t1 = ts_est(&c->b);
  if (serr < 0 || ts <= 0 || cohort_cristian_estimate(c->t0[i], ts, t1, c->tmin_ns, serr, &e))
    return COHORT_EPROTO;
  c->b.stats.samples++;
  if (!c->have_best || e.rtt_ns < c->best.rtt_ns) {
    c->best = e;
    c->best_local = ts_local(&c->b);
    c->have_best = true;
  }
  return 0;
}

static int cristian_recv(cohort_proto_t *p, const cohort_msg_t *msg) {
  cristian_t *c = cr_of(p);
  c->b.stats.received++;
  int rc = 0;
  if (msg->kind == KIND_REQUEST && msg->payload_len == 8) {
    if (c->b.is_ref) ts_ref_sync(&c->b);
    int64_t local = ts_local(&c->b);
    int64_t err = c->b.is_ref ? c->b.ref_error_ns
                              : cohort_cluster_clock_error(&c->b.clock, local);
    if (err == INT64_MAX) return 0; /* not synchronized: no answer */
    uint8_t r[24];
    memcpy(r, msg->payload, 8);
    put64(r + 8, (uint64_t)cohort_cluster_clock_estimate(&c->b.clock, local));
    int64_t cen = c->b.clock.center_ns < 0 ? -c->b.clock.center_ns : c->b.clock.center_ns;
    put64(r + 16, (uint64_t)(err + cen));
    if (cohort_node_send_to(p->node, p, msg->from, msg->from_incarnation, KIND_REPLY, r,
                            sizeof r) == 0)
      c->b.stats.sent++;
  } else if (msg->kind == KIND_REPLY) {
    rc = on_reply(c, msg);
  } else {
    rc = COHORT_EPROTO;
  }
  if (rc) c->b.stats.dropped++;
  return rc;
}

static void cristian_start(cohort_proto_t *p) {
  cristian_t *c = cr_of(p);
  ts_base_start(&c->b);
  if (c->server == COHORT_NODE_NONE) return;
  cohort_node_t *n = p->node;
  (void)cohort_node_timer_set(
      n, p, TIMER_ROUND,
      cohort_node_now(n) + 1 + (int64_t)cohort_node_random_below(n, (uint64_t)c->interval_ns));
}

static const char *cristian_kind_name(uint32_t k) {
  return k == KIND_REQUEST ? "time_request" : k == KIND_REPLY ? "time_reply" : NULL;
}

static const cohort_proto_ops_t cristian_ops = {
    .name = "cristian",
    .proto_id = COHORT_PROTO_TIMESYNC,
    .kind_name = cristian_kind_name,
    .start = cristian_start,
    .recv = cristian_recv,
    .timer = cristian_timer,
};

static int cristian_params(cristian_t *c, cohort_node_id_t self, const cohort_param_t *pr,
                           size_t np, char *err, size_t errcap) {
  static const char *const known[] = {"server", "interval", "probes", "tmin", "chain", "step",
                                      "sample", "ref_error", "drift_bound_ppm", "slew_ppm",
                                      "phase_gain", "freq_gain", NULL};
  uint64_t server = 1;
  bool chain = false;
  c->interval_ns = COHORT_NS_PER_S;
  c->probes = 8;
  c->tmin_ns = 0;
  int rc = cohort_param_check_known(pr, np, known, "cristian", err, errcap);
  if (!rc) rc = ts_base_params(&c->b, pr, np, "cristian", err, errcap);
  if (!rc) rc = cohort_param_u64(pr, np, "server", &server, "cristian", err, errcap);
  if (!rc) rc = cohort_param_duration(pr, np, "interval", &c->interval_ns, "cristian", err,
                                      errcap);
  if (!rc) rc = cohort_param_u64(pr, np, "probes", &c->probes, "cristian", err, errcap);
  if (!rc) rc = cohort_param_duration(pr, np, "tmin", &c->tmin_ns, "cristian", err, errcap);
  if (!rc) rc = cohort_param_bool(pr, np, "chain", &chain, "cristian", err, errcap);
  if (rc) return rc;
  if (server < 1 || server > COHORT_NODES_MAX || c->probes < 1 || c->probes > PROBES_MAX ||
      c->interval_ns < COHORT_NS_PER_MS || c->tmin_ns < 0) {
    if (err) cohort_fmt(err, errcap, "cristian: need server 1..1024, probes 1..%d, "
                        "interval >= 1ms, tmin >= 0", PROBES_MAX);
    return COHORT_EINVAL;
  }
  c->b.is_ref = chain ? self == 1 : self == server;
  c->server = c->b.is_ref ? COHORT_NODE_NONE : chain ? self - 1 : (cohort_node_id_t)server;
  return 0;
}

static int cristian_create(cohort_node_t *node, const cohort_param_t *params,
                           size_t params_len, cohort_proto_t **out, char *err, size_t errcap) {
  const cohort_allocator_t *a = cohort_node_allocator(node);
  cristian_t *c = cohort_calloc(a, 1, sizeof *c);
  if (!c) return COHORT_ENOMEM;
  int rc = cristian_params(c, cohort_node_id(node), params, params_len, err, errcap);
  if (rc) {
    cohort_free(a, c);
    return rc;
  }
  c->b.proto.ops = &cristian_ops;
  c->b.proto.node = node;
  *out = &c->b.proto;
  return 0;
}

static void cristian_destroy(cohort_proto_t *p) {
  if (p) cohort_free(cohort_node_allocator(p->node), p);
}

static int cristian_status(cohort_proto_t *p, char *buf, size_t cap) {
  cristian_t *c = cr_of(p);
  return cohort_fmt(buf, cap, "%s offset=%lldns error=±%lldns", c->b.is_ref ? "ref" : "client",
                    (long long)c->b.clock.last_offset_ns,
                    (long long)cohort_cluster_clock_error(&c->b.clock, ts_local(&c->b)));
}

const cohort_proto_factory_t cohort_cristian_factory = {
    .name = "cristian",
    .help = "cristian server=1 interval=1s probes=8 tmin=0s chain=off step=128ms sample=1s: "
            "Cristian's algorithm, min-RTT probe per round, additive error down a chain",
    .create = cristian_create,
    .destroy = cristian_destroy,
    .status = cristian_status,
};
