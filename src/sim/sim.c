/*
 * src/sim/sim.c — the deterministic simulator: one thread, virtual true
 * time in ns, an event queue, and the host side of every simulated node.
 *
 * The queue is the hosts' shared min-heap (cohort/heap.h) of small
 * value entries keyed by (true time, insertion sequence), so simultaneous
 * events run in the order they were scheduled. A node has at most one
 * wake-up entry; its heap position
 * is tracked so re-arming is an in-place key change, never a stale entry.
 * Datagrams in flight live in a slot pool whose buffers are reused, so the
 * steady state allocates nothing per event.
 *
 * Invariants:
 *  - the run is a function of (scenario, seed) only: every draw comes from
 *    a stream keyed by (seed, concern, ids) — see models.c;
 *  - a datagram reaches whatever incarnation of its destination is up when
 *    it arrives — a later one too, as real networks deliver — and is
 *    dropped as "crashed" only when the destination is down;
 *  - the heap keeps room for every wake-up and fault event (2n + 16
 *    entries), so only datagrams can be refused when the queue is full;
 *  - links are FIFO unless a datagram is picked for reordering.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/heap.h"
#include "cohort/trace_util.h"
#include "sim_internal.h"

#define SLOT_NONE UINT32_MAX
#define CUT_NEW 0x80 /* link bit: changed by the fault being traced */
#define CUT_SCRIPT 0x01
#define CUT_RANDOM 0x02

typedef enum sim_ev_type {
  EV_WAKE = 0,  /* ref: node id */
  EV_DGRAM,     /* ref: datagram slot */
  EV_FAULT,     /* ref: scenario fault index */
  EV_SLEW_END,  /* ref: scenario fault index */
  EV_RCRASH,    /* random crash process */
  EV_RRESTART,  /* ref: node id */
  EV_RPART,     /* random partition starts */
  EV_RHEAL,     /* random partition heals */
  EV_FAULT_END, /* ref: scenario fault index (omit, slow, slow-link, stuck with for=) */
  EV_GST        /* partial synchrony: the global stabilisation time */
} sim_ev_type_t;

typedef cohort_heap_entry_t sim_event_t;

typedef struct sim_dgram {
  uint8_t *buf;
  uint32_t len, cap;
  cohort_node_id_t from, to;
  uint32_t life;      /* the destination's life when sent */
  uint32_t next_free; /* free list link */
  bool forged;        /* a forged copy (net `forge`): its fate is counted */
} sim_dgram_t;

typedef struct sim_link {
  int64_t last_ns; /* latest delivery time scheduled (FIFO) */
  uint64_t rng;    /* splitmix64 stream of this link */
  uint32_t net;    /* index into sim->nets */
  uint8_t blocked; /* CUT_* bits */
  uint32_t slow_fault;      /* 1 + index of the slow-link fault in force, 0 if none */
  const sim_dist_t *slow;   /* its extra delay */
} sim_link_t;

typedef struct sim_host {
  cohort_sim_t *sim;
  cohort_node_id_t id;
  bool up, random_down, stable_has;
  bool joins_late; /* has a `join` line: not booted at 0 */
  cohort_incarnation_t inc;
  uint32_t life; /* bumped at every crash */
  cohort_node_t *node;
  cohort_proto_t *protos[COHORT_PROTOS_PER_NODE_MAX];
  size_t protos_len;
  int64_t wake_local; /* armed deadline, COHORT_TIME_NEVER if none */
  sim_clock_t clock;
  sim_xoshiro_t rng;
  uint8_t *stable;
  size_t stable_len;
  /* Failure models of the machine (they outlive crashes): each *_fault is
   * 1 + the index of the scenario fault in force, 0 if none, so the end
   * of an earlier one does not undo a later one. */
  double omit_send, omit_recv;
  uint32_t omit_fault;
  const sim_dist_t *slow; /* a slow node: extra delay of its sends and timers */
  uint32_t slow_fault;
  uint64_t slow_rng;
  uint32_t stuck_fault; /* a stuck bit in what it sends */
  uint32_t stuck_bit;
  uint8_t stuck_value;
} sim_host_t;

struct cohort_sim {
  const cohort_scenario_t *sc;
  const cohort_allocator_t *alloc; /* &budget.alloc: counts what we hold */
  sim_budget_t budget;
  sim_fault_log_t *fault_log; /* random faults as applied (shrink), or NULL */
  uint64_t seed;
  int64_t now;
  uint64_t seq;
  uint32_t n;
  sim_host_t *hosts; /* n + 1, index = node id */
  sim_link_t *links; /* (n + 1)², index = from · (n + 1) + to */
  sim_net_t *nets;
  size_t nets_len, nets_cap;
  cohort_heap_t q;
  uint32_t *wake_pos; /* n + 1: heap position of node i's wake-up */
  uint32_t heap_reserve;
  sim_dgram_t *dgrams;
  uint32_t dgrams_len, dgrams_cap, dgram_free;
  uint64_t fault_rng;
  cohort_node_id_t *scratch; /* n + 1 ids */
  uint16_t *side;            /* n + 1 */
  int64_t gst_ns;            /* partial synchrony: GST drawn from the seed */
  uint8_t *xbuf;             /* 2 · COHORT_DATAGRAM_MAX: stuck-bit and forged copies */
  const cohort_proto_ops_t *proto_ops[COHORT_PROTO_ID_MAX + 1];
  const cohort_host_ops_t *ops;
  /* trace */
  bool tracing, keep;
  FILE *file;
  char *file_buf;
  cohort_sim_trace_fn trace_fn;
  void *trace_ud;
  cohort_trace_t trace;
  uint64_t trace_bad;
  char trace_err[256];
  char line[COHORT_TRACE_LINE_MAX];
  char data[COHORT_TRACE_LINE_MAX / 2];
  cohort_sim_results_t r;
};

static _Thread_local cohort_sim_t *current_sim;

cohort_sim_t *cohort_sim_current(void) { return current_sim; }

static inline sim_link_t *link_at(cohort_sim_t *sim, cohort_node_id_t a, cohort_node_id_t b) {
  return &sim->links[(size_t)a * (sim->n + 1) + b];
}

/* ---- event queue --------------------------------------------------------------- */

/* The shared heap (cohort/heap.h); a wake-up is the only tracked
 * entry, its position kept in wake_pos[node id]. */

/* Make room for `extra` more entries beyond the reserve. */
static int heap_room(cohort_sim_t *sim, uint32_t extra) {
  uint64_t need = (uint64_t)sim->q.len + extra + sim->heap_reserve;
  return cohort_heap_reserve(&sim->q, sim->alloc, need, COHORT_SIM_EVENTS_MAX);
}

/* Push into the reserved room: wake-ups and faults never fail. */
static inline void heap_push(cohort_sim_t *sim, int64_t time, sim_ev_type_t type,
                             uint32_t ref) {
  cohort_heap_push(&sim->q, time, ref,
                   type == EV_WAKE ? (uint32_t)type | COHORT_HEAP_TRACKED : (uint32_t)type);
}

/* ---- tracing ------------------------------------------------------------------------ */

static void sim_emit(cohort_sim_t *sim, const char *line, size_t len) {
  sim_budget_t *b = &sim->budget;
  if (b->trace_bytes + len + 1 > b->trace_max) {
    sim_budget_exhaust(b, "trace", b->trace_max);
    return;
  }
  b->trace_bytes += len + 1;
  sim->r.trace_records++;
  if (sim->trace_fn) sim->trace_fn(sim->trace_ud, line, len);
  if (sim->file) {
    fwrite(line, 1, len, sim->file);
    putc('\n', sim->file);
  }
  if (sim->keep) {
    char e[200];
    if (cohort_trace_parse_line(&sim->trace, line, len, (size_t)sim->r.trace_records, e,
                                sizeof e) &&
        sim->trace_bad++ == 0)
      snprintf(sim->trace_err, sizeof sim->trace_err, "record %llu: %s",
               (unsigned long long)sim->r.trace_records, e);
  }
}

static void host_trace(void *host, const char *line, size_t len) {
  sim_emit(((sim_host_t *)host)->sim, line, len);
}

static void emit_event(cohort_sim_t *sim, const cohort_trace_event_t *ev) {
  int len = cohort_trace_format(ev, sim->line, sizeof sim->line);
  if (len > 0) sim_emit(sim, sim->line, (size_t)len);
}

/* A fault's state event: proto "sim", outside the node (no stamps). */
static void trace_fault(cohort_sim_t *sim, const sim_host_t *h, const char *what,
                        const char *data_json) {
  if (!sim->tracing) return;
  cohort_trace_event_t ev = {
      .type = COHORT_EV_STATE, .node = h->id,
      .inc = h->node ? cohort_node_incarnation(h->node) : h->inc,
      .local_ns = sim_clock_wall(&h->clock, sim->now),
      .true_ns = COHORT_SIM_EPOCH_NS + sim->now, .proto = "sim", .peer = COHORT_NODE_NONE,
      .what = what, .data_json = data_json};
  emit_event(sim, &ev);
}

