/*
 * src/trace/diagram.c — `cohort trace diagram` / `draw`: a trace (or a
 * slice of it) to one self-contained HTML page with the space-time diagram
 * (trace_tools.h).
 *
 * The page is: a small JSON block (title, initial view, nodes, string and
 * incarnation tables, counts), the events as a gzip-compressed columnar
 * block in base64 (diagram_enc.c; about 5 bytes an event in place of the
 * 100 of one JSON array each), and the viewer script (diagram.js, embedded
 * at build time), which inflates the block with the browser's own
 * DecompressionStream. The matching send of every receipt and the
 * happened-before rank (longest path over the DAG of trace_hb.h) are
 * computed here, on the whole trace, so a slice keeps the ranks of the run.
 * Every string is escaped so that no "<" reaches the HTML parser inside a
 * script block. The event block is built before anything is written, so a
 * page past the size limit fails with nothing written.
 */
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "diagram_internal.h"
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

/* ---- the page ------------------------------------------------------------------ */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>";

static const char page_style[] =
    "</title>\n<style>\n"
    "html,body{margin:0;height:100%;overflow:hidden;font:13px sans-serif;background:#fff}\n"
    "#bar{display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:6px 10px;"
    "border-bottom:1px solid #ddd;background:#f7f7f7}\n"
    "#bar b{margin-right:12px}#status{margin-left:auto;color:#555}\n"
    "button{font:12px sans-serif;padding:3px 8px}\n"
    "canvas{display:block;cursor:grab}\n"
    "#tip{position:fixed;display:none;background:#fffff4;border:1px solid #999;"
    "padding:4px 6px;font:12px monospace;max-width:640px;pointer-events:none;"
    "box-shadow:2px 2px 6px rgba(0,0,0,.2);word-break:break-all}\n"
    "#tip td:first-child{color:#666;padding-right:8px;white-space:nowrap;vertical-align:top}\n"
    ".key span,#protos span{display:inline-block;width:9px;height:9px;border-radius:5px;"
    "margin:0 3px 0 2px}\n.key label{margin-left:6px;white-space:nowrap}\n"
    "input[size]{font:12px sans-serif}\n"
    "#protos{padding-left:8px;border-left:1px solid #ccc}#protos label{white-space:nowrap}\n"
    "#protos span{margin:0 2px 0 0;border-radius:0;transform:rotate(45deg)}\n"
    "</style>\n</head>\n<body>\n<div id=\"bar\"><b>";

static const char page_bar[] =
    "</b><button id=\"mode\">axis: true time</button><button id=\"fit\">fit</button>"
    "<button id=\"zin\">+</button><button id=\"zout\">&minus;</button>"
    "<label><input type=\"checkbox\" id=\"lbl\" checked> labels</label>"
    "<span class=\"key\" id=\"kinds\" title=\"show or hide a kind of event\">"
    "<label><input type=\"checkbox\" data-k=\"0\" checked><span style=\"background:#1f77b4\">"
    "</span>send</label><label><input type=\"checkbox\" data-k=\"1\" checked>"
    "<span style=\"background:#2ca02c\"></span>recv</label>"
    "<label><input type=\"checkbox\" data-k=\"2\" checked>"
    "<span style=\"background:#17becf\"></span>deliver</label>"
    "<label><input type=\"checkbox\" data-k=\"3\" checked>"
    "<span style=\"background:#d62728\"></span>drop &#x2715;</label>"
    "<label><input type=\"checkbox\" data-k=\"4\" checked>"
    "<span style=\"background:#999\"></span>timer</label>"
    "<label><input type=\"checkbox\" data-k=\"5\" checked>"
    "<span style=\"background:#9467bd;border-radius:0;transform:rotate(45deg)\"></span>"
    "state</label></span>"
    "<label title=\"node ids, e.g. 1,3,5-9 (empty: all)\">nodes "
    "<input id=\"nodes\" size=\"8\" placeholder=\"all\"></label>"
    "<label title=\"time window in seconds after the start\">window "
    "<input id=\"from\" size=\"6\" placeholder=\"from s\">&ndash;"
    "<input id=\"to\" size=\"6\" placeholder=\"to s\"></label><button id=\"go\">go</button>"
    "<span id=\"protos\" title=\"show or hide a protocol's messages and events\">"
    "protocols:</span><span id=\"status\">loading&hellip;</span></div>\n"
    "<canvas id=\"c\"></canvas><div id=\"tip\"></div>\n"
    "<script type=\"application/json\" id=\"meta\">";

