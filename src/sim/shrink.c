/*
 * src/sim/shrink.c — shrinking a failing seed's fault schedule
 * (cohort_sim_shrink, cohort/sim.h; docs/simulator.md "Shrinking").
 *
 * 1. Run the seed once with its checks: the first failing check is the
 *    one every smaller schedule must still fail.
 * 2. Materialise: run it again recording every random fault as the
 *    scripted fault it amounts to (sim_record_faults), and write a
 *    scenario with those `at` lines in place of `faults random`. It must
 *    still fail the same check (it nearly always does: the random fault
 *    process has its own PRNG stream, so the network draws are the same).
 * 3. Reduce greedily, keeping an edit only if the scenario still parses
 *    and still fails that check: drop a fault (a crash with its restart),
 *    shorten it (heal a partition earlier, restart a node sooner, halve a
 *    step or a slew), move a crash or a partition later, then fewer nodes
 *    and a shorter duration. Repeat until a pass changes nothing or the
 *    run budget (COHORT_SIM_SHRINK_RUNS_MAX) is spent.
 *
 * Every fault kind is known here in exactly two places, fault_format (how
 * it is written as a scenario line) and fault_edit (the edits it admits):
 * a new kind needs a case in each, nothing else.
 *
 * Invariants: the input text is never modified; every candidate is a
 * complete scenario text that went through the ordinary parser, so the
 * result is a file the user can read, edit and replay as it is.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define TEXT_MAX (COHORT_SIM_SCENARIO_BYTES_MAX)
#define MOVE_MIN_NS COHORT_NS_PER_MS /* edits that move a fault by less are not tried */

typedef struct shrink {
  const cohort_scenario_options_t *opts;
  const cohort_allocator_t *alloc;
  const char *name;
  cohort_sim_config_t cfg;
  char *header; /* the input without nodes, duration, at and faults lines */
  uint32_t nodes;
  int64_t duration_ns;
  sim_fault_log_t cur;
  char check[256]; /* the failing check's text */
  unsigned runs;
  char *text; /* scratch: TEXT_MAX + 1 */
  char *err;
  size_t errcap;
} shrink_t;

/* ---- fault lists ------------------------------------------------------------------ */

int sim_fault_log_push(sim_fault_log_t *log, const sim_fault_t *f) {
  if (log->len == log->cap) {
    size_t cap = log->cap ? 2 * log->cap : 16;
    sim_fault_t *v = cohort_realloc(log->alloc, log->v, cap * sizeof *v);
    if (!v) return COHORT_ENOMEM;
    log->v = v;
    log->cap = cap;
  }
  log->v[log->len++] = *f;
  return 0;
}

void sim_fault_log_free(sim_fault_log_t *log) {
  for (size_t i = 0; i < log->len; i++) cohort_free(log->alloc, log->v[i].side);
  cohort_free(log->alloc, log->v);
  log->v = NULL;
  log->len = log->cap = 0;
}

/* A deep copy of `in` (side arrays of n + 1 entries). */
static int log_copy(sim_fault_log_t *out, const sim_fault_log_t *in, uint32_t n) {
  *out = (sim_fault_log_t){.alloc = in->alloc};
  for (size_t i = 0; i < in->len; i++) {
    sim_fault_t f = in->v[i];
    if (f.side) {
      f.side = cohort_calloc(in->alloc, (size_t)n + 1, sizeof *f.side);
      if (!f.side) break;
      memcpy(f.side, in->v[i].side, ((size_t)n + 1) * sizeof *f.side);
    }
    if (sim_fault_log_push(out, &f)) {
      cohort_free(in->alloc, f.side);
      break;
    }
  }
  if (out->len == in->len) return 0;
  sim_fault_log_free(out);
  return COHORT_ENOMEM;
}

static void log_remove(sim_fault_log_t *log, size_t i) {
  cohort_free(log->alloc, log->v[i].side);
  memmove(&log->v[i], &log->v[i + 1], (log->len - i - 1) * sizeof *log->v);
  log->len--;
}

