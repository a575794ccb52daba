/*
 * cohort/prng.h — the one PRNG of the hosts: splitmix64 (Steele, Lea and
 * Flood) for seeding and cheap 8-byte streams, xoshiro256** (Blackman and
 * Vigna) for the node `random` op. Deterministic value types: the simulator
 * seeds them from (seed, concern, ...) so runs replay; the runtime seeds
 * them from getrandom(2). Protocols never use these directly: they ask
 * their node (cohort_node_random), whose host owns the stream.
 */
#ifndef COHORT_PRNG_H
#define COHORT_PRNG_H

#include <stdint.h>

typedef struct cohort_prng {
  uint64_t s[4];
} cohort_prng_t;

#define COHORT_PRNG_GOLDEN UINT64_C(0x9e3779b97f4a7c15)

/* splitmix64's output function: a bijective 64-bit mix. */
static inline uint64_t cohort_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

/* splitmix64: 8 bytes of state. */
static inline uint64_t cohort_splitmix64_next(uint64_t *state) {
  *state += COHORT_PRNG_GOLDEN;
  return cohort_mix64(*state);
}

/* xoshiro256**, its state filled by four splitmix64 draws from `seed`. */
static inline void cohort_prng_seed(cohort_prng_t *p, uint64_t seed) {
  for (int i = 0; i < 4; i++) p->s[i] = cohort_splitmix64_next(&seed);
}

static inline uint64_t cohort_prng_rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t cohort_prng_next(cohort_prng_t *p) {
  uint64_t *s = p->s;
  uint64_t result = cohort_prng_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = cohort_prng_rotl(s[3], 45);
  return result;
}

#endif
