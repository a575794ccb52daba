/*
 * src/core/node_rx.c — datagram framing and protection (plain, HMAC tag or
 * AEAD), the replay window, and the receive pipeline of the node layer.
 *
 * Datagram layouts (proto/cohort.proto has the same text):
 *   plain  0xC0 0x00 | envelope
 *   MAC    0xC0 0x01 key-id | envelope | HMAC-SHA256/128 over all before
 *   AEAD   0xC0 0x02 key-id sender:4 inc:8 seq:8 | sealed envelope | tag:16
 * The AEAD key is derived per (key id, sender, incarnation) and the nonce
 * is 4 zero bytes and the envelope's seq, which a sender never repeats in
 * one incarnation: no nonce is ever used twice under one key.
 *
 * The receive pipeline, in order, each step counted and traced when it
 * refuses: size → framing → key → tag or decryption → envelope decode →
 * version, cluster, self, destination id → destination incarnation (ours,
 * or none but then fresh) → sender a peer (or an opted-in protocol) →
 * sender incarnation not older, and plausible if newer → replay window →
 * clocks (Lamport within its bound, HLC within max offset, vector clock
 * merge) → recv traced → window marked, incarnation noted (RESTARTED) →
 * the protocol. A refused datagram changes no clock and no state.
 */
#include <string.h>

#include "node_internal.h"

/* ---- replay window ---------------------------------------------------------- */

bool cohort_replay_check(const cohort_replay_window_t *w, uint64_t seq) {
  if (seq == 0) return false;
  if (seq > w->top) return true;
  uint64_t back = w->top - seq;
  if (back >= COHORT_REPLAY_WINDOW) return false;
  return !(w->bits[back / 64] >> (back % 64) & 1u);
}

/* Shift the window towards newer sequences by `by` (bit i -> i + by). */
static void window_shift(cohort_replay_window_t *w, uint64_t by) {
  if (by >= COHORT_REPLAY_WINDOW) {
    memset(w->bits, 0, sizeof w->bits);
    return;
  }
  size_t words = (size_t)(by / 64);
  unsigned bits = (unsigned)(by % 64);
  for (size_t i = REPLAY_WORDS; i-- > 0;) {
    uint64_t v = i >= words ? w->bits[i - words] << bits : 0;
    if (bits && i >= words + 1) v |= w->bits[i - words - 1] >> (64 - bits);
    w->bits[i] = v;
  }
}

void cohort_replay_mark(cohort_replay_window_t *w, uint64_t seq) {
  if (seq > w->top) {
    window_shift(w, seq - w->top);
    w->top = seq;
    w->bits[0] |= 1u;
    return;
  }
  uint64_t back = w->top - seq;
  if (back < COHORT_REPLAY_WINDOW) w->bits[back / 64] |= UINT64_C(1) << (back % 64);
}

/* ---- framing and protection --------------------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) *p++ = (uint8_t)(v >> (8 * i));
}

static uint64_t get_be(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
  return v;
}

static void nonce_of(uint64_t seq, uint8_t nonce[COHORT_AEAD_NONCE_LEN]) {
  memset(nonce, 0, 4);
  put_be(nonce + 4, seq, 8);
}

static bool sends_aead(const cohort_node_t *n) { return n->security >= COHORT_SECURITY_ENCRYPT; }

int node_pack(cohort_node_t *n, const cohort_envelope_t *e, size_t *out_len) {
  uint8_t *d = n->tx.data;
  bool keyed = n->security != COHORT_SECURITY_NONE;
  size_t hdr = !keyed ? DGRAM_HDR_PLAIN : sends_aead(n) ? DGRAM_HDR_AEAD : DGRAM_HDR_MAC;
  size_t body = cohort_envelope_encode(e, d + hdr);
  size_t total = hdr + body + (keyed ? DGRAM_TAG_LEN : 0);
  if (total > COHORT_DATAGRAM_MAX) return COHORT_EINVAL;
  d[0] = DGRAM_MAGIC;
  d[1] = 0;
  if (!keyed) {
    *out_len = total;
    return 0;
  }
  COHORT_ASSERT(n->tx_key >= 0);
  const node_key_t *k = &n->keys[n->tx_key];
  d[2] = k->id;
  int rc;
  if (sends_aead(n)) {
    d[1] = DGRAM_FLAG_AEAD;
    put_be(d + 3, e->sender, 4);
    put_be(d + 7, e->incarnation, 8);
    put_be(d + 15, e->seq, 8);
    uint8_t nonce[COHORT_AEAD_NONCE_LEN];
    nonce_of(e->seq, nonce);
    rc = cohort_aead_seal(n->aead, k->tx_key, nonce, d, hdr, d + hdr, body, d + hdr,
                          d + hdr + body);
  } else {
    d[1] = DGRAM_FLAG_MAC;
    rc = cohort_auth_tag(k->mac, d, hdr + body, d + hdr + body);
  }
  if (rc) return rc;
  *out_len = total;
  return 0;
}

/* Which forms this node accepts. */
static bool accepts(const cohort_node_t *n, uint8_t flags) {
  switch (n->security) {
  case COHORT_SECURITY_AUTH: return flags == DGRAM_FLAG_MAC || flags == DGRAM_FLAG_AEAD;
  case COHORT_SECURITY_ENCRYPT: return flags == DGRAM_FLAG_AEAD;
  case COHORT_SECURITY_ENCRYPT_ACCEPT_AUTH:
    return flags == DGRAM_FLAG_MAC || flags == DGRAM_FLAG_AEAD;
  default: return flags == 0;
  }
}

