/*
 * cohort/group.h — group membership and view-synchronous reliable
 * multicast (study guide, week 4: "Virtual Synchrony and Group
 * Membership", "Message Stability", "View Changes", "Recovery and State
 * Transfer"; docs/group.md maps each part to the guide's text).
 *
 * A group is a sans-I/O protocol (proto id COHORT_PROTO_GROUP) attached to
 * a node next to a failure detector (COHORT_PROTO_FD: the node's, or one
 * the group creates). Members see the same sequence of views; a view is
 * (epoch, coordinator) plus the ordered member list of (node id,
 * incarnation) pairs, the oldest member first and coordinating.
 *
 *  - Join: a process that is in no view sends JOIN to its node's contact
 *    points (cohort_node_contacts: `cohort node --join HOST:PORT,...`);
 *    any member forwards it to the coordinator, which adds every pending
 *    joiner in the next view change. The joiner is told the view in the
 *    COMMIT and then pulls the group's state from the coordinator (chunks
 *    with a window, re-requested on loss); it delivers nothing until the
 *    state is installed (set_state), and gives up (nothing installed) if
 *    the view changes first — it joins again.
 *  - Exclusion: the coordinator excludes members its detector suspects
 *    or other members report as suspected (a SUSPECT message): the trace
 *    records who suspected whom with φ and the heartbeat window. A member
 *    excluded while alive learns it (a member of the newer view tells it),
 *    becomes a new incarnation of its node (cohort_node_reincarnate) and
 *    joins again: it never continues in the old view.
 *  - Multicast (the guide's stability protocol): the sender numbers its
 *    messages per view and sends them to every member; members buffer
 *    them and acknowledge cumulatively (batched every `ack` interval);
 *    once every member acknowledged, the sender announces them stable
 *    (piggybacked on its next message, or a STABLE of its own when idle);
 *    members deliver a sender's messages in its order once announced
 *    stable. Unacknowledged messages are retransmitted.
 *  - View change (flush, collect, commit): the coordinator sends FLUSH to
 *    the survivors; each blocks (the block callback: stop sending;
 *    cohort_group_send returns COHORT_EAGAIN until the next view) and
 *    answers with how far it received every sender's messages; the
 *    coordinator takes, per sender, the furthest any survivor got, and
 *    tells everyone (SYNC); survivors fetch what they lack from one that
 *    has it, then answer FLUSH_OK — a promise: until that proposal's view
 *    is installed they answer no other coordinator except to hand on the
 *    promise, so a coordinator that takes over completes it (one view per
 *    epoch along the primary line). With every FLUSH_OK the coordinator
 *    sends COMMIT: every survivor delivers exactly the messages up to the
 *    agreed cut in the old view, then installs the new view. A
 *    coordinator that fails at any point is replaced by the next member in
 *    rank that everyone before it is suspected by.
 *  - Primary component: a view is primary when its members hold more than
 *    half of the votes of the last primary view (or, for the first views
 *    of a group, at least `expected` votes' majority). A minority view is
 *    installed as non-primary: the application sees it; with
 *    minority=block multicasts return COHORT_ESTATE there.
 *  - Merge: coordinators probe nodes they know of outside their view; when
 *    two views meet, the lower coordinator id leads one view change that
 *    flushes both and commits their union; the reconcile callback gives
 *    the application the component views so it can resolve divergence.
 *
 * Trace state events (proto "group") are those of docs/group-trace.md:
 * view, block, gsend, gdeliver, state_installed, state_abandoned,
 * exclude, excluded, leave, joining — the group checkers read nothing else.
 *
 * Ownership: cohort_group_new allocates from the node's allocator; attach
 * cohort_group_proto(g); detach before cohort_group_free. Callbacks run
 * inside the node's entry points and may call cohort_group_send, but
 * must not free the group. Every buffer a peer can grow is bounded (the
 * limits below and in limits.h).
 */
#ifndef COHORT_GROUP_H
#define COHORT_GROUP_H

#include <stdbool.h>

#include "cohort/detect.h"
#include "cohort/node.h"
#include "cohort/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest application message (one datagram, with its headers). */
#define COHORT_GROUP_MSG_MAX 30000
/* Members of one view. */
#define COHORT_GROUP_MEMBERS_MAX 256
/* A member's own messages not yet stable (the send window). */
#define COHORT_GROUP_WINDOW_MAX 4096
/* Largest state a joiner accepts (set_state's buffer). */
#define COHORT_GROUP_STATE_MAX ((size_t)1 << 30)

