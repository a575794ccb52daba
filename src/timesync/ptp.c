/*
 * src/timesync/ptp.c — PTP-style synchronization as a node protocol
 * (registry name "ptp"). Every node announces its clock quality; each keeps
 * the Announces it heard (foreign masters) and runs the BMCA over them and
 * itself. The best is the grandmaster: it sends Sync then Follow_Up
 * (carrying T1, two-step) to every peer each `sync` period, and answers
 * Delay_Req with Delay_Resp (T4). A slave stamps T2 on Sync, sends a
 * Delay_Req at T3 once it has T1, and computes
 *   offset = ((T2 − T1) − (T4 − T3)) / 2,  delay = ((T2 − T1) + (T4 − T3)) / 2
 * A grandmaster silent for 3 announce intervals is forgotten and the BMCA
 * chooses again.
 *
 * The offset filter. With software timestamps every one-way delay carries
 * queueing jitter, and one exchange's offset is off by half the difference
 * of its two delays. Over the last `window` exchanges the slave takes the
 * minimum of each direction separately — min(T2 − T1) and min(T4 − T3),
 * the "lucky packets" that met the least queueing — and disciplines with
 * (min(T4 − T3) − min(T2 − T1)) / 2 through the clock's PI loop. Each
 * exchange is stored as oscillator times with the master's timestamps
 * (L2, T1, L3, T4), and T2 = est(L2), T3 = est(L3) are re-evaluated on the
 * clock's current estimate, so steps, slews and frequency corrections
 * since never make a stored exchange stale. The error interval is not
 * taken from the filter but from the newest exchange alone, whose offset
 * lies within its delay (half the round trip) of the truth: λ = delay +
 * the drift bound over T2..T3 + the master's own error + |filtered −
 * newest|.
 *
 * Invariants: only the current grandmaster's Sync/Follow_Up/Delay_Resp are
 * used (others are counted as not_master); a Follow_Up or Delay_Resp must
 * match the sequence of the Sync / Delay_Req it completes (stale_seq);
 * malformed messages change no state.
 */
#include <stdlib.h>
#include <string.h>

#include "timesync_internal.h"

enum { TIMER_ANNOUNCE = 1, TIMER_SYNC = 2 };
#define ANNOUNCE_TIMEOUT 3 /* announce intervals (announceReceiptTimeout) */

/* One exchange: the slave's oscillator at T2 and T3, the master's T1, T4. */
typedef struct exchange {
  int64_t l2, t1, l3, t4;
} exchange_t;

typedef struct foreign {
  cohort_node_id_t id;
  cohort_ptp_clock_quality_t q;
  int64_t heard_ns;
} foreign_t;

typedef struct ptp {
  ts_base_t b; /* first */
  cohort_ptp_clock_quality_t self_q;
  foreign_t foreign[COHORT_PTP_FOREIGN_MAX];
  size_t foreign_len;
  cohort_node_id_t gm; /* grandmaster, or COHORT_NODE_NONE = us */
  int64_t sync_ns, announce_ns;
  uint16_t seq, req_seq;
  /* Slave state of the exchange in progress. */
  uint16_t sync_seq;
  bool have_t2, have_t1, req_out;
  int64_t t1, l2, l3; /* T1 (master), oscillator times of T2 and T3 */
  /* The offset filter: the last `window` exchanges, a ring. */
  exchange_t ex[COHORT_PTP_WINDOW_MAX];
  size_t window, ex_len, ex_next;
} ptp_t;

static ptp_t *ptp_of(cohort_proto_t *p) { return (ptp_t *)p; }

static void ptp_send(ptp_t *t, cohort_node_id_t to, const cohort_ptp_msg_t *m) {
  uint8_t buf[COHORT_PTP_ANNOUNCE_LEN];
  int len = cohort_ptp_encode(m, buf, sizeof buf);
  COHORT_ASSERT(len > 0);
  int rc = to == COHORT_NODE_NONE
               ? cohort_node_broadcast(t->b.proto.node, &t->b.proto, m->type, buf, (size_t)len)
               : cohort_node_send(t->b.proto.node, &t->b.proto, to, m->type, buf, (size_t)len);
  if (rc == 0) t->b.stats.sent++;
}

