/*
 * tools/bench_group.c — `cohort bench group`: what a view change of the
 * group membership protocol (src/group) costs, measured in the
 * deterministic simulator, beside the count the protocol predicts and
 * Corosync's documented default failover.
 *
 * Every run: N nodes on a lossless network (1 ms lognormal links, 500 us
 * jitter), the phi accrual detector of scenarios/group-churn.scn
 * (threshold 8, 100 ms heartbeats), the group with expected=N and its
 * test application multicasting 2 msg/s per member. join-retry=100ms
 * (default 300 ms) only shortens the founder's wait before it founds,
 * which nothing here measures. Every figure is read from the trace
 * records (docs/group-trace.md), whose times are exact virtual times.
 *
 *   crash    2 s after the group formed (all N in one primary view), the
 *            last-ranked member, or in a second set of runs the
 *            coordinator, crashes. detection: crash -> first `exclude`
 *            of it; agreement: that exclude -> the last survivor's `view`
 *            without it. Every group datagram sent in [crash, last
 *            install] is counted by kind; the flush (FLUSH, FLUSH_VEC,
 *            SYNC, FLUSH_OK, COMMIT, INSTALLED, and BOUND / NACK if a
 *            proposal is contested) is printed beside 6(N-2): with
 *            s = N-1 survivors, the coordinator exchanges six messages
 *            with each of the other s-1 (src/group/group.c:
 *            start_proposal, on_flush, coord_all_vecs, maybe_flush_ok,
 *            coord_on_ok, install_view).
 *   join     N = 5, state-bytes=1048576: a member crashes, the survivors
 *            exclude it, it restarts (a new incarnation): its `joining`
 *            record -> its `state_installed`.
 *   msgs     N = 5, 20 and 500 msg/s per member, batched (the default)
 *            against batch=off (an ACK and a STABLE per message per
 *            member, the guide's protocol verbatim): group datagrams sent
 *            / gdeliver records over 5 s.
 *   memory   the simulator's allocator peak (nodes, protocols, event
 *            queue, datagrams in flight) at the largest N with the group
 *            and with the failure detector alone, run to the same time;
 *            the difference / N is the group's share per member.
 *
 * Output: tables on stdout and an SVG plot of view-change time against
 * N (-o, default bench-group.svg). Exit 1 when a run did not converge.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include "cohort/group.h"
#include "cohort/sim.h"

#define MS COHORT_NS_PER_MS
#define SEC COHORT_NS_PER_S
#define SIZES 5
#define SIZES_QUICK 3
#define RUNS_MAX 1000
#define KINDS 23 /* group kinds 1..22, as cohort_group_kind_name names them */
#define MSGS_N 5
#define MSGS_WINDOW (5 * SEC)

static const uint32_t sizes[SIZES] = {3, 5, 16, 64, 128};

#define NET "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us\n"
#define FD "protocol fd detector=phi threshold=8 interval=100ms\n"

/* ---- the trace watcher ------------------------------------------------------------- */

/* What one run's trace callback gathers. Records before t_from or after
 * t_until are ignored; t_done (once set) closes the window after the
 * records of that same instant (the INSTALLED a survivor sends as it
 * installs carries the same time as its view record). */
typedef struct watch {
  int64_t t_from, t_until, t_done;
  cohort_node_id_t victim; /* crash: the node that crashed; join: the joiner */
  uint32_t survivors, installed;
  bool done_at[COHORT_GROUP_MEMBERS_MAX + 1];
  bool other_change; /* a survivor's new view lacks more than the victim */
  int64_t t_exclude, t_joining, t_view, t_state;
  uint64_t kinds[KINDS], gsend, gdeliver;
} watch_t;

static void watch_init(watch_t *w) {
  memset(w, 0, sizeof *w);
  w->t_from = -1;
  w->t_until = INT64_MAX;
  w->t_done = w->t_exclude = w->t_joining = w->t_view = w->t_state = -1;
}

