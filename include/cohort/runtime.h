/*
 * cohort/runtime.h — the real host: libuv, UDP, real clocks.
 *
 * A runtime is one libuv loop hosting one or more nodes (one per process
 * in deployments, several per process in tests). Each runtime node is one
 * cohort_node_t (include/cohort/node.h) plus what the host ops need: a UDP
 * socket bound to its listen address, unicast to each peer's address; one
 * uv_timer for the node's single wake-up; the monotonic clock (uv_hrtime)
 * for `now`; CLOCK_REALTIME for `wall` and `true_time`; a PRNG seeded from
 * getrandom(2); a buffered JSON Lines trace file; and user-space fault
 * injection on send (the kernel here has no netem): per-peer drop, delay
 * with jitter, duplication and replay, decided by a PRNG stream of its own.
 * Peers come and go at run time: the node tells the host (its `peer` op)
 * and the runtime keeps their addresses; datagrams from non-peers carry
 * their source address up to the node (cohort_node_on_datagram_from), and
 * a node may send to an address alone (a join's contact point).
 *
 * Invariants:
 *  - every queue is bounded: delayed datagrams per node by
 *    COHORT_RUNTIME_DELAYED_MAX (beyond it a datagram is dropped and
 *    counted), sends never queue in libuv (uv_udp_try_send; EAGAIN is a
 *    send error the node counts and traces);
 *  - trace records are written ahead of sends: when a datagram leaves,
 *    every record of its sender up to its `send` is in the trace file, so
 *    a node killed with SIGKILL never breaks the causality of merged
 *    traces (it loses at most local events after its last send);
 *  - an injected loss is written to the sender's trace as a network drop
 *    (`reason` "loss", `node` the destination, `inc` 0, no stamps);
 *  - the runtime never prints: errors are return codes with a message in
 *    the caller's buffer; `cohort node` decides what to log.
 *
 * Lifecycle: cohort_runtime_new → cohort_runtime_node_add (per node) →
 * attach protocols to cohort_runtime_node() and cohort_node_start → run
 * the loop (uv_run on cohort_runtime_loop) → detach and destroy the
 * protocols → cohort_runtime_free (closes every handle, flushes and closes
 * the traces, frees the nodes).
 */
#ifndef COHORT_RUNTIME_H
#define COHORT_RUNTIME_H

#include <stdbool.h>
#include <sys/socket.h>
#include <uv.h>

#include "cohort/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cohort_runtime cohort_runtime_t;
typedef struct cohort_runtime_node cohort_runtime_node_t;

/* Faults injected on send towards one peer (or all peers). */
typedef struct cohort_runtime_fault {
  double drop;       /* probability a datagram is lost, [0, 1] */
  double dup;        /* probability it is sent a second time, [0, 1] */
  int64_t delay_ns;  /* fixed extra delay */
  int64_t jitter_ns; /* plus a uniform extra delay in [0, jitter_ns] */
  /* A copy "captured" and sent again later, as an attacker replaying it
   * would: with probability replay, after a delay uniform in
   * [replay_delay_ns / 2, replay_delay_ns]. */
  double replay;
  int64_t replay_delay_ns;
} cohort_runtime_fault_t;

/* A cluster key ring as a key file gives it (cohort_runtime_read_keys). */
typedef struct cohort_runtime_keys {
  size_t len;
  uint8_t ids[COHORT_KEYS_MAX];
  uint8_t keys[COHORT_KEYS_MAX][COHORT_CLUSTER_KEY_MAX];
  size_t lens[COHORT_KEYS_MAX];
  uint8_t use; /* the id to send with */
} cohort_runtime_keys_t;

typedef struct cohort_runtime_peer {
  cohort_node_id_t id;
  struct sockaddr_storage addr;
} cohort_runtime_peer_t;