static int fault_cmp(const void *a, const void *b) {
  const sim_fault_t *x = a, *y = b;
  if (x->at_ns != y->at_ns) return x->at_ns < y->at_ns ? -1 : 1;
  return (x->line > y->line) - (x->line < y->line);
}

/* ---- writing a scenario ------------------------------------------------------------- */

/* A span in the largest unit that writes it exactly ("1500ms", "3s"). */
static void span_format(int64_t ns, char *buf, size_t cap) {
  static const struct {
    const char *unit;
    int64_t ns;
  } units[] = {{"s", COHORT_NS_PER_S}, {"ms", COHORT_NS_PER_MS}, {"us", 1000}, {"ns", 1}};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(units); i++)
    if (ns % units[i].ns == 0) {
      snprintf(buf, cap, "%" PRId64 "%s", ns / units[i].ns, units[i].unit);
      return;
    }
}

/* "1,2,5": the nodes whose side entry equals value. */
static size_t node_list(const uint16_t *side, uint32_t n, uint16_t value, char *buf, size_t cap) {
  size_t pos = 0;
  buf[0] = '\0';
  for (uint32_t i = 1; i <= n && pos + 12 < cap; i++)
    if (side[i] == value) pos += (size_t)snprintf(buf + pos, cap - pos, pos ? ",%u" : "%u", i);
  return pos;
}

static int partition_format(const sim_fault_t *f, uint32_t n, char *buf, size_t cap) {
  size_t pos = 0;
  uint16_t groups = 0;
  for (uint32_t i = 1; i <= n; i++)
    if (f->side[i] > groups) groups = f->side[i];
  for (uint16_t g = 1; g <= groups && pos + 16 < cap; g++) {
    char list[4096];
    if (!node_list(f->side, n, g, list, sizeof list)) continue;
    bool oneway = f->kind == SIM_FAULT_BLOCK;
    pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", pos ? (oneway ? " -> " : " | ") : "",
                            list);
  }
  return pos + 1 < cap ? 0 : -1;
}

/* A distribution as the scenario writes it ("uniform(1ms,5ms)"). */
static void dist_format(const sim_dist_t *d, char *buf, size_t cap) {
  char a[32], b[32];
  span_format(d->a, a, sizeof a);
  span_format(d->b, b, sizeof b);
  switch (d->kind) {
  case SIM_DIST_CONST: snprintf(buf, cap, "%s", a); return;
  case SIM_DIST_UNIFORM: snprintf(buf, cap, "uniform(%s,%s)", a, b); return;
  case SIM_DIST_EXP: snprintf(buf, cap, "exp(%s)", a); return;
  case SIM_DIST_NORMAL: snprintf(buf, cap, "normal(%s,%s)", a, b); return;
  case SIM_DIST_LOGNORMAL: snprintf(buf, cap, "lognormal(%s,%.17g)", a, d->x); return;
  case SIM_DIST_PARETO: snprintf(buf, cap, "pareto(%s,%.17g,%s)", a, d->x, b); return;
  }
  snprintf(buf, cap, "%s", a);
}

/* The timing failures' " delay=DIST [for=D]" (or " for=D" alone). */
static void timed_format(const sim_fault_t *f, bool delay, char *buf, size_t cap) {
  char d[160] = "", span[32];
  size_t pos = 0;
  buf[0] = '\0';
  if (delay) {
    dist_format(&f->delay, d, sizeof d);
    pos = (size_t)snprintf(buf, cap, " delay=%s", d);
  }
  if (f->for_ns > 0 && pos < cap) {
    span_format(f->for_ns, span, sizeof span);
    snprintf(buf + pos, cap - pos, " for=%s", span);
  }
}