static int64_t field_i64(const char *line, size_t len, const char *key) {
  const char *p = memmem(line, len, key, strlen(key));
  return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static bool has(const char *line, size_t len, const char *s) {
  return memmem(line, len, s, strlen(s)) != NULL;
}

static void count_kind(watch_t *w, const char *line, size_t len) {
  const char *p = memmem(line, len, "\"kind\":\"", 8);
  if (!p) return;
  p += 8;
  const char *end = memchr(p, '"', len - (size_t)(p - line));
  if (!end) return;
  size_t n = (size_t)(end - p);
  for (uint32_t k = 1; k < KINDS; k++) {
    const char *name = cohort_group_kind_name(k);
    if (name && strlen(name) == n && !memcmp(name, p, n)) {
      w->kinds[k]++;
      return;
    }
  }
}

/* Members of a `view` record: how many, and whether `id` is one. */
static uint32_t view_members(const char *line, size_t len, cohort_node_id_t id, bool *found) {
  *found = false;
  const char *p = memmem(line, len, "\"members\":[", 11);
  if (!p) return 0;
  p += 11;
  uint32_t n = 0;
  while (p < line + len && *p == '[') {
    char *end;
    unsigned long m = strtoul(p + 1, &end, 10);
    n++;
    if (m == id) *found = true;
    const char *close = memchr(end, ']', len - (size_t)(end - line));
    if (!close) break;
    p = close + 1;
    if (p < line + len && *p == ',') p++;
  }
  return n;
}

static void on_view(watch_t *w, const char *line, size_t len, cohort_node_id_t node,
                    int64_t tt) {
  if (node == w->victim) {
    if (w->t_view < 0) w->t_view = tt; /* the joiner's first view */
    return;
  }
  if (w->survivors == 0 || node > COHORT_GROUP_MEMBERS_MAX || w->done_at[node]) return;
  bool found;
  uint32_t n = view_members(line, len, w->victim, &found);
  if (found) return;
  if (n != w->survivors) w->other_change = true;
  w->done_at[node] = true;
  if (++w->installed == w->survivors) w->t_done = tt;
}

static void on_state(watch_t *w, const char *line, size_t len, cohort_node_id_t node,
                     int64_t tt) {
  if (has(line, len, "\"what\":\"view\"")) on_view(w, line, len, node, tt);
  else if (has(line, len, "\"what\":\"gdeliver\"")) w->gdeliver++;
  else if (has(line, len, "\"what\":\"gsend\"")) w->gsend++;
  else if (has(line, len, "\"what\":\"exclude\"")) {
    if (w->t_exclude < 0 && field_i64(line, len, "\"peer\":") == (int64_t)w->victim)
      w->t_exclude = tt;
  } else if (node == w->victim && has(line, len, "\"what\":\"joining\"")) {
    if (w->t_joining < 0) w->t_joining = tt;
  } else if (node == w->victim && has(line, len, "\"what\":\"state_installed\"")) {
    if (w->t_state < 0) w->t_state = tt;
  }
}

static void on_record(void *ud, const char *line, size_t len) {
  watch_t *w = ud;
  if (w->t_from < 0 || !has(line, len, "\"proto\":\"group\"")) return;
  int64_t tt = field_i64(line, len, "\"tt\":") - COHORT_SIM_EPOCH_NS;
  if (tt < w->t_from || tt > w->t_until || (w->t_done >= 0 && tt > w->t_done)) return;
  if (len > 12 && !memcmp(line, "{\"ev\":\"send\"", 12)) {
    count_kind(w, line, len);
    return;
  }
  if (len > 13 && !memcmp(line, "{\"ev\":\"state\"", 13)) {
    int64_t node = field_i64(line, len, "\"node\":");
    if (node > 0) on_state(w, line, len, (cohort_node_id_t)node, tt);
  }
}

/* ---- building and driving one simulation -------------------------------------------- */

static int make_sim(const char *text, uint64_t seed, watch_t *w, cohort_scenario_t **sc,
                    cohort_sim_t **sim) {
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "bench-group", NULL, sc, err, sizeof err)) {
    fprintf(stderr, "cohort bench group: %s\n", err);
    return -1;
  }
  cohort_sim_config_t cfg = {.seed = seed, .trace_fn = w ? on_record : NULL, .trace_ud = w};
  if (cohort_sim_new(*sc, &cfg, sim, err, sizeof err)) {
    fprintf(stderr, "cohort bench group: %s\n", err);
    cohort_scenario_free(*sc);
    return -1;
  }
  return 0;
}

static void free_sim(cohort_sim_t *sim, cohort_scenario_t *sc) {
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
}

static cohort_group_t *group_of(cohort_sim_t *sim, cohort_node_id_t id) {
  return cohort_group_from_proto(cohort_sim_proto(sim, id, "group"));
}

/* Every live node is a plain member of one primary view of `n` members. */
static bool formed(cohort_sim_t *sim, uint32_t nodes, uint32_t n) {
  const cohort_group_view_t *first = NULL;
  for (cohort_node_id_t id = 1; id <= nodes; id++) {
    if (!cohort_sim_node_up(sim, id)) continue;
    cohort_group_t *g = group_of(sim, id);
    const cohort_group_view_t *v = g ? cohort_group_view(g) : NULL;
    if (!v || v->members_len != n || !v->primary) return false;
    if (cohort_group_status(g) != COHORT_GROUP_MEMBER) return false;
    if (first && (first->id.epoch != v->id.epoch || first->id.coord != v->id.coord)) return false;
    first = v;
  }
  return first != NULL;
}

/* Run in 10 ms steps until formed(n) or `limit` more ns; the time, or -1. */
static int64_t run_until_formed(cohort_sim_t *sim, uint32_t nodes, uint32_t n, int64_t limit) {
  int64_t end = cohort_sim_now(sim) + limit;
  for (int64_t t = cohort_sim_now(sim) + 10 * MS; t <= end; t += 10 * MS) {
    if (cohort_sim_run_until(sim, t)) return -1;
    if (formed(sim, nodes, n)) return t;
  }
  return -1;
}

static void debug_fail(const char *what, uint32_t n, uint64_t seed) {
  if (getenv("COHORT_BENCH_DEBUG"))
    fprintf(stderr, "cohort bench group: %s N=%u seed=%" PRIu64 " did not converge\n", what, n,
            seed);
}

/* ---- crash -> new view --------------------------------------------------------------- */

typedef struct crash_run {
  double detect_ms, agree_ms, total_ms;
  uint64_t flush, suspect, other;
  uint64_t kinds[KINDS];
  bool other_change;
} crash_run_t;

static const uint32_t flush_kinds[] = {5, 6, 3, 9, 7, 4, 14, 8}; /* flush .. installed, nack */
#define FLUSH_KINDS (sizeof flush_kinds / sizeof flush_kinds[0])
#define KIND_SUSPECT 16

static void crash_counts(const watch_t *w, crash_run_t *r) {
  uint64_t all = 0;
  r->flush = 0;
  for (uint32_t k = 1; k < KINDS; k++) all += w->kinds[k];
  for (size_t i = 0; i < FLUSH_KINDS; i++) r->flush += w->kinds[flush_kinds[i]];
  r->suspect = w->kinds[KIND_SUSPECT];
  r->other = all - r->flush - r->suspect;
}

/* One run: 0 and *r, 1 if it did not converge, -1 on a setup error. */
static int crash_once(uint32_t n, bool coordinator, uint64_t seed, crash_run_t *r) {
  char text[512];
  snprintf(text, sizeof text,
           "nodes %u\nduration 300s\n" NET FD
           "protocol group expected=%u rate=2 join-retry=100ms\n",
           n, n);
  watch_t w;
  watch_init(&w);
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, seed, &w, &sc, &sim)) return -1;
  int64_t t_formed = run_until_formed(sim, n, n, 60 * SEC);
  const cohort_group_view_t *v = NULL;
  if (t_formed >= 0 && !cohort_sim_run_until(sim, t_formed + 2 * SEC))
    v = cohort_group_view(group_of(sim, 1));
  int rc = 1;
  if (v && v->members_len == n) {
    w.victim = coordinator ? v->members[0].id : v->members[n - 1].id;
    w.survivors = n - 1;
    w.t_from = cohort_sim_now(sim);
    (void)cohort_sim_crash(sim, w.victim);
    for (int64_t t = w.t_from + 10 * MS; t < w.t_from + 30 * SEC && w.t_done < 0; t += 10 * MS)
      if (cohort_sim_run_until(sim, t)) break;
  }
  if (w.t_done >= 0 && w.t_exclude >= 0) {
    r->detect_ms = (double)(w.t_exclude - w.t_from) / 1e6;
    r->agree_ms = (double)(w.t_done - w.t_exclude) / 1e6;
    r->total_ms = (double)(w.t_done - w.t_from) / 1e6;
    r->other_change = w.other_change;
    memcpy(r->kinds, w.kinds, sizeof r->kinds);
    crash_counts(&w, r);
    rc = 0;
  } else {
    debug_fail(coordinator ? "coordinator crash" : "member crash", n, seed);
  }
  free_sim(sim, sc);
  return rc;
}

typedef struct crash_row {
  uint32_t n, runs, failed;
  bool other_change;
  double total[3], detect, agree; /* total: min, median, max */
  double flush, suspect, other;   /* medians */
  uint64_t kinds[KINDS];          /* of the first seed that converged */
} crash_row_t;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Medians etc. of `runs` seeds; -1 on a setup error. */
static int crash_row(uint32_t n, bool coordinator, uint32_t runs, crash_row_t *row) {
  double tot[RUNS_MAX], det[RUNS_MAX], agr[RUNS_MAX], fl[RUNS_MAX], su[RUNS_MAX], ot[RUNS_MAX];
  *row = (crash_row_t){.n = n};
  for (uint32_t i = 0; i < runs; i++) {
    crash_run_t r;
    int rc = crash_once(n, coordinator, 1000 + i, &r);
    if (rc < 0) return -1;
    if (rc > 0) {
      row->failed++;
      continue;
    }
    uint32_t k = row->runs++;
    if (k == 0) memcpy(row->kinds, r.kinds, sizeof row->kinds);
    tot[k] = r.total_ms;
    det[k] = r.detect_ms;
    agr[k] = r.agree_ms;
    fl[k] = (double)r.flush;
    su[k] = (double)r.suspect;
    ot[k] = (double)r.other;
    if (r.other_change) row->other_change = true;
  }
  if (!row->runs) return 0;
  row->total[1] = median(tot, row->runs);
  row->total[0] = tot[0];
  row->total[2] = tot[row->runs - 1];
  row->detect = median(det, row->runs);
  row->agree = median(agr, row->runs);
  row->flush = median(fl, row->runs);
  row->suspect = median(su, row->runs);
  row->other = median(ot, row->runs);
  return 0;
}

/* Corosync's documented defaults (corosync.conf(5), 3.x): token 3000 ms,
 * plus token_coefficient 650 ms per node above 2 when the nodelist has 3
 * or more; consensus 1.2 x that token. A failover waits for the token to
 * be declared lost, then for consensus: token + consensus = 2.2 x token. */
static double corosync_token_ms(uint32_t n) { return 3000.0 + (n > 2 ? 650.0 * (n - 2) : 0); }
static double corosync_failover_ms(uint32_t n) { return 2.2 * corosync_token_ms(n); }

static void print_crash_header(uint32_t runs) {
  printf("crash -> every survivor installed the view without it (%u seeds each; times in ms)\n"
         "phi threshold 8, 100 ms heartbeats, 1 ms lognormal links, 2 msg/s per member\n",
         runs);
  printf("%-7s %4s | %8s %8s %8s | %8s %8s | %6s %9s | %7s %6s | %11s\n", "crashed", "N",
         "min", "median", "max", "detect", "agree", "flush", "predicted", "suspect", "other",
         "Corosync*");
}

static void print_crash_row(const char *who, const crash_row_t *r) {
  if (!r->runs) {
    printf("%-7s %4u | no run converged\n", who, r->n);
    return;
  }
  printf("%-7s %4u | %8.1f %8.1f %8.1f | %8.1f %8.1f | %6.0f %9u | %7.0f %6.0f | %11.0f%s%s\n",
         who, r->n, r->total[0], r->total[1], r->total[2], r->detect, r->agree, r->flush,
         6 * (r->n - 2), r->suspect, r->other, corosync_failover_ms(r->n),
         r->failed ? "  (some runs did not converge)" : "",
         r->other_change ? "  (another member was excluded too)" : "");
}

