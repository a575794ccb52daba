/*
 * src/rpc/wire.c — pure gRPC wire helpers: status names, grpc-timeout,
 * percent-encoding of grpc-message, base64 for -bin metadata, received
 * metadata tables, growable byte buffers and the message deframer.
 *
 * Invariants: nothing here does I/O or reads a clock; every function that
 * takes bytes from the network validates them and returns an error rather
 * than asserting; buffers never grow past the bound their caller passes.
 */
#include <string.h>

#include "internal.h"

/* ---- byte buffers ------------------------------------------------------- */

int rpc_bytes_reserve(rpc_bytes_t *b, const cohort_allocator_t *a, size_t extra) {
  if (b->cap - b->len >= extra) return 0;
  if (extra > SIZE_MAX / 2 - b->len) return COHORT_ENOMEM;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *p = cohort_realloc(a, b->data, cap);
  if (!p) return COHORT_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int rpc_bytes_append(rpc_bytes_t *b, const cohort_allocator_t *a, const void *data,
                     size_t len) {
  if (len == 0) return 0;
  int rc = rpc_bytes_reserve(b, a, len);
  if (rc) return rc;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

void rpc_bytes_free(rpc_bytes_t *b, const cohort_allocator_t *a) {
  if (b->data) cohort_free(a, b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void rpc_bytes_reset(rpc_bytes_t *b, const cohort_allocator_t *a, size_t keep) {
  if (b->cap > keep) rpc_bytes_free(b, a);
  b->len = 0;
}

/* ---- lists --------------------------------------------------------------- */

void rpc_list_init(rpc_link_t *head) { head->prev = head->next = head; }

void rpc_list_push(rpc_link_t *head, rpc_link_t *n) {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}

void rpc_list_remove(rpc_link_t *n) {
  if (!n->next) return;
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = NULL;
}

bool rpc_list_empty(const rpc_link_t *head) { return head->next == head; }

/* ---- status codes -------------------------------------------------------- */

static const char *const code_names[COHORT_RPC_CODE_COUNT] = {
    "OK",           "CANCELLED",           "UNKNOWN",   "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND",      "ALREADY_EXISTS", "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",           "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED"};

const char *cohort_rpc_code_name(int code) {
  if (code < 0 || code >= COHORT_RPC_CODE_COUNT) return "UNKNOWN_CODE";
  return code_names[code];
}

/* PROTOCOL-HTTP2 "Errors": RST_STREAM / GOAWAY codes seen by a client. */
cohort_rpc_code_t rpc_code_from_h2(uint32_t e) {
  switch (e) {
  case NGHTTP2_REFUSED_STREAM: return COHORT_RPC_UNAVAILABLE;
  case NGHTTP2_CANCEL: return COHORT_RPC_CANCELLED;
  case NGHTTP2_ENHANCE_YOUR_CALM: return COHORT_RPC_RESOURCE_EXHAUSTED;
  case NGHTTP2_INADEQUATE_SECURITY: return COHORT_RPC_PERMISSION_DENIED;
  default: return COHORT_RPC_INTERNAL; /* NO_ERROR, PROTOCOL_ERROR, ... */
  }
}

/* gRPC's http-grpc-status-mapping.md. */
cohort_rpc_code_t rpc_code_from_http(int s) {
  switch (s) {
  case 400: return COHORT_RPC_INTERNAL;
  case 401: return COHORT_RPC_UNAUTHENTICATED;
  case 403: return COHORT_RPC_PERMISSION_DENIED;
  case 404: return COHORT_RPC_UNIMPLEMENTED;
  case 429:
  case 502:
  case 503:
  case 504: return COHORT_RPC_UNAVAILABLE;
  default: return COHORT_RPC_UNKNOWN;
  }
}

/* ---- grpc-timeout ------------------------------------------------------- */

int cohort_rpc_timeout_parse(const char *s, size_t len, int64_t *ns) {
  if (!s || len < 2 || len > 9) return COHORT_EPROTO;
  int64_t v = 0;
  for (size_t i = 0; i + 1 < len; i++) {
    if (s[i] < '0' || s[i] > '9') return COHORT_EPROTO;
    v = v * 10 + (s[i] - '0');
  }
  int64_t mul;
  switch (s[len - 1]) {
  case 'H': mul = 3600 * COHORT_NS_PER_S; break;
  case 'M': mul = 60 * COHORT_NS_PER_S; break;
  case 'S': mul = COHORT_NS_PER_S; break;
  case 'm': mul = COHORT_NS_PER_MS; break;
  case 'u': mul = 1000; break;
  case 'n': mul = 1; break;
  default: return COHORT_EPROTO;
  }
  *ns = v > INT64_MAX / mul ? INT64_MAX : v * mul; /* 99999999H overflows */
  return 0;
}

size_t cohort_rpc_timeout_format(int64_t ns, char buf[10]) {
  static const struct {
    int64_t div;
    char unit;
  } units[] = {{1, 'n'}, {1000, 'u'}, {COHORT_NS_PER_MS, 'm'}, {COHORT_NS_PER_S, 'S'},
               {60 * COHORT_NS_PER_S, 'M'}, {3600 * COHORT_NS_PER_S, 'H'}};
  if (ns < 1) ns = 1;
  size_t i = 0;
  int64_t v = ns;
  for (; i < COHORT_ARRAY_LEN(units); i++) {
    v = ns / units[i].div + (ns % units[i].div != 0); /* round up: never shorter */
    if (v <= 99999999) break;
  }
  if (i == COHORT_ARRAY_LEN(units)) {
    i--;
    v = 99999999;
  }
  char tmp[12];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (size_t k = 0; k < n; k++) buf[k] = tmp[n - 1 - k];
  buf[n] = units[i].unit;
  buf[n + 1] = '\0';
  return n + 1;
}

/* ---- percent-encoding (grpc-message) ------------------------------------- */

static const char hexdig[] = "0123456789ABCDEF";

int rpc_percent_encode(rpc_bytes_t *out, const cohort_allocator_t *a, const char *s,
                       size_t len) {
  int rc = rpc_bytes_reserve(out, a, len * 3);
  if (rc) return rc;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out->data[out->len++] = c;
    } else {
      out->data[out->len++] = '%';
      out->data[out->len++] = (uint8_t)hexdig[c >> 4];
      out->data[out->len++] = (uint8_t)hexdig[c & 15];
    }
  }
  return 0;
}

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int rpc_percent_decode(rpc_bytes_t *out, const cohort_allocator_t *a, const uint8_t *s,
                       size_t len) {
  int rc = rpc_bytes_reserve(out, a, len + 1);
  if (rc) return rc;
  for (size_t i = 0; i < len; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < len &&
        (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
      out->data[out->len++] = (uint8_t)(hi << 4 | lo);
      i += 2;
    } else {
      out->data[out->len++] = s[i]; /* spec: keep malformed escapes */
    }
  }
  out->data[out->len] = '\0';
  return 0;
}

/* ---- base64 ---------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int rpc_base64_encode(rpc_bytes_t *out, const cohort_allocator_t *a, const uint8_t *s,
                      size_t len) {
  int rc = rpc_bytes_reserve(out, a, (len + 2) / 3 * 4 + 1);
  if (rc) return rc;
  uint8_t *o = out->data + out->len;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *o++ = (uint8_t)b64[v >> 18];
    *o++ = (uint8_t)b64[(v >> 12) & 63];
    *o++ = (uint8_t)b64[(v >> 6) & 63];
    *o++ = (uint8_t)b64[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)s[i] << 16;
    *o++ = (uint8_t)b64[v >> 18];
    *o++ = (uint8_t)b64[(v >> 12) & 63];
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
    *o++ = (uint8_t)b64[v >> 18];
    *o++ = (uint8_t)b64[(v >> 12) & 63];
    *o++ = (uint8_t)b64[(v >> 6) & 63];
  }
  out->len = (size_t)(o - out->data);
  return 0;
}

static int b64val(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62; /* accept the URL alphabet too */
  if (c == '/' || c == '_') return 63;
  return -1;
}

int rpc_base64_decode(rpc_bytes_t *out, const cohort_allocator_t *a, const uint8_t *s,
                      size_t len) {
  while (len > 0 && s[len - 1] == '=') len--;
  if (len % 4 == 1) return COHORT_EPROTO;
  int rc = rpc_bytes_reserve(out, a, len / 4 * 3 + 3);
  if (rc) return rc;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = out->len;
  for (size_t i = 0; i < len; i++) {
    int v = b64val(s[i]);
    if (v < 0) return COHORT_EPROTO;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->data[n++] = (uint8_t)(acc >> bits);
    }
  }
  out->len = n;
  return 0;
}