/* What the simulator can tell about a datagram it drops: the envelope's
 * sender, incarnation, sequence, protocol and kind (proto/cohort.proto).
 * A hand-rolled scan of the protobuf fields: no allocation, and bytes
 * that are not an envelope simply yield nothing. */
typedef struct env_info {
  bool has_sender;
  uint64_t f[16]; /* varint fields by number */
} env_info_t;

static bool scan_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return true;
    }
  }
  return false;
}

static void scan_envelope(const uint8_t *buf, size_t len, env_info_t *e) {
  memset(e, 0, sizeof *e);
  if (len < 2 || buf[0] != 0xC0) return;
  if (buf[1] & 2) { /* AEAD: key id, then sender, incarnation and seq in clear */
    if (len < 23) return;
    e->has_sender = true;
    e->f[4] = (uint64_t)buf[3] << 24 | (uint64_t)buf[4] << 16 | (uint64_t)buf[5] << 8 | buf[6];
    for (int i = 0; i < 8; i++) e->f[5] = e->f[5] << 8 | buf[7 + i];
    for (int i = 0; i < 8; i++) e->f[9] = e->f[9] << 8 | buf[15 + i];
    return;
  }
  /* MAC: a key id byte after the flags, the tag at the end. */
  size_t start = (buf[1] & 1) ? 3 : 2;
  size_t body = (buf[1] & 1) ? (len >= start + COHORT_AUTH_TAG_LEN ? len - COHORT_AUTH_TAG_LEN : 0)
                             : len;
  const uint8_t *p = buf + start, *end = buf + (body < start ? start : body);
  while (p < end) {
    uint64_t tag, v;
    if (!scan_varint(&p, end, &tag)) return;
    uint64_t field = tag >> 3;
    switch (tag & 7) {
    case 0:
      if (!scan_varint(&p, end, &v)) return;
      if (field < 16) e->f[field] = v;
      if (field == 4) e->has_sender = true;
      break;
    case 1: if ((size_t)(end - p) < 8) return; p += 8; break;
    case 5: if ((size_t)(end - p) < 4) return; p += 4; break;
    case 2:
      if (!scan_varint(&p, end, &v) || v > (uint64_t)(end - p)) return;
      p += v;
      break;
    default: return;
    }
  }
}

static void trace_drop(cohort_sim_t *sim, cohort_node_id_t from, cohort_node_id_t to,
                       const uint8_t *buf, size_t len, const char *reason) {
  if (!sim->tracing) return;
  const sim_host_t *h = &sim->hosts[to];
  env_info_t e;
  scan_envelope(buf, len, &e);
  cohort_trace_event_t ev = {
      .type = COHORT_EV_DROP, .node = to,
      .inc = h->node ? cohort_node_incarnation(h->node) : h->inc,
      .local_ns = sim_clock_wall(&h->clock, sim->now),
      .true_ns = COHORT_SIM_EPOCH_NS + sim->now, .peer = from, .bytes = len,
      .reason = reason};
  if (e.has_sender) {
    ev.has_msg = true;
    ev.msg = (cohort_msg_id_t){(cohort_node_id_t)e.f[4], e.f[5], e.f[9]};
    const cohort_proto_ops_t *ops = e.f[7] <= COHORT_PROTO_ID_MAX ? sim->proto_ops[e.f[7]] : NULL;
    ev.kind_num = (uint32_t)e.f[8];
    if (ops) {
      ev.proto = ops->name;
      ev.kind = ops->kind_name ? ops->kind_name(ev.kind_num) : NULL;
    }
  }
  emit_event(sim, &ev);
}

/* ---- host ops: what each simulated node sees ----------------------------------------- */

static int64_t host_now(void *host) {
  sim_host_t *h = host;
  return sim_clock_mono(&h->clock, h->sim->now);
}

static int64_t host_wall(void *host) {
  sim_host_t *h = host;
  return sim_clock_wall(&h->clock, h->sim->now);
}

static int64_t host_true_time(void *host) {
  return COHORT_SIM_EPOCH_NS + ((sim_host_t *)host)->sim->now;
}

static uint64_t host_random(void *host) {
  return sim_xoshiro_next(&((sim_host_t *)host)->rng);
}

static void host_wake(void *host, int64_t deadline) {
  sim_host_t *h = host;
  cohort_sim_t *sim = h->sim;
  if (!h->up || deadline == h->wake_local) return;
  h->wake_local = deadline;
  if (deadline == COHORT_TIME_NEVER) {
    if (sim->wake_pos[h->id] != COHORT_HEAP_NONE)
      cohort_heap_remove(&sim->q, sim->wake_pos[h->id]);
    return;
  }
  int64_t t = sim_clock_mono_inverse(&h->clock, deadline);
  if (t < sim->now) t = sim->now;
  if (h->slow) t += sim_dist_sample(h->slow, &h->slow_rng); /* a slow node's timers are late */
  uint32_t pos = sim->wake_pos[h->id];
  if (pos != COHORT_HEAP_NONE) cohort_heap_rekey(&sim->q, pos, t);
  else heap_push(sim, t, EV_WAKE, h->id);
}

/* ---- network --------------------------------------------------------------------------- */

static int dgram_alloc(cohort_sim_t *sim, uint32_t *out) {
  if (sim->dgram_free != SLOT_NONE) {
    *out = sim->dgram_free;
    sim->dgram_free = sim->dgrams[*out].next_free;
    return 0;
  }
  if (sim->dgrams_len == sim->dgrams_cap) {
    uint32_t cap = sim->dgrams_cap ? 2 * sim->dgrams_cap : 1024;
    if (cap > COHORT_SIM_EVENTS_MAX) return COHORT_EFULL;
    sim_dgram_t *d = cohort_realloc(sim->alloc, sim->dgrams, cap * sizeof *d);
    if (!d) return COHORT_ENOMEM;
    memset(d + sim->dgrams_cap, 0, (cap - sim->dgrams_cap) * sizeof *d);
    sim->dgrams = d;
    sim->dgrams_cap = cap;
  }
  *out = sim->dgrams_len++;
  return 0;
}

static void dgram_release(cohort_sim_t *sim, uint32_t slot) {
  sim->dgrams[slot].next_free = sim->dgram_free;
  sim->dgram_free = slot;
}

/* Schedule one copy of a datagram for delivery at true time `at`. */
static int dgram_push(cohort_sim_t *sim, int64_t at, cohort_node_id_t from,
                      cohort_node_id_t to, const uint8_t *buf, size_t len, uint32_t *out) {
  uint32_t slot;
  int rc = heap_room(sim, 1);
  if (!rc) rc = dgram_alloc(sim, &slot);
  if (rc) return rc;
  sim_dgram_t *d = &sim->dgrams[slot];
  if (d->cap < len) {
    uint32_t cap = 128;
    while (cap < len) cap *= 2;
    uint8_t *b = cohort_realloc(sim->alloc, d->buf, cap);
    if (!b) {
      dgram_release(sim, slot);
      return COHORT_ENOMEM;
    }
    d->buf = b;
    d->cap = cap;
  }
  memcpy(d->buf, buf, len);
  d->len = (uint32_t)len;
  d->from = from;
  d->to = to;
  d->life = sim->hosts[to].life;
  d->forged = false;
  heap_push(sim, at, EV_DGRAM, slot);
  if (out) *out = slot;
  return 0;
}

static inline bool chance(uint64_t *rng, double p) {
  return p > 0 && sim_unit(sim_splitmix_next(rng)) < p;
}

static int64_t link_delay(const sim_net_t *net, sim_link_t *l) {
  int64_t d = sim_dist_sample(&net->latency, &l->rng);
  if (net->jitter_ns > 0) d += (int64_t)sim_below(&l->rng, (uint64_t)net->jitter_ns + 1);
  return d;
}

/* Flip 1 to 4 random bits of a datagram in flight (noise a checksum would
 * miss: the receiver's decoder and authentication must stand it). */
static void corrupt(cohort_sim_t *sim, sim_link_t *l, uint32_t slot) {
  sim_dgram_t *d = &sim->dgrams[slot];
  if (!d->len) return;
  sim->r.datagrams_corrupted++;
  uint64_t flips = 1 + sim_below(&l->rng, 4);
  for (uint64_t i = 0; i < flips; i++) {
    uint64_t bit = sim_below(&l->rng, (uint64_t)d->len * 8);
    d->buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
  }
}