/* ---- views -------------------------------------------------------------- */

typedef struct cohort_group_member {
  cohort_node_id_t id;
  cohort_incarnation_t inc;
} cohort_group_member_t;

/* A view id: epoch (strictly increasing along every chain of views) and
 * the coordinator process that formed it (its node id and incarnation,
 * so two groups founded by two incarnations of one node never share an
 * id). Written "E.C.I" in traces. */
typedef struct cohort_group_view_id {
  uint64_t epoch;
  cohort_node_id_t coord;
  cohort_incarnation_t coord_inc;
} cohort_group_view_id_t;

/* A view as the application sees it (borrowed for the callback). */
typedef struct cohort_group_view {
  cohort_group_view_id_t id;
  const cohort_group_member_t *members; /* rank order: coordinator first */
  size_t members_len;
  bool primary;
  const cohort_group_member_t *joined, *left, *failed; /* vs. the last view */
  size_t joined_len, left_len, failed_len;
  const cohort_group_view_id_t *merged; /* components of a merge view */
  size_t merged_len;
} cohort_group_view_t;

/* ---- configuration ------------------------------------------------------ */

typedef enum cohort_group_minority {
  COHORT_GROUP_MINORITY_CONTINUE = 0, /* a non-primary view works on */
  COHORT_GROUP_MINORITY_BLOCK = 1     /* multicasts refused (COHORT_ESTATE) */
} cohort_group_minority_t;

typedef struct cohort_group_config {
  int64_t ack_interval_ns;   /* batch acks and stability (default 5 ms) */
  int64_t retransmit_ns;     /* resend unacknowledged messages (50 ms) */
  int64_t join_retry_ns;     /* a joiner asks again (300 ms) */
  int64_t join_delay_ns;     /* joins gathered before a view change (20 ms) */
  int64_t flush_timeout_ns;  /* survivors silent this long are left out (1 s) */
  int64_t merge_interval_ns; /* coordinators probe outside their view (1 s) */
  int64_t state_timeout_ns;  /* a transfer making no progress is given up (3 s) */
  uint32_t window;           /* own unstable messages (default 256) */
  /* and their payload bytes (default 1 MiB, at least COHORT_GROUP_MSG_MAX):
   * a window of large messages must not overrun the receivers' socket
   * buffers (every loss costs a retransmission) */
  uint32_t window_bytes;
  uint32_t state_window;     /* state chunks in flight (default 16) */
  uint32_t expected_votes;   /* votes the group is meant to have (default 1) */
  cohort_group_minority_t minority;
  /* Per-node votes (votequorum's quorum.votes); nodes not listed have 1. */
  const cohort_node_id_t *vote_nodes;
  const uint32_t *votes;
  size_t votes_len;
  /* Found the group: install a singleton view at start instead of joining
   * (the first member; a joiner that reaches no contact never founds). */
  bool founder;
  /* Exclude a member only on suspicions from the local detector (false:
   * also on other members' SUSPECT reports). */
  bool local_suspicion_only;
  /* Acknowledge every message and announce every stability step at once
   * (3 messages per message per member, the guide's protocol verbatim),
   * for comparison with the batched default. */
  bool unbatched;
} cohort_group_config_t;

void cohort_group_config_default(cohort_group_config_t *cfg);
int cohort_group_config_check(const cohort_group_config_t *cfg, char *err, size_t errcap);

/* ---- callbacks ------------------------------------------------------------ */

typedef struct cohort_group_callbacks {
  /* A view was installed (every survivor installs the same views in the
   * same order). */
  void (*view)(void *ud, const cohort_group_view_t *view);
  /* A flush started: stop sending until the next view. */
  void (*block)(void *ud);
  /* Message seq of member (from, inc), delivered in the current view. */
  void (*deliver)(void *ud, cohort_group_member_t from, uint64_t seq, const uint8_t *msg,
                  size_t len);
  /* Donor side: a snapshot of the application state, allocated with the
   * node's allocator (the group frees it). NULL: the group has no state. */
  int (*get_state)(void *ud, uint8_t **state, size_t *len);
  /* Joiner side: install the state (0, or an error: the join is retried). */
  int (*set_state)(void *ud, const uint8_t *state, size_t len);
  /* A merge view was installed: `view->merged` lists the components. */
  void (*reconcile)(void *ud, const cohort_group_view_t *view);
  /* This process was excluded (it rejoins as a new incarnation). */
  void (*excluded)(void *ud, cohort_group_view_id_t by);
  /* A TOTAL message of the view being left that will never be delivered
   * here: its number was not agreed (known stable) when the view ended,
   * and this process goes on with no majority of that view's members —
   * a minority side of a partition, or the survivors of many crashes
   * (indistinguishable): the majority side, if there is one, may have
   * ordered it, so no order chosen here is safe. Called in the old view,
   * at every member of the new one, for the same messages; may be NULL.
   * Later messages do not wait for it. */
  void (*dropped)(void *ud, cohort_group_member_t from, uint64_t seq, const uint8_t *msg,
                  size_t len);
} cohort_group_callbacks_t;