/* The fault kinds of the failure models (omit, slow, slow-link, stuck). */
static int fault_format_model(const sim_fault_t *f, uint32_t n, const char *at, char *buf,
                              size_t cap) {
  char tail[256], from[2048], to[2048];
  switch (f->kind) {
  case SIM_FAULT_OMIT:
    timed_format(f, false, tail, sizeof tail);
    snprintf(buf, cap, "at %s omit %u send=%.17g recv=%.17g%s", at, f->node, f->omit_send,
             f->omit_recv, tail);
    return 0;
  case SIM_FAULT_SLOW:
    timed_format(f, true, tail, sizeof tail);
    snprintf(buf, cap, "at %s slow %u%s", at, f->node, tail);
    return 0;
  case SIM_FAULT_SLOW_LINK:
    if (!node_list(f->side, n, 1, from, sizeof from) || !node_list(f->side, n, 2, to, sizeof to))
      return -1;
    timed_format(f, true, tail, sizeof tail);
    snprintf(buf, cap, "at %s slow-link %s%s%s%s", at, from, f->both ? "<->" : "->", to, tail);
    return 0;
  case SIM_FAULT_STUCK:
    timed_format(f, false, tail, sizeof tail);
    snprintf(buf, cap, "at %s stuck %u bit=%u value=%u%s", at, f->node, f->bit, f->bit_value,
             tail);
    return 0;
  default: return -1;
  }
}

/* One fault as its scenario line (without the newline); -1 if it cannot
 * be written (a kind this function does not know yet: add its case). */
static int fault_format(const sim_fault_t *f, uint32_t n, char *buf, size_t cap) {
  char at[32], amount[40], spec[8192];
  span_format(f->at_ns, at, sizeof at);
  switch (f->kind) {
  case SIM_FAULT_CRASH:
    snprintf(buf, cap, "at %s crash %u%s", at, f->node, f->notify ? " notify" : "");
    return 0;
  case SIM_FAULT_RESTART:
    snprintf(buf, cap, "at %s restart %u%s", at, f->node, f->stable ? " stable" : "");
    return 0;
  case SIM_FAULT_HEAL: snprintf(buf, cap, "at %s heal", at); return 0;
  case SIM_FAULT_PARTITION:
  case SIM_FAULT_BLOCK:
    if (partition_format(f, n, spec, sizeof spec)) return -1;
    snprintf(buf, cap, "at %s partition %s", at, spec);
    return 0;
  case SIM_FAULT_STEP:
    span_format(f->amount_ns < 0 ? -f->amount_ns : f->amount_ns, amount, sizeof amount);
    snprintf(buf, cap, "at %s step %u %s%s", at, f->node, f->amount_ns < 0 ? "-" : "+", amount);
    return 0;
  case SIM_FAULT_SLEW:
    span_format(f->for_ns, amount, sizeof amount);
    snprintf(buf, cap, "at %s slew %u rate=%.3fppm for=%s", at, f->node,
             (double)f->rate_ppb / 1000.0, amount);
    return 0;
  case SIM_FAULT_JOIN: snprintf(buf, cap, "at %s join %u", at, f->node); return 0;
  case SIM_FAULT_LEAVE: snprintf(buf, cap, "at %s leave %u", at, f->node); return 0;
  case SIM_FAULT_CTL:
    snprintf(buf, cap, "at %s ctl %u %s %s", at, f->node, f->proto, f->cmd);
    return 0;
  case SIM_FAULT_OMIT:
  case SIM_FAULT_SLOW:
  case SIM_FAULT_SLOW_LINK:
  case SIM_FAULT_STUCK: return fault_format_model(f, n, at, buf, cap);
  }
  return -1;
}

/* The input's lines that a schedule does not replace. */
static char *strip_header(const cohort_allocator_t *a, const char *text, size_t len) {
  char *out = cohort_alloc(a, len + 1), *w = out;
  if (!out) return NULL;
  for (size_t off = 0; off < len;) {
    size_t n = 0;
    while (off + n < len && text[off + n] != '\n') n++;
    const char *l = text + off;
    size_t skip = strspn(l, " \t");
    static const char *const drop[] = {"nodes", "duration", "at", "faults"};
    bool keep = true;
    for (size_t i = 0; i < COHORT_ARRAY_LEN(drop); i++) {
      size_t dl = strlen(drop[i]);
      if (n >= skip + dl + 1 && !strncmp(l + skip, drop[i], dl) &&
          (l[skip + dl] == ' ' || l[skip + dl] == '\t'))
        keep = false;
    }
    if (keep) {
      memcpy(w, l, n);
      w += n;
      *w++ = '\n';
    }
    off += n + 1;
  }
  *w = '\0';
  return out;
}

