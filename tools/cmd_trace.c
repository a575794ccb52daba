/*
 * tools/cmd_trace.c — `cohort trace`: check, draw, merge and export JSON
 * Lines traces (docs/trace-tools.md).
 *
 *   cohort trace check TRACE... [--checker NAME[,NAME]] [key=value ...] [--json]
 *   cohort trace diagram|draw TRACE... -o run.html [--title TEXT] [--hide PROTO[,PROTO]]
 *                        [--at SECONDS] [--zoom K] [--from S] [--to S] [--nodes LIST]
 *                        [--protos LIST] [--kinds LIST]
 *   cohort trace shiviz TRACE... [-o out.log]
 *   cohort trace merge TRACE... [-o merged.jsonl[.gz]]
 *   cohort trace stats TRACE... [--json]
 *
 * Several traces (one per node process) are merged: loaded into one trace
 * and stably sorted by true time. Traces may be gzip-compressed (read
 * transparently); an output named *.gz is written compressed. Exit status:
 * 0 success, 1 a checker found violations, 2 bad usage, an unreadable or
 * malformed trace, a diagram too large to open, or an output that could
 * not be written.
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
  const char *from, *to, *nodes, *protos, *kinds; /* diagram slices */
  bool json;
} trace_args_t;

static const char usage_text[] =
    "usage: cohort trace <command> TRACE... [options]\n"
    "\n"
    "commands:\n"
    "  check    run checkers: [--checker NAME[,NAME]] [key=value | NAME.key=value ...]\n"
    "           (default: every checker whose events are in the trace)\n"
    "           [--json] (one object per checker)\n"
    "  diagram  space-time diagram as a self-contained HTML page: -o FILE [--title TEXT]\n"
    "           [--hide PROTO[,PROTO]] (start with these protocols hidden, e.g. fd)\n"
    "           [--at SECONDS] [--zoom K] (open K times zoomed in, SECONDS after the start)\n"
    "           slices: [--from S] [--to S] (seconds after the start) [--nodes 1,3,5-9]\n"
    "           [--protos P,Q] [--kinds send,recv,deliver,drop,timer,state]\n"
    "  draw     the same as diagram\n"
    "  shiviz   export ShiViz's log format: [-o FILE] (default: stdout)\n"
    "  merge    merge traces sorted by true time: [-o FILE] (default: stdout)\n"
    "  stats    events by kind, protocol and node, span, size: [--json]\n"
    "\n"
    "Several TRACE files (one per node process) are merged before use. Traces\n"
    "compressed with gzip are read as they are; -o NAME.gz writes compressed.\n"
    "Exit status: 0 ok, 1 violations found, 2 bad usage, bad trace, or a diagram\n"
    "too large for a browser (then draw a slice).\n";

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
    else if (!strcmp(s, "--from")) slot = &a->from;
    else if (!strcmp(s, "--to")) slot = &a->to;
    else if (!strcmp(s, "--nodes")) slot = &a->nodes;
    else if (!strcmp(s, "--protos")) slot = &a->protos;
    else if (!strcmp(s, "--kinds")) slot = &a->kinds;
    else if (!strcmp(s, "--json")) {
      a->json = true;
      continue;
    }
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
  FILE *f = cohort_trace_fopen(path, "w"); /* NAME.gz: compressed */
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

static bool has_view(const trace_args_t *a) {
  return a->hide || a->at || a->zoom || a->from || a->to || a->nodes || a->protos || a->kinds;
}

static int cmd_merge(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers || a->title || has_view(a) || a->json)
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

/* ---- diagram slices ------------------------------------------------------ */

#define SLICE_MAX 1024

typedef struct slice {
  cohort_node_id_t nodes[SLICE_MAX];
  const char *protos[SLICE_MAX];
  char proto_text[4096];
} slice_t;