/* The AEAD key of the sender named in an AEAD header: cached per peer. */
static int rx_key(cohort_node_t *n, const node_key_t *k, cohort_node_id_t sender,
                  cohort_incarnation_t inc, uint8_t tmp[COHORT_AEAD_KEY_LEN],
                  const uint8_t **out) {
  size_t pi = node_peer_index(n, sender);
  node_peer_t *p = pi == SIZE_MAX ? NULL : &n->peers[pi];
  if (p && p->rx_ok && p->rx_key_id == k->id && p->rx_inc == inc) {
    *out = p->rx_key;
    return 0;
  }
  int rc = node_derive_key(k, sender, inc, tmp);
  if (rc) return rc;
  if (p && inc >= p->inc) { /* only the incarnation it will be admitted as */
    memcpy(p->rx_key, tmp, COHORT_AEAD_KEY_LEN);
    p->rx_key_id = k->id;
    p->rx_inc = inc;
    p->rx_ok = true;
  }
  *out = tmp;
  return 0;
}

static const char *open_aead(cohort_node_t *n, const node_key_t *k, const uint8_t *buf,
                             size_t len, const uint8_t **body, size_t *body_len) {
  if (len < DGRAM_HDR_AEAD + DGRAM_TAG_LEN) return n->stats.drop_malformed++, "malformed";
  cohort_node_id_t sender = (cohort_node_id_t)get_be(buf + 3, 4);
  cohort_incarnation_t inc = get_be(buf + 7, 8);
  uint8_t tmp[COHORT_AEAD_KEY_LEN], nonce[COHORT_AEAD_NONCE_LEN];
  const uint8_t *key;
  size_t ct = len - DGRAM_HDR_AEAD - DGRAM_TAG_LEN;
  nonce_of(get_be(buf + 15, 8), nonce);
  if (rx_key(n, k, sender, inc, tmp, &key) ||
      cohort_aead_open(n->aead, key, nonce, buf, DGRAM_HDR_AEAD, buf + DGRAM_HDR_AEAD, ct,
                       buf + len - DGRAM_TAG_LEN, n->rx)) {
    memset(tmp, 0, sizeof tmp);
    return n->stats.drop_auth++, "auth";
  }
  memset(tmp, 0, sizeof tmp);
  *body = n->rx;
  *body_len = ct;
  return NULL;
}

/* Framing, key, tag or decryption, envelope. */
static const char *unwrap(cohort_node_t *n, const uint8_t *buf, size_t len,
                          cohort_envelope_t *e) {
  if (len > COHORT_DATAGRAM_MAX) return n->stats.drop_oversize++, "oversize";
  if (len < DGRAM_HDR_PLAIN || buf[0] != DGRAM_MAGIC ||
      (buf[1] & ~(DGRAM_FLAG_MAC | DGRAM_FLAG_AEAD)) || buf[1] == 3)
    return n->stats.drop_malformed++, "malformed";
  uint8_t flags = buf[1];
  if (!accepts(n, flags)) return n->stats.drop_auth++, "auth";
  const uint8_t *body = buf + DGRAM_HDR_PLAIN;
  size_t body_len = len - DGRAM_HDR_PLAIN;
  if (flags) {
    if (len < DGRAM_HDR_MAC + DGRAM_TAG_LEN) return n->stats.drop_malformed++, "malformed";
    size_t ki = SIZE_MAX;
    for (size_t i = 0; i < n->keys_len; i++)
      if (n->keys[i].id == buf[2]) ki = i;
    if (ki == SIZE_MAX) return n->stats.drop_auth++, "auth"; /* a key we do not hold */
    const node_key_t *k = &n->keys[ki];
    if (flags == DGRAM_FLAG_AEAD) {
      if (!n->aead) return n->stats.drop_auth++, "auth";
      const char *r = open_aead(n, k, buf, len, &body, &body_len);
      if (r) return r;
    } else {
      body = buf + DGRAM_HDR_MAC;
      body_len = len - DGRAM_HDR_MAC - DGRAM_TAG_LEN;
      if (!cohort_auth_verify(k->mac, buf, len - DGRAM_TAG_LEN, buf + len - DGRAM_TAG_LEN))
        return n->stats.drop_auth++, "auth";
    }
  }
  if (cohort_envelope_decode(body, body_len, e) < 0) return n->stats.drop_malformed++, "malformed";
  if (flags == DGRAM_FLAG_AEAD && (e->sender != (cohort_node_id_t)get_be(buf + 3, 4) ||
                                   e->incarnation != get_be(buf + 7, 8) ||
                                   e->seq != get_be(buf + 15, 8)))
    return n->stats.drop_malformed++, "malformed"; /* header and sealed envelope disagree */
  return NULL;
}

