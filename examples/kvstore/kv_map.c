/*
 * examples/kvstore/kv_map.c — the bounded map, its commands and its
 * snapshot (kv_map.h). Chained hashing with a bucket array fixed at init
 * (sized for keys_max, so it never rehashes: a put costs the same at the
 * first key and the last). The map keeps the sum of its entries' digests
 * up to date on every change, so HASH is O(1) and equal at two replicas
 * holding the same pairs whatever order they were inserted in (a joiner
 * loads them in the donor's bucket order, not the write order).
 * Everything read from outside (commands, snapshots) is bounds-checked
 * and refused with COHORT_EPROTO; asserts guard only our own invariants.
 */
#include "kv_map.h"

#include <string.h>

struct kv_entry {
  kv_entry_t *next;
  uint64_t hash; /* kv_entry_hash of the pair */
  uint64_t key_hash;
  size_t key_len, value_len;
  uint8_t data[]; /* key, then value */
};

kv_limits_t kv_limits_default(void) {
  return (kv_limits_t){KV_KEYS_MAX, KV_KEY_LEN_MAX, KV_VALUE_LEN_MAX};
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static uint64_t fnv_len(uint64_t h, size_t n) {
  uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  return fnv(h, b, sizeof b);
}

/* splitmix64's finaliser: sums of mixed digests do not cancel by accident */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t key_hash(const uint8_t *key, size_t key_len) {
  return fnv(14695981039346656037ull, key, key_len);
}

uint64_t kv_entry_hash(const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len) {
  uint64_t h = fnv_len(14695981039346656037ull, key_len);
  h = fnv(h, key, key_len);
  h = fnv_len(h, value_len);
  return mix(fnv(h, value, value_len));
}

int kv_map_init(kv_map_t *m, const kv_limits_t *limits, const cohort_allocator_t *alloc) {
  memset(m, 0, sizeof *m);
  if (limits->keys_max == 0 || limits->keys_max > KV_KEYS_MAX || limits->key_len_max == 0 ||
      limits->key_len_max > KV_KEY_LEN_MAX || limits->value_len_max > KV_VALUE_LEN_MAX)
    return COHORT_EINVAL;
  size_t n = 16;
  while (n < limits->keys_max / 2) n *= 2; /* load factor at most 2 */
  m->buckets = cohort_calloc(alloc, n, sizeof *m->buckets);
  if (!m->buckets) return COHORT_ENOMEM;
  m->alloc = alloc;
  m->limits = *limits;
  m->buckets_len = n;
  return 0;
}

void kv_map_close(kv_map_t *m) {
  if (!m || !m->buckets) return;
  for (size_t i = 0; i < m->buckets_len; i++) {
    for (kv_entry_t *e = m->buckets[i], *next; e; e = next) {
      next = e->next;
      cohort_free(m->alloc, e);
    }
  }
  cohort_free(m->alloc, m->buckets);
  memset(m, 0, sizeof *m);
}

/* The link that points at key's entry (or at the chain's NULL end). */
static kv_entry_t **find_link(const kv_map_t *m, const uint8_t *key, size_t key_len,
                              uint64_t kh) {
  kv_entry_t **link = &m->buckets[kh & (m->buckets_len - 1)];
  for (; *link; link = &(*link)->next) {
    kv_entry_t *e = *link;
    if (e->key_hash == kh && e->key_len == key_len && !memcmp(e->data, key, key_len)) break;
  }
  return link;
}

int kv_map_put(kv_map_t *m, const uint8_t *key, size_t key_len, const uint8_t *value,
               size_t value_len) {
  if (key_len == 0 || key_len > m->limits.key_len_max || value_len > m->limits.value_len_max)
    return COHORT_EINVAL;
  uint64_t kh = key_hash(key, key_len);
  kv_entry_t **link = find_link(m, key, key_len, kh);
  kv_entry_t *old = *link;
  if (!old && m->len == m->limits.keys_max) return COHORT_EFULL;
  kv_entry_t *e = cohort_alloc(m->alloc, sizeof *e + key_len + value_len);
  if (!e) return COHORT_ENOMEM;
  *e = (kv_entry_t){.next = old ? old->next : NULL,
                    .hash = kv_entry_hash(key, key_len, value, value_len),
                    .key_hash = kh, .key_len = key_len, .value_len = value_len};
  memcpy(e->data, key, key_len);
  if (value_len) memcpy(e->data + key_len, value, value_len);
  if (old) {
    m->hash -= old->hash;
    cohort_free(m->alloc, old);
  } else {
    m->len++;
  }
  m->hash += e->hash;
  *link = e;
  COHORT_ASSERT(m->len <= m->limits.keys_max);
  return 0;
}

int kv_map_del(kv_map_t *m, const uint8_t *key, size_t key_len) {
  kv_entry_t **link = find_link(m, key, key_len, key_hash(key, key_len));
  kv_entry_t *e = *link;
  if (!e) return COHORT_ENOTFOUND;
  *link = e->next;
  m->hash -= e->hash;
  COHORT_ASSERT(m->len > 0);
  m->len--;
  cohort_free(m->alloc, e);
  return 0;
}

int kv_map_get(const kv_map_t *m, const uint8_t *key, size_t key_len, const uint8_t **value,
               size_t *value_len) {
  kv_entry_t *e = *find_link(m, key, key_len, key_hash(key, key_len));
  if (!e) return COHORT_ENOTFOUND;
  *value = e->data + e->key_len;
  *value_len = e->value_len;
  return 0;
}

uint64_t kv_map_hash(const kv_map_t *m) { return mix(m->hash ^ mix((uint64_t)m->len)); }

/* ---- snapshot ----------------------------------------------------------- */

static void put_be(uint8_t *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static const uint8_t snap_magic[4] = {'K', 'V', 'S', '1'};

int kv_map_encode(const kv_map_t *m, const kv_progress_t *progress, uint8_t **out,
                  size_t *out_len) {
  size_t n = KV_SNAP_HEADER;
  for (size_t i = 0; i < m->buckets_len; i++)
    for (const kv_entry_t *e = m->buckets[i]; e; e = e->next) n += 6 + e->key_len + e->value_len;
  uint8_t *b = cohort_alloc(m->alloc, n), *p = b;
  if (!b) return COHORT_ENOMEM;
  memcpy(p, snap_magic, 4);
  put_be(p + 4, progress->applied, 8);
  put_be(p + 12, progress->log, 8);
  put_be(p + 20, m->len, 8);
  p += KV_SNAP_HEADER;
  for (size_t i = 0; i < m->buckets_len; i++) {
    for (const kv_entry_t *e = m->buckets[i]; e; e = e->next) {
      put_be(p, e->key_len, 2);
      put_be(p + 2, e->value_len, 4);
      memcpy(p + 6, e->data, e->key_len + e->value_len);
      p += 6 + e->key_len + e->value_len;
    }
  }
  COHORT_ASSERT((size_t)(p - b) == n);
  *out = b;
  *out_len = n;
  return 0;
}

int kv_map_decode(kv_map_t *m, const uint8_t *snap, size_t len, kv_progress_t *progress) {
  COHORT_ASSERT(m->len == 0);
  if (len < KV_SNAP_HEADER || memcmp(snap, snap_magic, 4)) return COHORT_EPROTO;
  uint64_t count = get_be(snap + 20, 8);
  if (count > m->limits.keys_max) return COHORT_EPROTO;
  size_t off = KV_SNAP_HEADER;
  for (uint64_t i = 0; i < count; i++) {
    if (len - off < 6) return COHORT_EPROTO;
    size_t kl = (size_t)get_be(snap + off, 2), vl = (size_t)get_be(snap + off + 2, 4);
    off += 6;
    if (kl > len - off || vl > len - off - kl) return COHORT_EPROTO;
    const uint8_t *k = snap + off;
    if (kv_map_get(m, k, kl, &(const uint8_t *){NULL}, &(size_t){0}) == 0)
      return COHORT_EPROTO; /* a key twice */
    int rc = kv_map_put(m, k, kl, k + kl, vl);
    if (rc) return rc == COHORT_ENOMEM ? rc : COHORT_EPROTO;
    off += kl + vl;
  }
  if (off != len) return COHORT_EPROTO;
  COHORT_ASSERT(m->len == count);
  *progress = (kv_progress_t){get_be(snap + 4, 8), get_be(snap + 12, 8)};
  return 0;
}

void kv_progress_step(kv_progress_t *p, const kv_cmd_t *c) {
  COHORT_ASSERT(c->op == KV_OP_PUT || c->op == KV_OP_DEL);
  uint64_t h = kv_entry_hash(c->key, c->key_len, c->value, c->value_len);
  p->log = mix(p->log ^ h) + (uint64_t)c->op; /* a chain: order matters */
  p->applied++;
}

/* ---- commands ----------------------------------------------------------- */

size_t kv_cmd_encode(const kv_cmd_t *c, uint8_t *buf, size_t cap) {
  COHORT_ASSERT(c->key_len >= 1 && c->key_len <= KV_KEY_LEN_MAX);
  COHORT_ASSERT(c->value_len <= KV_VALUE_LEN_MAX);
  COHORT_ASSERT(c->op == KV_OP_PUT || c->value_len == 0);
  size_t n = KV_CMD_HEADER + c->key_len + c->value_len;
  COHORT_ASSERT(n <= cap);
  buf[0] = (uint8_t)c->op;
  put_be(buf + 1, c->key_len, 2);
  memcpy(buf + KV_CMD_HEADER, c->key, c->key_len);
  if (c->value_len) memcpy(buf + KV_CMD_HEADER + c->key_len, c->value, c->value_len);
  return n;
}

int kv_cmd_decode(const uint8_t *msg, size_t len, const kv_limits_t *limits, kv_cmd_t *out) {
  if (len < KV_CMD_HEADER) return COHORT_EPROTO;
  kv_op_t op = (kv_op_t)msg[0];
  if (op != KV_OP_PUT && op != KV_OP_DEL && op != KV_OP_READ) return COHORT_EPROTO;
  size_t kl = (size_t)get_be(msg + 1, 2);
  if (kl == 0 || kl > limits->key_len_max || kl > len - KV_CMD_HEADER) return COHORT_EPROTO;
  size_t vl = len - KV_CMD_HEADER - kl;
  if (vl > limits->value_len_max || (op != KV_OP_PUT && vl != 0)) return COHORT_EPROTO;
  *out = (kv_cmd_t){.op = op, .key = msg + KV_CMD_HEADER, .key_len = kl,
                    .value = msg + KV_CMD_HEADER + kl, .value_len = vl};
  return 0;
}
