/*
 * src/core/envelope.c — the zero-copy Envelope codec (see envelope.h).
 *
 * One pass each way. The encoder writes the fields in number order and
 * omits zero values and empty bytes, which is what protobuf-c's pack does
 * for proto3 fields, so both produce the same bytes; there is no separate
 * size pass (the caller reserves cohort_envelope_size_max). The decoder
 * walks the fields once, keeps the last value of each known field,
 * borrows bytes fields in place and skips unknown ones, refusing exactly
 * what protobuf-c 1.4's unpack refuses (listed in envelope.h).
 *
 * Invariants: the decoder reads only inside [buf, buf + len) — every read
 * is preceded by a bound check against `end` — and writes *out only on
 * success; the encoder never writes more than cohort_envelope_size_max.
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "envelope.h"

enum { WIRE_VARINT = 0, WIRE_64BIT = 1, WIRE_LEN = 2, WIRE_32BIT = 5 };

#define FIELD_MAX 16u /* fields 1..16 are known; every other number is skipped */

/* The wire type each known field must arrive with (index = field number). */
static const uint8_t field_wire[FIELD_MAX + 1] = {
    [1] = WIRE_VARINT,  [2] = WIRE_VARINT,  [3] = WIRE_64BIT,   [4] = WIRE_VARINT,
    [5] = WIRE_VARINT,  [6] = WIRE_VARINT,  [7] = WIRE_VARINT,  [8] = WIRE_VARINT,
    [9] = WIRE_VARINT,  [10] = WIRE_VARINT, [11] = WIRE_LEN,    [12] = WIRE_VARINT,
    [13] = WIRE_VARINT, [14] = WIRE_LEN,    [15] = WIRE_VARINT, [16] = WIRE_VARINT};

/* ---- encoding -------------------------------------------------------------- */

static inline uint8_t *put_varint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* Tags of fields 1..15 are one byte. */
static inline uint8_t *put_key(uint8_t *p, unsigned field, unsigned wire) {
  *p++ = (uint8_t)(field << 3 | wire);
  return p;
}

static inline uint8_t *put_u64(uint8_t *p, unsigned field, uint64_t v) {
  if (v == 0) return p;
  return put_varint(put_key(p, field, WIRE_VARINT), v);
}

static inline uint8_t *put_bytes(uint8_t *p, unsigned field, const uint8_t *data, size_t len) {
  if (len == 0) return p;
  p = put_varint(put_key(p, field, WIRE_LEN), (uint32_t)len);
  memcpy(p, data, len);
  return p + len;
}

size_t cohort_envelope_encode(const cohort_envelope_t *e, uint8_t *out) {
  COHORT_ASSERT(e->vc_len <= UINT32_MAX && e->payload_len <= UINT32_MAX);
  uint8_t *p = out;
  p = put_u64(p, 1, e->version_major);
  p = put_u64(p, 2, e->version_minor);
  if (e->cluster_id) {
    p = put_key(p, 3, WIRE_64BIT);
    for (unsigned i = 0; i < 8; i++) *p++ = (uint8_t)(e->cluster_id >> (8 * i));
  }
  p = put_u64(p, 4, e->sender);
  p = put_u64(p, 5, e->incarnation);
  p = put_u64(p, 6, e->dest);
  p = put_u64(p, 7, e->proto);
  p = put_u64(p, 8, e->kind);
  p = put_u64(p, 9, e->seq);
  p = put_u64(p, 10, e->lamport);
  p = put_bytes(p, 11, e->vc, e->vc_len);
  /* zigzag: 0, -1, 1, -2, ... → 0, 1, 2, 3, ... */
  p = put_u64(p, 12, ((uint64_t)e->hlc_l << 1) ^ (uint64_t)-(int64_t)((uint64_t)e->hlc_l >> 63));
  p = put_u64(p, 13, e->hlc_c);
  p = put_bytes(p, 14, e->payload, e->payload_len);
  p = put_u64(p, 15, e->dest_incarnation);
  if (e->link_seq) { /* field 16: the first field whose key takes two bytes */
    *p++ = (uint8_t)((16u << 3 | WIRE_VARINT) | 0x80);
    *p++ = (uint8_t)((16u << 3) >> 7);
    p = put_varint(p, e->link_seq);
  }
  return (size_t)(p - out);
}

