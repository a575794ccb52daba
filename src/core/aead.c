/*
 * src/core/aead.c — AEAD through OpenSSL EVP (see aead.h). One cipher
 * context for sealing and one for opening per node, re-keyed per datagram
 * (the derived key differs per sender incarnation): EVP_CipherInit_ex
 * with the cipher already set only redoes the key schedule.
 */
#include "aead.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct cohort_aead {
  const EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *seal, *open;
};

void cohort_aead_free(cohort_aead_t *a) {
  if (!a) return;
  EVP_CIPHER_CTX_free(a->seal);
  EVP_CIPHER_CTX_free(a->open);
  OPENSSL_free(a);
}

static int ctx_setup(EVP_CIPHER_CTX *c, const EVP_CIPHER *cipher, int enc) {
  return EVP_CipherInit_ex(c, cipher, NULL, NULL, NULL, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, COHORT_AEAD_NONCE_LEN, NULL) == 1;
}

int cohort_aead_new(int cipher, cohort_aead_t **out) {
  const EVP_CIPHER *c = cipher == 0 ? EVP_aes_256_gcm() : cipher == 1 ? EVP_chacha20_poly1305()
                                                                      : NULL;
  if (!c) return COHORT_EINVAL;
  cohort_aead_t *a = OPENSSL_zalloc(sizeof *a);
  if (!a) return COHORT_ENOMEM;
  a->cipher = c;
  a->seal = EVP_CIPHER_CTX_new();
  a->open = EVP_CIPHER_CTX_new();
  if (!a->seal || !a->open || !ctx_setup(a->seal, c, 1) || !ctx_setup(a->open, c, 0)) {
    cohort_aead_free(a);
    return COHORT_ENOMEM;
  }
  *out = a;
  return 0;
}

int cohort_aead_seal(cohort_aead_t *a, const uint8_t key[COHORT_AEAD_KEY_LEN],
                     const uint8_t nonce[COHORT_AEAD_NONCE_LEN], const uint8_t *aad,
                     size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct,
                     uint8_t tag[COHORT_AEAD_TAG_LEN]) {
  EVP_CIPHER_CTX *c = a->seal;
  int n = 0, fin = 0;
  if (len > INT_MAX || aad_len > INT_MAX) return COHORT_EIO;
  if (EVP_CipherInit_ex(c, NULL, NULL, key, nonce, 1) != 1 ||
      EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
      EVP_CipherUpdate(c, ct, &n, pt, (int)len) != 1 || EVP_CipherFinal_ex(c, ct + n, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, COHORT_AEAD_TAG_LEN, tag) != 1)
    return COHORT_EIO;
  return 0;
}

int cohort_aead_open(cohort_aead_t *a, const uint8_t key[COHORT_AEAD_KEY_LEN],
                     const uint8_t nonce[COHORT_AEAD_NONCE_LEN], const uint8_t *aad,
                     size_t aad_len, const uint8_t *ct, size_t len,
                     const uint8_t tag[COHORT_AEAD_TAG_LEN], uint8_t *pt) {
  EVP_CIPHER_CTX *c = a->open;
  int n = 0, fin = 0;
  if (len > INT_MAX || aad_len > INT_MAX) return COHORT_EAUTH;
  if (EVP_CipherInit_ex(c, NULL, NULL, key, nonce, 0) != 1 ||
      EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1 ||
      EVP_CipherUpdate(c, pt, &n, ct, (int)len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, COHORT_AEAD_TAG_LEN, (void *)tag) != 1 ||
      EVP_CipherFinal_ex(c, pt + n, &fin) != 1)
    return COHORT_EAUTH;
  return 0;
}
