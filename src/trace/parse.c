/*
 * src/trace/parse.c — the trace reader: JSON Lines records into
 * cohort_trace_rec_t, with every string and vector clock copied into an
 * arena owned by the trace.
 *
 * Invariants: a line either parses completely and appends one record, or
 * fails with COHORT_EPROTO/COHORT_ENOMEM and leaves the trace exactly as it
 * was (the arena is rolled back to its mark). Unknown fields are skipped;
 * known fields are type-checked and may appear once. Every allocation
 * goes through the trace's allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/trace_util.h"
#include "json.h"

/* ---- arena --------------------------------------------------------------- */

#define ARENA_BLOCK_MIN 65536

typedef struct arena_block {
  struct arena_block *prev;
  size_t used, cap;
  _Alignas(16) char data[];
} arena_block_t;

typedef struct arena {
  const cohort_allocator_t *alloc;
  arena_block_t *head;
} arena_t;

typedef struct arena_mark {
  arena_block_t *head;
  size_t used;
} arena_mark_t;

static arena_t *arena_get(cohort_trace_t *t) {
  if (!t->arena) {
    arena_t *a = cohort_calloc(cohort_allocator_default(), 1, sizeof *a);
    if (!a) return NULL;
    a->alloc = cohort_allocator_default();
    t->arena = a;
  }
  return t->arena;
}

static void *arena_alloc(arena_t *a, size_t n, size_t align) {
  arena_block_t *b = a->head;
  if (b) {
    size_t off = (b->used + align - 1) & ~(align - 1);
    if (off <= b->cap && b->cap - off >= n) {
      b->used = off + n;
      return b->data + off;
    }
  }
  size_t cap = n > ARENA_BLOCK_MIN ? n : ARENA_BLOCK_MIN;
  if (cap > SIZE_MAX - sizeof *b) return NULL;
  b = cohort_alloc(a->alloc, sizeof *b + cap);
  if (!b) return NULL;
  b->prev = a->head;
  b->used = n;
  b->cap = cap;
  a->head = b;
  return b->data;
}

static arena_mark_t arena_mark(const arena_t *a) {
  return (arena_mark_t){a->head, a->head ? a->head->used : 0};
}

static void arena_rollback(arena_t *a, arena_mark_t m) {
  while (a->head && a->head != m.head) {
    arena_block_t *prev = a->head->prev;
    cohort_free(a->alloc, a->head);
    a->head = prev;
  }
  if (a->head) a->head->used = m.used;
}

void cohort_trace_init(cohort_trace_t *t) { memset(t, 0, sizeof *t); }

int cohort_trace_init_alloc(cohort_trace_t *t, const cohort_allocator_t *alloc) {
  memset(t, 0, sizeof *t);
  arena_t *a = cohort_calloc(alloc, 1, sizeof *a);
  if (!a) return COHORT_ENOMEM;
  a->alloc = alloc;
  t->arena = a;
  return 0;
}

void cohort_trace_close(cohort_trace_t *t) {
  if (!t) return;
  arena_t *a = t->arena;
  const cohort_allocator_t *alloc = a ? a->alloc : cohort_allocator_default();
  if (a) {
    arena_rollback(a, (arena_mark_t){NULL, 0});
    cohort_free(alloc, a);
  }
  cohort_free(alloc, t->recs);
  memset(t, 0, sizeof *t);
}

/* ---- one record ------------------------------------------------------------ */

enum {
  F_EV, F_NODE, F_INC, F_LT, F_TT, F_LAMPORT, F_HLC, F_VC, F_PROTO, F_KIND,
  F_PEER, F_MSG, F_BYTES, F_REASON, F_WHAT, F_DATA, F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "ev", "node", "inc", "lt", "tt", "lamport", "hlc", "vc", "proto", "kind",
    "peer", "msg", "bytes", "reason", "what", "data"};

typedef struct parser {
  json_cursor_t c;
  arena_t *arena;
  cohort_trace_rec_t *r;
  const char *why;   /* reason when not from the cursor */
  const char *field; /* field being parsed, for the message */
  bool oom;
} parser_t;

static int perr(parser_t *ps, const char *why) {
  ps->why = why;
  return COHORT_EPROTO;
}