/* ---- decoding -------------------------------------------------------------- */

/* A varint of at most ten bytes (bits past 64 are dropped, as protobuf-c
 * does). False if no terminating byte within ten bytes or the buffer. */
static inline bool get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
  const uint8_t *p = *pp;
  size_t avail = (size_t)(end - p);
  if (avail > 10) avail = 10;
  uint64_t x = 0;
  for (size_t i = 0; i < avail; i++) {
    uint8_t b = p[i];
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *v = x;
      *pp = p + i + 1;
      return true;
    }
  }
  return false;
}

/* A field key: at most five bytes; a first byte whose field bits are all
 * zero is refused (protobuf-c's rule: tag 0 written in one byte). The
 * caller guarantees *pp < end. */
static inline bool get_key(const uint8_t **pp, const uint8_t *end, uint32_t *field,
                           unsigned *wire) {
  const uint8_t *p = *pp;
  uint8_t b0 = p[0];
  if ((b0 & 0xf8) == 0) return false;
  *wire = b0 & 7u;
  uint32_t tag = (uint32_t)(b0 & 0x7f) >> 3;
  if (!(b0 & 0x80)) {
    *field = tag;
    *pp = p + 1;
    return true;
  }
  size_t max = (size_t)(end - p) < 5 ? (size_t)(end - p) : 5;
  unsigned shift = 4;
  for (size_t i = 1; i < max; i++, shift += 7) {
    uint8_t b = p[i];
    tag |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *field = tag;
      *pp = p + i + 1;
      return true;
    }
  }
  return false;
}

/* A length prefix (at most five bytes, at most INT_MAX) and that many
 * bytes after it. */
static inline bool get_length(const uint8_t **pp, const uint8_t *end, size_t *len) {
  const uint8_t *p = *pp;
  size_t avail = (size_t)(end - p);
  if (avail > 5) avail = 5;
  uint64_t x = 0;
  for (size_t i = 0; i < avail; i++) {
    uint8_t b = p[i];
    x |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      p += i + 1;
      if (x > INT_MAX || x > (uint64_t)(end - p)) return false;
      *len = (size_t)x;
      *pp = p;
      return true;
    }
  }
  return false;
}

