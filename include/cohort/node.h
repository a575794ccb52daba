/*
 * cohort/node.h — the environment contract between protocols and hosts.
 *
 * A node is one incarnation of one cluster member. It is a sans-I/O object:
 * it owns the node's identity, its logical clocks (Lamport, vector, HLC),
 * the wire envelope (encode, decode, authenticate, count drops), the
 * protocol instances attached to it and their timers. It never touches a
 * socket, a clock, a PRNG or a file: everything from the outside comes
 * through the host ops below, which two hosts implement — the runtime
 * (libuv, UDP, real clocks) and the simulator (virtual everything).
 *
 *      protocol ──cohort_node_send/timer/trace──▶ node ──host ops──▶ host
 *      protocol ◀──ops->recv/timer/peer────────── node ◀──on_datagram/
 *                                                         on_wake──── host
 *
 * Invariants:
 *  - the host arms exactly one wake-up per node (the earliest protocol
 *    timer); the node re-arms it after every entry point;
 *  - every datagram that reaches a protocol was decoded, came from this
 *    cluster, a known major version, an authenticated sender (when a key is
 *    set; decrypted too in encrypt mode), the newest incarnation of that
 *    sender seen so far, named this incarnation of this node (or none, when
 *    fresh: its sender had not heard from us), and was not seen before (a
 *    per-sender replay window); everything else is counted in
 *    cohort_node_stats_t and traced as a drop;
 *  - peers are (node id, incarnation) pairs added and removed at run time;
 *    protocols learn every change through their `peer` callback;
 *  - every send and receive ticks the Lamport clock, the vector clock (if
 *    enabled) and the HLC, and is traced with those stamps.
 */
#ifndef COHORT_NODE_H
#define COHORT_NODE_H

#include <stdbool.h>

#include "cohort/clock.h"
#include "cohort/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cohort_node cohort_node_t;
typedef struct cohort_proto cohort_proto_t;

/* Wire protocol version carried in every envelope. A datagram with another
 * major version is dropped (COHORT_EVERSION); minor versions interoperate. */
#define COHORT_WIRE_VERSION_MAJOR 2
#define COHORT_WIRE_VERSION_MINOR 0

/* Protocol ids: which protocol instance an envelope is for. */
enum {
  COHORT_PROTO_NODE = 0, /* the node layer itself (reserved) */
  COHORT_PROTO_FD = 1,
  COHORT_PROTO_ELECTION = 2,
  COHORT_PROTO_MUTEX = 3,
  COHORT_PROTO_TIMESYNC = 4,
  COHORT_PROTO_GROUP = 5,
  COHORT_PROTO_APP = 16, /* first id free for applications and tests */
  COHORT_PROTO_ID_MAX = 255
};

/* ---- what the host provides ------------------------------------------- */

typedef struct cohort_host_ops {
  /* Local monotonic clock of this node in ns (drifts, never steps). */
  int64_t (*now)(void *host);
  /* Local physical clock in ns since the Unix epoch (drifts and steps). */
  int64_t (*wall)(void *host);
  /* True time in ns since the Unix epoch: the simulator's global time, the
   * runtime's CLOCK_REALTIME (the same for all processes of one machine,
   * which is what lets traces of several processes be merged). */
  int64_t (*true_time)(void *host);
  /* 64 random bits from a stream the host seeds and owns. */
  uint64_t (*random)(void *host);
  /* Send one datagram. The buffer is only borrowed for the call. Returns 0
   * or a negative error; a failed send is traced as a drop by the node. */
  int (*send)(void *host, cohort_node_id_t to, const uint8_t *datagram,
              size_t len);
  /* Arm the node's single wake-up at local monotonic time `deadline`
   * (COHORT_TIME_NEVER disarms). Replaces any earlier wake-up. */
  void (*wake)(void *host, int64_t deadline);
  /* Append one formatted JSON Lines record (no trailing newline; `len`
   * bytes). NULL disables tracing and its formatting cost entirely. */
  void (*trace)(void *host, const char *line, size_t len);
  /* Optional: send one datagram to a host address that is not (yet) a
   * peer — a contact point whose node id is unknown (cohort_node_send_addr,
   * a JOIN). NULL: such sends fail with COHORT_EUNKNOWN. */
  int (*send_addr)(void *host, const uint8_t *addr, size_t addr_len,
                   const uint8_t *datagram, size_t len);
  /* Optional: a peer was added (with the address given to
   * cohort_node_peer_add, possibly none) or removed, so the host can keep
   * its address table; called before the protocols hear of it. */
  void (*peer)(void *host, cohort_node_id_t id, const uint8_t *addr,
               size_t addr_len, bool added);
} cohort_host_ops_t;