/* "1,3,5-9" into ids; 0 or exit status 2. */
static int parse_nodes(const char *list, cohort_node_id_t *out, size_t *n) {
  const char *p = list;
  *n = 0;
  do {
    uint64_t a, b;
    char num[24];
    size_t len = strcspn(p, ",");
    size_t dash = strcspn(p, "-");
    if (!len || len >= sizeof num) return usage_error("--nodes '%s': empty or long item", list);
    memcpy(num, p, dash < len ? dash : len);
    num[dash < len ? dash : len] = '\0';
    if (cohort_parse_u64(num, &a) || a >= COHORT_NODE_NONE)
      return usage_error("--nodes '%s': bad node id '%s'", list, num);
    b = a;
    if (dash < len) {
      memcpy(num, p + dash + 1, len - dash - 1);
      num[len - dash - 1] = '\0';
      if (cohort_parse_u64(num, &b) || b < a || b >= COHORT_NODE_NONE)
        return usage_error("--nodes '%s': bad range ending '%s'", list, num);
    }
    for (uint64_t v = a; v <= b; v++) {
      if (*n == SLICE_MAX) return usage_error("--nodes: more than %d nodes", SLICE_MAX);
      out[(*n)++] = (cohort_node_id_t)v;
    }
    p += len;
  } while (*p++ == ',');
  return 0;
}

static int parse_kinds(const char *list, uint32_t *mask) {
  static const char *const names[] = {"send", "recv", "deliver", "drop", "timer", "state"};
  const char *p = list;
  *mask = 0;
  do {
    size_t len = strcspn(p, ","), k = 0;
    while (k < COHORT_ARRAY_LEN(names) && (strlen(names[k]) != len || strncmp(names[k], p, len)))
      k++;
    if (k == COHORT_ARRAY_LEN(names))
      return usage_error("--kinds '%s': '%.*s' is not send, recv, deliver, drop, timer or "
                         "state", list, (int)len, p);
    *mask |= 1u << k;
    p += len;
  } while (*p++ == ',');
  return 0;
}

static int parse_protos(const cohort_trace_t *t, const char *list, slice_t *sl, size_t *n) {
  if (strlen(list) >= sizeof sl->proto_text) return usage_error("%s", "--protos: list too long");
  if (check_hide(t, list)) return 2; /* same rules: names present in the trace */
  strcpy(sl->proto_text, list);
  *n = 0;
  for (char *save = NULL, *q = strtok_r(sl->proto_text, ",", &save); q && *n < SLICE_MAX;
       q = strtok_r(NULL, ",", &save))
    sl->protos[(*n)++] = q;
  return 0;
}

/* --from/--to/--nodes/--protos/--kinds into diagram options. */
static int diagram_slice(const trace_args_t *a, const cohort_trace_t *t, slice_t *sl,
                         cohort_diagram_opts_t *o) {
  double from = 0, to = 0;
  memset(o, 0, sizeof *o);
  if (a->from && !parse_num(a->from, 0, 1e9, &from))
    return usage_error("--from '%s': want seconds after the start, >= 0", a->from);
  if (a->to && (!parse_num(a->to, 0, 1e9, &to) || to <= from))
    return usage_error("--to '%s': want seconds after the start, after --from", a->to);
  o->from_ns = (int64_t)(from * 1e9);
  o->to_ns = a->to ? (int64_t)(to * 1e9) : 0;
  if (a->nodes && parse_nodes(a->nodes, sl->nodes, &o->nodes_len)) return 2;
  if (a->nodes) o->nodes = sl->nodes;
  if (a->protos && parse_protos(t, a->protos, sl, &o->protos_len)) return 2;
  if (a->protos) o->protos = sl->protos;
  if (a->kinds && parse_kinds(a->kinds, &o->kinds_mask)) return 2;
  return 0;
}

static int cmd_diagram(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers || a->json)
    return usage_error("%s", "diagram takes TRACE files, -o, --title, --hide, --at, --zoom, "
                             "--from, --to, --nodes, --protos, --kinds");
  if (!a->output) return usage_error("%s", "diagram needs -o FILE.html");
  char view[600];
  if (diagram_view(a, t, view, sizeof view)) return 2;
  static slice_t sl;
  cohort_diagram_opts_t o;
  if (diagram_slice(a, t, &sl, &o)) return 2;
  o.view = view;
  char title[512];
  if (a->title) {
    snprintf(title, sizeof title, "%s", a->title);
  } else {
    size_t n = 0;
    title[0] = '\0';
    for (size_t i = 0; i < a->nfiles && n + 2 < sizeof title; i++)
      n += (size_t)snprintf(title + n, sizeof title - n, "%s%s", i ? " + " : "", a->files[i]);
  }
  o.title = title;
  FILE *f = open_output(a->output);
  if (!f) return 2;
  char err[512];
  cohort_diagram_stats_t st;
  if (cohort_trace_write_diagram_opts(t, f, &o, &st, err, sizeof err)) {
    fprintf(stderr, "cohort trace: %s\n", err);
    if (f != stdout) {
      fclose(f);
      remove(a->output); /* no half page left behind */
    }
    return 2;
  }
  fprintf(stderr, "cohort trace: %zu of %zu events drawn, page %.1f MB (%.2f bytes/event)\n",
          st.events, t->len, (double)st.page_bytes / 1e6,
          st.events ? (double)st.page_bytes / (double)st.events : 0.0);
  if (st.page_bytes > COHORT_DIAGRAM_PAGE_WARN)
    fprintf(stderr, "cohort trace: warning: a %.0f MB page takes a while to open; draw a slice "
                    "(--from/--to, --nodes, --protos, --kinds) for a quick look\n",
            (double)st.page_bytes / 1e6);
  return close_output(f, a->output);
}

