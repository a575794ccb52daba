/*
 * src/clock/chatter.c — the `chatter` protocol (see cohort/chatter.h):
 * each round, after an exponential gap, either a local event or a message
 * to `fanout` distinct peers drawn uniformly. Only the node API is used:
 * time, randomness, sends, timers and traces all come from the node.
 *
 * Invariants: exactly one timer armed while rounds remain; a received
 * payload is accepted only if it is exactly 8 bytes of chatter kind, and
 * anything else is refused with COHORT_EPROTO (never asserted on).
 */
#include <math.h>
#include <string.h>

#include "cohort/chatter.h"

#define CHATTER_TIMER_ROUND 1u
#define CHATTER_PAYLOAD_LEN 8u
/* A gap never exceeds this many means (−ln 2^−53 is ≈ 36.7 anyway). */
#define CHATTER_GAP_MEANS_MAX 40.0

typedef struct chatter {
  cohort_proto_t base; /* first: the node hands us &base */
  int64_t interval_ns;
  uint64_t fanout;
  double local_p;
  uint64_t rounds_max;
  uint64_t counter; /* payload of the next message */
  cohort_chatter_stats_t stats;
} chatter_t;

static chatter_t *chatter_of(cohort_proto_t *p) { return (chatter_t *)p; }

/* Uniform in (0, 1]: 53 random bits, never 0 so that log() is finite. */
static double chatter_unit(cohort_node_t *n) {
  return (double)((cohort_node_random(n) >> 11) + 1) * 0x1p-53;
}

static void chatter_arm(chatter_t *c) {
  cohort_node_t *n = c->base.node;
  double gap = -log(chatter_unit(n)) * (double)c->interval_ns;
  if (gap > CHATTER_GAP_MEANS_MAX * (double)c->interval_ns)
    gap = CHATTER_GAP_MEANS_MAX * (double)c->interval_ns;
  int64_t gap_ns = gap < 1.0 ? 1 : (int64_t)gap;
  (void)cohort_node_timer_set(n, &c->base, CHATTER_TIMER_ROUND,
                              cohort_node_now(n) + gap_ns);
}

static void chatter_send_one(chatter_t *c, cohort_node_id_t to) {
  uint8_t payload[CHATTER_PAYLOAD_LEN];
  uint64_t v = ++c->counter;
  for (size_t i = 0; i < CHATTER_PAYLOAD_LEN; i++)
    payload[i] = (uint8_t)(v >> (8 * i));
  int rc = cohort_node_send(c->base.node, &c->base, to,
                            COHORT_CHATTER_KIND_CHAT, payload, sizeof payload);
  if (rc)
    c->stats.send_errors++;
  else
    c->stats.sent++;
}

/* Selection sampling (Knuth's Algorithm S): each peer is picked with
 * probability (still needed)/(still left), giving a uniform subset of
 * min(fanout, peers) in one pass, with no memory. */
static void chatter_send_round(chatter_t *c) {
  cohort_node_t *n = c->base.node;
  size_t len = 0;
  const cohort_node_id_t *peers = cohort_node_peers(n, &len);
  uint64_t need = c->fanout < len ? c->fanout : len;
  for (size_t i = 0; i < len && need > 0; i++) {
    if (cohort_node_random_below(n, len - i) < need) {
      chatter_send_one(c, peers[i]);
      need--;
    }
  }
}

static void chatter_local(chatter_t *c) {
  cohort_node_t *n = c->base.node;
  c->stats.locals++;
  char data[48];
  const char *json = NULL;
  if (cohort_node_tracing(n)) {
    cohort_fmt(data, sizeof data, "{\"n\":%llu}",
               (unsigned long long)c->stats.locals);
    json = data;
  }
  cohort_node_trace_state(n, &c->base, "local", json);
}

static void chatter_timer(cohort_proto_t *p, uint32_t timer_id) {
  chatter_t *c = chatter_of(p);
  if (timer_id != CHATTER_TIMER_ROUND) return;
  if (c->rounds_max && c->stats.rounds >= c->rounds_max) return;
  c->stats.rounds++;
  if (chatter_unit(p->node) <= c->local_p)
    chatter_local(c);
  else
    chatter_send_round(c);
  if (!c->rounds_max || c->stats.rounds < c->rounds_max) chatter_arm(c);
}

static void chatter_start(cohort_proto_t *p) {
  chatter_t *c = chatter_of(p);
  if (!c->rounds_max || c->stats.rounds < c->rounds_max) chatter_arm(c);
}