/* ---- node configuration ----------------------------------------------- */

/* What protects cluster datagrams (docs/security.md). */
typedef enum cohort_security {
  COHORT_SECURITY_AUTO = 0, /* AUTH when a key is given, else NONE */
  COHORT_SECURITY_NONE,     /* open: anyone who can reach the port speaks */
  COHORT_SECURITY_AUTH,     /* HMAC-SHA256/128 tags: integrity, no secrecy;
                               accepts AUTH and ENCRYPT datagrams */
  COHORT_SECURITY_ENCRYPT,  /* AEAD: secrecy and integrity; accepts only
                               ENCRYPT datagrams */
  COHORT_SECURITY_ENCRYPT_ACCEPT_AUTH /* sends ENCRYPT, also accepts AUTH:
                               the middle step of moving a cluster from
                               AUTH to ENCRYPT one node at a time */
} cohort_security_t;

typedef enum cohort_cipher {
  COHORT_CIPHER_AES256_GCM = 0,
  COHORT_CIPHER_CHACHA20_POLY1305 = 1
} cohort_cipher_t;

/* A host address (cohort_node_config_t.contacts). */
typedef struct cohort_contact {
  uint8_t len;
  uint8_t addr[COHORT_PEER_ADDR_MAX];
} cohort_contact_t;

typedef struct cohort_node_config {
  uint64_t cluster_id;
  cohort_node_id_t id;
  cohort_incarnation_t incarnation; /* chosen by the host; > 0 */
  /* Known peers (not including self); copied at init. */
  const cohort_node_id_t *peers;
  size_t peers_len;
  /* Shared cluster key (key id `key_id`); key_len 0 = an open cluster.
   * More keys can be added later (cohort_node_key_add) for rotation. */
  const uint8_t *key;
  size_t key_len;
  uint8_t key_id;
  /* What protects datagrams; AUTO = AUTH with a key, NONE without. */
  cohort_security_t security;
  cohort_cipher_t cipher; /* for COHORT_SECURITY_ENCRYPT* */
  /* A datagram naming no incarnation of ours is refused when its HLC is
   * older than this (0 = COHORT_FIRST_CONTACT_AGE_NS). */
  int64_t first_contact_age_ns;
  /* Stamp envelopes and trace records with a vector clock. Costs O(n) per
   * message; off for large clusters that do not need causality. */
  bool vector_clock;
  /* HLC: maximum accepted lead of a remote timestamp over our wall clock;
   * 0 selects the default, 500 ms (CockroachDB's default max offset). */
  int64_t hlc_max_offset_ns;
  const cohort_allocator_t *alloc; /* NULL = default */
  /* Contact points (host addresses, opaque to the node, each at most
   * COHORT_PEER_ADDR_MAX bytes) a membership protocol may send a JOIN to:
   * `cohort node --join HOST:PORT,...`. Copied at init; at most
   * COHORT_CONTACTS_MAX. */
  const cohort_contact_t *contacts;
  size_t contacts_len;
} cohort_node_config_t;

/* Counters of everything the node dropped or refused, by reason. */
typedef struct cohort_node_stats {
  uint64_t tx_datagrams, tx_bytes, tx_errors;
  uint64_t rx_datagrams, rx_bytes;
  uint64_t rx_delivered;
  uint64_t drop_malformed;     /* failed to decode */
  uint64_t drop_cluster;       /* another cluster id */
  uint64_t drop_version;       /* unknown major version */
  uint64_t drop_auth;          /* missing or bad tag */
  uint64_t drop_stale;         /* older incarnation of the sender */
  uint64_t drop_unknown_peer;  /* sender not among our peers */
  uint64_t drop_unknown_proto; /* no protocol attached with that id */
  uint64_t drop_proto;         /* the protocol refused it (bad payload) */
  uint64_t drop_clock;         /* HLC too far ahead */
  uint64_t drop_self;          /* claims to be from our own id */
  uint64_t drop_nomem;         /* no memory to merge its vector clock */
  uint64_t drop_replay;        /* seen before, or older than the window */
  uint64_t drop_dest;          /* for another incarnation of this node */
  uint64_t drop_incarnation;   /* sender incarnation implausible (future) */
  uint64_t drop_oversize;      /* longer than COHORT_DATAGRAM_MAX */
  uint64_t notices_sent;       /* "I restarted" notices to stale senders */
} cohort_node_stats_t;

/* ---- what a protocol provides ----------------------------------------- */

/* A received message as a protocol sees it. Pointers are borrowed for the
 * duration of the recv call. */
