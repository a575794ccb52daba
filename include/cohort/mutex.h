/*
 * cohort/mutex.h — distributed mutual exclusion: one API over four
 * algorithms chosen at creation (study guide, "Distributed Mutual
 * Exclusion"):
 *
 *   centralized      a coordinator (the leader of a bully election) keeps
 *                    a FIFO queue: REQUEST, GRANT, RELEASE; a new
 *                    coordinator rebuilds the lock state from every live
 *                    node's REPORT before it grants anything;
 *   lamport          requests ordered by (Lamport time, node id) in every
 *                    node's queue; ACK from everyone; RELEASE to everyone;
 *   ricart-agrawala  REQUEST to everyone, REPLY deferred while the receiver
 *                    holds the lock or has an older request;
 *   token-ring       a token passes along the ring of ids (hop by hop,
 *                    acknowledged); a lost token is regenerated exactly
 *                    once by a PROBE round with a new generation number,
 *                    and tokens of older generations are discarded.
 *
 * A mutex is a sans-I/O protocol (proto id COHORT_PROTO_MUTEX) attached to
 * a node. It needs a failure detector, and the centralized algorithm a
 * leader election: it uses the node's (COHORT_PROTO_FD, and
 * COHORT_PROTO_ELECTION: bully or ring) when they are attached before the
 * mutex is created — a scenario lists `protocol fd ...`, `protocol bully
 * ...` before `protocol mutex ...` and one detector serves all — and
 * otherwise creates its own (`fd` with fd_interval / fd_timeout, and a
 * `bully` election) and attaches them next to itself, so `mutex ...` alone
 * also works.
 *
 * Fencing tokens: every grant carries a token that strictly increases over
 * all grants of the cluster, also across coordinator failover (a new
 * coordinator starts above every token reported to it, and above its HLC,
 * which covers a token only a crashed node knew) and token regeneration
 * (the regenerated token starts N above the highest fence any live node
 * reported). docs/mutex.md states, per algorithm, what holds under which
 * failures.
 *
 * Trace state events (proto "mutex"), for the checkers in
 * src/coord/check_mutex.c, which read nothing else:
 *   "lock_request" {"req":R}             the application asked
 *   "lock_grant"   {"req":R,"token":T}   this node entered the CS
 *   "lock_release" {"req":R,"token":T}   it left the CS (or lease expired:
 *                                        "reason":"lease")
 *   "lock_cancel"  {"req":R}             a pending request was withdrawn
 * plus protocol events ("coordinator", "regenerate", "stale", ...).
 *
 * Ownership: cohort_mutex_new allocates from the node's allocator and
 * attaches the helper protocols; the caller attaches cohort_mutex_proto(m)
 * and detaches it before cohort_mutex_free (which detaches the helpers).
 * Callbacks run inside the node's entry points; they may call acquire /
 * release / cancel but must not free the mutex. Every table is bounded by
 * the node's peer count.
 */
#ifndef COHORT_MUTEX_H
#define COHORT_MUTEX_H

#include <stdbool.h>

#include "cohort/check.h"
#include "cohort/detect.h"
#include "cohort/election.h"
#include "cohort/node.h"
#include "cohort/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Message kinds of COHORT_PROTO_MUTEX. Every payload is a
 * cohort.mutex.Mutex (proto/mutex.proto). A kind the running algorithm
 * does not use is refused with COHORT_EPROTO (counted: rx_malformed). */
enum {
  COHORT_MUTEX_KIND_REQUEST = 1,  /* all */
  COHORT_MUTEX_KIND_GRANT = 2,    /* centralized */
  COHORT_MUTEX_KIND_RELEASE = 3,  /* centralized, lamport */
  COHORT_MUTEX_KIND_ACK = 4,      /* lamport */
  COHORT_MUTEX_KIND_REPLY = 5,    /* ricart-agrawala */
  COHORT_MUTEX_KIND_TOKEN = 6,    /* token-ring */
  COHORT_MUTEX_KIND_TOKEN_ACK = 7,
  COHORT_MUTEX_KIND_PROBE = 8,    /* token-ring: regeneration round */
  COHORT_MUTEX_KIND_PROBE_REPLY = 9,
  COHORT_MUTEX_KIND_QUERY = 10,   /* centralized: new coordinator asks */
  COHORT_MUTEX_KIND_REPORT = 11,  /* centralized: node's lock state */
  COHORT_MUTEX_KIND_RENEW = 12,   /* centralized: lease renewal */
  COHORT_MUTEX_KIND_CANCEL = 13,  /* centralized: withdraw a request */
  COHORT_MUTEX_KIND_MAX = 13
};

typedef enum cohort_mutex_algo {
  COHORT_MUTEX_CENTRALIZED = 0,
  COHORT_MUTEX_LAMPORT = 1,
  COHORT_MUTEX_RICART_AGRAWALA = 2,
  COHORT_MUTEX_TOKEN_RING = 3
} cohort_mutex_algo_t;

typedef enum cohort_mutex_state {
  COHORT_MUTEX_IDLE = 0,
  COHORT_MUTEX_PENDING = 1, /* acquire called, not granted yet */
  COHORT_MUTEX_HELD = 2
} cohort_mutex_state_t;