/* The network's delay for one copy sent now: latency, jitter and `extra`
 * (reordering), shaped by the timing model — clamped to the bound when
 * synchronous and after GST (what was sent before GST arrives by GST +
 * bound), with a heavy tail added before GST and when asynchronous. */
static int64_t timed_delay(cohort_sim_t *sim, sim_link_t *l, int64_t d) {
  const sim_timing_t *t = &sim->sc->timing;
  int64_t cap = INT64_MAX;
  switch (t->kind) {
  case SIM_TIMING_NONE: return d;
  case SIM_TIMING_SYNC: cap = t->bound_ns; break;
  case SIM_TIMING_PARTIAL:
    if (sim->now < sim->gst_ns) {
      d += sim_dist_sample(&t->extra, &l->rng);
      cap = sim->gst_ns - sim->now + t->bound_ns;
    } else {
      cap = t->bound_ns;
    }
    break;
  case SIM_TIMING_ASYNC:
    d += sim_dist_sample(&t->extra, &l->rng);
    if (d > COHORT_SIM_TIME_MAX_NS) d = COHORT_SIM_TIME_MAX_NS;
    return d;
  }
  if (d > cap) {
    sim->r.timing_clamped++;
    d = cap;
  }
  return d;
}

/* Timing failures on top of the network's delay (they break its bound:
 * that is what a timing failure is): a slow sender, a slow link. */
static int64_t failure_delay(cohort_sim_t *sim, sim_host_t *h, sim_link_t *l) {
  int64_t d = 0;
  if (h->slow) d += sim_dist_sample(h->slow, &h->slow_rng);
  if (l->slow) d += sim_dist_sample(l->slow, &l->rng);
  if (h->slow || l->slow) sim->r.datagrams_slowed++;
  return d;
}

/* A stuck bit of h's interface: *buf points to the altered copy if the
 * bit changed it. */
static void stick_bit(cohort_sim_t *sim, const sim_host_t *h, const uint8_t **buf, size_t len) {
  uint32_t byte = h->stuck_bit / 8;
  uint8_t mask = (uint8_t)(1u << (h->stuck_bit % 8));
  if (byte >= len) return;
  uint8_t v = h->stuck_value ? (uint8_t)((*buf)[byte] | mask) : (uint8_t)((*buf)[byte] & ~mask);
  if (v == (*buf)[byte]) return;
  memcpy(sim->xbuf, *buf, len);
  sim->xbuf[byte] = v;
  *buf = sim->xbuf;
  sim->r.datagrams_stuck++;
}

static size_t put_varint(uint8_t *out, uint64_t v) {
  size_t n = 0;
  for (; v >= 0x80; v >>= 7) out[n++] = (uint8_t)(v | 0x80);
  out[n++] = (uint8_t)v;
  return n;
}

/* buf as if sent by `as`: the AEAD header's sender, or the envelope's
 * sender field (4) rewritten, everything else (the tag too) as it was.
 * The length of the copy, 0 if buf is not an envelope. */
static size_t forge_sender(const uint8_t *buf, size_t len, cohort_node_id_t as, uint8_t *out) {
  if (len < 2 || buf[0] != 0xC0) return 0;
  if (buf[1] & 2) {
    if (len < 23) return 0;
    memcpy(out, buf, len);
    for (int i = 0; i < 4; i++) out[3 + i] = (uint8_t)(as >> (24 - 8 * i));
    return len;
  }
  size_t start = (buf[1] & 1) ? 3 : 2, tag = (buf[1] & 1) ? COHORT_AUTH_TAG_LEN : 0;
  if (len < start + tag || len + 10 > COHORT_DATAGRAM_MAX) return 0;
  const uint8_t *p = buf + start, *end = buf + len - tag;
  size_t w = start;
  bool found = false;
  memcpy(out, buf, start);
  while (p < end) {
    const uint8_t *field = p;
    uint64_t key, v;
    if (!scan_varint(&p, end, &key)) return 0;
    switch (key & 7) {
    case 0: if (!scan_varint(&p, end, &v)) return 0; break;
    case 1: if ((size_t)(end - p) < 8) return 0; p += 8; break;
    case 5: if ((size_t)(end - p) < 4) return 0; p += 4; break;
    case 2:
      if (!scan_varint(&p, end, &v) || v > (uint64_t)(end - p)) return 0;
      p += v;
      break;
    default: return 0;
    }
    if (key == (4 << 3)) { /* sender, varint */
      w += put_varint(out + w, key);
      w += put_varint(out + w, as);
      found = true;
    } else {
      memcpy(out + w, field, (size_t)(p - field));
      w += (size_t)(p - field);
    }
  }
  if (!found) return 0;
  memcpy(out + w, end, tag);
  return w + tag;
}

/* A forged copy of what h sends to `to`: the same bytes claiming another
 * node (neither h nor to) as sender, on the same link. */
static int send_forged(cohort_sim_t *sim, sim_host_t *h, cohort_node_id_t to, sim_link_t *l,
                       const sim_net_t *net, const uint8_t *buf, size_t len) {
  if (sim->n < 3) return 0;
  cohort_node_id_t as = 1 + (cohort_node_id_t)sim_below(&l->rng, sim->n - 2);
  if (as >= (h->id < to ? h->id : to)) as++;
  if (as >= (h->id < to ? to : h->id)) as++;
  uint8_t *copy = sim->xbuf + COHORT_DATAGRAM_MAX;
  size_t n = forge_sender(buf, len, as, copy);
  if (!n) return 0;
  uint32_t slot;
  int rc = dgram_push(sim, sim->now + timed_delay(sim, l, link_delay(net, l)), h->id, to, copy,
                      n, &slot);
  if (rc) return rc;
  sim->dgrams[slot].forged = true;
  sim->r.datagrams_forged++;
  return 0;
}

static int host_send(void *host, cohort_node_id_t to, const uint8_t *buf, size_t len) {
  sim_host_t *h = host;
  cohort_sim_t *sim = h->sim;
  if (to == 0 || to > sim->n || to == h->id) return COHORT_EUNKNOWN;
  if (len > COHORT_DATAGRAM_MAX) return COHORT_EINVAL;
  sim_link_t *l = &sim->links[(size_t)h->id * (sim->n + 1) + to];
  const sim_net_t *net = &sim->nets[l->net];
  sim->r.datagrams_sent++;
  if (h->omit_send > 0 && chance(&l->rng, h->omit_send)) {
    sim->r.drop_send_omission++;
    trace_drop(sim, h->id, to, buf, len, "send-omission");
    return 0;
  }
  if (l->blocked) {
    sim->r.drop_partition++;
    trace_drop(sim, h->id, to, buf, len, "partition");
    return 0;
  }
  if (chance(&l->rng, net->loss)) {
    sim->r.drop_loss++;
    trace_drop(sim, h->id, to, buf, len, "loss");
    return 0;
  }
  if (h->stuck_fault) stick_bit(sim, h, &buf, len);
  int64_t d = link_delay(net, l), extra = 0;
  bool reordered = chance(&l->rng, net->reorder);
  if (reordered) {
    extra = (int64_t)sim_below(&l->rng, (uint64_t)net->reorder_ns + 1);
    sim->r.datagrams_reordered++;
  }
  int64_t at = sim->now + timed_delay(sim, l, d + extra) + failure_delay(sim, h, l);
  if (!reordered) {
    if (at < l->last_ns) at = l->last_ns;
    l->last_ns = at;
  }
  uint32_t slot;
  int rc = dgram_push(sim, at, h->id, to, buf, len, &slot);
  if (!rc && chance(&l->rng, net->corrupt)) corrupt(sim, l, slot);
  if (!rc && chance(&l->rng, net->dup)) {
    sim->r.datagrams_duplicated++;
    rc = dgram_push(sim, sim->now + timed_delay(sim, l, link_delay(net, l)), h->id, to, buf,
                    len, NULL);
  }
  if (!rc && chance(&l->rng, net->replay)) {
    sim->r.datagrams_replayed++;
    rc = dgram_push(sim, sim->now + sim_dist_sample(&net->replay_delay, &l->rng), h->id, to,
                    buf, len, NULL);
  }
  if (!rc && chance(&l->rng, net->forge)) rc = send_forged(sim, h, to, l, net, buf, len);
  if (rc) sim->r.drop_full++;
  return rc;
}

/* An address in the simulator is a node id, 4 bytes big endian. */
static int host_send_addr(void *host, const uint8_t *addr, size_t addr_len, const uint8_t *buf,
                          size_t len) {
  if (addr_len != 4) return COHORT_EUNKNOWN;
  cohort_node_id_t to = (cohort_node_id_t)addr[0] << 24 | (cohort_node_id_t)addr[1] << 16 |
                        (cohort_node_id_t)addr[2] << 8 | addr[3];
  return host_send(host, to, buf, len);
}

