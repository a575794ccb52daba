/*
 * src/core/node_peer.h — what node.c keeps per peer and per key, and the
 * replay window (shared with tests/core/test_node.c through node_window.c).
 *
 * A peer is one member of the cluster as this node knows it: its id, the
 * newest incarnation heard from or given, our per-link send counter, the
 * replay window over its link counters, its host address, and a cached
 * AEAD key derived for its (key id, incarnation).
 *
 * The replay window (RFC 4303 §3.4.3, RFC 6347 §4.1.2.6): `top` is the
 * highest sequence accepted; bit i of `bits` (word i / 64, bit i % 64)
 * says whether top − i was accepted. A sequence above top is new, one at
 * or below top − COHORT_REPLAY_WINDOW is too old to tell and refused, and
 * the rest are refused when their bit is set. Sequence 0 is never valid.
 */
#ifndef COHORT_SRC_CORE_NODE_PEER_H
#define COHORT_SRC_CORE_NODE_PEER_H

#include <stdbool.h>

#include "aead.h"
#include "auth.h"
#include "cohort/core.h"

#define REPLAY_WORDS (COHORT_REPLAY_WINDOW / 64)

typedef struct cohort_replay_window {
  uint64_t top;
  uint64_t bits[REPLAY_WORDS];
} cohort_replay_window_t;

/* True if seq may be accepted (not seen, not too old). */
COHORT_INTERNAL bool cohort_replay_check(const cohort_replay_window_t *w, uint64_t seq);
/* Record seq as accepted (after cohort_replay_check said yes). */
COHORT_INTERNAL void cohort_replay_mark(cohort_replay_window_t *w, uint64_t seq);

typedef struct node_peer {
  cohort_node_id_t id;
  cohort_incarnation_t inc; /* newest heard from or given; 0 = none yet */
  uint64_t tx_link;         /* datagrams we sent it in this incarnation */
  cohort_replay_window_t win; /* over its link_seq, for incarnation inc */
  int64_t notice_ns;        /* when we last told it we restarted */
  bool notice_sent;
  uint8_t addr_len;
  uint8_t addr[COHORT_PEER_ADDR_MAX];
  /* AEAD key derived for (rx_key_id, id, rx_inc), valid if rx_ok. */
  bool rx_ok;
  uint8_t rx_key_id;
  cohort_incarnation_t rx_inc;
  uint8_t rx_key[COHORT_AEAD_KEY_LEN];
} node_peer_t;

typedef struct node_key {
  uint8_t id;
  cohort_auth_t *mac;                 /* HMAC with this key */
  uint8_t tx_key[COHORT_AEAD_KEY_LEN]; /* AEAD key of our own incarnation */
} node_key_t;

#endif
