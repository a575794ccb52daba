/*
 * src/trace/checkers.c — the table of trace checkers (check.h) with, for
 * each, the parameters it accepts and whether a trace gives it something
 * to check (trace_check.h); and the small helpers every checker shares.
 *
 * Invariant: each checker listed here has a test feeding it a trace it
 * must reject (tests/trace/test_check_*.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_internal.h"

/* Checkers defined by protocol modules (each next to its protocol). */
extern const cohort_checker_t cohort_checker_clock; /* src/timesync/check_clock.c */
extern const cohort_checker_t cohort_check_election_unique;    /* src/coord/check_election.c */
extern const cohort_checker_t cohort_check_election_agreement; /* src/coord/check_election.c */
extern const cohort_checker_t cohort_check_election_highest;   /* src/coord/check_election.c */
extern const cohort_checker_t cohort_check_mutex_safety;   /* src/coord/check_mutex.c */
extern const cohort_checker_t cohort_check_mutex_fencing;  /* src/coord/check_mutex.c */
extern const cohort_checker_t cohort_check_mutex_liveness; /* src/coord/check_mutex.c */
extern const cohort_checker_t cohort_check_mutex_bypass;   /* src/coord/check_mutex.c */
extern const cohort_checker_t cohort_check_rpc_once; /* src/trace/check_rpc.c */

static const char *const causality_params[] = {"hlc_bound", "vc", NULL};
static const char *const clock_params[] = {"skip", "interval", NULL};
static const char *const election_unique_params[] = {"proto", "rounds", NULL};
static const char *const election_settle_params[] = {"settle", "proto", NULL};
static const char *const mutex_params[] = {"proto", NULL};
static const char *const mutex_safety_params[] = {"proto", "crashes", NULL};
static const char *const mutex_liveness_params[] = {"bound", "until", "stall_after", "proto",
                                                    "faults", NULL};
static const char *const mutex_bypass_params[] = {"bound", "proto", NULL};
static const char *const integrity_params[] = {"duplicates", NULL};
static const char *const fd_params[] = {"bound", "accuracy", "settle", "proto", "crashes",
                                        "heal_grace", NULL};
static const char *const fifo_params[] = {"proto", "ev", NULL};
static const char *const rpc_once_params[] = {"slack", "complete", NULL};
static const char *const group_params[] = {"proto", NULL};
static const char *const group_live_params[] = {"proto", "settle", NULL};

static bool has_stamps(const cohort_trace_t *t) {
  for (size_t i = 0; i < t->len; i++)
    if (t->recs[i].has_stamps) return true;
  return false;
}

static bool has_recv(const cohort_trace_t *t) {
  for (size_t i = 0; i < t->len; i++)
    if (t->recs[i].type == COHORT_EV_RECV && t->recs[i].has_msg) return true;
  return false;
}

static bool has_fd(const cohort_trace_t *t) {
  for (size_t i = 0; i < t->len; i++)
    if (t->recs[i].proto && !strcmp(t->recs[i].proto, "fd")) return true;
  return false;
}

static bool has_state(const cohort_trace_t *t, const char *what) {
  for (size_t i = 0; i < t->len; i++)
    if (t->recs[i].type == COHORT_EV_STATE && t->recs[i].what && !strcmp(t->recs[i].what, what))
      return true;
  return false;
}

static bool has_clock(const cohort_trace_t *t) { return has_state(t, "clock"); }
static bool has_leader(const cohort_trace_t *t) { return has_state(t, "leader"); }
static bool has_lock(const cohort_trace_t *t) { return has_state(t, "lock_grant"); }
static bool has_rpc(const cohort_trace_t *t) { return has_state(t, "rpc_start"); }

static bool has_group(const cohort_trace_t *t) {
  for (size_t i = 0; i < t->len; i++)
    if (t->recs[i].type == COHORT_EV_STATE && t->recs[i].proto &&
        !strcmp(t->recs[i].proto, "group") && t->recs[i].what && !strcmp(t->recs[i].what, "view"))
      return true;
  return false;
}

static bool never(const cohort_trace_t *t) {
  (void)t;
  return false;
}

