/*
 * src/detect/fd_wire.c — the failure detector's allocation-free protobuf
 * decoder (see fd_wire.h for the rules and how they are verified).
 *
 * Invariants: reads only inside buf[0..len); never allocates; a refusal
 * leaves nothing but out's scratch values behind.
 */
#include <limits.h>
#include <stdbool.h>

#include "fd_wire.h"

/* Read a base-128 number of at most `max` bytes at *pp (< end). Returns
 * the count of bytes it took, 0 if it did not end within them. Bits past
 * 64 are dropped, as protobuf-c drops them. */
static unsigned read_base128(const uint8_t **pp, const uint8_t *end, unsigned max,
                             uint64_t *value) {
  const uint8_t *p = *pp;
  unsigned n = (size_t)(end - p) < max ? (unsigned)(end - p) : max;
  uint64_t acc = 0;
  for (unsigned k = 0; k < n; k++) {
    if (k < 10) acc |= (uint64_t)(p[k] & 0x7f) << (7 * k);
    if (p[k] & 0x80) continue;
    *value = acc;
    *pp = p + k + 1;
    return k + 1;
  }
  return 0;
}

/* Skip the value of an unknown field of wire type `wire`; false if it
 * cannot be skipped (a bad length, a group, type 6 or 7, truncation). */
static bool skip_value(const uint8_t **pp, const uint8_t *end, unsigned wire) {
  uint64_t v;
  size_t left = (size_t)(end - *pp);
  switch (wire) {
  case 0: return left > 0 && read_base128(pp, end, 10, &v) != 0;
  case 1:
  case 5: {
    size_t width = wire == 1 ? 8 : 4;
    if (left < width) return false;
    *pp += width;
    return true;
  }
  case 2:
    if (left == 0 || !read_base128(pp, end, 5, &v)) return false;
    if (v > INT_MAX || v > (uint64_t)(end - *pp)) return false;
    *pp += v;
    return true;
  default: return false;
  }
}

int cohort_fd_wire_decode(const uint8_t *buf, size_t len, unsigned fields,
                          uint64_t out[COHORT_FD_WIRE_FIELDS_MAX]) {
  COHORT_ASSERT(fields >= 1 && fields <= COHORT_FD_WIRE_FIELDS_MAX);
  for (unsigned i = 0; i < COHORT_FD_WIRE_FIELDS_MAX; i++) out[i] = 0;
  const uint8_t *p = buf, *end = buf + len;
  while (p < end) {
    if ((*p & 0xf8) == 0) return COHORT_EPROTO; /* field 0 in one byte */
    uint64_t key, v;
    if (!read_base128(&p, end, 5, &key)) return COHORT_EPROTO;
    unsigned wire = (unsigned)(key & 7);
    uint64_t field = (key >> 3) & 0xffffffffu; /* 32-bit tags, as protobuf-c */
    if (field == 0 || field > fields) {
      if (!skip_value(&p, end, wire)) return COHORT_EPROTO;
      continue;
    }
    if (wire != 0 || p == end || !read_base128(&p, end, 10, &v)) return COHORT_EPROTO;
    out[field - 1] = v;
  }
  return 0;
}
