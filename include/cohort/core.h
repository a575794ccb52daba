/*
 * cohort/core.h — the few things every module shares: error codes, node
 * identity, the injectable allocator and the always-on assertion.
 *
 * Invariants: every fallible function returns 0 or a negative COHORT_E*
 * code; output parameters are written only on success. Library code never
 * prints; hosts and the CLI decide what to log.
 */
#ifndef COHORT_CORE_H
#define COHORT_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cohort/limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols used across files of the library but not part of the API. */
#if defined(__GNUC__)
#define COHORT_INTERNAL __attribute__((visibility("hidden")))
#else
#define COHORT_INTERNAL
#endif

/* ---- errors ---------------------------------------------------------- */

/* Negative, far from -errno values so the two can share an int. */
enum {
  COHORT_EINVAL = -1001,   /* bad argument or bad configuration */
  COHORT_ENOMEM = -1002,   /* allocation failed; state unchanged */
  COHORT_EPROTO = -1003,   /* malformed bytes from outside */
  COHORT_ECLUSTER = -1004, /* datagram for another cluster */
  COHORT_EVERSION = -1005, /* unknown major protocol version */
  COHORT_ESTALE = -1006,   /* from an older incarnation, epoch or token */
  COHORT_EAUTH = -1007,    /* authentication tag missing or wrong */
  COHORT_ECLOCK = -1008,   /* remote clock reading too far from ours */
  COHORT_EFULL = -1009,    /* a bounded queue or table is full */
  COHORT_ENOTFOUND = -1010,
  COHORT_ETIMEDOUT = -1011,
  COHORT_ECANCELED = -1012,
  COHORT_EEXIST = -1013,
  COHORT_EIO = -1014,    /* host I/O failure (socket, file) */
  COHORT_ESTATE = -1015, /* operation not valid in the current state */
  COHORT_EUNKNOWN = -1016, /* unknown peer, protocol or message kind */
  COHORT_EREPLAY = -1017,  /* a datagram seen before or older than the window */
  COHORT_EAGAIN = -1018    /* a window or queue is full for now: retry later */
};

/* Static English text for a COHORT_E* or -errno code. Never NULL. */
const char *cohort_strerror(int err);

/* ---- identity --------------------------------------------------------- */

/* A node is a named member of a cluster; an incarnation is one run of it.
 * A restarted process gets a strictly larger incarnation and is a new
 * process: messages from older incarnations are dropped and counted. */
typedef uint32_t cohort_node_id_t;
typedef uint64_t cohort_incarnation_t;
#define COHORT_NODE_NONE UINT32_MAX

/* Incarnations a host picks from its wall clock: (µs since the epoch) << 10
 * with 10 random bits below, so restarts give strictly larger values while
 * the clock does not step back (the runtime also keeps a durable floor),
 * two processes of one node started in the same µs differ with
 * probability 1023/1024, and values stay below 2^62 until 2112. */
static inline cohort_incarnation_t cohort_incarnation_from_wall(int64_t wall_ns,
                                                                uint64_t random) {
  uint64_t us = wall_ns > 0 ? (uint64_t)wall_ns / 1000u : 0;
  return (us << 10) | (random & 0x3ffu) | 1u;
}

/* The one comparison for a counter a peer can push us along (election
 * rounds, fencing tokens): `remote` is acceptable if it is at most `limit`
 * and at most `jump` beyond `known` — or anything up to `limit` when we
 * know nothing yet (known 0: a newcomer takes the cluster's value). One
 * datagram can then move a counter by `jump` at most, far from the limit.
 * (Lamport stamps saturate instead: cohort/limits.h COHORT_LAMPORT_MAX.) */
static inline bool cohort_advance_ok(uint64_t known, uint64_t remote, uint64_t jump,
                                     uint64_t limit) {
  return remote <= limit && (known == 0 || remote <= known || remote - known <= jump);
}

/* ---- allocation -------------------------------------------------------- */

/* One injectable allocator (Lua's lua_Alloc): size 0 frees and returns
 * NULL; otherwise returns the new block or NULL, leaving `ptr` valid. */
typedef struct cohort_allocator {
  void *(*realloc)(void *ud, void *ptr, size_t size);
  void *ud;
} cohort_allocator_t;

/* The process-wide default (malloc/realloc/free). */
const cohort_allocator_t *cohort_allocator_default(void);

void *cohort_alloc(const cohort_allocator_t *a, size_t size);
void *cohort_calloc(const cohort_allocator_t *a, size_t n, size_t size);
/* Returns the new block, or NULL with `ptr` still valid. */
void *cohort_realloc(const cohort_allocator_t *a, void *ptr, size_t size);
void cohort_free(const cohort_allocator_t *a, void *ptr);
/* Internal: make room in a growable array of `size`-byte items for `need`
 * items (capacity doubling from 4, never above `max`). Returns the array
 * (moved, perhaps) with *cap updated; NULL when need > max or memory ran
 * out — then `items` and *cap are unchanged and still valid. */
COHORT_INTERNAL void *cohort_array_grow(const cohort_allocator_t *a, void *items, size_t *cap,
                                        size_t need, size_t max, size_t size);

/* ---- assertions -------------------------------------------------------- */

/* Programmer errors only: on in release builds, prints file:line, aborts.
 * Never assert on input from outside; return COHORT_EPROTO instead. */
void cohort_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));
#define COHORT_ASSERT(e)                                                       \
  ((e) ? (void)0 : cohort_assert_fail(#e, __FILE__, __LINE__))
#ifdef COHORT_DEBUG
#define COHORT_DEBUG_ASSERT(e) COHORT_ASSERT(e)
#else
#define COHORT_DEBUG_ASSERT(e) ((void)0)
#endif

/* snprintf for protocol code, which must not include <stdio.h> (the env
 * contract check forbids it). Returns what vsnprintf returns. */
int cohort_fmt(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The va_list form of cohort_fmt. */
int cohort_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define COHORT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define COHORT_NS_PER_MS INT64_C(1000000)
#define COHORT_NS_PER_S INT64_C(1000000000)
#define COHORT_TIME_NEVER INT64_MAX

#ifdef __cplusplus
}
#endif
#endif
