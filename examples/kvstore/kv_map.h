/*
 * examples/kvstore/kv_map.h — the replicated state of examples/kvstore: a
 * bounded hash map from byte strings to byte strings, its wire encoding
 * (the commands a replica multicasts) and its snapshot (what a joiner is
 * sent). Pure code: no I/O, no clock, no randomness — two replicas that
 * apply the same commands in the same order hold equal maps, and
 * kv_map_hash() proves it without depending on insertion order.
 *
 * Bounds (kv_limits_t): at most keys_max keys, keys of 1..key_len_max
 * bytes, values of 0..value_len_max bytes. A put beyond them is refused
 * (COHORT_EINVAL for a length, COHORT_EFULL for the key count) and
 * leaves the map unchanged, at every replica alike, since every replica
 * runs with the same limits (they are compiled in: KV_* below).
 */
#ifndef KV_MAP_H
#define KV_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "cohort/core.h"
#include "cohort/group.h"

/* The limits of the example, justified:
 *  - a key is a name, not data: 256 bytes;
 *  - a value must fit one multicast with its header: 4 KiB (the group's
 *    message limit is COHORT_GROUP_MSG_MAX, 30000 bytes);
 *  - 65536 keys: a full snapshot is then at most ~285 MiB, under the
 *    1 GiB a joiner accepts (COHORT_GROUP_STATE_MAX). */
#define KV_KEYS_MAX 65536
#define KV_KEY_LEN_MAX 256
#define KV_VALUE_LEN_MAX 4096

/* A command on the wire: op byte, key length (2 bytes, big endian), key,
 * then the value (the rest; PUT only). */
#define KV_CMD_HEADER 3
#define KV_CMD_MAX (KV_CMD_HEADER + KV_KEY_LEN_MAX + KV_VALUE_LEN_MAX)
/* A snapshot entry: key length (2), value length (4), key, value. */
#define KV_SNAP_HEADER 28 /* magic (4), applied (8), log (8), keys (8) */
#define KV_SNAP_ENTRY_MAX (6 + KV_KEY_LEN_MAX + KV_VALUE_LEN_MAX)

_Static_assert(KV_CMD_MAX <= COHORT_GROUP_MSG_MAX, "a command fits one multicast");
_Static_assert(KV_KEY_LEN_MAX <= UINT16_MAX, "key length fits its 2-byte field");
_Static_assert((uint64_t)KV_SNAP_HEADER + (uint64_t)KV_KEYS_MAX * KV_SNAP_ENTRY_MAX <=
                   (uint64_t)COHORT_GROUP_STATE_MAX,
               "a full snapshot fits what a joiner accepts");

typedef enum kv_op { KV_OP_PUT = 'P', KV_OP_DEL = 'D', KV_OP_READ = 'R' } kv_op_t;

typedef struct kv_limits {
  size_t keys_max, key_len_max, value_len_max;
} kv_limits_t;

/* The example's limits (KV_* above). */
kv_limits_t kv_limits_default(void);

typedef struct kv_entry kv_entry_t;

typedef struct kv_map {
  const cohort_allocator_t *alloc;
  kv_limits_t limits;
  kv_entry_t **buckets; /* chains; bucket count a power of two, fixed at init */
  size_t buckets_len, len;
  uint64_t hash; /* sum of the entries' hashes: order does not matter */
} kv_map_t;

/* Caller-allocated. Returns 0, COHORT_EINVAL (limits beyond KV_*),
 * COHORT_ENOMEM. kv_map_close accepts a zeroed or closed map. */
int kv_map_init(kv_map_t *m, const kv_limits_t *limits, const cohort_allocator_t *alloc);
void kv_map_close(kv_map_t *m);

/* Insert or replace. 0; COHORT_EINVAL for an empty or too long key or a
 * too long value; COHORT_EFULL when the key is new and keys_max are held;
 * COHORT_ENOMEM. The map is unchanged on error. Bytes are copied. */
int kv_map_put(kv_map_t *m, const uint8_t *key, size_t key_len, const uint8_t *value,
               size_t value_len);
/* 0 or COHORT_ENOTFOUND. */
int kv_map_del(kv_map_t *m, const uint8_t *key, size_t key_len);
/* The value (borrowed until the next change) in *value, or
 * COHORT_ENOTFOUND. */
int kv_map_get(const kv_map_t *m, const uint8_t *key, size_t key_len, const uint8_t **value,
               size_t *value_len);
/* A 64-bit digest of the contents, independent of insertion order. */
uint64_t kv_map_hash(const kv_map_t *m);
/* The digest of one entry (kv_map_hash is their sum, plus the count). */
uint64_t kv_entry_hash(const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len);

/* How far a replica got: the writes it applied (refused ones too) and a
 * digest of their sequence, which depends on the order (the map's hash
 * does not: two replicas that applied the same writes in different
 * orders may still hold equal maps, never an equal log). */
typedef struct kv_progress {
  uint64_t applied;
  uint64_t log;
} kv_progress_t;

/* Snapshot: the map and the progress, allocated with the map's allocator
 * (the caller owns *out). 0 or COHORT_ENOMEM. */
int kv_map_encode(const kv_map_t *m, const kv_progress_t *progress, uint8_t **out,
                  size_t *out_len);
/* Load a snapshot into an empty map. 0, or COHORT_EPROTO for bytes that
 * are not a snapshot within the map's limits (the map is then left with
 * part of it: the caller discards it), COHORT_ENOMEM. */
int kv_map_decode(kv_map_t *m, const uint8_t *snap, size_t len, kv_progress_t *progress);

/* A command as decoded from a multicast (borrowing the message). */
typedef struct kv_cmd {
  kv_op_t op;
  const uint8_t *key, *value;
  size_t key_len, value_len;
} kv_cmd_t;

/* Count one applied write (PUT or DEL) into p. */
void kv_progress_step(kv_progress_t *p, const kv_cmd_t *c);

/* Encode into buf (KV_CMD_MAX bytes); returns the length. The lengths
 * must already be within limits (asserted). */
size_t kv_cmd_encode(const kv_cmd_t *c, uint8_t *buf, size_t cap);
/* 0, or COHORT_EPROTO for bytes that are not a command within `limits`. */
int kv_cmd_decode(const uint8_t *msg, size_t len, const kv_limits_t *limits, kv_cmd_t *out);

#endif