/* The scenario text of (nodes, duration, faults) into sh->text; -1 if it
 * does not fit or a fault cannot be written. */
static int build_text(shrink_t *sh, uint32_t nodes, int64_t duration,
                      const sim_fault_log_t *faults, const char *banner) {
  char d[32], line[9000];
  span_format(duration, d, sizeof d);
  int pos = snprintf(sh->text, TEXT_MAX, "%snodes %u\nduration %s\n%s\n", banner, nodes, d,
                     sh->header);
  for (size_t i = 0; i < faults->len && pos > 0 && pos < (int)TEXT_MAX; i++) {
    if (fault_format(&faults->v[i], nodes, line, sizeof line)) return -1;
    pos += snprintf(sh->text + pos, TEXT_MAX - (size_t)pos, "%s\n", line);
  }
  return pos > 0 && pos < (int)TEXT_MAX ? pos : -1;
}

/* ---- running a candidate --------------------------------------------------------------- */

/* Parse `text`, run the seed with checks; *fails says whether check
 * `want` (or, if want is empty, any check) failed, whose text goes to
 * found. log: record random faults into it. Returns 0 or an error. */
static int run_text(shrink_t *sh, const char *text, size_t len, const char *want, bool *fails,
                    char *found, size_t found_cap, sim_fault_log_t *log) {
  cohort_scenario_t *sc = NULL;
  char e[512];
  *fails = false;
  int rc = cohort_scenario_parse(text, len, sh->name, sh->opts, &sc, e, sizeof e);
  if (rc) return rc;
  cohort_sim_config_t cfg = sh->cfg;
  cfg.run_checks = true;
  cfg.trace_path = NULL;
  cfg.trace_fn = NULL;
  cohort_sim_t *sim = NULL;
  rc = cohort_sim_new(sc, &cfg, &sim, e, sizeof e);
  if (!rc) {
    if (log) sim_record_faults(sim, log);
    rc = cohort_sim_run(sim);
    sh->runs++;
  }
  const cohort_sim_results_t *r = rc ? NULL : cohort_sim_results(sim);
  for (size_t i = 0; r && i < r->checks_len && !*fails; i++) {
    const cohort_sim_check_outcome_t *c = &r->checks[i];
    bool bad = c->rc || c->result.violations;
    if (!bad || (want[0] && strcmp(want, c->text))) continue;
    *fails = true;
    if (found) snprintf(found, found_cap, "%s", c->text);
  }
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  return rc;
}

/* Does (nodes, duration, faults) still fail the check? */
static bool still_fails(shrink_t *sh, uint32_t nodes, int64_t duration,
                        const sim_fault_log_t *faults) {
  if (sh->runs >= COHORT_SIM_SHRINK_RUNS_MAX) return false;
  int len = build_text(sh, nodes, duration, faults, "");
  bool fails = false;
  if (len > 0) (void)run_text(sh, sh->text, (size_t)len, sh->check, &fails, NULL, 0, NULL);
  return fails;
}

/* ---- the edits ---------------------------------------------------------------------------- */

/* The first fault after i of `kind` on node (any node if 0), or SIZE_MAX. */
static size_t next_of(const sim_fault_log_t *l, size_t i, sim_fault_kind_t kind,
                      cohort_node_id_t node) {
  for (size_t j = i + 1; j < l->len; j++)
    if (l->v[j].kind == kind && (!node || l->v[j].node == node)) return j;
  return SIZE_MAX;
}

