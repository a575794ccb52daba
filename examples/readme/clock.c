/*
 * examples/readme/clock.c — the README's logical-clock program: Lamport,
 * vector and hybrid logical clocks as plain values, built against the
 * installed library (`cc clock.c $(pkg-config --cflags --libs cohort)`).
 * The same file compiles as C11 and as C++20; tests/install builds both.
 * Exit status 0 when every ordering came out as the clocks promise.
 */
#include <cohort/clock.h>
#include <stdio.h>

int main(void) {
  /* Lamport: a send at node 1 happens before its receive at node 2. */
  cohort_lamport_t a = {0}, b = {0};
  uint64_t sent = cohort_lamport_tick(&a);
  uint64_t got = cohort_lamport_recv(&b, sent);
  /* Vector clocks tell concurrency apart; entries are per process, one
   * (node, incarnation) each (here incarnation 1). They allocate through
   * the allocator given at init (NULL: the default) and are closed by us. */
  cohort_vclock_t v1, v2;
  cohort_vclock_init(&v1, NULL);
  cohort_vclock_init(&v2, NULL);
  int rc = cohort_vclock_tick(&v1, 1, 1) | cohort_vclock_tick(&v2, 2, 1);
  cohort_order_t before_merge = cohort_vclock_compare(&v1, &v2);
  rc |= cohort_vclock_merge(&v2, &v1) | cohort_vclock_tick(&v2, 2, 1);
  cohort_order_t after_merge = cohort_vclock_compare(&v1, &v2);
  /* HLC: physical time is passed in; a stamp 1 s ahead is refused. */
  cohort_hlc_t h;
  cohort_hlc_init(&h, 250 * COHORT_NS_PER_MS);
  cohort_hlc_ts_t now = cohort_hlc_now(&h, 1000), out;
  cohort_hlc_ts_t ahead = {now.l + COHORT_NS_PER_S, 0};
  int refused = cohort_hlc_recv(&h, 1000, ahead, &out);
  printf("lamport send=%llu recv=%llu\n", (unsigned long long)sent,
         (unsigned long long)got);
  printf("vclock before merge: %s, after: %s\n",
         before_merge == COHORT_ORDER_CONCURRENT ? "concurrent" : "ordered",
         after_merge == COHORT_ORDER_BEFORE ? "before" : "not before");
  printf("hlc stamp 1s ahead: %s\n", cohort_strerror(refused));
  cohort_vclock_close(&v1);
  cohort_vclock_close(&v2);
  return rc == 0 && got > sent && before_merge == COHORT_ORDER_CONCURRENT &&
                 after_merge == COHORT_ORDER_BEFORE && refused == COHORT_ECLOCK
             ? 0
             : 1;
}