static int read_str(parser_t *ps, const char **out) {
  const char *raw;
  size_t n;
  bool esc;
  if (json_string_raw(&ps->c, &raw, &n, &esc)) return COHORT_EPROTO;
  char *s = arena_alloc(ps->arena, n + 1, 1);
  if (!s) {
    ps->oom = true;
    return COHORT_ENOMEM;
  }
  if (!esc) {
    memcpy(s, raw, n);
    s[n] = '\0';
  } else if (json_unescape(raw, n, s, &ps->why) < 0) {
    return COHORT_EPROTO;
  }
  *out = s;
  return 0;
}

static int read_node(parser_t *ps, cohort_node_id_t *out) {
  uint64_t v;
  if (json_u64(&ps->c, &v)) return COHORT_EPROTO;
  if (v >= COHORT_NODE_NONE) return perr(ps, "node id out of range");
  *out = (cohort_node_id_t)v;
  return 0;
}

static int read_ev(parser_t *ps) {
  const char *raw;
  size_t n;
  bool esc;
  if (json_string_raw(&ps->c, &raw, &n, &esc)) return COHORT_EPROTO;
  for (int t = 0; t < COHORT_EV_TYPE_COUNT; t++) {
    const char *name = cohort_ev_type_name((cohort_ev_type_t)t);
    if (!esc && strlen(name) == n && !memcmp(name, raw, n)) {
      ps->r->type = (cohort_ev_type_t)t;
      return 0;
    }
  }
  return perr(ps, "unknown event type");
}

static int read_hlc(parser_t *ps) {
  int64_t l;
  uint64_t c;
  if (json_expect(&ps->c, '[') || json_i64(&ps->c, &l) || json_expect(&ps->c, ',') ||
      json_u64(&ps->c, &c) || json_expect(&ps->c, ']'))
    return COHORT_EPROTO;
  if (c > UINT32_MAX) return perr(ps, "hlc counter out of range");
  ps->r->hlc = (cohort_hlc_ts_t){l, (uint32_t)c};
  return 0;
}