/* ---- admission ------------------------------------------------------------------- */

typedef struct rx {
  cohort_envelope_t e;
  size_t peer;        /* index, SIZE_MAX if the sender is not a peer */
  bool newer;         /* a newer incarnation of a peer */
  bool notice;        /* addressed to our earlier incarnation: tell it */
  const uint8_t *addr;
  size_t addr_len;
} rx_t;

static bool incarnation_plausible(cohort_node_t *n, cohort_incarnation_t inc) {
  if (inc == 0 || inc > COHORT_COUNTER_REMOTE_MAX) return false;
  int64_t wall = n->host_ops->wall(n->host);
  uint64_t us = wall > 0 ? (uint64_t)wall / 1000u : 0;
  return (inc >> 10) <= us + (uint64_t)(COHORT_INCARNATION_FUTURE_NS / 1000);
}

/* A datagram that names no incarnation of ours must be fresh. */
static bool fresh(cohort_node_t *n, const cohort_envelope_t *e) {
  int64_t wall = n->host_ops->wall(n->host);
  return e->hlc_l >= wall - n->first_contact_age_ns;
}

/* Whom it is for: our id (or no id, for opted-in protocols) and this
 * incarnation of ours (or none, if fresh). */
static const char *admit_dest(cohort_node_t *n, rx_t *x, const cohort_proto_t *p) {
  const cohort_envelope_t *e = &x->e;
  bool open_dest = e->dest == COHORT_NODE_NONE;
  if (!open_dest && e->dest != n->id) return n->stats.drop_malformed++, "malformed";
  if (open_dest && !(p->ops->flags & COHORT_PROTO_ACCEPT_UNKNOWN))
    return n->stats.drop_malformed++, "malformed";
  if (e->dest_incarnation && e->dest_incarnation != n->incarnation) {
    x->notice = e->dest_incarnation < n->incarnation;
    return n->stats.drop_dest++, "dest";
  }
  if (!e->dest_incarnation && !fresh(n, e)) return n->stats.drop_stale++, "stale";
  return NULL;
}

/* Who sent it: a peer's current (or a plausible newer) incarnation, not a
 * replay; or a non-peer, for opted-in protocols only. */
static const char *admit_sender(cohort_node_t *n, rx_t *x, const cohort_proto_t *p) {
  const cohort_envelope_t *e = &x->e;
  x->peer = node_peer_index(n, e->sender);
  if (x->peer == SIZE_MAX) {
    if (!(p->ops->flags & COHORT_PROTO_ACCEPT_UNKNOWN))
      return n->stats.drop_unknown_peer++, "unknown_peer";
    if (!incarnation_plausible(n, e->incarnation))
      return n->stats.drop_incarnation++, "incarnation";
    if (!fresh(n, e)) return n->stats.drop_stale++, "stale";
    return NULL;
  }
  node_peer_t *pe = &n->peers[x->peer];
  if (e->incarnation < pe->inc) return n->stats.drop_stale++, "stale";
  x->newer = e->incarnation > pe->inc;
  if (x->newer && !incarnation_plausible(n, e->incarnation))
    return n->stats.drop_incarnation++, "incarnation";
  if (e->link_seq == 0) { /* sent to an address, not to us as a peer */
    if (!fresh(n, e)) return n->stats.drop_stale++, "stale";
  } else if (!x->newer && !cohort_replay_check(&pe->win, e->link_seq)) {
    return n->stats.drop_replay++, "replay";
  }
  return NULL;
}