static void html_text(wbuf_t *w, const char *s) {
  for (; *s; s++) {
    if (*s == '<') w_str(w, "&lt;");
    else if (*s == '>') w_str(w, "&gt;");
    else if (*s == '&') w_str(w, "&amp;");
    else w_char(w, *s);
  }
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


/* ---- selection ------------------------------------------------------------ */

static bool node_wanted(const cohort_diagram_opts_t *o, cohort_node_id_t n) {
  if (!o->nodes) return true;
  for (size_t k = 0; k < o->nodes_len; k++)
    if (o->nodes[k] == n) return true;
  return false;
}

static bool proto_wanted(const cohort_diagram_opts_t *o, const char *p) {
  if (!o->protos) return true;
  for (size_t k = 0; k < o->protos_len; k++)
    if (!strcmp(o->protos[k], p ? p : "")) return true;
  return false;
}

/* Fill idx/newpos with the records the options select; returns how many. */
static size_t select_records(const cohort_trace_t *t, const cohort_diagram_opts_t *o,
                             uint32_t *idx, int64_t *newpos) {
  int64_t base = t->len ? t->recs[0].true_ns : 0;
  size_t n = 0;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    int64_t dt = check_sub_sat(r->true_ns, base);
    bool in = dt >= o->from_ns && (!o->to_ns || dt <= o->to_ns) && node_wanted(o, r->node) &&
              proto_wanted(o, r->proto) &&
              (!o->kinds_mask || (o->kinds_mask >> r->type) & 1u);
    newpos[i] = in ? (int64_t)n : -1;
    if (in) idx[n++] = (uint32_t)i;
  }
  return n;
}

static int u64_cmp(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* Distinct incarnations of the selection (events' and message ids'). */
static size_t collect_incs(const cohort_trace_t *t, const uint32_t *idx, size_t n,
                           uint64_t *incs) {
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    const cohort_trace_rec_t *r = &t->recs[idx[k]];
    incs[m++] = r->inc;
    if (r->has_msg) incs[m++] = r->msg.inc;
  }
  qsort(incs, m, sizeof *incs, u64_cmp);
  size_t u = 0;
  for (size_t k = 0; k < m; k++)
    if (!u || incs[u - 1] != incs[k]) incs[u++] = incs[k];
  return u;
}

/* ---- the page --------------------------------------------------------------- */

static void w_base64(wbuf_t *w, const uint8_t *p, size_t n) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                 (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                 i + 2 < n ? b64[v & 63] : '='};
    w_mem(w, q, 4);
  }
}

static void write_meta(wbuf_t *w, const dg_sel_t *sel, const cohort_node_id_t *nodes,
                       size_t nlanes, const char *title, const char *view,
                       const dg_blob_t *blob) {
  w_str(w, "{\"v\":2,\"title\":");
  w_jstr(w, title);
  w_str(w, ",\"view\":");
  w_jstr(w, view);
  w_str(w, ",\"t0\":\"");
  w_i64(w, sel->t0);
  w_str(w, "\",\"n\":");
  w_i64(w, (int64_t)sel->n);
  w_str(w, ",\"raw\":");
  w_i64(w, (int64_t)blob->raw_len);
  w_str(w, ",\"gz\":");
  w_i64(w, (int64_t)blob->gz_len);
  w_str(w, ",\"nodes\":[");
  for (size_t k = 0; k < nlanes; k++) {
    if (k) w_char(w, ',');
    w_i64(w, nodes[k]);
  }
  w_str(w, "],\"incs\":[");
  for (size_t k = 0; k < sel->nincs; k++) {
    if (k) w_char(w, ',');
    w_char(w, '"');
    w_i64(w, (int64_t)sel->incs[k]); /* as text: above 2^53 */
    w_char(w, '"');
  }
  w_str(w, "],\"strs\":[");
  for (uint32_t k = 0; k < sel->st->len; k++) {
    if (k) w_char(w, ',');
    w_jstr(w, sel->st->strs[k]);
  }
  w_str(w, "]}");
}

static void write_page(wbuf_t *w, const dg_sel_t *sel, const cohort_node_id_t *nodes,
                       size_t nlanes, const char *title, const char *view,
                       const dg_blob_t *blob) {
  w_str(w, page_head);
  html_text(w, title);
  w_str(w, page_style);
  html_text(w, title);
  w_str(w, page_bar);
  write_meta(w, sel, nodes, nlanes, title, view, blob);
  w_str(w, "</script>\n<script type=\"application/octet-stream\" id=\"data\">");
  w_base64(w, blob->gz, blob->gz_len);
  w_str(w, "</script>\n<script>\n");
  w_mem(w, cohort_diagram_js, cohort_diagram_js_len);
  w_str(w, "</script>\n</body>\n</html>\n");
  w_flush(w);
}

/* ---- entry points ----------------------------------------------------------- */

typedef struct dg_work {
  cohort_hb_t hb;
  int64_t *rank, *newpos;
  uint32_t *lane, *idx;
  cohort_node_id_t *nodes;
  uint64_t *incs;
  dg_strtab_t *st;
  wbuf_t *w;
  dg_blob_t blob;
} dg_work_t;

static void work_free(dg_work_t *k, const cohort_allocator_t *a) {
  cohort_free(a, k->rank);
  cohort_free(a, k->newpos);
  cohort_free(a, k->lane);
  cohort_free(a, k->idx);
  cohort_free(a, k->nodes);
  cohort_free(a, k->incs);
  cohort_free(a, k->st);
  cohort_free(a, k->w);
  dg_blob_free(&k->blob, a);
  cohort_hb_close(&k->hb);
}