static int chatter_recv(cohort_proto_t *p, const cohort_msg_t *msg) {
  chatter_t *c = chatter_of(p);
  if (msg->kind != COHORT_CHATTER_KIND_CHAT ||
      msg->payload_len != CHATTER_PAYLOAD_LEN) {
    c->stats.malformed++;
    return COHORT_EPROTO;
  }
  c->stats.received++;
  cohort_node_trace_deliver(p->node, p, msg);
  return 0;
}

static const char *chatter_kind_name(uint32_t kind) {
  return kind == COHORT_CHATTER_KIND_CHAT ? "chat" : NULL;
}

static const cohort_proto_ops_t chatter_ops = {
    .name = "chatter",
    .proto_id = COHORT_PROTO_APP,
    .kind_name = chatter_kind_name,
    .start = chatter_start,
    .recv = chatter_recv,
    .timer = chatter_timer,
    .peer = NULL,
};

/* Parameters: fill `c` from defaults and params; 0 or COHORT_EINVAL. */
static int chatter_params(chatter_t *c, const cohort_param_t *pr, size_t np,
                          char *err, size_t errcap) {
  static const char *const known[] = {"interval", "fanout", "local", "rounds",
                                      NULL};
  int rc = cohort_param_check_known(pr, np, known, "chatter", err, errcap);
  if (!rc) rc = cohort_param_duration(pr, np, "interval", &c->interval_ns,
                                      "chatter", err, errcap);
  if (!rc) rc = cohort_param_u64(pr, np, "fanout", &c->fanout, "chatter",
                                 err, errcap);
  if (!rc) rc = cohort_param_double(pr, np, "local", &c->local_p, "chatter",
                                    err, errcap);
  if (!rc) rc = cohort_param_u64(pr, np, "rounds", &c->rounds_max, "chatter",
                                 err, errcap);
  if (rc) return rc;
  if (c->interval_ns <= 0) {
    if (err) cohort_fmt(err, errcap, "chatter: interval: must be > 0");
  } else if (c->fanout < 1 || c->fanout > COHORT_NODES_MAX) {
    if (err)
      cohort_fmt(err, errcap, "chatter: fanout: must be 1..%d, not %llu",
                 COHORT_NODES_MAX, (unsigned long long)c->fanout);
  } else if (!(c->local_p >= 0.0 && c->local_p <= 1.0)) {
    if (err)
      cohort_fmt(err, errcap, "chatter: local: must be in [0, 1], not %g",
                 c->local_p);
  } else {
    return 0;
  }
  return COHORT_EINVAL;
}

static int chatter_create(cohort_node_t *node, const cohort_param_t *params,
                          size_t params_len, cohort_proto_t **out, char *err,
                          size_t errcap) {
  chatter_t tmp = {.interval_ns = 100 * COHORT_NS_PER_MS,
                   .fanout = 1,
                   .local_p = 0.1};
  int rc = chatter_params(&tmp, params, params_len, err, errcap);
  if (rc) return rc;
  chatter_t *c = cohort_alloc(cohort_node_allocator(node), sizeof *c);
  if (!c) return COHORT_ENOMEM;
  *c = tmp;
  c->base.ops = &chatter_ops;
  c->base.node = node; /* attach sets it again */
  *out = &c->base;
  return 0;
}

static void chatter_destroy(cohort_proto_t *p) {
  if (!p) return;
  cohort_free(cohort_node_allocator(p->node), p);
}

static int chatter_status(cohort_proto_t *p, char *buf, size_t cap) {
  const cohort_chatter_stats_t *s = &chatter_of(p)->stats;
  return cohort_fmt(buf, cap, "rounds=%llu sent=%llu recv=%llu local=%llu",
                    (unsigned long long)s->rounds, (unsigned long long)s->sent,
                    (unsigned long long)s->received,
                    (unsigned long long)s->locals);
}

void cohort_chatter_stats(const cohort_proto_t *p,
                          cohort_chatter_stats_t *out) {
  COHORT_ASSERT(p && p->ops == &chatter_ops);
  *out = ((const chatter_t *)p)->stats;
}

const cohort_proto_factory_t cohort_chatter_factory = {
    .name = "chatter",
    .help = "chatter interval=100ms fanout=1 local=0.1 rounds=0: random "
            "messages to random peers (random executions for clock tests)",
    .create = chatter_create,
    .destroy = chatter_destroy,
    .status = chatter_status,
};