typedef struct cohort_msg {
  cohort_node_id_t from;
  cohort_incarnation_t from_incarnation;
  uint32_t kind; /* protocol-specific message kind */
  const uint8_t *payload;
  size_t payload_len;
  uint64_t lamport;     /* sender's Lamport stamp */
  cohort_hlc_ts_t hlc;  /* sender's HLC stamp */
  uint64_t seq;         /* sender's per-incarnation message number */
  /* The host address it came from, if the host gave one (borrowed), and
   * whether its sender is a peer; datagrams from non-peers reach only
   * protocols that opted in (COHORT_PROTO_ACCEPT_UNKNOWN). */
  const uint8_t *addr;
  size_t addr_len;
  bool from_peer;
} cohort_msg_t;

/* Why a peer event is raised. */
typedef enum cohort_peer_event {
  COHORT_PEER_RESTARTED = 1, /* a newer incarnation of the peer spoke */
  COHORT_PEER_ADDED = 2,     /* cohort_node_peer_add */
  COHORT_PEER_REMOVED = 3,   /* cohort_node_peer_remove (still readable
                                during the callback: it is removed after) */
  COHORT_PEER_FAILED = 4     /* the host reports the peer crashed (a
                                fail-stop environment: cohort_node_peer_failed) */
} cohort_peer_event_t;

/* Flags of cohort_proto_ops_t. */
enum {
  /* Receive authenticated datagrams from senders that are not peers (and
   * datagrams addressed to no node id: cohort_node_send_addr) — how a
   * membership protocol admits a JOIN, deliberately (quicly's accept). */
  COHORT_PROTO_ACCEPT_UNKNOWN = 1u << 0
};

typedef struct cohort_proto_ops {
  const char *name; /* short, for traces: "fd", "bully", "mutex" */
  uint32_t proto_id;
  /* Name of a message kind for traces; NULL or returning NULL = number. */
  const char *(*kind_name)(uint32_t kind);
  /* Called once by cohort_node_start (or at attach if already started). */
  void (*start)(cohort_proto_t *p);
  /* A message for this protocol. Return 0, or COHORT_EPROTO (or another
   * negative code) if the payload is malformed: the node counts and traces
   * the drop. Must not assert on payload contents. */
  int (*recv)(cohort_proto_t *p, const cohort_msg_t *msg);
  /* A timer armed with cohort_node_timer_set fired. */
  void (*timer)(cohort_proto_t *p, uint32_t timer_id);
  /* Optional: a peer was added, removed, restarted or reported failed. */
  void (*peer)(cohort_proto_t *p, cohort_node_id_t peer,
               cohort_peer_event_t ev);
  uint32_t flags; /* COHORT_PROTO_* */
  /* Optional: an operator's or a scenario's command for this protocol
   * ("leave" for a group member, from `at T leave N` or `cohort ctl`).
   * Returns 0, COHORT_EUNKNOWN for a command it does not know, or another
   * negative error. */
  int (*control)(cohort_proto_t *p, const char *cmd);
} cohort_proto_ops_t;

/* Embed as the first member of a protocol's state. */
struct cohort_proto {
  const cohort_proto_ops_t *ops;
  cohort_node_t *node; /* set by cohort_node_attach */
};

/* ---- host side ---------------------------------------------------------- */

/* Size of cohort_node_t for callers that allocate it themselves. */
size_t cohort_node_size(void);

/* Initialise a caller-allocated node (cohort_node_size() bytes). Returns 0,
 * COHORT_EINVAL or COHORT_ENOMEM; on error the node needs no close. */
int cohort_node_init(cohort_node_t *n, const cohort_node_config_t *cfg,
                     const cohort_host_ops_t *host_ops, void *host);
/* Allocate and init in one go; *out written only on success. */
int cohort_node_new(const cohort_node_config_t *cfg,
                    const cohort_host_ops_t *host_ops, void *host,
                    cohort_node_t **out);
/* Release everything the node owns (not the attached protocols, whose
 * owners close them first). Accepts NULL. cohort_node_free also frees n. */
void cohort_node_close(cohort_node_t *n);
void cohort_node_free(cohort_node_t *n);

/* Attach a protocol (its ops->proto_id must be unique on this node). The
 * protocol is borrowed: it must outlive the node or be detached first. */
int cohort_node_attach(cohort_node_t *n, cohort_proto_t *p);
void cohort_node_detach(cohort_node_t *n, cohort_proto_t *p);
/* Call start on every attached protocol; later attaches start at once. */
void cohort_node_start(cohort_node_t *n);

