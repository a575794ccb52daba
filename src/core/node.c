/*
 * src/core/node.c — the node layer: identity, logical clocks, the wire
 * envelope, protocol dispatch and timers (see cohort/node.h).
 *
 * Datagram layout: 0xC0, flags (bit 0: tag appended), the protobuf-c
 * Envelope, then a COHORT_AUTH_TAG_LEN-byte HMAC tag when flagged.
 *
 * Invariants kept here:
 *  - nothing from the network is trusted before it decoded, matched our
 *    cluster and major version, verified (when keyed), named a known peer
 *    and the newest incarnation of it; every refusal is counted and traced;
 *  - a refused datagram changes no clock and no protocol state;
 *  - the timer heap (cohort/heap.h, shared with the hosts) is ordered by
 *    (deadline, arm sequence), so equal
 *    deadlines fire in arming order on every host (determinism);
 *  - after every entry point the host's single wake-up equals the earliest
 *    timer deadline.
 * The Envelope is encoded and decoded by envelope.c, a zero-copy codec
 * for this one message whose bytes are exactly protobuf-c's (the generated
 * code is its reference in tests/core/test_envelope.c): one pass to send,
 * none of protobuf-c's size pass, scan, allocation or copies to receive —
 * vc and payload are borrowed from the datagram for the length of the
 * call. Neither path allocates once the tx buffer has grown.
 */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cohort/heap.h"
#include "cohort/node.h"
#include "cohort/trace.h"
#include "envelope.h"

#define DGRAM_MAGIC 0xC0u
#define DGRAM_FLAG_TAG 0x01u
#define DGRAM_HEADER 2u
#define VC_ENCODED_MAX (COHORT_VCLOCK_ENTRIES_MAX * 15u + 10u)

typedef struct node_timer {
  cohort_proto_t *proto;
  uint32_t id;
} node_timer_t;

typedef struct byte_buf {
  uint8_t *data;
  size_t cap;
} byte_buf_t;

struct cohort_node {
  const cohort_allocator_t *alloc;
  const cohort_host_ops_t *host_ops;
  void *host;
  uint64_t cluster_id;
  cohort_node_id_t id;
  cohort_incarnation_t incarnation;
  bool vector_clock;
  bool started;
  int entry_depth;

  cohort_node_id_t *peers; /* sorted */
  cohort_incarnation_t *peer_inc; /* newest incarnation seen, 0 = none */
  size_t peers_len;

  cohort_proto_t *protos[COHORT_PROTOS_PER_NODE_MAX];
  size_t protos_len;

  cohort_heap_t timers;  /* ref = slot */
  node_timer_t *slots;   /* slots_cap entries, slots_len ever used */
  uint32_t *slot_pos;    /* heap position per slot, COHORT_HEAP_NONE = free */
  size_t slots_len, slots_cap;
  int64_t armed;

  cohort_lamport_t lamport;
  cohort_vclock_t vc, rx_vc;
  cohort_hlc_t hlc;
  uint64_t send_seq;

  cohort_auth_t *auth;
  byte_buf_t tx, vc_buf;
  char *trace_line;

  cohort_node_stats_t stats;
};

/* ---- small helpers ------------------------------------------------------ */