typedef struct cohort_runtime_node_config {
  uint64_t cluster_id;
  cohort_node_id_t id;
  /* 0 = let the runtime choose (cohort_runtime_incarnation). */
  cohort_incarnation_t incarnation;
  const char *state_dir;          /* NULL: incarnation from the wall clock */
  struct sockaddr_storage listen; /* port 0 = any free port */
  const cohort_runtime_peer_t *peers; /* copied; ids unique, not self */
  size_t peers_len;
  const uint8_t *key; /* shared cluster key (copied); NULL = none */
  size_t key_len;
  /* Or a whole key ring (copied; takes precedence over key/key_len). */
  const cohort_runtime_keys_t *keys;
  cohort_security_t security; /* AUTO: authenticate when keyed */
  cohort_cipher_t cipher;
  bool vector_clock;
  int64_t hlc_max_offset_ns; /* 0 = the node's default */
  const char *trace_path;    /* NULL = no trace; truncated at open */
  /* Contact points for a join (`cohort node --join`): addresses whose node
   * ids are unknown, handed to the node encoded (cohort_node_contacts) so a
   * membership protocol can send its JOIN there. Copied; at most
   * COHORT_CONTACTS_MAX, IPv4 or IPv6, port not 0. */
  const struct sockaddr_storage *contacts;
  size_t contacts_len;
  /* SO_RCVBUF and SO_SNDBUF of the node's socket; 0 = the default
   * COHORT_RUNTIME_SOCKET_BUFFER; at most COHORT_RUNTIME_SOCKET_BUFFER_MAX. */
  size_t socket_buffer_bytes;
} cohort_runtime_node_config_t;

/* What the host itself counted (the node counts the rest). */
typedef struct cohort_runtime_stats {
  uint64_t fault_dropped;    /* lost by injected fault */
  uint64_t fault_duplicated; /* sent twice by injected fault */
  uint64_t fault_delayed;    /* held back by injected delay */
  uint64_t delay_overflow;   /* delayed queue full: dropped */
  uint64_t send_errors;      /* socket refused the datagram (EAGAIN...) */
  uint64_t fault_replayed;   /* sent again later by injected replay */
  uint64_t recv_errors;      /* socket read errors */
  uint64_t trace_errors;     /* trace records lost (write error) */
  uint64_t rcvbuf_bytes;     /* the socket's buffers as the kernel set them */
  uint64_t sndbuf_bytes;     /* (getsockopt: Linux doubles what was asked) */
} cohort_runtime_stats_t;

/* Create a runtime on `loop` (borrowed; must outlive the runtime). alloc
 * NULL = default. Returns 0 or COHORT_ENOMEM; *out only on success. */
int cohort_runtime_new(uv_loop_t *loop, const cohort_allocator_t *alloc,
                       cohort_runtime_t **out);
uv_loop_t *cohort_runtime_loop(cohort_runtime_t *rt);

/* Add a node: choose its incarnation, open its trace, bind its socket,
 * create the cohort_node_t and start receiving. Returns 0, COHORT_EINVAL
 * (bad config), COHORT_EIO (socket, trace or state file: see err) or
 * COHORT_ENOMEM, with a message in err. On error nothing is left behind. */
int cohort_runtime_node_add(cohort_runtime_t *rt,
                            const cohort_runtime_node_config_t *cfg,
                            cohort_runtime_node_t **out, char *err,
                            size_t errcap);

/* The sans-I/O node this host drives (owned by the runtime node). */
cohort_node_t *cohort_runtime_node(cohort_runtime_node_t *rn);
/* The address the socket is bound to (useful after listening on port 0). */
int cohort_runtime_node_address(const cohort_runtime_node_t *rn,
                                struct sockaddr_storage *out);
/* Change a peer's address (the peer must be one of the configured ids). */
int cohort_runtime_node_set_peer(cohort_runtime_node_t *rn,
                                 cohort_node_id_t peer,
                                 const struct sockaddr_storage *addr);
/* Apply a re-read key ring without downtime: keys new to the node are
 * added, the ring's `use` key is sent with, and keys no longer in the ring
 * are dropped. Rotation: (1) add the new key to every node's file and
 * reload, (2) `use` it everywhere, (3) remove the old one. COHORT_EINVAL
 * if an id's key bytes changed (ids are never reused), COHORT_ENOMEM. */
int cohort_runtime_node_set_keys(cohort_runtime_node_t *rn,
                                 const cohort_runtime_keys_t *keys);

