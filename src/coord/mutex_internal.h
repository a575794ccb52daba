/*
 * src/coord/mutex_internal.h — what the four mutex algorithms share:
 * the mutex object, the decoded message, the per-peer table and the
 * helpers of mutex.c (sending, tracing, granting to the application).
 *
 * Invariants: `state` moves IDLE → PENDING (acquire) → HELD (mx_granted)
 * → IDLE (release, expiry) or PENDING → IDLE (cancel); every move is
 * traced exactly once and the application callback runs exactly once per
 * acquire. `token` strictly increases over this node's grants and never
 * exceeds `max_token`. The peer table has one entry per node peer, in the
 * node's (ascending) order: it follows the node's peers (COHORT_PEER_ADDED
 * / REMOVED), up to COHORT_NODES_MAX entries, so an mx_peer_t pointer is
 * valid only until the next peer event.
 */
#ifndef COHORT_MUTEX_INTERNAL_H
#define COHORT_MUTEX_INTERNAL_H

#include "cohort/election.h"
#include "cohort/mutex.h"

/* Timers of the mutex protocol (its own ids; helpers have theirs). */
enum {
  MX_TIMER_TICK = 1,     /* periodic: retries, suspicion, leader changes */
  MX_TIMER_WORK = 2,     /* workload: next acquire / release */
  MX_TIMER_PASS = 3,     /* token-ring: pass the idle token on */
  MX_TIMER_LEASE = 4     /* centralized: the held lease expires */
};

/* A decoded, validated payload. */
typedef struct mx_msg {
  uint64_t req, ts, token, epoch, seq, max_token, holder_req, own_ts;
  uint32_t state;
  cohort_node_id_t holder;
} mx_msg_t;

/* What this node knows about one peer. Meaning of the fields per
 * algorithm is in the algorithm's file. */
typedef struct mx_peer {
  cohort_node_id_t id;
  cohort_incarnation_t inc;   /* newest incarnation heard from */
  uint64_t stamp;             /* Lamport stamp of the newest state applied */
  uint32_t state;             /* its state as last reported (IDLE/...) */
  uint64_t ts;                /* its request timestamp (lamport, RA) */
  uint64_t req;               /* its request id */
  bool answered;              /* ACK / REPLY / REPORT for our current round */
  bool probed;                /* token-ring: our current probe was sent to it */
  int64_t alive_ns;           /* token-ring: known alive then (took a hop) */
  bool deferred;              /* RA: we owe it a REPLY */
  bool suspected;             /* as of the last tick */
  int64_t heard_ns;           /* last mutex message from it */
  /* centralized coordinator: queued request, first seen at */
  bool queued;
  uint64_t queued_order;
  int64_t last_sent_ns;       /* last retry to it */
} mx_peer_t;

typedef struct mx_algo mx_algo_t;

struct cohort_mutex {
  cohort_proto_t proto; /* first member: the node calls us through it */
  cohort_mutex_config_t cfg;
  const mx_algo_t *algo;
  const cohort_allocator_t *alloc;
  cohort_node_t *node;
  /* The failure detector and election in use: the node's own when one was
   * attached before the mutex was created, else the helpers below. */
  cohort_fd_t *fdp;
  cohort_election_t *elp;
  cohort_fd_t fd;             /* helper: our own failure detector */
  bool fd_attached;
  cohort_election_t election; /* helper (centralized only) */
  bool election_attached;
  bool started;

  mx_peer_t *peers;
  size_t peers_len, peers_cap;

  /* The application's request. */
  cohort_mutex_state_t state;
  uint64_t req;          /* current (or last) request id */
  uint64_t req_ts;       /* lamport / RA: its timestamp */
  int64_t req_sent_ns;   /* first send of the current request */
  uint64_t token;        /* fencing token of the current / last grant */
  uint64_t max_token;    /* highest fencing token seen */
  int64_t lease_until_ns;
  int64_t renew_sent_ns;
  cohort_mutex_cb_t cb;
  void *cb_ud;

  /* centralized */
  cohort_node_id_t leader; /* coordinator we follow */
  uint64_t leader_epoch;
  uint64_t max_epoch;      /* highest coordinator epoch seen (QUERY, GRANT) */
  int64_t last_request_ns;
  struct {
    bool active;           /* we are the coordinator of `epoch` */
    bool recovering;       /* waiting for reports */
    uint64_t epoch;
    cohort_node_id_t holder; /* COHORT_NODE_NONE = free */
    uint64_t holder_req;
    uint64_t holder_token;
    int64_t holder_until_ns; /* lease end at the coordinator */
    int64_t holder_poke_ns;
    uint64_t order;          /* FIFO order of queued requests */
    bool self_queued;
    uint64_t self_order;
    int64_t grant_after_ns;  /* no grant before (lease wait after takeover) */
  } co;

