/*
 * src/trace/diagram_enc.c — the diagram page's event block: the selected
 * records as columns of LEB128 varints (differences where values grow, so
 * most take one byte), gzip-compressed with zlib while they are produced.
 * diagram.js decodes the same columns in the same order; the layout is
 * documented in docs/trace-tools.md ("page format") and its size per
 * event measured there.
 *
 * Invariants: the compressed block never grows past the caller's limit
 * (COHORT_EFULL as soon as it would); every column has either one value
 * per event or one per event of the kind that column describes, as the
 * format says; nothing is allocated outside the blob and the z_stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_internal.h"
#include "diagram_internal.h"

uint32_t dg_intern(dg_strtab_t *st, const char *s) {
  if (!s || !*s) return 0;
  uint32_t h = 2166136261u;
  for (const char *p = s; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  for (uint32_t k = h % DG_STR_SLOTS;; k = (k + 1) % DG_STR_SLOTS) {
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

/* ---- the compressing writer -------------------------------------------- */

typedef struct enc {
  z_stream z;
  uint8_t stage[1 << 16];
  size_t stage_len;
  dg_blob_t *out;
  const cohort_allocator_t *a;
  size_t limit;
  int rc;
} enc_t;

static void enc_drain(enc_t *e, int flush) {
  e->z.next_in = e->stage;
  e->z.avail_in = (uInt)e->stage_len;
  do {
    dg_blob_t *b = e->out;
    if (b->gz_cap - b->gz_len < 65536) {
      size_t cap = b->gz_cap ? b->gz_cap * 2 : 1 << 20;
      if (b->gz_len + 65536 > e->limit) {
        e->rc = COHORT_EFULL;
        return;
      }
      uint8_t *nb = cohort_realloc(e->a, b->gz, cap);
      if (!nb) {
        e->rc = COHORT_ENOMEM;
        return;
      }
      b->gz = nb;
      b->gz_cap = cap;
    }
    e->z.next_out = b->gz + b->gz_len;
    e->z.avail_out = (uInt)(b->gz_cap - b->gz_len);
    int zr = deflate(&e->z, flush);
    b->gz_len = b->gz_cap - e->z.avail_out;
    if (zr == Z_STREAM_ERROR) {
      e->rc = COHORT_EIO;
      return;
    }
    if (zr == Z_STREAM_END) break;
  } while (e->z.avail_in > 0 || e->z.avail_out == 0 || flush == Z_FINISH);
  e->out->raw_len += e->stage_len;
  e->stage_len = 0;
}

