/*
 * src/sim/sim_internal.h — what the simulator's files share: PRNG streams,
 * latency distributions, the per-node clock model and the parsed scenario.
 * Not installed; tests include it to check the models' arithmetic.
 *
 * Invariants: every draw comes from an explicit stream (no global PRNG);
 * the clock model is integer arithmetic (no floating point), so virtual
 * time conversions are exact and identical on every machine; a parsed
 * scenario is immutable and only points into its own storage.
 */
#ifndef COHORT_SIM_INTERNAL_H
#define COHORT_SIM_INTERNAL_H

#include <stdbool.h>

#include "cohort/prng.h"
#include "cohort/sim.h"

/* ---- PRNG streams --------------------------------------------------------- */

/* Concerns: each gets its own family of streams. */
enum {
  SIM_STREAM_NET = 1,   /* one per directed link (from, to) */
  SIM_STREAM_NODE = 2,  /* one per node: the node's `random` op */
  SIM_STREAM_CLOCK = 3, /* one per node: random clock parameters */
  SIM_STREAM_FAULT = 4, /* one per simulator: random faults */
  SIM_STREAM_SLOW = 5,  /* one per node: timing failures (slow node) */
  SIM_STREAM_TIMING = 6 /* one per simulator: the network timing model (GST) */
};

/* xoshiro256** (cohort/prng.h): the node streams. */
typedef cohort_prng_t sim_xoshiro_t;

static inline uint64_t sim_mix64(uint64_t x) { return cohort_mix64(x); }
/* A stream seed for (seed, concern, a, b): distinct tuples give unrelated
 * seeds, so adding a node leaves every other stream as it was. */
COHORT_INTERNAL uint64_t sim_stream_seed(uint64_t seed, uint32_t concern,
                                         uint64_t a, uint64_t b);
/* splitmix64: 8 bytes of state, the per-link streams. */
static inline uint64_t sim_splitmix_next(uint64_t *state) {
  return cohort_splitmix64_next(state);
}
static inline void sim_xoshiro_seed(sim_xoshiro_t *x, uint64_t seed) {
  cohort_prng_seed(x, seed);
}
static inline uint64_t sim_xoshiro_next(sim_xoshiro_t *x) { return cohort_prng_next(x); }
/* Uniform double in [0, 1) from 64 random bits (53 significant). */
static inline double sim_unit(uint64_t r) {
  return (double)(r >> 11) * 0x1.0p-53;
}
/* Uniform in [0, bound), bound > 0, unbiased (Lemire). */
COHORT_INTERNAL uint64_t sim_below(uint64_t *splitmix_state, uint64_t bound);

/* ---- latency distributions ----------------------------------------------- */

typedef enum sim_dist_kind {
  SIM_DIST_CONST = 0, /* a */
  SIM_DIST_UNIFORM,   /* [a, b] */
  SIM_DIST_EXP,       /* mean a */
  SIM_DIST_NORMAL,    /* mean a, standard deviation b, clamped at 0 */
  SIM_DIST_LOGNORMAL, /* median a, sigma x */
  SIM_DIST_PARETO     /* scale (minimum) a, shape x, capped at b */
} sim_dist_kind_t;

typedef struct sim_dist {
  sim_dist_kind_t kind;
  int64_t a, b; /* ns */
  double x;
} sim_dist_t;

/* "const(5ms)", "uniform(1ms,5ms)", "exp(mean=2ms)", "normal(5ms,1ms)",
 * "lognormal(median=1ms,sigma=0.5)", "pareto(min=1ms,alpha=1.5,max=2s)",
 * or a bare duration ("5ms" = const). Arguments are positional or named.
 * Returns 0 or COHORT_EINVAL with a message. */
/* A duration ("5ms", "2s") of at most COHORT_SIM_TIME_MAX_NS: every span
 * of time a scenario names goes through this. COHORT_EINVAL otherwise. */