/* A datagram arrived from the network (sender unknown until decoded).
 * Returns 0 if delivered to a protocol, else the negative reason it was
 * dropped (already counted and traced). Never crashes on any bytes; a
 * datagram longer than COHORT_DATAGRAM_MAX (hosts pass what they read,
 * up to one byte more) is dropped as oversize. */
int cohort_node_on_datagram(cohort_node_t *n, const uint8_t *buf, size_t len);
/* The same, with the host address it came from (opaque, at most
 * COHORT_PEER_ADDR_MAX bytes, borrowed for the call): protocols see it in
 * cohort_msg_t and may add the sender as a peer with it. Once the datagram
 * is admitted, a peer without an address (or a newer incarnation of a
 * peer) takes this one, and so does the sender when a protocol adds it as
 * a peer without an address while handling the datagram; the host hears
 * of it through its `peer` op. */
int cohort_node_on_datagram_from(cohort_node_t *n, const uint8_t *buf, size_t len,
                                 const uint8_t *addr, size_t addr_len);

/* ---- peers (dynamic membership) ------------------------------------------ */

/* Add peer `id` (incarnation `inc`, 0 if not known yet; address `addr`,
 * opaque to the node and handed to the host's `peer` op, may be NULL).
 * If the peer exists, its address is updated and a larger inc noted;
 * returns COHORT_EEXIST then (no event). Else 0 and COHORT_PEER_ADDED to
 * every protocol. COHORT_EINVAL (own id, NONE, addr too long),
 * COHORT_EFULL (COHORT_NODES_MAX), COHORT_ENOMEM. */
int cohort_node_peer_add(cohort_node_t *n, cohort_node_id_t id,
                         cohort_incarnation_t inc, const uint8_t *addr,
                         size_t addr_len);
/* Remove a peer: COHORT_PEER_REMOVED to every protocol, then its state
 * (incarnation, windows, keys) is freed; datagrams from it are dropped as
 * unknown_peer again. COHORT_ENOTFOUND if it is not a peer. */
int cohort_node_peer_remove(cohort_node_t *n, cohort_node_id_t id);
/* Newest incarnation heard from (or given for) peer id; 0 if unknown or not
 * a peer. */
cohort_incarnation_t cohort_node_peer_incarnation(const cohort_node_t *n,
                                                  cohort_node_id_t id);
bool cohort_node_is_peer(const cohort_node_t *n, cohort_node_id_t id);
/* The address given for a peer (borrowed until the peer changes).
 * COHORT_ENOTFOUND if not a peer. */
int cohort_node_peer_addr(const cohort_node_t *n, cohort_node_id_t id,
                          const uint8_t **addr, size_t *addr_len);
/* Host: peer `id` (incarnation inc, 0 = any) crashed — a fail-stop
 * environment tells; protocols get COHORT_PEER_FAILED. */
void cohort_node_peer_failed(cohort_node_t *n, cohort_node_id_t id,
                             cohort_incarnation_t inc);

/* ---- keys ----------------------------------------------------------------- */

/* Hold another key (id unused, 1..COHORT_CLUSTER_KEY_MAX bytes): datagrams
 * protected by it are accepted from now on. Rotation without downtime:
 * add the new key everywhere, then cohort_node_key_use it everywhere,
 * then remove the old one everywhere. COHORT_EEXIST, COHORT_EFULL
 * (COHORT_KEYS_MAX), COHORT_EINVAL, COHORT_ENOMEM. */
int cohort_node_key_add(cohort_node_t *n, uint8_t key_id, const uint8_t *key,
                        size_t key_len);
/* Send with key `key_id` from now on. COHORT_ENOTFOUND. */
int cohort_node_key_use(cohort_node_t *n, uint8_t key_id);
/* Stop accepting key_id. COHORT_ESTATE if it is the one in use,
 * COHORT_ENOTFOUND. */
int cohort_node_key_remove(cohort_node_t *n, uint8_t key_id);
/* Become a new incarnation of this node in place (a member excluded from
 * its group by mistake rejoins as a new process, the guide's
 * reincarnation rule): the incarnation grows by one, message numbers and
 * per-peer link counters restart, keys are derived anew; peers see a
 * restart (COHORT_PEER_RESTARTED) at our next datagram. Protocols keep
 * their state: the caller resets what belongs to the old incarnation.
 * Returns 0, or COHORT_EFULL at COHORT_COUNTER_REMOTE_MAX. */
int cohort_node_reincarnate(cohort_node_t *n);
/* The contact points given at init (borrowed). */
const cohort_contact_t *cohort_node_contacts(const cohort_node_t *n, size_t *len);

/* The host's wake-up fired: run every due timer, re-arm the wake-up. */
void cohort_node_on_wake(cohort_node_t *n);