static int work_alloc(dg_work_t *k, const cohort_trace_t *t, const cohort_allocator_t *a) {
  size_t n = t->len + 1;
  k->rank = cohort_alloc(a, n * sizeof *k->rank);
  k->newpos = cohort_alloc(a, n * sizeof *k->newpos);
  k->lane = cohort_alloc(a, n * sizeof *k->lane);
  k->idx = cohort_alloc(a, n * sizeof *k->idx);
  k->nodes = cohort_alloc(a, n * sizeof *k->nodes);
  k->incs = cohort_alloc(a, 2 * n * sizeof *k->incs);
  k->st = cohort_calloc(a, 1, sizeof *k->st);
  k->w = cohort_alloc(a, sizeof *k->w);
  return k->rank && k->newpos && k->lane && k->idx && k->nodes && k->incs && k->st && k->w
             ? 0
             : COHORT_ENOMEM;
}

/* Lanes of the selected nodes only: re-number lane[] over them. */
static size_t selected_lanes(const cohort_trace_t *t, dg_work_t *k, size_t nsel) {
  size_t all = compute_lanes(t, k->nodes, k->lane);
  bool *used = calloc(all + 1, 1);
  uint32_t *map = calloc(all + 1, sizeof *map);
  size_t u = 0;
  if (!used || !map) {
    free(used);
    free(map);
    return all; /* keep every lane: correct, only emptier */
  }
  for (size_t j = 0; j < nsel; j++) used[k->lane[k->idx[j]]] = true;
  for (size_t l = 0; l < all; l++)
    if (used[l]) {
      map[l] = (uint32_t)u;
      k->nodes[u++] = k->nodes[l];
    }
  for (size_t i = 0; i < t->len; i++) k->lane[i] = map[k->lane[i]];
  free(used);
  free(map);
  return u;
}

int cohort_trace_write_diagram_opts(const cohort_trace_t *t, FILE *out,
                                    const cohort_diagram_opts_t *o,
                                    cohort_diagram_stats_t *stats, char *err, size_t errcap) {
  static const cohort_diagram_opts_t none;
  const cohort_allocator_t *a = cohort_allocator_default();
  dg_work_t k;
  memset(&k, 0, sizeof k);
  if (!o) o = &none;
  int rc = cohort_hb_build(&k.hb, t, a);
  if (rc == 0) rc = work_alloc(&k, t, a);
  if (rc) {
    if (err) snprintf(err, errcap, "diagram: %s", cohort_strerror(rc));
    work_free(&k, a);
    return rc;
  }
  compute_ranks(&k.hb, k.rank);
  size_t n = select_records(t, o, k.idx, k.newpos);
  if (n == 0 && t->len) {
    if (err) snprintf(err, errcap, "diagram: the slice selects none of the %zu events", t->len);
    work_free(&k, a);
    return COHORT_EINVAL;
  }
  size_t nlanes = selected_lanes(t, &k, n);
  dg_intern(k.st, "");  /* index 0: none */
  dg_intern(k.st, "…"); /* index 1: table full */
  dg_sel_t sel = {t, &k.hb, k.rank, k.lane, k.newpos, k.idx, n, k.incs,
                  collect_incs(t, k.idx, n, k.incs), n ? t->recs[k.idx[0]].true_ns : 0, k.st};
  size_t max = o->page_max_bytes ? o->page_max_bytes : COHORT_DIAGRAM_PAGE_MAX;
  size_t fixed = cohort_diagram_js_len + 64 * 1024; /* script, markup, tables */
  rc = dg_encode(&sel, a, max > fixed ? (max - fixed) / 4 * 3 : 1, &k.blob, err, errcap);
  if (rc == 0) {
    k.w->f = out;
    k.w->len = 0;
    long before = ftell(out);
    write_page(k.w, &sel, k.nodes, nlanes, o->title ? o->title : "cohort trace",
               o->view ? o->view : "", &k.blob);
    rc = ferror(out) ? COHORT_EIO : 0;
    if (rc && err) snprintf(err, errcap, "diagram: %s", cohort_strerror(rc));
    if (stats) {
      long after = ftell(out);
      *stats = (cohort_diagram_stats_t){n, before >= 0 && after >= before
                                               ? (size_t)(after - before) : 0,
                                        k.blob.gz_len, k.blob.raw_len};
    }
  } else if (rc != COHORT_EFULL && err) {
    snprintf(err, errcap, "diagram: %s", cohort_strerror(rc));
  }
  work_free(&k, a);
  return rc;
}

int cohort_trace_write_diagram_view(const cohort_trace_t *t, FILE *out, const char *title,
                                    const char *view, char *err, size_t errcap) {
  cohort_diagram_opts_t o;
  memset(&o, 0, sizeof o);
  o.title = title;
  o.view = view;
  return cohort_trace_write_diagram_opts(t, out, &o, NULL, err, errcap);
}

int cohort_trace_write_diagram(const cohort_trace_t *t, FILE *out, const char *title,
                               char *err, size_t errcap) {
  return cohort_trace_write_diagram_view(t, out, title, NULL, err, errcap);
}
