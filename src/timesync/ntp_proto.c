/*
 * src/timesync/ntp_proto.c — NTP as a protocol of a cohort node (registry
 * name "ntp"): every node answers NTP requests from its cluster clock;
 * reference nodes (ref=…) serve their wall clock as stratum 1; the others
 * poll their servers, run the clock filter, selection, clustering and
 * combining, and discipline their cluster clock. The payload is the
 * 48-byte RFC 5905 packet; the message kind is its mode (3 or 4).
 *
 * Invariants: one timer per association (id = index + 1) plus the sample
 * timer; the clock is updated only when the system peer offers a sample
 * newer than the last one used; after an update every stored sample is
 * re-based on the moved estimate, and after a step the filters are cleared
 * (RFC 5905 clear()). Replies from nodes we do not poll are refused.
 */
#include <string.h>

#include "timesync_internal.h"

#define POLL_LEVELS_MAX 10 /* maxpoll ≤ minpoll · 2^10 */
#define POLL_LIMIT 30      /* RFC 5905 LIMIT: hysteresis of poll changes */
#define POLL_GATE 4        /* RFC 5905 PGATE */

typedef struct ntp_proto {
  ts_base_t b; /* first */
  ts_nodes_t refs, servers;
  cohort_ntp_peer_t peers[COHORT_NTP_PEERS_MAX];
  size_t peers_len;
  cohort_ntp_server_t server;
  cohort_ntp_system_t sys;
  int64_t minpoll_ns;
  unsigned poll_level, poll_level_max;
  int poll_count;
  bool burst, sntp;
  int64_t last_used_ns; /* oscillator time of the sample last used */
} ntp_proto_t;

static const cohort_proto_ops_t ntp_ops;

static ntp_proto_t *ntp_of(cohort_proto_t *p) { return (ntp_proto_t *)p; }

static int64_t poll_interval(const ntp_proto_t *t, const cohort_ntp_peer_t *p) {
  int64_t iv = t->minpoll_ns << t->poll_level;
  int shift = p->poll > 0 ? (p->poll > 10 ? 10 : p->poll) : 0; /* KoD penalty */
  if (t->burst && p->n < COHORT_NTP_FILTER_LEN && p->samples < COHORT_NTP_FILTER_LEN)
    iv = t->minpoll_ns / 4 > 0 ? t->minpoll_ns / 4 : 1; /* iburst */
  return iv << shift;
}

static void ntp_poll(ntp_proto_t *t, size_t i) {
  cohort_node_t *n = t->b.proto.node;
  cohort_ntp_peer_t *p = &t->peers[i];
  if (p->denied) return;
  uint8_t pkt[COHORT_NTP_PACKET_LEN];
  cohort_ntp_peer_request(p, ts_est(&t->b), cohort_node_random(n), pkt);
  if (cohort_node_send_to(n, &t->b.proto, p->id, COHORT_INCARNATION_ANY, COHORT_NTP_MODE_CLIENT,
                          pkt, sizeof pkt) == 0)
    t->b.stats.sent++;
  /* Jitter the next poll by up to 1/16 so associations do not lock step. */
  int64_t iv = poll_interval(t, p);
  int64_t jit = iv / 16 > 0 ? (int64_t)cohort_node_random_below(n, (uint64_t)(iv / 16)) : 0;
  (void)cohort_node_timer_set(n, &t->b.proto, (uint32_t)i + 1, cohort_node_now(n) + iv - jit);
}

/* RFC 5905 §11.3 poll adaptation on the system level. */
static void poll_adapt(ntp_proto_t *t, int64_t offset) {
  int64_t a = offset < 0 ? -offset : offset;
  if (a < POLL_GATE * t->sys.jitter_ns) {
    t->poll_count += (int)t->poll_level + 1;
    if (t->poll_count > POLL_LIMIT) {
      t->poll_count = 0;
      if (t->poll_level < t->poll_level_max) t->poll_level++;
    }
  } else {
    t->poll_count -= 2 * ((int)t->poll_level + 1);
    if (t->poll_count < -POLL_LIMIT) {
      t->poll_count = 0;
      if (t->poll_level > 0) t->poll_level--;
    }
  }
}

