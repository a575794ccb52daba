/*
 * src/core/node_internal.h — the node object, shared by node.c (lifecycle,
 * peers, keys, timers, tracing, sending) and node_rx.c (datagram framing,
 * protection and the receive pipeline). Not installed.
 *
 * Invariants: peers[0..peers_len) is sorted by id and ids[i] == peers[i].id
 * (ids is what cohort_node_peers lends out); keys[0..keys_len) holds
 * distinct ids and tx_key indexes one of them whenever security sends
 * protected datagrams; tx and rx buffers hold at least a full datagram
 * once the node is initialised.
 */
#ifndef COHORT_SRC_CORE_NODE_INTERNAL_H
#define COHORT_SRC_CORE_NODE_INTERNAL_H

#include "cohort/heap.h"
#include "cohort/node.h"
#include "cohort/trace.h"
#include "envelope.h"
#include "node_peer.h"

#define DGRAM_MAGIC 0xC0u
#define DGRAM_FLAG_MAC 0x01u
#define DGRAM_FLAG_AEAD 0x02u
#define DGRAM_HDR_PLAIN 2u
#define DGRAM_HDR_MAC 3u
#define DGRAM_HDR_AEAD 23u /* magic, flags, key id, sender 4, inc 8, seq 8 */
#define DGRAM_TAG_LEN 16u

/* Kinds of the node layer's own protocol (COHORT_PROTO_NODE). */
enum { NODE_KIND_NOTICE = 1 }; /* "I restarted": sent to a stale sender */

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

  node_peer_t *peers; /* sorted by id */
  cohort_node_id_t *ids;
  size_t peers_len, peers_cap;

  cohort_proto_t *protos[COHORT_PROTOS_PER_NODE_MAX];
  size_t protos_len;
  cohort_proto_t self_proto; /* the node layer's own messages (NOTICE) */
  cohort_contact_t contacts[COHORT_CONTACTS_MAX];
  size_t contacts_len;
  /* While an admitted datagram is handled: its sender and source address
   * (borrowed), so a peer the protocol adds for that sender without an
   * address gets this one (cohort_node_peer_add). rx_addr_len 0 = none. */
  cohort_node_id_t rx_sender;
  const uint8_t *rx_addr;
  size_t rx_addr_len;

  cohort_heap_t timers;  /* ref = slot (cohort/heap.h) */
  node_timer_t *slots;   /* slots_cap entries, slots_len ever used */
  uint32_t *slot_pos;    /* heap position per slot, COHORT_HEAP_NONE = free */
  size_t slots_len, slots_cap;
  int64_t armed;

  cohort_lamport_t lamport;
  cohort_vclock_t vc, rx_vc;
  cohort_hlc_t hlc;
  uint64_t send_seq;

  cohort_security_t security;
  node_key_t keys[COHORT_KEYS_MAX];
  size_t keys_len;
  int tx_key; /* index into keys, -1 = none */
  cohort_aead_t *aead;
  int64_t first_contact_age_ns;

  byte_buf_t tx, vc_buf;
  uint8_t *rx; /* decrypted envelopes: COHORT_DATAGRAM_MAX bytes */
  char *trace_line;

  cohort_node_stats_t stats;
};

/* node.c */
COHORT_INTERNAL size_t node_peer_index(const cohort_node_t *n, cohort_node_id_t id);
COHORT_INTERNAL cohort_proto_t *node_proto_by_id(const cohort_node_t *n, uint32_t proto_id);
COHORT_INTERNAL void node_stamp(cohort_node_t *n, cohort_trace_event_t *ev);
COHORT_INTERNAL void node_trace_emit(cohort_node_t *n, cohort_trace_event_t *ev);
COHORT_INTERNAL const char *node_kind_name(const cohort_proto_t *p, uint32_t kind);
COHORT_INTERNAL void node_trace_drop(cohort_node_t *n, const char *reason,
                                     const cohort_envelope_t *e, size_t bytes);
COHORT_INTERNAL void node_peer_event(cohort_node_t *n, cohort_node_id_t id,
                                     cohort_peer_event_t ev);
COHORT_INTERNAL void node_entry_begin(cohort_node_t *n);
COHORT_INTERNAL void node_entry_end(cohort_node_t *n);
COHORT_INTERNAL int node_send_env(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to,
                                  cohort_incarnation_t to_inc, const uint8_t *addr,
                                  size_t addr_len, uint32_t kind, const uint8_t *payload,
                                  size_t len);
COHORT_INTERNAL int node_derive_key(const node_key_t *k, cohort_node_id_t sender,
                                    cohort_incarnation_t inc, uint8_t out[COHORT_AEAD_KEY_LEN]);

/* node_rx.c */
/* Frame, protect (MAC or AEAD) and place datagram e in n->tx. */
COHORT_INTERNAL int node_pack(cohort_node_t *n, const cohort_envelope_t *e, size_t *out_len);

#endif
