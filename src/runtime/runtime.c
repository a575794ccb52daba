/*
 * src/runtime/runtime.c — the libuv host of the sans-I/O node: one UDP
 * socket, one wake-up timer and one delayed-datagram timer per node, the
 * monotonic clock for `now`, CLOCK_REALTIME for `wall`/`true_time`, a
 * xoshiro256** PRNG seeded from getrandom(2), a buffered JSON Lines trace,
 * and user-space fault injection on send.
 *
 * Invariants: a node's handles are closed (and their close callbacks run)
 * before its memory is freed; the delayed queue is the shared heap
 * (cohort/heap.h) on (due, seq) holding at most COHORT_RUNTIME_DELAYED_MAX datagrams, so
 * datagrams with equal due times leave in send order; sends never queue in
 * libuv (uv_udp_try_send); trace records are written ahead of sends (when
 * a datagram leaves, its sender's records up to its `send` are in the
 * file); nothing here prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cohort/heap.h"
#include "cohort/prng.h"
#include "cohort/runtime.h"
#include "cohort/trace.h"

/* Largest datagram read: one more than accepted, so oversize is seen. */
#define RX_BUFFER_LEN (COHORT_DATAGRAM_MAX + 1)

typedef struct delayed {
  struct sockaddr_storage to; /* the address at send time: peers may go */
  size_t len;
  uint8_t *data;
} delayed_t;

/* A peer as the host knows it: where it is, and what faults hit it. */
typedef struct rt_peer {
  cohort_node_id_t id;
  struct sockaddr_storage addr;
  bool has_addr, has_fault;
  cohort_runtime_fault_t fault;
} rt_peer_t;

typedef cohort_prng_t rng_t;

struct cohort_runtime_node {
  cohort_runtime_t *rt;
  cohort_node_t *node;
  cohort_node_id_t id;
  uv_udp_t udp;
  uv_timer_t wake_timer;
  uv_timer_t delay_timer;
  int handles_open; /* handles initialised and not yet closed */
  bool udp_init, wake_init, delay_init, stopped;
  rt_peer_t *peers; /* unsorted; at most COHORT_NODES_MAX */
  size_t peers_len, peers_cap;
  cohort_runtime_fault_t fault_all;
  bool has_fault_all;
  rng_t rng, fault_rng;
  int trace_fd; /* -1 = not tracing */
  char *trace_buf; /* COHORT_RUNTIME_TRACE_BUFFER bytes, whole records */
  size_t trace_len;
  cohort_heap_t heap;  /* due (monotonic ns), seq; ref = slot of delayed[] */
  delayed_t *delayed;  /* COHORT_RUNTIME_DELAYED_MAX slots once used */
  uint32_t *free_slot; /* stack of free slots of delayed[] */
  uint32_t free_len;
  uint8_t *rx;
  cohort_runtime_stats_t stats;
};

struct cohort_runtime {
  uv_loop_t *loop;
  const cohort_allocator_t *alloc;
  cohort_runtime_node_t *nodes[COHORT_RUNTIME_NODES_MAX];
  size_t nodes_len;
  uv_timer_t flush_timer;
  int handles_open;
};

/* ---- PRNG: cohort/prng.h's xoshiro256**, seeded from getrandom(2) ------ */

static uint64_t rng_next(rng_t *r) { return cohort_prng_next(r); }

static void rng_seed(rng_t *r) {
  uint64_t x = 0;
  if (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x)
    x = uv_hrtime() ^ ((uint64_t)getpid() << 32); /* no entropy source */
  cohort_prng_seed(r, x);
}

/* True with probability p. */
static bool rng_chance(rng_t *r, double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return (double)(rng_next(r) >> 11) * 0x1.0p-53 < p;
}

/* ---- clocks ------------------------------------------------------------- */

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * COHORT_NS_PER_S + ts.tv_nsec;
}

static int64_t host_now(void *h) {
  (void)h;
  return (int64_t)uv_hrtime();
}

static int64_t host_wall(void *h) {
  (void)h;
  return realtime_ns();
}

static uint64_t host_random(void *h) {
  cohort_runtime_node_t *rn = h;
  return rng_next(&rn->rng);
}

/* ---- trace ---------------------------------------------------------------- */

/* The trace is written with write(2) from a buffer that only ever holds
 * whole records, so a node killed with SIGKILL leaves a file that ends
 * with a complete line. The buffer is written before every send (see
 * host_send), every COHORT_RUNTIME_TRACE_FLUSH_MS and at close, so what
 * SIGKILL loses is only local events after the node's last send. */