/* The last partition or one-way partition before i, or SIZE_MAX. */
static size_t prev_cut(const sim_fault_log_t *l, size_t i) {
  for (size_t j = i; j-- > 0;)
    if (l->v[j].kind == SIM_FAULT_PARTITION || l->v[j].kind == SIM_FAULT_BLOCK) return j;
  return SIZE_MAX;
}

/* Move fault i to `to` if that moves it at least MOVE_MIN_NS. */
static bool move_to(sim_fault_log_t *l, size_t i, int64_t to) {
  int64_t by = to - l->v[i].at_ns;
  if (by < MOVE_MIN_NS && by > -MOVE_MIN_NS) return false;
  l->v[i].at_ns = to;
  return true;
}

/* Edit k of fault i, applied to `l` (a copy the caller owns). Returns
 * false when fault i has no edit k. Edit 0 of every kind is "drop it" (a
 * crash with its restart); edit 1 shortens the fault or moves it later,
 * by half of what is left, so accepted edits converge; edit 2 rounds its
 * time to the millisecond, for a schedule people can read. */
static bool fault_edit(const shrink_t *sh, sim_fault_log_t *l, size_t i, unsigned k) {
  sim_fault_t *f = &l->v[i];
  size_t j;
  if (k == 0) {
    j = f->kind == SIM_FAULT_CRASH ? next_of(l, i, SIM_FAULT_RESTART, f->node) : SIZE_MAX;
    if (j != SIZE_MAX) log_remove(l, j);
    log_remove(l, i);
    return true;
  }
  if (k == 2) { /* readable: the nearest millisecond */
    int64_t ms = (f->at_ns + COHORT_NS_PER_MS / 2) / COHORT_NS_PER_MS * COHORT_NS_PER_MS;
    if (ms == f->at_ns) return false;
    f->at_ns = ms;
    return true;
  }
  if (k != 1) return false;
  switch (f->kind) {
  case SIM_FAULT_CRASH: /* later: halfway to its restart or the end */
    j = next_of(l, i, SIM_FAULT_RESTART, f->node);
    return move_to(l, i, f->at_ns + ((j == SIZE_MAX ? sh->duration_ns : l->v[j].at_ns) -
                                     f->at_ns) / 2);
  case SIM_FAULT_RESTART: /* sooner: halfway back to its crash */
    for (j = i; j-- > 0;)
      if (l->v[j].kind == SIM_FAULT_CRASH && l->v[j].node == f->node) break;
    return j != SIZE_MAX && move_to(l, i, f->at_ns - (f->at_ns - l->v[j].at_ns) / 2);
  case SIM_FAULT_HEAL: /* a shorter partition: halfway back to it */
    j = prev_cut(l, i);
    return j != SIZE_MAX && move_to(l, i, f->at_ns - (f->at_ns - l->v[j].at_ns) / 2);
  case SIM_FAULT_PARTITION:
  case SIM_FAULT_BLOCK: /* later, towards its heal: shorter too */
    j = next_of(l, i, SIM_FAULT_HEAL, 0);
    return move_to(l, i, f->at_ns + ((j == SIZE_MAX ? sh->duration_ns : l->v[j].at_ns) -
                                     f->at_ns) / 2);
  case SIM_FAULT_STEP:
    if (f->amount_ns / 2 == f->amount_ns) return false;
    f->amount_ns /= 2;
    return true;
  case SIM_FAULT_SLEW:
    if (f->for_ns < 2 * MOVE_MIN_NS) return false;
    f->for_ns /= 2;
    return true;
  case SIM_FAULT_JOIN: /* sooner: halfway back to the start (nothing of it is before) */
    return move_to(l, i, f->at_ns / 2);
  case SIM_FAULT_LEAVE: /* an operator's command: dropped or kept, not bent */
  case SIM_FAULT_CTL: return false;
  case SIM_FAULT_OMIT: /* a failure model's interval: shorter (halved), or dropped */
  case SIM_FAULT_SLOW:
  case SIM_FAULT_SLOW_LINK:
  case SIM_FAULT_STUCK:
    if (f->for_ns < 2 * MOVE_MIN_NS) return false;
    f->for_ns /= 2;
    return true;
  }
  return false;
}

