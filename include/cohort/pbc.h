/*
 * cohort/pbc.h — protobuf-c's allocator hook routed through a cohort
 * allocator, shared by every protocol that decodes protobuf payloads (fd,
 * election, mutex, ...), so that allocation failure while decoding bytes
 * from a peer is reported as COHORT_ENOMEM — never confused with a
 * malformed payload (COHORT_EPROTO) — and fault-injection tests reach it.
 */
#ifndef COHORT_PBC_H
#define COHORT_PBC_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

#include "cohort/core.h"

/* Blocks are first carved from `arena` (in the struct, so usually on the
 * caller's stack); only what does not fit goes to `alloc`. A small message
 * decoded and freed within one call therefore allocates nothing: no
 * malloc/free per received message. Messages it returns borrow the arena:
 * free them (protobuf_c_message_free_unpacked) before `d` goes out of
 * scope, as every caller does within the decoding function. */
#ifdef __cplusplus
extern "C" {
#endif

typedef struct cohort_pbc_alloc {
  ProtobufCAllocator base; /* pass &x.base to protobuf-c */
  const cohort_allocator_t *alloc;
  bool failed; /* an allocation was refused since init */
  size_t used; /* bytes of arena handed out */
#ifdef __cplusplus
  alignas(16) uint8_t arena[COHORT_PBC_ARENA_BYTES];
#else
  _Alignas(16) uint8_t arena[COHORT_PBC_ARENA_BYTES];
#endif
} cohort_pbc_alloc_t;

/* Point d->base at `alloc` (NULL = default). Call before each unpack. */
void cohort_pbc_alloc_init(cohort_pbc_alloc_t *d, const cohort_allocator_t *alloc);

/* Unpack `len` bytes as a message of `desc`. Returns the message (free it
 * with protobuf_c_message_free_unpacked(msg, &d->base)) or NULL with *err
 * set: COHORT_ENOMEM if the allocator refused, else COHORT_EPROTO. */
ProtobufCMessage *cohort_pbc_unpack(cohort_pbc_alloc_t *d, const cohort_allocator_t *alloc,
                                    const ProtobufCMessageDescriptor *desc,
                                    const uint8_t *data, size_t len, int *err);

#ifdef __cplusplus
}
#endif
#endif
