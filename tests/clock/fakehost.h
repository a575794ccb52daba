/*
 * tests/clock/fakehost.h — a small in-test host for driving several nodes
 * (quicly's t/test.c style): one true clock, per-node physical clocks with
 * offset and drift, one seeded PRNG stream per concern, an in-memory
 * network that delays each datagram by a random amount (so they arrive in
 * random order), loses and duplicates some, and a trace sink parsed back
 * with cohort_trace_parse_line. It is not the simulator: it exists so the
 * clock tests depend on nothing but the node layer.
 */
#ifndef COHORT_TEST_FAKEHOST_H
#define COHORT_TEST_FAKEHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "cohort/node.h"
#include "cohort/trace.h"

#define FH_NODES_MAX 8
#define FH_INFLIGHT_MAX 4096
#define FH_DATAGRAM_MAX 1024
#define FH_T0 INT64_C(1700000000000000000) /* true time at start, ns */

typedef struct fh_world fh_world_t;

typedef struct fh_node {
  fh_world_t *w;
  cohort_node_t *node;
  cohort_node_id_t id;
  int64_t offset_ns; /* wall clock at T0 minus T0 */
  int64_t drift_ppm; /* both clocks run at (1 + drift_ppm/1e6) */
  int64_t wake;      /* local monotonic deadline, COHORT_TIME_NEVER */
  uint64_t rng;      /* this node's random stream */
} fh_node_t;

typedef struct fh_datagram {
  int64_t at; /* true delivery time */
  uint32_t order; /* tie-break: FIFO among equal times */
  size_t to;  /* node index */
  size_t len;
  uint8_t data[FH_DATAGRAM_MAX];
} fh_datagram_t;

typedef struct fh_config {
  size_t nodes;             /* 2..FH_NODES_MAX; ids are 1..nodes */
  uint64_t seed;
  int64_t delay_min_ns, delay_max_ns; /* uniform network delay */
  double loss, dup;         /* probabilities per datagram */
  int64_t offset_max_ns;    /* |offset| drawn uniformly up to this */
  int64_t drift_max_ppm;    /* |drift| drawn uniformly up to this */
  int64_t hlc_max_offset_ns;
  bool trace;               /* parse trace lines into `trace` */
  const cohort_allocator_t *alloc; /* the nodes' allocator; NULL default */
} fh_config_t;

struct fh_world {
  fh_config_t cfg;
  int64_t tt; /* true time */
  uint64_t rng; /* network and setup stream */
  fh_node_t n[FH_NODES_MAX];
  fh_datagram_t *q; /* in flight, unordered; FH_INFLIGHT_MAX */
  size_t q_len;
  uint32_t q_order;
  uint64_t lost, duplicated, overflow, delivered, trace_errors;
  uint64_t trace_hash; /* FNV-1a over every trace line */
  cohort_trace_t trace;
  char trace_err[128];
};

/* Build the world and its nodes (not started, no protocol). 0 or error. */
int fh_init(fh_world_t *w, const fh_config_t *cfg);
void fh_close(fh_world_t *w);
/* Run until true time `until` or until nothing is scheduled. Returns the
 * number of steps taken (wake-ups and deliveries). */
uint64_t fh_run(fh_world_t *w, int64_t until);
/* A node's clocks at true time tt (the same functions the host ops use). */
int64_t fh_wall_at(const fh_node_t *n, int64_t tt);
int64_t fh_now_at(const fh_node_t *n, int64_t tt);
uint64_t fh_rand(uint64_t *state);

#endif
