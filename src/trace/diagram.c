/*
 * src/trace/diagram.c — `cohort trace diagram`: a trace to one
 * self-contained HTML page with the space-time diagram (trace_tools.h).
 *
 * The page is the viewer script (diagram.js, embedded at build time) plus
 * the events as compact JSON: one array per event, short names interned in
 * a string table, times relative to the first event, the matching send of
 * every receipt and the happened-before rank (longest path over the DAG
 * of trace_hb.h) precomputed here so the page only draws. Every string is
 * escaped so that no "<" reaches the HTML parser inside the script block.
 * Field order of an event array is the `F` table of diagram.js. The
 * initial view ("zoom=K&at=S&hide=P,Q", the syntax of the page's URL
 * fragment, which overrides it key by key) is carried as the string
 * D.view; the caller validates it, this file only escapes it.
 */
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/trace_hb.h"
#include "cohort/trace_tools.h"

extern const char cohort_diagram_js[];
extern const size_t cohort_diagram_js_len;

/* ---- buffered writer ------------------------------------------------------ */

typedef struct wbuf {
  FILE *f;
  char buf[1 << 16];
  size_t len;
} wbuf_t;

static void w_flush(wbuf_t *w) {
  if (w->len) fwrite(w->buf, 1, w->len, w->f);
  w->len = 0;
}

static void w_mem(wbuf_t *w, const char *s, size_t n) {
  if (w->len + n > sizeof w->buf) w_flush(w);
  if (n > sizeof w->buf) {
    fwrite(s, 1, n, w->f);
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static void w_str(wbuf_t *w, const char *s) { w_mem(w, s, strlen(s)); }

static void w_char(wbuf_t *w, char c) {
  if (w->len == sizeof w->buf) w_flush(w);
  w->buf[w->len++] = c;
}

static void w_i64(wbuf_t *w, int64_t v) {
  char tmp[24];
  size_t n = 0;
  uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[sizeof tmp - 1 - n++] = (char)('0' + a % 10);
    a /= 10;
  } while (a);
  if (v < 0) tmp[sizeof tmp - 1 - n++] = '-';
  w_mem(w, tmp + sizeof tmp - n, n);
}

/* A JSON string safe inside <script>: <, > and & are \u-escaped. */
static void w_jstr(wbuf_t *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  w_char(w, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      w_char(w, '\\');
      w_char(w, (char)c);
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      w_mem(w, u, 6);
    } else {
      w_char(w, (char)c);
    }
  }
  w_char(w, '"');
}

/* ---- string table ------------------------------------------------------------ */

#define STR_SLOTS (2 * COHORT_DIAGRAM_STRS_MAX)

typedef struct strtab {
  const char *strs[COHORT_DIAGRAM_STRS_MAX];
  uint32_t slot[STR_SLOTS]; /* 0 = empty, else index + 1 */
  uint32_t len;
} strtab_t;

/* Index of s (0 for NULL; 1 = "…" when the table is full). */
static uint32_t intern(strtab_t *st, const char *s) {
  if (!s) return 0;
  uint32_t h = 2166136261u;
  for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  for (uint32_t k = h % STR_SLOTS;; k = (k + 1) % STR_SLOTS) {
    uint32_t v = st->slot[k];
    if (!v) {
      if (st->len == COHORT_DIAGRAM_STRS_MAX) return 1;
      st->strs[st->len] = s;
      st->slot[k] = ++st->len;
      return st->len - 1;
    }
    if (!strcmp(st->strs[v - 1], s)) return v - 1;
  }
}

/* ---- the page ------------------------------------------------------------------ */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>";

static const char page_style[] =
    "</title>\n<style>\n"
    "html,body{margin:0;height:100%;overflow:hidden;font:13px sans-serif;background:#fff}\n"
    "#bar{display:flex;gap:8px;align-items:center;padding:6px 10px;"
    "border-bottom:1px solid #ddd;background:#f7f7f7}\n"
    "#bar b{margin-right:12px}#status{margin-left:auto;color:#555}\n"
    "button{font:12px sans-serif;padding:3px 8px}\n"
    "canvas{display:block;cursor:grab}\n"
    "#tip{position:fixed;display:none;background:#fffff4;border:1px solid #999;"
    "padding:4px 6px;font:12px monospace;max-width:640px;pointer-events:none;"
    "box-shadow:2px 2px 6px rgba(0,0,0,.2);word-break:break-all}\n"
    "#tip td:first-child{color:#666;padding-right:8px;white-space:nowrap;vertical-align:top}\n"
    ".key span,#protos span{display:inline-block;width:9px;height:9px;border-radius:5px;"
    "margin:0 3px 0 8px}\n"
    "#protos{padding-left:8px;border-left:1px solid #ccc}#protos label{white-space:nowrap}\n"
    "#protos span{margin:0 2px 0 0;border-radius:0;transform:rotate(45deg)}\n"
    "</style>\n</head>\n<body>\n<div id=\"bar\"><b>";