/* ---- the protocol ---------------------------------------------------------- */

typedef struct cohort_group cohort_group_t;

typedef enum cohort_group_status {
  COHORT_GROUP_JOINING = 0, /* in no view yet (or excluded: joining again) */
  COHORT_GROUP_MEMBER,      /* in a view, sending allowed */
  COHORT_GROUP_BLOCKED,     /* flushing: sends refused until the next view */
  COHORT_GROUP_STATE_WAIT,  /* in a view, waiting for the state transfer */
  COHORT_GROUP_LEFT         /* left voluntarily */
} cohort_group_status_t;

typedef struct cohort_group_stats {
  uint64_t tx_data, tx_retransmits, tx_acks, tx_stable, tx_control;
  uint64_t rx_data, rx_dup, rx_stale, rx_malformed;
  uint64_t sent, delivered, delivered_by_flush, discarded_by_flush;
  uint64_t views, view_changes_led, joins, exclusions, merges, rejoins;
  uint64_t state_bytes_sent, state_bytes_received, state_transfers, state_abandoned;
  uint64_t non_primary_views; /* installed here: split-brain is visible */
  /* promised attempts of a coordinator that vanished, found while
   * proposing: finished (a quorum had promised) or voided (proof that
   * they were never committed) */
  uint64_t attempts_finished, attempts_voided;
  uint64_t declined; /* views that named us while we were in another one */
  /* ordering services: ORDER messages sent (as the view's sequencer),
   * TOTAL messages numbered here as sequencer, TOTAL messages numbered by
   * the flush (not ordered when the view ended), messages held back by
   * their ordering after they were stable (delivered later), and
   * messages the flush had to deliver against their ordering (must be 0),
   * and TOTAL messages a flush without a majority of the old view dropped
   * (their order was not agreed: the `dropped` callback had them) */
  uint64_t tx_order, sequenced, flush_sequenced, held_back, order_forced, dropped_unordered;
  /* gaps asked for again at once (a FETCH to the sender, answered from
   * its ring; the answers count in tx_retransmits there) */
  uint64_t tx_nacks;
} cohort_group_stats_t;

/* Create on `node` (not attached). Uses the node's failure detector if
 * attached, else creates one (cohort_group_fd) that the group attaches
 * and detaches with itself. Returns 0, COHORT_EINVAL, COHORT_ENOMEM. */
int cohort_group_new(cohort_node_t *node, const cohort_group_config_t *cfg,
                     const cohort_group_callbacks_t *cb, void *ud, cohort_group_t **out);
/* Detach cohort_group_proto(g) first. Accepts NULL. */
void cohort_group_free(cohort_group_t *g);
cohort_proto_t *cohort_group_proto(cohort_group_t *g);
/* The group behind a protocol made by cohort_group_factory; NULL if p is
 * not a group. */
cohort_group_t *cohort_group_from_proto(cohort_proto_t *p);
cohort_fd_t *cohort_group_fd(cohort_group_t *g);

/* ---- the service of one multicast (docs/multicast.md) -------------------
 *
 * A service is one ordering level OR'ed with one reliability level,
 * chosen per message. Ordering (study guide, week 4, "Ordering Levels"):
 *  - UNORDERED: no promise (today delivered in its sender's order anyway:
 *    the reliable core is cumulative);
 *  - FIFO: after every earlier message of its sender in the view;
 *  - CAUSAL: after every message delivered at its sender before it was
 *    sent, and every earlier message of its sender (implies FIFO); the
 *    DATA carries the sender's delivery vector over the view's members;
 *  - TOTAL: by sequencer — the view's coordinator assigns a global
 *    sequence number (gseq) in batched ORDER messages; every member
 *    delivers TOTAL messages in gseq order (also FIFO per sender, and it
 *    respects causality among TOTAL messages);
 *  - TOTAL | CAUSAL: causal total — gseq order and every causal
 *    predecessor of any level first.
 * FIFO may be OR'ed with CAUSAL or TOTAL (both imply it).
 * Reliability: RELIABLE (the only one so far, and the default when no
 * reliability bit is given) is view-synchronous reliable multicast with
 * safe (uniform) delivery: a message is delivered only once every member
 * of the view has acknowledged it (stable), or by the flush of a view
 * change, which delivers the same messages everywhere. UNRELIABLE and
 * BEST_EFFORT are reserved: refused with COHORT_EINVAL until built. */