static bool is_master(const ptp_t *t) { return t->gm == COHORT_NODE_NONE; }

/* BMCA over ourselves and the foreign masters heard recently. */
static void bmca(ptp_t *t) {
  int64_t now = ts_local(&t->b);
  const cohort_ptp_clock_quality_t *best = &t->self_q;
  cohort_node_id_t gm = COHORT_NODE_NONE;
  size_t keep = 0;
  for (size_t i = 0; i < t->foreign_len; i++) {
    if (now - t->foreign[i].heard_ns > ANNOUNCE_TIMEOUT * t->announce_ns) continue;
    t->foreign[keep++] = t->foreign[i];
    if (cohort_ptp_bmca_compare(&t->foreign[i].q, best) < 0) {
      best = &t->foreign[i].q;
      gm = t->foreign[i].id;
    }
  }
  t->foreign_len = keep;
  if (gm != t->gm) {
    t->gm = gm;
    t->have_t1 = t->have_t2 = t->req_out = false;
    t->ex_len = t->ex_next = 0; /* another master's clock: start over */
    t->b.stats.master = gm == COHORT_NODE_NONE ? cohort_node_id(t->b.proto.node) : gm;
    char data[64];
    cohort_fmt(data, sizeof data, "{\"grandmaster\":%u}", t->b.stats.master);
    cohort_node_trace_state(t->b.proto.node, &t->b.proto, "grandmaster", data);
  }
}

static void on_announce(ptp_t *t, cohort_node_id_t from, const cohort_ptp_msg_t *m) {
  size_t i = 0;
  while (i < t->foreign_len && t->foreign[i].id != from) i++;
  if (i == t->foreign_len) {
    if (t->foreign_len == COHORT_PTP_FOREIGN_MAX) return; /* table full: ignore */
    t->foreign_len++;
  }
  t->foreign[i] = (foreign_t){.id = from, .q = m->quality, .heard_ns = ts_local(&t->b)};
  bmca(t);
}

/* Slave: both halves of the Sync known → send Delay_Req at T3. */
static void maybe_delay_req(ptp_t *t) {
  if (!t->have_t1 || !t->have_t2 || t->req_out) return;
  t->l3 = ts_local(&t->b);
  t->req_out = true;
  cohort_ptp_msg_t m = {.type = COHORT_PTP_DELAY_REQ, .seq = ++t->req_seq,
                        .source = cohort_node_id(t->b.proto.node)};
  ptp_send(t, t->gm, &m);
}

/* The filtered offset over the newest exchanges, on the clock's current
 * estimate. Until the frequency is locked the oscillator's raw drift would
 * tilt a window, so it is just the newest exchange; after, the window
 * widens by one exchange per two updates up to `window`, so the filter's
 * span stays within the loop's settling memory. */
static int64_t filtered_offset(const ptp_t *t) {
  const cohort_cluster_clock_t *c = &t->b.clock;
  size_t n = c->freq_locked ? 1 + (size_t)(c->locked_updates / 2) : 1;
  if (n > t->ex_len) n = t->ex_len;
  int64_t min_ms = INT64_MAX, min_sm = INT64_MAX;
  for (size_t k = 1; k <= n; k++) {
    const exchange_t *e = &t->ex[(t->ex_next + t->window - k) % t->window];
    int64_t ms = cohort_cluster_clock_estimate(c, e->l2) - e->t1;
    int64_t sm = e->t4 - cohort_cluster_clock_estimate(c, e->l3);
    if (ms < min_ms) min_ms = ms;
    if (sm < min_sm) min_sm = sm;
  }
  return (min_sm - min_ms) / 2; /* true − ours: the master is the truth */
}

