/*
 * src/trace/format.c — the trace writer: one cohort_trace_event_t to one
 * JSON Lines record, exactly as docs/trace-format.md lays it out.
 *
 * This runs on the simulator's hot path (millions of records per run), so
 * it allocates nothing, calls no printf and formats integers by hand. The
 * output is a pure function of the event: fields always come in the
 * documented order, so identical runs give byte-identical traces.
 * Invariant: on success the buffer holds exactly the returned number of
 * bytes plus a terminating NUL; on COHORT_EFULL its contents are undefined.
 */
#include <string.h>

#include "cohort/trace.h"

static const char *const type_names[COHORT_EV_TYPE_COUNT] = {
    "send", "recv", "deliver", "drop", "timer", "state"};

const char *cohort_ev_type_name(cohort_ev_type_t t) {
  if ((unsigned)t >= COHORT_EV_TYPE_COUNT) return "unknown";
  return type_names[t];
}

/* A bounded output cursor: once `full` is set every append is a no-op. */
typedef struct out {
  char *p, *end; /* end leaves room for the NUL */
  bool full;
} out_t;

static inline void put_mem(out_t *o, const char *s, size_t n) {
  if (o->full || (size_t)(o->end - o->p) < n) {
    o->full = true;
    return;
  }
  memcpy(o->p, s, n);
  o->p += n;
}

#define PUT_LIT(o, lit) put_mem((o), (lit), sizeof(lit) - 1)

static inline void put_char(out_t *o, char c) {
  if (o->full || o->p == o->end) {
    o->full = true;
    return;
  }
  *o->p++ = c;
}

static void put_u64(out_t *o, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put_mem(o, tmp + sizeof tmp - n, n);
}

static void put_i64(out_t *o, int64_t v) {
  if (v < 0) {
    put_char(o, '-');
    put_u64(o, (uint64_t)0 - (uint64_t)v); /* INT64_MIN safe */
  } else {
    put_u64(o, (uint64_t)v);
  }
}

/* A JSON string with the escapes RFC 8259 requires; '<' is escaped too so
 * a trace can be embedded in an HTML <script> block verbatim. Bytes >= 0x80
 * pass through (the format is UTF-8; producers write valid UTF-8). */
static void put_str(out_t *o, const char *s) {
  static const char hex[] = "0123456789abcdef";
  put_char(o, '"');
  const char *run = s;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\' && c != '<') continue;
    put_mem(o, run, (size_t)(s - run));
    run = s + 1;
    switch (c) {
    case '"': PUT_LIT(o, "\\\""); break;
    case '\\': PUT_LIT(o, "\\\\"); break;
    case '\n': PUT_LIT(o, "\\n"); break;
    case '\r': PUT_LIT(o, "\\r"); break;
    case '\t': PUT_LIT(o, "\\t"); break;
    default: {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      put_mem(o, u, sizeof u);
    }
    }
  }
  put_mem(o, run, (size_t)(s - run));
  put_char(o, '"');
}

static void put_vc(out_t *o, const cohort_vclock_t *vc) {
  PUT_LIT(o, ",\"vc\":{");
  for (size_t i = 0; i < vc->len; i++) {
    if (i) put_char(o, ',');
    put_char(o, '"');
    put_u64(o, vc->entries[i].node);
    if (vc->entries[i].inc) { /* "ID.INC": one process per incarnation */
      put_char(o, '.');
      put_u64(o, vc->entries[i].inc);
    }
    PUT_LIT(o, "\":");
    put_u64(o, vc->entries[i].counter);
  }
  put_char(o, '}');
}

static bool is_message_event(cohort_ev_type_t t) {
  return t == COHORT_EV_SEND || t == COHORT_EV_RECV || t == COHORT_EV_DELIVER ||
         t == COHORT_EV_DROP;
}

static void put_stamps(out_t *o, const cohort_trace_event_t *ev) {
  if (ev->has_stamps) {
    PUT_LIT(o, ",\"lamport\":");
    put_u64(o, ev->lamport);
    PUT_LIT(o, ",\"hlc\":[");
    put_i64(o, ev->hlc.l);
    put_char(o, ',');
    put_u64(o, ev->hlc.c);
    put_char(o, ']');
  }
  if (ev->vc) put_vc(o, ev->vc);
}

static void put_message(out_t *o, const cohort_trace_event_t *ev) {
  if (ev->kind) {
    PUT_LIT(o, ",\"kind\":");
    put_str(o, ev->kind);
  } else if (is_message_event(ev->type)) {
    PUT_LIT(o, ",\"kind\":");
    put_u64(o, ev->kind_num);
  }
  if (ev->peer != COHORT_NODE_NONE) {
    PUT_LIT(o, ",\"peer\":");
    put_u64(o, ev->peer);
  }
  if (ev->has_msg) {
    PUT_LIT(o, ",\"msg\":\"");
    put_u64(o, ev->msg.from);
    put_char(o, '.');
    put_u64(o, ev->msg.inc);
    put_char(o, '.');
    put_u64(o, ev->msg.seq);
    put_char(o, '"');
  }
  bool sized = ev->type == COHORT_EV_SEND || ev->type == COHORT_EV_RECV ||
               ev->type == COHORT_EV_DROP;
  if (sized || ev->bytes) {
    PUT_LIT(o, ",\"bytes\":");
    put_u64(o, ev->bytes);
  }
}

int cohort_trace_format(const cohort_trace_event_t *ev, char *buf, size_t cap) {
  if (cap == 0) return COHORT_EFULL;
  out_t o = {buf, buf + cap - 1, false};
  PUT_LIT(&o, "{\"ev\":\"");
  put_mem(&o, cohort_ev_type_name(ev->type), strlen(cohort_ev_type_name(ev->type)));
  PUT_LIT(&o, "\",\"node\":");
  put_u64(&o, ev->node);
  PUT_LIT(&o, ",\"inc\":");
  put_u64(&o, ev->inc);
  PUT_LIT(&o, ",\"lt\":");
  put_i64(&o, ev->local_ns);
  PUT_LIT(&o, ",\"tt\":");
  put_i64(&o, ev->true_ns);
  put_stamps(&o, ev);
  if (ev->proto) {
    PUT_LIT(&o, ",\"proto\":");
    put_str(&o, ev->proto);
  }
  put_message(&o, ev);
  if (ev->reason) {
    PUT_LIT(&o, ",\"reason\":");
    put_str(&o, ev->reason);
  }
  if (ev->what) {
    PUT_LIT(&o, ",\"what\":");
    put_str(&o, ev->what);
  }
  if (ev->data_json) {
    PUT_LIT(&o, ",\"data\":");
    put_mem(&o, ev->data_json, strlen(ev->data_json));
  }
  put_char(&o, '}');
  if (o.full || (size_t)(o.p - buf) > (size_t)INT32_MAX) return COHORT_EFULL;
  *o.p = '\0';
  return (int)(o.p - buf);
}