/* Built-in workload, for the simulator and `cohort node`: acquire, hold
 * `hold`, release, wait uniform [0, think], again, `entries` times (0 =
 * forever). WORKLOAD_FILE also records every enter and exit through the
 * host's file recorder (cohort_mutex_set_file_host; the `cohort` tool
 * appends "node seq enter token" / "node seq exit token" lines to a
 * shared file: a real critical section). */
typedef enum cohort_mutex_workload {
  COHORT_MUTEX_WORKLOAD_NONE = 0,
  COHORT_MUTEX_WORKLOAD_LOOP = 1,
  COHORT_MUTEX_WORKLOAD_FILE = 2
} cohort_mutex_workload_t;

#define COHORT_MUTEX_PATH_MAX 256

typedef struct cohort_mutex_config {
  cohort_mutex_algo_t algo;
  int64_t retry_ns; /* resend unanswered messages this often (> 0) */
  int64_t check_ns; /* poll failure detector / election this often (> 0) */
  /* centralized: a grant expires lease_ns after the holder asked, unless
   * renewed (cohort_mutex_renew); 0 = no lease. */
  int64_t lease_ns;
  /* token-ring: start a regeneration probe when the token was not seen
   * for this long; an idle holder keeps the token pass_ns before passing. */
  int64_t lost_ns;
  int64_t pass_ns;
  /* lamport / ricart-agrawala: stop waiting for suspected peers. Live
   * under crashes, but two nodes may enter under a false suspicion; off
   * by default (the algorithms then block while a peer is down). */
  bool exclude_suspected;
  /* The failure detector the mutex creates: fixed timeout detector. */
  int64_t fd_interval_ns, fd_timeout_ns;
  /* Built-in workload. */
  cohort_mutex_workload_t workload;
  uint64_t entries;
  int64_t hold_ns, think_ns, start_ns;
  char path[COHORT_MUTEX_PATH_MAX];
} cohort_mutex_config_t;

/* Defaults: retry 100ms, check 20ms, lease 0, lost 1s, pass 1ms,
 * exclude_suspected off, fd interval 100ms timeout 1s, no workload (hold
 * 5ms, think 20ms, start 1s when one is chosen). */
void cohort_mutex_config_default(cohort_mutex_config_t *cfg,
                                 cohort_mutex_algo_t algo);
/* Apply key=value parameters: algorithm=centralized|lamport|
 * ricart-agrawala|token-ring, retry, check, lease, lost, pass,
 * exclude_suspected, fd_interval, fd_timeout, workload=none|loop|file,
 * entries, hold, think, start, path. *cfg written only on success;
 * COHORT_EINVAL with "mutex: lease: ..." otherwise. */
int cohort_mutex_config_parse(cohort_mutex_config_t *cfg,
                              const cohort_param_t *params, size_t n,
                              char *err, size_t errcap);

typedef struct cohort_mutex cohort_mutex_t;

/* Outcome of an acquire: status 0 and the fencing token when granted, or
 * COHORT_ECANCELED (cancel). After a grant it runs once more, with
 * COHORT_ETIMEDOUT, if the lease expires before the release: the
 * application must stop using the resource at once. */
typedef void (*cohort_mutex_cb_t)(cohort_mutex_t *m, int status,
                                  uint64_t token, void *ud);

typedef struct cohort_mutex_stats {
  uint64_t tx[COHORT_MUTEX_KIND_MAX + 1], rx[COHORT_MUTEX_KIND_MAX + 1];
  uint64_t tx_errors;
  uint64_t rx_malformed; /* refused with COHORT_EPROTO */
  uint64_t rx_stale;     /* old epoch / generation / request: dropped */
  uint64_t rx_duplicate; /* already seen: answered, not acted on */
  uint64_t rx_nomem;
  uint64_t requests, grants, releases, cancels, expiries;
  uint64_t removed;       /* suspected holders/requesters removed */
  uint64_t regenerations; /* token-ring: tokens this node regenerated */
  uint64_t takeovers;     /* centralized: times this node became coordinator */
  /* Peers that joined / left the node at run time (COHORT_PEER_ADDED /
   * REMOVED), and joiners not tracked for want of memory. */
  uint64_t peers_added, peers_removed, peers_nomem;
} cohort_mutex_stats_t;

/* Create on `node` with cfg: uses the node's fd (and election) if
 * attached, else attaches its own helper protocols to the node. Returns 0, COHORT_EINVAL
 * (bad config; a helper's proto id already taken: message in err),
 * COHORT_ENOMEM. *out only on success. */
int cohort_mutex_new(cohort_node_t *node, const cohort_mutex_config_t *cfg,
                     cohort_mutex_t **out, char *err, size_t errcap);
/* Detach the helpers and free. Detach cohort_mutex_proto(m) first.
 * Accepts NULL. */
void cohort_mutex_free(cohort_mutex_t *m);
cohort_proto_t *cohort_mutex_proto(cohort_mutex_t *m);
/* The mutex behind p; NULL if p is not a mutex. */
cohort_mutex_t *cohort_mutex_from_proto(cohort_proto_t *p);
/* The failure detector the mutex uses (the node's or its own), and for
 * centralized the election (NULL for the other algorithms). Borrowed. */