enum {
  COHORT_MCAST_UNORDERED = 0,
  COHORT_MCAST_FIFO = 1u << 0,
  COHORT_MCAST_CAUSAL = 1u << 1,
  COHORT_MCAST_TOTAL = 1u << 2,
  COHORT_MCAST_ORDER_MASK = 0xffu,
  COHORT_MCAST_RELIABLE = 1u << 8,
  COHORT_MCAST_BEST_EFFORT = 1u << 9, /* reserved, not yet */
  COHORT_MCAST_UNRELIABLE = 1u << 10, /* reserved, not yet */
  COHORT_MCAST_RELIABILITY_MASK = 0xff00u,
  /* cohort_group_send's service */
  COHORT_MCAST_DEFAULT = COHORT_MCAST_FIFO | COHORT_MCAST_RELIABLE
};

/* NULL if `svc` is a service cohort_group_send_svc accepts, else why not
 * (a static string, e.g. "total order needs reliable delivery"). */
const char *cohort_mcast_service_check(uint32_t svc);
/* The ordering level's trace name: "unordered", "fifo", "causal",
 * "total", "causal-total" ("?" for a refused service). */
const char *cohort_mcast_service_name(uint32_t svc);
/* The service named "unordered", "fifo", "causal", "total" or
 * "causal-total" (reliable), in *svc. COHORT_EINVAL for another name. */
int cohort_mcast_service_parse(const char *name, uint32_t *svc);

/* Multicast msg with service `svc` (above): as cohort_group_send, and
 * COHORT_EINVAL for a service cohort_mcast_service_check refuses. *seq
 * numbers the message among this member's messages in the view (gaps:
 * a coordinator's ORDER messages take numbers too). */
int cohort_group_send_svc(cohort_group_t *g, uint32_t svc, const uint8_t *msg, size_t len,
                          uint64_t *seq);

/* Multicast msg (1..COHORT_GROUP_MSG_MAX bytes) to the current view,
 * with COHORT_MCAST_DEFAULT (FIFO, reliable).
 * Returns 0 and *seq (may be NULL); COHORT_EAGAIN while blocked, joining,
 * waiting for state, or when the window is full; COHORT_ESTATE in a
 * non-primary view with minority=block, or after leaving; COHORT_EINVAL. */
int cohort_group_send(cohort_group_t *g, const uint8_t *msg, size_t len, uint64_t *seq);
/* Leave voluntarily: the coordinator removes us in the next view (we
 * deliver up to it); a lone member just stops. COHORT_ESTATE if not in a
 * view. */
int cohort_group_leave(cohort_group_t *g);

cohort_group_status_t cohort_group_status(const cohort_group_t *g);
/* The current view (borrowed until the next view change); NULL before
 * the first. */
const cohort_group_view_t *cohort_group_view(const cohort_group_t *g);
const cohort_group_stats_t *cohort_group_stats(const cohort_group_t *g);
/* "view 4.1 [1.3 2.1 5.2] primary member" — for status lines. Returns the
 * length it wanted (like snprintf) or a negative error. */
int cohort_group_status_line(const cohort_group_t *g, char *buf, size_t cap);
const char *cohort_group_kind_name(uint32_t kind);

/* name "group". Parameters: ack, retransmit, join-retry, join-delay,
 * flush-timeout, merge-interval, state-timeout, window, state-window,
 * window-bytes, expected, minority=continue|block, votes=ID:N,..., founder=ID (the node
 * that founds; default 1), local-suspicion=on|off, and the built-in test
 * application: rate=PER_SECOND (each member multicasts while it may),
 * msg-bytes=N, order=unordered|fifo|causal|total|causal-total|mix (the
 * service of its multicasts; mix: each message a random one; default
 * fifo), state-bytes=N (its state: a digest of everything delivered,
 * padded to N bytes), leave-at / detector parameters of fd (fd-interval,
 * threshold). */
extern const cohort_proto_factory_t cohort_group_factory;

#ifdef __cplusplus
}
#endif
#endif
