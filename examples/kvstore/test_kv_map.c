/*
 * examples/kvstore/test_kv_map.c — the replicated state's pure parts: the
 * map refuses beyond its bounds and is unchanged when it does, the hash
 * does not depend on insertion order, a snapshot round-trips and a
 * damaged one is refused, commands decode only within the limits. Plain
 * asserts (this is an example: no test framework to install).
 */
#include <stdio.h>
#include <string.h>

#include "kv_map.h"

#define CHECK(e)                                                          \
  do {                                                                    \
    if (!(e)) {                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
      return 1;                                                           \
    }                                                                     \
  } while (0)

#define B(s) ((const uint8_t *)(s))

static int test_bounds(void) {
  kv_map_t m;
  kv_limits_t lim = {.keys_max = 3, .key_len_max = 4, .value_len_max = 5};
  CHECK(kv_map_init(&m, &lim, NULL) == 0);
  CHECK(kv_map_put(&m, B("a"), 1, B("1"), 1) == 0);
  CHECK(kv_map_put(&m, B("b"), 1, B("22"), 2) == 0);
  CHECK(kv_map_put(&m, B("cccc"), 4, B("55555"), 5) == 0); /* exactly at the limits */
  uint64_t h = kv_map_hash(&m);
  CHECK(kv_map_put(&m, B("d"), 1, B("1"), 1) == COHORT_EFULL); /* a 4th key */
  CHECK(kv_map_put(&m, B("a"), 1, B("666666"), 6) == COHORT_EINVAL); /* value too long */
  CHECK(kv_map_put(&m, B("eeeee"), 5, B("1"), 1) == COHORT_EINVAL); /* key too long */
  CHECK(kv_map_put(&m, B(""), 0, B("1"), 1) == COHORT_EINVAL);     /* empty key */
  CHECK(m.len == 3 && kv_map_hash(&m) == h);                      /* unchanged */
  CHECK(kv_map_put(&m, B("a"), 1, B("x"), 1) == 0); /* replacing is allowed when full */
  CHECK(kv_map_hash(&m) != h);
  const uint8_t *v;
  size_t vl;
  CHECK(kv_map_get(&m, B("a"), 1, &v, &vl) == 0 && vl == 1 && v[0] == 'x');
  CHECK(kv_map_del(&m, B("b"), 1) == 0 && kv_map_del(&m, B("b"), 1) == COHORT_ENOTFOUND);
  CHECK(kv_map_put(&m, B("d"), 1, B(""), 0) == 0); /* room again; empty value */
  CHECK(kv_map_get(&m, B("d"), 1, &v, &vl) == 0 && vl == 0);
  CHECK(kv_map_get(&m, B("b"), 1, &v, &vl) == COHORT_ENOTFOUND);
  kv_map_close(&m);
  kv_map_close(&m); /* twice is harmless */
  lim.keys_max = KV_KEYS_MAX + 1;
  CHECK(kv_map_init(&m, &lim, NULL) == COHORT_EINVAL);
  return 0;
}

static int fill(kv_map_t *m, int from, int to, int step) {
  char k[32], v[32];
  for (int i = from; i != to; i += step) {
    int kl = snprintf(k, sizeof k, "key-%d", i), vl = snprintf(v, sizeof v, "value %d", i * 7);
    if (kv_map_put(m, B(k), (size_t)kl, B(v), (size_t)vl)) return 1;
  }
  return 0;
}

