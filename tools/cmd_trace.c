/*
 * tools/cmd_trace.c — `cohort trace`: check, draw, merge and export JSON
 * Lines traces (docs/trace-tools.md).
 *
 *   cohort trace check TRACE... [--checker NAME[,NAME]] [key=value ...]
 *   cohort trace diagram TRACE... -o run.html [--title TEXT] [--hide PROTO[,PROTO]]
 *                        [--at SECONDS] [--zoom K]
 *   cohort trace shiviz TRACE... [-o out.log]
 *   cohort trace merge TRACE... [-o merged.jsonl]
 *
 * Several traces (one per node process) are merged: loaded into one trace
 * and stably sorted by true time. Exit status: 0 success, 1 a checker
 * found violations, 2 bad usage, an unreadable or malformed trace, or an
 * output that could not be written.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cohort/check.h"
#include "cohort/trace_check.h"
#include "cohort/trace_tools.h"
#include "cohort/trace_util.h"

#define TRACE_ARGS_MAX 256

typedef struct trace_args {
  const char *files[TRACE_ARGS_MAX];
  size_t nfiles;
  cohort_param_t params[TRACE_ARGS_MAX];
  size_t nparams;
  const char *output, *title, *checkers, *hide, *at, *zoom;
} trace_args_t;

static const char usage_text[] =
    "usage: cohort trace <command> TRACE... [options]\n"
    "\n"
    "commands:\n"
    "  check    run checkers: [--checker NAME[,NAME]] [key=value | NAME.key=value ...]\n"
    "           (default: every checker whose events are in the trace)\n"
    "  diagram  space-time diagram as a self-contained HTML page: -o FILE [--title TEXT]\n"
    "           [--hide PROTO[,PROTO]] (start with these protocols hidden, e.g. fd)\n"
    "           [--at SECONDS] [--zoom K] (open K times zoomed in, SECONDS after the start)\n"
    "  shiviz   export ShiViz's log format: [-o FILE] (default: stdout)\n"
    "  merge    merge traces sorted by true time: [-o FILE] (default: stdout)\n"
    "\n"
    "Several TRACE files (one per node process) are merged before use.\n"
    "Exit status: 0 ok, 1 violations found, 2 bad usage or bad trace.\n";

static void print_checkers(FILE *f) {
  size_t n;
  const cohort_checker_t *const *cs = cohort_checkers(&n);
  fprintf(f, "\ncheckers:\n");
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", cs[i]->name, cs[i]->help);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "cohort trace: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'cohort trace --help')\n");
  return 2;
}

/* key=value or NAME.key=value: keys are [a-z0-9_]; checker names may
 * also hold '-' (mutex-safety.crashes=inferred). Anything else is a file. */
static bool is_param(const char *s) {
  const char *eq = strchr(s, '='), *dot = strchr(s, '.');
  if (!eq || eq == s) return false;
  if (dot && dot > eq) dot = NULL;
  for (const char *p = s; p < eq; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9') ||
              (*p == '.' && p == dot) || (*p == '-' && dot && p < dot && p > s);
    if (!ok) return false;
  }
  return true;
}