static const cohort_host_ops_t ops_traced = {
    .now = host_now, .wall = host_wall, .true_time = host_true_time, .random = host_random,
    .send = host_send, .wake = host_wake, .trace = host_trace, .send_addr = host_send_addr};
static const cohort_host_ops_t ops_quiet = {
    .now = host_now, .wall = host_wall, .true_time = host_true_time, .random = host_random,
    .send = host_send, .wake = host_wake, .send_addr = host_send_addr};

static void deliver(cohort_sim_t *sim, uint32_t slot) {
  sim_dgram_t *d = &sim->dgrams[slot];
  sim_host_t *h = &sim->hosts[d->to];
  if (!h->up) { /* a later incarnation gets what was in flight, as on UDP */
    sim->r.drop_crashed++;
    trace_drop(sim, d->from, d->to, d->buf, d->len, "crashed");
  } else if (h->omit_recv > 0 && chance(&link_at(sim, d->from, d->to)->rng, h->omit_recv)) {
    sim->r.drop_recv_omission++;
    trace_drop(sim, d->from, d->to, d->buf, d->len, "recv-omission");
  } else {
    sim->r.datagrams_delivered++;
    bool forged = d->forged;
    uint64_t auth = cohort_node_stats(h->node)->drop_auth;
    /* d may move if the node sends and the pool grows; the buffer does not. */
    cohort_node_on_datagram(h->node, d->buf, d->len);
    if (forged && h->up && cohort_node_stats(h->node)->drop_auth > auth) sim->r.forged_refused++;
    else if (forged) sim->r.forged_passed++;
  }
  dgram_release(sim, slot);
}

/* ---- node lifecycle -------------------------------------------------------------------- */

static void host_teardown(cohort_sim_t *sim, sim_host_t *h) {
  h->up = false;
  h->inc = cohort_node_incarnation(h->node); /* it may have reincarnated itself */
  if (sim->wake_pos[h->id] != COHORT_HEAP_NONE)
    cohort_heap_remove(&sim->q, sim->wake_pos[h->id]);
  h->wake_local = COHORT_TIME_NEVER;
  for (size_t i = h->protos_len; i-- > 0;) {
    cohort_node_detach(h->node, h->protos[i]);
    sim->sc->protos[i].factory->destroy(h->protos[i]);
  }
  h->protos_len = 0;
  cohort_node_free(h->node);
  h->node = NULL;
  h->life++;
}

/* Create node h with incarnation inc and its protocols (not started). */
static int host_boot(cohort_sim_t *sim, sim_host_t *h, cohort_incarnation_t inc,
                     char *err, size_t errcap) {
  const cohort_scenario_t *sc = sim->sc;
  size_t np = 0;
  for (cohort_node_id_t i = 1; i <= sim->n; i++)
    if (i != h->id) sim->scratch[np++] = i;
  /* Contact points: every other node's address (4-byte big-endian id,
   * host_send_addr's format), as a seed list would give them. */
  cohort_contact_t contacts[COHORT_CONTACTS_MAX];
  size_t nc = 0;
  for (cohort_node_id_t i = 1; i <= sim->n && nc < COHORT_CONTACTS_MAX; i++) {
    if (i == h->id) continue;
    contacts[nc] = (cohort_contact_t){.len = 4, .addr = {(uint8_t)(i >> 24), (uint8_t)(i >> 16),
                                                         (uint8_t)(i >> 8), (uint8_t)i}};
    nc++;
  }
  cohort_node_config_t cfg = {
      .contacts = contacts, .contacts_len = nc,
      .cluster_id = sc->cluster_id, .id = h->id, .incarnation = inc,
      .peers = sim->scratch, .peers_len = np, .key = sc->key_len ? sc->key : NULL,
      .key_len = sc->key_len, .vector_clock = sc->vector_clock,
      .hlc_max_offset_ns = sc->hlc_max_offset_ns, .alloc = sim->alloc};
  int rc = cohort_node_new(&cfg, sim->ops, h, &h->node);
  if (rc) {
    if (err) snprintf(err, errcap, "node %u: %s", h->id, cohort_strerror(rc));
    return rc;
  }
  h->up = true;
  h->inc = inc;
  h->wake_local = COHORT_TIME_NEVER;
  for (size_t i = 0; i < sc->protos_len && !rc; i++) {
    const sim_proto_spec_t *ps = &sc->protos[i];
    cohort_proto_t *p = NULL;
    char e[256] = "";
    rc = ps->factory->create(h->node, ps->params, ps->params_len, &p, e, sizeof e);
    if (!rc && (rc = cohort_node_attach(h->node, p))) {
      p->node = h->node; /* for a destroy that reads it */
      ps->factory->destroy(p);
    }
    if (rc) {
      if (err)
        snprintf(err, errcap, "%s:%u: %s", sc->name, ps->line, e[0] ? e : cohort_strerror(rc));
      break;
    }
    h->protos[h->protos_len++] = p;
    if (p->ops->proto_id <= COHORT_PROTO_ID_MAX) sim->proto_ops[p->ops->proto_id] = p->ops;
  }
  if (rc) host_teardown(sim, h);
  return rc;
}

/* Crash h. notify: fail-stop — every live node is told at once (a
 * perfect failure detector: COHORT_PEER_FAILED through
 * cohort_node_peer_failed); else fail-silent, the others find out only by
 * what they stop receiving. */
static int do_crash(cohort_sim_t *sim, sim_host_t *h, bool notify) {
  if (!h->up) return COHORT_ESTATE;
  trace_fault(sim, h, "crash", notify ? "{\"notify\":true}" : NULL);
  host_teardown(sim, h);
  sim->r.crashes++;
  for (cohort_node_id_t i = 1; notify && i <= sim->n; i++) {
    sim_host_t *o = &sim->hosts[i];
    if (!o->up || o == h) continue;
    cohort_node_peer_failed(o->node, h->id, h->inc);
    sim->r.notices++;
  }
  return 0;
}

static int do_restart(cohort_sim_t *sim, sim_host_t *h, bool stable) {
  if (h->up) return COHORT_ESTATE;
  if (!stable) {
    cohort_free(sim->alloc, h->stable);
    h->stable = NULL;
    h->stable_len = 0;
    h->stable_has = false;
  }
  h->random_down = false;
  int rc = host_boot(sim, h, h->inc + 1, NULL, 0);
  if (rc) return rc;
  trace_fault(sim, h, "restart", stable ? "{\"stable\":true}" : "{\"stable\":false}");
  sim->r.restarts++;
  cohort_node_start(h->node);
  return 0;
}

/* A node's first boot, late (`at T join N`): incarnation 1, traced "join". */
static int do_join(cohort_sim_t *sim, sim_host_t *h) {
  if (h->up) return COHORT_ESTATE;
  int rc = host_boot(sim, h, h->inc + 1, NULL, 0);
  if (rc) return rc;
  trace_fault(sim, h, "join", NULL);
  sim->r.joins++;
  cohort_node_start(h->node);
  return 0;
}

/* control(p, cmd) on protocol `name` of node h (every protocol that has a
 * control op when name is NULL): the operator's command, as `cohort ctl`
 * would give it. A down node is skipped and counted (a random crash got
 * there first; scripted orders were checked at parse time). */
static void do_control(cohort_sim_t *sim, sim_host_t *h, const char *name, const char *cmd) {
  if (!h->up) {
    sim->r.ignored++;
    return;
  }
  const cohort_scenario_t *sc = sim->sc;
  int called = 0, failed = 0, rc = 0;
  for (size_t i = 0; i < h->protos_len; i++) {
    cohort_proto_t *p = h->protos[i];
    if ((name && strcmp(sc->protos[i].name, name)) || !p->ops->control) continue;
    int r = p->ops->control(p, cmd);
    called++;
    if (r) failed++, rc = r;
  }
  sim->r.control_errors += (uint64_t)failed;
  if (name) {
    sim->r.controls++;
    snprintf(sim->data, sizeof sim->data, "{\"proto\":\"%s\",\"cmd\":\"%s\",\"rc\":%d}",
             name, cmd, called ? rc : COHORT_EUNKNOWN);
    if (!called) sim->r.control_errors++;
    trace_fault(sim, h, "ctl", sim->data);
  } else {
    sim->r.leaves++;
    snprintf(sim->data, sizeof sim->data, "{\"protos\":%d,\"failed\":%d}", called, failed);
    trace_fault(sim, h, "leave", sim->data);
  }
}

/* ---- partitions --------------------------------------------------------------------- */


/* Append "[i,j,...]" of the peers whose link to/from node a carries
 * CUT_NEW (out: a -> peer; in: peer -> a). */
