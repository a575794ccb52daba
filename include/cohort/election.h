/*
 * cohort/election.h — leader election: the bully algorithm (Garcia-Molina,
 * 1982) and the ring algorithm (Chang and Roberts, 1979), both with epochs.
 *
 * An election is a sans-I/O protocol (proto id COHORT_PROTO_ELECTION, one
 * per node) attached to a node. It learns that the leader failed from the
 * failure detector on the same node (cohort/detect.h: it polls
 * cohort_fd_is_suspected for the leader every `check` interval), and runs
 * an election at start, when the leader is suspected, and when it hears of
 * a leader it must not accept (bully: a lower id).
 *
 * Epochs. Every leader holds its leadership in an epoch, a 64-bit number
 * that it chooses when it declares itself and that every COORDINATOR /
 * ELECTED message carries:
 *
 *      epoch = round << 32 | leader id,   round = 1 + highest round seen
 *
 * so an epoch names its leader (two leaders can never share an epoch, even
 * on the two sides of a partition) and epochs grow with every election
 * anyone has heard of. A node adopts a leader only with an epoch larger
 * than the one it holds; a message with a smaller epoch is stale: dropped,
 * counted (stats.rx_stale) and answered with a NOTICE of the current
 * (leader, epoch), which makes a stale leader step down. A leader re-sends
 * COORDINATOR to every peer each `announce` interval, which repairs lost
 * announcements and lets the two sides of a healed partition converge.
 *
 * Upcall: the callback runs on every leader change (a new epoch adopted,
 * or the leader lost when a node steps down), from inside the node's entry
 * points; it may read the election but must not close or detach it.
 * Trace state events: "election" {"epoch":E,"reason":"..."} when a node
 * starts one, "leader" {"leader":ID,"epoch":E} when it adopts a leader
 * (itself included), "stepdown" {"epoch":E,"by":E2} when a leader learns
 * of a newer epoch, "stale" {"from":ID,"epoch":E,"current":C}.
 *
 * Ownership: the caller allocates cohort_election_t (or uses a factory),
 * calls cohort_election_init, attaches cohort_election_proto(e) to the
 * node, detaches before cohort_election_close. No allocation after init
 * except while decoding a payload; every table is bounded by the node's
 * peer count.
 */
#ifndef COHORT_ELECTION_H
#define COHORT_ELECTION_H

#include <stdbool.h>

#include "cohort/detect.h"
#include "cohort/node.h"
#include "cohort/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Message kinds of COHORT_PROTO_ELECTION (the envelope's kind). Every
 * payload is a cohort.election.Election (proto/election.proto). A kind the
 * running algorithm does not use is refused with COHORT_EPROTO. */
enum {
  COHORT_ELECTION_KIND_ELECTION = 1,    /* bully: to every higher id */
  COHORT_ELECTION_KIND_OK = 2,          /* bully: "I am alive and higher" */
  COHORT_ELECTION_KIND_COORDINATOR = 3, /* both: leader's announcement */
  COHORT_ELECTION_KIND_RING = 4,        /* ring: election lap, candidate */
  COHORT_ELECTION_KIND_ELECTED = 5,     /* ring: elected lap, leader */
  COHORT_ELECTION_KIND_ACK = 6,         /* ring: hop acknowledgement */
  COHORT_ELECTION_KIND_NOTICE = 7       /* both: answer to a stale epoch */
};

typedef enum cohort_election_algo {
  COHORT_ELECTION_BULLY = 0,
  COHORT_ELECTION_RING = 1
} cohort_election_algo_t;

/* Epoch helpers (see the file comment). */
#define COHORT_ELECTION_EPOCH(round, id) (((uint64_t)(round) << 32) | (uint32_t)(id))
#define COHORT_ELECTION_EPOCH_ROUND(e) ((uint64_t)(e) >> 32)
#define COHORT_ELECTION_EPOCH_LEADER(e) ((cohort_node_id_t)((e) & 0xffffffffu))

typedef struct cohort_election_config {
  cohort_election_algo_t algo;
  /* bully: wait this long for an OK after sending ELECTION; ring: wait
   * this long for a hop's ACK before retrying / skipping the successor. */
  int64_t answer_timeout_ns;
  /* Resends before giving up on silent higher nodes (bully: then declare
   * itself) or on a ring successor (then skip it). */
  uint32_t retries;
  /* bully: after an OK, wait this long for COORDINATOR; ring: an
   * initiator waits this long for the ELECTED lap. Then elect again. */
  int64_t election_timeout_ns;
  /* Leader re-announces COORDINATOR every announce_ns (> 0). */
  int64_t announce_ns;
  /* How often the failure detector's suspicion of the leader is read. */
  int64_t check_ns;
  /* Without a failure detector on the node: suspect the leader when no
   * announcement arrived for this long (> announce_ns). */
  int64_t leader_timeout_ns;
} cohort_election_config_t;

/* Defaults: answer 100ms, retries 1, election 1s, announce 1s, check
 * 50ms, leader_timeout 3s. */
void cohort_election_config_default(cohort_election_config_t *cfg,
                                    cohort_election_algo_t algo);
/* 0, or COHORT_EINVAL with a message ("bully: announce: must be > 0"). */
int cohort_election_config_check(const cohort_election_config_t *cfg,
                                 char *err, size_t errcap);
/* Apply key=value parameters (answer, retries, election, announce, check,
 * leader_timeout) on top of *cfg; *cfg written only on success. */
