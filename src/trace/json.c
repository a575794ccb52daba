/*
 * src/trace/json.c — a small, strict JSON reader (RFC 8259) over a byte
 * range, enough for trace records: strings with every escape, integers
 * without loss (int64/uint64 are parsed by hand, never through double),
 * numbers, and skipping of any value so unknown fields can be ignored.
 *
 * Invariants: the cursor never reads past `end` and never needs a NUL;
 * recursion is bounded by JSON_DEPTH_MAX; failures return COHORT_EPROTO
 * with a static reason and leave the cursor somewhere inside the input.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int fail(json_cursor_t *c, const char *why) {
  c->why = why;
  return COHORT_EPROTO;
}

void json_ws(json_cursor_t *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

int json_expect(json_cursor_t *c, char ch) {
  json_ws(c);
  if (c->p >= c->end) return fail(c, "unexpected end of line");
  if (*c->p != ch) {
    switch (ch) {
    case '{': return fail(c, "expected '{'");
    case '}': return fail(c, "expected '}'");
    case ':': return fail(c, "expected ':'");
    case ',': return fail(c, "expected ','");
    case '[': return fail(c, "expected '['");
    case ']': return fail(c, "expected ']'");
    default: return fail(c, "unexpected character");
    }
  }
  c->p++;
  return 0;
}

int json_string_raw(json_cursor_t *c, const char **raw, size_t *raw_len,
                    bool *escaped) {
  json_ws(c);
  if (c->p >= c->end || *c->p != '"') return fail(c, "expected a string");
  const char *s = ++c->p;
  bool esc = false;
  while (c->p < c->end) {
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') {
      *raw = s;
      *raw_len = (size_t)(c->p - s);
      *escaped = esc;
      c->p++;
      return 0;
    }
    if (ch < 0x20) return fail(c, "control character in string");
    if (ch == '\\') {
      esc = true;
      if (++c->p >= c->end) break;
    }
    c->p++;
  }
  return fail(c, "unterminated string");
}

static int hex4(const char *s, const char *end, unsigned *out) {
  if (end - s < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char h = s[i];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* One \u escape (possibly a surrogate pair) at s (just past "\u"). Writes
 * UTF-8 to o; returns input bytes consumed after "\u", or -1. A \uXXXX is
 * 6 input bytes and at most 3 output bytes; a pair is 12 in, 4 out. */
static int unescape_u(const char *s, const char *end, char *o, size_t *olen) {
  unsigned cp, lo;
  if (hex4(s, end, &cp)) return -1;
  if (cp == 0) return -1; /* NUL cannot live in a C string */
  if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;
  if (cp < 0xD800 || cp > 0xDBFF) {
    *olen = put_utf8(o, cp);
    return 4;
  }
  if (end - s < 10 || s[4] != '\\' || s[5] != 'u' || hex4(s + 6, end, &lo) ||
      lo < 0xDC00 || lo > 0xDFFF)
    return -1;
  *olen = put_utf8(o, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
  return 10;
}

int json_unescape(const char *raw, size_t raw_len, char *out, const char **why) {
  const char *s = raw, *end = raw + raw_len;
  char *o = out;
  while (s < end) {
    if (*s != '\\') {
      *o++ = *s++;
      continue;
    }
    if (++s >= end) goto bad;
    char e = *s++;
    switch (e) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      size_t n = 0;
      int used = unescape_u(s, end, o, &n);
      if (used < 0) goto bad;
      s += used;
      o += n;
      break;
    }
    default: goto bad;
    }
  }
  *o = '\0';
  if ((size_t)(o - out) > (size_t)INT32_MAX) goto bad;
  return (int)(o - out);
bad:
  *why = "bad escape in string";
  return COHORT_EPROTO;
}

static int digits(json_cursor_t *c, uint64_t *out) {
  if (c->p >= c->end || *c->p < '0' || *c->p > '9') return fail(c, "expected a number");
  if (*c->p == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9')
    return fail(c, "leading zero in number");
  uint64_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    unsigned d = (unsigned)(*c->p - '0');
    if (v > (UINT64_MAX - d) / 10) return fail(c, "integer out of range");
    v = v * 10 + d;
    c->p++;
  }
  if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
    return fail(c, "expected an integer");
  *out = v;
  return 0;
}

int json_u64(json_cursor_t *c, uint64_t *out) {
  json_ws(c);
  if (c->p < c->end && *c->p == '-') return fail(c, "negative value");
  return digits(c, out);
}

