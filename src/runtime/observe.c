/*
 * src/runtime/observe.c — the observer object and what it renders: the
 * Prometheus text (metrics) and the status JSON (control socket) of one
 * runtime node, read from the node, the runtime and the protocols attached
 * under the well-known ids (include/cohort/observe.h).
 *
 * Invariants: rendering only reads (the cluster clock's `now` keeps its
 * monotonic floor, as any reader's would); a reply never exceeds
 * COHORT_OBSERVE_REPLY_MAX (the writer fails with COHORT_EFULL instead);
 * metric names and label values written here are valid by construction,
 * and those from sources are checked.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cohort/detect.h"
#include "cohort/election.h"
#include "cohort/mutex.h"
#include "cohort/timesync.h"
#include "observe_internal.h"

/* ---- the writer ------------------------------------------------------- */

void obs_out_init(cohort_observe_out_t *w, cohort_observe_t *o) {
  memset(w, 0, sizeof *w);
  w->alloc = o->alloc;
  w->limit = COHORT_OBSERVE_REPLY_MAX;
  w->errors = &o->errors;
}

static bool out_reserve(cohort_observe_out_t *w, size_t more) {
  if (w->failed) return false;
  if (w->len + more + 1 > w->limit) {
    w->failed = COHORT_EFULL;
    return false;
  }
  if (w->len + more + 1 <= w->cap) return true;
  size_t cap = w->cap ? w->cap : 4096;
  while (cap < w->len + more + 1) cap *= 2;
  if (cap > w->limit) cap = w->limit;
  char *nb = cohort_realloc(w->alloc, w->buf, cap);
  if (!nb) {
    w->failed = COHORT_ENOMEM;
    return false;
  }
  w->buf = nb;
  w->cap = cap;
  return true;
}

void obs_printf(cohort_observe_out_t *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[512];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0 || !out_reserve(w, (size_t)n)) return;
  if ((size_t)n < sizeof small) {
    memcpy(w->buf + w->len, small, (size_t)n + 1);
  } else {
    va_start(ap, fmt);
    vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  w->len += (size_t)n;
}

/* Prometheus floats: NaN and ±Inf by name, otherwise %.17g round-trips. */
static void put_value(cohort_observe_out_t *w, double v) {
  if (isnan(v)) obs_printf(w, "NaN\n");
  else if (isinf(v)) obs_printf(w, v > 0 ? "+Inf\n" : "-Inf\n");
  else obs_printf(w, "%.17g\n", v);
}

static bool valid_name(const char *s, bool label) {
  if (!s || !*s) return false;
  for (const char *p = s; *p; p++) {
    bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                 (!label && *p == ':');
    if (!alpha && !(p > s && *p >= '0' && *p <= '9')) return false;
  }
  return true;
}

