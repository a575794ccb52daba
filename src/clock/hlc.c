/*
 * src/clock/hlc.c — hybrid logical clocks (Kulkarni, Demirbas, Madappa,
 * Avva, Leone: "Logical Physical Clocks", OPODIS 2014, Algorithm 2).
 *
 * A stamp (l, c): l is the largest physical time seen in the causal past
 * (ours or a peer's), c counts events sharing that l. Invariants:
 *  - stamps returned by one clock strictly increase (lexicographically),
 *    even when the physical clock passed in goes backwards;
 *  - l >= pt of every event, and l − pt <= max_offset_ns: a remote stamp
 *    whose l leads our pt by more is refused (COHORT_ECLOCK), clock
 *    unchanged, so a peer with a runaway clock cannot drag ours forward;
 *  - c never wraps: (l, UINT32_MAX) is followed by (l + 1 ns, 0), which
 *    keeps the order at the cost of l leading pt by one more nanosecond
 *    per 2^32 events at one l (Kulkarni bounds c far below that when pt
 *    advances at all).
 */
#include "cohort/clock.h"

void cohort_hlc_init(cohort_hlc_t *h, int64_t max_offset_ns) {
  h->last.l = 0; /* as in the paper; any real pt is larger */
  h->last.c = 0;
  h->max_offset_ns = max_offset_ns < 0 ? 0 : max_offset_ns;
}

/* The smallest stamp strictly after (l, c). At the very end of int64 the
 * counter saturates instead (unreachable with real clocks). */
static cohort_hlc_ts_t hlc_succ(int64_t l, uint32_t c) {
  if (c < UINT32_MAX) return (cohort_hlc_ts_t){l, c + 1};
  if (l < INT64_MAX) return (cohort_hlc_ts_t){l + 1, 0};
  return (cohort_hlc_ts_t){l, c};
}

cohort_hlc_ts_t cohort_hlc_now(cohort_hlc_t *h, int64_t pt) {
  if (pt > h->last.l)
    h->last = (cohort_hlc_ts_t){pt, 0};
  else
    h->last = hlc_succ(h->last.l, h->last.c);
  return h->last;
}

int cohort_hlc_recv(cohort_hlc_t *h, int64_t pt, cohort_hlc_ts_t remote,
                    cohort_hlc_ts_t *out) {
  /* remote.l − pt > max_offset_ns, computed without signed overflow. */
  if (remote.l > pt &&
      (uint64_t)remote.l - (uint64_t)pt > (uint64_t)h->max_offset_ns)
    return COHORT_ECLOCK;
  cohort_hlc_ts_t old = h->last;
  int64_t l = old.l > remote.l ? old.l : remote.l;
  if (pt > l)
    h->last = (cohort_hlc_ts_t){pt, 0};
  else if (l == old.l && l == remote.l)
    h->last = hlc_succ(l, old.c > remote.c ? old.c : remote.c);
  else if (l == old.l)
    h->last = hlc_succ(l, old.c);
  else
    h->last = hlc_succ(l, remote.c);
  *out = h->last;
  return 0;
}

int cohort_hlc_compare(cohort_hlc_ts_t a, cohort_hlc_ts_t b) {
  if (a.l != b.l) return a.l < b.l ? -1 : 1;
  if (a.c != b.c) return a.c < b.c ? -1 : 1;
  return 0;
}