static void system_update(ntp_proto_t *t, cohort_ntp_peer_t *from) {
  int64_t now = ts_est(&t->b);
  int64_t offset, dist, measured;
  if (t->sntp) { /* SNTP: the one server's latest sample, no filter */
    offset = from->filter[0].offset_ns;
    measured = from->filter[0].local_ns;
    dist = from->filter[0].delay_ns / 2 + from->root_delay_ns / 2 + from->root_disp_ns;
    t->sys = (cohort_ntp_system_t){.synced = true, .stratum = (uint8_t)(from->stratum + 1),
                                   .refid = from->refid, .jitter_ns = 0,
                                   .root_delay_ns = from->root_delay_ns + from->delay_ns,
                                   .root_disp_ns = from->root_disp_ns, .survivors = 1};
  } else {
    cohort_ntp_system_t s;
    int rc = cohort_ntp_select(t->peers, t->peers_len, now, &s);
    uint64_t f = 0;
    for (size_t i = 0; i < t->peers_len; i++) f += s.falseticker[i];
    t->b.stats.falsetickers = f;
    if (rc) return;
    t->sys = s;
    cohort_ntp_peer_t *sp = &t->peers[s.sys_peer];
    if (sp->update_local_ns <= t->last_used_ns) return; /* nothing new to use */
    t->last_used_ns = sp->update_local_ns;
    measured = sp->update_local_ns;
    offset = s.offset_ns;
    int64_t diff = s.offset_ns - sp->offset_ns;
    dist = cohort_ntp_peer_root_distance(sp, now) + (diff < 0 ? -diff : diff);
  }
  cohort_clock_update_t u = ts_update(&t->b, offset, dist, measured,
                                      t->minpoll_ns << t->poll_level);
  for (size_t i = 0; i < t->peers_len; i++) {
    if (u.stepped) cohort_ntp_peer_clear(&t->peers[i]);
    else cohort_ntp_peer_adjust(&t->peers[i], u.applied_ns);
  }
  if (u.stepped) t->last_used_ns = 0;
  if (!t->sntp) poll_adapt(t, offset);
  ts_trace_clock(&t->b, offset, t->sys.stratum);
}

static void ntp_server_state(ntp_proto_t *t, cohort_ntp_server_state_t *st) {
  int64_t local = ts_local(&t->b);
  *st = (cohort_ntp_server_state_t){.precision = -20, .leap = COHORT_NTP_LEAP_NONE};
  if (t->b.is_ref) {
    st->stratum = 1;
    st->refid = COHORT_NTP_REFID('C', 'O', 'H', 'O');
    st->root_disp_ns = t->b.ref_error_ns;
    st->reference_ns = cohort_node_wall(t->b.proto.node);
  } else if (t->b.clock.synchronized) {
    st->stratum = t->sys.stratum;
    st->refid = COHORT_NTP_REFID('N', 'O', 'D', 'E') ^ t->peers[t->sys.sys_peer].id;
    st->root_delay_ns = t->sys.root_delay_ns;
    /* Our own error bound, so that λ stays sound down a chain. */
    int64_t c = t->b.clock.center_ns < 0 ? -t->b.clock.center_ns : t->b.clock.center_ns;
    st->root_disp_ns = cohort_cluster_clock_error(&t->b.clock, local) + c -
                       st->root_delay_ns / 2;
    if (st->root_disp_ns < 0) st->root_disp_ns = 0;
    st->reference_ns = ts_est(&t->b);
  } else {
    st->stratum = COHORT_NTP_STRATUM_UNSYNC;
    st->leap = COHORT_NTP_LEAP_ALARM;
  }
}

static int ntp_serve(ntp_proto_t *t, const cohort_msg_t *msg) {
  cohort_node_t *n = t->b.proto.node;
  if (t->b.is_ref) ts_ref_sync(&t->b);
  int64_t t2 = ts_est(&t->b);
  cohort_ntp_server_state_t st;
  ntp_server_state(t, &st);
  uint8_t out[COHORT_NTP_PACKET_LEN];
  int rc = cohort_ntp_server_reply(&t->server, &st, msg->from, msg->payload, msg->payload_len,
                                   t2, ts_est(&t->b), out);
  t->b.stats.ntp = t->server.drops;
  if (rc < 0) return rc;
  if (rc > 0 && cohort_node_send_to(n, &t->b.proto, msg->from, msg->from_incarnation,
                                    COHORT_NTP_MODE_SERVER, out, (size_t)rc) == 0)
    t->b.stats.sent++;
  return 0;
}