static inline uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (unsigned i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Store one known field's value (its wire type already checked). */
static void set_field(cohort_envelope_t *e, uint32_t field, uint64_t v, const uint8_t *data,
                      size_t len) {
  switch (field) {
  case 1: e->version_major = (uint32_t)v; break;
  case 2: e->version_minor = (uint32_t)v; break;
  case 3: e->cluster_id = v; break;
  case 4: e->sender = (uint32_t)v; break;
  case 5: e->incarnation = v; break;
  case 6: e->dest = (uint32_t)v; break;
  case 7: e->proto = (uint32_t)v; break;
  case 8: e->kind = (uint32_t)v; break;
  case 9: e->seq = v; break;
  case 10: e->lamport = v; break;
  case 11:
    e->vc = len ? data : NULL;
    e->vc_len = len;
    break;
  case 12: e->hlc_l = (int64_t)(v >> 1) ^ -(int64_t)(v & 1); break;
  case 13: e->hlc_c = (uint32_t)v; break;
  case 14:
    e->payload = len ? data : NULL;
    e->payload_len = len;
    break;
  case 15: e->dest_incarnation = v; break;
  case 16: e->link_seq = v; break;
  default: break;
  }
}

/* One field of any shape at *pp: the general path, every rule checked. */
static bool decode_field(const uint8_t **pp, const uint8_t *end, cohort_envelope_t *e) {
  uint32_t field;
  unsigned wire;
  uint64_t v = 0;
  const uint8_t *data = NULL;
  size_t dlen = 0;
  if (!get_key(pp, end, &field, &wire)) return false;
  switch (wire) {
  case WIRE_VARINT:
    if (!get_varint(pp, end, &v)) return false;
    break;
  case WIRE_64BIT:
    if ((size_t)(end - *pp) < 8) return false;
    v = load_le64(*pp);
    *pp += 8;
    break;
  case WIRE_LEN:
    if (!get_length(pp, end, &dlen)) return false;
    data = *pp;
    *pp += dlen;
    break;
  case WIRE_32BIT:
    if ((size_t)(end - *pp) < 4) return false;
    *pp += 4;
    break;
  default: /* groups (3, 4) and the undefined 6, 7 */
    return false;
  }
  if (field == 0 || field > FIELD_MAX) return true; /* unknown: skipped */
  if (wire != field_wire[field]) return false;
  set_field(e, field, v, data, dlen);
  return true;
}

/* A varint with at least ten bytes readable at p (no bound checks);
 * NULL if it does not end within ten bytes. */
static inline const uint8_t *varint_unchecked(const uint8_t *p, uint64_t *v) {
  uint64_t b = *p++;
  if (b < 0x80) {
    *v = b;
    return p;
  }
  uint64_t x = b & 0x7f;
  for (unsigned shift = 7; shift < 70; shift += 7) {
    b = *p++;
    x |= (b & 0x7f) << shift;
    if (b < 0x80) {
      *v = x;
      return p;
    }
  }
  return NULL;
}

#define KEY(field, wire) ((field) << 3 | (wire))

int cohort_envelope_decode(const uint8_t *buf, size_t len, cohort_envelope_t *out) {
  /* Field by field, not memset: GCC turns a memset of this size into
   * `rep stos`, which costs more than the stores. */
  cohort_envelope_t e;
  e.version_major = e.version_minor = e.sender = e.dest = e.proto = e.kind = e.hlc_c = 0;
  e.cluster_id = e.incarnation = e.seq = e.lamport = e.dest_incarnation = e.link_seq = 0;
  e.hlc_l = 0;
  e.vc = e.payload = NULL;
  e.vc_len = e.payload_len = 0;
  const uint8_t *p = buf, *end = buf + len;
  while (p < end) {
    /* Fast path: a one-byte key of a known field with its own wire type
     * and a varint that cannot run past the end unchecked. Everything
     * else (bytes, fixed64, unknown fields, the last few bytes) takes the
     * general path, which applies the same rules. */
    uint64_t v;
    const uint8_t *q;
    if ((size_t)(end - p) < 11 || !(q = varint_unchecked(p + 1, &v))) goto general;
    switch (*p) {
    case KEY(1, WIRE_VARINT): e.version_major = (uint32_t)v; break;
    case KEY(2, WIRE_VARINT): e.version_minor = (uint32_t)v; break;
    case KEY(4, WIRE_VARINT): e.sender = (uint32_t)v; break;
    case KEY(5, WIRE_VARINT): e.incarnation = v; break;
    case KEY(6, WIRE_VARINT): e.dest = (uint32_t)v; break;
    case KEY(7, WIRE_VARINT): e.proto = (uint32_t)v; break;
    case KEY(8, WIRE_VARINT): e.kind = (uint32_t)v; break;
    case KEY(9, WIRE_VARINT): e.seq = v; break;
    case KEY(10, WIRE_VARINT): e.lamport = v; break;
    case KEY(12, WIRE_VARINT): e.hlc_l = (int64_t)(v >> 1) ^ -(int64_t)(v & 1); break;
    case KEY(13, WIRE_VARINT): e.hlc_c = (uint32_t)v; break;
    case KEY(15, WIRE_VARINT): e.dest_incarnation = v; break;
    default: goto general;
    }
    p = q;
    continue;
  general:
    if (!decode_field(&p, end, &e)) return COHORT_EPROTO;
  }
  *out = e;
  return 0;
}