/* Every kind sent in the first converged seed's interval ("flush 14 ..."). */
static void print_kinds(const char *who, const crash_row_t *r) {
  if (!r->runs) return;
  printf("  %s crash, N = %u, first seed, by kind:", who, r->n);
  for (uint32_t k = 1; k < KINDS; k++)
    if (r->kinds[k]) printf(" %s %" PRIu64, cohort_group_kind_name(k), r->kinds[k]);
  printf("\n");
}

static void print_crash_footer(void) {
  printf("detect: crash -> first exclude; agree: exclude -> last survivor installs.\n"
         "flush: FLUSH+FLUSH_VEC+SYNC+FLUSH_OK+COMMIT+INSTALLED (+BOUND, NACK) sent in that\n"
         "interval, medians; predicted 6(N-2) = 6 per survivor other than the coordinator.\n"
         "suspect: SUSPECT reports to the coordinator; other: multicast data, acks,\n"
         "stability, keep-alives and fetches in the same interval.\n"
         "* Corosync defaults (documented, not measured): token = 3000 ms + 650 ms x (N-2)\n"
         "  (token_coefficient), consensus = 1.2 x token; failover ~ token + consensus.\n"
         "  Corosync is not installed here; these are computed from corosync.conf(5).\n");
}

/* ---- join with a 1 MiB state ------------------------------------------------------------ */

typedef struct join_run {
  double total_ms, view_ms;
} join_run_t;

static int join_once(uint64_t seed, join_run_t *r) {
  const uint32_t n = MSGS_N;
  char text[512];
  snprintf(text, sizeof text,
           "nodes %u\nduration 300s\n" NET FD
           "protocol group expected=%u rate=2 join-retry=100ms state-bytes=1048576\n",
           n, n);
  watch_t w;
  watch_init(&w);
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, seed, &w, &sc, &sim)) return -1;
  int rc = 1;
  int64_t t = run_until_formed(sim, n, n, 60 * SEC);
  const cohort_group_view_t *v = NULL;
  if (t >= 0 && !cohort_sim_run_until(sim, t + 2 * SEC)) v = cohort_group_view(group_of(sim, 1));
  if (v && v->members_len == n) {
    w.victim = v->members[n - 1].id;
    (void)cohort_sim_crash(sim, w.victim);
    if (run_until_formed(sim, n, n - 1, 30 * SEC) >= 0 &&
        !cohort_sim_run_until(sim, cohort_sim_now(sim) + SEC)) {
      w.t_from = cohort_sim_now(sim);
      (void)cohort_sim_restart(sim, w.victim, false);
      for (t = w.t_from + 10 * MS; t < w.t_from + 60 * SEC && w.t_state < 0; t += 10 * MS)
        if (cohort_sim_run_until(sim, t)) break;
    }
  }
  if (w.t_joining >= 0 && w.t_view >= 0 && w.t_state >= 0) {
    r->total_ms = (double)(w.t_state - w.t_joining) / 1e6;
    r->view_ms = (double)(w.t_view - w.t_joining) / 1e6;
    rc = 0;
  } else {
    debug_fail("join", n, seed);
  }
  free_sim(sim, sc);
  return rc;
}

static int bench_join(uint32_t runs) {
  double tot[RUNS_MAX], view[RUNS_MAX];
  uint32_t ok = 0, failed = 0;
  for (uint32_t i = 0; i < runs; i++) {
    join_run_t r;
    int rc = join_once(2000 + i, &r);
    if (rc < 0) return -1;
    if (rc > 0) {
      failed++;
      continue;
    }
    tot[ok] = r.total_ms;
    view[ok++] = r.view_ms;
  }
  printf("\njoin with a 1 MiB state (N = %u; a member crashed, was excluded, restarts as a new\n"
         "incarnation; 30 kB chunks, 16 in flight; %u seeds; ms)\n",
         MSGS_N, runs);
  printf("%-28s %8s %8s %8s\n", "", "min", "median", "max");
  if (!ok) {
    printf("no run converged\n");
    return 1;
  }
  double vm = median(view, ok), vmin = view[0], vmax = view[ok - 1];
  double tm = median(tot, ok);
  printf("%-28s %8.1f %8.1f %8.1f\n", "joining -> view (pending)", vmin, vm, vmax);
  printf("%-28s %8.1f %8.1f %8.1f%s\n", "joining -> state_installed", tot[0], tm, tot[ok - 1],
         failed ? "  (some runs did not converge)" : "");
  return failed ? 1 : 0;
}

/* ---- messages per delivered message --------------------------------------------------- */

typedef struct msgs_run {
  uint64_t sent, gsend, gdeliver;
} msgs_run_t;

static int msgs_once(bool batched, unsigned rate, uint64_t seed, msgs_run_t *r) {
  const uint32_t n = MSGS_N;
  char text[512];
  snprintf(text, sizeof text,
           "nodes %u\nduration 300s\n" NET FD
           "protocol group expected=%u rate=%u join-retry=100ms batch=%s\n",
           n, n, rate, batched ? "on" : "off");
  watch_t w;
  watch_init(&w);
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, seed, &w, &sc, &sim)) return -1;
  int rc = 1;
  int64_t t = run_until_formed(sim, n, n, 60 * SEC);
  if (t >= 0 && !cohort_sim_run_until(sim, t + SEC)) {
    w.t_from = cohort_sim_now(sim);
    w.t_until = w.t_from + MSGS_WINDOW;
    if (!cohort_sim_run_until(sim, w.t_until) && formed(sim, n, n)) rc = 0;
  }
  if (!rc) {
    *r = (msgs_run_t){.gsend = w.gsend, .gdeliver = w.gdeliver};
    for (uint32_t k = 1; k < KINDS; k++) r->sent += w.kinds[k];
  } else {
    debug_fail(batched ? "batched" : "unbatched", n, seed);
  }
  free_sim(sim, sc);
  return rc;
}

/* One line: `runs` seeds of one rate, batched or not; 1 if a seed failed. */
static int msgs_line(bool batched, unsigned rate, uint32_t runs) {
  msgs_run_t sum = {0};
  uint32_t ok = 0;
  for (uint32_t i = 0; i < runs; i++) {
    msgs_run_t r;
    int x = msgs_once(batched, rate, 3000 + i, &r);
    if (x < 0) return -1;
    if (x > 0) continue;
    ok++;
    sum.sent += r.sent;
    sum.gsend += r.gsend;
    sum.gdeliver += r.gdeliver;
  }
  const char *name = batched ? "batched" : "batch=off";
  if (!ok || !sum.gdeliver || !sum.gsend) {
    printf("%5u %-10s no run converged\n", rate, name);
    return 1;
  }
  printf("%5u %-10s %10.0f %10.0f %10.0f | %12.2f %12.2f\n", rate, name, (double)sum.sent / ok,
         (double)sum.gsend / ok, (double)sum.gdeliver / ok,
         (double)sum.sent / (double)sum.gdeliver, (double)sum.sent / (double)sum.gsend);
  return ok < runs ? 1 : 0;
}

static int bench_msgs(uint32_t runs) {
  static const unsigned rates[] = {20, 500};
  printf("\ngroup datagrams per delivered message (N = %u, %.0f s after formation, %u seeds;\n"
         "rate: msg/s per member)\n",
         MSGS_N, (double)MSGS_WINDOW / 1e9, runs);
  printf("%5s %-10s %10s %10s %10s | %12s %12s\n", "rate", "acks", "datagrams", "gsend",
         "gdeliver", "per deliver", "per gsend");
  int rc = 0;
  for (size_t r = 0; r < 2; r++)
    for (int b = 1; b >= 0; b--) {
      int x = msgs_line(b == 1, rates[r], runs);
      if (x < 0) return -1;
      if (x) rc = 1;
    }
  printf("datagrams: every group-protocol send (data, acks, stability, keep-alives); gdeliver\n"
         "counts every member's delivery, the sender's own included. The guide's protocol\n"
         "(batch=off) predicts 3(N-1) = %u per gsend, 3(N-1)/N = %.2f per delivery; acks\n"
         "and stability are batched per sender per 5 ms tick, so batching only saves when a\n"
         "sender multicasts more than one message per tick.\n",
         3 * (MSGS_N - 1), 3.0 * (MSGS_N - 1) / MSGS_N);
  return rc;
}

/* ---- memory per member ------------------------------------------------------------------ */

/* The allocator peak of the fd-only cluster of n nodes at t; 0 on failure. */
static uint64_t memory_fd_only(uint32_t n, int64_t t) {
  char text[512];
  snprintf(text, sizeof text, "nodes %u\nduration 300s\n" NET FD, n);
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, 4000, NULL, &sc, &sim)) return 0;
  uint64_t peak = 0;
  if (!cohort_sim_run_until(sim, t)) peak = cohort_sim_results(sim)->memory_bytes_peak;
  free_sim(sim, sc);
  return peak;
}

static int bench_memory(uint32_t n) {
  char text[512];
  snprintf(text, sizeof text,
           "nodes %u\nduration 300s\n" NET FD
           "protocol group expected=%u rate=2 join-retry=100ms\n",
           n, n);
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, 4000, NULL, &sc, &sim)) return -1;
  int64_t t = run_until_formed(sim, n, n, 60 * SEC);
  uint64_t with = 0;
  if (t >= 0 && !cohort_sim_run_until(sim, t + 2 * SEC)) /* as the crash runs */
    with = cohort_sim_results(sim)->memory_bytes_peak;
  t = cohort_sim_now(sim);
  free_sim(sim, sc);
  uint64_t without = with ? memory_fd_only(n, t) : 0;
  if (!with || !without) {
    printf("\nmemory: the group of %u did not form\n", n);
    return 1;
  }
  printf("\nmemory (N = %u, the simulator allocator's peak %.1f s into the run, 2 s after the\n"
         "group formed): fd + group %.1f MiB, fd alone %.1f MiB;\n"
         "group per member %.2f MiB ((with - without) / N), everything per node %.2f MiB\n",
         n, (double)t / 1e9, (double)with / 1048576.0, (double)without / 1048576.0,
         (double)(with > without ? with - without : 0) / n / 1048576.0,
         (double)with / n / 1048576.0);
  return 0;
}

/* ---- plot ----------------------------------------------------------------------------- */

static int write_svg(const char *path, const crash_row_t *member, const crash_row_t *coord,
                     size_t nsizes) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return -1;
  }
  double ymax = 100;
  for (size_t i = 0; i < nsizes; i++) {
    if (member[i].total[2] > ymax) ymax = member[i].total[2];
    if (coord[i].total[2] > ymax) ymax = coord[i].total[2];
  }
  ymax *= 1.1;
  double nmax = sizes[nsizes - 1];
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='760' height='420' "
             "font-family='sans-serif' font-size='12'>\n<rect width='760' height='420' "
             "fill='white'/>\n<text x='70' y='14'>crash -> new view installed by all, ms "
             "(solid median total, dashed detection) vs N</text>\n"
             "<line x1='70' y1='370' x2='630' y2='370' stroke='black'/>"
             "<line x1='70' y1='40' x2='70' y2='370' stroke='black'/>\n");
  for (size_t i = 0; i < nsizes; i++)
    fprintf(f, "<text x='%.1f' y='386'>%u</text>\n", 66 + (sizes[i] - 3) / (nmax - 3) * 560,
            sizes[i]);
  for (int k = 0; k <= 4; k++)
    fprintf(f, "<text x='20' y='%.1f'>%.0f</text>\n", 374 - k / 4.0 * 330, ymax * k / 4);
  static const char *const colors[] = {"#1f77b4", "#d62728"};
  static const char *const names[] = {"member crash", "coordinator crash"};
  for (int c = 0; c < 2; c++) {
    const crash_row_t *rows = c ? coord : member;
    for (int dashed = 0; dashed < 2; dashed++) {
      fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2'%s points='", colors[c],
              dashed ? " stroke-dasharray='6,4'" : "");
      for (size_t i = 0; i < nsizes; i++) {
        double v = dashed ? rows[i].detect : rows[i].total[1];
        fprintf(f, "%.1f,%.1f ", 70 + (sizes[i] - 3) / (nmax - 3) * 560, 370 - v / ymax * 330);
      }
      fprintf(f, "'/>\n");
    }
    fprintf(f, "<text x='640' y='%d' fill='%s'>%s</text>\n", 60 + 18 * c, colors[c], names[c]);
  }
  fprintf(f, "</svg>\n");
  return fclose(f) ? -1 : 0;
}