/* Decimal uint at *s up to `stop` (or the end); advances *s. */
static int msg_part(const char **s, const char *end, char stop, uint64_t *out) {
  uint64_t v = 0;
  const char *p = *s;
  if (p >= end || *p < '0' || *p > '9') return -1;
  for (; p < end && *p != stop; p++) {
    if (*p < '0' || *p > '9') return -1;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *s = p;
  *out = v;
  return 0;
}

static int read_msg(parser_t *ps) {
  const char *raw;
  size_t n;
  bool esc;
  if (json_string_raw(&ps->c, &raw, &n, &esc)) return COHORT_EPROTO;
  const char *s = raw, *end = raw + n;
  uint64_t from, inc, seq;
  if (esc || msg_part(&s, end, '.', &from) || s >= end || *s++ != '.' ||
      msg_part(&s, end, '.', &inc) || s >= end || *s++ != '.' ||
      msg_part(&s, end, '\0', &seq) || s != end || from >= COHORT_NODE_NONE)
    return perr(ps, "message id is not \"from.inc.seq\"");
  ps->r->msg = (cohort_msg_id_t){(cohort_node_id_t)from, inc, seq};
  ps->r->has_msg = true;
  return 0;
}

static int vc_entry(parser_t *ps, cohort_vc_entry_t *e) {
  const char *raw;
  size_t n;
  bool esc;
  if (json_string_raw(&ps->c, &raw, &n, &esc)) return COHORT_EPROTO;
  const char *s = raw, *end = raw + n;
  uint64_t node, inc = 0;
  /* "ID" (a node without incarnations) or "ID.INC" (one process each). */
  if (esc || msg_part(&s, end, '.', &node) || node >= COHORT_NODE_NONE ||
      (s < end && (*s++ != '.' || msg_part(&s, end, '\0', &inc) || s != end || inc == 0)))
    return perr(ps, "vc key is not \"node\" or \"node.inc\"");
  if (json_expect(&ps->c, ':') || json_u64(&ps->c, &e->counter)) return COHORT_EPROTO;
  e->node = (cohort_node_id_t)node;
  e->inc = inc;
  return 0;
}

static int vc_store(parser_t *ps, cohort_vc_entry_t *tmp, size_t len) {
  for (size_t i = 1; i < len; i++) { /* insertion sort: writers sort already */
    cohort_vc_entry_t x = tmp[i];
    size_t j = i;
    for (; j > 0 && (tmp[j - 1].node > x.node ||
                     (tmp[j - 1].node == x.node && tmp[j - 1].inc > x.inc));
         j--)
      tmp[j] = tmp[j - 1];
    tmp[j] = x;
  }
  size_t kept = 0;
  for (size_t i = 0; i < len; i++) {
    if (i && tmp[i].node == tmp[i - 1].node && tmp[i].inc == tmp[i - 1].inc)
      return perr(ps, "duplicate process in vc");
    if (tmp[i].counter) tmp[kept++] = tmp[i]; /* absent means 0 */
  }
  cohort_vc_entry_t *v = arena_alloc(ps->arena, kept * sizeof *v + 1, _Alignof(cohort_vc_entry_t));
  if (!v) {
    ps->oom = true;
    return COHORT_ENOMEM;
  }
  memcpy(v, tmp, kept * sizeof *v);
  ps->r->vc = v;
  ps->r->vc_len = kept;
  return 0;
}

static int read_vc(parser_t *ps) {
  static _Thread_local cohort_vc_entry_t tmp[COHORT_VCLOCK_ENTRIES_MAX];
  size_t len = 0;
  if (json_expect(&ps->c, '{')) return COHORT_EPROTO;
  json_ws(&ps->c);
  if (ps->c.p < ps->c.end && *ps->c.p == '}') {
    ps->c.p++;
    return vc_store(ps, tmp, 0);
  }
  for (;;) {
    if (len == COHORT_VCLOCK_ENTRIES_MAX) return perr(ps, "too many vc entries");
    if (vc_entry(ps, &tmp[len++])) return COHORT_EPROTO;
    json_ws(&ps->c);
    if (ps->c.p < ps->c.end && *ps->c.p == '}') {
      ps->c.p++;
      return vc_store(ps, tmp, len);
    }
    if (json_expect(&ps->c, ',')) return COHORT_EPROTO;
  }
}

static int read_kind(parser_t *ps) {
  json_ws(&ps->c);
  if (ps->c.p < ps->c.end && *ps->c.p == '"') return read_str(ps, &ps->r->kind);
  uint64_t v;
  if (json_u64(&ps->c, &v)) return COHORT_EPROTO;
  if (v > UINT32_MAX) return perr(ps, "kind number out of range");
  ps->r->kind_num = (uint32_t)v;
  return 0;
}

static int read_data(parser_t *ps) {
  json_ws(&ps->c);
  const char *start = ps->c.p;
  if (start >= ps->c.end || *start != '{') return perr(ps, "data is not an object");
  if (json_skip(&ps->c)) return COHORT_EPROTO;
  size_t n = (size_t)(ps->c.p - start);
  char *s = arena_alloc(ps->arena, n + 1, 1);
  if (!s) {
    ps->oom = true;
    return COHORT_ENOMEM;
  }
  memcpy(s, start, n);
  s[n] = '\0';
  ps->r->data_json = s;
  return 0;
}

static int read_field(parser_t *ps, int f) {
  cohort_trace_rec_t *r = ps->r;
  uint64_t u;
  switch (f) {
  case F_EV: return read_ev(ps);
  case F_NODE: return read_node(ps, &r->node);
  case F_INC: return json_u64(&ps->c, &r->inc);
  case F_LT: return json_i64(&ps->c, &r->local_ns);
  case F_TT: return json_i64(&ps->c, &r->true_ns);
  case F_LAMPORT: return json_u64(&ps->c, &r->lamport);
  case F_HLC: return read_hlc(ps);
  case F_VC: return read_vc(ps);
  case F_PROTO: return read_str(ps, &r->proto);
  case F_KIND: return read_kind(ps);
  case F_PEER: return read_node(ps, &r->peer);
  case F_MSG: return read_msg(ps);
  case F_BYTES:
    if (json_u64(&ps->c, &u)) return COHORT_EPROTO;
    if (u > SIZE_MAX) return perr(ps, "bytes out of range");
    r->bytes = (size_t)u;
    return 0;
  case F_REASON: return read_str(ps, &r->reason);
  case F_WHAT: return read_str(ps, &r->what);
  case F_DATA: return read_data(ps);
  default: return json_skip(&ps->c);
  }
}

static int field_index(const char *raw, size_t n, bool esc) {
  if (esc) return F_COUNT; /* our field names need no escapes */
  for (int f = 0; f < F_COUNT; f++)
    if (strlen(field_names[f]) == n && !memcmp(field_names[f], raw, n)) return f;
  return F_COUNT;
}

static int parse_members(parser_t *ps, unsigned *seen) {
  if (json_expect(&ps->c, '{')) return COHORT_EPROTO;
  json_ws(&ps->c);
  if (ps->c.p < ps->c.end && *ps->c.p == '}') return perr(ps, "empty record");
  for (;;) {
    const char *raw;
    size_t n;
    bool esc;
    if (json_string_raw(&ps->c, &raw, &n, &esc) || json_expect(&ps->c, ':'))
      return COHORT_EPROTO;
    int f = field_index(raw, n, esc);
    if (f < F_COUNT) {
      if (*seen & (1u << f)) return perr(ps, "duplicate field");
      *seen |= 1u << f;
      ps->field = field_names[f];
    }
    int rc = read_field(ps, f);
    if (rc) return rc;
    ps->field = NULL;
    json_ws(&ps->c);
    if (ps->c.p < ps->c.end && *ps->c.p == '}') break;
    if (json_expect(&ps->c, ',')) return COHORT_EPROTO;
  }
  ps->c.p++;
  json_ws(&ps->c);
  if (ps->c.p != ps->c.end) return perr(ps, "text after the record");
  return 0;
}

static int check_required(parser_t *ps, unsigned seen) {
  static const int required[] = {F_EV, F_NODE, F_INC, F_LT, F_TT};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(required); i++) {
    if (seen & (1u << required[i])) continue;
    ps->field = field_names[required[i]];
    return perr(ps, "missing");
  }
  bool lam = seen & (1u << F_LAMPORT), hlc = seen & (1u << F_HLC);
  if (lam != hlc) return perr(ps, "lamport and hlc must come together");
  ps->r->has_stamps = lam;
  return 0;
}

