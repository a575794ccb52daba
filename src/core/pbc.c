/*
 * src/core/pbc.c — protobuf-c allocation through a cohort allocator (see
 * cohort/pbc.h): a bump arena inside the adaptor first, the allocator for
 * what does not fit. Records refusals so callers can tell ENOMEM from
 * EPROTO. Invariants: arena blocks are 16-byte aligned and never freed
 * one by one (they go with the adaptor); a pointer is given back to the
 * allocator only if the allocator gave it.
 */
#include "cohort/pbc.h"

static bool in_arena(const cohort_pbc_alloc_t *d, const void *ptr) {
  const uint8_t *p = ptr;
  return p >= d->arena && p < d->arena + sizeof d->arena;
}

static void *pbc_alloc_cb(void *ud, size_t size) {
  cohort_pbc_alloc_t *d = ud;
  size_t rounded = size ? (size + 15) & ~(size_t)15 : 16;
  if (rounded >= size && rounded <= sizeof d->arena - d->used) {
    void *ptr = d->arena + d->used;
    d->used += rounded;
    return ptr;
  }
  void *ptr = cohort_alloc(d->alloc, size ? size : 1);
  if (!ptr) d->failed = true;
  return ptr;
}

static void pbc_free_cb(void *ud, void *ptr) {
  cohort_pbc_alloc_t *d = ud;
  if (ptr && !in_arena(d, ptr)) cohort_free(d->alloc, ptr);
}

void cohort_pbc_alloc_init(cohort_pbc_alloc_t *d, const cohort_allocator_t *alloc) {
  d->base.alloc = pbc_alloc_cb;
  d->base.free = pbc_free_cb;
  d->base.allocator_data = d;
  d->alloc = alloc ? alloc : cohort_allocator_default();
  d->failed = false;
  d->used = 0;
}

ProtobufCMessage *cohort_pbc_unpack(cohort_pbc_alloc_t *d, const cohort_allocator_t *alloc,
                                    const ProtobufCMessageDescriptor *desc,
                                    const uint8_t *data, size_t len, int *err) {
  cohort_pbc_alloc_init(d, alloc);
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, &d->base, len, data);
  if (!m) *err = d->failed ? COHORT_ENOMEM : COHORT_EPROTO;
  return m;
}
