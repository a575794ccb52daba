/*
 * tests/trace/diagram_decode.h — a second, independent reader of the
 * diagram page's event block (the columns of src/trace/diagram_enc.c, as
 * diagram.js reads them), so tests can compare every decoded field with
 * the trace it came from. Header-only, for the trace tests.
 */
#ifndef COHORT_TEST_DIAGRAM_DECODE_H
#define COHORT_TEST_DIAGRAM_DECODE_H

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct dd_ev {
  int64_t dt, rank, send, lamport, skew, line, hlcd, seq;
  uint64_t lane, type, inc, proto, kind, what, reason, bytes, hlcc, msgk, mfrom, minc;
  int64_t peer;
  char *vc, *data; /* NUL-terminated copies, "" when none */
} dd_ev_t;

typedef struct dd_page {
  size_t n;
  dd_ev_t *ev;
  uint8_t *raw;
  size_t raw_len, pos;
} dd_page_t;

static uint8_t *dd_unbase64(const char *b, size_t n, size_t *out_len) {
  static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t *bin = malloc(n / 4 * 3 + 3);
  size_t m = 0;
  for (size_t i = 0; i + 3 < n; i += 4) {
    uint32_t v = 0;
    size_t pad = 0;
    for (size_t k = 0; k < 4; k++) {
      const char *q = b[i + k] == '=' ? NULL : strchr(al, b[i + k]);
      pad += b[i + k] == '=';
      v = v << 6 | (uint32_t)(q ? q - al : 0);
    }
    bin[m++] = (uint8_t)(v >> 16);
    if (pad < 2) bin[m++] = (uint8_t)(v >> 8);
    if (pad < 1) bin[m++] = (uint8_t)v;
  }
  *out_len = m;
  return bin;
}

static uint8_t *dd_gunzip(const uint8_t *in, size_t n, size_t *out_len) {
  size_t cap = 1 << 20, len = 0;
  uint8_t *out = malloc(cap);
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16) != Z_OK) return NULL;
  z.next_in = (uint8_t *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  int zr;
  do {
    if (cap - len < 65536) out = realloc(out, cap *= 2);
    z.next_out = out + len;
    z.avail_out = (uInt)(cap - len);
    zr = inflate(&z, Z_NO_FLUSH);
    len = cap - z.avail_out;
  } while (zr == Z_OK);
  inflateEnd(&z);
  if (zr != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  *out_len = len;
  return out;
}

static uint64_t dd_u(dd_page_t *p) {
  uint64_t v = 0;
  for (int shift = 0; p->pos < p->raw_len && shift < 64; shift += 7) {
    uint8_t b = p->raw[p->pos++];
    v |= (uint64_t)(b & 127) << shift;
    if (b < 128) break;
  }
  return v;
}

static int64_t dd_zz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }
static int64_t dd_z(dd_page_t *p) { return dd_zz(dd_u(p)); }

static char *dd_text(dd_page_t *p, size_t len) {
  char *s = malloc(len + 1);
  memcpy(s, p->raw + p->pos, len);
  s[len] = '\0';
  p->pos += len;
  return s;
}

/* Columns in diagram_enc.c's order; lanes bounds the per-lane deltas. */
static void dd_columns(dd_page_t *p, size_t lanes) {
  size_t n = p->n;
  dd_ev_t *e = p->ev;
  int64_t acc = 0, *plam = calloc(lanes + 1, 8), *pseq = calloc(lanes + 1, 8);
  for (size_t i = 0; i < n; i++) e[i].dt = acc = (int64_t)((uint64_t)acc + (uint64_t)dd_z(p));
  for (size_t i = 0; i < n; i++) e[i].lane = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].type = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].inc = dd_u(p);
  acc = 0;
  for (size_t i = 0; i < n; i++) e[i].rank = acc += dd_z(p);
  for (size_t i = 0; i < n; i++) {
    uint64_t v = dd_u(p);
    e[i].send = v ? (int64_t)i - dd_zz(v - 1) : -1;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t v = dd_u(p);
    e[i].lamport = v ? (plam[e[i].lane] += dd_zz(v - 1)) : -1;
  }
  for (size_t i = 0; i < n; i++) e[i].proto = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].kind = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].what = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].reason = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].peer = (int64_t)dd_u(p) - 1;
  for (size_t i = 0; i < n; i++) e[i].msgk = dd_u(p);
  for (size_t i = 0; i < n; i++)
    if (e[i].msgk == 2) e[i].mfrom = dd_u(p), e[i].minc = dd_u(p);
  for (size_t i = 0; i < n; i++)
    if (e[i].msgk) e[i].seq = pseq[e[i].lane] += dd_z(p);
  for (size_t i = 0; i < n; i++)
    if (e[i].lamport >= 0) e[i].hlcd = dd_z(p), e[i].hlcc = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].skew = dd_z(p);
  for (size_t i = 0; i < n; i++) e[i].bytes = dd_u(p);
  acc = 0;
  for (size_t i = 0; i < n; i++) e[i].line = acc += dd_z(p);
  size_t *vl = calloc(n + 1, sizeof *vl), *dl = calloc(n + 1, sizeof *dl);
  for (size_t i = 0; i < n; i++) vl[i] = dd_u(p);
  for (size_t i = 0; i < n; i++) dl[i] = dd_u(p);
  for (size_t i = 0; i < n; i++) e[i].vc = dd_text(p, vl[i]);
  for (size_t i = 0; i < n; i++) e[i].data = dd_text(p, dl[i]);
  free(vl);
  free(dl);
  free(plam);
  free(pseq);
}

/* Decode the page: 0, or -1 if a block is missing or corrupt. Every byte
 * of the block must be consumed (p->pos == p->raw_len on success). */
static int dd_decode(const char *page, size_t n_events, size_t lanes, dd_page_t *p) {
  const char *open = "<script type=\"application/octet-stream\" id=\"data\">";
  const char *b = strstr(page, open);
  if (!b) return -1;
  b += strlen(open);
  const char *end = strstr(b, "</script>");
  size_t bin_len;
  uint8_t *bin = dd_unbase64(b, (size_t)(end - b), &bin_len);
  memset(p, 0, sizeof *p);
  p->raw = dd_gunzip(bin, bin_len, &p->raw_len);
  free(bin);
  if (!p->raw) return -1;
  p->n = n_events;
  p->ev = calloc(n_events + 1, sizeof *p->ev);
  dd_columns(p, lanes);
  return p->pos == p->raw_len ? 0 : -1;
}

static void dd_free(dd_page_t *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->ev[i].vc);
    free(p->ev[i].data);
  }
  free(p->ev);
  free(p->raw);
}

#endif