/* One pass over the faults, last first; true if any edit was kept. */
static bool pass_faults(shrink_t *sh) {
  bool changed = false;
  for (size_t i = sh->cur.len; i-- > 0;) {
    for (unsigned k = 0; i < sh->cur.len;) {
      sim_fault_log_t cand;
      if (log_copy(&cand, &sh->cur, sh->nodes)) return changed;
      bool have = fault_edit(sh, &cand, i, k);
      if (have) qsort(cand.v, cand.len, sizeof *cand.v, fault_cmp);
      if (have && still_fails(sh, sh->nodes, sh->duration_ns, &cand)) {
        sim_fault_log_free(&sh->cur);
        sh->cur = cand;
        changed = true;
        if (k == 0) break; /* fault i is gone */
        if (k == 2) break; /* rounded: nothing more to round */
        continue;          /* the same edit again, from where it got to */
      }
      sim_fault_log_free(&cand);
      if (++k > 2) break;
    }
  }
  return changed;
}

/* Fewer nodes (the last one, when no fault needs it), a shorter run. */
static bool pass_global(shrink_t *sh) {
  bool changed = false;
  while (sh->nodes > 1) {
    uint32_t n = sh->nodes;
    bool named = false;
    for (size_t i = 0; i < sh->cur.len; i++) named |= !sh->cur.v[i].side && sh->cur.v[i].node == n;
    if (named || !still_fails(sh, n - 1, sh->duration_ns, &sh->cur)) break;
    sh->nodes = n - 1; /* side arrays keep their n + 1 entries: harmless */
    changed = true;
  }
  for (;;) {
    int64_t last = sh->cur.len ? sh->cur.v[sh->cur.len - 1].at_ns : 0;
    int64_t d = last + (sh->duration_ns - last) / 2;
    if (sh->duration_ns - d < MOVE_MIN_NS || d <= 0) break;
    if (!still_fails(sh, sh->nodes, d, &sh->cur)) break;
    sh->duration_ns = d;
    changed = true;
  }
  /* Readable: the duration up to the next millisecond, if that still fails. */
  int64_t up = (sh->duration_ns + COHORT_NS_PER_MS - 1) / COHORT_NS_PER_MS * COHORT_NS_PER_MS;
  if (up != sh->duration_ns && up <= COHORT_SIM_TIME_MAX_NS &&
      still_fails(sh, sh->nodes, up, &sh->cur)) {
    sh->duration_ns = up;
    changed = true;
  }
  return changed;
}

/* ---- the whole shrink ----------------------------------------------------------------------- */

