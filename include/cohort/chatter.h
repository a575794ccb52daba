/*
 * cohort/chatter.h — the `chatter` protocol: random small messages to
 * random peers at random (exponential) intervals, with some local events
 * mixed in. It has no purpose but to generate random executions for the
 * clock property tests, the causality checkers and the diagrams.
 *
 * Parameters (registry name "chatter", proto id COHORT_PROTO_APP):
 *   interval=DURATION  mean gap between rounds, exponential (default 100ms)
 *   fanout=N           peers messaged per round, distinct, random (1)
 *   local=P            probability a round is a local event instead (0.1)
 *   rounds=N           stop after N rounds; 0 = never (0)
 * A message's payload is an 8-byte little-endian counter; the receiver
 * traces a deliver event for it. A local event is a state event "local".
 */
#ifndef COHORT_CHATTER_H
#define COHORT_CHATTER_H

#include "cohort/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const cohort_proto_factory_t cohort_chatter_factory;

/* Message kind of chatter's one message. */
#define COHORT_CHATTER_KIND_CHAT 1u

typedef struct cohort_chatter_stats {
  uint64_t rounds;      /* timer rounds run */
  uint64_t sent;        /* messages handed to cohort_node_send (accepted) */
  uint64_t send_errors; /* cohort_node_send refused or the host failed */
  uint64_t received;    /* well-formed messages delivered */
  uint64_t malformed;   /* refused payloads (COHORT_EPROTO) */
  uint64_t locals;      /* local events */
} cohort_chatter_stats_t;

/* Counters of an instance made by cohort_chatter_factory. */
void cohort_chatter_stats(const cohort_proto_t *p, cohort_chatter_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