static void sum_drops(ntp_proto_t *t) {
  cohort_ntp_drops_t d = t->server.drops;
  for (size_t i = 0; i < t->peers_len; i++) {
    const cohort_ntp_drops_t *q = &t->peers[i].drops;
    d.short_packet += q->short_packet;
    d.version += q->version;
    d.mode += q->mode;
    d.zero_transmit += q->zero_transmit;
    d.bogus_origin += q->bogus_origin;
    d.unrequested += q->unrequested;
    d.unsynchronized += q->unsynchronized;
    d.kod += q->kod;
    d.bad_sample += q->bad_sample;
  }
  t->b.stats.ntp = d;
}

static int ntp_recv(cohort_proto_t *p, const cohort_msg_t *msg) {
  ntp_proto_t *t = ntp_of(p);
  t->b.stats.received++;
  int rc = 0;
  if (msg->kind == COHORT_NTP_MODE_CLIENT) {
    rc = ntp_serve(t, msg);
  } else if (msg->kind == COHORT_NTP_MODE_SERVER) {
    size_t i = 0;
    while (i < t->peers_len && t->peers[i].id != msg->from) i++;
    if (i == t->peers_len) {
      rc = COHORT_EPROTO; /* a reply from a node we never asked */
    } else {
      int64_t local = ts_local(&t->b);
      rc = cohort_ntp_peer_response(&t->peers[i], msg->payload, msg->payload_len,
                                    cohort_cluster_clock_estimate(&t->b.clock, local), local,
                                    NULL);
      if (rc == 0) {
        t->b.stats.samples++;
        system_update(t, &t->peers[i]);
      }
    }
    sum_drops(t);
  } else {
    rc = COHORT_EPROTO;
  }
  /* A kiss or an unsynchronized server is a valid packet, not a drop. */
  if (rc == COHORT_ECANCELED || rc == COHORT_ESTATE) rc = 0;
  if (rc) t->b.stats.dropped++;
  return rc;
}

static void ntp_timer(cohort_proto_t *p, uint32_t id) {
  ntp_proto_t *t = ntp_of(p);
  if (ts_base_timer(&t->b, id)) return;
  if (id >= 1 && id <= t->peers_len) ntp_poll(t, id - 1);
}

static void ntp_start(cohort_proto_t *p) {
  ntp_proto_t *t = ntp_of(p);
  cohort_node_t *n = p->node;
  ts_base_start(&t->b);
  for (size_t i = 0; i < t->peers_len; i++) {
    int64_t phase = (int64_t)cohort_node_random_below(n, (uint64_t)t->minpoll_ns / 4 + 1);
    (void)cohort_node_timer_set(n, p, (uint32_t)i + 1, cohort_node_now(n) + phase);
  }
}

static const char *ntp_kind_name(uint32_t kind) {
  return kind == COHORT_NTP_MODE_CLIENT ? "ntp_request"
         : kind == COHORT_NTP_MODE_SERVER ? "ntp_reply" : NULL;
}

static const cohort_proto_ops_t ntp_ops = {
    .name = "ntp",
    .proto_id = COHORT_PROTO_TIMESYNC,
    .kind_name = ntp_kind_name,
    .start = ntp_start,
    .recv = ntp_recv,
    .timer = ntp_timer,
};

/* ---- factory ------------------------------------------------------------- */