void cohort_observe_family(cohort_observe_out_t *out, const char *name, const char *type,
                           const char *help) {
  bool type_ok = type && (!strcmp(type, "counter") || !strcmp(type, "gauge") ||
                          !strcmp(type, "untyped"));
  if (!valid_name(name, false) || !type_ok || !help || strchr(help, '\n')) {
    (*out->errors)++;
    return;
  }
  obs_printf(out, "# HELP %s ", name);
  for (const char *p = help; *p; p++) obs_printf(out, *p == '\\' ? "\\\\" : "%c", *p);
  obs_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* labels "k=v,k=v" → {k="v",k="v"} with \\, \" and \n escaped. */
static bool put_labels(cohort_observe_out_t *w, const char *labels) {
  char key[64];
  obs_printf(w, "{");
  for (const char *p = labels; *p;) {
    const char *eq = strchr(p, '=');
    if (!eq || (size_t)(eq - p) >= sizeof key) return false;
    memcpy(key, p, (size_t)(eq - p));
    key[eq - p] = '\0';
    if (!valid_name(key, true) || !strncmp(key, "__", 2)) return false;
    obs_printf(w, "%s%s=\"", p == labels ? "" : ",", key);
    for (p = eq + 1; *p && *p != ','; p++)
      obs_printf(w, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : "%c",
                 *p);
    obs_printf(w, "\"");
    if (*p == ',') p++;
  }
  obs_printf(w, "} ");
  return true;
}

void cohort_observe_sample(cohort_observe_out_t *out, const char *name, const char *labels,
                           double value) {
  size_t mark = out->len;
  if (!valid_name(name, false)) {
    (*out->errors)++;
    return;
  }
  obs_printf(out, "%s", name);
  if (labels && *labels) {
    if (!put_labels(out, labels)) {
      if (!out->failed) {
        out->len = mark; /* drop the half-written sample */
        out->buf[mark] = '\0';
      }
      (*out->errors)++;
      return;
    }
  } else {
    obs_printf(out, " ");
  }
  put_value(out, value);
}

/* ---- the object -------------------------------------------------------- */

int cohort_observe_new(uv_loop_t *loop, cohort_runtime_node_t *rn,
                       const cohort_allocator_t *alloc, cohort_observe_t **out) {
  if (!alloc) alloc = cohort_allocator_default();
  cohort_observe_t *o = cohort_calloc(alloc, 1, sizeof *o);
  if (!o) return COHORT_ENOMEM;
  o->loop = loop;
  o->rn = rn;
  o->alloc = alloc;
  o->started_ns = uv_hrtime();
  *out = o;
  return 0;
}

int cohort_observe_add_source(cohort_observe_t *o, cohort_observe_source_fn fn, void *ud) {
  if (!fn) return COHORT_EINVAL;
  if (o->sources_len == COHORT_OBSERVE_SOURCES_MAX) return COHORT_EFULL;
  o->sources[o->sources_len++] = (obs_source_t){fn, ud};
  return 0;
}

uint64_t cohort_observe_errors(const cohort_observe_t *o) { return o->errors; }

/* ---- what is observed -------------------------------------------------- */

typedef struct obs_view {
  cohort_node_t *node;
  cohort_fd_t *fd;
  cohort_election_t *el;
  cohort_mutex_t *mx;
  cohort_cluster_clock_t *clock;
  cohort_proto_t *timesync;
} obs_view_t;

static obs_view_t view_of(cohort_observe_t *o) {
  obs_view_t v;
  memset(&v, 0, sizeof v);
  v.node = cohort_runtime_node(o->rn);
  cohort_proto_t *p = cohort_node_proto(v.node, COHORT_PROTO_FD);
  v.fd = p ? cohort_fd_from_proto(p) : NULL;
  p = cohort_node_proto(v.node, COHORT_PROTO_ELECTION);
  v.el = p ? cohort_election_from_proto(p) : NULL;
  p = cohort_node_proto(v.node, COHORT_PROTO_MUTEX);
  v.mx = p ? cohort_mutex_from_proto(p) : NULL;
  if (v.mx && !v.fd) v.fd = cohort_mutex_fd(v.mx);
  if (v.mx && !v.el) v.el = cohort_mutex_election(v.mx);
  v.timesync = cohort_node_proto(v.node, COHORT_PROTO_TIMESYNC);
  v.clock = v.timesync ? cohort_timesync_clock(v.timesync) : NULL;
  return v;
}

static const char *mutex_state_name(cohort_mutex_state_t s) {
  return s == COHORT_MUTEX_HELD ? "held" : s == COHORT_MUTEX_PENDING ? "pending" : "idle";
}

static void address_of(cohort_observe_t *o, char *buf, size_t cap) {
  struct sockaddr_storage ss;
  char host[64] = "?";
  int port = 0;
  if (cohort_runtime_node_address(o->rn, &ss) == 0) {
    if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof host);
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
      snprintf(buf, cap, "[%s]:%d", host, port);
      return;
    }
    uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof host);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  snprintf(buf, cap, "%s:%d", host, port);
}

/* The drop counters by reason, node's and host's, in one table. */
typedef struct drop_row {
  const char *reason;
  uint64_t n;
} drop_row_t;

static size_t drop_rows(const cohort_node_stats_t *s, const cohort_runtime_stats_t *r,
                        drop_row_t *rows) {
  drop_row_t all[] = {
      {"malformed", s->drop_malformed},       {"cluster", s->drop_cluster},
      {"version", s->drop_version},           {"auth", s->drop_auth},
      {"stale", s->drop_stale},               {"unknown_peer", s->drop_unknown_peer},
      {"unknown_proto", s->drop_unknown_proto}, {"proto", s->drop_proto},
      {"clock", s->drop_clock},               {"self", s->drop_self},
      {"nomem", s->drop_nomem},               {"fault", r->fault_dropped},
      {"delay_overflow", r->delay_overflow},
  };
  memcpy(rows, all, sizeof all);
  return COHORT_ARRAY_LEN(all);
}

#define DROP_ROWS_MAX 16

/* ---- Prometheus text ---------------------------------------------------- */

static void metric(cohort_observe_out_t *w, const char *name, const char *type,
                   const char *help, double v) {
  cohort_observe_family(w, name, type, help);
  cohort_observe_sample(w, name, NULL, v);
}

