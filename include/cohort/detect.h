/*
 * cohort/detect.h — failure detectors: push heartbeats or pull pings, and
 * per monitored peer both a fixed-timeout detector and the phi accrual
 * detector (Hayashibara et al., 2004).
 *
 * The detector is a sans-I/O protocol (proto id COHORT_PROTO_FD) attached to
 * a node: it sends through cohort_node_send, wakes through node timers and
 * reads time only through cohort_node_now. For every peer it keeps a bounded
 * sliding window of inter-arrival times and outputs φ, a continuous
 * suspicion level: φ = k means that, if the arrivals keep the distribution
 * learned so far, a silence this long happens with probability about 10^-k.
 *
 *      φ(t) = −log10(1 − F(t − t_last)),  F = CDF of N(mean + pause, σ²),
 *      σ = max(stddev of the window, min_stddev)
 *
 * φ is exposed as a value (cohort_fd_phi) so the caller can apply its own
 * thresholds; the protocol also applies its configured detector — φ ≥
 * threshold, or silence > timeout for the fixed detector — on a periodic
 * check timer, raising suspicion and recovery upcalls and "suspect" /
 * "recover" trace state events whose data starts with the peer:
 *   {"peer":3,"phi":8.12,"mean_ms":100.1,"stddev_ms":4.2,"samples":998,
 *    "since_ms":141.9,...}
 *
 * Ownership: the caller allocates cohort_fd_t (or uses cohort_fd_factory),
 * calls cohort_fd_init, attaches cohort_fd_proto(fd) to the node, and
 * detaches before cohort_fd_close. Every window and table is bounded
 * (COHORT_FD_WINDOW_MAX samples per peer, one entry per node peer).
 *
 * Dynamic membership: the monitored peers follow the node's. A peer added
 * to the node (COHORT_PEER_ADDED) is monitored from then on, as if just
 * started ("monitor" trace event); a removed one is dropped without an
 * upcall ("unmonitor"); a restarted one starts a fresh model. A peer the
 * host reports crashed (COHORT_PEER_FAILED, cohort_node_peer_failed: a
 * fail-stop environment) is suspected at once — the "suspect" event then
 * carries "reason":"failed" — and stays suspected until a newer
 * incarnation is heard: late heartbeats of the dead one do not recover
 * it.
 */
#ifndef COHORT_DETECT_H
#define COHORT_DETECT_H

#include <stdbool.h>

#include "cohort/node.h"
#include "cohort/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Message kinds of COHORT_PROTO_FD (the envelope's kind). */
enum {
  COHORT_FD_KIND_HEARTBEAT = 1,
  COHORT_FD_KIND_PING = 2,
  COHORT_FD_KIND_PONG = 3
};

/* Largest φ reported. Past ≈ 300 the tail probability leaves the range of a
 * double; an asymptotic expansion continues φ smoothly up to this cap, so φ
 * is always finite (and valid JSON). */
#define COHORT_FD_PHI_MAX 1000.0

/* An inter-arrival sample is clamped to this before it enters a window, so
 * the window's exact integer sums (in µs) cannot overflow. */
#define COHORT_FD_SAMPLE_MAX_NS (60 * COHORT_NS_PER_S)

/* ---- phi math: pure functions ------------------------------------------ */

/* φ for a silence of `since_ns` when arrivals follow N(mean_ns, stddev_ns²).
 * stddev_ns must be > 0 (callers floor it). Result in [0, COHORT_FD_PHI_MAX],
 * non-decreasing in since_ns. Uses erfc, so it stays accurate in the far
 * tail where 1 − F(t) computed naively would round to 0. */
double cohort_fd_phi_compute(double since_ns, double mean_ns, double stddev_ns);

/* A bounded sliding window of inter-arrival times. Samples are kept in µs
 * with exact integer running sums, so mean and variance never drift however
 * long the window slides. */
typedef struct cohort_fd_window {
  uint32_t *samples_us; /* ring of `cap` samples */
  uint32_t cap, len, head;
  uint64_t sum_us;
  uint64_t sumsq_us2;
} cohort_fd_window_t;

