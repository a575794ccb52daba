/*
 * src/core/aead.h — authenticated encryption of cluster datagrams with
 * OpenSSL's EVP: AES-256-GCM or ChaCha20-Poly1305, 96-bit nonces, 16-byte
 * tags, associated data authenticated but not encrypted.
 *
 * The node never uses one key for two senders: each (key id, sender,
 * incarnation) has its own 32-byte key, derived from the cluster key with
 * HMAC-SHA256 (cohort_auth_prf), and the nonce is the sender's message
 * sequence number in that incarnation, which never repeats. So a nonce is
 * never reused under one key, across restarts included, as long as
 * incarnations never repeat (cohort/core.h cohort_incarnation_from_wall).
 */
#ifndef COHORT_SRC_CORE_AEAD_H
#define COHORT_SRC_CORE_AEAD_H

#include "cohort/core.h"

#define COHORT_AEAD_KEY_LEN 32
#define COHORT_AEAD_NONCE_LEN 12
#define COHORT_AEAD_TAG_LEN 16

typedef struct cohort_aead cohort_aead_t;

/* cipher: 0 = AES-256-GCM, 1 = ChaCha20-Poly1305. COHORT_EINVAL (unknown
 * cipher or one this OpenSSL lacks) or COHORT_ENOMEM. */
COHORT_INTERNAL int cohort_aead_new(int cipher, cohort_aead_t **out);
COHORT_INTERNAL void cohort_aead_free(cohort_aead_t *a);
/* Encrypt pt[0..len) into ct (len bytes; may equal pt) and write the tag.
 * Returns 0 or COHORT_EIO. */
COHORT_INTERNAL int cohort_aead_seal(cohort_aead_t *a, const uint8_t key[COHORT_AEAD_KEY_LEN],
                                     const uint8_t nonce[COHORT_AEAD_NONCE_LEN],
                                     const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                                     size_t len, uint8_t *ct, uint8_t tag[COHORT_AEAD_TAG_LEN]);
/* Decrypt and verify; pt has len bytes. Returns 0, or COHORT_EAUTH when the
 * tag does not verify (pt is then garbage and must not be used). */
COHORT_INTERNAL int cohort_aead_open(cohort_aead_t *a, const uint8_t key[COHORT_AEAD_KEY_LEN],
                                     const uint8_t nonce[COHORT_AEAD_NONCE_LEN],
                                     const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                                     size_t len, const uint8_t tag[COHORT_AEAD_TAG_LEN],
                                     uint8_t *pt);

#endif
