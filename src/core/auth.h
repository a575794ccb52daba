/*
 * src/core/auth.h — datagram authentication with the shared cluster key:
 * HMAC-SHA256 truncated to COHORT_AUTH_TAG_LEN bytes (RFC 2104, truncation
 * as RFC 4868 allows). Deterministic; OpenSSL allocates its own context.
 */
#ifndef COHORT_SRC_CORE_AUTH_H
#define COHORT_SRC_CORE_AUTH_H

#include <stdbool.h>

#include "cohort/core.h"

typedef struct cohort_auth cohort_auth_t;

/* Key of 1..COHORT_CLUSTER_KEY_MAX bytes. COHORT_EINVAL / COHORT_ENOMEM. */
COHORT_INTERNAL int cohort_auth_new(const uint8_t *key, size_t key_len,
                                    cohort_auth_t **out);
COHORT_INTERNAL void cohort_auth_free(cohort_auth_t *a);
/* Compute the tag over buf[0..len). Returns 0 or COHORT_EIO. */
COHORT_INTERNAL int cohort_auth_tag(cohort_auth_t *a, const uint8_t *buf,
                                    size_t len,
                                    uint8_t tag[COHORT_AUTH_TAG_LEN]);
/* The full 32-byte HMAC-SHA256 of buf[0..len): a PRF for deriving keys
 * (HKDF-Expand of one block, RFC 5869). Returns 0 or COHORT_EIO. */
COHORT_INTERNAL int cohort_auth_prf(cohort_auth_t *a, const uint8_t *buf, size_t len,
                                    uint8_t out[32]);
/* Constant-time check of a tag. */
COHORT_INTERNAL bool cohort_auth_verify(cohort_auth_t *a, const uint8_t *buf,
                                        size_t len,
                                        const uint8_t tag[COHORT_AUTH_TAG_LEN]);

#endif
