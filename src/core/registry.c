/*
 * src/core/registry.c — the table of protocol factories. A protocol module
 * exports one `const cohort_proto_factory_t cohort_<name>_factory` and is
 * listed here; scenario files and `cohort node` find it by name.
 */
#include <string.h>

#include "cohort/registry.h"

extern const cohort_proto_factory_t cohort_fd_factory;      /* src/detect */
extern const cohort_proto_factory_t cohort_chatter_factory; /* src/clock */
extern const cohort_proto_factory_t cohort_ntp_factory;     /* src/timesync */
extern const cohort_proto_factory_t cohort_ptp_factory;     /* src/timesync */
extern const cohort_proto_factory_t cohort_cristian_factory; /* src/timesync */
extern const cohort_proto_factory_t cohort_bully_factory;   /* src/coord */
extern const cohort_proto_factory_t cohort_ring_election_factory; /* src/coord */
extern const cohort_proto_factory_t cohort_mutex_factory;   /* src/coord */
extern const cohort_proto_factory_t cohort_group_factory;   /* src/group */

static const cohort_proto_factory_t *const factories[] = {
    &cohort_fd_factory,
    &cohort_chatter_factory,
    &cohort_ntp_factory,
    &cohort_ptp_factory,
    &cohort_cristian_factory,
    &cohort_bully_factory,
    &cohort_ring_election_factory,
    &cohort_mutex_factory,
    &cohort_group_factory,
};

const cohort_proto_factory_t *cohort_proto_factory_find(const char *name) {
  for (size_t i = 0; i < sizeof factories / sizeof factories[0]; i++)
    if (!strcmp(factories[i]->name, name)) return factories[i];
  return NULL;
}

const cohort_proto_factory_t *const *cohort_proto_factories(size_t *len) {
  *len = sizeof factories / sizeof factories[0];
  return factories;
}