static int trace_write_all(cohort_runtime_node_t *rn, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(rn->trace_fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return COHORT_EIO;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int cohort_runtime_node_flush(cohort_runtime_node_t *rn) {
  if (rn->trace_fd < 0 || rn->trace_len == 0) return 0;
  int rc = trace_write_all(rn, rn->trace_buf, rn->trace_len);
  rn->trace_len = 0;
  if (rc < 0) rn->stats.trace_errors++;
  return rc;
}

static void host_trace(void *h, const char *line, size_t len) {
  cohort_runtime_node_t *rn = h;
  if (rn->trace_fd < 0) return;
  if (rn->trace_len + len + 1 > COHORT_RUNTIME_TRACE_BUFFER)
    (void)cohort_runtime_node_flush(rn);
  if (len + 1 > COHORT_RUNTIME_TRACE_BUFFER) { /* larger than the buffer */
    if (trace_write_all(rn, line, len) < 0 || trace_write_all(rn, "\n", 1) < 0)
      rn->stats.trace_errors++;
    return;
  }
  memcpy(rn->trace_buf + rn->trace_len, line, len);
  rn->trace_buf[rn->trace_len + len] = '\n';
  rn->trace_len += len + 1;
}

/* An injected loss, recorded as the network would: at the destination,
 * incarnation unknown, no logical stamps, the sender as peer. */
static void trace_loss(cohort_runtime_node_t *rn, cohort_node_id_t to,
                       size_t len) {
  if (rn->trace_fd < 0) return;
  int64_t t = realtime_ns();
  cohort_trace_event_t ev = {
      .type = COHORT_EV_DROP, .node = to, .inc = 0, .local_ns = t,
      .true_ns = t, .has_stamps = false, .peer = rn->id, .bytes = len,
      .reason = "loss"};
  char line[512];
  int n = cohort_trace_format(&ev, line, sizeof line);
  if (n < 0) {
    rn->stats.trace_errors++;
    return;
  }
  host_trace(rn, line, (size_t)n);
}

static void flush_cb(uv_timer_t *t) {
  cohort_runtime_t *rt = t->data;
  for (size_t i = 0; i < rt->nodes_len; i++)
    (void)cohort_runtime_node_flush(rt->nodes[i]);
}

/* ---- wake-up ------------------------------------------------------------ */

static void wake_cb(uv_timer_t *t) {
  cohort_runtime_node_t *rn = t->data;
  if (!rn->stopped) cohort_node_on_wake(rn->node);
}

/* Timers have millisecond resolution against a cached, possibly coarse
 * loop clock: round up and add one so the node is never woken early (an
 * early wake-up would only re-arm, but costs a loop turn). */
static uint64_t timeout_ms(int64_t deadline) {
  int64_t now = (int64_t)uv_hrtime();
  if (deadline <= now) return 0;
  return (uint64_t)((deadline - now + COHORT_NS_PER_MS - 1) / COHORT_NS_PER_MS) + 1;
}

static void host_wake(void *h, int64_t deadline) {
  cohort_runtime_node_t *rn = h;
  if (rn->stopped || !rn->wake_init) return;
  if (deadline == COHORT_TIME_NEVER) {
    uv_timer_stop(&rn->wake_timer);
    return;
  }
  uv_update_time(rn->rt->loop);
  uv_timer_start(&rn->wake_timer, wake_cb, timeout_ms(deadline), 0);
}

/* ---- send, with fault injection ------------------------------------------ */

static int peer_slot(const cohort_runtime_node_t *rn, cohort_node_id_t id) {
  for (size_t i = 0; i < rn->peers_len; i++)
    if (rn->peers[i].id == id) return (int)i;
  return -1;
}

static int send_now(cohort_runtime_node_t *rn, const struct sockaddr_storage *to,
                    const uint8_t *d, size_t len) {
  uv_buf_t b = uv_buf_init((char *)(uintptr_t)d, (unsigned)len);
  int r = uv_udp_try_send(&rn->udp, &b, 1, (const struct sockaddr *)to);
  if (r < 0) {
    rn->stats.send_errors++;
    return r; /* -errno: EAGAIN when the socket buffer is full */
  }
  return 0;
}

/* The delayed queue: the shared heap (cohort/heap.h) of (due, seq) whose
 * ref is a slot of rn->delayed; free slots are a stack in rn->free_slot. */
static delayed_t delay_pop(cohort_runtime_node_t *rn) {
  cohort_heap_entry_t top = cohort_heap_pop(&rn->heap);
  rn->free_slot[rn->free_len++] = top.ref;
  return rn->delayed[top.ref];
}

static void delay_cb(uv_timer_t *t);

static void delay_rearm(cohort_runtime_node_t *rn) {
  if (cohort_heap_empty(&rn->heap) || rn->stopped) return;
  uv_update_time(rn->rt->loop);
  uv_timer_start(&rn->delay_timer, delay_cb, timeout_ms(cohort_heap_top(&rn->heap)->time), 0);
}

static void delay_cb(uv_timer_t *t) {
  cohort_runtime_node_t *rn = t->data;
  int64_t now = (int64_t)uv_hrtime();
  while (!cohort_heap_empty(&rn->heap) && cohort_heap_top(&rn->heap)->time <= now) {
    delayed_t d = delay_pop(rn);
    (void)send_now(rn, &d.to, d.data, d.len);
    cohort_free(rn->rt->alloc, d.data);
  }
  delay_rearm(rn);
}

/* The delayed queue's tables, allocated at the first delayed datagram. */
static int delay_tables(cohort_runtime_node_t *rn) {
  const cohort_allocator_t *a = rn->rt->alloc;
  if (rn->delayed) return 0;
  int rc = cohort_heap_reserve(&rn->heap, a, COHORT_RUNTIME_DELAYED_MAX,
                               COHORT_RUNTIME_DELAYED_MAX);
  if (rc) return rc;
  rn->free_slot = cohort_calloc(a, COHORT_RUNTIME_DELAYED_MAX, sizeof *rn->free_slot);
  if (!rn->free_slot) return COHORT_ENOMEM;
  rn->delayed = cohort_calloc(a, COHORT_RUNTIME_DELAYED_MAX, sizeof *rn->delayed);
  if (!rn->delayed) return COHORT_ENOMEM;
  for (uint32_t i = 0; i < COHORT_RUNTIME_DELAYED_MAX; i++)
    rn->free_slot[i] = COHORT_RUNTIME_DELAYED_MAX - 1 - i;
  rn->free_len = COHORT_RUNTIME_DELAYED_MAX;
  return 0;
}

static int send_later(cohort_runtime_node_t *rn, const struct sockaddr_storage *to,
                      const uint8_t *d, size_t len, int64_t delay_ns) {
  const cohort_allocator_t *a = rn->rt->alloc;
  int rc = delay_tables(rn);
  if (rc) return rc;
  if (rn->free_len == 0) {
    rn->stats.delay_overflow++;
    return COHORT_EFULL;
  }
  uint8_t *copy = cohort_alloc(a, len);
  if (!copy) return COHORT_ENOMEM;
  memcpy(copy, d, len);
  uint32_t ref = rn->free_slot[--rn->free_len];
  rn->delayed[ref] = (delayed_t){*to, len, copy};
  cohort_heap_push(&rn->heap, (int64_t)uv_hrtime() + delay_ns, ref, 0);
  rn->stats.fault_delayed++;
  delay_rearm(rn);
  return 0;
}

static const cohort_runtime_fault_t *fault_for(const cohort_runtime_node_t *rn,
                                               size_t slot) {
  if (rn->peers[slot].has_fault) return &rn->peers[slot].fault;
  return rn->has_fault_all ? &rn->fault_all : NULL;
}

static int send_copy(cohort_runtime_node_t *rn, const struct sockaddr_storage *to,
                     const cohort_runtime_fault_t *f, const uint8_t *d, size_t len) {
  int64_t delay = 0;
  if (f) {
    delay = f->delay_ns;
    if (f->jitter_ns > 0)
      delay += (int64_t)(rng_next(&rn->fault_rng) % ((uint64_t)f->jitter_ns + 1));
  }
  return delay > 0 ? send_later(rn, to, d, len, delay) : send_now(rn, to, d, len);
}

/* An injected replay: the same bytes again, much later. */
static void send_replay(cohort_runtime_node_t *rn, const struct sockaddr_storage *to,
                        const cohort_runtime_fault_t *f, const uint8_t *d, size_t len) {
  int64_t half = f->replay_delay_ns / 2;
  int64_t delay = half + (int64_t)(rng_next(&rn->fault_rng) % ((uint64_t)half + 1));
  if (send_later(rn, to, d, len, delay > 0 ? delay : 1) == 0) rn->stats.fault_replayed++;
}

static int host_send(void *h, cohort_node_id_t to, const uint8_t *d,
                     size_t len) {
  cohort_runtime_node_t *rn = h;
  int slot = peer_slot(rn, to);
  if (slot < 0 || !rn->peers[slot].has_addr) return COHORT_EUNKNOWN;
  if (len > COHORT_DATAGRAM_MAX) return COHORT_EINVAL;
  const struct sockaddr_storage *addr = &rn->peers[slot].addr;
  /* Write-ahead: every record up to this send's reaches the file before
   * the datagram leaves, so a process killed with SIGKILL never leaves a
   * trace missing an event that others' traces causally depend on. */
  (void)cohort_runtime_node_flush(rn);
  const cohort_runtime_fault_t *f = fault_for(rn, (size_t)slot);
  if (f && rng_chance(&rn->fault_rng, f->drop)) {
    rn->stats.fault_dropped++;
    trace_loss(rn, to, len);
    return 0; /* lost in the "network": the sender cannot tell */
  }
  int rc = send_copy(rn, addr, f, d, len);
  if (f && rng_chance(&rn->fault_rng, f->dup)) {
    rn->stats.fault_duplicated++;
    (void)send_copy(rn, addr, f, d, len);
  }
  if (f && rng_chance(&rn->fault_rng, f->replay)) send_replay(rn, addr, f, d, len);
  return rc;
}

/* A contact point whose node id we do not know (a join). No faults: they
 * are configured per peer id. */
static int host_send_addr(void *h, const uint8_t *addr, size_t addr_len, const uint8_t *d,
                          size_t len) {
  cohort_runtime_node_t *rn = h;
  struct sockaddr_storage to;
  if (cohort_runtime_addr_decode(addr, addr_len, &to) < 0) return COHORT_EUNKNOWN;
  if (len > COHORT_DATAGRAM_MAX) return COHORT_EINVAL;
  (void)cohort_runtime_node_flush(rn);
  return send_now(rn, &to, d, len);
}

static int peers_grow(cohort_runtime_node_t *rn) {
  if (rn->peers_len < rn->peers_cap) return 0;
  if (rn->peers_cap >= COHORT_NODES_MAX) return COHORT_EFULL;
  size_t cap = rn->peers_cap ? 2 * rn->peers_cap : 8;
  if (cap > COHORT_NODES_MAX) cap = COHORT_NODES_MAX;
  rt_peer_t *p = cohort_realloc(rn->rt->alloc, rn->peers, cap * sizeof *p);
  if (!p) return COHORT_ENOMEM;
  rn->peers = p;
  rn->peers_cap = cap;
  return 0;
}

/* The node added, updated or removed a peer: keep its address. */
static void host_peer(void *h, cohort_node_id_t id, const uint8_t *addr, size_t addr_len,
                      bool added) {
  cohort_runtime_node_t *rn = h;
  int slot = peer_slot(rn, id);
  if (!added) {
    if (slot >= 0) rn->peers[slot] = rn->peers[--rn->peers_len];
    return;
  }
  if (slot < 0) {
    if (peers_grow(rn) < 0) return; /* sends to it fail: counted by the node */
    slot = (int)rn->peers_len++;
    memset(&rn->peers[slot], 0, sizeof rn->peers[slot]);
    rn->peers[slot].id = id;
  }
  if (addr_len && cohort_runtime_addr_decode(addr, addr_len, &rn->peers[slot].addr) == 0)
    rn->peers[slot].has_addr = true;
}

static const cohort_host_ops_t host_ops = {
    .now = host_now,
    .wall = host_wall,
    .true_time = host_wall,
    .random = host_random,
    .send = host_send,
    .wake = host_wake,
    .trace = host_trace,
    .send_addr = host_send_addr,
    .peer = host_peer,
};

/* Same ops without tracing: the node skips formatting entirely. */
static const cohort_host_ops_t host_ops_untraced = {
    .now = host_now,
    .wall = host_wall,
    .true_time = host_wall,
    .random = host_random,
    .send = host_send,
    .wake = host_wake,
    .trace = NULL,
    .send_addr = host_send_addr,
    .peer = host_peer,
};

/* ---- receive -------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  cohort_runtime_node_t *rn = h->data;
  *buf = uv_buf_init((char *)rn->rx, RX_BUFFER_LEN);
}

static void recv_cb(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  (void)buf;
  cohort_runtime_node_t *rn = u->data;
  if (rn->stopped) return;
  if (nread < 0) {
    rn->stats.recv_errors++;
    return;
  }
  if (nread == 0 && addr == NULL) return; /* nothing more to read */
  /* A datagram longer than we accept (truncated to the buffer, which is one
   * byte longer) goes to the node all the same: it counts and traces it. */
  size_t len = (flags & UV_UDP_PARTIAL) ? RX_BUFFER_LEN : (size_t)nread;
  uint8_t from[COHORT_PEER_ADDR_MAX];
  int from_len = addr ? cohort_runtime_addr_encode((const struct sockaddr_storage *)addr,
                                                   from, sizeof from)
                      : -1;
  (void)cohort_node_on_datagram_from(rn->node, rn->rx, len, from_len > 0 ? from : NULL,
                                     from_len > 0 ? (size_t)from_len : 0);
}

/* ---- lifecycle ------------------------------------------------------------- */

int cohort_runtime_new(uv_loop_t *loop, const cohort_allocator_t *alloc,
                       cohort_runtime_t **out) {
  if (!loop || !out) return COHORT_EINVAL;
  if (!alloc) alloc = cohort_allocator_default();
  cohort_runtime_t *rt = cohort_calloc(alloc, 1, sizeof *rt);
  if (!rt) return COHORT_ENOMEM;
  rt->loop = loop;
  rt->alloc = alloc;
  uv_timer_init(loop, &rt->flush_timer);
  rt->flush_timer.data = rt;
  rt->handles_open = 1;
  uv_timer_start(&rt->flush_timer, flush_cb, COHORT_RUNTIME_TRACE_FLUSH_MS,
                 COHORT_RUNTIME_TRACE_FLUSH_MS);
  uv_unref((uv_handle_t *)&rt->flush_timer); /* never keeps the loop alive */
  *out = rt;
  return 0;
}

uv_loop_t *cohort_runtime_loop(cohort_runtime_t *rt) { return rt->loop; }

cohort_node_t *cohort_runtime_node(cohort_runtime_node_t *rn) { return rn->node; }

const cohort_runtime_stats_t *
cohort_runtime_node_stats(const cohort_runtime_node_t *rn) {
  return &rn->stats;
}

static void node_handle_closed(uv_handle_t *h) {
  cohort_runtime_node_t *rn = h->data;
  rn->handles_open--;
}

static void close_node_handles(cohort_runtime_node_t *rn) {
  if (rn->udp_init) uv_close((uv_handle_t *)&rn->udp, node_handle_closed);
  if (rn->wake_init) uv_close((uv_handle_t *)&rn->wake_timer, node_handle_closed);
  if (rn->delay_init) uv_close((uv_handle_t *)&rn->delay_timer, node_handle_closed);
  rn->udp_init = rn->wake_init = rn->delay_init = false;
}

/* Free a node whose handles are all closed (close callbacks have run). */
static void node_release(cohort_runtime_node_t *rn) {
  const cohort_allocator_t *a = rn->rt->alloc;
  COHORT_ASSERT(rn->handles_open == 0);
  cohort_node_free(rn->node);
  while (!cohort_heap_empty(&rn->heap)) cohort_free(a, delay_pop(rn).data);
  if (rn->trace_fd >= 0) {
    (void)cohort_runtime_node_flush(rn);
    if (close(rn->trace_fd) != 0) rn->stats.trace_errors++;
  }
  cohort_free(a, rn->trace_buf);
  cohort_heap_close(&rn->heap, a);
  cohort_free(a, rn->delayed);
  cohort_free(a, rn->free_slot);
  cohort_free(a, rn->rx);
  cohort_free(a, rn->peers);
  cohort_free(a, rn);
}

/* Run only the loop's close phase until every handle in `counter` closed.
 * UV_RUN_NOWAIT never blocks: pending closes make the poll timeout 0. */
static void run_until_closed(uv_loop_t *loop, const int *counter) {
  while (*counter > 0) uv_run(loop, UV_RUN_NOWAIT);
}

static void node_destroy(cohort_runtime_node_t *rn) {
  rn->stopped = true;
  close_node_handles(rn);
  run_until_closed(rn->rt->loop, &rn->handles_open);
  node_release(rn);
}

void cohort_runtime_stop(cohort_runtime_t *rt) {
  if (!rt) return;
  for (size_t i = 0; i < rt->nodes_len; i++) {
    cohort_runtime_node_t *rn = rt->nodes[i];
    if (rn->stopped) continue;
    rn->stopped = true;
    uv_udp_recv_stop(&rn->udp);
    uv_timer_stop(&rn->wake_timer);
    uv_timer_stop(&rn->delay_timer);
  }
  uv_timer_stop(&rt->flush_timer);
}

static void runtime_handle_closed(uv_handle_t *h) {
  cohort_runtime_t *rt = h->data;
  rt->handles_open--;
}

void cohort_runtime_free(cohort_runtime_t *rt) {
  if (!rt) return;
  cohort_runtime_stop(rt);
  for (size_t i = 0; i < rt->nodes_len; i++) close_node_handles(rt->nodes[i]);
  uv_close((uv_handle_t *)&rt->flush_timer, runtime_handle_closed);
  for (size_t i = 0; i < rt->nodes_len; i++)
    run_until_closed(rt->loop, &rt->nodes[i]->handles_open);
  run_until_closed(rt->loop, &rt->handles_open);
  for (size_t i = 0; i < rt->nodes_len; i++) node_release(rt->nodes[i]);
  cohort_free(rt->alloc, rt);
}

/* ---- adding a node ---------------------------------------------------------- */

static int check_config(const cohort_runtime_t *rt,
                        const cohort_runtime_node_config_t *cfg, char *err,
                        size_t errcap) {
  if (rt->nodes_len == COHORT_RUNTIME_NODES_MAX) {
    snprintf(err, errcap, "too many nodes in one process (max %d)",
             COHORT_RUNTIME_NODES_MAX);
    return COHORT_EFULL;
  }
  if (cfg->id == COHORT_NODE_NONE) {
    snprintf(err, errcap, "node id %u is reserved", (unsigned)cfg->id);
    return COHORT_EINVAL;
  }
  if (cfg->peers_len >= COHORT_NODES_MAX) {
    snprintf(err, errcap, "too many peers (max %d)", COHORT_NODES_MAX - 1);
    return COHORT_EINVAL;
  }
  if (cfg->key_len > COHORT_CLUSTER_KEY_MAX || (cfg->key_len && !cfg->key)) {
    snprintf(err, errcap, "cluster key longer than %d bytes", COHORT_CLUSTER_KEY_MAX);
    return COHORT_EINVAL;
  }
  if (cfg->contacts_len > COHORT_CONTACTS_MAX || (cfg->contacts_len && !cfg->contacts)) {
    snprintf(err, errcap, "too many contact points (max %d)", COHORT_CONTACTS_MAX);
    return COHORT_EINVAL;
  }
  if (cfg->socket_buffer_bytes > COHORT_RUNTIME_SOCKET_BUFFER_MAX) {
    snprintf(err, errcap, "socket buffer of %zu bytes is above the limit (%u)",
             cfg->socket_buffer_bytes, COHORT_RUNTIME_SOCKET_BUFFER_MAX);
    return COHORT_EINVAL;
  }
  for (size_t i = 0; i < cfg->contacts_len; i++) {
    uint8_t enc[COHORT_PEER_ADDR_MAX];
    if (cohort_runtime_addr_encode(&cfg->contacts[i], enc, sizeof enc) < 0) {
      snprintf(err, errcap, "contact point %zu is not an IPv4 or IPv6 address", i + 1);
      return COHORT_EINVAL;
    }
  }
  for (size_t i = 0; i < cfg->peers_len; i++) {
    if (cfg->peers[i].id == cfg->id || cfg->peers[i].id == COHORT_NODE_NONE) {
      snprintf(err, errcap, "peer id %u is this node's own id or reserved",
               (unsigned)cfg->peers[i].id);
      return COHORT_EINVAL;
    }
    for (size_t j = 0; j < i; j++)
      if (cfg->peers[j].id == cfg->peers[i].id) {
        snprintf(err, errcap, "duplicate peer id %u", (unsigned)cfg->peers[i].id);
        return COHORT_EINVAL;
      }
  }
  return 0;
}

static int node_alloc(cohort_runtime_t *rt, const cohort_runtime_node_config_t *cfg,
                      cohort_runtime_node_t **out) {
  const cohort_allocator_t *a = rt->alloc;
  cohort_runtime_node_t *rn = cohort_calloc(a, 1, sizeof *rn);
  if (!rn) return COHORT_ENOMEM;
  rn->rt = rt;
  rn->trace_fd = -1;
  rn->id = cfg->id;
  size_t np = cfg->peers_len ? cfg->peers_len : 1;
  rn->peers = cohort_calloc(a, np, sizeof *rn->peers);
  rn->rx = cohort_alloc(a, RX_BUFFER_LEN);
  if (!rn->peers || !rn->rx) {
    node_release(rn);
    return COHORT_ENOMEM;
  }
  rn->peers_cap = np;
  rn->peers_len = cfg->peers_len;
  for (size_t i = 0; i < cfg->peers_len; i++)
    rn->peers[i] = (rt_peer_t){.id = cfg->peers[i].id, .addr = cfg->peers[i].addr,
                               .has_addr = true};
  rng_seed(&rn->rng);
  rng_seed(&rn->fault_rng);
  *out = rn;
  return 0;
}

static int open_trace(cohort_runtime_node_t *rn, const char *path, char *err,
                      size_t errcap) {
  if (!path) return 0;
  rn->trace_buf = cohort_alloc(rn->rt->alloc, COHORT_RUNTIME_TRACE_BUFFER);
  if (!rn->trace_buf) {
    snprintf(err, errcap, "out of memory");
    return COHORT_ENOMEM;
  }
  rn->trace_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (rn->trace_fd < 0) {
    snprintf(err, errcap, "cannot open trace file '%s': %s", path, strerror(errno));
    return COHORT_EIO;
  }
  return 0;
}

/* The configured peers' addresses, given to the node too: it then knows
 * every peer's address, and learns from datagrams only those it lacks
 * (peers added at run time without one, e.g. a group coordinator). */
static void tell_peer_addrs(cohort_runtime_node_t *rn) {
  for (size_t i = 0; i < rn->peers_len; i++) {
    uint8_t enc[COHORT_PEER_ADDR_MAX];
    int len = cohort_runtime_addr_encode(&rn->peers[i].addr, enc, sizeof enc);
    if (len > 0) (void)cohort_node_peer_add(rn->node, rn->peers[i].id, 0, enc, (size_t)len);
  }
}

static int make_node(cohort_runtime_node_t *rn, const cohort_runtime_node_config_t *cfg,
                     cohort_incarnation_t inc, char *err, size_t errcap) {
  cohort_node_id_t *ids = cohort_calloc(rn->rt->alloc, rn->peers_len + 1, sizeof *ids);
  if (!ids) return COHORT_ENOMEM;
  for (size_t i = 0; i < rn->peers_len; i++) ids[i] = rn->peers[i].id;
  cohort_contact_t contacts[COHORT_CONTACTS_MAX];
  size_t nc_len = 0;
  for (size_t i = 0; i < cfg->contacts_len && i < COHORT_CONTACTS_MAX; i++) {
    int len = cohort_runtime_addr_encode(&cfg->contacts[i], contacts[nc_len].addr,
                                         sizeof contacts[nc_len].addr);
    if (len > 0) contacts[nc_len++].len = (uint8_t)len; /* checked in check_config */
  }
  cohort_node_config_t nc = {
      .cluster_id = cfg->cluster_id, .id = cfg->id, .incarnation = inc,
      .peers = ids, .peers_len = rn->peers_len, .key = cfg->key,
      .key_len = cfg->key_len, .vector_clock = cfg->vector_clock,
      .hlc_max_offset_ns = cfg->hlc_max_offset_ns, .alloc = rn->rt->alloc,
      .security = cfg->security, .cipher = cfg->cipher,
      .contacts = nc_len ? contacts : NULL, .contacts_len = nc_len};
  const cohort_runtime_keys_t *k = cfg->keys;
  for (size_t i = 0; k && i < k->len; i++)
    if (k->ids[i] == k->use) {
      nc.key = k->keys[i];
      nc.key_len = k->lens[i];
      nc.key_id = k->use;
    }
  int rc = cohort_node_new(&nc, rn->trace_fd >= 0 ? &host_ops : &host_ops_untraced, rn,
                           &rn->node);
  cohort_free(rn->rt->alloc, ids);
  if (rc == 0) tell_peer_addrs(rn);
  if (rc == 0 && k) rc = cohort_runtime_node_set_keys(rn, k);
  if (rc < 0) snprintf(err, errcap, "node: %s", cohort_strerror(rc));
  return rc;
}

/* SO_RCVBUF / SO_SNDBUF of the bound socket: forced when allowed (root),
 * else asked (the kernel caps it at rmem_max / wmem_max). A refusal is
 * not an error: the effective sizes are in the stats either way. */
static void size_buffers(cohort_runtime_node_t *rn, size_t bytes) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&rn->udp, &fd) != 0) return;
  int want = (int)(bytes ? bytes : COHORT_RUNTIME_SOCKET_BUFFER);
  static const int opts[2][2] = {{SO_RCVBUFFORCE, SO_RCVBUF}, {SO_SNDBUFFORCE, SO_SNDBUF}};
  uint64_t *got[2] = {&rn->stats.rcvbuf_bytes, &rn->stats.sndbuf_bytes};
  for (int i = 0; i < 2; i++) {
    if (setsockopt(fd, SOL_SOCKET, opts[i][0], &want, sizeof want) != 0)
      (void)setsockopt(fd, SOL_SOCKET, opts[i][1], &want, sizeof want);
    int v = 0;
    socklen_t vl = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opts[i][1], &v, &vl) == 0 && v > 0) *got[i] = (uint64_t)v;
  }
}