/* cap in [2, COHORT_FD_WINDOW_MAX]. Returns 0, COHORT_EINVAL or
 * COHORT_ENOMEM (then nothing to close). */
int cohort_fd_window_init(cohort_fd_window_t *w, uint32_t cap,
                          const cohort_allocator_t *alloc);
/* Accepts NULL and zeroed windows. */
void cohort_fd_window_close(cohort_fd_window_t *w,
                            const cohort_allocator_t *alloc);
/* Add one sample (negative clamped to 0, long ones to
 * COHORT_FD_SAMPLE_MAX_NS); the oldest falls out when the window is full. */
void cohort_fd_window_push(cohort_fd_window_t *w, int64_t gap_ns);
void cohort_fd_window_reset(cohort_fd_window_t *w);
/* Mean and (population) standard deviation in ns; 0 when empty. */
double cohort_fd_window_mean_ns(const cohort_fd_window_t *w);
double cohort_fd_window_stddev_ns(const cohort_fd_window_t *w);

/* ---- configuration ------------------------------------------------------ */

typedef enum cohort_fd_mode {
  COHORT_FD_PUSH = 0, /* every node heartbeats every peer each interval */
  COHORT_FD_PULL = 1  /* the monitor pings; the pong's arrival is the sample */
} cohort_fd_mode_t;

typedef enum cohort_fd_detector {
  COHORT_FD_PHI = 0,  /* suspect when φ ≥ threshold */
  COHORT_FD_FIXED = 1 /* suspect when silent for longer than timeout */
} cohort_fd_detector_t;

typedef struct cohort_fd_config {
  cohort_fd_mode_t mode;
  cohort_fd_detector_t detector;
  int64_t interval_ns;   /* heartbeat / ping period, > 0 */
  double threshold;      /* phi detector: suspicion level, > 0 */
  int64_t timeout_ns;    /* fixed detector: silence allowed, > 0 */
  uint32_t window;       /* samples kept, 2..COHORT_FD_WINDOW_MAX */
  int64_t min_stddev_ns; /* floor of σ, > 0: a perfectly regular peer
                            would otherwise be suspected after one late
                            heartbeat */
  int64_t pause_ns;      /* acceptable pause added to the mean, >= 0 */
  int64_t check_ns;      /* how often suspicion is evaluated, > 0 */
} cohort_fd_config_t;

/* Defaults: push, phi, interval 100ms, threshold 8, timeout 1s, window
 * 1000, min_stddev interval/10, pause interval, check interval/4. */
void cohort_fd_config_default(cohort_fd_config_t *cfg);
/* 0, or COHORT_EINVAL with a message ("fd: window: must be in 2..1000"). */
int cohort_fd_config_check(const cohort_fd_config_t *cfg, char *err,
                           size_t errcap);
/* Apply key=value parameters (mode, interval, detector, threshold, timeout,
 * window, min_stddev, pause, check) on top of *cfg. min_stddev, pause and
 * check, when absent, follow a given interval as in the defaults. Unknown
 * keys and bad values: COHORT_EINVAL with a message; *cfg written only on
 * success (and then already checked). */
int cohort_fd_config_parse(cohort_fd_config_t *cfg, const cohort_param_t *params,
                           size_t params_len, char *err, size_t errcap);

/* ---- the protocol -------------------------------------------------------- */

typedef struct cohort_fd cohort_fd_t;
typedef struct cohort_fd_peer cohort_fd_peer_t; /* private */

/* What the detector knows about one peer, at the moment it is read. */
typedef struct cohort_fd_peer_info {
  cohort_node_id_t peer;
  cohort_incarnation_t incarnation; /* last heard; 0 = none yet */
  double phi;
  int64_t since_ns;    /* since the last arrival (or start, reset) */
  int64_t gap_ns;      /* the last completed inter-arrival gap */
  double mean_ns;      /* expected gap (window, or the interval before any
                          sample), without the pause */
  double stddev_ns;    /* σ used, floored at min_stddev */
  uint32_t samples;    /* in the window */
  bool suspected;
  int64_t rtt_ns;      /* pull mode: last ping round trip; else 0 */
  uint64_t arrivals, suspicions, recoveries;
} cohort_fd_peer_info_t;