static size_t cut_list(cohort_sim_t *sim, cohort_node_id_t a, bool out, char *buf, size_t cap,
                       size_t pos, bool *any) {
  pos += (size_t)snprintf(buf + pos, cap - pos, "[");
  bool first = true;
  for (cohort_node_id_t b = 1; b <= sim->n && pos + 16 < cap; b++) {
    if (b == a || !((out ? link_at(sim, a, b) : link_at(sim, b, a))->blocked & CUT_NEW)) continue;
    pos += (size_t)snprintf(buf + pos, cap - pos, first ? "%u" : ",%u", b);
    first = false;
    *any = true;
  }
  return pos + (size_t)snprintf(buf + pos, cap - pos, "]");
}

/* Trace `what` on every node with a CUT_NEW link, then clear the marks. */
static void trace_cuts(cohort_sim_t *sim, const char *what) {
  if (sim->tracing) {
    for (cohort_node_id_t a = 1; a <= sim->n; a++) {
      bool any = false;
      size_t cap = sizeof sim->data, pos = (size_t)snprintf(sim->data, cap, "{\"out\":");
      pos = cut_list(sim, a, true, sim->data, cap, pos, &any);
      pos += (size_t)snprintf(sim->data + pos, cap - pos, ",\"in\":");
      pos = cut_list(sim, a, false, sim->data, cap, pos, &any);
      snprintf(sim->data + pos, cap - pos, "}");
      if (any) trace_fault(sim, &sim->hosts[a], what, sim->data);
    }
  }
  size_t links = (size_t)(sim->n + 1) * (sim->n + 1);
  for (size_t i = 0; i < links; i++) sim->links[i].blocked &= (uint8_t)~CUT_NEW;
}

/* Block a -> b for every pair the sides select. groups: side[] are group
 * numbers and links between different groups are cut both ways; else
 * side bit 1 marks senders and bit 2 receivers (one way). */
static void apply_cut(cohort_sim_t *sim, const uint16_t *side, bool groups, uint8_t bit) {
  bool changed = false;
  for (cohort_node_id_t a = 1; a <= sim->n; a++)
    for (cohort_node_id_t b = 1; b <= sim->n; b++) {
      bool cut = groups ? side[a] && side[b] && side[a] != side[b]
                        : (side[a] & 1) && (side[b] & 2) && a != b;
      sim_link_t *l = link_at(sim, a, b);
      if (!cut) continue;
      if (!(l->blocked & (CUT_SCRIPT | CUT_RANDOM))) l->blocked |= CUT_NEW;
      l->blocked |= bit;
      changed = true;
    }
  if (changed) sim->r.partitions++;
  trace_cuts(sim, "partition");
}

/* Clear `bits` on every link; trace "heal" for links that reopen. */
static void apply_heal(cohort_sim_t *sim, uint8_t bits) {
  size_t links = (size_t)(sim->n + 1) * (sim->n + 1);
  bool any = false;
  for (size_t i = 0; i < links; i++) {
    sim_link_t *l = &sim->links[i];
    if (!(l->blocked & bits)) continue;
    l->blocked &= (uint8_t)~bits;
    if (!l->blocked) l->blocked = CUT_NEW, any = true;
  }
  if (any) sim->r.heals++;
  trace_cuts(sim, "heal");
}

/* ---- faults ------------------------------------------------------------------------------ */

/* "[2,3]": the nodes b with side[b] & 2 (a slow link's destinations). */
static void side_list(const cohort_sim_t *sim, const uint16_t *side, char *buf, size_t cap) {
  size_t pos = (size_t)snprintf(buf, cap, "[");
  for (cohort_node_id_t b = 1; b <= sim->n && pos + 16 < cap; b++)
    if (side[b] == 2) pos += (size_t)snprintf(buf + pos, cap - pos, pos > 1 ? ",%u" : "%u", b);
  snprintf(buf + pos, cap - pos, "]");
}

/* Start (on) or end a slow-link fault (index i): every selected link. */
static void apply_slow_link(cohort_sim_t *sim, const sim_fault_t *f, uint32_t i, bool on) {
  char to[1024];
  for (cohort_node_id_t a = 1; a <= sim->n; a++)
    for (cohort_node_id_t b = 1; b <= sim->n; b++) {
      bool sel = a != b && ((f->side[a] == 1 && f->side[b] == 2) ||
                            (f->both && f->side[a] == 2 && f->side[b] == 1));
      sim_link_t *l = link_at(sim, a, b);
      if (!sel || (!on && l->slow_fault != i + 1)) continue;
      l->slow = on ? &f->delay : NULL;
      l->slow_fault = on ? i + 1 : 0;
    }
  side_list(sim, f->side, to, sizeof to);
  snprintf(sim->data, sizeof sim->data, "{\"to\":%s,\"both\":%s,\"mean_ns\":%.0f,\"for_ns\":%lld}",
           to, f->both ? "true" : "false", sim_dist_mean(&f->delay), (long long)f->for_ns);
  for (cohort_node_id_t a = 1; a <= sim->n; a++)
    if (f->side[a] == 1 || (f->both && f->side[a] == 2))
      trace_fault(sim, &sim->hosts[a], on ? "slow-link" : "slow-link-end",
                                     sim->data);
  if (on) sim->r.timing_faults++;
}

/* The failure models of a node (omit, slow, stuck), fault index i: start
 * (on) or end (only if it is still the one in force). */
static void apply_model(cohort_sim_t *sim, const sim_fault_t *f, uint32_t i, bool on) {
  sim_host_t *h = &sim->hosts[f->node];
  uint32_t *cur = f->kind == SIM_FAULT_OMIT ? &h->omit_fault
                : f->kind == SIM_FAULT_SLOW ? &h->slow_fault : &h->stuck_fault;
  if (!on && *cur != i + 1) return;
  *cur = on ? i + 1 : 0;
  const char *what;
  if (f->kind == SIM_FAULT_OMIT) {
    h->omit_send = on ? f->omit_send : 0;
    h->omit_recv = on ? f->omit_recv : 0;
    what = on ? "omit" : "omit-end";
    snprintf(sim->data, sizeof sim->data, "{\"send\":%.6g,\"recv\":%.6g,\"for_ns\":%lld}",
             f->omit_send, f->omit_recv, (long long)f->for_ns);
    if (on) sim->r.omissions++;
  } else if (f->kind == SIM_FAULT_SLOW) {
    h->slow = on ? &f->delay : NULL;
    what = on ? "slow" : "slow-end";
    snprintf(sim->data, sizeof sim->data, "{\"mean_ns\":%.0f,\"for_ns\":%lld}",
             sim_dist_mean(&f->delay), (long long)f->for_ns);
    if (on) sim->r.timing_faults++;
  } else {
    h->stuck_bit = f->bit;
    h->stuck_value = f->bit_value;
    what = on ? "stuck" : "stuck-end";
    snprintf(sim->data, sizeof sim->data, "{\"bit\":%u,\"value\":%u,\"for_ns\":%lld}",
             f->bit, f->bit_value, (long long)f->for_ns);
    if (on) sim->r.stuck_faults++;
  }
  trace_fault(sim, h, what, sim->data);
}

static void apply_fault(cohort_sim_t *sim, const sim_fault_t *f) {
  sim_host_t *h = &sim->hosts[f->node];
  uint32_t index = (uint32_t)(f - sim->sc->faults);
  switch (f->kind) {
  case SIM_FAULT_CRASH:
    do_crash(sim, h, f->notify);
    break;
  case SIM_FAULT_RESTART:
    do_restart(sim, h, f->stable);
    break;
  case SIM_FAULT_PARTITION:
  case SIM_FAULT_BLOCK:
    apply_cut(sim, f->side, f->kind == SIM_FAULT_PARTITION, CUT_SCRIPT);
    break;
  case SIM_FAULT_HEAL:
    apply_heal(sim, CUT_SCRIPT | CUT_RANDOM);
    break;
  case SIM_FAULT_STEP:
    sim_clock_step(&h->clock, sim->now, f->amount_ns);
    sim->r.steps++;
    snprintf(sim->data, sizeof sim->data, "{\"by_ns\":%lld}", (long long)f->amount_ns);
    trace_fault(sim, h, "step", sim->data);
    break;
  case SIM_FAULT_SLEW:
    sim_clock_slew(&h->clock, sim->now, f->rate_ppb);
    sim->r.slews++;
    snprintf(sim->data, sizeof sim->data, "{\"rate_ppb\":%lld,\"for_ns\":%lld}",
             (long long)f->rate_ppb, (long long)f->for_ns);
    trace_fault(sim, h, "slew", sim->data);
    break;
  case SIM_FAULT_JOIN:
    do_join(sim, h);
    break;
  case SIM_FAULT_LEAVE:
    do_control(sim, h, NULL, "leave");
    break;
  case SIM_FAULT_CTL:
    do_control(sim, h, f->proto, f->cmd);
    break;
  case SIM_FAULT_OMIT:
  case SIM_FAULT_SLOW:
  case SIM_FAULT_STUCK:
    apply_model(sim, f, index, true);
    break;
  case SIM_FAULT_SLOW_LINK:
    apply_slow_link(sim, f, index, true);
    break;
  }
}