static const char *admit(cohort_node_t *n, rx_t *x) {
  const cohort_envelope_t *e = &x->e;
  if (e->version_major != COHORT_WIRE_VERSION_MAJOR) return n->stats.drop_version++, "version";
  if (e->cluster_id != n->cluster_id) return n->stats.drop_cluster++, "cluster";
  if (e->sender == n->id) return n->stats.drop_self++, "self";
  if (e->sender == COHORT_NODE_NONE) return n->stats.drop_malformed++, "malformed";
  if (e->incarnation == 0) return n->stats.drop_stale++, "stale";
  const cohort_proto_t *p = node_proto_by_id(n, e->proto);
  if (!p) return n->stats.drop_unknown_proto++, "unknown_proto";
  const char *r = admit_dest(n, x, p);
  return r ? r : admit_sender(n, x, p);
}

/* Clock checks and updates: nothing changes unless everything passes. */
static const char *update_clocks(cohort_node_t *n, const cohort_envelope_t *e) {
  if (e->lamport > COHORT_LAMPORT_MAX) return n->stats.drop_clock++, "clock";
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
  if (n->vector_clock) (void)cohort_vclock_tick(&n->vc, n->id, n->incarnation);
  return NULL;
}

/* The sender addressed our earlier incarnation: tell it we restarted (at
 * most once per COHORT_NOTICE_INTERVAL_NS per peer), so it stops sending
 * to a process that no longer exists and its protocols see RESTARTED. */
static void maybe_notice(cohort_node_t *n, const cohort_envelope_t *e) {
  size_t i = node_peer_index(n, e->sender);
  if (i == SIZE_MAX || e->incarnation < n->peers[i].inc) return;
  int64_t now = n->host_ops->now(n->host);
  node_peer_t *p = &n->peers[i];
  if (p->notice_sent && now - p->notice_ns < COHORT_NOTICE_INTERVAL_NS) return;
  p->notice_sent = true;
  p->notice_ns = now;
  n->stats.notices_sent++;
  (void)node_send_env(n, &n->self_proto, e->sender, e->incarnation, NULL, 0, NODE_KIND_NOTICE,
                      NULL, 0);
}

/* ---- accepted ------------------------------------------------------------------------ */

/* The recv event carries the stamps of the receive itself, so it is traced
 * right after the clocks moved and before anything the receive causes. */
static void trace_recv(cohort_node_t *n, const cohort_envelope_t *e, size_t len) {
  if (!cohort_node_tracing(n)) return;
  cohort_proto_t *p = node_proto_by_id(n, e->proto);
  cohort_trace_event_t ev = {.type = COHORT_EV_RECV, .proto = p->ops->name,
                             .kind = node_kind_name(p, e->kind), .kind_num = e->kind,
                             .peer = e->sender, .has_msg = true,
                             .msg = {e->sender, e->incarnation, e->seq}, .bytes = len};
  node_stamp(n, &ev);
  node_trace_emit(n, &ev);
}

/* Mark the window and note a newer incarnation (before any callback, which
 * may change the peer table). Returns the incarnation it replaced (0 if
 * none) when the peer restarted, else 0. */
static cohort_incarnation_t note_peer(cohort_node_t *n, const rx_t *x) {
  if (x->peer == SIZE_MAX) return 0;
  node_peer_t *p = &n->peers[x->peer];
  cohort_incarnation_t known = p->inc;
  if (x->newer) {
    p->inc = x->e.incarnation;
    memset(&p->win, 0, sizeof p->win);
  }
  if (x->e.link_seq) cohort_replay_mark(&p->win, x->e.link_seq);
  return x->newer && known ? known : 0;
}

static void restarted(cohort_node_t *n, const cohort_envelope_t *e, cohort_incarnation_t old) {
  if (cohort_node_tracing(n)) {
    char data[96];
    cohort_fmt(data, sizeof data, "{\"peer\":%u,\"old_inc\":%llu,\"inc\":%llu}", e->sender,
               (unsigned long long)old, (unsigned long long)e->incarnation);
    cohort_node_trace_state(n, NULL, "peer_restart", data);
  }
  node_peer_event(n, e->sender, COHORT_PEER_RESTARTED);
}

/* Where a peer is, from an admitted datagram (authenticated when keyed,
 * fresh, not a replay): a peer the node holds no address for (added at
 * run time without one, as a joiner adds the coordinator that let it in)
 * gets the datagram's source address, and so does a newer incarnation (a
 * restarted process may come back elsewhere). The host hears of it
 * through its `peer` op, so replies and later traffic reach the sender.
 * A sender the protocol makes a peer while handling the datagram gets
 * the address in cohort_node_peer_add (n->rx_addr). */