/* Host addresses as the node sees them (opaque bytes, at most
 * COHORT_PEER_ADDR_MAX): family (4 or 6), port (2 bytes, big endian), then
 * the 4- or 16-byte address. Returns the length, or COHORT_EINVAL. */
int cohort_runtime_addr_encode(const struct sockaddr_storage *ss, uint8_t *out,
                               size_t cap);
int cohort_runtime_addr_decode(const uint8_t *addr, size_t len,
                               struct sockaddr_storage *out);
/* Set the faults for datagrams to `peer`, or to every peer without a
 * fault of its own when peer is COHORT_NODE_NONE. Returns COHORT_EINVAL
 * for an unknown peer or out-of-range values. */
int cohort_runtime_node_fault(cohort_runtime_node_t *rn, cohort_node_id_t peer,
                              const cohort_runtime_fault_t *f);
const cohort_runtime_stats_t *
cohort_runtime_node_stats(const cohort_runtime_node_t *rn);
/* Write buffered trace records to the file now (also done periodically
 * and at free). Returns 0 or COHORT_EIO. */
int cohort_runtime_node_flush(cohort_runtime_node_t *rn);

/* Stop receiving and cancel every timer of every node (the loop then has
 * nothing left to do but the caller's own handles). Idempotent. */
void cohort_runtime_stop(cohort_runtime_t *rt);
/* Close every handle (running the loop until they are closed), flush and
 * close the traces, free the nodes and the runtime. Protocols must have
 * been detached. Accepts NULL. */
void cohort_runtime_free(cohort_runtime_t *rt);

/* ---- helpers shared by `cohort node`, `cohort cluster` and tests ------- */

/* "127.0.0.1:7001", "[::1]:7001". Port required (0 allowed only if
 * allow_port0). Returns 0 or COHORT_EINVAL. */
int cohort_runtime_parse_addr(const char *s, bool allow_port0,
                              struct sockaddr_storage *out);
/* "ID@ADDR:PORT,ID@ADDR:PORT,...": appends to peers[*len] (cap entries).
 * Rejects bad ids, bad addresses, duplicate ids and too many peers with a
 * message in err. */
int cohort_runtime_parse_peers(const char *s, cohort_runtime_peer_t *peers,
                               size_t *len, size_t cap, char *err,
                               size_t errcap);
/* "ADDR:PORT,ADDR:PORT,..." (IPv4:PORT or [IPv6]:PORT, port 1-65535): the
 * contact points of `cohort node --join`, into out[0..cap). Rejects an
 * empty list or item, a bad address, a duplicate and more than cap with a
 * message in err; *len and out are written only on success. */
int cohort_runtime_parse_contacts(const char *s, struct sockaddr_storage *out,
                                  size_t *len, size_t cap, char *err,
                                  size_t errcap);
/* "3:drop=0.2,delay=5ms,jitter=2ms,dup=0.01" or "all:drop=0.1".
 * *peer = COHORT_NODE_NONE for "all". Missing keys are 0. */
int cohort_runtime_parse_fault(const char *s, cohort_node_id_t *peer,
                               cohort_runtime_fault_t *out, char *err,
                               size_t errcap);
/* Choose this run's incarnation. With a state directory: read the
 * counter in DIR/node-ID.incarnation (absent = 0), add one, write it back
 * durably (temp file, fsync, rename) and return it. Without one: the wall
 * clock in ns, which is strictly larger after a restart as long as the
 * clock does not step back. Returns 0 or COHORT_EIO with a message. */
int cohort_runtime_incarnation(const char *state_dir, cohort_node_id_t id,
                               cohort_incarnation_t *out, char *err,
                               size_t errcap);
/* Read a cluster key file (docs/security.md): lines "ID HEXKEY" (ID
 * 0..255, 1..COHORT_CLUSTER_KEY_MAX bytes of key in hex), at most
 * COHORT_KEYS_MAX of them, "use ID" to pick the key to send with (default
 * the first), '#' comments. The file must be a regular file owned by us
 * (or root) with no group or other permissions (chmod 600): keys never
 * come from the command line. Returns 0, COHORT_EIO or COHORT_EINVAL with
 * a message naming the file and line. */
int cohort_runtime_read_keys(const char *path, cohort_runtime_keys_t *out,
                             char *err, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif
