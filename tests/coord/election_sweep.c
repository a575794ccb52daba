/*
 * tests/coord/election_sweep.c — sweep an election scenario over seeds in
 * the simulator and run its election checkers, without the global
 * protocol and checker tables: the factories are passed as extra
 * factories and the `check election-*` lines are run here directly. (Once
 * the factories and checkers are registered, `cohort sim SCENARIO --seeds
 * A-B` does the same; this driver keeps `make check` independent of that.)
 *
 *   election_sweep SCENARIO A-B     exit 0: no violation; 1: violations
 *                                   (each failing seed printed with the
 *                                   command that replays it); 2: usage.
 *
 * Only state records (and the last record, for the end time) are kept in
 * memory: the election checkers read nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/check.h"
#include "cohort/election.h"
#include "cohort/sim.h"

#define CHECKS_MAX 8
#define PARAMS_MAX 8

typedef struct check_line {
  const cohort_checker_t *checker;
  char text[256];
  char buf[256]; /* tokenised copy the params point into */
  cohort_param_t params[PARAMS_MAX];
  size_t params_len;
} check_line_t;

typedef struct run_ctx {
  cohort_trace_t trace;
  char last[COHORT_TRACE_LINE_MAX];
  size_t last_len;
  uint64_t records;
  int bad;
} run_ctx_t;

/* Why elections started, over the whole sweep ("reason" of "election"). */
static const char *const reasons[] = {"start", "suspect", "silence", "election", "timeout",
                                      "lower leader", "old epoch", "no leader", "request"};
static uint64_t reason_count[sizeof reasons / sizeof reasons[0]];

static const cohort_checker_t *election_checker(const char *name) {
  const cohort_checker_t *all[] = {&cohort_check_election_unique,
                                   &cohort_check_election_agreement,
                                   &cohort_check_election_highest};
  for (size_t i = 0; i < 3; i++)
    if (!strcmp(all[i]->name, name)) return all[i];
  return NULL;
}

/* Split "election-agreement settle=10s" into a checker and parameters. */
static int parse_check(const char *rest, check_line_t *c) {
  snprintf(c->text, sizeof c->text, "%s", rest);
  snprintf(c->buf, sizeof c->buf, "%s", rest);
  char *save = NULL;
  char *name = strtok_r(c->buf, " \t", &save);
  if (!name || !(c->checker = election_checker(name))) return -1;
  for (char *kv; (kv = strtok_r(NULL, " \t", &save));) {
    char *eq = strchr(kv, '=');
    if (!eq || c->params_len == PARAMS_MAX) return -1;
    *eq = '\0';
    c->params[c->params_len++] = (cohort_param_t){kv, eq + 1};
  }
  return 0;
}

/* Read the scenario; blank out election check lines, collect them. */
static char *load(const char *path, check_line_t *checks, size_t *nchecks, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return perror(path), NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *text = malloc(n + 1);
  char *out = text;
  for (char *line = buf, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char *p = line + strspn(line, " \t");
    char name[64] = "";
    if (!strncmp(p, "check ", 6)) sscanf(p + 6, "%63s", name);
    if (election_checker(name)) {
      if (*nchecks == CHECKS_MAX || parse_check(p + 6, &checks[(*nchecks)++]))
        return fprintf(stderr, "%s: bad check line: %s\n", path, p), NULL;
      *out++ = '\n';
      continue;
    }
    out += sprintf(out, "%s\n", line);
  }
  *len = (size_t)(out - text);
  return text;
}

static void on_trace(void *ud, const char *line, size_t len) {
  run_ctx_t *r = ud;
  r->records++;
  if (len < sizeof r->last) memcpy(r->last, line, len), r->last_len = len;
  if (!memmem(line, len, "\"ev\":\"state\"", 12)) return;
  if (memmem(line, len, "\"what\":\"election\"", 17))
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
      char pat[64];
      int n = snprintf(pat, sizeof pat, "\"reason\":\"%s\"", reasons[i]);
      if (memmem(line, len, pat, (size_t)n)) reason_count[i]++;
    }
  char err[128];
  if (cohort_trace_parse_line(&r->trace, line, len, r->records, err, sizeof err)) r->bad++;
}