static int open_socket(cohort_runtime_node_t *rn, const struct sockaddr_storage *listen,
                       size_t buffer_bytes, char *err, size_t errcap) {
  uv_loop_t *loop = rn->rt->loop;
  uv_udp_init(loop, &rn->udp);
  uv_timer_init(loop, &rn->wake_timer);
  uv_timer_init(loop, &rn->delay_timer);
  rn->udp.data = rn->wake_timer.data = rn->delay_timer.data = rn;
  rn->udp_init = rn->wake_init = rn->delay_init = true;
  rn->handles_open = 3;
  int r = uv_udp_bind(&rn->udp, (const struct sockaddr *)listen, 0);
  if (r == 0) size_buffers(rn, buffer_bytes);
  if (r == 0) r = uv_udp_recv_start(&rn->udp, alloc_cb, recv_cb);
  if (r < 0) {
    char name[64] = "?";
    if (listen->ss_family == AF_INET6)
      uv_ip6_name((const struct sockaddr_in6 *)listen, name, sizeof name);
    else
      uv_ip4_name((const struct sockaddr_in *)listen, name, sizeof name);
    snprintf(err, errcap, "cannot listen on %s port %u: %s", name,
             (unsigned)ntohs(((const struct sockaddr_in *)listen)->sin_port),
             uv_strerror(r));
    return COHORT_EIO;
  }
  return 0;
}