COHORT_INTERNAL int sim_parse_span(const char *s, int64_t *out_ns);
COHORT_INTERNAL int sim_dist_parse(const char *s, sim_dist_t *out, char *err,
                                   size_t errcap);
/* A standard normal draw (ziggurat) from a splitmix64 stream. */
COHORT_INTERNAL double sim_std_normal(uint64_t *rng);
/* One sample in ns (>= 0), drawing from a splitmix64 stream. */
COHORT_INTERNAL int64_t sim_dist_sample(const sim_dist_t *d, uint64_t *rng);
/* The distribution's mean in ns (for tests and docs). */
COHORT_INTERNAL double sim_dist_mean(const sim_dist_t *d);

/* ---- network parameters ---------------------------------------------------- */

enum {
  SIM_NET_LATENCY = 1u << 0,
  SIM_NET_JITTER = 1u << 1,
  SIM_NET_LOSS = 1u << 2,
  SIM_NET_DUP = 1u << 3,
  SIM_NET_REORDER = 1u << 4,
  SIM_NET_REORDER_DELAY = 1u << 5,
  SIM_NET_REPLAY = 1u << 6,
  SIM_NET_REPLAY_DELAY = 1u << 7,
  SIM_NET_CORRUPT = 1u << 8,
  SIM_NET_FORGE = 1u << 9
};

/* Parameters of one directed link. Zero-initialised before filling, so
 * two equal parameter sets compare equal with memcmp. */
typedef struct sim_net {
  unsigned set; /* SIM_NET_* fields given on this line */
  sim_dist_t latency;
  int64_t jitter_ns;       /* extra delay uniform in [0, jitter] */
  double loss, dup, reorder; /* probabilities */
  int64_t reorder_ns;      /* a reordered datagram waits up to this much
                              more and may overtake earlier ones */
  /* A copy captured in flight and delivered again after replay_delay (an
   * attacker replaying, or a datagram stuck in a router queue), and bits
   * flipped on the wire (1 to 4 random bits: what checksums miss). */
  double replay, corrupt;
  sim_dist_t replay_delay;
  /* A copy re-sent by an outsider with another node's id as sender (the
   * envelope's sender field, or the AEAD header's): authentication must
   * refuse it when the cluster is keyed. */
  double forge;
} sim_net_t;

/* The network timing model (`network timing=...`, one per scenario):
 * synchronous — every delay is at most `bound`; partially synchronous —
 * arbitrary delays (the latency plus `extra`) until GST, drawn from the
 * seed in [gst_min, gst_max] and unknown to the nodes, bounded after;
 * asynchronous — every delay gets an unbounded heavy-tailed `extra`. */
typedef enum sim_timing_kind {
  SIM_TIMING_NONE = 0,
  SIM_TIMING_SYNC,
  SIM_TIMING_PARTIAL,
  SIM_TIMING_ASYNC
} sim_timing_kind_t;

typedef struct sim_timing {
  sim_timing_kind_t kind;
  int64_t bound_ns;            /* sync, partial (after GST) */
  int64_t gst_min_ns, gst_max_ns; /* partial */
  sim_dist_t extra;            /* partial: before GST; async: always */
} sim_timing_t;

/* Fields of `over` that it sets replace those of `base`. */
COHORT_INTERNAL void sim_net_merge(sim_net_t *base, const sim_net_t *over);

/* ---- clock model ------------------------------------------------------------- */

/* C(t) = αt + β, piecewise: `base_v` at true time `base_t`, then rate
 * 1 + rate_ppb·1e-9. The monotonic clock has only drift; the wall clock
 * also steps and slews. */
typedef struct sim_clock {
  int64_t mono0;     /* monotonic reading at t = 0 */
  int64_t drift_ppb; /* intrinsic drift (both clocks) */
  int64_t base_t, base_v; /* wall: last rebase point */
  int64_t slew_ppb;  /* sum of active slews */
} sim_clock_t;