/* The end of a failure model's for=D. */
static void end_fault(cohort_sim_t *sim, uint32_t index) {
  const sim_fault_t *f = &sim->sc->faults[index];
  if (f->kind == SIM_FAULT_SLOW_LINK) apply_slow_link(sim, f, index, false);
  else apply_model(sim, f, index, false);
}

/* GST (partial synchrony): traced on every node, so diagrams and the
 * liveness checkers see when delays became bounded. */
static void trace_gst(cohort_sim_t *sim) {
  snprintf(sim->data, sizeof sim->data, "{\"bound_ns\":%lld}",
           (long long)sim->sc->timing.bound_ns);
  for (cohort_node_id_t a = 1; a <= sim->n; a++) trace_fault(sim, &sim->hosts[a], "gst", sim->data);
}

static int64_t draw_between(cohort_sim_t *sim, int64_t lo, int64_t hi) {
  return lo + (int64_t)sim_below(&sim->fault_rng, (uint64_t)(hi - lo) + 1);
}

static int64_t draw_exp(cohort_sim_t *sim, int64_t mean) {
  sim_dist_t d = {.kind = SIM_DIST_EXP, .a = mean};
  return 1 + sim_dist_sample(&d, &sim->fault_rng);
}

/* Record a random fault as the explicit one it amounts to (for the
 * shrinker: src/sim/shrink.c). side: n + 1 entries to copy, or NULL;
 * stable: a restart kept stable storage, a crash notified. */
static void log_fault(cohort_sim_t *sim, sim_fault_kind_t kind, cohort_node_id_t node,
                      bool stable, const uint16_t *side) {
  sim_fault_log_t *log = sim->fault_log;
  if (!log || log->failed) return;
  /* `stable` of a crash: it notified (fail-stop) */
  sim_fault_t f = {.at_ns = sim->now, .kind = kind, .node = node,
                   .stable = kind == SIM_FAULT_RESTART && stable,
                   .notify = kind == SIM_FAULT_CRASH && stable};
  if (side) {
    f.side = cohort_calloc(log->alloc, (size_t)sim->n + 1, sizeof *f.side);
    if (!f.side) {
      log->failed = true;
      return;
    }
    memcpy(f.side, side, ((size_t)sim->n + 1) * sizeof *f.side);
  }
  if (sim_fault_log_push(log, &f)) {
    cohort_free(log->alloc, f.side);
    log->failed = true;
  }
}

/* Schedule a random process's next event if it falls before its end. */
static void random_next(cohort_sim_t *sim, sim_ev_type_t type, int64_t mtbf) {
  int64_t at = sim->now + draw_exp(sim, mtbf);
  if (at < sim->sc->random.end_ns) heap_push(sim, at, type, 0);
}

static void random_crash(cohort_sim_t *sim) {
  const sim_random_faults_t *r = &sim->sc->random;
  uint32_t down = 0, up = 0;
  for (cohort_node_id_t i = 1; i <= sim->n; i++)
    if (sim->hosts[i].up) sim->scratch[up++] = i;
    else down++;
  if (up > 0 && down < r->max_down) {
    sim_host_t *h = &sim->hosts[sim->scratch[sim_below(&sim->fault_rng, up)]];
    do_crash(sim, h, r->notify);
    log_fault(sim, SIM_FAULT_CRASH, h->id, r->notify, NULL);
    h->random_down = true;
    heap_push(sim, sim->now + draw_between(sim, r->down_min_ns, r->down_max_ns), EV_RRESTART,
              h->id);
  }
  random_next(sim, EV_RCRASH, r->crash_mtbf_ns);
}

static void random_partition(cohort_sim_t *sim) {
  const sim_random_faults_t *r = &sim->sc->random;
  uint32_t n = sim->n;
  if (n >= 2) {
    /* k nodes (1..n/2) picked by a partial Fisher-Yates shuffle. */
    uint32_t k = 1 + (uint32_t)sim_below(&sim->fault_rng, n / 2);
    for (uint32_t i = 0; i < n; i++) sim->scratch[i] = i + 1;
    for (uint32_t i = 0; i < k; i++) {
      uint32_t j = i + (uint32_t)sim_below(&sim->fault_rng, n - i);
      cohort_node_id_t t = sim->scratch[i];
      sim->scratch[i] = sim->scratch[j];
      sim->scratch[j] = t;
    }
    bool oneway = chance(&sim->fault_rng, r->oneway);
    for (uint32_t i = 0; i < n; i++) sim->side[sim->scratch[i]] = i < k ? 1 : 2;
    apply_cut(sim, sim->side, !oneway, CUT_RANDOM);
    sim->side[0] = 0;
    log_fault(sim, oneway ? SIM_FAULT_BLOCK : SIM_FAULT_PARTITION, 0, false, sim->side);
  }
  heap_push(sim, sim->now + draw_between(sim, r->part_min_ns, r->part_max_ns), EV_RHEAL, 0);
}

static void dispatch(cohort_sim_t *sim, sim_event_t ev) {
  const cohort_scenario_t *sc = sim->sc;
  switch ((sim_ev_type_t)(ev.kind & ~COHORT_HEAP_TRACKED)) {
  case EV_WAKE: {
    sim_host_t *h = &sim->hosts[ev.ref];
    h->wake_local = COHORT_TIME_NEVER;
    cohort_node_on_wake(h->node);
    break;
  }
  case EV_DGRAM:
    deliver(sim, ev.ref);
    break;
  case EV_FAULT:
    apply_fault(sim, &sc->faults[ev.ref]);
    break;
  case EV_SLEW_END:
    sim_clock_slew(&sim->hosts[sc->faults[ev.ref].node].clock, sim->now,
                   -sc->faults[ev.ref].rate_ppb);
    break;
  case EV_RCRASH:
    random_crash(sim);
    break;
  case EV_RRESTART:
    if (sim->hosts[ev.ref].random_down &&
        do_restart(sim, &sim->hosts[ev.ref], sc->random.stable) == 0)
      log_fault(sim, SIM_FAULT_RESTART, ev.ref, sc->random.stable, NULL);
    break;
  case EV_RPART:
    random_partition(sim);
    break;
  case EV_RHEAL:
    apply_heal(sim, CUT_RANDOM);
    log_fault(sim, SIM_FAULT_HEAL, 0, false, NULL);
    random_next(sim, EV_RPART, sc->random.part_mtbf_ns);
    break;
  case EV_FAULT_END:
    end_fault(sim, ev.ref);
    break;
  case EV_GST:
    trace_gst(sim);
    break;
  }
}

/* ---- running ---------------------------------------------------------------------------- */

/* Copy the budgets' state into the results; COHORT_EFULL if one ran out. */
static int budget_report(cohort_sim_t *sim) {
  const sim_budget_t *b = &sim->budget;
  sim->r.memory_bytes_peak = b->mem_peak;
  sim->r.trace_bytes = b->trace_bytes;
  if (!b->exhausted) return 0;
  sim->r.budget = b->exhausted;
  sim_budget_message(b, sim->r.budget_msg, sizeof sim->r.budget_msg);
  return COHORT_EFULL;
}

int cohort_sim_run_until(cohort_sim_t *sim, int64_t t_ns) {
  if (sim->budget.exhausted) return budget_report(sim);
  cohort_sim_t *outer = current_sim;
  current_sim = sim;
  uint64_t events = 0;
  uint64_t left = sim->budget.events_max > sim->r.events ? sim->budget.events_max - sim->r.events
                                                        : 0;
  while (!cohort_heap_empty(&sim->q) && cohort_heap_top(&sim->q)->time <= t_ns) {
    if (events == left) {
      sim_budget_exhaust(&sim->budget, "events", sim->budget.events_max);
      break;
    }
    sim_event_t ev = cohort_heap_pop(&sim->q);
    sim->now = ev.time;
    dispatch(sim, ev);
    events++;
    if (sim->budget.exhausted) break;
  }
  if (t_ns > sim->now && !sim->budget.exhausted) sim->now = t_ns;
  sim->r.events += events;
  sim->r.virtual_ns = sim->now;
  current_sim = outer;
  int rc = budget_report(sim);
  if (!rc && sim->file && ferror(sim->file)) rc = COHORT_EIO;
  return rc;
}