/* ---- the command ----------------------------------------------------------------------- */

#define USAGE "usage: cohort bench group [--runs K] [--quick] [-o PLOT.svg]\n"

typedef struct options {
  const char *out;
  uint32_t runs;
  bool quick;
} options_t;

/* 0, or the exit status (2 after a message on stderr; 0 after --help). */
static int parse_options(int argc, char **argv, options_t *o, bool *stop) {
  bool runs_set = false;
  *stop = true;
  *o = (options_t){.out = "bench-group.svg", .runs = 5};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(USAGE "  view-change time (detection, agreement) and messages per view change\n"
                  "  for N = 3, 5, 16, 64, 128 (--quick: 3, 5, 16; 2 seeds), join with a\n"
                  "  1 MiB state, datagrams per delivery batched vs not, memory per member,\n"
                  "  beside Corosync's documented default failover;\n"
                  "  --runs K: seeds per figure (default 5); -o: SVG plot (default\n"
                  "  bench-group.svg)\n",
            stdout);
      return 0;
    }
    if (!strcmp(a, "--quick")) {
      o->quick = true;
    } else if (!strcmp(a, "-o") && i + 1 < argc) {
      o->out = argv[++i];
    } else if (!strcmp(a, "--runs") && i + 1 < argc) {
      char *end;
      const char *v = argv[++i];
      unsigned long k = strtoul(v, &end, 10);
      if (*v < '0' || *v > '9' || *end || k == 0 || k > RUNS_MAX) {
        fprintf(stderr, "cohort bench group: --runs wants 1..%d, not '%s'\n" USAGE, RUNS_MAX, v);
        return 2;
      }
      o->runs = (uint32_t)k;
      runs_set = true;
    } else {
      fprintf(stderr, "cohort bench group: bad argument '%s'\n" USAGE, a);
      return 2;
    }
  }
  if (o->quick && !runs_set) o->runs = 2;
  *stop = false;
  return 0;
}

int cohort_bench_group(int argc, char **argv) {
  options_t o;
  bool stop;
  int rc = parse_options(argc, argv, &o, &stop);
  if (stop) return rc;
  size_t nsizes = o.quick ? SIZES_QUICK : SIZES;
  crash_row_t member[SIZES] = {0}, coord[SIZES] = {0};
  tool_progress_t prog; /* "k of n" and an ETA on stderr, on a TTY only */
  tool_progress_start(&prog, "cohort bench group", 2 * nsizes + 3);
  print_crash_header(o.runs);
  for (int c = 0; c < 2; c++)
    for (size_t i = 0; i < nsizes; i++) {
      char what[64];
      snprintf(what, sizeof what, "%s crash N=%u", c ? "coordinator" : "member", sizes[i]);
      tool_progress_step(&prog, what);
      crash_row_t *row = c ? &coord[i] : &member[i];
      if (crash_row(sizes[i], c == 1, o.runs, row)) return 1;
      print_crash_row(c ? "coord" : "member", row);
      if (row->failed) rc = 1;
    }
  print_kinds("member", &member[nsizes - 1]);
  print_kinds("coordinator", &coord[nsizes - 1]);
  print_crash_footer();
  tool_progress_step(&prog, "join with 1 MiB state");
  int x = bench_join(o.runs);
  tool_progress_step(&prog, "messages per delivery");
  int y = bench_msgs(o.runs);
  tool_progress_step(&prog, "memory");
  int z = bench_memory(sizes[nsizes - 1]);
  tool_progress_done(&prog);
  if (x < 0 || y < 0 || z < 0) return 1;
  if (x || y || z) rc = 1;
  if (write_svg(o.out, member, coord, nsizes)) return 1;
  printf("\nplot: %s\n", o.out);
  return rc;
}
