/*
 * examples/kvstore/kvstore.c — a replicated key-value store by atomic
 * multicast: one replica per process, a group member over UDP (the
 * runtime), with a line protocol on TCP for clients. Uses only the
 * public headers and libcohort, as your own program would.
 *
 * Invariants:
 *  - the map changes only in the group's deliver callback, for commands
 *    multicast with COHORT_MCAST_TOTAL | COHORT_MCAST_RELIABLE: every
 *    replica of the primary component applies the same commands in the
 *    same order, so replicas that applied the same count hold equal maps;
 *  - a write is acknowledged to its client ("OK") only once it was
 *    delivered here, i.e. stable at every member of the view (safe
 *    delivery), so an acknowledged write survives any member's crash;
 *  - writes are refused (never queued) while this replica is not a member
 *    of a primary view that is sending: joining, state transfer, flush
 *    (blocked) or a minority; the client is told which and retries;
 *  - every buffer is bounded: KV_CONNS_MAX clients, KV_LINE_MAX per
 *    request line, one request per client in the group at a time,
 *    KV_PENDING_MAX writes in flight, KV_WRITE_QUEUE_MAX unread reply
 *    bytes per client (beyond it the client is dropped).
 * Reads (GET) are local: they see every write delivered here, so they
 * may be stale; GET --linearizable multicasts a read marker in the same
 * total order and answers when it is delivered.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/group.h"
#include "cohort/registry.h"
#include "cohort/runtime.h"
#include "kv_map.h"

#define KV_CONNS_MAX 64            /* clients at once; more are refused */
#define KV_LINE_MAX 8192           /* one request line, with its newline */
#define KV_PENDING_MAX 256         /* writes multicast, not yet delivered */
#define KV_WRITE_QUEUE_MAX 65536   /* reply bytes a client has not read */
#define KV_REPLY_MAX (KV_VALUE_LEN_MAX + 64)

_Static_assert(KV_LINE_MAX >= 32 + KV_KEY_LEN_MAX + KV_VALUE_LEN_MAX,
               "the longest PUT fits one line");
_Static_assert(KV_PENDING_MAX <= COHORT_GROUP_WINDOW_MAX,
               "no more writes in flight than the group's send window can hold");

static const char usage_text[] =
    "usage: kvstore --id N --listen ADDR:PORT [--join ADDR:PORT,...] --key-file F\n"
    "               --serve ADDR:PORT [--expected VOTES] [--cluster-id X] [--trace FILE]\n"
    "       kvstore --hash-file F     (the HASH of a file of 'KEY VALUE' lines)\n"
    "\n"
    "  --listen ADDR     the replica's UDP address (group traffic)\n"
    "  --join LIST       contact points of running replicas; without it this\n"
    "                    replica founds a new group\n"
    "  --key-file F      cluster key file ('ID HEXKEY' lines, chmod 600)\n"
    "  --serve ADDR      TCP address of the line protocol: PUT K V, GET K,\n"
    "                    GET --linearizable K, DEL K, HASH, STATUS\n"
    "  --expected VOTES  replicas the group is meant to have (default 1): a view\n"
    "                    is primary with a majority of them; writes need one\n";

typedef struct args {
  cohort_runtime_node_config_t cfg;
  struct sockaddr_storage contacts[COHORT_CONTACTS_MAX];
  cohort_runtime_keys_t keys;
  struct sockaddr_storage serve;
  bool have_id, have_listen, have_keys, have_serve;
  uint32_t expected;
} args_t;

typedef struct replica replica_t;

typedef struct conn {
  uv_tcp_t tcp;
  replica_t *r;
  size_t slot;
  bool waiting; /* its request is in the group: later lines wait */
  bool reading, closing;
  size_t in_len;
  char in[KV_LINE_MAX];
} conn_t;

typedef struct pending {
  uint64_t seq;  /* our multicast's number in the view */
  conn_t *conn;  /* NULL once the client has gone */
} pending_t;