int cohort_sim_check(cohort_sim_t *sim) {
  if (!sim->keep) return COHORT_ESTATE;
  const cohort_scenario_t *sc = sim->sc;
  cohort_sim_results_t *r = &sim->r;
  cohort_trace_sort(&sim->trace);
  r->violations = 0;
  r->checks_len = 0;
  for (size_t i = 0; i < sc->checks_len; i++) {
    const sim_check_spec_t *c = &sc->checks[i];
    cohort_sim_check_outcome_t *o = &r->checks[r->checks_len++];
    memset(o, 0, sizeof *o);
    o->text = c->text;
    const cohort_checker_t *ck = cohort_checker_find(c->name);
    o->rc = ck ? ck->run(&sim->trace, c->params, c->params_len, &o->result, o->err,
                         sizeof o->err)
               : COHORT_ENOTFOUND;
    if (o->rc) r->violations++;
    else r->violations += o->result.violations;
  }
  if (sim->trace_bad) {
    /* The trace we wrote does not parse back: a defect worth failing on. */
    r->violations += sim->trace_bad;
    if (r->checks_len < COHORT_SIM_CHECKS_MAX) {
      cohort_sim_check_outcome_t *o = &r->checks[r->checks_len++];
      memset(o, 0, sizeof *o);
      o->text = "trace-parse";
      o->rc = COHORT_EPROTO;
      snprintf(o->err, sizeof o->err, "%s", sim->trace_err);
    }
  }
  r->checked = true;
  return 0;
}

int cohort_sim_run(cohort_sim_t *sim) {
  int rc = cohort_sim_run_until(sim, sim->sc->duration_ns);
  if (sim->file && fflush(sim->file)) rc = COHORT_EIO;
  if (!rc && sim->keep) rc = cohort_sim_check(sim);
  return rc;
}

/* ---- construction ------------------------------------------------------------------------ */

static bool net_equal(const sim_net_t *a, const sim_net_t *b) {
  return a->latency.kind == b->latency.kind && a->latency.a == b->latency.a &&
         a->latency.b == b->latency.b && a->latency.x == b->latency.x &&
         a->jitter_ns == b->jitter_ns && a->loss == b->loss && a->dup == b->dup &&
         a->reorder == b->reorder && a->reorder_ns == b->reorder_ns &&
         a->replay == b->replay && a->corrupt == b->corrupt &&
         a->replay_delay.kind == b->replay_delay.kind &&
         a->replay_delay.a == b->replay_delay.a && a->replay_delay.b == b->replay_delay.b &&
         a->replay_delay.x == b->replay_delay.x && a->forge == b->forge;
}

/* Resolve every link's parameters (defaults, then matching `link` lines
 * in order) into a small table of distinct parameter sets. */
static int setup_links(cohort_sim_t *sim) {
  const cohort_scenario_t *sc = sim->sc;
  uint32_t n1 = sim->n + 1;
  for (cohort_node_id_t a = 0; a < n1; a++)
    for (cohort_node_id_t b = 0; b < n1; b++) {
      sim_link_t *l = link_at(sim, a, b);
      l->rng = sim_stream_seed(sim->seed, SIM_STREAM_NET, a, b);
      sim_net_t net = sc->net;
      for (size_t i = 0; i < sc->links_len; i++) {
        const sim_link_spec_t *ls = &sc->links[i];
        if ((!ls->from || ls->from == a) && (!ls->to || ls->to == b)) sim_net_merge(&net, &ls->net);
      }
      size_t k = 0;
      while (k < sim->nets_len && !net_equal(&sim->nets[k], &net)) k++;
      if (k == sim->nets_len) {
        if (sim->nets_len == sim->nets_cap) {
          size_t cap = sim->nets_cap ? 2 * sim->nets_cap : 4;
          sim_net_t *t = cohort_realloc(sim->alloc, sim->nets, cap * sizeof *t);
          if (!t) return COHORT_ENOMEM;
          sim->nets = t;
          sim->nets_cap = cap;
        }
        sim->nets[sim->nets_len++] = net;
      }
      l->net = (uint32_t)k;
    }
  return 0;
}

/* Random value in [-max, max] from a node's clock stream. */
static int64_t draw_sym(uint64_t *rng, int64_t max) {
  return max > 0 ? (int64_t)sim_below(rng, 2 * (uint64_t)max + 1) - max : 0;
}

static void setup_hosts(cohort_sim_t *sim) {
  const cohort_scenario_t *sc = sim->sc;
  for (cohort_node_id_t i = 0; i <= sim->n; i++) {
    sim_host_t *h = &sim->hosts[i];
    const sim_clock_spec_t *cs = &sc->clocks[i];
    uint64_t crng = sim_stream_seed(sim->seed, SIM_STREAM_CLOCK, i, 0);
    int64_t drift = draw_sym(&crng, sc->random_drift_ppb);
    int64_t offset = draw_sym(&crng, sc->random_offset_ns);
    sim_clock_init(&h->clock, cs->drift_set ? cs->drift_ppb : drift,
                   cs->offset_set ? cs->offset_ns : offset);
    sim_xoshiro_seed(&h->rng, sim_stream_seed(sim->seed, SIM_STREAM_NODE, i, 0));
    h->slow_rng = sim_stream_seed(sim->seed, SIM_STREAM_SLOW, i, 0);
    h->sim = sim;
    h->id = i;
    sim->wake_pos[i] = COHORT_HEAP_NONE;
    h->wake_local = COHORT_TIME_NEVER;
  }
}

static int setup_trace(cohort_sim_t *sim, const cohort_sim_config_t *cfg, char *err,
                       size_t errcap) {
  sim->trace_fn = cfg->trace_fn;
  sim->trace_ud = cfg->trace_ud;
  sim->keep = cfg->run_checks;
  cohort_trace_init(&sim->trace);
  if (cfg->trace_path) {
    sim->file = cohort_trace_fopen(cfg->trace_path, "w"); /* NAME.gz: compressed */
    if (!sim->file) {
      if (err) snprintf(err, errcap, "%s: cannot write: %s", cfg->trace_path, strerror(errno));
      return COHORT_EIO;
    }
    sim->file_buf = cohort_alloc(sim->alloc, 1 << 20);
    if (sim->file_buf) setvbuf(sim->file, sim->file_buf, _IOFBF, 1 << 20);
  }
  sim->tracing = sim->file || sim->trace_fn || sim->keep;
  sim->ops = sim->tracing ? &ops_traced : &ops_quiet;
  return 0;
}

/* Queue the scripted faults and the first events of the random ones. */
static void setup_faults(cohort_sim_t *sim) {
  const cohort_scenario_t *sc = sim->sc;
  for (size_t i = 0; i < sc->faults_len; i++) {
    heap_push(sim, sc->faults[i].at_ns, EV_FAULT, (uint32_t)i);
    if (sc->faults[i].kind == SIM_FAULT_SLEW)
      heap_push(sim, sc->faults[i].at_ns + sc->faults[i].for_ns, EV_SLEW_END, (uint32_t)i);
    else if (sc->faults[i].kind >= SIM_FAULT_OMIT && sc->faults[i].for_ns > 0)
      heap_push(sim, sc->faults[i].at_ns + sc->faults[i].for_ns, EV_FAULT_END, (uint32_t)i);
  }
  sim->gst_ns = -1;
  sim->r.gst_ns = -1;
  if (sc->timing.kind == SIM_TIMING_PARTIAL) {
    uint64_t trng = sim_stream_seed(sim->seed, SIM_STREAM_TIMING, 0, 0);
    const sim_timing_t *t = &sc->timing;
    sim->gst_ns = t->gst_min_ns + (int64_t)sim_below(&trng, (uint64_t)(t->gst_max_ns -
                                                                       t->gst_min_ns) + 1);
    sim->r.gst_ns = sim->gst_ns;
    if (sim->gst_ns <= sc->duration_ns) heap_push(sim, sim->gst_ns, EV_GST, 0);
  }
  sim->fault_rng = sim_stream_seed(sim->seed, SIM_STREAM_FAULT, 0, 0);
  const sim_random_faults_t *r = &sc->random;
  if (!r->on) return;
  sim->now = r->start_ns;
  if (r->crash_mtbf_ns) random_next(sim, EV_RCRASH, r->crash_mtbf_ns);
  if (r->part_mtbf_ns) random_next(sim, EV_RPART, r->part_mtbf_ns);
  sim->now = 0;
}