static int buf_reserve(const cohort_allocator_t *a, byte_buf_t *b, size_t need) {
  if (b->cap >= need) return 0;
  size_t cap = b->cap ? b->cap : 512;
  while (cap < need) cap *= 2;
  uint8_t *p = cohort_realloc(a, b->data, cap);
  if (!p) return COHORT_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

static size_t peer_index(const cohort_node_t *n, cohort_node_id_t id) {
  size_t lo = 0, hi = n->peers_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (n->peers[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return (lo < n->peers_len && n->peers[lo] == id) ? lo : SIZE_MAX;
}

static cohort_proto_t *proto_by_id(const cohort_node_t *n, uint32_t proto_id) {
  for (size_t i = 0; i < n->protos_len; i++)
    if (n->protos[i]->ops->proto_id == proto_id) return n->protos[i];
  return NULL;
}

static int cmp_node_id(const void *a, const void *b) {
  cohort_node_id_t x = *(const cohort_node_id_t *)a, y = *(const cohort_node_id_t *)b;
  return (x > y) - (x < y);
}

/* ---- timers (the shared heap on (deadline, seq)) --------------------------- */

/* Each armed timer is a slot (proto, id) and a tracked heap entry whose
 * ref is the slot; slot_pos[slot] is its heap position (COHORT_HEAP_NONE
 * when the slot is free). Slots are found by a linear search: nodes keep a
 * handful of timers per protocol; the bound is COHORT_TIMERS_PER_NODE_MAX. */
static size_t timer_find(const cohort_node_t *n, const cohort_proto_t *p, uint32_t id) {
  for (size_t i = 0; i < n->slots_len; i++)
    if (n->slot_pos[i] != COHORT_HEAP_NONE && n->slots[i].proto == p && n->slots[i].id == id)
      return i;
  return SIZE_MAX;
}

static void timer_remove_slot(cohort_node_t *n, size_t slot) {
  cohort_heap_remove(&n->timers, n->slot_pos[slot]);
  n->slots[slot].proto = NULL;
}

/* Grow the slot tables to the heap's capacity (at least one more slot). */
static int timer_slots_grow(cohort_node_t *n) {
  int rc = cohort_heap_reserve(&n->timers, n->alloc, n->slots_len + 1,
                               COHORT_TIMERS_PER_NODE_MAX);
  if (rc || n->slots_len < n->slots_cap) return rc;
  size_t cap = n->timers.cap; /* >= slots_len + 1, <= the limit */
  node_timer_t *t = cohort_realloc(n->alloc, n->slots, cap * sizeof *t);
  if (!t) return COHORT_ENOMEM;
  n->slots = t;
  uint32_t *pos = cohort_realloc(n->alloc, n->slot_pos, cap * sizeof *pos);
  if (!pos) return COHORT_ENOMEM;
  n->slot_pos = pos;
  n->timers.pos = pos;
  n->slots_cap = cap;
  return 0;
}

/* A free slot, or SIZE_MAX with *rc set (COHORT_EFULL, COHORT_ENOMEM). */
static size_t timer_slot_new(cohort_node_t *n, int *rc) {
  for (size_t i = 0; i < n->slots_len; i++)
    if (n->slot_pos[i] == COHORT_HEAP_NONE) return i;
  *rc = COHORT_EFULL;
  if (n->slots_len == COHORT_TIMERS_PER_NODE_MAX) return SIZE_MAX;
  *rc = timer_slots_grow(n);
  if (*rc) return SIZE_MAX;
  n->slot_pos[n->slots_len] = COHORT_HEAP_NONE;
  return n->slots_len++;
}

static void rearm(cohort_node_t *n) {
  int64_t next = n->timers.len ? cohort_heap_top(&n->timers)->time : COHORT_TIME_NEVER;
  if (next == n->armed) return;
  n->armed = next;
  n->host_ops->wake(n->host, next);
}

static void entry_begin(cohort_node_t *n) { n->entry_depth++; }

static void entry_end(cohort_node_t *n) {
  COHORT_ASSERT(n->entry_depth > 0);
  if (--n->entry_depth == 0) rearm(n);
}

int cohort_node_timer_set(cohort_node_t *n, cohort_proto_t *p, uint32_t timer_id,
                          int64_t deadline) {
  size_t i = timer_find(n, p, timer_id);
  if (i != SIZE_MAX) {
    cohort_heap_rekey(&n->timers, n->slot_pos[i], deadline);
  } else {
    int rc = 0;
    i = timer_slot_new(n, &rc);
    if (i == SIZE_MAX) return rc;
    n->slots[i] = (node_timer_t){.proto = p, .id = timer_id};
    cohort_heap_push(&n->timers, deadline, (uint32_t)i, COHORT_HEAP_TRACKED);
  }
  if (n->entry_depth == 0) rearm(n);
  return 0;
}

void cohort_node_timer_cancel(cohort_node_t *n, cohort_proto_t *p, uint32_t timer_id) {
  size_t i = timer_find(n, p, timer_id);
  if (i == SIZE_MAX) return;
  timer_remove_slot(n, i);
  if (n->entry_depth == 0) rearm(n);
}

/* ---- tracing ------------------------------------------------------------- */

bool cohort_node_tracing(const cohort_node_t *n) { return n->host_ops->trace != NULL; }

static const char *kind_name(const cohort_proto_t *p, uint32_t kind) {
  if (!p || !p->ops->kind_name) return NULL;
  return p->ops->kind_name(kind);
}

static void trace_emit(cohort_node_t *n, cohort_trace_event_t *ev) {
  if (!n->trace_line) {
    n->trace_line = cohort_alloc(n->alloc, COHORT_TRACE_LINE_MAX);
    if (!n->trace_line) return; /* tracing is best effort under OOM */
  }
  ev->node = n->id;
  ev->inc = n->incarnation;
  ev->local_ns = n->host_ops->wall(n->host);
  ev->true_ns = n->host_ops->true_time(n->host);
  int len = cohort_trace_format(ev, n->trace_line, COHORT_TRACE_LINE_MAX);
  if (len < 0) { /* too large: drop the bulky optional parts */
    ev->vc = NULL;
    ev->data_json = NULL;
    len = cohort_trace_format(ev, n->trace_line, COHORT_TRACE_LINE_MAX);
  }
  if (len >= 0) n->host_ops->trace(n->host, n->trace_line, (size_t)len);
}

/* Fill the stamps of a process event (after the clocks ticked). */
static void stamp(cohort_node_t *n, cohort_trace_event_t *ev) {
  ev->has_stamps = true;
  ev->lamport = n->lamport.time;
  ev->hlc = n->hlc.last;
  ev->vc = n->vector_clock ? &n->vc : NULL;
}

/* A local event: tick Lamport, vector clock and HLC. */
static void tick_local(cohort_node_t *n) {
  cohort_lamport_tick(&n->lamport);
  if (n->vector_clock) (void)cohort_vclock_tick(&n->vc, n->id);
  cohort_hlc_now(&n->hlc, n->host_ops->wall(n->host));
}

static void trace_drop(cohort_node_t *n, const char *reason, const cohort_envelope_t *e,
                       size_t bytes) {
  if (!cohort_node_tracing(n)) return;
  cohort_trace_event_t ev = {.type = COHORT_EV_DROP, .reason = reason, .bytes = bytes,
                             .peer = COHORT_NODE_NONE};
  stamp(n, &ev); /* a refusal is not a clock event: stamps are unchanged */
  if (e) {
    cohort_proto_t *p = proto_by_id(n, e->proto);
    ev.peer = e->sender == n->id ? e->dest : e->sender; /* own send failed */
    ev.has_msg = true;
    ev.msg = (cohort_msg_id_t){e->sender, e->incarnation, e->seq};
    ev.proto = p ? p->ops->name : NULL;
    ev.kind = kind_name(p, e->kind);
    ev.kind_num = e->kind;
  }
  trace_emit(n, &ev);
}

void cohort_node_trace_state(cohort_node_t *n, cohort_proto_t *p, const char *what,
                             const char *data_json) {
  tick_local(n);
  if (!cohort_node_tracing(n)) return;
  cohort_trace_event_t ev = {.type = COHORT_EV_STATE, .what = what, .data_json = data_json,
                             .proto = p ? p->ops->name : "node", .peer = COHORT_NODE_NONE};
  stamp(n, &ev);
  trace_emit(n, &ev);
}

void cohort_node_trace_deliver(cohort_node_t *n, cohort_proto_t *p, const cohort_msg_t *m) {
  tick_local(n);
  if (!cohort_node_tracing(n)) return;
  cohort_trace_event_t ev = {.type = COHORT_EV_DELIVER, .proto = p->ops->name,
                             .kind = kind_name(p, m->kind), .kind_num = m->kind,
                             .peer = m->from, .has_msg = true,
                             .msg = {m->from, m->from_incarnation, m->seq},
                             .bytes = m->payload_len};
  stamp(n, &ev);
  trace_emit(n, &ev);
}

static void trace_timer(cohort_node_t *n, cohort_proto_t *p, uint32_t id) {
  tick_local(n);
  if (!cohort_node_tracing(n)) return;
  char what[16];
  cohort_fmt(what, sizeof what, "%u", id);
  cohort_trace_event_t ev = {.type = COHORT_EV_TIMER, .proto = p->ops->name, .what = what,
                             .peer = COHORT_NODE_NONE};
  stamp(n, &ev);
  trace_emit(n, &ev);
}

/* ---- lifecycle ------------------------------------------------------------ */

size_t cohort_node_size(void) { return sizeof(cohort_node_t); }

static int copy_peers(cohort_node_t *n, const cohort_node_config_t *cfg) {
  if (cfg->peers_len > COHORT_NODES_MAX) return COHORT_EINVAL;
  n->peers = cohort_calloc(n->alloc, cfg->peers_len + 1, sizeof *n->peers);
  n->peer_inc = cohort_calloc(n->alloc, cfg->peers_len + 1, sizeof *n->peer_inc);
  if (!n->peers || !n->peer_inc) return COHORT_ENOMEM;
  if (cfg->peers_len) memcpy(n->peers, cfg->peers, cfg->peers_len * sizeof *n->peers);
  qsort(n->peers, cfg->peers_len, sizeof *n->peers, cmp_node_id);
  for (size_t i = 0; i < cfg->peers_len; i++) {
    if (n->peers[i] == cfg->id || n->peers[i] == COHORT_NODE_NONE) return COHORT_EINVAL;
    if (i > 0 && n->peers[i] == n->peers[i - 1]) return COHORT_EINVAL;
  }
  n->peers_len = cfg->peers_len;
  return 0;
}

static bool host_ops_valid(const cohort_host_ops_t *h) {
  return h && h->now && h->wall && h->true_time && h->random && h->send && h->wake;
}

int cohort_node_init(cohort_node_t *n, const cohort_node_config_t *cfg,
                     const cohort_host_ops_t *host_ops, void *host) {
  if (!n || !cfg || !host_ops_valid(host_ops) || cfg->incarnation == 0 ||
      cfg->id == COHORT_NODE_NONE || (cfg->key_len && !cfg->key) ||
      cfg->key_len > COHORT_CLUSTER_KEY_MAX || (cfg->peers_len && !cfg->peers) ||
      cfg->hlc_max_offset_ns < 0)
    return COHORT_EINVAL;
  memset(n, 0, sizeof *n);
  n->alloc = cfg->alloc ? cfg->alloc : cohort_allocator_default();
  n->host_ops = host_ops;
  n->host = host;
  n->cluster_id = cfg->cluster_id;
  n->id = cfg->id;
  n->incarnation = cfg->incarnation;
  n->vector_clock = cfg->vector_clock;
  n->armed = COHORT_TIME_NEVER;
  cohort_heap_init(&n->timers, NULL);
  cohort_vclock_init(&n->vc, n->alloc);
  cohort_vclock_init(&n->rx_vc, n->alloc);
  cohort_hlc_init(&n->hlc, cfg->hlc_max_offset_ns ? cfg->hlc_max_offset_ns
                                                  : 500 * COHORT_NS_PER_MS);
  int rc = copy_peers(n, cfg);
  if (rc == 0 && cfg->key_len) rc = cohort_auth_new(cfg->key, cfg->key_len, &n->auth);
  if (rc == 0) rc = buf_reserve(n->alloc, &n->tx, 1024);
  if (rc) cohort_node_close(n);
  return rc;
}

int cohort_node_new(const cohort_node_config_t *cfg, const cohort_host_ops_t *host_ops,
                    void *host, cohort_node_t **out) {
  const cohort_allocator_t *a = cfg && cfg->alloc ? cfg->alloc : cohort_allocator_default();
  cohort_node_t *n = cohort_alloc(a, sizeof *n);
  if (!n) return COHORT_ENOMEM;
  int rc = cohort_node_init(n, cfg, host_ops, host);
  if (rc) {
    cohort_free(a, n);
    return rc;
  }
  *out = n;
  return 0;
}

void cohort_node_close(cohort_node_t *n) {
  if (!n || !n->alloc) return;
  const cohort_allocator_t *a = n->alloc;
  cohort_free(a, n->peers);
  cohort_free(a, n->peer_inc);
  cohort_heap_close(&n->timers, a);
  cohort_free(a, n->slots);
  cohort_free(a, n->slot_pos);
  cohort_free(a, n->tx.data);
  cohort_free(a, n->vc_buf.data);
  cohort_free(a, n->trace_line);
  cohort_vclock_close(&n->vc);
  cohort_vclock_close(&n->rx_vc);
  cohort_auth_free(n->auth);
  memset(n, 0, sizeof *n);
}

void cohort_node_free(cohort_node_t *n) {
  if (!n) return;
  const cohort_allocator_t *a = n->alloc ? n->alloc : cohort_allocator_default();
  cohort_node_close(n);
  cohort_free(a, n);
}

int cohort_node_attach(cohort_node_t *n, cohort_proto_t *p) {
  COHORT_ASSERT(p && p->ops && p->ops->name && p->ops->recv);
  if (proto_by_id(n, p->ops->proto_id)) return COHORT_EEXIST;
  if (n->protos_len == COHORT_PROTOS_PER_NODE_MAX) return COHORT_EFULL;
  n->protos[n->protos_len++] = p;
  p->node = n;
  if (n->started && p->ops->start) {
    entry_begin(n);
    p->ops->start(p);
    entry_end(n);
  }
  return 0;
}

void cohort_node_detach(cohort_node_t *n, cohort_proto_t *p) {
  for (size_t i = 0; i < n->protos_len; i++) {
    if (n->protos[i] != p) continue;
    memmove(&n->protos[i], &n->protos[i + 1], (n->protos_len - i - 1) * sizeof n->protos[0]);
    n->protos_len--;
    break;
  }
  for (size_t i = 0; i < n->slots_len; i++)
    if (n->slot_pos[i] != COHORT_HEAP_NONE && n->slots[i].proto == p) timer_remove_slot(n, i);
  if (n->entry_depth == 0) rearm(n);
}

void cohort_node_start(cohort_node_t *n) {
  if (n->started) return;
  n->started = true;
  entry_begin(n);
  for (size_t i = 0; i < n->protos_len; i++)
    if (n->protos[i]->ops->start) n->protos[i]->ops->start(n->protos[i]);
  entry_end(n);
}

/* ---- accessors -------------------------------------------------------------- */

const cohort_node_stats_t *cohort_node_stats(const cohort_node_t *n) { return &n->stats; }
cohort_node_id_t cohort_node_id(const cohort_node_t *n) { return n->id; }
cohort_incarnation_t cohort_node_incarnation(const cohort_node_t *n) { return n->incarnation; }
const cohort_node_id_t *cohort_node_peers(const cohort_node_t *n, size_t *len) {
  *len = n->peers_len;
  return n->peers;
}
int64_t cohort_node_now(cohort_node_t *n) { return n->host_ops->now(n->host); }
int64_t cohort_node_wall(cohort_node_t *n) { return n->host_ops->wall(n->host); }
uint64_t cohort_node_random(cohort_node_t *n) { return n->host_ops->random(n->host); }
const cohort_allocator_t *cohort_node_allocator(const cohort_node_t *n) { return n->alloc; }
uint64_t cohort_node_lamport(const cohort_node_t *n) { return n->lamport.time; }
cohort_proto_t *cohort_node_proto(const cohort_node_t *n, uint32_t proto_id) {
  return proto_by_id(n, proto_id);
}
const cohort_vclock_t *cohort_node_vclock(const cohort_node_t *n) { return &n->vc; }
cohort_hlc_ts_t cohort_node_hlc(const cohort_node_t *n) { return n->hlc.last; }

uint64_t cohort_node_random_below(cohort_node_t *n, uint64_t bound) {
  COHORT_ASSERT(bound > 0);
  /* Lemire's rejection: unbiased, usually one draw. */
  uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    uint64_t r = cohort_node_random(n);
    if (r >= threshold) return r % bound;
  }
}

/* ---- sending ---------------------------------------------------------------- */

static int encode_vc(cohort_node_t *n, cohort_envelope_t *e) {
  e->vc = NULL;
  e->vc_len = 0;
  if (!n->vector_clock) return 0;
  int rc = buf_reserve(n->alloc, &n->vc_buf, n->vc.len * 15 + 16);
  if (rc) return rc;
  int len = cohort_vclock_encode(&n->vc, n->vc_buf.data, n->vc_buf.cap);
  if (len < 0) return len;
  e->vc = n->vc_buf.data;
  e->vc_len = (size_t)len;
  return 0;
}

/* Encode the envelope (plus header and tag) into n->tx in one pass;
 * returns its length. */
static int pack_datagram(cohort_node_t *n, const cohort_envelope_t *e, size_t *out_len) {
  size_t tag = n->auth ? COHORT_AUTH_TAG_LEN : 0;
  if (e->vc_len + e->payload_len > COHORT_DATAGRAM_MAX) return COHORT_EINVAL;
  int rc = buf_reserve(n->alloc, &n->tx, DGRAM_HEADER + cohort_envelope_size_max(e) + tag);
  if (rc) return rc;
  size_t body = cohort_envelope_encode(e, n->tx.data + DGRAM_HEADER);
  size_t total = DGRAM_HEADER + body + tag;
  if (total > COHORT_DATAGRAM_MAX) return COHORT_EINVAL;
  n->tx.data[0] = DGRAM_MAGIC;
  n->tx.data[1] = n->auth ? DGRAM_FLAG_TAG : 0;
  if (n->auth) {
    rc = cohort_auth_tag(n->auth, n->tx.data, DGRAM_HEADER + body,
                         n->tx.data + DGRAM_HEADER + body);
    if (rc) return rc;
  }
  *out_len = total;
  return 0;
}

static void trace_send(cohort_node_t *n, cohort_proto_t *p, const cohort_envelope_t *e,
                       size_t bytes) {
  cohort_trace_event_t ev = {.type = COHORT_EV_SEND, .proto = p->ops->name,
                             .kind = kind_name(p, e->kind), .kind_num = e->kind,
                             .peer = e->dest, .has_msg = true,
                             .msg = {n->id, n->incarnation, e->seq}, .bytes = bytes};
  stamp(n, &ev);
  trace_emit(n, &ev);
}

int cohort_node_send(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to, uint32_t kind,
                     const uint8_t *payload, size_t len) {
  if (peer_index(n, to) == SIZE_MAX || len > COHORT_PAYLOAD_MAX || (len && !payload))
    return COHORT_EINVAL;
  COHORT_ASSERT(p && p->node == n);
  tick_local(n);
  cohort_envelope_t e = {.version_major = COHORT_WIRE_VERSION_MAJOR,
                         .version_minor = COHORT_WIRE_VERSION_MINOR,
                         .cluster_id = n->cluster_id,
                         .sender = n->id,
                         .incarnation = n->incarnation,
                         .dest = to,
                         .proto = p->ops->proto_id,
                         .kind = kind,
                         .seq = ++n->send_seq,
                         .lamport = n->lamport.time,
                         .hlc_l = n->hlc.last.l,
                         .hlc_c = n->hlc.last.c,
                         .payload = len ? payload : NULL,
                         .payload_len = len};
  size_t total = 0;
  int rc = encode_vc(n, &e);
  if (rc == 0) rc = pack_datagram(n, &e, &total);
  if (rc) { /* the clocks ticked: record why nothing left */
    n->stats.tx_errors++;
    trace_drop(n, "send_error", &e, 0);
    return rc;
  }
  if (cohort_node_tracing(n)) trace_send(n, p, &e, total);
  rc = n->host_ops->send(n->host, to, n->tx.data, total);
  if (rc) {
    n->stats.tx_errors++;
    trace_drop(n, "send_error", &e, total);
    return rc;
  }
  n->stats.tx_datagrams++;
  n->stats.tx_bytes += total;
  return 0;
}

int cohort_node_broadcast(cohort_node_t *n, cohort_proto_t *p, uint32_t kind,
                          const uint8_t *payload, size_t len) {
  int first = 0;
  for (size_t i = 0; i < n->peers_len; i++) {
    int rc = cohort_node_send(n, p, n->peers[i], kind, payload, len);
    if (rc && !first) first = rc;
  }
  return first;
}

/* ---- receiving ---------------------------------------------------------------- */

/* Strip header and tag, verify, decode into *e. Returns e, or NULL with
 * *reason set (already counted). */
static cohort_envelope_t *decode(cohort_node_t *n, const uint8_t *buf, size_t len,
                                 cohort_envelope_t *e, const char **reason) {
  *reason = "malformed";
  if (len < DGRAM_HEADER || len > COHORT_DATAGRAM_MAX || buf[0] != DGRAM_MAGIC ||
      (buf[1] & ~DGRAM_FLAG_TAG) != 0) {
    n->stats.drop_malformed++;
    return NULL;
  }
  size_t body = len - DGRAM_HEADER;
  if (buf[1] & DGRAM_FLAG_TAG) {
    if (body < COHORT_AUTH_TAG_LEN) {
      n->stats.drop_malformed++;
      return NULL;
    }
    body -= COHORT_AUTH_TAG_LEN;
  }
  if (n->auth && (!(buf[1] & DGRAM_FLAG_TAG) ||
                  !cohort_auth_verify(n->auth, buf, DGRAM_HEADER + body,
                                      buf + len - COHORT_AUTH_TAG_LEN))) {
    *reason = "auth";
    n->stats.drop_auth++;
    return NULL;
  }
  if (cohort_envelope_decode(buf + DGRAM_HEADER, body, e) < 0) {
    n->stats.drop_malformed++;
    return NULL;
  }
  return e;
}

/* Header checks that need no clock: cluster, version, peer, incarnation.
 * Returns 0 or the drop reason (counted). */
static const char *admit(cohort_node_t *n, const cohort_envelope_t *e, size_t *peer) {
  if (e->version_major != COHORT_WIRE_VERSION_MAJOR) return n->stats.drop_version++, "version";
  if (e->cluster_id != n->cluster_id) return n->stats.drop_cluster++, "cluster";
  if (e->sender == n->id) return n->stats.drop_self++, "self";
  if (e->dest != n->id) return n->stats.drop_malformed++, "malformed";
  *peer = peer_index(n, e->sender);
  if (*peer == SIZE_MAX) return n->stats.drop_unknown_peer++, "unknown_peer";
  if (e->incarnation == 0 || e->incarnation < n->peer_inc[*peer])
    return n->stats.drop_stale++, "stale";
  if (!proto_by_id(n, e->proto)) return n->stats.drop_unknown_proto++, "unknown_proto";
  return NULL;
}

/* A remote Lamport stamp beyond this is refused: a peer (buggy or hostile)
 * must not be able to push our clock to saturation. 2^62 events is far
 * more than any honest run reaches. */
#define LAMPORT_REMOTE_MAX (UINT64_C(1) << 62)

/* Clock checks and updates: nothing changes unless everything passes. */
static const char *update_clocks(cohort_node_t *n, const cohort_envelope_t *e) {
  if (e->lamport > LAMPORT_REMOTE_MAX) return n->stats.drop_clock++, "clock";
  n->rx_vc.len = 0;
  if (n->vector_clock && e->vc_len) {
    int used = cohort_vclock_decode(&n->rx_vc, e->vc, e->vc_len);
    if (used == COHORT_ENOMEM) return n->stats.drop_nomem++, "nomem";
    if (used < 0 || (size_t)used != e->vc_len) return n->stats.drop_malformed++, "malformed";
  }
  cohort_hlc_t saved = n->hlc;
  cohort_hlc_ts_t out;
  cohort_hlc_ts_t remote = {e->hlc_l, e->hlc_c};
  if (cohort_hlc_recv(&n->hlc, n->host_ops->wall(n->host), remote, &out))
    return n->stats.drop_clock++, "clock";
  if (n->vector_clock && cohort_vclock_merge(&n->vc, &n->rx_vc)) {
    n->hlc = saved; /* the merge is atomic; undo the HLC to stay atomic too */
    return n->stats.drop_nomem++, "nomem";
  }
  cohort_lamport_recv(&n->lamport, e->lamport);
  /* Our own entry exists after any earlier tick, so this rarely allocates;
   * if it cannot, the entry stays as it was (causality is then coarser for
   * this one event, never wrong in the unsafe direction). */
  if (n->vector_clock) (void)cohort_vclock_tick(&n->vc, n->id);
  return NULL;
}

static void note_incarnation(cohort_node_t *n, size_t peer, const cohort_envelope_t *e) {
  cohort_incarnation_t known = n->peer_inc[peer];
  n->peer_inc[peer] = e->incarnation;
  if (known == 0 || known == e->incarnation) return;
  if (cohort_node_tracing(n)) {
    char data[96];
    cohort_fmt(data, sizeof data, "{\"peer\":%u,\"old_inc\":%llu,\"inc\":%llu}", e->sender,
               (unsigned long long)known, (unsigned long long)e->incarnation);
    cohort_node_trace_state(n, NULL, "peer_restart", data);
  }
  for (size_t i = 0; i < n->protos_len; i++)
    if (n->protos[i]->ops->peer)
      n->protos[i]->ops->peer(n->protos[i], e->sender, COHORT_PEER_RESTARTED);
}

/* The recv event carries the stamps of the receive itself, so it is traced
 * right after the clocks moved and before anything the receive causes. */
static void trace_recv(cohort_node_t *n, const cohort_envelope_t *e, size_t len) {
  if (!cohort_node_tracing(n)) return;
  cohort_proto_t *p = proto_by_id(n, e->proto);
  cohort_trace_event_t ev = {.type = COHORT_EV_RECV, .proto = p->ops->name,
                             .kind = kind_name(p, e->kind), .kind_num = e->kind,
                             .peer = e->sender, .has_msg = true,
                             .msg = {e->sender, e->incarnation, e->seq}, .bytes = len};
  stamp(n, &ev);
  trace_emit(n, &ev);
}

static int dispatch(cohort_node_t *n, const cohort_envelope_t *e, size_t len) {
  cohort_proto_t *p = proto_by_id(n, e->proto);
  cohort_msg_t m = {.from = e->sender, .from_incarnation = e->incarnation, .kind = e->kind,
                    .payload = e->payload, .payload_len = e->payload_len,
                    .lamport = e->lamport, .hlc = {e->hlc_l, e->hlc_c}, .seq = e->seq};
  int rc = p->ops->recv(p, &m);
  if (rc) {
    n->stats.drop_proto++;
    trace_drop(n, "proto", e, len);
    return rc;
  }
  n->stats.rx_delivered++;
  return 0;
}

static int map_reason(const char *reason) {
  static const struct {
    const char *reason;
    int err;
  } map[] = {{"malformed", COHORT_EPROTO},     {"auth", COHORT_EAUTH},
             {"version", COHORT_EVERSION},     {"cluster", COHORT_ECLUSTER},
             {"stale", COHORT_ESTALE},         {"clock", COHORT_ECLOCK},
             {"nomem", COHORT_ENOMEM}};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(map); i++)
    if (!strcmp(map[i].reason, reason)) return map[i].err;
  return COHORT_EUNKNOWN;
}

int cohort_node_on_datagram(cohort_node_t *n, const uint8_t *buf, size_t len) {
  n->stats.rx_datagrams++;
  n->stats.rx_bytes += len;
  entry_begin(n);
  const char *reason = NULL;
  size_t peer = SIZE_MAX;
  cohort_envelope_t env;
  cohort_envelope_t *e = decode(n, buf, len, &env, &reason);
  if (e) reason = admit(n, e, &peer);
  if (e && !reason) reason = update_clocks(n, e);
  int rc;
  if (reason) {
    trace_drop(n, reason, e, len);
    rc = map_reason(reason);
  } else {
    trace_recv(n, e, len);
    note_incarnation(n, peer, e);
    rc = dispatch(n, e, len);
  }
  entry_end(n);
  return rc;
}

void cohort_node_on_wake(cohort_node_t *n) {
  entry_begin(n);
  n->armed = INT64_MIN; /* the host's wake-up is spent: always re-arm */
  int64_t now = n->host_ops->now(n->host);
  /* Fire only timers due now; ones armed by callbacks for `now` or earlier
   * fire in this same loop, bounded by the table size per wake. */
  for (size_t fired = 0; n->timers.len && cohort_heap_top(&n->timers)->time <= now; fired++) {
    if (fired >= COHORT_TIMERS_PER_NODE_MAX) break; /* re-armed below */
    cohort_heap_entry_t top = cohort_heap_pop(&n->timers);
    node_timer_t t = n->slots[top.ref];
    n->slots[top.ref].proto = NULL;
    trace_timer(n, t.proto, t.id);
    if (t.proto->ops->timer) t.proto->ops->timer(t.proto, t.id);
  }
  entry_end(n);
}