/* Options need a value: "-o FILE". Returns 0 or the exit status 2. */
static int parse_args(int argc, char **argv, trace_args_t *a) {
  memset(a, 0, sizeof *a);
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    const char **slot = NULL;
    if (!strcmp(s, "-o") || !strcmp(s, "--output")) slot = &a->output;
    else if (!strcmp(s, "--title")) slot = &a->title;
    else if (!strcmp(s, "--checker") || !strcmp(s, "--checkers")) slot = &a->checkers;
    else if (!strcmp(s, "--hide")) slot = &a->hide;
    else if (!strcmp(s, "--at")) slot = &a->at;
    else if (!strcmp(s, "--zoom")) slot = &a->zoom;
    if (slot) {
      if (i + 1 >= argc) return usage_error("option '%s' needs a value", s);
      *slot = argv[++i];
    } else if (s[0] == '-' && s[1]) {
      return usage_error("unknown option '%s'", s);
    } else if (is_param(s)) {
      if (a->nparams == TRACE_ARGS_MAX) return usage_error("too many parameters at '%s'", s);
      static char store[TRACE_ARGS_MAX][256];
      size_t k = a->nparams;
      if (strlen(s) >= sizeof store[k]) return usage_error("parameter too long: '%s'", s);
      strcpy(store[k], s);
      char *eq = strchr(store[k], '=');
      *eq = '\0';
      a->params[a->nparams++] = (cohort_param_t){store[k], eq + 1};
    } else {
      if (a->nfiles == TRACE_ARGS_MAX) return usage_error("too many trace files at '%s'", s);
      a->files[a->nfiles++] = s;
    }
  }
  if (!a->nfiles) return usage_error("%s: no TRACE file given", argv[1]);
  return 0;
}

static int load_all(const trace_args_t *a, cohort_trace_t *t) {
  char err[512];
  cohort_trace_init(t);
  for (size_t i = 0; i < a->nfiles; i++) {
    if (cohort_trace_load(t, a->files[i], err, sizeof err)) {
      fprintf(stderr, "cohort trace: %s\n", err);
      cohort_trace_close(t);
      return 2;
    }
  }
  cohort_trace_sort(t);
  return 0;
}

static FILE *open_output(const char *path) {
  if (!path || !strcmp(path, "-")) return stdout;
  FILE *f = fopen(path, "wb");
  if (!f) perror(path);
  return f;
}

static int close_output(FILE *f, const char *path) {
  int bad = ferror(f);
  if (f != stdout) bad |= fclose(f);
  else bad |= fflush(f);
  if (bad) {
    fprintf(stderr, "cohort trace: %s: write failed\n", path ? path : "stdout");
    return 2;
  }
  return 0;
}

/* ---- merge ------------------------------------------------------------------ */

static bool has_view(const trace_args_t *a) { return a->hide || a->at || a->zoom; }

static int cmd_merge(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers || a->title || has_view(a))
    return usage_error("%s", "merge takes only TRACE files and -o");
  FILE *f = open_output(a->output);
  if (!f) return 2;
  static char line[COHORT_TRACE_LINE_MAX + 2];
  for (size_t i = 0; i < t->len; i++) {
    cohort_vclock_t holder;
    cohort_trace_event_t ev;
    cohort_trace_rec_event(&t->recs[i], &holder, &ev);
    int n = cohort_trace_format(&ev, line, sizeof line - 1);
    if (n < 0) {
      fprintf(stderr, "cohort trace: line %zu: record too large to rewrite\n", t->recs[i].line);
      if (f != stdout) fclose(f);
      return 2;
    }
    line[n] = '\n';
    fwrite(line, 1, (size_t)n + 1, f);
  }
  return close_output(f, a->output);
}

/* ---- diagram / shiviz --------------------------------------------------------- */

/* A finite number in [lo, hi], the whole string; false otherwise. */
static bool parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end || !isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool has_proto(const cohort_trace_t *t, const char *name, size_t len) {
  for (size_t i = 0; i < t->len; i++) {
    const char *p = t->recs[i].proto;
    if (p && strlen(p) == len && !strncmp(p, name, len)) return true;
  }
  return false;
}