static int ntp_params(ntp_proto_t *t, cohort_node_id_t self, const cohort_param_t *pr,
                      size_t np, char *err, size_t errcap) {
  static const char *const known[] = {"ref", "servers", "poll", "maxpoll", "burst", "sntp",
                                      "rate", "rate_burst", "step", "sample", "ref_error",
                                      "drift_bound_ppm", "slew_ppm", "phase_gain",
                                      "freq_gain", "chain", NULL};
  int rc = cohort_param_check_known(pr, np, known, "ntp", err, errcap);
  if (!rc) rc = ts_base_params(&t->b, pr, np, "ntp", err, errcap);
  int64_t maxpoll = 16 * COHORT_NS_PER_S, rate = 0;
  uint64_t rate_burst = 8;
  t->minpoll_ns = COHORT_NS_PER_S;
  t->burst = true;
  const char *v;
  if (!rc && (v = cohort_param_get(pr, np, "ref")))
    rc = ts_nodes_parse(v, &t->refs, "ntp", "ref", err, errcap);
  if (!rc && (v = cohort_param_get(pr, np, "servers")))
    rc = ts_nodes_parse(v, &t->servers, "ntp", "servers", err, errcap);
  if (!rc) rc = cohort_param_duration(pr, np, "poll", &t->minpoll_ns, "ntp", err, errcap);
  if (!rc) rc = cohort_param_duration(pr, np, "maxpoll", &maxpoll, "ntp", err, errcap);
  if (!rc) rc = cohort_param_bool(pr, np, "burst", &t->burst, "ntp", err, errcap);
  if (!rc) rc = cohort_param_bool(pr, np, "sntp", &t->sntp, "ntp", err, errcap);
  bool chain = false;
  if (!rc) rc = cohort_param_bool(pr, np, "chain", &chain, "ntp", err, errcap);
  if (!rc && chain && self > 1) { /* node k polls node k − 1 only */
    t->servers.len = 1;
    t->servers.ids[0] = self - 1;
  }
  if (!rc) rc = cohort_param_duration(pr, np, "rate", &rate, "ntp", err, errcap);
  if (!rc) rc = cohort_param_u64(pr, np, "rate_burst", &rate_burst, "ntp", err, errcap);
  if (rc) return rc;
  if (t->minpoll_ns < COHORT_NS_PER_MS || maxpoll < t->minpoll_ns ||
      maxpoll > t->minpoll_ns << POLL_LEVELS_MAX || rate_burst < 1 || rate_burst > 1024) {
    if (err) cohort_fmt(err, errcap, "ntp: need 1ms ≤ poll ≤ maxpoll ≤ poll·1024 and "
                        "rate_burst in 1..1024");
    return COHORT_EINVAL;
  }
  if (t->sntp && t->servers.len != 1 && !ts_nodes_has(&t->refs, self)) {
    if (err) cohort_fmt(err, errcap, "ntp: sntp=on polls exactly one server");
    return COHORT_EINVAL;
  }
  while (t->poll_level_max < POLL_LEVELS_MAX && (t->minpoll_ns << (t->poll_level_max + 1)) <=
                                                     maxpoll)
    t->poll_level_max++;
  cohort_ntp_server_init(&t->server, rate, (uint32_t)rate_burst);
  return 0;
}

static int ntp_create(cohort_node_t *node, const cohort_param_t *params, size_t params_len,
                      cohort_proto_t **out, char *err, size_t errcap) {
  const cohort_allocator_t *a = cohort_node_allocator(node);
  ntp_proto_t *t = cohort_calloc(a, 1, sizeof *t);
  if (!t) return COHORT_ENOMEM;
  cohort_node_id_t self = cohort_node_id(node);
  int rc = ntp_params(t, self, params, params_len, err, errcap);
  if (rc) {
    cohort_free(a, t);
    return rc;
  }
  t->b.is_ref = ts_nodes_has(&t->refs, self);
  if (!t->b.is_ref)
    for (size_t i = 0; i < t->servers.len; i++)
      if (t->servers.ids[i] != self)
        cohort_ntp_peer_init(&t->peers[t->peers_len++], t->servers.ids[i], 0);
  t->b.proto.ops = &ntp_ops;
  t->b.proto.node = node;
  *out = &t->b.proto;
  return 0;
}

static void ntp_destroy(cohort_proto_t *p) {
  if (p) cohort_free(cohort_node_allocator(p->node), p);
}

static int ntp_status(cohort_proto_t *p, char *buf, size_t cap) {
  ntp_proto_t *t = ntp_of(p);
  int64_t local = ts_local(&t->b);
  cohort_time_t now = cohort_cluster_clock_now(&t->b.clock, local);
  int64_t w = now.synchronized ? (now.latest_ns - now.earliest_ns) / 2 : -1;
  return cohort_fmt(buf, cap, "%s stratum=%d offset=%lldns error=±%lldns freq=%.3fppm "
                    "survivors=%zu falsetickers=%llu",
                    t->b.is_ref ? "ref" : now.synchronized ? "synced" : "unsynced",
                    t->b.is_ref ? 1 : t->sys.stratum, (long long)t->b.clock.last_offset_ns,
                    (long long)w, t->b.clock.freq * 1e6, t->sys.survivors,
                    (unsigned long long)t->b.stats.falsetickers);
}

const cohort_proto_factory_t cohort_ntp_factory = {
    .name = "ntp",
    .help = "ntp ref=IDS servers=IDS chain=off poll=1s maxpoll=16s burst=on sntp=off rate=0s "
            "rate_burst=8 step=128ms sample=1s ref_error=1us drift_bound_ppm=200 "
            "slew_ppm=500: NTPv4 client/server disciplining the cluster clock",
    .create = ntp_create,
    .destroy = ntp_destroy,
    .status = ntp_status,
};