static const char page_bar[] =
    "</b><button id=\"mode\">axis: true time</button><button id=\"fit\">fit</button>"
    "<button id=\"zin\">+</button><button id=\"zout\">&minus;</button>"
    "<label><input type=\"checkbox\" id=\"lbl\" checked> labels</label>"
    "<span class=\"key\"><span style=\"background:#1f77b4\"></span>send"
    "<span style=\"background:#2ca02c\"></span>recv"
    "<span style=\"background:#17becf\"></span>deliver"
    "<span style=\"background:#d62728\"></span>drop &#x2715;"
    "<span style=\"background:#999\"></span>timer"
    "<span style=\"background:#9467bd;border-radius:0;transform:rotate(45deg)\"></span>"
    "state (by protocol)</span>"
    "<span id=\"protos\" title=\"show or hide a protocol's messages and events\">"
    "protocols:</span><span id=\"status\"></span></div>\n"
    "<canvas id=\"c\"></canvas><div id=\"tip\"></div>\n"
    "<script type=\"application/json\" id=\"data\">";

static void html_text(wbuf_t *w, const char *s) {
  for (; *s; s++) {
    if (*s == '<') w_str(w, "&lt;");
    else if (*s == '>') w_str(w, "&gt;");
    else if (*s == '&') w_str(w, "&amp;");
    else w_char(w, *s);
  }
}

static void write_vc(wbuf_t *w, const cohort_trace_rec_t *r) {
  w_char(w, '"');
  for (size_t k = 0; k < r->vc_len; k++) {
    if (k) w_char(w, ' ');
    w_i64(w, r->vc[k].node);
    w_char(w, ':');
    w_i64(w, (int64_t)r->vc[k].counter);
  }
  w_char(w, '"');
}

static void write_kind(wbuf_t *w, strtab_t *st, const cohort_trace_rec_t *r) {
  char num[16];
  bool msg = r->type <= COHORT_EV_DROP;
  if (r->kind || !msg) {
    w_i64(w, intern(st, r->kind));
    return;
  }
  /* numbered kinds are rare: keep them out of the table, inline */
  snprintf(num, sizeof num, "#%u", r->kind_num);
  w_jstr(w, num);
}

static void write_event(wbuf_t *w, strtab_t *st, const cohort_trace_t *t,
                        const cohort_hb_t *hb, const int64_t *rank, const uint32_t *lane,
                        size_t i, int64_t t0) {
  const cohort_trace_rec_t *r = &t->recs[i];
  w_char(w, '[');
  w_i64(w, check_sub_sat(r->true_ns, t0));
  w_char(w, ',');
  w_i64(w, lane[i]);
  w_char(w, ',');
  w_i64(w, r->type);
  w_char(w, ',');
  w_i64(w, (int64_t)r->inc);
  w_char(w, ',');
  w_i64(w, rank[i]);
  w_char(w, ',');
  w_i64(w, hb->send_of[i] == COHORT_HB_NONE ? -1 : (int64_t)hb->send_of[i]);
  w_char(w, ',');
  w_i64(w, r->has_stamps ? (int64_t)r->lamport : -1);
  w_char(w, ',');
  w_i64(w, intern(st, r->proto));
  w_char(w, ',');
  write_kind(w, st, r);
  w_char(w, ',');
  w_i64(w, intern(st, r->what));
  w_char(w, ',');
  w_i64(w, r->peer == COHORT_NODE_NONE ? -1 : (int64_t)r->peer);
  w_char(w, ',');
  if (r->has_msg) {
    char m[72];
    snprintf(m, sizeof m, "%u.%llu.%llu", r->msg.from, (unsigned long long)r->msg.inc,
             (unsigned long long)r->msg.seq);
    w_jstr(w, m);
  } else {
    w_char(w, '0');
  }
  w_char(w, ',');
  if (r->has_stamps) {
    char h[48];
    snprintf(h, sizeof h, "%lld,%u", (long long)r->hlc.l, r->hlc.c);
    w_jstr(w, h);
  } else {
    w_char(w, '0');
  }
  w_char(w, ',');
  if (r->vc) write_vc(w, r);
  else w_char(w, '0');
  w_char(w, ',');
  if (r->data_json) w_jstr(w, r->data_json);
  else w_char(w, '0');
  w_char(w, ',');
  w_i64(w, intern(st, r->reason));
  w_char(w, ',');
  w_i64(w, (int64_t)r->line);
  w_char(w, ',');
  w_i64(w, check_sub_sat(r->local_ns, r->true_ns));
  w_char(w, ',');
  w_i64(w, (int64_t)r->bytes);
  w_char(w, ']');
}

/* Longest-path rank over happened-before; a process event's rank is one
 * more than the largest of its predecessors'. -1 for network events. */