COHORT_INTERNAL void sim_clock_init(sim_clock_t *c, int64_t drift_ppb,
                                    int64_t offset_ns);
COHORT_INTERNAL int64_t sim_clock_mono(const sim_clock_t *c, int64_t t);
COHORT_INTERNAL int64_t sim_clock_wall(const sim_clock_t *c, int64_t t);
/* Smallest true time t >= 0 at which mono(t) >= deadline. */
COHORT_INTERNAL int64_t sim_clock_mono_inverse(const sim_clock_t *c,
                                               int64_t deadline);
COHORT_INTERNAL void sim_clock_step(sim_clock_t *c, int64_t t, int64_t by_ns);
/* Add (start) or remove (end) a slew of rate_ppb at true time t. */
COHORT_INTERNAL void sim_clock_slew(sim_clock_t *c, int64_t t,
                                    int64_t rate_ppb);

/* ---- budgets (budget.c) ------------------------------------------------------ */

typedef struct sim_budget {
  cohort_allocator_t alloc;       /* counts into mem_bytes; give it to everything */
  const cohort_allocator_t *user; /* what it forwards to */
  uint64_t mem_bytes, mem_peak, mem_max;
  uint64_t events_max;
  uint64_t trace_bytes, trace_max;
  const char *exhausted; /* "events", "memory", "trace" or NULL */
  uint64_t limit;        /* the exhausted budget's value */
} sim_budget_t;

/* Zero max_* mean the defaults of cohort/limits.h. */
COHORT_INTERNAL void sim_budget_init(sim_budget_t *b, const cohort_allocator_t *user,
                                     uint64_t max_events, uint64_t max_memory_bytes,
                                     uint64_t max_trace_bytes);
/* Mark `which` exhausted (the first one sticks). */
COHORT_INTERNAL void sim_budget_exhaust(sim_budget_t *b, const char *which, uint64_t limit);
/* "events budget exhausted (N events); raise it with --max-events" into
 * buf; returns its length, 0 if no budget ran out. */
COHORT_INTERNAL int sim_budget_message(const sim_budget_t *b, char *buf, size_t cap);

/* ---- scenario ---------------------------------------------------------------- */

typedef enum sim_fault_kind {
  SIM_FAULT_CRASH = 0,
  SIM_FAULT_RESTART,
  SIM_FAULT_PARTITION, /* groups: side[] holds group numbers, 0 = none */
  SIM_FAULT_BLOCK,     /* one-way: side[] 1 = from, 2 = to, 3 = both */
  SIM_FAULT_HEAL,
  SIM_FAULT_STEP,
  SIM_FAULT_SLEW,
  SIM_FAULT_JOIN,  /* the node's first boot, late: down from 0 until then */
  SIM_FAULT_LEAVE, /* control(p, "leave") on every protocol that has it */
  SIM_FAULT_CTL,   /* control(p, cmd) on protocol `proto` */
  SIM_FAULT_OMIT,  /* send / receive omission of a node: omit_send, omit_recv */
  SIM_FAULT_SLOW,  /* a slow node: its sends and timers late by `delay` */
  SIM_FAULT_SLOW_LINK, /* slow links: side[] 1 = from, 2 = to; `both` */
  SIM_FAULT_STUCK  /* a stuck bit in every datagram a node sends */
} sim_fault_kind_t;

typedef struct sim_fault {
  int64_t at_ns;
  sim_fault_kind_t kind;
  uint32_t line;
  cohort_node_id_t node;
  bool stable;
  int64_t amount_ns; /* step */
  int64_t rate_ppb;  /* slew */
  int64_t for_ns;    /* slew; omit, slow, slow-link, stuck: 0 = to the end */
  uint16_t *side;    /* partition / block / slow-link: nodes + 1 entries */
  bool notify;       /* crash: fail-stop, the others are told */
  bool both;         /* slow-link A<->B */
  double omit_send, omit_recv; /* omit: probabilities */
  sim_dist_t delay;  /* slow, slow-link: the extra delay */
  uint32_t bit;      /* stuck: bit index in the datagram (bit 0 = LSB of byte 0) */
  uint8_t bit_value; /* stuck: 0 or 1 */
  char proto[COHORT_SIM_CTL_MAX]; /* ctl: the scenario's protocol name */
  char cmd[COHORT_SIM_CTL_MAX];   /* ctl: the command */
} sim_fault_t;