/* --hide: a comma list of protocols present in the trace. */
static int check_hide(const cohort_trace_t *t, const char *list) {
  const char *p = list;
  do {
    size_t len = strcspn(p, ",");
    if (!len) return usage_error("--hide '%s': empty protocol name", list);
    for (size_t k = 0; k < len; k++)
      if (!(p[k] == '-' || p[k] == '_' || (p[k] >= 'a' && p[k] <= 'z') ||
            (p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9')))
        return usage_error("--hide '%s': bad protocol name '%.*s'", list, (int)len, p);
    if (!has_proto(t, p, len))
      return usage_error("--hide: no protocol '%.*s' in the trace", (int)len, p);
    p += len;
  } while (*p++ == ',');
  return 0;
}

/* The page's initial view from --at, --zoom, --hide, in the syntax of its
 * URL fragment: "zoom=K&at=S&hide=P,Q". Returns 0 or the exit status 2. */
static int diagram_view(const trace_args_t *a, const cohort_trace_t *t, char *view, size_t cap) {
  double at = 0, zoom = 0;
  size_t n = 0;
  view[0] = '\0';
  double span = t->len ? (double)(t->recs[t->len - 1].true_ns - t->recs[0].true_ns) / 1e9 : 0;
  if (a->zoom && !parse_num(a->zoom, 1e-6, 1e12, &zoom))
    return usage_error("--zoom '%s': want a factor > 0 (1 = the whole run)", a->zoom);
  if (a->at && !parse_num(a->at, 0, 1e12, &at))
    return usage_error("--at '%s': want seconds after the start of the trace, >= 0", a->at);
  if (a->at && at > span)
    return usage_error("--at %s: the trace lasts only %.3f s", a->at, span);
  if (a->hide && check_hide(t, a->hide)) return 2;
  if (strlen(a->hide ? a->hide : "") + 80 > cap) return usage_error("%s", "--hide: list too long");
  if (a->zoom) n += (size_t)snprintf(view + n, cap - n, "zoom=%.9g&", zoom);
  if (a->at) n += (size_t)snprintf(view + n, cap - n, "at=%.9f&", at);
  if (a->hide) n += (size_t)snprintf(view + n, cap - n, "hide=%s&", a->hide);
  if (n) view[n - 1] = '\0';
  return 0;
}

static int cmd_diagram(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers)
    return usage_error("%s", "diagram takes TRACE files, -o, --title, --hide, --at, --zoom");
  if (!a->output) return usage_error("%s", "diagram needs -o FILE.html");
  char view[600];
  if (diagram_view(a, t, view, sizeof view)) return 2;
  char title[512];
  if (a->title) {
    snprintf(title, sizeof title, "%s", a->title);
  } else {
    size_t n = 0;
    title[0] = '\0';
    for (size_t i = 0; i < a->nfiles && n + 2 < sizeof title; i++)
      n += (size_t)snprintf(title + n, sizeof title - n, "%s%s", i ? " + " : "", a->files[i]);
  }
  FILE *f = open_output(a->output);
  if (!f) return 2;
  char err[256];
  if (cohort_trace_write_diagram_view(t, f, title, view, err, sizeof err)) {
    fprintf(stderr, "cohort trace: %s\n", err);
    if (f != stdout) fclose(f);
    return 2;
  }
  return close_output(f, a->output);
}

static int cmd_shiviz(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers || a->title || has_view(a))
    return usage_error("%s", "shiviz takes only TRACE files and -o");
  FILE *f = open_output(a->output);
  if (!f) return 2;
  char err[256];
  if (cohort_trace_write_shiviz(t, f, err, sizeof err)) {
    fprintf(stderr, "cohort trace: %s\n", err);
    if (f != stdout) fclose(f);
    return 2;
  }
  return close_output(f, a->output);
}

/* ---- check -------------------------------------------------------------------- */

#define CHECKERS_MAX 32

static bool knows(const cohort_checker_t *c, const char *key) {
  for (const char *const *p = cohort_checker_params(c); *p; p++)
    if (!strcmp(*p, key)) return true;
  return false;
}

/* Selected checkers: --checker list, or every one that applies. */
static int select_checkers(const trace_args_t *a, const cohort_trace_t *t,
                           const cohort_checker_t **sel, size_t *nsel) {
  size_t n;
  const cohort_checker_t *const *all = cohort_checkers(&n);
  *nsel = 0;
  if (!a->checkers) {
    for (size_t i = 0; i < n && *nsel < CHECKERS_MAX; i++)
      if (cohort_checker_applies(all[i], t)) sel[(*nsel)++] = all[i];
    return 0;
  }
  char list[512];
  snprintf(list, sizeof list, "%s", a->checkers);
  for (char *save = NULL, *name = strtok_r(list, ",", &save); name;
       name = strtok_r(NULL, ",", &save)) {
    const cohort_checker_t *c = cohort_checker_find(name);
    if (!c) {
      usage_error("unknown checker '%s'", name);
      print_checkers(stderr);
      return 2;
    }
    if (*nsel < CHECKERS_MAX) sel[(*nsel)++] = c;
  }
  if (!*nsel) return usage_error("%s", "--checker: empty list");
  return 0;
}

/* Route key=value to the checkers that take the key; NAME.key=value to NAME. */
static int route_params(const trace_args_t *a, const cohort_checker_t *c, cohort_param_t *out,
                        size_t *nout) {
  *nout = 0;
  size_t len = strlen(c->name);
  for (size_t i = 0; i < a->nparams; i++) {
    const char *k = a->params[i].key;
    if (!strncmp(k, c->name, len) && k[len] == '.') {
      out[(*nout)++] = (cohort_param_t){k + len + 1, a->params[i].value};
    } else if (!strchr(k, '.') && knows(c, k)) {
      out[(*nout)++] = a->params[i];
    }
  }
  return 0;
}

static int check_params_used(const trace_args_t *a, const cohort_checker_t **sel, size_t nsel) {
  for (size_t i = 0; i < a->nparams; i++) {
    const char *k = a->params[i].key, *dot = strchr(k, '.');
    bool used = false;
    for (size_t j = 0; j < nsel && !used; j++) {
      size_t len = strlen(sel[j]->name);
      if (dot) used = (size_t)(dot - k) == len && !strncmp(k, sel[j]->name, len);
      else used = knows(sel[j], k);
    }
    if (!used) return usage_error("no selected checker takes parameter '%s'", k);
  }
  return 0;
}

static int cmd_check(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->output || a->title || has_view(a))
    return usage_error("%s", "check takes no -o, --title, --hide, --at or --zoom");
  const cohort_checker_t *sel[CHECKERS_MAX];
  size_t nsel;
  int rc = select_checkers(a, t, sel, &nsel);
  if (!rc) rc = check_params_used(a, sel, nsel);
  if (rc) return rc;
  if (!nsel) {
    printf("no checker applies to this trace (%zu events); use --checker NAME\n", t->len);
    return 0;
  }
  int status = 0;
  for (size_t i = 0; i < nsel; i++) {
    cohort_param_t params[TRACE_ARGS_MAX];
    size_t np;
    route_params(a, sel[i], params, &np);
    cohort_check_result_t res;
    char err[512] = "";
    if (sel[i]->run(t, params, np, &res, err, sizeof err)) {
      fprintf(stderr, "cohort trace: %s\n", err);
      return 2;
    }
    printf("%-10s %s  %s\n", sel[i]->name, res.violations ? "FAIL" : "ok  ", res.summary);
    if (res.violations) {
      printf("%-10s       first: %s\n", "", res.first);
      status = 1;
    }
  }
  return status;
}

int cohort_cmd_trace(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_text, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(usage_text, stdout);
    print_checkers(stdout);
    return 0;
  }
  int (*run)(const trace_args_t *, const cohort_trace_t *) = NULL;
  if (!strcmp(cmd, "check")) run = cmd_check;
  else if (!strcmp(cmd, "diagram")) run = cmd_diagram;
  else if (!strcmp(cmd, "shiviz")) run = cmd_shiviz;
  else if (!strcmp(cmd, "merge")) run = cmd_merge;
  else return usage_error("unknown command '%s'", cmd);
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage_text, stdout);
      if (run == cmd_check) print_checkers(stdout);
      return 0;
    }
  static trace_args_t a; /* large: keep it off the stack */
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc;
  cohort_trace_t t;
  rc = load_all(&a, &t);
  if (rc) return rc;
  rc = run(&a, &t);
  cohort_trace_close(&t);
  return rc;
}