static int test_hash_and_snapshot(void) {
  kv_limits_t lim = kv_limits_default();
  kv_map_t a, b, c;
  CHECK(kv_map_init(&a, &lim, NULL) == 0 && kv_map_init(&b, &lim, NULL) == 0);
  CHECK(kv_map_init(&c, &lim, NULL) == 0);
  CHECK(fill(&a, 0, 1000, 1) == 0 && fill(&b, 999, -1, -1) == 0); /* opposite orders */
  CHECK(kv_map_hash(&a) == kv_map_hash(&b));
  CHECK(kv_map_del(&b, B("key-5"), 5) == 0 && kv_map_hash(&a) != kv_map_hash(&b));
  uint8_t *snap;
  size_t len;
  kv_progress_t applied = {0, 0}, progress = {1234, 0x5eed};
  CHECK(kv_map_encode(&a, &progress, &snap, &len) == 0);
  CHECK(kv_map_decode(&c, snap, len, &applied) == 0);
  CHECK(applied.applied == 1234 && applied.log == 0x5eed);
  CHECK(c.len == 1000 && kv_map_hash(&c) == kv_map_hash(&a));
  /* every truncation and a flipped length are refused, never read past */
  for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
    kv_map_t d;
    CHECK(kv_map_init(&d, &lim, NULL) == 0);
    CHECK(kv_map_decode(&d, snap, cut, &applied) == COHORT_EPROTO);
    kv_map_close(&d);
  }
  snap[KV_SNAP_HEADER] = 0xff; /* the first key's length: 65280+ bytes */
  kv_map_t d;
  CHECK(kv_map_init(&d, &lim, NULL) == 0);
  CHECK(kv_map_decode(&d, snap, len, &applied) == COHORT_EPROTO);
  kv_map_close(&d);
  cohort_free(NULL, snap);
  /* a snapshot with more keys than this map's limit is refused */
  kv_limits_t small = {.keys_max = 10, .key_len_max = 16, .value_len_max = 16};
  CHECK(kv_map_encode(&a, &progress, &snap, &len) == 0);
  CHECK(kv_map_init(&d, &small, NULL) == 0);
  CHECK(kv_map_decode(&d, snap, len, &applied) == COHORT_EPROTO);
  kv_map_close(&d);
  cohort_free(NULL, snap);
  kv_map_close(&a);
  kv_map_close(&b);
  kv_map_close(&c);
  return 0;
}

static int test_commands(void) {
  kv_limits_t lim = kv_limits_default();
  uint8_t buf[KV_CMD_MAX];
  kv_cmd_t in = {.op = KV_OP_PUT, .key = B("k"), .key_len = 1, .value = B("v v"), .value_len = 3};
  size_t n = kv_cmd_encode(&in, buf, sizeof buf);
  kv_cmd_t out;
  CHECK(kv_cmd_decode(buf, n, &lim, &out) == 0);
  CHECK(out.op == KV_OP_PUT && out.key_len == 1 && out.value_len == 3);
  CHECK(!memcmp(out.value, "v v", 3));
  for (size_t cut = 0; cut < KV_CMD_HEADER + 1; cut++)
    CHECK(kv_cmd_decode(buf, cut, &lim, &out) == COHORT_EPROTO);
  buf[0] = 'X';
  CHECK(kv_cmd_decode(buf, n, &lim, &out) == COHORT_EPROTO); /* unknown op */
  kv_cmd_t del = {.op = KV_OP_DEL, .key = B("k"), .key_len = 1};
  n = kv_cmd_encode(&del, buf, sizeof buf);
  CHECK(kv_cmd_decode(buf, n, &lim, &out) == 0 && out.op == KV_OP_DEL);
  buf[n] = 'x';
  CHECK(kv_cmd_decode(buf, n + 1, &lim, &out) == COHORT_EPROTO); /* a DEL with a value */
  kv_limits_t small = {.keys_max = 1, .key_len_max = 1, .value_len_max = 2};
  CHECK(kv_cmd_decode(buf, n, &small, &out) == 0);
  in.value_len = 3;
  n = kv_cmd_encode(&in, buf, sizeof buf);
  CHECK(kv_cmd_decode(buf, n, &small, &out) == COHORT_EPROTO); /* value beyond the limit */
  return 0;
}

/* The log digest tells two orders of the same writes apart; the map's
 * hash does not when the writes commute. */
static int test_progress(void) {
  kv_cmd_t x = {.op = KV_OP_PUT, .key = B("x"), .key_len = 1, .value = B("1"), .value_len = 1};
  kv_cmd_t y = {.op = KV_OP_PUT, .key = B("y"), .key_len = 1, .value = B("2"), .value_len = 1};
  kv_progress_t p = {0, 0}, q = {0, 0};
  kv_progress_step(&p, &x);
  kv_progress_step(&p, &y);
  kv_progress_step(&q, &y);
  kv_progress_step(&q, &x);
  CHECK(p.applied == 2 && q.applied == 2 && p.log != q.log);
  return 0;
}

int main(void) {
  if (test_bounds() || test_hash_and_snapshot() || test_commands() || test_progress()) return 1;
  printf("kv_map: bounds, hash, snapshot, commands and log ok\n");
  return 0;
}