static int run_seed(const cohort_scenario_t *sc, const char *path, uint64_t seed,
                    check_line_t *checks, size_t nchecks, uint64_t *leaders) {
  run_ctx_t *r = calloc(1, sizeof *r);
  cohort_trace_init(&r->trace);
  cohort_sim_config_t cfg = {.seed = seed, .trace_fn = on_trace, .trace_ud = r};
  cohort_sim_t *sim;
  char err[256];
  if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) {
    fprintf(stderr, "seed %llu: %s\n", (unsigned long long)seed, err);
    return 2;
  }
  int rc = cohort_sim_run(sim);
  cohort_sim_free(sim);
  if (!rc && r->last_len)
    rc = cohort_trace_parse_line(&r->trace, r->last, r->last_len, r->records, err, sizeof err);
  if (rc || r->bad) {
    fprintf(stderr, "seed %llu: run or trace failed (%d)\n", (unsigned long long)seed, rc);
    return 2;
  }
  cohort_trace_sort(&r->trace);
  for (size_t i = 0; i < r->trace.len; i++)
    if (r->trace.recs[i].what && !strcmp(r->trace.recs[i].what, "leader")) (*leaders)++;
  int verdict = 0;
  for (size_t i = 0; i < nchecks; i++) {
    cohort_check_result_t res;
    if (checks[i].checker->run(&r->trace, checks[i].params, checks[i].params_len, &res, err,
                               sizeof err)) {
      fprintf(stderr, "%s: %s\n", checks[i].text, err);
      verdict = 2;
    } else if (res.violations || strstr(res.summary, "not checked")) {
      printf("seed %llu: %s: %s%s\n  replay: cohort sim %s --seed %llu -o trace.jsonl\n",
             (unsigned long long)seed, checks[i].text, res.violations ? res.first : "",
             res.violations ? "" : res.summary, path, (unsigned long long)seed);
      if (!verdict) verdict = 1;
    }
  }
  cohort_trace_close(&r->trace);
  free(r);
  return verdict;
}

int main(int argc, char **argv) {
  unsigned long long a, b;
  if (argc != 3 || sscanf(argv[2], "%llu-%llu", &a, &b) != 2 || a > b) {
    fprintf(stderr, "usage: election_sweep SCENARIO A-B\n");
    return 2;
  }
  check_line_t checks[CHECKS_MAX];
  size_t nchecks = 0, len = 0;
  memset(checks, 0, sizeof checks);
  char *text = load(argv[1], checks, &nchecks, &len);
  if (!text) return 2;
  if (!nchecks) return fprintf(stderr, "%s: no election check lines\n", argv[1]), 2;
  static const cohort_proto_factory_t *const extra[] = {&cohort_bully_factory,
                                                        &cohort_ring_election_factory};
  cohort_scenario_options_t opts = {.extra_factories = extra, .extra_factories_len = 2};
  cohort_scenario_t *sc;
  char err[512];
  if (cohort_scenario_parse(text, len, argv[1], &opts, &sc, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  uint64_t failed = 0, leaders = 0;
  int worst = 0;
  for (unsigned long long s = a; s <= b; s++) {
    int v = run_seed(sc, argv[1], s, checks, nchecks, &leaders);
    if (v) failed++;
    if (v > worst) worst = v;
  }
  printf("%s: seeds %llu-%llu, %zu checks each, %llu leader adoptions, %llu failing seeds\n",
         argv[1], a, b, nchecks, (unsigned long long)leaders, (unsigned long long)failed);
  printf("elections started, by reason:");
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    if (reason_count[i]) printf(" %s=%llu", reasons[i], (unsigned long long)reason_count[i]);
  printf("\n");
  cohort_scenario_free(sc);
  free(text);
  return worst;
}