static void on_delay_resp(ptp_t *t, const cohort_ptp_msg_t *m) {
  if (!t->req_out || m->seq != t->req_seq ||
      m->requester != cohort_node_id(t->b.proto.node)) {
    t->b.stats.ptp.stale_seq++;
    return;
  }
  t->req_out = t->have_t1 = t->have_t2 = false;
  const cohort_cluster_clock_t *c = &t->b.clock;
  int64_t ms = cohort_cluster_clock_estimate(c, t->l2) - t->t1;
  int64_t sm = m->ts_ns - cohort_cluster_clock_estimate(c, t->l3);
  int64_t offset = (sm - ms) / 2, delay = (ms + sm) / 2;
  if (delay < 0) {
    t->b.stats.ptp.malformed++;
    return;
  }
  t->b.stats.samples++;
  t->ex[t->ex_next] = (exchange_t){.l2 = t->l2, .t1 = t->t1, .l3 = t->l3, .t4 = m->ts_ns};
  t->ex_next = (t->ex_next + 1) % t->window;
  if (t->ex_len < t->window) t->ex_len++;
  int64_t filtered = filtered_offset(t), diff = filtered - offset;
  /* This exchange bounds the truth: its offset is within its delay, plus
   * what the oscillator may drift between T2 and T3, plus the master's
   * own error. */
  double drift = (double)(t->l3 - t->l2) * (double)c->cfg.drift_bound_ppb * 1e-9;
  int64_t dist = delay + (int64_t)drift + 1 + t->b.ref_error_ns + (diff < 0 ? -diff : diff);
  ts_update(&t->b, filtered, dist, t->l2, t->sync_ns);
  ts_trace_clock(&t->b, filtered, 0);
}

static int slave_msg(ptp_t *t, cohort_node_id_t from, const cohort_ptp_msg_t *m) {
  if (from != t->gm) {
    t->b.stats.ptp.not_master++;
    return 0;
  }
  if (m->type == COHORT_PTP_SYNC) {
    t->l2 = ts_local(&t->b);
    t->sync_seq = m->seq;
    t->have_t2 = true;
    t->have_t1 = t->req_out = false;
  } else if (m->type == COHORT_PTP_FOLLOW_UP) {
    if (!t->have_t2 || m->seq != t->sync_seq) {
      t->b.stats.ptp.stale_seq++;
      return 0;
    }
    t->t1 = m->ts_ns;
    t->have_t1 = true;
    maybe_delay_req(t);
  } else if (m->type == COHORT_PTP_DELAY_RESP) {
    on_delay_resp(t, m);
  }
  return 0;
}

static int ptp_recv(cohort_proto_t *p, const cohort_msg_t *msg) {
  ptp_t *t = ptp_of(p);
  t->b.stats.received++;
  cohort_ptp_msg_t m;
  int rc = cohort_ptp_decode(msg->payload, msg->payload_len, &m);
  if (rc == COHORT_EVERSION) t->b.stats.ptp.version++;
  else if (rc == COHORT_EUNKNOWN) t->b.stats.ptp.type++;
  else if (rc) t->b.stats.ptp.malformed++;
  else if (m.type != msg->kind) t->b.stats.ptp.malformed++, rc = COHORT_EPROTO;
  else if (m.ts_ns == 0 && m.type != COHORT_PTP_SYNC && m.type != COHORT_PTP_DELAY_REQ)
    t->b.stats.ptp.zero_timestamp++, rc = COHORT_EPROTO;
  if (rc) {
    t->b.stats.dropped++;
    return COHORT_EPROTO;
  }
  if (m.type == COHORT_PTP_ANNOUNCE) {
    on_announce(t, msg->from, &m);
  } else if (m.type == COHORT_PTP_DELAY_REQ) {
    if (!is_master(t)) {
      t->b.stats.ptp.not_master++;
      return 0;
    }
    if (t->b.is_ref) ts_ref_sync(&t->b);
    cohort_ptp_msg_t r = {.type = COHORT_PTP_DELAY_RESP, .seq = m.seq,
                          .source = cohort_node_id(p->node), .ts_ns = ts_est(&t->b),
                          .requester = msg->from};
    ptp_send(t, msg->from, &r);
  } else {
    return slave_msg(t, msg->from, &m);
  }
  return 0;
}

static void master_sync(ptp_t *t) {
  if (t->b.is_ref) ts_ref_sync(&t->b);
  cohort_node_id_t self = cohort_node_id(t->b.proto.node);
  uint16_t seq = ++t->seq;
  cohort_ptp_msg_t s = {.type = COHORT_PTP_SYNC, .seq = seq, .source = self};
  int64_t t1 = ts_est(&t->b); /* the software "egress timestamp" */
  ptp_send(t, COHORT_NODE_NONE, &s);
  cohort_ptp_msg_t f = {.type = COHORT_PTP_FOLLOW_UP, .seq = seq, .source = self, .ts_ns = t1};
  ptp_send(t, COHORT_NODE_NONE, &f);
}