static int fail(shrink_t *sh, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(shrink_t *sh, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (sh->err && sh->errcap) vsnprintf(sh->err, sh->errcap, fmt, ap);
  va_end(ap);
  return rc;
}

/* Steps 1 and 2: find the failing check, and the schedule the seed ran
 * (scripted faults plus the random ones as they happened). */
static int materialise(shrink_t *sh, const char *text, size_t len) {
  bool fails = false;
  char e[512];
  cohort_scenario_t *sc = NULL;
  int rc = cohort_scenario_parse(text, len, sh->name, sh->opts, &sc, e, sizeof e);
  if (rc) return fail(sh, rc, "%s", e);
  sh->nodes = sc->nodes;
  sh->duration_ns = sc->duration_ns;
  for (size_t i = 0; i < sc->faults_len && !rc; i++) {
    sim_fault_t f = sc->faults[i];
    f.side = NULL;
    rc = sim_fault_log_push(&sh->cur, &f);
    if (!rc && sc->faults[i].side) {
      sim_fault_t *g = &sh->cur.v[sh->cur.len - 1];
      g->side = cohort_calloc(sh->alloc, (size_t)sc->nodes + 1, sizeof *g->side);
      if (!g->side) rc = COHORT_ENOMEM;
      else memcpy(g->side, sc->faults[i].side, ((size_t)sc->nodes + 1) * sizeof *g->side);
    }
  }
  cohort_scenario_free(sc);
  if (rc) return fail(sh, rc, "out of memory");
  rc = run_text(sh, text, len, "", &fails, sh->check, sizeof sh->check, &sh->cur);
  if (rc) return fail(sh, rc, "seed %" PRIu64 ": the run failed: %s", sh->cfg.seed,
                      cohort_strerror(rc));
  if (!fails) return fail(sh, COHORT_ENOTFOUND, "seed %" PRIu64 " passes every check: "
                          "nothing to shrink", sh->cfg.seed);
  if (sh->cur.failed) return fail(sh, COHORT_ENOMEM, "out of memory recording faults");
  for (size_t i = 0; i < sh->cur.len; i++) sh->cur.v[i].line = (uint32_t)i; /* stable ties */
  qsort(sh->cur.v, sh->cur.len, sizeof *sh->cur.v, fault_cmp);
  if (!still_fails(sh, sh->nodes, sh->duration_ns, &sh->cur))
    return fail(sh, COHORT_ESTATE, "seed %" PRIu64 ": with its random faults written out as "
                "`at` lines the run no longer fails '%s' (a scripted heal also heals random "
                "cuts, and ties may order differently); shrink the scenario by hand",
                sh->cfg.seed, sh->check);
  return 0;
}

int cohort_sim_shrink(const char *text, size_t len, const char *name,
                      const cohort_scenario_options_t *opts, const cohort_sim_config_t *cfg,
                      char **out, cohort_shrink_stats_t *stats, char *err, size_t errcap) {
  if (!text || !cfg || !out) return COHORT_EINVAL;
  const cohort_allocator_t *a = opts && opts->alloc ? opts->alloc : cohort_allocator_default();
  shrink_t sh = {.opts = opts, .alloc = a, .name = name ? name : "scenario", .cfg = *cfg,
                 .cur = {.alloc = a}, .err = err, .errcap = errcap};
  sh.header = strip_header(a, text, len);
  sh.text = cohort_alloc(a, TEXT_MAX + 1);
  int rc = sh.header && sh.text ? materialise(&sh, text, len) : COHORT_ENOMEM;
  cohort_shrink_stats_t st = {.faults_before = sh.cur.len, .nodes_before = sh.nodes,
                              .duration_before_ns = sh.duration_ns};
  while (!rc && sh.runs < COHORT_SIM_SHRINK_RUNS_MAX) {
    bool a1 = pass_faults(&sh), a2 = pass_global(&sh);
    if (!a1 && !a2) break;
  }
  char banner[640];
  snprintf(banner, sizeof banner,
           "# shrunk by `cohort sim %s --seed %" PRIu64 " --shrink`: %zu faults (from %zu), %u "
           "nodes, after %u runs;\n# still fails: check %s\n# replay: cohort sim FILE --seed %"
           PRIu64 "\n", sh.name, cfg->seed, sh.cur.len, st.faults_before, sh.nodes, sh.runs,
           sh.check, cfg->seed);
  int n = rc ? 0 : build_text(&sh, sh.nodes, sh.duration_ns, &sh.cur, banner);
  if (!rc && n < 0) rc = fail(&sh, COHORT_EFULL, "the shrunk scenario does not fit");
  if (!rc) {
    st.faults_after = sh.cur.len;
    st.nodes_after = sh.nodes;
    st.duration_after_ns = sh.duration_ns;
    st.runs = sh.runs;
    snprintf(st.check, sizeof st.check, "%s", sh.check);
    char *copy = cohort_alloc(a, (size_t)n + 1);
    if (!copy) {
      rc = COHORT_ENOMEM;
    } else {
      memcpy(copy, sh.text, (size_t)n + 1);
      *out = copy;
      if (stats) *stats = st;
    }
  }
  sim_fault_log_free(&sh.cur);
  cohort_free(a, sh.header);
  cohort_free(a, sh.text);
  return rc;
}