int cohort_runtime_node_add(cohort_runtime_t *rt,
                            const cohort_runtime_node_config_t *cfg,
                            cohort_runtime_node_t **out, char *err,
                            size_t errcap) {
  int rc = check_config(rt, cfg, err, errcap);
  if (rc < 0) return rc;
  cohort_incarnation_t inc = cfg->incarnation;
  if (inc == 0) {
    rc = cohort_runtime_incarnation(cfg->state_dir, cfg->id, &inc, err, errcap);
    if (rc < 0) return rc;
  }
  cohort_runtime_node_t *rn = NULL;
  rc = node_alloc(rt, cfg, &rn);
  if (rc < 0) {
    snprintf(err, errcap, "out of memory");
    return rc;
  }
  rc = open_trace(rn, cfg->trace_path, err, errcap);
  if (rc == 0) rc = make_node(rn, cfg, inc, err, errcap);
  if (rc == 0) rc = open_socket(rn, &cfg->listen, cfg->socket_buffer_bytes, err, errcap);
  if (rc < 0) {
    node_destroy(rn);
    return rc;
  }
  rt->nodes[rt->nodes_len++] = rn;
  *out = rn;
  return 0;
}

int cohort_runtime_node_address(const cohort_runtime_node_t *rn,
                                struct sockaddr_storage *out) {
  int len = (int)sizeof *out;
  int r = uv_udp_getsockname(&rn->udp, (struct sockaddr *)out, &len);
  return r < 0 ? COHORT_EIO : 0;
}

