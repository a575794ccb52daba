/*
 * src/trace/util.c — small helpers over parsed records (trace_util.h):
 * typed reads of a record's data object and record → event conversion.
 * Nothing here allocates.
 */
#include <string.h>

#include "cohort/trace_util.h"
#include "json.h"

static int data_at(const char *data_json, const char *key, json_cursor_t *c) {
  if (!data_json) return COHORT_ENOTFOUND;
  *c = (json_cursor_t){data_json, data_json + strlen(data_json), NULL};
  return json_find_key(c, key);
}

int cohort_trace_data_i64(const char *data_json, const char *key, int64_t *out) {
  json_cursor_t c;
  int rc = data_at(data_json, key, &c);
  if (rc) return rc;
  int64_t v;
  if (json_i64(&c, &v)) return COHORT_EPROTO;
  *out = v;
  return 0;
}

int cohort_trace_data_u64(const char *data_json, const char *key, uint64_t *out) {
  json_cursor_t c;
  int rc = data_at(data_json, key, &c);
  if (rc) return rc;
  uint64_t v;
  if (json_u64(&c, &v)) return COHORT_EPROTO;
  *out = v;
  return 0;
}

int cohort_trace_data_double(const char *data_json, const char *key, double *out) {
  json_cursor_t c;
  int rc = data_at(data_json, key, &c);
  if (rc) return rc;
  double v;
  if (json_number(&c, &v)) return COHORT_EPROTO;
  *out = v;
  return 0;
}

void cohort_trace_rec_event(const cohort_trace_rec_t *r, cohort_vclock_t *vc_holder,
                            cohort_trace_event_t *out) {
  const cohort_vclock_t *vc = NULL;
  if (r->vc) {
    *vc_holder = (cohort_vclock_t){r->vc, r->vc_len, r->vc_len, NULL};
    vc = vc_holder;
  }
  *out = (cohort_trace_event_t){
      .type = r->type, .node = r->node, .inc = r->inc, .local_ns = r->local_ns,
      .true_ns = r->true_ns, .has_stamps = r->has_stamps, .lamport = r->lamport,
      .hlc = r->hlc, .vc = vc, .proto = r->proto, .kind = r->kind,
      .kind_num = r->kind_num, .peer = r->peer, .has_msg = r->has_msg,
      .msg = r->msg, .bytes = r->bytes, .reason = r->reason, .what = r->what,
      .data_json = r->data_json};
}

bool cohort_trace_str_eq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return !strcmp(a, b);
}

bool cohort_trace_same_kind(const cohort_trace_rec_t *a, const cohort_trace_rec_t *b) {
  if (a->kind || b->kind) return cohort_trace_str_eq(a->kind, b->kind);
  return a->kind_num == b->kind_num;
}