int cohort_election_config_parse(cohort_election_config_t *cfg,
                                 const cohort_param_t *params,
                                 size_t params_len, char *err, size_t errcap);

typedef struct cohort_election cohort_election_t;

/* The leader changed: `leader` in `epoch`, or COHORT_NODE_NONE (epoch
 * unchanged) when this node lost its leader without knowing a new one. */
typedef void (*cohort_election_cb_t)(cohort_election_t *e,
                                     cohort_node_id_t leader, uint64_t epoch,
                                     void *ud);

typedef struct cohort_election_stats {
  uint64_t elections;    /* elections this node started */
  uint64_t leader_changes;
  uint64_t stepdowns;
  uint64_t tx[8], rx[8]; /* per kind (index = kind, 0 unused) */
  uint64_t tx_errors;
  uint64_t rx_stale;     /* dropped: epoch older than ours */
  uint64_t rx_duplicate; /* ring: dropped duplicate laps */
  uint64_t rx_malformed; /* refused with COHORT_EPROTO */
  uint64_t rx_nomem;
  uint64_t skipped;      /* ring: successors skipped (suspected/silent) */
} cohort_election_stats_t;

/* Phases of a node's own election. */
typedef enum cohort_election_phase {
  COHORT_ELECTION_IDLE = 0,
  COHORT_ELECTION_WAIT_OK = 1,    /* bully: ELECTION sent to higher ids */
  COHORT_ELECTION_WAIT_COORD = 2, /* bully: got OK; ring: participant */
} cohort_election_phase_t;

/* One pending ring hop (the message we forwarded, until acknowledged). */
typedef struct cohort_election_hop {
  bool active;
  uint32_t kind;      /* RING or ELECTED */
  cohort_node_id_t id; /* candidate (RING) or leader (ELECTED) */
  uint64_t epoch;     /* base epoch (RING) or leader's epoch (ELECTED) */
  cohort_node_id_t to;
  uint32_t tries;
  int64_t deadline;
} cohort_election_hop_t;

/* Allocate with the caller; fields are private (use the functions). */
struct cohort_election {
  cohort_proto_t proto; /* first member: the node calls us through it */
  cohort_election_config_t cfg;
  cohort_fd_t *fd; /* borrowed; NULL = own leader timeout */
  bool fd_given;   /* set by cohort_election_set_fd: no lookup at start */
  bool started;
  cohort_node_id_t leader; /* COHORT_NODE_NONE = none known */
  uint64_t epoch;          /* epoch of `leader` (0 = none adopted yet) */
  uint64_t max_epoch;      /* highest epoch heard of */
  int64_t leader_heard_ns; /* last announcement from the leader */
  int64_t quiet_until_ns;  /* no suspicion-driven election before this */
  cohort_election_phase_t phase;
  uint32_t attempts; /* bully: ELECTION rounds sent in this election */
  bool ok_seen;
  cohort_election_hop_t hops[2]; /* ring: [0] election lap, [1] elected */
  cohort_election_cb_t cb;
  void *cb_ud;
  cohort_election_stats_t stats;
};

/* Initialise for `node`. Does not attach. Returns 0 or COHORT_EINVAL (bad
 * config); nothing to close on error. */
int cohort_election_init(cohort_election_t *e, cohort_node_t *node,
                         const cohort_election_config_t *cfg);
/* Accepts NULL and a zeroed struct; detach first. */
void cohort_election_close(cohort_election_t *e);
cohort_proto_t *cohort_election_proto(cohort_election_t *e);
/* The election behind p; NULL if p is not an election. */
cohort_election_t *cohort_election_from_proto(cohort_proto_t *p);
/* Use this failure detector (borrowed; must outlive the election; NULL =
 * none: the leader timeout decides). Without a call, start() looks for the
 * node's COHORT_PROTO_FD protocol. */
void cohort_election_set_fd(cohort_election_t *e, cohort_fd_t *fd);
void cohort_election_set_callback(cohort_election_t *e, void *ud,
                                  cohort_election_cb_t cb);

/* Current leader (COHORT_NODE_NONE if none) and its epoch. */
cohort_node_id_t cohort_election_leader(const cohort_election_t *e);
uint64_t cohort_election_epoch(const cohort_election_t *e);
bool cohort_election_is_leader(const cohort_election_t *e);
/* Start an election now (the application suspects the leader itself).
 * Returns 0, or COHORT_ESTATE before the protocol started. */
int cohort_election_start(cohort_election_t *e);
const cohort_election_stats_t *cohort_election_stats(
    const cohort_election_t *e);
/* "leader 5 epoch 3.5 idle" — like snprintf. */
int cohort_election_status(const cohort_election_t *e, char *buf, size_t cap);
/* Kind names for traces ("election", "ok", ...); NULL if unknown. */
const char *cohort_election_kind_name(uint32_t kind);

/* name "bully" / "ring-election"; parameters as
 * cohort_election_config_parse. */
extern const cohort_proto_factory_t cohort_bully_factory;
extern const cohort_proto_factory_t cohort_ring_election_factory;

/* Trace checkers (cohort/check.h; src/coord/check_election.c):
 * "election-unique", "election-agreement", "election-highest". */
struct cohort_checker;
extern const struct cohort_checker cohort_check_election_unique;
extern const struct cohort_checker cohort_check_election_agreement;
extern const struct cohort_checker cohort_check_election_highest;

#ifdef __cplusplus
}
#endif
#endif
