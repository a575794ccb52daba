/*
 * src/core/auth.c — HMAC-SHA256 tags for cluster datagrams (see auth.h).
 * One keyed EVP_MAC context per node is re-initialised per datagram with
 * the same key, which OpenSSL 3 allows without re-deriving the key pads.
 */
#include "auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

struct cohort_auth {
  EVP_MAC *mac;
  EVP_MAC_CTX *ctx;
};

void cohort_auth_free(cohort_auth_t *a) {
  if (!a) return;
  EVP_MAC_CTX_free(a->ctx);
  EVP_MAC_free(a->mac);
  OPENSSL_free(a);
}

int cohort_auth_new(const uint8_t *key, size_t key_len, cohort_auth_t **out) {
  if (!key || key_len == 0 || key_len > COHORT_CLUSTER_KEY_MAX) return COHORT_EINVAL;
  cohort_auth_t *a = OPENSSL_zalloc(sizeof *a);
  if (!a) return COHORT_ENOMEM;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (a->mac) a->ctx = EVP_MAC_CTX_new(a->mac);
  if (!a->ctx || !EVP_MAC_init(a->ctx, key, key_len, params)) {
    cohort_auth_free(a);
    return COHORT_ENOMEM;
  }
  *out = a;
  return 0;
}

int cohort_auth_tag(cohort_auth_t *a, const uint8_t *buf, size_t len,
                    uint8_t tag[COHORT_AUTH_TAG_LEN]) {
  uint8_t full[EVP_MAX_MD_SIZE];
  size_t full_len = 0;
  if (!EVP_MAC_init(a->ctx, NULL, 0, NULL) || !EVP_MAC_update(a->ctx, buf, len) ||
      !EVP_MAC_final(a->ctx, full, &full_len, sizeof full) ||
      full_len < COHORT_AUTH_TAG_LEN)
    return COHORT_EIO;
  for (size_t i = 0; i < COHORT_AUTH_TAG_LEN; i++) tag[i] = full[i];
  return 0;
}

int cohort_auth_prf(cohort_auth_t *a, const uint8_t *buf, size_t len, uint8_t out[32]) {
  size_t full_len = 0;
  if (!EVP_MAC_init(a->ctx, NULL, 0, NULL) || !EVP_MAC_update(a->ctx, buf, len) ||
      !EVP_MAC_final(a->ctx, out, &full_len, 32) || full_len != 32)
    return COHORT_EIO;
  return 0;
}

bool cohort_auth_verify(cohort_auth_t *a, const uint8_t *buf, size_t len,
                        const uint8_t tag[COHORT_AUTH_TAG_LEN]) {
  uint8_t want[COHORT_AUTH_TAG_LEN];
  if (cohort_auth_tag(a, buf, len, want)) return false;
  return CRYPTO_memcmp(want, tag, COHORT_AUTH_TAG_LEN) == 0;
}
