/*
 * src/clock/vclock_internal.h — vector clock helpers shared by the matrix
 * clock (not part of the public API). They let a caller reserve every byte
 * an operation will need before mutating anything, which is how the matrix
 * clock makes a multi-row receive atomic.
 */
#ifndef COHORT_CLOCK_VCLOCK_INTERNAL_H
#define COHORT_CLOCK_VCLOCK_INTERNAL_H

#include "cohort/clock.h"

/* Make room for n entries (content unchanged). COHORT_EFULL if n exceeds
 * COHORT_VCLOCK_ENTRIES_MAX, COHORT_ENOMEM if the allocator fails. */
COHORT_INTERNAL int cohort_vclock_reserve(cohort_vclock_t *vc, size_t n);

/* Reserve what cohort_vclock_merge(vc, other) needs, so that the merge
 * cannot fail afterwards. Same errors as cohort_vclock_reserve. */
COHORT_INTERNAL int cohort_vclock_merge_reserve(cohort_vclock_t *vc,
                                                const cohort_vclock_t *other);

#endif