/* Suspicion raised (info->suspected) or withdrawn. Called from inside the
 * node's recv / timer entry points: the callback may query the detector
 * but must not close it or detach it. */
typedef void (*cohort_fd_cb_t)(cohort_fd_t *fd,
                               const cohort_fd_peer_info_t *info, void *ud);

typedef struct cohort_fd_stats {
  uint64_t tx_heartbeats, tx_pings, tx_pongs, tx_errors;
  uint64_t rx_heartbeats, rx_pings, rx_pongs;
  uint64_t rx_malformed; /* refused with COHORT_EPROTO (node counts too) */
  uint64_t rx_stale;     /* duplicate / reordered / old-incarnation */
  uint64_t rx_nomem;     /* decode ran out of memory */
  uint64_t suspicions, recoveries, resets;
  /* The peer table following the node's (COHORT_PEER_ADDED / REMOVED):
   * peers added, removed, and not added for want of memory (such a peer is
   * not monitored: never suspected). */
  uint64_t peers_added, peers_removed, peers_nomem;
  uint64_t failures_reported; /* COHORT_PEER_FAILED: suspected at once */
} cohort_fd_stats_t;

/* Allocate with the caller; fields are private (use the functions). */
struct cohort_fd {
  cohort_proto_t proto; /* first member: the node calls us through it */
  cohort_fd_config_t cfg;
  const cohort_allocator_t *alloc;
  cohort_fd_peer_t *peers; /* one per node peer, sorted by id */
  size_t peers_len, peers_cap; /* cap <= COHORT_NODES_MAX */
  uint64_t seq;            /* last heartbeat / ping seq sent */
  int64_t next_send_ns;
  int64_t started_ns;
  bool started;
  cohort_fd_cb_t cb;
  void *cb_ud;
  cohort_fd_stats_t stats;
};

/* Initialise for `node` (its peers are monitored). Does not attach. Returns
 * 0, COHORT_EINVAL (bad config) or COHORT_ENOMEM; on error nothing needs
 * closing. */
int cohort_fd_init(cohort_fd_t *fd, cohort_node_t *node,
                   const cohort_fd_config_t *cfg);
/* Free what init took; detach from the node first. Accepts NULL and a
 * zeroed struct. */
void cohort_fd_close(cohort_fd_t *fd);
/* The protocol to pass to cohort_node_attach / detach. */
cohort_proto_t *cohort_fd_proto(cohort_fd_t *fd);
/* The detector behind a protocol made by cohort_fd_factory or init; NULL if
 * p is not a failure detector. */
cohort_fd_t *cohort_fd_from_proto(cohort_proto_t *p);
/* Replace the upcall (cb NULL disables it). */
void cohort_fd_set_callback(cohort_fd_t *fd, void *ud, cohort_fd_cb_t cb);

/* φ of `peer` now, in [0, COHORT_FD_PHI_MAX]; -1.0 if peer is not
 * monitored. */
double cohort_fd_phi(cohort_fd_t *fd, cohort_node_id_t peer);
/* Whether the configured detector currently suspects `peer` (as of the
 * last check or arrival); false for unknown peers. */
bool cohort_fd_is_suspected(const cohort_fd_t *fd, cohort_node_id_t peer);
/* 0 and *out, or COHORT_EUNKNOWN for a peer that is not monitored. */
int cohort_fd_peer_info(cohort_fd_t *fd, cohort_node_id_t peer,
                        cohort_fd_peer_info_t *out);
const cohort_fd_stats_t *cohort_fd_stats(const cohort_fd_t *fd);
/* "2:0.41 3:12.03!" — φ per peer, '!' for suspected. Returns the length it
 * wanted to write (like snprintf) or a negative error. */
int cohort_fd_status(cohort_fd_t *fd, char *buf, size_t cap);

/* name "fd"; parameters as cohort_fd_config_parse. */
extern const cohort_proto_factory_t cohort_fd_factory;

#ifdef __cplusplus
}
#endif
#endif