static int cmd_shiviz(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers || a->title || has_view(a) || a->json)
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

/* ---- stats ------------------------------------------------------------------- */

#define STATS_PROTOS 64

/* A JSON string on stdout. */
static void json_out(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

static int cmd_stats(const trace_args_t *a, const cohort_trace_t *t) {
  if (a->nparams || a->checkers || a->title || has_view(a) || a->output)
    return usage_error("%s", "stats takes only TRACE files and --json");
  uint64_t by_type[COHORT_EV_TYPE_COUNT] = {0}, by_proto[STATS_PROTOS] = {0}, other = 0;
  const char *protos[STATS_PROTOS];
  size_t np = 0;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    by_type[r->type]++;
    const char *p = r->proto ? r->proto : "";
    size_t k = 0;
    while (k < np && strcmp(protos[k], p)) k++;
    if (k == np && np < STATS_PROTOS) protos[np++] = p;
    if (k < np) by_proto[k]++;
    else other++;
  }
  double span = t->len ? (double)(t->recs[t->len - 1].true_ns - t->recs[0].true_ns) / 1e9 : 0;
  if (a->json) {
    printf("{\"events\":%zu,\"span_s\":%.9f,\"by_kind\":{", t->len, span);
    for (int k = 0; k < COHORT_EV_TYPE_COUNT; k++)
      printf("%s\"%s\":%llu", k ? "," : "", cohort_ev_type_name((cohort_ev_type_t)k),
             (unsigned long long)by_type[k]);
    printf("},\"by_proto\":{");
    for (size_t k = 0; k < np; k++) {
      printf("%s", k ? "," : "");
      json_out(protos[k]);
      printf(":%llu", (unsigned long long)by_proto[k]);
    }
    printf("}}\n");
    return 0;
  }
  printf("events %zu over %.3f s\n", t->len, span);
  for (int k = 0; k < COHORT_EV_TYPE_COUNT; k++)
    printf("  %-8s %llu\n", cohort_ev_type_name((cohort_ev_type_t)k),
           (unsigned long long)by_type[k]);
  for (size_t k = 0; k < np; k++)
    printf("  proto %-12s %llu\n", protos[k][0] ? protos[k] : "(none)",
           (unsigned long long)by_proto[k]);
  if (other) printf("  proto (others) %llu\n", (unsigned long long)other);
  return 0;
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
  if (!nsel && a->json) {
    printf("[]\n");
    return 0;
  }
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
    if (res.violations) status = 1;
    if (a->json) {
      printf("%s{\"checker\":", i ? "," : "[");
      json_out(sel[i]->name);
      printf(",\"ok\":%s,\"violations\":%llu,\"checked\":%llu,\"summary\":",
             res.violations ? "false" : "true", (unsigned long long)res.violations,
             (unsigned long long)res.checked);
      json_out(res.summary);
      printf(",\"first\":");
      if (res.violations) json_out(res.first);
      else printf("null");
      printf("}%s", i + 1 == nsel ? "]\n" : "");
      continue;
    }
    printf("%-10s %s  %s\n", sel[i]->name, res.violations ? "FAIL" : "ok  ", res.summary);
    if (res.violations) printf("%-10s       first: %s\n", "", res.first);
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
  else if (!strcmp(cmd, "diagram") || !strcmp(cmd, "draw")) run = cmd_diagram;
  else if (!strcmp(cmd, "stats")) run = cmd_stats;
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
