/*
 * tests/sim/test_sim_alloc.c — no allocation per event in the simulator's
 * steady state: after a warm-up (pools, buffers and windows at their high
 * water), cohort_sim_run_until over many more simulated seconds must not
 * allocate at all — neither through the cohort allocator (a counting one,
 * handed to the scenario) nor through malloc itself (counted by wrapping
 * glibc's malloc family in this executable; not under AddressSanitizer,
 * which owns malloc). Covered: the fd protocol with HMAC-tagged envelopes
 * over a lossy, duplicating, reordering network, with and without a
 * trace callback, and the mutex and election protocols (protobuf-c
 * decoding through the cohort/pbc.h arena).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/failalloc.h"
#include "cohort/sim.h"

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_MALLOC 0
#endif
#endif
#ifndef COUNT_MALLOC
#define COUNT_MALLOC 1
#endif

static long mallocs; /* calls into the malloc family that allocate */

#if COUNT_MALLOC
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void *malloc(size_t n) {
  mallocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
  mallocs++;
  return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
  if (n) mallocs++;
  return __libc_realloc(p, n);
}
#endif

static void count_lines(void *ud, const char *line, size_t len) {
  (void)line;
  *(uint64_t *)ud += len;
}

/* keyed: the scenario has a cluster key. OpenSSL 3's HMAC re-init (in
 * src/core/auth.c) duplicates its digest context on every datagram — three
 * mallocs per tag, outside any cohort allocator — so keyed runs are held
 * only to the cohort allocator's count, and the malloc count is printed. */
static void steady_state(const char *text, bool traced, bool keyed) {
  failalloc_t fa;
  failalloc_init(&fa, 0);
  cohort_scenario_options_t opts = {.alloc = &fa.base};
  cohort_scenario_t *sc = NULL;
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "alloc.scn", &opts, &sc, err, sizeof err))
    fail_msg("%s", err);
  uint64_t bytes = 0;
  cohort_sim_config_t cfg = {.seed = 3, .trace_fn = traced ? count_lines : NULL,
                             .trace_ud = &bytes};
  cohort_sim_t *sim = NULL;
  if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) fail_msg("%s", err);
  assert_int_equal(cohort_sim_run_until(sim, 10 * COHORT_NS_PER_S), 0); /* warm-up */
  long a0 = fa.count, m0 = mallocs;
  uint64_t e0 = cohort_sim_results(sim)->events;
  assert_int_equal(cohort_sim_run_until(sim, 40 * COHORT_NS_PER_S), 0);
  uint64_t events = cohort_sim_results(sim)->events - e0;
  assert_true(events > 10000);
  if (traced) assert_true(bytes > 0);
  if (keyed && fa.count == a0) {
    printf("keyed run: %.2f mallocs per event, all in OpenSSL's HMAC (see above)\n",
           (double)(mallocs - m0) / (double)events);
    m0 = mallocs;
  }
  if (fa.count != a0 || mallocs != m0)
    fail_msg("%llu events allocated %ld times through the cohort allocator and %ld times "
             "through malloc", (unsigned long long)events, fa.count - a0, mallocs - m0);
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  assert_int_equal(fa.live, 0);
}

#define KEY_LINE "cluster-key 00112233445566778899aabbccddeeff\n"

static const char fd_text[] =
    "nodes 16\nduration 60s\n"
    "protocol fd detector=phi threshold=8 interval=100ms\n"
    "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us loss=0.01 dup=0.01 "
    "reorder=0.02\n";

static const char coord_text[] =
    "nodes 5\nduration 60s\n"
    "protocol fd detector=fixed interval=100ms timeout=2s\n"
    "protocol bully check=20ms\n"
    "protocol mutex algorithm=centralized workload=loop hold=5ms think=50ms start=500ms "
    "fd_timeout=2s\n"
    "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us dup=0.01 reorder=0.02\n";

static void test_fd_quiet(void **state) {
  (void)state;
  steady_state(fd_text, false, false);
}

static void test_fd_traced(void **state) {
  (void)state;
  steady_state(fd_text, true, false);
}

static void test_mutex_election(void **state) {
  (void)state;
  steady_state(coord_text, false, false);
}

static void test_keyed(void **state) {
  (void)state;
  char text[sizeof fd_text + sizeof KEY_LINE];
  snprintf(text, sizeof text, "%s%s", KEY_LINE, fd_text);
  steady_state(text, false, true);
}

/* The counter sees what it must: a plain malloc is counted. */
static void test_counter_counts(void **state) {
  (void)state;
  long m0 = mallocs;
  void *volatile p = malloc(64);
  free(p);
  if (COUNT_MALLOC) assert_int_equal(mallocs, m0 + 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counter_counts),
      cmocka_unit_test(test_fd_quiet),
      cmocka_unit_test(test_fd_traced),
      cmocka_unit_test(test_mutex_election),
      cmocka_unit_test(test_keyed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