static const struct entry {
  const cohort_checker_t *checker;
  const char *const *params;
  bool (*applies)(const cohort_trace_t *t);
} table[] = {
    {&cohort_check_causality, causality_params, has_stamps},
    {&cohort_check_integrity, integrity_params, has_recv},
    {&cohort_check_fd, fd_params, has_fd},
    {&cohort_check_fifo, fifo_params, never},
    {&cohort_checker_clock, clock_params, has_clock},
    {&cohort_check_election_unique, election_unique_params, has_leader},
    {&cohort_check_election_agreement, election_settle_params, has_leader},
    {&cohort_check_election_highest, election_settle_params, never},
    {&cohort_check_mutex_safety, mutex_safety_params, has_lock},
    {&cohort_check_mutex_fencing, mutex_params, has_lock},
    {&cohort_check_mutex_liveness, mutex_liveness_params, has_lock},
    {&cohort_check_mutex_bypass, mutex_bypass_params, never},
    {&cohort_check_rpc_once, rpc_once_params, has_rpc},
    {&cohort_check_view_agreement, group_params, has_group},
    {&cohort_check_view_order, group_params, has_group},
    {&cohort_check_view_synchrony, group_params, has_group},
    {&cohort_check_vs_agreement, group_params, has_group},
    {&cohort_check_group_integrity, group_params, has_group},
    {&cohort_check_self_delivery, group_params, has_group},
    {&cohort_check_primary_unique, group_params, has_group},
    {&cohort_check_state_transfer, group_params, has_group},
    {&cohort_check_view_liveness, group_live_params, never},
    {&cohort_check_group_fifo, group_params, has_group},
    {&cohort_check_group_causal, group_params, has_group},
    {&cohort_check_total_order, group_params, has_group},
};

static const cohort_checker_t *const checkers[] = {
    &cohort_check_causality,
    &cohort_check_integrity,
    &cohort_check_fd,
    &cohort_check_fifo,
    &cohort_checker_clock,
    &cohort_check_election_unique,
    &cohort_check_election_agreement,
    &cohort_check_election_highest,
    &cohort_check_mutex_safety,
    &cohort_check_mutex_fencing,
    &cohort_check_mutex_liveness,
    &cohort_check_mutex_bypass,
    &cohort_check_rpc_once,
    &cohort_check_view_agreement,
    &cohort_check_view_order,
    &cohort_check_view_synchrony,
    &cohort_check_vs_agreement,
    &cohort_check_group_integrity,
    &cohort_check_self_delivery,
    &cohort_check_primary_unique,
    &cohort_check_state_transfer,
    &cohort_check_view_liveness,
    &cohort_check_group_fifo,
    &cohort_check_group_causal,
    &cohort_check_total_order,
};

_Static_assert(COHORT_ARRAY_LEN(table) == COHORT_ARRAY_LEN(checkers),
               "every checker has a table entry");

const cohort_checker_t *cohort_checker_find(const char *name) {
  for (size_t i = 0; i < COHORT_ARRAY_LEN(checkers); i++)
    if (!strcmp(checkers[i]->name, name)) return checkers[i];
  return NULL;
}

const cohort_checker_t *const *cohort_checkers(size_t *len) {
  *len = COHORT_ARRAY_LEN(checkers);
  return checkers;
}

static const struct entry *entry_of(const cohort_checker_t *c) {
  for (size_t i = 0; i < COHORT_ARRAY_LEN(table); i++)
    if (table[i].checker == c) return &table[i];
  return NULL;
}

const char *const *cohort_checker_params(const cohort_checker_t *c) {
  static const char *const none[] = {NULL};
  const struct entry *e = entry_of(c);
  return e ? e->params : none;
}

bool cohort_checker_applies(const cohort_checker_t *c, const cohort_trace_t *t) {
  const struct entry *e = entry_of(c);
  return e && e->applies(t);
}

void check_fail(cohort_check_result_t *out, const char *fmt, ...) {
  if (out->violations++) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->first, sizeof out->first, fmt, ap);
  va_end(ap);
}

void check_summary(cohort_check_result_t *out, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->summary, sizeof out->summary, fmt, ap);
  va_end(ap);
}

int check_error(int rc, char *err, size_t errcap, const char *fmt, ...) {
  if (err && errcap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
  }
  return rc;
}

const char *check_secs(int64_t ns, int slot) {
  static _Thread_local char buf[4][32];
  char *b = buf[slot & 3];
  const char *sign = ns < 0 ? "-" : "";
  uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
  snprintf(b, sizeof buf[0], "%s%llu.%06llus", sign, (unsigned long long)(a / 1000000000u),
           (unsigned long long)(a % 1000000000u / 1000u));
  return b;
}