const cohort_node_stats_t *cohort_node_stats(const cohort_node_t *n);

/* ---- protocol side ------------------------------------------------------ */

cohort_node_id_t cohort_node_id(const cohort_node_t *n);
cohort_incarnation_t cohort_node_incarnation(const cohort_node_t *n);
/* Peers known to this node (not self), sorted ascending. Borrowed. */
const cohort_node_id_t *cohort_node_peers(const cohort_node_t *n,
                                          size_t *len);
int64_t cohort_node_now(cohort_node_t *n);
int64_t cohort_node_wall(cohort_node_t *n);
uint64_t cohort_node_random(cohort_node_t *n);
/* Uniform in [0, bound); bound > 0. */
uint64_t cohort_node_random_below(cohort_node_t *n, uint64_t bound);
const cohort_allocator_t *cohort_node_allocator(const cohort_node_t *n);

/* Send payload to one peer as a message of `kind` of protocol p, for the
 * peer's newest incarnation we know of (or any, if we have not heard from
 * it). Returns 0 or a negative error (COHORT_EINVAL for an oversize
 * payload or unknown peer, or the host's send error). Ticks and stamps the
 * clocks. */
int cohort_node_send(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to,
                     uint32_t kind, const uint8_t *payload, size_t len);
/* The same, bound to incarnation `to_inc` of the peer: an answer to a
 * request of that incarnation (a GRANT, a vote) reaches no other. If we
 * already know a newer incarnation, nothing is sent: COHORT_ESTALE.
 * to_inc 0 = the newest we know (cohort_node_send); COHORT_INCARNATION_ANY
 * = a message that means the same to every incarnation (a heartbeat, a
 * stateless query): the receiver then only requires it to be fresh
 * (COHORT_FIRST_CONTACT_AGE_NS) and new to its replay window. */
#define COHORT_INCARNATION_ANY UINT64_MAX
int cohort_node_send_to(cohort_node_t *n, cohort_proto_t *p, cohort_node_id_t to,
                        cohort_incarnation_t to_inc, uint32_t kind,
                        const uint8_t *payload, size_t len);
/* Send to a host address whose node is unknown (a contact point): the
 * envelope names no destination, and only protocols with
 * COHORT_PROTO_ACCEPT_UNKNOWN receive it. COHORT_EUNKNOWN without the
 * host's send_addr op. */
int cohort_node_send_addr(cohort_node_t *n, cohort_proto_t *p, const uint8_t *addr,
                          size_t addr_len, uint32_t kind, const uint8_t *payload,
                          size_t len);
/* Send the same payload to every peer: one send event (clock tick and
 * message id) per peer. Returns the first error, after trying every peer. */
int cohort_node_broadcast(cohort_node_t *n, cohort_proto_t *p, uint32_t kind,
                          const uint8_t *payload, size_t len);

/* Arm (or re-arm) timer `timer_id` of protocol p at local monotonic time
 * `deadline`. Returns 0 or COHORT_EFULL. */
int cohort_node_timer_set(cohort_node_t *n, cohort_proto_t *p,
                          uint32_t timer_id, int64_t deadline);
void cohort_node_timer_cancel(cohort_node_t *n, cohort_proto_t *p,
                              uint32_t timer_id);

/* The protocol attached with this proto id, or NULL. Borrowed. Lets one
 * protocol use another on the same node (an election asks the failure
 * detector whom it suspects). */
cohort_proto_t *cohort_node_proto(const cohort_node_t *n, uint32_t proto_id);

/* The node's logical clocks, read-only for protocols. */
uint64_t cohort_node_lamport(const cohort_node_t *n);
const cohort_vclock_t *cohort_node_vclock(const cohort_node_t *n);
cohort_hlc_ts_t cohort_node_hlc(const cohort_node_t *n);

/* Record a state change (a local event: ticks the clocks). `what` is a
 * short identifier ("suspect", "leader", "lock_grant"); `data_json` is a
 * JSON object text ("{...}") or NULL. Cheap when tracing is off. */
void cohort_node_trace_state(cohort_node_t *n, cohort_proto_t *p,
                             const char *what, const char *data_json);
/* Record that protocol p handed message `msg` (received earlier) to the
 * application: a deliver event, distinct from the node's recv event, which
 * is where holdback and ordering show in traces. */
void cohort_node_trace_deliver(cohort_node_t *n, cohort_proto_t *p,
                               const cohort_msg_t *msg);
/* True when the host records traces (protocols may skip formatting). */
bool cohort_node_tracing(const cohort_node_t *n);

#ifdef __cplusplus
}
#endif
#endif
