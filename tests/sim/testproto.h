/*
 * tests/sim/testproto.h — "ping", a tiny protocol for simulator tests: every
 * `interval` it broadcasts a message carrying a counter; it counts what it
 * receives per sender and remembers each sender's incarnation.
 * Parameters: interval=100ms (duration), size=8 (payload bytes, 8..1024).
 * Control: "leave" stops its broadcasts, "fail" is refused (COHORT_EINVAL),
 * anything else is COHORT_EUNKNOWN.
 */
#ifndef COHORT_TESTS_SIM_TESTPROTO_H
#define COHORT_TESTS_SIM_TESTPROTO_H

#include "cohort/registry.h"

#define TEST_PING_PEERS 65

typedef struct test_ping {
  cohort_proto_t base;
  const cohort_allocator_t *alloc;
  int64_t interval_ns;
  size_t size;
  uint64_t sent, received;
  uint64_t from_count[TEST_PING_PEERS];
  cohort_incarnation_t from_inc[TEST_PING_PEERS];
  uint64_t last_counter[TEST_PING_PEERS];
  uint64_t out_of_order; /* counter below the last one from that sender */
  bool saw_sim;          /* cohort_sim_current() was set during recv */
  uint64_t controls;     /* control op calls (`leave`, `ctl`) */
  char last_cmd[32];
  bool left;             /* got "leave": stopped broadcasting */
} test_ping_t;

extern const cohort_proto_factory_t test_ping_factory;
/* "toylock" (toylock.c): a lease lock with a known bug behind bug=on. */
extern const cohort_proto_factory_t test_toylock_factory;

#endif
