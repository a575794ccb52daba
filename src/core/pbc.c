/*
 * src/core/pbc.c — protobuf-c allocation through a cohort allocator (see
 * cohort/pbc.h). Records refusals so callers can tell ENOMEM from EPROTO.
 */
#include "cohort/pbc.h"

static void *pbc_alloc_cb(void *ud, size_t size) {
  cohort_pbc_alloc_t *d = ud;
  void *ptr = cohort_alloc(d->alloc, size ? size : 1);
  if (!ptr) d->failed = true;
  return ptr;
}

static void pbc_free_cb(void *ud, void *ptr) {
  cohort_pbc_alloc_t *d = ud;
  if (ptr) cohort_free(d->alloc, ptr);
}

void cohort_pbc_alloc_init(cohort_pbc_alloc_t *d, const cohort_allocator_t *alloc) {
  d->base.alloc = pbc_alloc_cb;
  d->base.free = pbc_free_cb;
  d->base.allocator_data = d;
  d->alloc = alloc ? alloc : cohort_allocator_default();
  d->failed = false;
}

ProtobufCMessage *cohort_pbc_unpack(cohort_pbc_alloc_t *d, const cohort_allocator_t *alloc,
                                    const ProtobufCMessageDescriptor *desc,
                                    const uint8_t *data, size_t len, int *err) {
  cohort_pbc_alloc_init(d, alloc);
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, &d->base, len, data);
  if (!m) *err = d->failed ? COHORT_ENOMEM : COHORT_EPROTO;
  return m;
}