static int grow_recs(cohort_trace_t *t, const cohort_allocator_t *alloc) {
  if (t->len < t->cap) return 0;
  if (t->len >= COHORT_TRACE_RECS_MAX) return COHORT_EFULL;
  size_t cap = t->cap ? t->cap * 2 : 1024;
  if (cap > COHORT_TRACE_RECS_MAX) cap = COHORT_TRACE_RECS_MAX;
  if (cap > SIZE_MAX / sizeof *t->recs) return COHORT_ENOMEM;
  cohort_trace_rec_t *r = cohort_realloc(alloc, t->recs, cap * sizeof *r);
  if (!r) return COHORT_ENOMEM;
  t->recs = r;
  t->cap = cap;
  return 0;
}

static void write_err(const parser_t *ps, char *err, size_t errcap) {
  if (!err || !errcap) return;
  const char *why = ps->why ? ps->why : ps->c.why ? ps->c.why : "malformed record";
  if (ps->field)
    snprintf(err, errcap, "field '%s': %s", ps->field, why);
  else
    snprintf(err, errcap, "%s", why);
}

int cohort_trace_parse_line(cohort_trace_t *t, const char *line, size_t len,
                            size_t lineno, char *err, size_t errcap) {
  arena_t *a = arena_get(t);
  int grc = a ? grow_recs(t, a->alloc) : COHORT_ENOMEM;
  if (grc == COHORT_EFULL) {
    if (err && errcap)
      snprintf(err, errcap, "more than %u records in one trace", (unsigned)COHORT_TRACE_RECS_MAX);
    return COHORT_EFULL;
  }
  if (grc) {
    if (err && errcap) snprintf(err, errcap, "out of memory");
    return COHORT_ENOMEM;
  }
  cohort_trace_rec_t rec = {.peer = COHORT_NODE_NONE, .line = lineno};
  parser_t ps = {.c = {line, line + len, NULL}, .arena = a, .r = &rec};
  arena_mark_t mark = arena_mark(a);
  unsigned seen = 0;
  int rc = parse_members(&ps, &seen);
  if (!rc) rc = check_required(&ps, seen);
  if (rc) {
    arena_rollback(a, mark);
    if (ps.oom) {
      if (err && errcap) snprintf(err, errcap, "out of memory");
      return COHORT_ENOMEM;
    }
    write_err(&ps, err, errcap);
    return COHORT_EPROTO;
  }
  t->recs[t->len++] = rec;
  return 0;
}