static void learn_addr(cohort_node_t *n, const rx_t *x, bool newer) {
  if (!x->addr || !x->addr_len) return;
  size_t i = node_peer_index(n, x->e.sender);
  if (i == SIZE_MAX) return;
  const node_peer_t *p = &n->peers[i];
  if (p->addr_len && !newer) return;
  if (p->addr_len == x->addr_len && !memcmp(p->addr, x->addr, x->addr_len)) return;
  (void)cohort_node_peer_add(n, x->e.sender, 0, x->addr, x->addr_len); /* EEXIST: updated */
}

static int dispatch(cohort_node_t *n, const rx_t *x, size_t len) {
  const cohort_envelope_t *e = &x->e;
  cohort_proto_t *p = node_proto_by_id(n, e->proto);
  if (!p) return COHORT_EUNKNOWN; /* detached by a peer callback */
  cohort_msg_t m = {.from = e->sender, .from_incarnation = e->incarnation, .kind = e->kind,
                    .payload = e->payload, .payload_len = e->payload_len,
                    .lamport = e->lamport, .hlc = {e->hlc_l, e->hlc_c}, .seq = e->seq,
                    .addr = x->addr, .addr_len = x->addr_len,
                    .from_peer = x->peer != SIZE_MAX};
  int rc = p->ops->recv(p, &m);
  if (rc) {
    n->stats.drop_proto++;
    node_trace_drop(n, "proto", e, len);
    return rc;
  }
  n->stats.rx_delivered++;
  return 0;
}

static int map_reason(const char *reason) {
  static const struct {
    const char *reason;
    int err;
  } map[] = {{"malformed", COHORT_EPROTO},  {"auth", COHORT_EAUTH},
             {"version", COHORT_EVERSION},  {"cluster", COHORT_ECLUSTER},
             {"stale", COHORT_ESTALE},      {"clock", COHORT_ECLOCK},
             {"nomem", COHORT_ENOMEM},      {"replay", COHORT_EREPLAY},
             {"dest", COHORT_ESTALE},       {"incarnation", COHORT_ESTALE},
             {"oversize", COHORT_EPROTO}};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(map); i++)
    if (!strcmp(map[i].reason, reason)) return map[i].err;
  return COHORT_EUNKNOWN;
}

int cohort_node_on_datagram_from(cohort_node_t *n, const uint8_t *buf, size_t len,
                                 const uint8_t *addr, size_t addr_len) {
  n->stats.rx_datagrams++;
  n->stats.rx_bytes += len;
  node_entry_begin(n);
  rx_t x = {.peer = SIZE_MAX, .addr = addr_len <= COHORT_PEER_ADDR_MAX ? addr : NULL,
            .addr_len = addr_len <= COHORT_PEER_ADDR_MAX ? addr_len : 0};
  const char *reason = unwrap(n, buf, len, &x.e);
  bool decoded = reason == NULL;
  if (!reason) reason = admit(n, &x);
  if (!reason) reason = update_clocks(n, &x.e);
  int rc;
  if (reason) {
    node_trace_drop(n, reason, decoded ? &x.e : NULL, len);
    if (x.notice) maybe_notice(n, &x.e);
    rc = map_reason(reason);
  } else {
    trace_recv(n, &x.e, len);
    bool newer = x.newer;
    cohort_incarnation_t old = note_peer(n, &x);
    learn_addr(n, &x, newer);
    cohort_node_id_t saved_sender = n->rx_sender;
    const uint8_t *saved_addr = n->rx_addr;
    size_t saved_len = n->rx_addr_len;
    n->rx_sender = x.e.sender;
    n->rx_addr = x.addr;
    n->rx_addr_len = x.addr ? x.addr_len : 0;
    if (old) restarted(n, &x.e, old);
    rc = x.e.proto == COHORT_PROTO_NODE ? 0 : dispatch(n, &x, len);
    n->rx_sender = saved_sender;
    n->rx_addr = saved_addr;
    n->rx_addr_len = saved_len;
    if (rc == 0 && x.e.proto == COHORT_PROTO_NODE) n->stats.rx_delivered++;
  }
  node_entry_end(n);
  return rc;
}

int cohort_node_on_datagram(cohort_node_t *n, const uint8_t *buf, size_t len) {
  return cohort_node_on_datagram_from(n, buf, len, NULL, 0);
}