static void compute_ranks(const cohort_hb_t *hb, int64_t *rank) {
  for (size_t i = 0; i < hb->nrec; i++) rank[i] = -1;
  for (size_t k = 0; k < hb->ntopo; k++) {
    uint32_t e = hb->topo[k], p = hb->proc_of[e], pos = hb->pos[e];
    int64_t r = 0;
    if (pos) r = rank[hb->proc_events[hb->procs[p].first + pos - 1]] + 1;
    uint32_t s = hb->send_of[e];
    if (s != COHORT_HB_NONE && rank[s] + 1 > r) r = rank[s] + 1;
    rank[e] = r;
  }
}

static int node_cmp(const void *x, const void *y) {
  cohort_node_id_t a = *(const cohort_node_id_t *)x, b = *(const cohort_node_id_t *)y;
  return a < b ? -1 : a > b;
}

/* Lanes: distinct node ids, sorted; lane[i] for every record. */
static size_t compute_lanes(const cohort_trace_t *t, cohort_node_id_t *nodes, uint32_t *lane) {
  for (size_t i = 0; i < t->len; i++) nodes[i] = t->recs[i].node;
  qsort(nodes, t->len, sizeof *nodes, node_cmp);
  size_t u = 0;
  for (size_t i = 0; i < t->len; i++)
    if (!u || nodes[u - 1] != nodes[i]) nodes[u++] = nodes[i];
  for (size_t i = 0; i < t->len; i++) {
    const cohort_node_id_t *p = bsearch(&t->recs[i].node, nodes, u, sizeof *nodes, node_cmp);
    lane[i] = (uint32_t)(p - nodes);
  }
  return u;
}

static void write_page(wbuf_t *w, strtab_t *st, const cohort_trace_t *t, const cohort_hb_t *hb,
                       const int64_t *rank, const uint32_t *lane, const cohort_node_id_t *nodes,
                       size_t nlanes, const char *title, const char *view) {
  int64_t t0 = t->len ? t->recs[0].true_ns : 0;
  w_str(w, page_head);
  html_text(w, title);
  w_str(w, page_style);
  html_text(w, title);
  w_str(w, page_bar);
  w_str(w, "{\"v\":1,\"title\":");
  w_jstr(w, title);
  w_str(w, ",\"view\":");
  w_jstr(w, view);
  w_str(w, ",\"t0\":\"");
  w_i64(w, t0);
  w_str(w, "\",\"nodes\":[");
  for (size_t k = 0; k < nlanes; k++) {
    if (k) w_char(w, ',');
    w_i64(w, nodes[k]);
  }
  w_str(w, "],\"ev\":[\n");
  intern(st, "");  /* index 0: none */
  intern(st, "…"); /* index 1: table full */
  for (size_t i = 0; i < t->len; i++) {
    if (i) w_str(w, ",\n");
    write_event(w, st, t, hb, rank, lane, i, t0);
  }
  w_str(w, "],\n\"strs\":[");
  for (uint32_t k = 0; k < st->len; k++) {
    if (k) w_char(w, ',');
    w_jstr(w, st->strs[k]);
  }
  w_str(w, "]}</script>\n<script>\n");
  w_mem(w, cohort_diagram_js, cohort_diagram_js_len);
  w_str(w, "</script>\n</body>\n</html>\n");
  w_flush(w);
}

int cohort_trace_write_diagram(const cohort_trace_t *t, FILE *out, const char *title,
                               char *err, size_t errcap) {
  return cohort_trace_write_diagram_view(t, out, title, NULL, err, errcap);
}

int cohort_trace_write_diagram_view(const cohort_trace_t *t, FILE *out, const char *title,
                                    const char *view, char *err, size_t errcap) {
  const cohort_allocator_t *a = cohort_allocator_default();
  cohort_hb_t hb;
  int rc = cohort_hb_build(&hb, t, a);
  if (rc) {
    if (err) snprintf(err, errcap, "diagram: %s", cohort_strerror(rc));
    return rc;
  }
  int64_t *rank = cohort_alloc(a, (t->len + 1) * sizeof *rank);
  uint32_t *lane = cohort_alloc(a, (t->len + 1) * sizeof *lane);
  cohort_node_id_t *nodes = cohort_alloc(a, (t->len + 1) * sizeof *nodes);
  strtab_t *st = cohort_calloc(a, 1, sizeof *st);
  wbuf_t *w = cohort_alloc(a, sizeof *w);
  rc = COHORT_ENOMEM;
  if (rank && lane && nodes && st && w) {
    compute_ranks(&hb, rank);
    size_t nlanes = compute_lanes(t, nodes, lane);
    w->f = out;
    w->len = 0;
    write_page(w, st, t, &hb, rank, lane, nodes, nlanes, title ? title : "cohort trace",
               view ? view : "");
    rc = ferror(out) ? COHORT_EIO : 0;
  }
  if (rc && err) snprintf(err, errcap, "diagram: %s", cohort_strerror(rc));
  cohort_free(a, rank);
  cohort_free(a, lane);
  cohort_free(a, nodes);
  cohort_free(a, st);
  cohort_free(a, w);
  cohort_hb_close(&hb);
  return rc;
}