/* ---- metadata ------------------------------------------------------------------ */

/* grpc-status-details-bin: the one grpc- key an application sends and
 * receives (rich error details, a serialized google.rpc.Status). */
bool rpc_md_is_details(const char *k, size_t len) {
  return len == 23 && memcmp(k, "grpc-status-details-bin", 23) == 0;
}

bool rpc_md_key_valid(const char *k, size_t len) {
  if (len == 0 || len > 255) return false;
  for (size_t i = 0; i < len; i++) {
    char c = k[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  }
  if (len >= 5 && memcmp(k, "grpc-", 5) == 0 && !rpc_md_is_details(k, len)) return false;
  static const char *const banned[] = {"content-type", "te", "user-agent",
                                       "content-length", "connection", "host"};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(banned); i++)
    if (strlen(banned[i]) == len && memcmp(banned[i], k, len) == 0) return false;
  return true;
}

bool rpc_md_is_bin(const char *k, size_t len) {
  return len > 4 && memcmp(k + len - 4, "-bin", 4) == 0;
}

bool rpc_md_value_valid(const uint8_t *v, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (v[i] < 0x20 || v[i] > 0x7e) return false;
  return true;
}

bool rpc_md_reserved(const uint8_t *k, size_t kl) {
  if (kl == 0 || k[0] == ':') return true;
  if (kl >= 5 && memcmp(k, "grpc-", 5) == 0) return !rpc_md_is_details((const char *)k, kl);
  static const char *const skip[] = {"content-type", "te", "user-agent"};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(skip); i++)
    if (strlen(skip[i]) == kl && memcmp(skip[i], k, kl) == 0) return true;
  return false;
}