static void ptp_timer(cohort_proto_t *p, uint32_t id) {
  ptp_t *t = ptp_of(p);
  cohort_node_t *n = p->node;
  if (ts_base_timer(&t->b, id)) return;
  if (id == TIMER_ANNOUNCE) {
    bmca(t);
    cohort_ptp_msg_t a = {.type = COHORT_PTP_ANNOUNCE, .seq = ++t->seq,
                          .source = cohort_node_id(n), .ts_ns = ts_est(&t->b),
                          .quality = t->self_q};
    ptp_send(t, COHORT_NODE_NONE, &a);
    (void)cohort_node_timer_set(n, p, TIMER_ANNOUNCE, cohort_node_now(n) + t->announce_ns);
  } else if (id == TIMER_SYNC) {
    if (is_master(t)) master_sync(t);
    (void)cohort_node_timer_set(n, p, TIMER_SYNC, cohort_node_now(n) + t->sync_ns);
  }
}

static void ptp_start(cohort_proto_t *p) {
  ptp_t *t = ptp_of(p);
  cohort_node_t *n = p->node;
  ts_base_start(&t->b);
  t->gm = COHORT_NODE_NONE;
  t->b.stats.master = cohort_node_id(n);
  int64_t now = cohort_node_now(n);
  (void)cohort_node_timer_set(n, p, TIMER_ANNOUNCE,
                              now + (int64_t)cohort_node_random_below(n, 1000000) + 1);
  /* The first Sync waits for a round of Announces so masters are known. */
  (void)cohort_node_timer_set(n, p, TIMER_SYNC, now + t->announce_ns + t->sync_ns);
}

static const char *ptp_kind_name(uint32_t k) {
  switch (k) {
  case COHORT_PTP_SYNC: return "sync";
  case COHORT_PTP_DELAY_REQ: return "delay_req";
  case COHORT_PTP_FOLLOW_UP: return "follow_up";
  case COHORT_PTP_DELAY_RESP: return "delay_resp";
  case COHORT_PTP_ANNOUNCE: return "announce";
  default: return NULL;
  }
}

static const cohort_proto_ops_t ptp_ops = {
    .name = "ptp",
    .proto_id = COHORT_PROTO_TIMESYNC,
    .kind_name = ptp_kind_name,
    .start = ptp_start,
    .recv = ptp_recv,
    .timer = ptp_timer,
};

/* "1:10,3:20": this node's value if listed, else *out unchanged. */
static int per_node_u8(const cohort_param_t *pr, size_t np, const char *key,
                       cohort_node_id_t self, uint8_t *out, char *err, size_t errcap) {
  const char *v = cohort_param_get(pr, np, key);
  for (const char *c = v; c && *c;) {
    char *end;
    unsigned long id = strtoul(c, &end, 10), val;
    if (end == c || *end != ':') goto bad;
    c = end + 1;
    val = strtoul(c, &end, 10);
    if (end == c || val > 255 || (*end && *end != ',')) goto bad;
    if (id == self) *out = (uint8_t)val;
    c = *end ? end + 1 : end;
  }
  return 0;
bad:
  if (err) cohort_fmt(err, errcap, "ptp: %s: expected NODE:VALUE,... (0..255): '%s'", key, v);
  return COHORT_EINVAL;
}

