/*
 * src/rpc/details.c — gRPC's rich error model: a google.rpc.Status (code,
 * message, Any details) serialized into the grpc-status-details-bin
 * trailer by a server (cohort_rpc_call_finish_with_details) and decoded by
 * a client (cohort_rpc_details_unpack). Wire types from
 * proto/rpc_status.proto (wire-identical to google.rpc.Status / Any).
 *
 * Invariants: the Status sent carries the same code as grpc-status;
 * decoding bytes from a peer never asserts (malformed: COHORT_EPROTO);
 * everything decoded is owned by the returned object alone.
 */
#include <string.h>

#include "cohort/pbc.h"
#include "internal.h"
#include "rpc_status.pb-c.h"

typedef struct details_box {
  cohort_pbc_alloc_t pbc;
  Cohort__Rpc__Status *msg;
} details_box_t;

int cohort_rpc_details_unpack(const uint8_t *bin, size_t len, cohort_rpc_details_t *out) {
  const cohort_allocator_t *a = cohort_allocator_default();
  details_box_t *box = cohort_calloc(a, 1, sizeof *box);
  if (!box) return COHORT_ENOMEM;
  int err = 0;
  ProtobufCMessage *m =
      cohort_pbc_unpack(&box->pbc, a, &cohort__rpc__status__descriptor, bin, len, &err);
  box->msg = (Cohort__Rpc__Status *)m;
  if (!box->msg) {
    cohort_free(a, box);
    return err ? err : COHORT_EPROTO;
  }
  cohort_rpc_detail_t *d = NULL;
  size_t n = box->msg->n_details;
  if (n) {
    d = cohort_calloc(a, n, sizeof *d);
    if (!d) {
      protobuf_c_message_free_unpacked(&box->msg->base, &box->pbc.base);
      cohort_free(a, box);
      return COHORT_ENOMEM;
    }
  }
  for (size_t i = 0; i < n; i++) {
    const Cohort__Rpc__Any *any = box->msg->details[i];
    d[i] = (cohort_rpc_detail_t){any->type_url ? any->type_url : "", any->value.data,
                                 any->value.len};
  }
  *out = (cohort_rpc_details_t){box->msg->code, box->msg->message ? box->msg->message : "",
                                d, n, box};
  return 0;
}

void cohort_rpc_details_free(cohort_rpc_details_t *d) {
  if (!d || !d->internal_) return;
  const cohort_allocator_t *a = cohort_allocator_default();
  details_box_t *box = d->internal_;
  protobuf_c_message_free_unpacked(&box->msg->base, &box->pbc.base);
  cohort_free(a, box);
  if (d->details) cohort_free(a, d->details);
  memset(d, 0, sizeof *d);
}

/* Serialize Status{code, message, details} into a fresh buffer. */
static int details_pack(const cohort_allocator_t *a, cohort_rpc_code_t code, const char *message,
                        const cohort_rpc_detail_t *details, size_t n, rpc_bytes_t *out) {
  if (n > COHORT_RPC_METADATA_ENTRIES_MAX) return COHORT_EINVAL;
  Cohort__Rpc__Any anys[COHORT_RPC_METADATA_ENTRIES_MAX];
  Cohort__Rpc__Any *ptrs[COHORT_RPC_METADATA_ENTRIES_MAX];
  for (size_t i = 0; i < n; i++) {
    cohort__rpc__any__init(&anys[i]);
    anys[i].type_url = (char *)(uintptr_t)(details[i].type_url ? details[i].type_url : "");
    anys[i].value.data = (uint8_t *)(uintptr_t)details[i].value;
    anys[i].value.len = details[i].value_len;
    ptrs[i] = &anys[i];
  }
  Cohort__Rpc__Status st;
  cohort__rpc__status__init(&st);
  st.code = (int32_t)code;
  st.message = (char *)(uintptr_t)(message ? message : "");
  st.n_details = n;
  st.details = ptrs;
  size_t len = cohort__rpc__status__get_packed_size(&st);
  if (len > COHORT_RPC_METADATA_MAX) return COHORT_EINVAL;
  int rc = rpc_bytes_reserve(out, a, len);
  if (rc) return rc;
  out->len = cohort__rpc__status__pack(&st, out->data);
  return 0;
}

int cohort_rpc_call_finish_with_details(cohort_rpc_call_t *call, cohort_rpc_code_t code,
                                        const char *message, const cohort_rpc_detail_t *details,
                                        size_t n) {
  const cohort_allocator_t *a = rpc_call_allocator(call);
  rpc_bytes_t bin = {0};
  int rc = details_pack(a, code, message, details, n, &bin);
  cohort_rpc_metadata_t md = {"grpc-status-details-bin", bin.data, bin.len};
  int frc = cohort_rpc_call_finish_with_metadata(call, code, message, rc ? NULL : &md,
                                                 rc ? 0 : 1);
  rpc_bytes_free(&bin, a);
  return rc ? rc : frc;
}