int cohort_runtime_node_set_peer(cohort_runtime_node_t *rn, cohort_node_id_t peer,
                                 const struct sockaddr_storage *addr) {
  int slot = peer_slot(rn, peer);
  if (slot < 0) return COHORT_EUNKNOWN;
  rn->peers[slot].addr = *addr;
  rn->peers[slot].has_addr = true;
  uint8_t enc[COHORT_PEER_ADDR_MAX]; /* the node keeps the same address */
  int len = cohort_runtime_addr_encode(addr, enc, sizeof enc);
  if (len > 0) (void)cohort_node_peer_add(rn->node, peer, 0, enc, (size_t)len);
  return 0;
}

int cohort_runtime_node_set_keys(cohort_runtime_node_t *rn, const cohort_runtime_keys_t *k) {
  cohort_node_t *n = rn->node;
  for (size_t i = 0; i < k->len; i++) {
    int rc = cohort_node_key_add(n, k->ids[i], k->keys[i], k->lens[i]);
    if (rc == COHORT_EEXIST) continue; /* held already; its bytes are checked below */
    if (rc < 0) return rc;
  }
  int rc = cohort_node_key_use(n, k->use);
  if (rc < 0) return rc;
  for (unsigned id = 0; id < 256; id++) {
    bool keep = false;
    for (size_t i = 0; i < k->len; i++) keep |= k->ids[i] == id;
    if (!keep) (void)cohort_node_key_remove(n, (uint8_t)id);
  }
  return 0;
}