static int ptp_params(ptp_t *t, cohort_node_id_t self, const cohort_param_t *pr, size_t np,
                      char *err, size_t errcap) {
  static const char *const known[] = {"sync", "announce", "priority1", "priority2", "class",
                                      "ref", "step", "sample", "ref_error", "drift_bound_ppm",
                                      "slew_ppm", "phase_gain", "freq_gain", "window", NULL};
  t->sync_ns = 125 * COHORT_NS_PER_MS;
  uint64_t window = 128;
  t->announce_ns = COHORT_NS_PER_S;
  t->self_q = (cohort_ptp_clock_quality_t){.priority1 = 128, .clock_class = 248,
                                           .accuracy = 0xFE, .variance = 0xFFFF,
                                           .priority2 = 128, .identity = self};
  int rc = cohort_param_check_known(pr, np, known, "ptp", err, errcap);
  if (!rc) rc = ts_base_params(&t->b, pr, np, "ptp", err, errcap);
  /* Eight updates a second through a window of filtered exchanges: the
   * loop's time constant (sync / phase_gain = 25 s) must be longer than
   * the window's span (128 · 125 ms = 16 s) or the window's lag makes it
   * ring. */
  if (!rc && !cohort_param_get(pr, np, "phase_gain")) t->b.clock_cfg.phase_gain = 0.005;
  if (!rc) rc = cohort_param_duration(pr, np, "sync", &t->sync_ns, "ptp", err, errcap);
  if (!rc) rc = cohort_param_duration(pr, np, "announce", &t->announce_ns, "ptp", err, errcap);
  if (!rc) rc = cohort_param_u64(pr, np, "window", &window, "ptp", err, errcap);
  if (!rc) rc = per_node_u8(pr, np, "priority1", self, &t->self_q.priority1, err, errcap);
  if (!rc) rc = per_node_u8(pr, np, "priority2", self, &t->self_q.priority2, err, errcap);
  if (!rc) rc = per_node_u8(pr, np, "class", self, &t->self_q.clock_class, err, errcap);
  ts_nodes_t refs = {.len = 0};
  const char *v = cohort_param_get(pr, np, "ref");
  if (!rc && v) rc = ts_nodes_parse(v, &refs, "ptp", "ref", err, errcap);
  if (rc) return rc;
  if (t->sync_ns < COHORT_NS_PER_MS || t->announce_ns < t->sync_ns || window < 1 ||
      window > COHORT_PTP_WINDOW_MAX) {
    if (err) cohort_fmt(err, errcap, "ptp: need 1ms <= sync <= announce and window 1..%d",
                        COHORT_PTP_WINDOW_MAX);
    return COHORT_EINVAL;
  }
  t->window = (size_t)window;
  /* A reference (ref=…) or the preferred node (priority1 < 128) is the
   * primary time source: its wall clock is taken as true time. */
  t->b.is_ref = v ? ts_nodes_has(&refs, self) : t->self_q.priority1 < 128;
  if (t->b.is_ref && t->self_q.clock_class == 248) t->self_q.clock_class = 6;
  return 0;
}

static int ptp_create(cohort_node_t *node, const cohort_param_t *params, size_t params_len,
                      cohort_proto_t **out, char *err, size_t errcap) {
  const cohort_allocator_t *a = cohort_node_allocator(node);
  ptp_t *t = cohort_calloc(a, 1, sizeof *t);
  if (!t) return COHORT_ENOMEM;
  int rc = ptp_params(t, cohort_node_id(node), params, params_len, err, errcap);
  if (rc) {
    cohort_free(a, t);
    return rc;
  }
  t->b.proto.ops = &ptp_ops;
  t->b.proto.node = node;
  *out = &t->b.proto;
  return 0;
}

static void ptp_destroy(cohort_proto_t *p) {
  if (p) cohort_free(cohort_node_allocator(p->node), p);
}

static int ptp_status(cohort_proto_t *p, char *buf, size_t cap) {
  ptp_t *t = ptp_of(p);
  return cohort_fmt(buf, cap, "%s grandmaster=%u offset=%lldns error=±%lldns",
                    is_master(t) ? "master" : "slave", t->b.stats.master,
                    (long long)t->b.clock.last_offset_ns,
                    (long long)cohort_cluster_clock_error(&t->b.clock, ts_local(&t->b)));
}

const cohort_proto_factory_t cohort_ptp_factory = {
    .name = "ptp",
    .help = "ptp sync=125ms announce=1s window=128 priority1=ID:V,.. priority2=ID:V,.. "
            "class=ID:V,.. ref=IDS step=128ms sample=1s: PTP-style two-step sync with BMCA "
            "and a per-direction minimum offset filter",
    .create = ptp_create,
    .destroy = ptp_destroy,
    .status = ptp_status,
};