struct replica {
  const args_t *args;
  uv_loop_t loop;
  cohort_runtime_t *rt;
  cohort_runtime_node_t *rn;
  cohort_node_t *node;
  cohort_group_t *g;
  bool attached;
  kv_limits_t limits;
  kv_map_t map;
  kv_progress_t progress; /* PUT and DEL delivered (refused ones too), their log */
  uint64_t bad_cmds; /* multicasts that were not commands: ignored everywhere */
  pending_t pending[KV_PENDING_MAX]; /* a ring, in our send order */
  size_t pending_head, pending_len;
  /* inside cohort_group_send_svc: a delivery of ours there is the message
   * being sent (seq not known yet) */
  bool in_send, send_answered;
  conn_t *send_conn;
  uv_tcp_t server;
  bool server_open;
  conn_t *conns[KV_CONNS_MAX];
  uv_signal_t sigint, sigterm;
  int signal_seen;
};

/* ---- replies ------------------------------------------------------------ */

static void conn_close(conn_t *c);

static void reply_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static void reply_bytes(conn_t *c, const char *s, size_t n) {
  if (!c || c->closing) return;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > KV_WRITE_QUEUE_MAX) {
    conn_close(c); /* a client that does not read its replies */
    return;
  }
  uv_write_t *w = malloc(sizeof *w + n);
  if (!w) {
    conn_close(c);
    return;
  }
  char *copy = (char *)(w + 1);
  memcpy(copy, s, n);
  uv_buf_t buf = uv_buf_init(copy, (unsigned)n);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &buf, 1, reply_written) < 0) {
    free(w);
    conn_close(c);
  }
}