int cohort_runtime_addr_encode(const struct sockaddr_storage *ss, uint8_t *out, size_t cap) {
  if (ss->ss_family == AF_INET && cap >= 7) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    out[0] = 4;
    memcpy(out + 1, &a->sin_port, 2);
    memcpy(out + 3, &a->sin_addr, 4);
    return 7;
  }
  if (ss->ss_family == AF_INET6 && cap >= 19) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    out[0] = 6;
    memcpy(out + 1, &a->sin6_port, 2);
    memcpy(out + 3, &a->sin6_addr, 16);
    return 19;
  }
  return COHORT_EINVAL;
}

int cohort_runtime_addr_decode(const uint8_t *addr, size_t len, struct sockaddr_storage *out) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (len == 7 && addr[0] == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    memcpy(&a->sin_port, addr + 1, 2);
    memcpy(&a->sin_addr, addr + 3, 4);
  } else if (len == 19 && addr[0] == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    memcpy(&a->sin6_port, addr + 1, 2);
    memcpy(&a->sin6_addr, addr + 3, 16);
  } else {
    return COHORT_EINVAL;
  }
  *out = ss;
  return 0;
}

static bool fault_valid(const cohort_runtime_fault_t *f) {
  return f->drop >= 0 && f->drop <= 1 && f->dup >= 0 && f->dup <= 1 && f->replay >= 0 &&
         f->replay <= 1 && f->delay_ns >= 0 && f->jitter_ns >= 0 && f->replay_delay_ns >= 0;
}

int cohort_runtime_node_fault(cohort_runtime_node_t *rn, cohort_node_id_t peer,
                              const cohort_runtime_fault_t *f) {
  if (!fault_valid(f)) return COHORT_EINVAL;
  if (peer == COHORT_NODE_NONE) {
    rn->fault_all = *f;
    rn->has_fault_all = true;
    return 0;
  }
  int slot = peer_slot(rn, peer);
  if (slot < 0) return COHORT_EUNKNOWN;
  rn->peers[slot].fault = *f;
  rn->peers[slot].has_fault = true;
  return 0;
}