static int sim_alloc_tables(cohort_sim_t *sim) {
  const cohort_scenario_t *sc = sim->sc;
  size_t n1 = (size_t)sim->n + 1;
  sim->hosts = cohort_calloc(sim->alloc, n1, sizeof *sim->hosts);
  sim->links = cohort_calloc(sim->alloc, n1 * n1, sizeof *sim->links);
  sim->scratch = cohort_calloc(sim->alloc, n1, sizeof *sim->scratch);
  sim->side = cohort_calloc(sim->alloc, n1, sizeof *sim->side);
  sim->wake_pos = cohort_calloc(sim->alloc, n1, sizeof *sim->wake_pos);
  sim->xbuf = cohort_alloc(sim->alloc, 2 * (size_t)COHORT_DATAGRAM_MAX);
  if (!sim->hosts || !sim->links || !sim->scratch || !sim->side || !sim->wake_pos || !sim->xbuf)
    return COHORT_ENOMEM;
  cohort_heap_init(&sim->q, sim->wake_pos);
  sim->heap_reserve = 2 * sim->n + 16;
  sim->dgram_free = SLOT_NONE;
  uint64_t faults = 2 * (uint64_t)sc->faults_len;
  if (faults + sim->heap_reserve + 1024 > COHORT_SIM_EVENTS_MAX) return COHORT_EFULL;
  return heap_room(sim, (uint32_t)faults + 1024);
}

int cohort_sim_new(const cohort_scenario_t *s, const cohort_sim_config_t *cfg,
                   cohort_sim_t **out, char *err, size_t errcap) {
  if (!s || !cfg || !out) return COHORT_EINVAL;
  const cohort_allocator_t *a = cfg->alloc ? cfg->alloc : s->alloc;
  cohort_sim_t *sim = cohort_calloc(a, 1, sizeof *sim);
  if (!sim) return COHORT_ENOMEM;
  sim->sc = s;
  sim_budget_init(&sim->budget, a, cfg->max_events, cfg->max_memory_bytes,
                  cfg->max_trace_bytes);
  sim->alloc = &sim->budget.alloc;
  sim->seed = cfg->seed;
  sim->n = s->nodes;
  int rc = sim_alloc_tables(sim);
  if (!rc) rc = setup_links(sim);
  if (!rc) rc = setup_trace(sim, cfg, err, errcap);
  if (rc) goto fail;
  setup_hosts(sim);
  setup_faults(sim);
  cohort_sim_t *outer = current_sim;
  current_sim = sim;
  for (size_t i = 0; i < s->faults_len; i++)
    if (s->faults[i].kind == SIM_FAULT_JOIN) sim->hosts[s->faults[i].node].joins_late = true;
  for (cohort_node_id_t i = 1; i <= sim->n && !rc; i++)
    if (!sim->hosts[i].joins_late) rc = host_boot(sim, &sim->hosts[i], 1, err, errcap);
  for (cohort_node_id_t i = 1; i <= sim->n && !rc; i++)
    if (sim->hosts[i].up) cohort_node_start(sim->hosts[i].node);
  current_sim = outer;
  if (rc) goto fail;
  *out = sim;
  return 0;
fail:
  if (sim->budget.exhausted) rc = COHORT_EFULL;
  if (err && errcap && sim->budget.exhausted) sim_budget_message(&sim->budget, err, errcap);
  else if (err && errcap && rc == COHORT_ENOMEM) snprintf(err, errcap, "out of memory");
  else if (err && errcap && rc == COHORT_EFULL) snprintf(err, errcap, "too many events");
  cohort_sim_free(sim);
  return rc;
}

void cohort_sim_free(cohort_sim_t *sim) {
  if (!sim) return;
  const cohort_allocator_t *a = sim->alloc;
  sim->tracing = false;
  for (cohort_node_id_t i = 1; sim->hosts && i <= sim->n; i++) {
    if (sim->hosts[i].up) host_teardown(sim, &sim->hosts[i]);
    cohort_free(a, sim->hosts[i].stable);
  }
  for (uint32_t i = 0; i < sim->dgrams_len; i++) cohort_free(a, sim->dgrams[i].buf);
  if (sim->file) fclose(sim->file);
  cohort_free(a, sim->file_buf);
  cohort_trace_close(&sim->trace);
  cohort_free(a, sim->dgrams);
  cohort_heap_close(&sim->q, a);
  cohort_free(a, sim->wake_pos);
  cohort_free(a, sim->nets);
  cohort_free(a, sim->links);
  cohort_free(a, sim->hosts);
  cohort_free(a, sim->scratch);
  cohort_free(a, sim->side);
  cohort_free(a, sim->xbuf);
  cohort_free(sim->budget.user, sim);
}

void sim_record_faults(cohort_sim_t *sim, sim_fault_log_t *log) { sim->fault_log = log; }

/* ---- accessors ---------------------------------------------------------------------------- */

int64_t cohort_sim_now(const cohort_sim_t *sim) { return sim->now; }
const cohort_sim_results_t *cohort_sim_results(const cohort_sim_t *sim) { return &sim->r; }
const cohort_scenario_t *cohort_sim_scenario(const cohort_sim_t *sim) { return sim->sc; }

static sim_host_t *host_get(const cohort_sim_t *sim, cohort_node_id_t id) {
  return id >= 1 && id <= sim->n ? &sim->hosts[id] : NULL;
}

cohort_node_t *cohort_sim_node(cohort_sim_t *sim, cohort_node_id_t id) {
  sim_host_t *h = host_get(sim, id);
  return h && h->up ? h->node : NULL;
}

cohort_proto_t *cohort_sim_proto(cohort_sim_t *sim, cohort_node_id_t id, const char *name) {
  sim_host_t *h = host_get(sim, id);
  if (!h || !h->up) return NULL;
  for (size_t i = 0; i < h->protos_len; i++)
    if (!strcmp(sim->sc->protos[i].name, name)) return h->protos[i];
  return NULL;
}

bool cohort_sim_node_up(const cohort_sim_t *sim, cohort_node_id_t id) {
  sim_host_t *h = host_get(sim, id);
  return h && h->up;
}

cohort_incarnation_t cohort_sim_incarnation(const cohort_sim_t *sim, cohort_node_id_t id) {
  sim_host_t *h = host_get(sim, id);
  return !h ? 0 : h->node ? cohort_node_incarnation(h->node) : h->inc;
}

int64_t cohort_sim_node_now(const cohort_sim_t *sim, cohort_node_id_t id) {
  sim_host_t *h = host_get(sim, id);
  return h ? sim_clock_mono(&h->clock, sim->now) : 0;
}

int64_t cohort_sim_node_wall(const cohort_sim_t *sim, cohort_node_id_t id) {
  sim_host_t *h = host_get(sim, id);
  return h ? sim_clock_wall(&h->clock, sim->now) : 0;
}

/* ---- programmatic faults ------------------------------------------------------------------- */

int cohort_sim_crash(cohort_sim_t *sim, cohort_node_id_t id) {
  sim_host_t *h = host_get(sim, id);
  return h ? do_crash(sim, h, false) : COHORT_EINVAL;
}

int cohort_sim_restart(cohort_sim_t *sim, cohort_node_id_t id, bool stable) {
  sim_host_t *h = host_get(sim, id);
  if (!h) return COHORT_EINVAL;
  cohort_sim_t *outer = current_sim;
  current_sim = sim;
  int rc = do_restart(sim, h, stable);
  current_sim = outer;
  return rc;
}

int cohort_sim_block(cohort_sim_t *sim, cohort_node_id_t from, cohort_node_id_t to, bool block) {
  if (!host_get(sim, from) || !host_get(sim, to) || from == to) return COHORT_EINVAL;
  sim_link_t *l = link_at(sim, from, to);
  if (block) {
    memset(sim->side, 0, ((size_t)sim->n + 1) * sizeof *sim->side);
    sim->side[from] = 1;
    sim->side[to] = 2;
    apply_cut(sim, sim->side, false, CUT_SCRIPT);
  } else if (l->blocked) {
    l->blocked = CUT_NEW;
    sim->r.heals++;
    trace_cuts(sim, "heal");
  }
  return 0;
}

void cohort_sim_heal(cohort_sim_t *sim) { apply_heal(sim, CUT_SCRIPT | CUT_RANDOM); }

/* ---- stable storage ------------------------------------------------------------------------- */

int cohort_sim_stable_put(cohort_sim_t *sim, cohort_node_id_t id, const void *data, size_t len) {
  sim_host_t *h = host_get(sim, id);
  if (!h || len > COHORT_SIM_STABLE_MAX || (len && !data)) return COHORT_EINVAL;
  uint8_t *b = cohort_alloc(sim->alloc, len);
  if (!b) return COHORT_ENOMEM;
  if (len) memcpy(b, data, len);
  cohort_free(sim->alloc, h->stable);
  h->stable = b;
  h->stable_len = len;
  h->stable_has = true;
  return 0;
}

int cohort_sim_stable_get(const cohort_sim_t *sim, cohort_node_id_t id, const void **data,
                          size_t *len) {
  sim_host_t *h = host_get(sim, id);
  if (!h) return COHORT_EINVAL;
  if (!h->stable_has) return COHORT_ENOTFOUND;
  *data = h->stable;
  *len = h->stable_len;
  return 0;
}
