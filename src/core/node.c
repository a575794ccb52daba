/*
 * src/core/node.c — the node layer: identity, peers (added and removed at
 * run time), keys, logical clocks, protocol dispatch, timers, tracing and
 * sending (see cohort/node.h). The receive pipeline and the datagram
 * framing and protection live in node_rx.c.
 *
 * Invariants kept here:
 *  - the peer table is sorted by id; adding or removing a peer tells the
 *    host first (its address table), then every protocol, exactly once;
 *  - every send names the destination's incarnation we know of (or the
 *    one a protocol binds it to), counts a per-link sequence for the
 *    receiver's replay window, ticks the clocks and is traced before the
 *    host sends it;
 *  - the timer heap (cohort/heap.h, shared with the hosts) is ordered by
 *    (deadline, arm sequence), so equal
 *    deadlines fire in arming order on every host (determinism);
 *  - after every entry point the host's single wake-up equals the earliest
 *    timer deadline.
 */
#include <stdlib.h>
#include <string.h>

#include "cohort/heap.h"
#include "node_internal.h"

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

size_t node_peer_index(const cohort_node_t *n, cohort_node_id_t id) {
  size_t lo = 0, hi = n->peers_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (n->peers[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return (lo < n->peers_len && n->peers[lo].id == id) ? lo : SIZE_MAX;
}

/* Where id would go in the sorted table. */
static size_t peer_slot(const cohort_node_t *n, cohort_node_id_t id) {
  size_t lo = 0, hi = n->peers_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (n->peers[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

cohort_proto_t *node_proto_by_id(const cohort_node_t *n, uint32_t proto_id) {
  if (proto_id == COHORT_PROTO_NODE) return (cohort_proto_t *)&n->self_proto;
  for (size_t i = 0; i < n->protos_len; i++)
    if (n->protos[i]->ops->proto_id == proto_id) return n->protos[i];
  return NULL;
}

void node_entry_begin(cohort_node_t *n) { n->entry_depth++; }

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

void node_entry_end(cohort_node_t *n) {
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

const char *node_kind_name(const cohort_proto_t *p, uint32_t kind) {
  if (!p || !p->ops->kind_name) return NULL;
  return p->ops->kind_name(kind);
}

void node_trace_emit(cohort_node_t *n, cohort_trace_event_t *ev) {
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
void node_stamp(cohort_node_t *n, cohort_trace_event_t *ev) {
  ev->has_stamps = true;
  ev->lamport = n->lamport.time;
  ev->hlc = n->hlc.last;
  ev->vc = n->vector_clock ? &n->vc : NULL;
}

/* A local event: tick Lamport, vector clock and HLC. */
static void tick_local(cohort_node_t *n) {
  cohort_lamport_tick(&n->lamport);
  if (n->vector_clock) (void)cohort_vclock_tick(&n->vc, n->id, n->incarnation);
  cohort_hlc_now(&n->hlc, n->host_ops->wall(n->host));
}

void node_trace_drop(cohort_node_t *n, const char *reason, const cohort_envelope_t *e,
                     size_t bytes) {
  if (!cohort_node_tracing(n)) return;
  cohort_trace_event_t ev = {.type = COHORT_EV_DROP, .reason = reason, .bytes = bytes,
                             .peer = COHORT_NODE_NONE};
  node_stamp(n, &ev); /* a refusal is not a clock event: stamps are unchanged */
  if (e) {
    cohort_proto_t *p = node_proto_by_id(n, e->proto);
    ev.peer = e->sender == n->id ? e->dest : e->sender; /* own send failed */
    ev.has_msg = true;
    ev.msg = (cohort_msg_id_t){e->sender, e->incarnation, e->seq};
    ev.proto = p ? p->ops->name : NULL;
    ev.kind = node_kind_name(p, e->kind);
    ev.kind_num = e->kind;
  }
  node_trace_emit(n, &ev);
}

void cohort_node_trace_state(cohort_node_t *n, cohort_proto_t *p, const char *what,
                             const char *data_json) {
  tick_local(n);
  if (!cohort_node_tracing(n)) return;
  cohort_trace_event_t ev = {.type = COHORT_EV_STATE, .what = what, .data_json = data_json,
                             .proto = p ? p->ops->name : "node", .peer = COHORT_NODE_NONE};
  node_stamp(n, &ev);
  node_trace_emit(n, &ev);
}

void cohort_node_trace_deliver(cohort_node_t *n, cohort_proto_t *p, const cohort_msg_t *m) {
  tick_local(n);
  if (!cohort_node_tracing(n)) return;
  cohort_trace_event_t ev = {.type = COHORT_EV_DELIVER, .proto = p->ops->name,
                             .kind = node_kind_name(p, m->kind), .kind_num = m->kind,
                             .peer = m->from, .has_msg = true,
                             .msg = {m->from, m->from_incarnation, m->seq},
                             .bytes = m->payload_len};
  node_stamp(n, &ev);
  node_trace_emit(n, &ev);
}

static void trace_timer(cohort_node_t *n, cohort_proto_t *p, uint32_t id) {
  tick_local(n);
  if (!cohort_node_tracing(n)) return;
  char what[16];
  cohort_fmt(what, sizeof what, "%u", id);
  cohort_trace_event_t ev = {.type = COHORT_EV_TIMER, .proto = p->ops->name, .what = what,
                             .peer = COHORT_NODE_NONE};
  node_stamp(n, &ev);
  node_trace_emit(n, &ev);
}

/* ---- the node layer's own protocol -------------------------------------- */

static const char *self_kind_name(uint32_t kind) {
  return kind == NODE_KIND_NOTICE ? "notice" : NULL;
}

static int self_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  (void)p;
  /* A NOTICE carries nothing: its arrival from the sender's new
   * incarnation already told the node everything (note_incarnation). */
  return m->kind == NODE_KIND_NOTICE ? 0 : COHORT_EPROTO;
}

static const cohort_proto_ops_t self_ops = {
    .name = "node", .proto_id = COHORT_PROTO_NODE, .kind_name = self_kind_name,
    .recv = self_recv};

/* ---- peers ---------------------------------------------------------------- */

void node_peer_event(cohort_node_t *n, cohort_node_id_t id, cohort_peer_event_t ev) {
  for (size_t i = 0; i < n->protos_len; i++)
    if (n->protos[i]->ops->peer) n->protos[i]->ops->peer(n->protos[i], id, ev);
}

static int peers_reserve(cohort_node_t *n, size_t need) {
  if (need <= n->peers_cap) return 0;
  if (need > COHORT_NODES_MAX) return COHORT_EFULL;
  size_t cap = n->peers_cap ? n->peers_cap * 2 : 8;
  if (cap < need) cap = need;
  if (cap > COHORT_NODES_MAX) cap = COHORT_NODES_MAX;
  node_peer_t *p = cohort_realloc(n->alloc, n->peers, cap * sizeof *p);
  if (!p) return COHORT_ENOMEM;
  n->peers = p;
  cohort_node_id_t *ids = cohort_realloc(n->alloc, n->ids, cap * sizeof *ids);
  if (!ids) return COHORT_ENOMEM; /* peers grew; that is harmless */
  n->ids = ids;
  n->peers_cap = cap;
  return 0;
}

static void peer_set_addr(node_peer_t *p, const uint8_t *addr, size_t addr_len) {
  p->addr_len = (uint8_t)addr_len;
  if (addr_len) memcpy(p->addr, addr, addr_len);
}

/* Insert without events (init and cohort_node_peer_add). */
static int peer_insert(cohort_node_t *n, cohort_node_id_t id, cohort_incarnation_t inc,
                       const uint8_t *addr, size_t addr_len) {
  int rc = peers_reserve(n, n->peers_len + 1);
  if (rc) return rc;
  size_t at = peer_slot(n, id);
  memmove(&n->peers[at + 1], &n->peers[at], (n->peers_len - at) * sizeof n->peers[0]);
  memmove(&n->ids[at + 1], &n->ids[at], (n->peers_len - at) * sizeof n->ids[0]);
  node_peer_t *p = &n->peers[at];
  memset(p, 0, sizeof *p);
  p->id = id;
  p->inc = inc;
  peer_set_addr(p, addr, addr_len);
  n->ids[at] = id;
  n->peers_len++;
  return 0;
}

static bool peer_args_ok(const cohort_node_t *n, cohort_node_id_t id, const uint8_t *addr,
                         size_t addr_len) {
  return id != n->id && id != COHORT_NODE_NONE && addr_len <= COHORT_PEER_ADDR_MAX &&
         (addr || !addr_len);
}

int cohort_node_peer_add(cohort_node_t *n, cohort_node_id_t id, cohort_incarnation_t inc,
                         const uint8_t *addr, size_t addr_len) {
  if (!peer_args_ok(n, id, addr, addr_len)) return COHORT_EINVAL;
  size_t i = node_peer_index(n, id);
  /* Added while its own datagram is handled, with no address: take the
   * datagram's (never replacing one the peer has). */
  if (!addr_len && n->rx_addr_len && id == n->rx_sender &&
      (i == SIZE_MAX || !n->peers[i].addr_len)) {
    addr = n->rx_addr;
    addr_len = n->rx_addr_len;
  }
  if (i != SIZE_MAX) {
    node_peer_t *p = &n->peers[i];
    if (addr_len) peer_set_addr(p, addr, addr_len);
    if (inc > p->inc) { /* given a newer incarnation than heard: a fresh window */
      p->inc = inc;
      memset(&p->win, 0, sizeof p->win);
      p->rx_ok = false;
    }
    if (addr_len && n->host_ops->peer) n->host_ops->peer(n->host, id, addr, addr_len, true);
    return COHORT_EEXIST;
  }
  int rc = peer_insert(n, id, inc, addr, addr_len);
  if (rc) return rc;
  if (n->host_ops->peer) n->host_ops->peer(n->host, id, addr, addr_len, true);
  if (cohort_node_tracing(n)) {
    char data[96];
    cohort_fmt(data, sizeof data, "{\"peer\":%u,\"inc\":%llu}", id, (unsigned long long)inc);
    cohort_node_trace_state(n, NULL, "peer_add", data);
  }
  node_entry_begin(n);
  node_peer_event(n, id, COHORT_PEER_ADDED);
  node_entry_end(n);
  return 0;
}

int cohort_node_peer_remove(cohort_node_t *n, cohort_node_id_t id) {
  size_t i = node_peer_index(n, id);
  if (i == SIZE_MAX) return COHORT_ENOTFOUND;
  node_entry_begin(n);
  node_peer_event(n, id, COHORT_PEER_REMOVED); /* still readable here */
  node_entry_end(n);
  i = node_peer_index(n, id); /* a callback may have changed the table */
  if (i == SIZE_MAX) return 0;
  if (n->host_ops->peer) n->host_ops->peer(n->host, id, NULL, 0, false);
  memmove(&n->peers[i], &n->peers[i + 1], (n->peers_len - i - 1) * sizeof n->peers[0]);
  memmove(&n->ids[i], &n->ids[i + 1], (n->peers_len - i - 1) * sizeof n->ids[0]);
  n->peers_len--;
  if (cohort_node_tracing(n)) {
    char data[32];
    cohort_fmt(data, sizeof data, "{\"peer\":%u}", id);
    cohort_node_trace_state(n, NULL, "peer_remove", data);
  }
  return 0;
}

cohort_incarnation_t cohort_node_peer_incarnation(const cohort_node_t *n, cohort_node_id_t id) {
  size_t i = node_peer_index(n, id);
  return i == SIZE_MAX ? 0 : n->peers[i].inc;
}

bool cohort_node_is_peer(const cohort_node_t *n, cohort_node_id_t id) {
  return node_peer_index(n, id) != SIZE_MAX;
}

int cohort_node_peer_addr(const cohort_node_t *n, cohort_node_id_t id, const uint8_t **addr,
                          size_t *addr_len) {
  size_t i = node_peer_index(n, id);
  if (i == SIZE_MAX) return COHORT_ENOTFOUND;
  *addr = n->peers[i].addr;
  *addr_len = n->peers[i].addr_len;
  return 0;
}

void cohort_node_peer_failed(cohort_node_t *n, cohort_node_id_t id, cohort_incarnation_t inc) {
  size_t i = node_peer_index(n, id);
  if (i == SIZE_MAX || (inc && n->peers[i].inc && inc < n->peers[i].inc)) return;
  node_entry_begin(n);
  if (cohort_node_tracing(n)) {
    char data[96];
    cohort_fmt(data, sizeof data, "{\"peer\":%u,\"inc\":%llu}", id, (unsigned long long)inc);
    cohort_node_trace_state(n, NULL, "peer_failed", data);
  }
  node_peer_event(n, id, COHORT_PEER_FAILED);
  node_entry_end(n);
}

/* ---- keys ----------------------------------------------------------------- */

static size_t key_index(const cohort_node_t *n, uint8_t key_id) {
  for (size_t i = 0; i < n->keys_len; i++)
    if (n->keys[i].id == key_id) return i;
  return SIZE_MAX;
}

/* The AEAD key of (key k, sender, inc): HMAC-SHA256(k, label | key id |
 * sender | inc), one HKDF-Expand block (RFC 5869). */
int node_derive_key(const node_key_t *k, cohort_node_id_t sender, cohort_incarnation_t inc,
                    uint8_t out[COHORT_AEAD_KEY_LEN]) {
  static const char label[] = "cohort-aead-v1";
  uint8_t in[sizeof label - 1 + 1 + 4 + 8];
  size_t pos = sizeof label - 1;
  memcpy(in, label, pos);
  in[pos++] = k->id;
  for (int i = 3; i >= 0; i--) in[pos++] = (uint8_t)(sender >> (8 * i));
  for (int i = 7; i >= 0; i--) in[pos++] = (uint8_t)(inc >> (8 * i));
  return cohort_auth_prf(k->mac, in, pos, out);
}

int cohort_node_key_add(cohort_node_t *n, uint8_t key_id, const uint8_t *key, size_t key_len) {
  if (!key || key_len == 0 || key_len > COHORT_CLUSTER_KEY_MAX) return COHORT_EINVAL;
  if (key_index(n, key_id) != SIZE_MAX) return COHORT_EEXIST;
  if (n->keys_len == COHORT_KEYS_MAX) return COHORT_EFULL;
  node_key_t *k = &n->keys[n->keys_len];
  memset(k, 0, sizeof *k);
  k->id = key_id;
  int rc = cohort_auth_new(key, key_len, &k->mac);
  if (rc == 0) rc = node_derive_key(k, n->id, n->incarnation, k->tx_key);
  if (rc) {
    cohort_auth_free(k->mac);
    return rc == COHORT_EIO ? COHORT_ENOMEM : rc;
  }
  n->keys_len++;
  return 0;
}

int cohort_node_reincarnate(cohort_node_t *n) {
  if (n->incarnation >= COHORT_COUNTER_REMOTE_MAX) return COHORT_EFULL;
  cohort_incarnation_t next = n->incarnation + 1;
  for (size_t i = 0; i < n->keys_len; i++) { /* derive first: all or nothing */
    uint8_t k[sizeof n->keys[i].tx_key];
    int rc = node_derive_key(&n->keys[i], n->id, next, k);
    if (rc) return rc == COHORT_EIO ? COHORT_ENOMEM : rc;
    memcpy(n->keys[i].tx_key, k, sizeof k);
  }
  n->incarnation = next;
  n->send_seq = 0;
  for (size_t i = 0; i < n->peers_len; i++) n->peers[i].tx_link = 0;
  return 0;
}

const cohort_contact_t *cohort_node_contacts(const cohort_node_t *n, size_t *len) {
  *len = n->contacts_len;
  return n->contacts;
}

int cohort_node_key_use(cohort_node_t *n, uint8_t key_id) {
  size_t i = key_index(n, key_id);
  if (i == SIZE_MAX) return COHORT_ENOTFOUND;
  n->tx_key = (int)i;
  return 0;
}

int cohort_node_key_remove(cohort_node_t *n, uint8_t key_id) {
  size_t i = key_index(n, key_id);
  if (i == SIZE_MAX) return COHORT_ENOTFOUND;
  if ((int)i == n->tx_key) return COHORT_ESTATE;
  cohort_auth_free(n->keys[i].mac);
  /* wipe the derived keys before the slot is reused */
  memset(&n->keys[i], 0, sizeof n->keys[i]);
  memmove(&n->keys[i], &n->keys[i + 1], (n->keys_len - i - 1) * sizeof n->keys[0]);
  n->keys_len--;
  if (n->tx_key > (int)i) n->tx_key--;
  for (size_t p = 0; p < n->peers_len; p++)
    if (n->peers[p].rx_key_id == key_id) n->peers[p].rx_ok = false;
  return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

size_t cohort_node_size(void) { return sizeof(cohort_node_t); }

static int add_config_peers(cohort_node_t *n, const cohort_node_config_t *cfg) {
  if (cfg->peers_len > COHORT_NODES_MAX) return COHORT_EINVAL;
  int rc = peers_reserve(n, cfg->peers_len ? cfg->peers_len : 1);
  for (size_t i = 0; i < cfg->peers_len && rc == 0; i++) {
    cohort_node_id_t id = cfg->peers[i];
    if (!peer_args_ok(n, id, NULL, 0) || node_peer_index(n, id) != SIZE_MAX) return COHORT_EINVAL;
    rc = peer_insert(n, id, 0, NULL, 0);
  }
  return rc;
}

static bool host_ops_valid(const cohort_host_ops_t *h) {
  return h && h->now && h->wall && h->true_time && h->random && h->send && h->wake;
}

static bool config_valid(const cohort_node_config_t *cfg) {
  return cfg->incarnation != 0 && cfg->incarnation <= COHORT_COUNTER_REMOTE_MAX &&
         cfg->id != COHORT_NODE_NONE && (!cfg->key_len || cfg->key) &&
         cfg->key_len <= COHORT_CLUSTER_KEY_MAX && (!cfg->peers_len || cfg->peers) &&
         cfg->hlc_max_offset_ns >= 0 && cfg->first_contact_age_ns >= 0 &&
         cfg->security <= COHORT_SECURITY_ENCRYPT_ACCEPT_AUTH &&
         cfg->cipher <= COHORT_CIPHER_CHACHA20_POLY1305 &&
         cfg->contacts_len <= COHORT_CONTACTS_MAX && (!cfg->contacts_len || cfg->contacts) &&
         (cfg->key_len || cfg->security == COHORT_SECURITY_AUTO ||
          cfg->security == COHORT_SECURITY_NONE);
}

static int setup_security(cohort_node_t *n, const cohort_node_config_t *cfg) {
  n->tx_key = -1;
  n->security = cfg->security;
  if (n->security == COHORT_SECURITY_AUTO)
    n->security = cfg->key_len ? COHORT_SECURITY_AUTH : COHORT_SECURITY_NONE;
  if (!cfg->key_len) return 0;
  int rc = cohort_node_key_add(n, cfg->key_id, cfg->key, cfg->key_len);
  if (rc == 0) rc = cohort_node_key_use(n, cfg->key_id);
  if (rc == 0) /* AUTH nodes read AEAD datagrams too (a migration) */
    rc = cohort_aead_new((int)cfg->cipher, &n->aead);
  return rc;
}

int cohort_node_init(cohort_node_t *n, const cohort_node_config_t *cfg,
                     const cohort_host_ops_t *host_ops, void *host) {
  if (!n || !cfg || !host_ops_valid(host_ops) || !config_valid(cfg)) return COHORT_EINVAL;
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
  n->self_proto = (cohort_proto_t){.ops = &self_ops, .node = n};
  n->first_contact_age_ns =
      cfg->first_contact_age_ns ? cfg->first_contact_age_ns : COHORT_FIRST_CONTACT_AGE_NS;
  cohort_vclock_init(&n->vc, n->alloc);
  cohort_vclock_init(&n->rx_vc, n->alloc);
  cohort_hlc_init(&n->hlc, cfg->hlc_max_offset_ns ? cfg->hlc_max_offset_ns
                                                  : 500 * COHORT_NS_PER_MS);
  int rc = 0;
  for (size_t i = 0; i < cfg->contacts_len; i++) {
    if (cfg->contacts[i].len == 0 || cfg->contacts[i].len > COHORT_PEER_ADDR_MAX)
      rc = COHORT_EINVAL;
    n->contacts[i] = cfg->contacts[i];
  }
  n->contacts_len = cfg->contacts_len;
  if (rc == 0) rc = add_config_peers(n, cfg);
  if (rc == 0) rc = setup_security(n, cfg);
  if (rc == 0) rc = buf_reserve(n->alloc, &n->tx, 1024);
  if (rc == 0 && !(n->rx = cohort_alloc(n->alloc, COHORT_DATAGRAM_MAX))) rc = COHORT_ENOMEM;
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
  cohort_free(a, n->ids);
  cohort_heap_close(&n->timers, a);
  cohort_free(a, n->slots);
  cohort_free(a, n->slot_pos);
  cohort_free(a, n->tx.data);
  cohort_free(a, n->vc_buf.data);
  cohort_free(a, n->rx);
  cohort_free(a, n->trace_line);
  cohort_vclock_close(&n->vc);
  cohort_vclock_close(&n->rx_vc);
  for (size_t i = 0; i < n->keys_len; i++) cohort_auth_free(n->keys[i].mac);
  cohort_aead_free(n->aead);
  memset(n, 0, sizeof *n); /* also wipes the derived keys */
}

void cohort_node_free(cohort_node_t *n) {
  if (!n) return;
  const cohort_allocator_t *a = n->alloc ? n->alloc : cohort_allocator_default();
  cohort_node_close(n);
  cohort_free(a, n);
}

int cohort_node_attach(cohort_node_t *n, cohort_proto_t *p) {
  COHORT_ASSERT(p && p->ops && p->ops->name && p->ops->recv);
  if (p->ops->proto_id == COHORT_PROTO_NODE || node_proto_by_id(n, p->ops->proto_id))
    return COHORT_EEXIST;
  if (n->protos_len == COHORT_PROTOS_PER_NODE_MAX) return COHORT_EFULL;
  n->protos[n->protos_len++] = p;
  p->node = n;
  if (n->started && p->ops->start) {
    node_entry_begin(n);
    p->ops->start(p);
    node_entry_end(n);
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
  node_entry_begin(n);
  for (size_t i = 0; i < n->protos_len; i++)
    if (n->protos[i]->ops->start) n->protos[i]->ops->start(n->protos[i]);
  node_entry_end(n);
}

/* ---- accessors -------------------------------------------------------------- */

const cohort_node_stats_t *cohort_node_stats(const cohort_node_t *n) { return &n->stats; }
cohort_node_id_t cohort_node_id(const cohort_node_t *n) { return n->id; }
cohort_incarnation_t cohort_node_incarnation(const cohort_node_t *n) { return n->incarnation; }
const cohort_node_id_t *cohort_node_peers(const cohort_node_t *n, size_t *len) {
  *len = n->peers_len;
  return n->ids;
}
int64_t cohort_node_now(cohort_node_t *n) { return n->host_ops->now(n->host); }
int64_t cohort_node_wall(cohort_node_t *n) { return n->host_ops->wall(n->host); }
uint64_t cohort_node_random(cohort_node_t *n) { return n->host_ops->random(n->host); }
const cohort_allocator_t *cohort_node_allocator(const cohort_node_t *n) { return n->alloc; }
uint64_t cohort_node_lamport(const cohort_node_t *n) { return n->lamport.time; }
cohort_proto_t *cohort_node_proto(const cohort_node_t *n, uint32_t proto_id) {
  return proto_id == COHORT_PROTO_NODE ? NULL : node_proto_by_id(n, proto_id);
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
  int rc = buf_reserve(n->alloc, &n->vc_buf, cohort_vclock_encoded_max(&n->vc));
  if (rc) return rc;
  int len = cohort_vclock_encode(&n->vc, n->vc_buf.data, n->vc_buf.cap);
  if (len < 0) return len;
  e->vc = n->vc_buf.data;
  e->vc_len = (size_t)len;
  return 0;
}

static void trace_send(cohort_node_t *n, cohort_proto_t *p, const cohort_envelope_t *e,
                       size_t bytes) {
  cohort_trace_event_t ev = {.type = COHORT_EV_SEND, .proto = p->ops->name,
                             .kind = node_kind_name(p, e->kind), .kind_num = e->kind,
                             .peer = e->dest, .has_msg = true,
                             .msg = {n->id, n->incarnation, e->seq}, .bytes = bytes};
  node_stamp(n, &ev);
  node_trace_emit(n, &ev);
}

static int host_send(cohort_node_t *n, const cohort_envelope_t *e, const uint8_t *addr,
                     size_t addr_len, size_t total) {
  if (addr_len) return n->host_ops->send_addr(n->host, addr, addr_len, n->tx.data, total);
  return n->host_ops->send(n->host, e->dest, n->tx.data, total);
}

/* One datagram: to peer `to` (bound to to_inc, 0 = any), or, with an
 * address, to a contact whose id is unknown (to = COHORT_NODE_NONE). */
int node_send_env(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to,
                  cohort_incarnation_t to_inc, const uint8_t *addr, size_t addr_len,
                  uint32_t kind, const uint8_t *payload, size_t len) {
  COHORT_ASSERT(p && (p->node == n || p == &n->self_proto));
  size_t pi = addr_len ? SIZE_MAX : node_peer_index(n, to);
  tick_local(n);
  cohort_envelope_t e = {.version_major = COHORT_WIRE_VERSION_MAJOR,
                         .version_minor = COHORT_WIRE_VERSION_MINOR,
                         .cluster_id = n->cluster_id, .sender = n->id,
                         .incarnation = n->incarnation, .dest = to, .proto = p->ops->proto_id,
                         .kind = kind, .seq = ++n->send_seq, .lamport = n->lamport.time,
                         .hlc_l = n->hlc.last.l, .hlc_c = n->hlc.last.c,
                         .payload = len ? payload : NULL, .payload_len = len,
                         .dest_incarnation = to_inc,
                         .link_seq = pi == SIZE_MAX ? 0 : n->peers[pi].tx_link + 1};
  size_t total = 0;
  int rc = encode_vc(n, &e);
  if (rc == 0) rc = buf_reserve(n->alloc, &n->tx, cohort_envelope_size_max(&e) + 64);
  if (rc == 0) rc = node_pack(n, &e, &total);
  if (rc == 0 && cohort_node_tracing(n)) trace_send(n, p, &e, total);
  if (rc == 0) rc = host_send(n, &e, addr, addr_len, total);
  if (rc) { /* the clocks ticked: record why nothing left */
    n->stats.tx_errors++;
    node_trace_drop(n, "send_error", &e, total);
    return rc;
  }
  if (pi != SIZE_MAX) n->peers[pi].tx_link++;
  n->stats.tx_datagrams++;
  n->stats.tx_bytes += total;
  return 0;
}

static bool payload_ok(const uint8_t *payload, size_t len) {
  return len <= COHORT_PAYLOAD_MAX && (!len || payload);
}

int cohort_node_send(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to, uint32_t kind,
                     const uint8_t *payload, size_t len) {
  size_t i = node_peer_index(n, to);
  if (i == SIZE_MAX || !payload_ok(payload, len)) return COHORT_EINVAL;
  return node_send_env(n, p, to, n->peers[i].inc, NULL, 0, kind, payload, len);
}

int cohort_node_send_to(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to,
                        cohort_incarnation_t to_inc, uint32_t kind, const uint8_t *payload,
                        size_t len) {
  size_t i = node_peer_index(n, to);
  if (i == SIZE_MAX || !payload_ok(payload, len)) return COHORT_EINVAL;
  if (to_inc == COHORT_INCARNATION_ANY)
    return node_send_env(n, p, to, 0, NULL, 0, kind, payload, len);
  if (to_inc && n->peers[i].inc > to_inc) { /* that process is gone: say so */
    n->stats.tx_errors++;
    if (cohort_node_tracing(n)) {
      cohort_trace_event_t ev = {.type = COHORT_EV_DROP, .reason = "stale_dest", .peer = to,
                                 .proto = p->ops->name, .kind = node_kind_name(p, kind),
                                 .kind_num = kind};
      node_stamp(n, &ev);
      node_trace_emit(n, &ev);
    }
    return COHORT_ESTALE;
  }
  return node_send_env(n, p, to, to_inc ? to_inc : n->peers[i].inc, NULL, 0, kind, payload,
                       len);
}

int cohort_node_send_addr(cohort_node_t *n, cohort_proto_t *p, const uint8_t *addr,
                          size_t addr_len, uint32_t kind, const uint8_t *payload, size_t len) {
  if (!addr || !addr_len || addr_len > COHORT_PEER_ADDR_MAX || !payload_ok(payload, len))
    return COHORT_EINVAL;
  if (!n->host_ops->send_addr) return COHORT_EUNKNOWN;
  return node_send_env(n, p, COHORT_NODE_NONE, 0, addr, addr_len, kind, payload, len);
}

int cohort_node_broadcast(cohort_node_t *n, cohort_proto_t *p, uint32_t kind,
                          const uint8_t *payload, size_t len) {
  int first = 0;
  for (size_t i = 0; i < n->peers_len; i++) {
    int rc = cohort_node_send(n, p, n->peers[i].id, kind, payload, len);
    if (rc && !first) first = rc;
  }
  return first;
}

/* ---- timers firing ------------------------------------------------------------ */

void cohort_node_on_wake(cohort_node_t *n) {
  node_entry_begin(n);
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
  node_entry_end(n);
}