int rpc_md_add(rpc_md_t *m, const cohort_allocator_t *a, const uint8_t *k, size_t kl,
               const uint8_t *v, size_t vl) {
  if (m->count >= COHORT_RPC_METADATA_ENTRIES_MAX) return COHORT_EFULL;
  if (m->arena.len + kl + vl + 2 > COHORT_RPC_METADATA_MAX) return COHORT_EFULL;
  size_t mark = m->arena.len;
  rpc_md_slot_t *s = &m->slot[m->count];
  s->key_off = (uint32_t)m->arena.len;
  int rc = rpc_bytes_append(&m->arena, a, k, kl);
  if (!rc) rc = rpc_bytes_append(&m->arena, a, "", 1);
  if (rc) goto fail;
  s->val_off = (uint32_t)m->arena.len;
  if (rpc_md_is_bin((const char *)k, kl))
    rc = rpc_base64_decode(&m->arena, a, v, vl);
  else
    rc = rpc_bytes_append(&m->arena, a, v, vl);
  if (!rc) rc = rpc_bytes_append(&m->arena, a, "", 1); /* NUL for convenience */
  if (rc) goto fail;
  s->val_len = (uint32_t)(m->arena.len - 1 - s->val_off);
  m->count++;
  m->ready = false;
  return 0;
fail:
  m->arena.len = mark;
  return rc;
}

