/*
 * src/core/envelope.h — a zero-copy codec for the one hot message of the
 * wire, cohort.wire.Envelope (proto/cohort.proto), used by the node layer
 * on every send and receive.
 *
 * It is not a second wire format: the bytes are exactly the protobuf
 * encoding of the Envelope, and the generated protobuf-c code stays the
 * reference. tests/core/test_envelope.c checks, over many random
 * envelopes, random and truncated byte strings, unknown fields of a newer
 * schema, reordered and repeated fields and overlong varints, that
 *  - cohort_envelope_encode produces byte for byte what
 *    cohort__wire__envelope__pack produces, and
 *  - cohort_envelope_decode accepts exactly the bytes that
 *    cohort__wire__envelope__unpack accepts, with equal field values.
 * The decoding rules are protobuf-c 1.4's: the last occurrence of a field
 * wins; unknown fields (any tag but 1..16) are skipped whatever their
 * size; a known field with another wire type, wire types 3, 4, 6 and 7,
 * a tag whose first byte carries field number 0, a tag longer than five
 * bytes, a varint longer than ten, a length prefix longer than five bytes
 * and a length past the end are all refused.
 *
 * Decoding does not allocate or copy: vc and payload point into the
 * decoded buffer and live as long as it does.
 */
#ifndef COHORT_SRC_CORE_ENVELOPE_H
#define COHORT_SRC_CORE_ENVELOPE_H

#include "cohort/core.h"

typedef struct cohort_envelope {
  uint32_t version_major;  /* 1 */
  uint32_t version_minor;  /* 2 */
  uint64_t cluster_id;     /* 3, fixed64 */
  uint32_t sender;         /* 4 */
  uint64_t incarnation;    /* 5 */
  uint32_t dest;           /* 6 */
  uint32_t proto;          /* 7 */
  uint32_t kind;           /* 8 */
  uint64_t seq;            /* 9 */
  uint64_t lamport;        /* 10 */
  const uint8_t *vc;       /* 11, bytes (NULL when empty) */
  size_t vc_len;
  int64_t hlc_l;           /* 12, sint64 */
  uint32_t hlc_c;          /* 13 */
  const uint8_t *payload;  /* 14, bytes (NULL when empty) */
  size_t payload_len;
  uint64_t dest_incarnation; /* 15 */
  uint64_t link_seq;         /* 16 (the only field with a two-byte key) */
} cohort_envelope_t;

/* Largest encoding of everything but the bytes of vc and payload: seven
 * uint32 fields (1 + 5 bytes each), one fixed64 (1 + 8), four uint64 and
 * one sint64 (1 + 10 each), one uint64 with a two-byte key (2 + 10) and
 * two length prefixes (1 + 5 each). */
#define COHORT_ENVELOPE_OVERHEAD_MAX (7u * 6u + 9u + 5u * 11u + 12u + 2u * 6u)

/* An upper bound of the encoded size of e (what encode may write). */
static inline size_t cohort_envelope_size_max(const cohort_envelope_t *e) {
  return COHORT_ENVELOPE_OVERHEAD_MAX + e->vc_len + e->payload_len;
}

/* Encode e into out, which has room for cohort_envelope_size_max(e) bytes;
 * returns the length written (the protobuf encoding: fields in number
 * order, zero values and empty bytes omitted, as protobuf-c packs them).
 * vc_len and payload_len must be below 2^32 (the bound makes them far
 * smaller). */
COHORT_INTERNAL size_t cohort_envelope_encode(const cohort_envelope_t *e, uint8_t *out);

/* Decode len bytes. Returns 0 and fills *out, or COHORT_EPROTO (then *out
 * is untouched). Never reads outside buf[0..len). */
COHORT_INTERNAL int cohort_envelope_decode(const uint8_t *buf, size_t len,
                                           cohort_envelope_t *out);

#endif