static void put_u64(enc_t *e, uint64_t v) {
  if (e->stage_len > sizeof e->stage - 10) enc_drain(e, Z_NO_FLUSH);
  if (e->rc) return;
  while (v >= 0x80) {
    e->stage[e->stage_len++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  e->stage[e->stage_len++] = (uint8_t)v;
}

static void put_i64(enc_t *e, int64_t v) { /* zigzag */
  put_u64(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_bytes(enc_t *e, const char *s, size_t n) {
  while (n && !e->rc) {
    if (e->stage_len == sizeof e->stage) enc_drain(e, Z_NO_FLUSH);
    size_t k = sizeof e->stage - e->stage_len;
    if (k > n) k = n;
    memcpy(e->stage + e->stage_len, s, k);
    e->stage_len += k;
    s += k;
    n -= k;
  }
}

/* ---- columns ------------------------------------------------------------ */

#define REC(sel, k) (&(sel)->t->recs[(sel)->idx[k]])

static uint64_t inc_index(const dg_sel_t *sel, uint64_t inc) {
  size_t lo = 0, hi = sel->nincs;
  while (lo < hi) {
    size_t m = (lo + hi) / 2;
    if (sel->incs[m] < inc) lo = m + 1;
    else hi = m;
  }
  return lo;
}

static uint32_t kind_index(dg_strtab_t *st, const cohort_trace_rec_t *r) {
  if (r->kind || r->type > COHORT_EV_DROP || !r->kind_num) return dg_intern(st, r->kind);
  for (uint32_t k = 0; k < st->nums_len; k++) /* numbered kinds are rare */
    if ((uint32_t)atoi(st->nums[k] + 1) == r->kind_num) return dg_intern(st, st->nums[k]);
  if (st->nums_len == COHORT_ARRAY_LEN(st->nums)) return 1;
  snprintf(st->nums[st->nums_len], sizeof st->nums[0], "#%u", r->kind_num);
  return dg_intern(st, st->nums[st->nums_len++]);
}

/* dt, lane, type, inc, rank, send, lamport. */
static void cols_core(enc_t *e, const dg_sel_t *sel, uint64_t *prev_lam) {
  int64_t prev = 0;
  for (size_t k = 0; k < sel->n; k++) {
    int64_t dt = check_sub_sat(REC(sel, k)->true_ns, sel->t0);
    put_i64(e, check_sub_sat(dt, prev));
    prev = dt;
  }
  for (size_t k = 0; k < sel->n; k++) put_u64(e, sel->lane[sel->idx[k]]);
  for (size_t k = 0; k < sel->n; k++) put_u64(e, (uint64_t)REC(sel, k)->type);
  for (size_t k = 0; k < sel->n; k++) put_u64(e, inc_index(sel, REC(sel, k)->inc));
  prev = 0;
  for (size_t k = 0; k < sel->n; k++) {
    int64_t r = sel->rank[sel->idx[k]];
    put_i64(e, r - prev);
    prev = r;
  }
  for (size_t k = 0; k < sel->n; k++) {
    uint32_t s = sel->hb->send_of[sel->idx[k]];
    int64_t pos = s == COHORT_HB_NONE ? -1 : sel->newpos[s];
    put_u64(e, pos < 0 ? 0 : (((uint64_t)((int64_t)k - pos) << 1) ^
                               (uint64_t)(((int64_t)k - pos) >> 63)) + 1);
  }
  for (size_t k = 0; k < sel->n; k++) {
    const cohort_trace_rec_t *r = REC(sel, k);
    uint32_t l = sel->lane[sel->idx[k]];
    if (!r->has_stamps) {
      put_u64(e, 0);
      continue;
    }
    int64_t d = (int64_t)(r->lamport - prev_lam[l]);
    put_u64(e, (((uint64_t)d << 1) ^ (uint64_t)(d >> 63)) + 1);
    prev_lam[l] = r->lamport;
  }
}

/* proto, kind, what, reason, peer. */
static void cols_names(enc_t *e, const dg_sel_t *sel) {
  for (size_t k = 0; k < sel->n; k++) put_u64(e, dg_intern(sel->st, REC(sel, k)->proto));
  for (size_t k = 0; k < sel->n; k++) put_u64(e, kind_index(sel->st, REC(sel, k)));
  for (size_t k = 0; k < sel->n; k++) put_u64(e, dg_intern(sel->st, REC(sel, k)->what));
  for (size_t k = 0; k < sel->n; k++) put_u64(e, dg_intern(sel->st, REC(sel, k)->reason));
  for (size_t k = 0; k < sel->n; k++) {
    cohort_node_id_t p = REC(sel, k)->peer;
    put_u64(e, p == COHORT_NODE_NONE ? 0 : (uint64_t)p + 1);
  }
}

/* Message ids: kind (0 none, 1 from this event's own process, 2 other),
 * then from and inc of kind 2, then seq (delta per lane) of kinds 1, 2. */
static void cols_msg(enc_t *e, const dg_sel_t *sel, uint64_t *prev_seq) {
  for (size_t k = 0; k < sel->n; k++) {
    const cohort_trace_rec_t *r = REC(sel, k);
    put_u64(e, !r->has_msg ? 0 : r->msg.from == r->node && r->msg.inc == r->inc ? 1 : 2);
  }
  for (size_t k = 0; k < sel->n; k++) {
    const cohort_trace_rec_t *r = REC(sel, k);
    if (r->has_msg && !(r->msg.from == r->node && r->msg.inc == r->inc)) {
      put_u64(e, r->msg.from);
      put_u64(e, inc_index(sel, r->msg.inc));
    }
  }
  for (size_t k = 0; k < sel->n; k++) {
    const cohort_trace_rec_t *r = REC(sel, k);
    if (!r->has_msg) continue;
    uint32_t l = sel->lane[sel->idx[k]];
    put_i64(e, (int64_t)(r->msg.seq - prev_seq[l]));
    prev_seq[l] = r->msg.seq;
  }
}

/* hlc (stamped events), skew, bytes, line. */
static void cols_stamps(enc_t *e, const dg_sel_t *sel) {
  for (size_t k = 0; k < sel->n; k++) {
    const cohort_trace_rec_t *r = REC(sel, k);
    if (!r->has_stamps) continue;
    put_i64(e, check_sub_sat(r->hlc.l, r->local_ns));
    put_u64(e, r->hlc.c);
  }
  for (size_t k = 0; k < sel->n; k++)
    put_i64(e, check_sub_sat(REC(sel, k)->local_ns, REC(sel, k)->true_ns));
  for (size_t k = 0; k < sel->n; k++) put_u64(e, REC(sel, k)->bytes);
  int64_t prev = 0;
  for (size_t k = 0; k < sel->n; k++) {
    int64_t l = (int64_t)REC(sel, k)->line;
    put_i64(e, l - prev);
    prev = l;
  }
}

static size_t vc_text(const cohort_trace_rec_t *r, char *buf, size_t cap) {
  size_t n = 0;
  for (size_t j = 0; j < r->vc_len && n + 48 < cap; j++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%u:%llu", j ? " " : "", r->vc[j].node,
                          (unsigned long long)r->vc[j].counter);
  return n;
}

/* Lengths of the vc and data texts, then the texts themselves. */
static void cols_text(enc_t *e, const dg_sel_t *sel, char *vcbuf, size_t vccap) {
  for (size_t k = 0; k < sel->n; k++)
    put_u64(e, REC(sel, k)->vc ? vc_text(REC(sel, k), vcbuf, vccap) : 0);
  for (size_t k = 0; k < sel->n; k++) {
    const char *d = REC(sel, k)->data_json;
    put_u64(e, d ? strlen(d) : 0);
  }
  for (size_t k = 0; k < sel->n; k++)
    if (REC(sel, k)->vc) put_bytes(e, vcbuf, vc_text(REC(sel, k), vcbuf, vccap));
  for (size_t k = 0; k < sel->n; k++) {
    const char *d = REC(sel, k)->data_json;
    if (d) put_bytes(e, d, strlen(d));
  }
}

int dg_encode(const dg_sel_t *sel, const cohort_allocator_t *a, size_t limit, dg_blob_t *out,
              char *err, size_t errcap) {
  memset(out, 0, sizeof *out);
  enc_t *e = cohort_calloc(a, 1, sizeof *e);
  size_t lanes = 1, vccap = 48 * (COHORT_VCLOCK_ENTRIES_MAX + 1);
  for (size_t k = 0; k < sel->n; k++)
    if (sel->lane[sel->idx[k]] + 1 > lanes) lanes = sel->lane[sel->idx[k]] + 1u;
  uint64_t *prev = cohort_calloc(a, 2 * lanes, sizeof *prev);
  char *vcbuf = cohort_alloc(a, vccap);
  int rc = COHORT_ENOMEM;
  if (e && prev && vcbuf &&
      deflateInit2(&e->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
    e->out = out;
    e->a = a;
    e->limit = limit;
    cols_core(e, sel, prev);
    cols_names(e, sel);
    cols_msg(e, sel, prev + lanes);
    cols_stamps(e, sel);
    cols_text(e, sel, vcbuf, vccap);
    if (!e->rc) enc_drain(e, Z_FINISH);
    deflateEnd(&e->z);
    rc = e->rc;
  }
  if (rc == COHORT_EFULL && err)
    snprintf(err, errcap, "diagram: the page would pass %zu MB, more than a browser opens "
             "in reasonable time; draw a slice (--from/--to, --nodes, --protos, --kinds)",
             limit >> 20);
  if (rc) dg_blob_free(out, a);
  cohort_free(a, e);
  cohort_free(a, prev);
  cohort_free(a, vcbuf);
  return rc;
}

void dg_blob_free(dg_blob_t *b, const cohort_allocator_t *a) {
  cohort_free(a, b->gz);
  memset(b, 0, sizeof *b);
}