static void metrics_node(cohort_observe_t *o, cohort_observe_out_t *w, obs_view_t *v) {
  const cohort_node_stats_t *s = cohort_node_stats(v->node);
  const cohort_runtime_stats_t *r = cohort_runtime_node_stats(o->rn);
  char lab[128];
  cohort_observe_family(w, "cohort_node_info", "gauge", "identity of this node (value 1)");
  snprintf(lab, sizeof lab, "id=%u,incarnation=%llu", (unsigned)cohort_node_id(v->node),
           (unsigned long long)cohort_node_incarnation(v->node));
  cohort_observe_sample(w, "cohort_node_info", lab, 1);
  metric(w, "cohort_uptime_seconds", "gauge", "time since the observer started",
         (double)(uv_hrtime() - o->started_ns) / 1e9);
  cohort_observe_family(w, "cohort_datagrams_total", "counter", "datagrams by direction");
  cohort_observe_sample(w, "cohort_datagrams_total", "direction=in", (double)s->rx_datagrams);
  cohort_observe_sample(w, "cohort_datagrams_total", "direction=out", (double)s->tx_datagrams);
  cohort_observe_family(w, "cohort_bytes_total", "counter", "datagram bytes by direction");
  cohort_observe_sample(w, "cohort_bytes_total", "direction=in", (double)s->rx_bytes);
  cohort_observe_sample(w, "cohort_bytes_total", "direction=out", (double)s->tx_bytes);
  metric(w, "cohort_delivered_total", "counter", "datagrams given to a protocol",
         (double)s->rx_delivered);
  drop_row_t rows[DROP_ROWS_MAX];
  size_t n = drop_rows(s, r, rows);
  cohort_observe_family(w, "cohort_drops_total", "counter",
                        "datagrams dropped, by reason (node: refused; host: injected)");
  for (size_t i = 0; i < n; i++) {
    snprintf(lab, sizeof lab, "reason=%s", rows[i].reason);
    cohort_observe_sample(w, "cohort_drops_total", lab, (double)rows[i].n);
  }
  cohort_observe_family(w, "cohort_errors_total", "counter", "host I/O errors, by kind");
  cohort_observe_sample(w, "cohort_errors_total", "kind=send", (double)(s->tx_errors));
  cohort_observe_sample(w, "cohort_errors_total", "kind=socket_send", (double)r->send_errors);
  cohort_observe_sample(w, "cohort_errors_total", "kind=socket_recv", (double)r->recv_errors);
  cohort_observe_sample(w, "cohort_errors_total", "kind=trace", (double)r->trace_errors);
  metric(w, "cohort_lamport_time", "gauge", "the node's Lamport clock",
         (double)cohort_node_lamport(v->node));
}

static void metrics_peers(cohort_observe_out_t *w, obs_view_t *v) {
  size_t n;
  const cohort_node_id_t *peers = cohort_node_peers(v->node, &n);
  metric(w, "cohort_peers", "gauge", "peers this node knows", (double)n);
  if (!v->fd) return;
  const char *fam[3][2] = {{"cohort_fd_phi", "phi accrual suspicion level per peer"},
                           {"cohort_fd_suspected", "1 if the detector suspects the peer"},
                           {"cohort_fd_last_heard_seconds", "time since the peer was heard"}};
  for (int f = 0; f < 3; f++) {
    cohort_observe_family(w, fam[f][0], "gauge", fam[f][1]);
    for (size_t i = 0; i < n; i++) {
      cohort_fd_peer_info_t pi;
      char lab[32];
      if (cohort_fd_peer_info(v->fd, peers[i], &pi) != 0) continue;
      snprintf(lab, sizeof lab, "peer=%u", (unsigned)peers[i]);
      double x = f == 0 ? pi.phi : f == 1 ? (pi.suspected ? 1 : 0) : (double)pi.since_ns / 1e9;
      cohort_observe_sample(w, fam[f][0], lab, x);
    }
  }
}