static void reply(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply(conn_t *c, const char *fmt, ...) {
  char buf[KV_REPLY_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof buf - 1 ? (size_t)n : sizeof buf - 2;
  buf[len++] = '\n';
  reply_bytes(c, buf, len);
}

static void reply_value(conn_t *c, const uint8_t *v, size_t n) {
  char buf[KV_REPLY_MAX];
  COHORT_ASSERT(n <= KV_VALUE_LEN_MAX);
  memcpy(buf, "VALUE ", 6);
  memcpy(buf + 6, v, n);
  buf[6 + n] = '\n';
  reply_bytes(c, buf, 7 + n);
}

/* ---- writes in flight ------------------------------------------------- */

static void conn_resume(conn_t *c);

static void pending_push(replica_t *r, uint64_t seq, conn_t *c) {
  COHORT_ASSERT(r->pending_len < KV_PENDING_MAX);
  r->pending[(r->pending_head + r->pending_len++) % KV_PENDING_MAX] = (pending_t){seq, c};
}

/* The client of our multicast `seq`, now delivered (NULL: none waits). */
static conn_t *pending_take(replica_t *r, uint64_t seq) {
  while (r->pending_len) {
    pending_t *p = &r->pending[r->pending_head];
    if (p->seq > seq) return NULL; /* not one of ours with a client */
    r->pending_head = (r->pending_head + 1) % KV_PENDING_MAX;
    r->pending_len--;
    if (p->seq == seq) return p->conn;
    /* our messages are delivered in our send order: an older one left
     * behind was never delivered (cannot happen in one view) */
    if (p->conn) {
      p->conn->waiting = false;
      reply(p->conn, "ERR unknown: write skipped by the group; retry");
      conn_resume(p->conn);
    }
  }
  return NULL;
}

/* Answer every write in flight with `why` (a view change or exclusion). */
static void pending_fail_all(replica_t *r, const char *why) {
  while (r->pending_len) {
    pending_t *p = &r->pending[r->pending_head];
    r->pending_head = (r->pending_head + 1) % KV_PENDING_MAX;
    r->pending_len--;
    if (!p->conn) continue;
    p->conn->waiting = false;
    reply(p->conn, "ERR unknown: %s; the write may or may not be applied: retry it", why);
    conn_resume(p->conn);
  }
}

static void pending_forget_conn(replica_t *r, const conn_t *c) {
  for (size_t i = 0; i < r->pending_len; i++) {
    pending_t *p = &r->pending[(r->pending_head + i) % KV_PENDING_MAX];
    if (p->conn == c) p->conn = NULL;
  }
}

/* ---- the group's callbacks --------------------------------------------- */

static bool from_self(replica_t *r, cohort_group_member_t from) {
  return from.id == cohort_node_id(r->node) && from.inc == cohort_node_incarnation(r->node);
}

/* Apply one delivered command; answer its client if it was ours. */
static void apply(replica_t *r, const kv_cmd_t *cmd, conn_t *c) {
  int rc = 0;
  if (cmd->op == KV_OP_PUT) rc = kv_map_put(&r->map, cmd->key, cmd->key_len, cmd->value,
                                            cmd->value_len);
  else if (cmd->op == KV_OP_DEL) rc = kv_map_del(&r->map, cmd->key, cmd->key_len);
  if (rc == COHORT_ENOMEM) {
    /* applying it at some replicas only would make them diverge: stop,
     * and let a restart take the state afresh from the group */
    fprintf(stderr, "kvstore: out of memory applying write %llu: exiting\n",
            (unsigned long long)r->progress.applied + 1);
    exit(1);
  }
  if (cmd->op != KV_OP_READ) kv_progress_step(&r->progress, cmd);
  if (!c) return;
  c->waiting = false;
  if (cmd->op == KV_OP_READ) {
    const uint8_t *v;
    size_t vl;
    if (kv_map_get(&r->map, cmd->key, cmd->key_len, &v, &vl) == 0) reply_value(c, v, vl);
    else reply(c, "NOTFOUND");
  } else if (rc == COHORT_EFULL) {
    reply(c, "ERR refused: the store is full (%zu keys); DEL some first",
          r->map.limits.keys_max);
  } else if (rc == COHORT_ENOTFOUND) {
    reply(c, "NOTFOUND");
  } else if (rc) {
    reply(c, "ERR refused: %s", cohort_strerror(rc));
  } else {
    reply(c, "OK");
  }
  conn_resume(c);
}

static void on_deliver(void *ud, cohort_group_member_t from, uint64_t seq, const uint8_t *msg,
                       size_t len) {
  replica_t *r = ud;
  conn_t *c = NULL;
  if (from_self(r, from)) {
    c = pending_take(r, seq);
    if (!c && r->in_send && !r->send_answered) {
      c = r->send_conn; /* delivered before send_svc returned */
      r->send_answered = true;
    }
  }
  kv_cmd_t cmd;
  if (kv_cmd_decode(msg, len, &r->limits, &cmd)) {
    /* every replica ignores it alike: the state stays the same everywhere */
    if (r->bad_cmds++ == 0)
      fprintf(stderr, "kvstore: ignoring a malformed command from node %u\n",
              (unsigned)from.id);
    if (c) {
      c->waiting = false;
      reply(c, "ERR refused: malformed command");
      conn_resume(c);
    }
    return;
  }
  apply(r, &cmd, c);
}

static void on_view(void *ud, const cohort_group_view_t *v) {
  replica_t *r = ud;
  char line[1024];
  if (cohort_group_status_line(r->g, line, sizeof line) < 0) line[0] = '\0';
  printf("kvstore %u: %s, %zu members, applied %llu, keys %zu\n",
         (unsigned)cohort_node_id(r->node), line, v->members_len,
         (unsigned long long)r->progress.applied, r->map.len);
  fflush(stdout);
  /* view synchrony: our messages of the old view were delivered before
   * it ended; one still here was not (cannot happen to a survivor) */
  pending_fail_all(r, "view changed before the write was delivered");
}

static void on_block(void *ud) {
  (void)ud; /* nothing to do: write_refusal() reads the status */
}

static int on_get_state(void *ud, uint8_t **state, size_t *len) {
  replica_t *r = ud;
  return kv_map_encode(&r->map, &r->progress, state, len);
}

static int on_set_state(void *ud, const uint8_t *state, size_t len) {
  replica_t *r = ud;
  kv_map_t fresh;
  kv_progress_t progress = {0, 0};
  int rc = kv_map_init(&fresh, &r->limits, cohort_node_allocator(r->node));
  if (!rc) rc = kv_map_decode(&fresh, state, len, &progress);
  if (rc) {
    kv_map_close(&fresh);
    fprintf(stderr, "kvstore: state transfer refused (%s): the join is retried\n",
            cohort_strerror(rc));
    return rc;
  }
  kv_map_close(&r->map);
  r->map = fresh;
  r->progress = progress;
  printf("kvstore %u: state installed: %zu keys, applied %llu (%zu bytes)\n",
         (unsigned)cohort_node_id(r->node), r->map.len, (unsigned long long)progress.applied,
         len);
  fflush(stdout);
  return 0;
}

static void on_excluded(void *ud, cohort_group_view_id_t by) {
  replica_t *r = ud;
  printf("kvstore %u: excluded by view %llu: rejoining as a new incarnation\n",
         (unsigned)cohort_node_id(r->node), (unsigned long long)by.epoch);
  fflush(stdout);
  pending_fail_all(r, "this replica was excluded from the group");
}

/* ---- requests ------------------------------------------------------------ */

/* Why a write cannot be multicast now, or NULL. */
static const char *write_refusal(const replica_t *r) {
  switch (cohort_group_status(r->g)) {
  case COHORT_GROUP_JOINING: return "not in the group yet (joining); retry";
  case COHORT_GROUP_STATE_WAIT: return "waiting for the state transfer; retry";
  case COHORT_GROUP_BLOCKED: return "the group is blocked (view change in progress); retry";
  case COHORT_GROUP_LEFT: return "this replica has left the group";
  case COHORT_GROUP_MEMBER: break;
  }
  const cohort_group_view_t *v = cohort_group_view(r->g);
  if (v && !v->primary)
    return "non-primary view (a minority): writes need the primary component";
  if (r->pending_len == KV_PENDING_MAX) return "too many writes in flight; retry";
  return NULL;
}

static void multicast(conn_t *c, const kv_cmd_t *cmd) {
  replica_t *r = c->r;
  const char *why = write_refusal(r);
  if (why) {
    reply(c, "ERR refused: %s", why);
    return;
  }
  uint8_t buf[KV_CMD_MAX];
  size_t n = kv_cmd_encode(cmd, buf, sizeof buf);
  uint64_t seq = 0;
  c->waiting = true;
  r->in_send = true;
  r->send_answered = false;
  r->send_conn = c;
  int rc = cohort_group_send_svc(r->g, COHORT_MCAST_TOTAL | COHORT_MCAST_RELIABLE, buf, n, &seq);
  r->in_send = false;
  if (rc) c->waiting = false;
  if (rc == COHORT_EAGAIN) reply(c, "ERR refused: the group's send window is full; retry");
  else if (rc == COHORT_ESTATE) reply(c, "ERR refused: non-primary view; writes need the primary");
  else if (rc) reply(c, "ERR refused: %s", cohort_strerror(rc));
  if (rc || r->send_answered) return; /* answered already (a view of one) */
  pending_push(r, seq, c);
}

/* The next space-separated word of [*p, end), or NULL; *p moves past it. */
static const char *word(const char **p, const char *end, size_t *len) {
  while (*p < end && **p == ' ') (*p)++;
  const char *w = *p;
  while (*p < end && **p != ' ') (*p)++;
  *len = (size_t)(*p - w);
  return *len ? w : NULL;
}

static bool key_ok(conn_t *c, const char *k, size_t kl) {
  if (!k) reply(c, "ERR refused: a key is needed");
  else if (kl > KV_KEY_LEN_MAX) reply(c, "ERR refused: key longer than %d bytes", KV_KEY_LEN_MAX);
  else return true;
  return false;
}

static void cmd_get(conn_t *c, const char *p, const char *end) {
  size_t kl;
  const char *k = word(&p, end, &kl);
  bool lin = false;
  if (k && kl == 14 && !memcmp(k, "--linearizable", 14) && p < end) {
    lin = true;
    k = word(&p, end, &kl);
  }
  if (!key_ok(c, k, kl)) return;
  if (lin) {
    multicast(c, &(kv_cmd_t){.op = KV_OP_READ, .key = (const uint8_t *)k, .key_len = kl});
    return;
  }
  const uint8_t *v;
  size_t vl;
  if (kv_map_get(&c->r->map, (const uint8_t *)k, kl, &v, &vl) == 0) reply_value(c, v, vl);
  else reply(c, "NOTFOUND");
}

static void cmd_put(conn_t *c, const char *p, const char *end) {
  size_t kl;
  const char *k = word(&p, end, &kl);
  if (!key_ok(c, k, kl)) return;
  if (p < end) p++; /* the one space before the value; the rest is the value */
  size_t vl = (size_t)(end - p);
  if (vl > KV_VALUE_LEN_MAX) {
    reply(c, "ERR refused: value longer than %d bytes", KV_VALUE_LEN_MAX);
    return;
  }
  const kv_map_t *m = &c->r->map;
  if (m->len == m->limits.keys_max &&
      kv_map_get(m, (const uint8_t *)k, kl, &(const uint8_t *){NULL}, &(size_t){0})) {
    reply(c, "ERR refused: the store is full (%zu keys); DEL some first", m->limits.keys_max);
    return;
  }
  multicast(c, &(kv_cmd_t){.op = KV_OP_PUT, .key = (const uint8_t *)k, .key_len = kl,
                           .value = (const uint8_t *)p, .value_len = vl});
}

static void cmd_status(conn_t *c) {
  replica_t *r = c->r;
  char line[1024];
  if (cohort_group_status_line(r->g, line, sizeof line) < 0) line[0] = '\0';
  const cohort_group_view_t *v = cohort_group_view(r->g);
  reply(c, "STATUS id=%u inc=%llu members=%zu applied=%llu keys=%zu pending=%zu | %s",
        (unsigned)cohort_node_id(r->node),
        (unsigned long long)cohort_node_incarnation(r->node), v ? v->members_len : 0,
        (unsigned long long)r->progress.applied, r->map.len, r->pending_len, line);
}

static void handle_line(conn_t *c, const char *line, size_t n) {
  const char *p = line, *end = line + n;
  size_t wl;
  const char *w = word(&p, end, &wl);
  if (!w) return; /* an empty line: nothing to answer */
#define IS(s) (wl == sizeof(s) - 1 && !memcmp(w, s, wl))
  if (IS("GET")) cmd_get(c, p, end);
  else if (IS("PUT")) cmd_put(c, p, end);
  else if (IS("DEL")) {
    size_t kl;
    const char *k = word(&p, end, &kl);
    if (key_ok(c, k, kl))
      multicast(c, &(kv_cmd_t){.op = KV_OP_DEL, .key = (const uint8_t *)k, .key_len = kl});
  } else if (IS("HASH")) {
    const replica_t *r = c->r;
    reply(c, "HASH %016llx keys=%zu applied=%llu log=%016llx",
          (unsigned long long)kv_map_hash(&r->map), r->map.len,
          (unsigned long long)r->progress.applied, (unsigned long long)r->progress.log);
  } else if (IS("STATUS")) cmd_status(c);
  else reply(c, "ERR unknown command (PUT K V, GET [--linearizable] K, DEL K, HASH, STATUS)");
#undef IS
}

/* ---- client connections ------------------------------------------------- */

static void conn_closed(uv_handle_t *h) { free(h->data); }

static void conn_close(conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  pending_forget_conn(c->r, c);
  c->r->conns[c->slot] = NULL;
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn_t *c = h->data;
  *buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof c->in - c->in_len));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Run the buffered lines until one waits for the group; read more only
 * when not waiting (one request per client in flight). */
static void conn_process(conn_t *c) {
  while (!c->waiting && !c->closing) {
    char *nl = memchr(c->in, '\n', c->in_len);
    if (!nl) break;
    size_t n = (size_t)(nl - c->in);
    handle_line(c, c->in, n > 0 && c->in[n - 1] == '\r' ? n - 1 : n);
    memmove(c->in, nl + 1, c->in_len - n - 1);
    c->in_len -= n + 1;
  }
  if (c->closing) return;
  if (c->in_len == sizeof c->in && !memchr(c->in, '\n', c->in_len)) { /* no whole line */
    reply(c, "ERR refused: line longer than %d bytes", KV_LINE_MAX - 1);
    conn_close(c);
    return;
  }
  bool want = !c->waiting;
  if (want && !c->reading) uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
  if (!want && c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = want;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  conn_t *c = s->data;
  if (nread < 0) {
    conn_close(c); /* EOF or error */
    return;
  }
  c->in_len += (size_t)nread;
  conn_process(c);
}

/* Its request was answered: run the lines it sent meanwhile. */
static void conn_resume(conn_t *c) {
  if (c->closing || c->r->in_send) return; /* multicast()'s caller goes on */
  conn_process(c);
}

static void on_connection(uv_stream_t *server, int status) {
  replica_t *r = server->data;
  if (status < 0) return;
  size_t slot = 0;
  while (slot < KV_CONNS_MAX && r->conns[slot]) slot++;
  conn_t *c = calloc(1, sizeof *c);
  if (!c) return;
  uv_tcp_init(&r->loop, &c->tcp);
  c->tcp.data = c;
  c->r = r;
  c->slot = slot;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || slot == KV_CONNS_MAX) {
    c->closing = true; /* never registered in conns */
    if (slot == KV_CONNS_MAX) {
      static const char full[] = "ERR refused: too many clients\n";
      uv_buf_t b = uv_buf_init((char *)full, sizeof full - 1);
      (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    return;
  }
  r->conns[slot] = c;
  uv_tcp_nodelay(&c->tcp, 1);
  c->reading = true;
  uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

/* ---- command line ----------------------------------------------------------- */

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("kvstore: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n(try 'kvstore --help')\n", stderr);
  return 2;
}

enum { OPT_ID = 256, OPT_LISTEN, OPT_JOIN, OPT_KEY, OPT_SERVE, OPT_EXPECTED, OPT_CLUSTER,
       OPT_TRACE, OPT_HELP };

static const struct option options[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"join", required_argument, NULL, OPT_JOIN},
    {"key-file", required_argument, NULL, OPT_KEY},
    {"serve", required_argument, NULL, OPT_SERVE},
    {"expected", required_argument, NULL, OPT_EXPECTED},
    {"cluster-id", required_argument, NULL, OPT_CLUSTER},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_one(args_t *a, int opt, const char *v) {
  char err[512];
  uint64_t u;
  switch (opt) {
  case OPT_ID:
    if (cohort_parse_u64(v, &u) < 0 || u == 0 || u >= COHORT_NODE_NONE)
      return bad_usage("--id: '%s' is not a node id", v);
    a->cfg.id = (cohort_node_id_t)u;
    a->have_id = true;
    return 0;
  case OPT_LISTEN:
    if (cohort_runtime_parse_addr(v, false, &a->cfg.listen) < 0)
      return bad_usage("--listen: bad address '%s' (want IPv4:PORT or [IPv6]:PORT)", v);
    a->have_listen = true;
    return 0;
  case OPT_JOIN:
    if (cohort_runtime_parse_contacts(v, a->contacts, &a->cfg.contacts_len,
                                      COHORT_CONTACTS_MAX, err, sizeof err) < 0)
      return bad_usage("--join: %s", err);
    return 0;
  case OPT_KEY:
    if (cohort_runtime_read_keys(v, &a->keys, err, sizeof err) < 0)
      return bad_usage("--key-file: %s", err);
    a->cfg.keys = &a->keys;
    a->have_keys = true;
    return 0;
  case OPT_SERVE:
    if (cohort_runtime_parse_addr(v, false, &a->serve) < 0)
      return bad_usage("--serve: bad address '%s' (want IPv4:PORT or [IPv6]:PORT)", v);
    a->have_serve = true;
    return 0;
  case OPT_EXPECTED:
    if (cohort_parse_u64(v, &u) < 0 || u == 0 || u > COHORT_GROUP_MEMBERS_MAX)
      return bad_usage("--expected: '%s' is not a count of replicas (1..%d)", v,
                       COHORT_GROUP_MEMBERS_MAX);
    a->expected = (uint32_t)u;
    return 0;
  case OPT_CLUSTER:
    if (cohort_parse_u64(v, &a->cfg.cluster_id) < 0)
      return bad_usage("--cluster-id: '%s' is not a number", v);
    return 0;
  case OPT_TRACE: a->cfg.trace_path = v; return 0;
  default: return 2;
  }
}

/* 0, 2 (bad usage, said why) or -1 (--help printed). */
static int parse_args(int argc, char **argv, args_t *a) {
  a->cfg.cluster_id = 1;
  a->expected = 1;
  opterr = 0;
  for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;) {
    if (opt == 'h' || opt == OPT_HELP) {
      fputs(usage_text, stdout);
      return -1;
    }
    if (opt == '?' || opt == ':')
      return bad_usage("bad or incomplete option '%s'", argv[optind - 1]);
    int rc = parse_one(a, opt, optarg);
    if (rc) return rc;
  }
  if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
  if (!a->have_id) return bad_usage("--id is required");
  if (!a->have_listen) return bad_usage("--listen is required");
  if (!a->have_keys) return bad_usage("--key-file is required: replicas authenticate each other");
  if (!a->have_serve) return bad_usage("--serve is required: the clients' address");
  a->cfg.contacts = a->contacts;
  return 0;
}

/* ---- the replica's life ------------------------------------------------------ */

static void on_signal(uv_signal_t *s, int signum) {
  replica_t *r = s->data;
  r->signal_seen = signum;
  uv_stop(&r->loop);
}

static int start_group(replica_t *r) {
  cohort_group_config_t gc;
  cohort_group_config_default(&gc);
  gc.founder = r->args->cfg.contacts_len == 0; /* no contact: found a new group */
  gc.expected_votes = r->args->expected;
  gc.minority = COHORT_GROUP_MINORITY_BLOCK; /* a minority must not accept writes */
  cohort_group_callbacks_t cb = {.view = on_view, .block = on_block, .deliver = on_deliver,
                                 .get_state = on_get_state, .set_state = on_set_state,
                                 .excluded = on_excluded};
  int rc = cohort_group_new(r->node, &gc, &cb, r, &r->g);
  if (rc) return rc;
  rc = cohort_node_attach(r->node, cohort_group_proto(r->g));
  r->attached = rc == 0;
  return rc;
}

static int start_server(replica_t *r) {
  uv_tcp_init(&r->loop, &r->server);
  r->server.data = r;
  r->server_open = true;
  int rc = uv_tcp_bind(&r->server, (const struct sockaddr *)&r->args->serve, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&r->server, 64, on_connection);
  if (rc) fprintf(stderr, "kvstore: --serve: %s\n", uv_strerror(rc));
  return rc;
}

static int start(replica_t *r) {
  char err[512];
  int rc = cohort_runtime_new(&r->loop, NULL, &r->rt);
  if (rc == 0) rc = cohort_runtime_node_add(r->rt, &r->args->cfg, &r->rn, err, sizeof err);
  if (rc) {
    fprintf(stderr, "kvstore: %s\n", r->rt ? err : cohort_strerror(rc));
    return 1;
  }
  r->node = cohort_runtime_node(r->rn);
  r->limits = kv_limits_default();
  if ((rc = kv_map_init(&r->map, &r->limits, cohort_node_allocator(r->node))) ||
      (rc = start_group(r))) {
    fprintf(stderr, "kvstore: %s\n", cohort_strerror(rc));
    return 1;
  }
  if (start_server(r)) return 1;
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  printf("kvstore %u incarnation %llu: group %s, clients on --serve, %s\n",
         (unsigned)r->args->cfg.id, (unsigned long long)cohort_node_incarnation(r->node),
         r->args->cfg.contacts_len ? "joining through contacts" : "founded here",
         "writes by total-order multicast");
  fflush(stdout);
  cohort_node_start(r->node);
  return 0;
}

static void stop(replica_t *r) {
  for (size_t i = 0; i < KV_CONNS_MAX; i++)
    if (r->conns[i]) conn_close(r->conns[i]);
  if (r->server_open) uv_close((uv_handle_t *)&r->server, NULL);
  if (uv_is_active((uv_handle_t *)&r->sigint)) {
    uv_close((uv_handle_t *)&r->sigint, NULL);
    uv_close((uv_handle_t *)&r->sigterm, NULL);
  }
  if (r->rt) cohort_runtime_stop(r->rt);
  if (r->attached) cohort_node_detach(r->node, cohort_group_proto(r->g));
  cohort_group_free(r->g);
  cohort_runtime_free(r->rt); /* runs the loop until every handle is closed */
  uv_run(&r->loop, UV_RUN_DEFAULT);
  kv_map_close(&r->map);
}

/* `kvstore --hash-file F`: the HASH line a store holding F's pairs
 * ("KEY VALUE" lines, the value the rest of the line) answers. */
static int hash_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return bad_usage("--hash-file: cannot open '%s'", path);
  kv_map_t m;
  kv_limits_t lim = kv_limits_default();
  int rc = kv_map_init(&m, &lim, cohort_allocator_default());
  char line[KV_LINE_MAX];
  for (unsigned n = 1; rc == 0 && fgets(line, sizeof line, f); n++) {
    size_t len = strcspn(line, "\n");
    const char *sp = memchr(line, ' ', len);
    size_t kl = sp ? (size_t)(sp - line) : len;
    const char *v = sp ? sp + 1 : line + len;
    rc = kv_map_put(&m, (const uint8_t *)line, kl, (const uint8_t *)v, len - (size_t)(v - line));
    if (rc) fprintf(stderr, "kvstore: %s:%u: %s\n", path, n, cohort_strerror(rc));
  }
  fclose(f);
  if (rc == 0)
    printf("HASH %016llx keys=%zu\n", (unsigned long long)kv_map_hash(&m), m.len);
  kv_map_close(&m);
  return rc ? 1 : 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-reply is an error code, not a death */
  if (argc == 3 && !strcmp(argv[1], "--hash-file")) return hash_file(argv[2]);
  static args_t args;
  int rc = parse_args(argc, argv, &args);
  if (rc) return rc < 0 ? 0 : rc;
  setvbuf(stdout, NULL, _IOLBF, 0);
  replica_t *r = calloc(1, sizeof *r);
  if (!r || uv_loop_init(&r->loop)) {
    fprintf(stderr, "kvstore: cannot create the event loop\n");
    return 1;
  }
  r->args = &args;
  int status = start(r);
  if (status == 0) {
    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (r->signal_seen) printf("kvstore: signal %d, stopping\n", r->signal_seen);
  }
  stop(r);
  if (uv_loop_close(&r->loop)) fprintf(stderr, "kvstore: handles left open\n");
  free(r);
  return status;
}