void rpc_md_finish(rpc_md_t *m) {
  for (uint32_t i = 0; i < m->count; i++) {
    m->entry[i].key = (const char *)m->arena.data + m->slot[i].key_off;
    m->entry[i].value = m->arena.data + m->slot[i].val_off;
    m->entry[i].value_len = m->slot[i].val_len;
  }
  m->ready = true;
}

void rpc_md_reset(rpc_md_t *m, const cohort_allocator_t *a) {
  rpc_bytes_reset(&m->arena, a, 4096);
  m->count = 0;
  m->ready = false;
}

/* Whether the comma-separated list `v` names `enc` (grpc-accept-encoding). */
bool rpc_encoding_listed(const uint8_t *v, size_t vl, const char *enc) {
  size_t el = strlen(enc), i = 0;
  while (i < vl) {
    while (i < vl && (v[i] == ' ' || v[i] == ',')) i++;
    size_t j = i;
    while (j < vl && v[j] != ',' && v[j] != ' ') j++;
    if (j - i == el && memcmp(v + i, enc, el) == 0) return true;
    i = j;
  }
  return false;
}

/* ---- deframer --------------------------------------------------------------------- */

bool rpc_deframer_partial(const rpc_deframer_t *d) { return d->head_len > 0 || d->in_body; }

void rpc_deframer_reset(rpc_deframer_t *d, const cohort_allocator_t *a) {
  d->head_len = 0;
  d->need = 0;
  d->in_body = false;
  d->gzip_ok = d->compressed = false;
  rpc_bytes_reset(&d->body, a, 65536);
}

/* Validate a complete 5-byte prefix; sets d->need. */
static int deframe_head(rpc_deframer_t *d, size_t max) {
  if (d->head[0] == 1 && !d->gzip_ok) return RPC_DEFRAME_COMPRESSED;
  if (d->head[0] > 1) return RPC_DEFRAME_BAD_FLAG;
  d->compressed = d->head[0] == 1;
  uint32_t n = (uint32_t)d->head[1] << 24 | (uint32_t)d->head[2] << 16 |
               (uint32_t)d->head[3] << 8 | d->head[4];
  if (n > max) return RPC_DEFRAME_TOO_LARGE;
  d->need = n;
  return 0;
}

int rpc_deframe(rpc_deframer_t *d, const cohort_allocator_t *a, size_t max,
                const uint8_t *p, size_t n, rpc_deframe_fn fn, void *ud) {
  while (n > 0 || (d->head_len == 5 && !d->in_body)) {
    if (!d->in_body) {
      if (d->head_len < 5) {
        size_t take = 5u - d->head_len < n ? 5u - d->head_len : n;
        memcpy(d->head + d->head_len, p, take);
        d->head_len = (uint8_t)(d->head_len + take);
        p += take;
        n -= take;
        if (d->head_len < 5) return 0;
      }
      int rc = deframe_head(d, max);
      if (rc) return rc;
      if (d->need <= n) { /* whole body here: deliver in place */
        size_t len = d->need;
        d->head_len = 0;
        if (fn(ud, p, len)) return RPC_DEFRAME_STOP;
        p += len;
        n -= len;
        continue;
      }
      d->in_body = true;
      d->body.len = 0;
    }
    size_t take = d->need < n ? d->need : n;
    /* Grow with the bytes that actually arrived (bounded by the flow-control
     * window), not with the length the peer claims. */
    if (rpc_bytes_reserve(&d->body, a, take)) return RPC_DEFRAME_NOMEM;
    if (take) memcpy(d->body.data + d->body.len, p, take);
    d->body.len += take;
    d->need -= (uint32_t)take;
    p += take;
    n -= take;
    if (d->need > 0) return 0;
    d->in_body = false;
    d->head_len = 0;
    if (fn(ud, d->body.data, d->body.len)) return RPC_DEFRAME_STOP;
  }
  return 0;
}