typedef struct sim_proto_spec {
  const char *name;
  const cohort_proto_factory_t *factory;
  cohort_param_t *params;
  size_t params_len;
  uint32_t line;
} sim_proto_spec_t;

typedef struct sim_check_spec {
  const char *name;
  const char *text; /* "fd bound=2s" */
  cohort_param_t *params;
  size_t params_len;
  uint32_t line;
} sim_check_spec_t;

typedef struct sim_link_spec {
  cohort_node_id_t from, to; /* 0 = any */
  sim_net_t net;
} sim_link_spec_t;

typedef struct sim_random_faults {
  bool on;
  int64_t crash_mtbf_ns; /* 0 = no random crashes */
  int64_t down_min_ns, down_max_ns;
  bool stable;
  uint32_t max_down;
  int64_t part_mtbf_ns; /* 0 = no random partitions */
  int64_t part_min_ns, part_max_ns;
  double oneway; /* probability a random partition is one-way */
  bool notify;   /* random crashes are fail-stop: the others are told */
  int64_t start_ns, end_ns;
} sim_random_faults_t;

typedef struct sim_clock_spec {
  bool drift_set, offset_set;
  int64_t drift_ppb, offset_ns;
} sim_clock_spec_t;

struct cohort_scenario {
  const cohort_allocator_t *alloc;
  char *name;
  char *work; /* the text, tokenised in place: every string points here */
  char *raw;  /* the text with lines NUL-terminated: check texts */
  uint32_t nodes;
  int64_t duration_ns;
  uint64_t cluster_id;
  uint8_t key[COHORT_CLUSTER_KEY_MAX];
  size_t key_len;
  bool vector_clock;
  int64_t hlc_max_offset_ns;
  sim_proto_spec_t protos[COHORT_PROTOS_PER_NODE_MAX];
  size_t protos_len;
  sim_check_spec_t checks[COHORT_SIM_CHECKS_MAX];
  size_t checks_len;
  sim_net_t net;
  sim_timing_t timing;
  sim_link_spec_t *links;
  size_t links_len;
  sim_clock_spec_t *clocks; /* nodes + 1 entries */
  int64_t random_drift_ppb, random_offset_ns; /* `clock random` */
  sim_fault_t *faults;
  size_t faults_len, faults_cap;
  sim_random_faults_t random;
  const cohort_proto_factory_t *const *extra;
  size_t extra_len;
};

COHORT_INTERNAL const cohort_proto_factory_t *
sim_factory_find(const cohort_scenario_t *s, const char *name);

/* ---- fault lists (shrink.c) ------------------------------------------------------ */

/* A growable list of faults that owns their side arrays. */
typedef struct sim_fault_log {
  const cohort_allocator_t *alloc;
  sim_fault_t *v;
  size_t len, cap;
  bool failed; /* an allocation failed: the list is incomplete */
} sim_fault_log_t;

/* Append a copy of *f (its side array moves into the list). 0 or ENOMEM. */
COHORT_INTERNAL int sim_fault_log_push(sim_fault_log_t *log, const sim_fault_t *f);
COHORT_INTERNAL void sim_fault_log_free(sim_fault_log_t *log);
/* While set, the simulator appends every random fault it applies to log,
 * as the scripted fault it amounts to (a crash, restart, partition, one-way
 * partition or heal at the instant it happened). */
COHORT_INTERNAL void sim_record_faults(cohort_sim_t *sim, sim_fault_log_t *log);

#endif