static void metrics_coord(cohort_observe_out_t *w, obs_view_t *v) {
  if (v->el) {
    cohort_node_id_t l = cohort_election_leader(v->el);
    metric(w, "cohort_election_leader", "gauge", "leader's node id (-1: none known)",
           l == COHORT_NODE_NONE ? -1 : (double)l);
    metric(w, "cohort_election_epoch", "gauge", "epoch of the current leader",
           (double)cohort_election_epoch(v->el));
    metric(w, "cohort_election_is_leader", "gauge", "1 if this node is the leader",
           cohort_election_is_leader(v->el) ? 1 : 0);
  }
  if (v->mx) {
    cohort_mutex_state_t st = cohort_mutex_state(v->mx);
    cohort_observe_family(w, "cohort_mutex_state", "gauge", "1 for the lock's current state");
    for (int s = COHORT_MUTEX_IDLE; s <= COHORT_MUTEX_HELD; s++) {
      char lab[32];
      snprintf(lab, sizeof lab, "state=%s", mutex_state_name((cohort_mutex_state_t)s));
      cohort_observe_sample(w, "cohort_mutex_state", lab, st == (cohort_mutex_state_t)s);
    }
    metric(w, "cohort_mutex_token", "gauge", "fencing token of the current or last grant",
           (double)cohort_mutex_token(v->mx));
    metric(w, "cohort_mutex_max_token", "gauge", "highest fencing token seen",
           (double)cohort_mutex_max_token(v->mx));
  }
}

static void metrics_clock(cohort_observe_out_t *w, obs_view_t *v) {
  if (!v->clock) return;
  int64_t local = cohort_node_now(v->node);
  int64_t err = cohort_cluster_clock_error(v->clock, local);
  double offset = (double)(cohort_cluster_clock_estimate(v->clock, local) -
                           cohort_node_wall(v->node)) / 1e9;
  metric(w, "cohort_clock_synchronized", "gauge", "1 if the cluster clock is synchronized",
         v->clock->synchronized ? 1 : 0);
  metric(w, "cohort_clock_offset_seconds", "gauge",
         "cluster clock minus this host's wall clock", offset);
  metric(w, "cohort_clock_error_bound_seconds", "gauge",
         "half-width of the cluster clock's error interval (+Inf: unsynchronized)",
         err == INT64_MAX ? INFINITY : (double)err / 1e9);
  metric(w, "cohort_clock_last_offset_seconds", "gauge",
         "offset measured by the last synchronization sample",
         (double)v->clock->last_offset_ns / 1e9);
}

static int finish(cohort_observe_out_t *w, char **text, size_t *len) {
  out_reserve(w, 0); /* an empty reply still needs its NUL */
  if (w->failed) {
    cohort_free(w->alloc, w->buf);
    return w->failed;
  }
  w->buf[w->len] = '\0';
  *text = w->buf;
  *len = w->len;
  return 0;
}

int cohort_observe_render_metrics(cohort_observe_t *o, char **text, size_t *len) {
  cohort_observe_out_t w;
  obs_out_init(&w, o);
  obs_view_t v = view_of(o);
  metrics_node(o, &w, &v);
  metrics_peers(&w, &v);
  metrics_coord(&w, &v);
  metrics_clock(&w, &v);
  for (size_t i = 0; i < o->sources_len; i++) o->sources[i].fn(&w, o->sources[i].ud);
  metric(&w, "cohort_observe_errors_total", "counter",
         "requests refused and samples skipped by the observer", (double)o->errors);
  return finish(&w, text, len);
}

/* ---- status JSON -------------------------------------------------------- */

static void json_str(cohort_observe_out_t *w, const char *s) {
  obs_printf(w, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') obs_printf(w, "\\%c", *p);
    else if (*p < 0x20) obs_printf(w, "\\u%04x", *p);
    else obs_printf(w, "%c", *p);
  }
  obs_printf(w, "\"");
}

static void json_num(cohort_observe_out_t *w, double x) {
  if (isfinite(x)) obs_printf(w, "%.6g", x);
  else obs_printf(w, "null");
}

static void status_peers(cohort_observe_out_t *w, obs_view_t *v) {
  size_t n;
  const cohort_node_id_t *peers = cohort_node_peers(v->node, &n);
  obs_printf(w, ",\"peers\":[");
  for (size_t i = 0; i < n; i++) {
    cohort_fd_peer_info_t pi;
    obs_printf(w, "%s{\"id\":%u", i ? "," : "", (unsigned)peers[i]);
    if (v->fd && cohort_fd_peer_info(v->fd, peers[i], &pi) == 0) {
      obs_printf(w, ",\"incarnation\":%llu,\"phi\":", (unsigned long long)pi.incarnation);
      json_num(w, pi.phi);
      obs_printf(w, ",\"suspected\":%s,\"last_heard_s\":", pi.suspected ? "true" : "false");
      json_num(w, pi.arrivals ? (double)pi.since_ns / 1e9 : NAN);
      obs_printf(w, ",\"heartbeats\":%llu", (unsigned long long)pi.arrivals);
    } else {
      obs_printf(w, ",\"phi\":null,\"suspected\":null,\"last_heard_s\":null");
    }
    obs_printf(w, "}");
  }
  obs_printf(w, "]");
}