  /* token ring */
  struct {
    bool have;             /* we hold the token */
    bool passing;          /* handed off, waiting for TOKEN_ACK */
    cohort_node_id_t to;   /* ... to this peer */
    uint64_t gen, seq, fence;
    uint64_t min_gen;      /* generations below this are stale */
    uint64_t last_gen, last_seq; /* newest token seen */
    int64_t seen_ns;       /* token last held or seen here */
    int64_t sent_ns;
    bool used;             /* we entered with it during this hold */
    /* regeneration probe we run */
    bool probing;
    bool probe_now;        /* we dropped a copy: probe without waiting */
    uint64_t probe_gen;
    uint64_t probe_fence;
    cohort_node_id_t last_hop_to; /* our last acknowledged hop went to */
    int64_t last_hop_ns;          /* ... acknowledged at (0: none) */
    uint64_t held_for;     /* probe gen we answered "holding" (sticky) */
    uint64_t rounds;       /* highest probe round seen */
  } tk;

  /* critical-section observer; workload=file: the host's recorder */
  cohort_mutex_cs_fn cs_fn;
  void *cs_ud;
  const cohort_mutex_file_host_t *file_host; /* we opened cs_ud with it */

  /* workload */
  uint64_t work_done;

  cohort_mutex_stats_t stats;
};

/* The algorithm's entry points. All optional but recv. */
struct mx_algo {
  const char *name;
  uint32_t kinds; /* bit mask of accepted kinds */
  void (*start)(cohort_mutex_t *m);
  int (*recv)(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *pm);
  void (*tick)(cohort_mutex_t *m);
  void (*request)(cohort_mutex_t *m);  /* state is PENDING, req set */
  void (*release)(cohort_mutex_t *m);  /* state was HELD, now IDLE */
  void (*cancel)(cohort_mutex_t *m);   /* state was PENDING, now IDLE */
  void (*timer)(cohort_mutex_t *m, uint32_t id);
  void (*peer_reset)(cohort_mutex_t *m, mx_peer_t *p); /* new incarnation */
};

COHORT_INTERNAL extern const mx_algo_t mx_centralized_algo;
COHORT_INTERNAL extern const mx_algo_t mx_lamport_algo;
COHORT_INTERNAL extern const mx_algo_t mx_ricart_agrawala_algo;
COHORT_INTERNAL extern const mx_algo_t mx_token_ring_algo;

#define MX_KIND_BIT(k) (1u << (k))

/* ---- helpers in mutex.c ---------------------------------------------------- */

COHORT_INTERNAL cohort_node_id_t mx_self(const cohort_mutex_t *m);
COHORT_INTERNAL int64_t mx_now(const cohort_mutex_t *m);
COHORT_INTERNAL mx_peer_t *mx_peer(cohort_mutex_t *m, cohort_node_id_t id);
COHORT_INTERNAL bool mx_suspects(const cohort_mutex_t *m, cohort_node_id_t id);
/* The detector suspects p and p has not spoken in the mutex for a detector
 * timeout either: what every algorithm treats as crashed. (A restarted
 * node speaks before the detector withdraws its suspicion.) */
COHORT_INTERNAL bool mx_gone(const cohort_mutex_t *m, const mx_peer_t *p);
/* Encode and send; counts tx / tx_errors. */
COHORT_INTERNAL void mx_send(cohort_mutex_t *m, cohort_node_id_t to, uint32_t kind,
                             const mx_msg_t *pm);
COHORT_INTERNAL void mx_trace(cohort_mutex_t *m, const char *what, const char *json);
/* The lock is ours with `token`: state HELD, traced, callback. */
COHORT_INTERNAL void mx_granted(cohort_mutex_t *m, uint64_t token);
/* A lease ran out while held: state IDLE, traced, callback ETIMEDOUT. */
COHORT_INTERNAL void mx_expired(cohort_mutex_t *m);
COHORT_INTERNAL void mx_note_token(cohort_mutex_t *m, uint64_t token);
COHORT_INTERNAL bool mx_token_plausible(const cohort_mutex_t *m, uint64_t token);
/* The token of a new grant here: above every token seen and at least the
 * node's HLC (ns), so it also stays above a token that only a crashed
 * node knew, given clocks within the HLC's offset bound and more than
 * that bound between the two grants. */
COHORT_INTERNAL uint64_t mx_fresh_token(cohort_mutex_t *m);
/* Our state as carried in every message (0 idle, 1 pending, 2 held). */
COHORT_INTERNAL uint32_t mx_wire_state(const cohort_mutex_t *m);

#endif