cohort_fd_t *cohort_mutex_fd(cohort_mutex_t *m);
cohort_election_t *cohort_mutex_election(cohort_mutex_t *m);

/* Ask for the lock; cb runs with the outcome (possibly from inside this
 * call, e.g. a token ring node holding the token). Returns 0,
 * COHORT_ESTATE (already pending or held, or not started). */
int cohort_mutex_acquire(cohort_mutex_t *m, void *ud, cohort_mutex_cb_t cb);
/* Leave the critical section. 0, or COHORT_ESTATE if not held. */
int cohort_mutex_release(cohort_mutex_t *m);
/* Withdraw a pending request; cb runs with COHORT_ECANCELED. 0, or
 * COHORT_ESTATE if nothing is pending. */
int cohort_mutex_cancel(cohort_mutex_t *m);
/* centralized with a lease: ask the coordinator to extend the held lease.
 * 0, COHORT_ESTATE (not held), COHORT_EINVAL (no lease configured). */
int cohort_mutex_renew(cohort_mutex_t *m);

cohort_mutex_state_t cohort_mutex_state(const cohort_mutex_t *m);
/* Fencing token of the current (or last) grant; 0 before any. */
uint64_t cohort_mutex_token(const cohort_mutex_t *m);
/* Highest fencing token this node has seen anywhere. */
uint64_t cohort_mutex_max_token(const cohort_mutex_t *m);
/* centralized: the coordinator this node follows (COHORT_NODE_NONE if
 * none); token-ring: the generation of the last token seen. */
cohort_node_id_t cohort_mutex_coordinator(const cohort_mutex_t *m);
uint64_t cohort_mutex_generation(const cohort_mutex_t *m);
const cohort_mutex_stats_t *cohort_mutex_stats(const cohort_mutex_t *m);
/* "held token 7 (centralized, coordinator 5)" — like snprintf. */
int cohort_mutex_status(const cohort_mutex_t *m, char *buf, size_t cap);
const char *cohort_mutex_kind_name(uint32_t kind);
const char *cohort_mutex_algo_name(cohort_mutex_algo_t algo);

/* The critical section as the application sees it: `enter` right after a
 * grant (before the acquire callback runs), `exit` right before the lock is
 * released, `expire` when a lease ran out. seq is the request id (the same
 * for the enter and the exit of one entry), token the fencing token. */
typedef enum cohort_mutex_cs_event {
  COHORT_MUTEX_CS_ENTER = 0,
  COHORT_MUTEX_CS_EXIT = 1,
  COHORT_MUTEX_CS_EXPIRE = 2
} cohort_mutex_cs_event_t;
typedef void (*cohort_mutex_cs_fn)(void *ud, cohort_node_id_t node,
                                   cohort_mutex_cs_event_t ev, uint64_t seq,
                                   uint64_t token);
/* One observer per mutex (NULL removes it); it must not call back into the
 * mutex. */
void cohort_mutex_set_cs_hook(cohort_mutex_t *m, cohort_mutex_cs_fn fn, void *ud);
const char *cohort_mutex_cs_event_name(cohort_mutex_cs_event_t ev);

/* WORKLOAD_FILE's recorder. Protocol code may not touch files (the env
 * contract), so a host that can registers one, once, before it creates
 * mutexes (the `cohort` tool does: tools/mutex_workload.c). open returns
 * a handle for path (NULL with a message in err); the mutex then installs
 * `record` as its cs hook with that handle; close runs at
 * cohort_mutex_free. Without a registered host, workload=file is refused
 * with COHORT_EINVAL. */
typedef struct cohort_mutex_file_host {
  void *(*open)(const char *path, char *err, size_t errcap);
  cohort_mutex_cs_fn record;
  void (*close)(void *handle);
} cohort_mutex_file_host_t;
void cohort_mutex_set_file_host(const cohort_mutex_file_host_t *host);

/* name "mutex"; parameters as cohort_mutex_config_parse. */
extern const cohort_proto_factory_t cohort_mutex_factory;

/* Checkers (cohort/check.h), from the trace alone:
 *   mutex-safety   no two nodes in the CS at any true instant (a node's
 *                  CS runs from its lock_grant to its lock_release, or its
 *                  crash);
 *   mutex-liveness every request of a node that stays up is granted or
 *                  cancelled within bound=D (default 10s); requests
 *                  after until=D are not checked; stall_after=D instead
 *                  demands that no grant happens after D (a blocked run);
 *   mutex-bypass   while a request waits, other nodes enter at most
 *                  bound=K times (default nodes-1);
 *   mutex-fencing  tokens strictly increase in grant (true-time) order. */
extern const cohort_checker_t cohort_check_mutex_safety;
extern const cohort_checker_t cohort_check_mutex_liveness;
extern const cohort_checker_t cohort_check_mutex_bypass;
extern const cohort_checker_t cohort_check_mutex_fencing;

#ifdef __cplusplus
}
#endif
#endif