static void status_coord(cohort_observe_out_t *w, obs_view_t *v) {
  char st[256];
  obs_printf(w, ",\"leader\":");
  if (v->el) {
    cohort_node_id_t l = cohort_election_leader(v->el);
    if (l == COHORT_NODE_NONE) obs_printf(w, "{\"id\":null");
    else obs_printf(w, "{\"id\":%u", (unsigned)l);
    obs_printf(w, ",\"epoch\":%llu,\"self\":%s,\"status\":",
               (unsigned long long)cohort_election_epoch(v->el),
               cohort_election_is_leader(v->el) ? "true" : "false");
    if (cohort_election_status(v->el, st, sizeof st) < 0) st[0] = '\0';
    json_str(w, st);
    obs_printf(w, "}");
  } else {
    obs_printf(w, "null");
  }
  obs_printf(w, ",\"lock\":");
  if (v->mx) {
    obs_printf(w, "{\"state\":\"%s\",\"token\":%llu,\"max_token\":%llu,\"status\":",
               mutex_state_name(cohort_mutex_state(v->mx)),
               (unsigned long long)cohort_mutex_token(v->mx),
               (unsigned long long)cohort_mutex_max_token(v->mx));
    if (cohort_mutex_status(v->mx, st, sizeof st) < 0) st[0] = '\0';
    json_str(w, st);
    obs_printf(w, "}");
  } else {
    obs_printf(w, "null");
  }
}

static void status_clock(cohort_observe_out_t *w, obs_view_t *v) {
  obs_printf(w, ",\"clock\":");
  if (!v->clock) {
    obs_printf(w, "null");
    return;
  }
  int64_t local = cohort_node_now(v->node);
  int64_t err = cohort_cluster_clock_error(v->clock, local);
  obs_printf(w, "{\"synchronized\":%s,\"offset_s\":", v->clock->synchronized ? "true" : "false");
  json_num(w, (double)(cohort_cluster_clock_estimate(v->clock, local) -
                       cohort_node_wall(v->node)) / 1e9);
  obs_printf(w, ",\"error_bound_s\":");
  json_num(w, err == INT64_MAX ? NAN : (double)err / 1e9);
  obs_printf(w, ",\"updates\":%llu,\"steps\":%llu}", (unsigned long long)v->clock->updates,
             (unsigned long long)v->clock->steps);
}

static void status_counters(cohort_observe_t *o, cohort_observe_out_t *w, obs_view_t *v) {
  const cohort_node_stats_t *s = cohort_node_stats(v->node);
  drop_row_t rows[DROP_ROWS_MAX];
  size_t n = drop_rows(s, cohort_runtime_node_stats(o->rn), rows);
  obs_printf(w, ",\"datagrams\":{\"in\":%llu,\"out\":%llu},\"drops\":{",
             (unsigned long long)s->rx_datagrams, (unsigned long long)s->tx_datagrams);
  for (size_t i = 0; i < n; i++)
    obs_printf(w, "%s\"%s\":%llu", i ? "," : "", rows[i].reason, (unsigned long long)rows[i].n);
  obs_printf(w, "}");
}

int cohort_observe_render_status(cohort_observe_t *o, char **text, size_t *len) {
  cohort_observe_out_t w;
  obs_out_init(&w, o);
  obs_view_t v = view_of(o);
  char addr[96];
  address_of(o, addr, sizeof addr);
  obs_printf(&w, "{\"id\":%u,\"incarnation\":%llu,\"listen\":", (unsigned)cohort_node_id(v.node),
             (unsigned long long)cohort_node_incarnation(v.node));
  json_str(&w, addr);
  obs_printf(&w, ",\"uptime_s\":%.3f,\"lamport\":%llu",
             (double)(uv_hrtime() - o->started_ns) / 1e9,
             (unsigned long long)cohort_node_lamport(v.node));
  status_peers(&w, &v);
  status_coord(&w, &v);
  status_clock(&w, &v);
  status_counters(o, &w, &v);
  obs_printf(&w, "}\n");
  return finish(&w, text, len);
}

/* ---- closing ------------------------------------------------------------ */

void obs_handle_closed(cohort_observe_t *o) {
  if (--o->open_handles > 0 || !o->closing) return;
  void (*cb)(void *) = o->on_closed;
  void *ud = o->closed_ud;
  cohort_free(o->alloc, o);
  if (cb) cb(ud);
}