int json_i64(json_cursor_t *c, int64_t *out) {
  json_ws(c);
  bool neg = c->p < c->end && *c->p == '-';
  if (neg) c->p++;
  uint64_t v;
  int rc = digits(c, &v);
  if (rc) return rc;
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
    return fail(c, "integer out of range");
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

int json_number(json_cursor_t *c, double *out) {
  json_ws(c);
  const char *s = c->p;
  if (c->p < c->end && *c->p == '-') c->p++;
  if (c->p >= c->end || *c->p < '0' || *c->p > '9') return fail(c, "expected a number");
  while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') || *c->p == '.' ||
                           *c->p == 'e' || *c->p == 'E' || *c->p == '+' ||
                           *c->p == '-'))
    c->p++;
  char tmp[64];
  size_t n = (size_t)(c->p - s);
  if (n >= sizeof tmp) return fail(c, "number too long");
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  char *e = NULL;
  errno = 0;
  double v = strtod(tmp, &e);
  if (e != tmp + n || !isfinite(v)) return fail(c, "malformed number");
  *out = v;
  return 0;
}

static int skip_depth(json_cursor_t *c, int depth);

static int skip_container(json_cursor_t *c, char close, bool keys, int depth) {
  c->p++;
  json_ws(c);
  if (c->p < c->end && *c->p == close) {
    c->p++;
    return 0;
  }
  for (;;) {
    const char *raw;
    size_t n;
    bool esc;
    if (keys && (json_string_raw(c, &raw, &n, &esc) || json_expect(c, ':')))
      return COHORT_EPROTO;
    if (skip_depth(c, depth + 1)) return COHORT_EPROTO;
    json_ws(c);
    if (c->p < c->end && *c->p == close) {
      c->p++;
      return 0;
    }
    if (json_expect(c, ',')) return COHORT_EPROTO;
  }
}

static int literal(json_cursor_t *c, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n)) return fail(c, "bad literal");
  c->p += n;
  return 0;
}

static int skip_depth(json_cursor_t *c, int depth) {
  if (depth > JSON_DEPTH_MAX) return fail(c, "nested too deeply");
  json_ws(c);
  if (c->p >= c->end) return fail(c, "unexpected end of line");
  const char *raw;
  size_t n;
  bool esc;
  double d;
  switch (*c->p) {
  case '{': return skip_container(c, '}', true, depth);
  case '[': return skip_container(c, ']', false, depth);
  case '"': {
    if (json_string_raw(c, &raw, &n, &esc)) return COHORT_EPROTO;
    if (!esc) return 0;
    /* validate the escapes without keeping the text */
    for (size_t i = 0; i < n; i++) {
      if (raw[i] != '\\') continue;
      char e = raw[++i];
      unsigned u;
      if (e == 'u' && hex4(raw + i + 1, raw + n, &u)) return fail(c, "bad escape in string");
      if (!strchr("\"\\/bfnrtu", e)) return fail(c, "bad escape in string");
    }
    return 0;
  }
  case 't': return literal(c, "true");
  case 'f': return literal(c, "false");
  case 'n': return literal(c, "null");
  default: return json_number(c, &d);
  }
}

int json_skip(json_cursor_t *c) { return skip_depth(c, 0); }

static bool key_equals(const char *raw, size_t n, bool esc, const char *key) {
  if (!esc) return strlen(key) == n && !memcmp(raw, key, n);
  char tmp[256];
  const char *why;
  if (n >= sizeof tmp) return false;
  int len = json_unescape(raw, n, tmp, &why);
  return len >= 0 && !strcmp(tmp, key);
}

int json_find_key(json_cursor_t *c, const char *key) {
  if (json_expect(c, '{')) return COHORT_EPROTO;
  json_ws(c);
  if (c->p < c->end && *c->p == '}') return COHORT_ENOTFOUND;
  for (;;) {
    const char *raw;
    size_t n;
    bool esc;
    if (json_string_raw(c, &raw, &n, &esc) || json_expect(c, ':')) return COHORT_EPROTO;
    if (key_equals(raw, n, esc, key)) {
      json_ws(c);
      return 0;
    }
    if (json_skip(c)) return COHORT_EPROTO;
    json_ws(c);
    if (c->p < c->end && *c->p == '}') return COHORT_ENOTFOUND;
    if (json_expect(c, ',')) return COHORT_EPROTO;
  }
}
