/*
 * src/detect/fd_wire.h — an allocation-free decoder for the failure
 * detector's three messages (proto/detect.proto: Heartbeat, Ping, Pong),
 * the hottest payloads of a simulated cluster: one per heartbeat per peer.
 *
 * It is not a second wire format: it reads the protobuf encoding, and the
 * protobuf-c generated code stays the reference. tests/detect/test_fd_wire.c
 * checks, over random messages, random and truncated byte strings, unknown
 * fields, repeated fields, wrong wire types and overlong varints, that it
 * accepts exactly what protobuf_c_message_unpack accepts with the same
 * field values. Its rules are protobuf-c 1.4's, as cohort's envelope codec
 * (src/core/envelope.h) states them: the last occurrence of a field wins;
 * unknown fields (field numbers beyond the message's) are skipped whatever
 * their wire type but groups and the undefined types 6 and 7; a known
 * field with another wire type, a one-byte key for field 0, a key longer
 * than five bytes, a varint longer than ten, a length prefix longer than
 * five bytes or past the end are refused.
 *
 * Every field of the three messages is a varint (uint64 or sint64); the
 * decoder returns them raw, by field number, and the caller un-zigzags
 * the sint64 ones (cohort_fd_wire_sint).
 */
#ifndef COHORT_SRC_DETECT_FD_WIRE_H
#define COHORT_SRC_DETECT_FD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "cohort/core.h"

/* Fields of the largest message (Heartbeat). */
#define COHORT_FD_WIRE_FIELDS_MAX 4

/* Decode a message whose known fields are 1..fields (all varints) from
 * buf[0..len): raw values in out[0..fields) (field k in out[k - 1]; 0 when
 * absent). Returns 0, or COHORT_EPROTO (out unspecified). */
COHORT_INTERNAL int cohort_fd_wire_decode(const uint8_t *buf, size_t len, unsigned fields,
                                          uint64_t out[COHORT_FD_WIRE_FIELDS_MAX]);

/* A sint64 field's value from its raw varint (zigzag). */
static inline int64_t cohort_fd_wire_sint(uint64_t raw) {
  return (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1);
}

#endif
