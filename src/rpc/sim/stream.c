/*
 * src/rpc/sim/stream.c — the simulated byte stream (stream.h). Each write
 * becomes one segment with an arrival time: the later of the previous
 * segment's arrival (order) and now + latency + jitter + the time the line
 * needs at the configured bandwidth (+ a stall, sometimes). Reads take
 * bytes from segments that have arrived, a random amount at a time.
 */
#include "stream.h"

#include <string.h>

static uint64_t draw(rpc_sim_stream_t *s, uint64_t n) { /* uniform in [0, n) */
  return n ? cohort_prng_next(&s->prng) % n : 0;
}

void rpc_sim_stream_init(rpc_sim_stream_t *s, const rpc_sim_stream_config_t *cfg, uint64_t seed,
                         const cohort_allocator_t *a) {
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  if (!s->cfg.buffer_max) s->cfg.buffer_max = 4u << 20;
  s->a = a ? a : cohort_allocator_default();
  cohort_prng_seed(&s->prng, seed);
}

void rpc_sim_stream_close(rpc_sim_stream_t *s) {
  for (int d = 0; d < 2; d++) {
    rpc_sim_dir_t *q = &s->dir[d];
    for (size_t i = 0; i < q->count; i++) cohort_free(s->a, q->seg[(q->head + i) % q->cap].data);
    cohort_free(s->a, q->seg);
    memset(q, 0, sizeof *q);
  }
}

static bool push(rpc_sim_stream_t *s, rpc_sim_dir_t *q, rpc_sim_seg_t seg) {
  if (q->count == q->cap) {
    size_t cap = q->cap ? 2 * q->cap : 64;
    rpc_sim_seg_t *n = cohort_alloc(s->a, cap * sizeof *n);
    if (!n) return false;
    for (size_t i = 0; i < q->count; i++) n[i] = q->seg[(q->head + i) % q->cap];
    cohort_free(s->a, q->seg);
    q->seg = n;
    q->cap = cap;
    q->head = 0;
  }
  q->seg[(q->head + q->count) % q->cap] = seg;
  q->count++;
  return true;
}

/* When `len` bytes written at `now` arrive. */
static int64_t arrival(rpc_sim_stream_t *s, rpc_sim_dir_t *q, size_t len, int64_t now) {
  int64_t start = q->line_free_at > now ? q->line_free_at : now;
  int64_t tx = s->cfg.bytes_per_s ? (int64_t)((uint64_t)len * 1000000000u / s->cfg.bytes_per_s)
                                  : 0;
  q->line_free_at = start + tx;
  int64_t at = start + tx + s->cfg.latency_ns + (int64_t)draw(s, (uint64_t)s->cfg.jitter_ns + 1);
  if (s->cfg.stall_ns > 0 && draw(s, 1000) < s->cfg.stall_per_mille) {
    s->stalls++;
    at += (int64_t)draw(s, (uint64_t)s->cfg.stall_ns) + 1;
  }
  if (at < q->last_at) at = q->last_at;
  q->last_at = at;
  return at;
}

size_t rpc_sim_stream_write(rpc_sim_stream_t *s, int d, const uint8_t *p, size_t n,
                            int64_t now) {
  rpc_sim_dir_t *q = &s->dir[d];
  if (s->reset || n == 0) return 0;
  s->writes++;
  if (s->cfg.reset_per_million && draw(s, 1000000) < s->cfg.reset_per_million) {
    s->reset = true;
    return 0;
  }
  size_t room = s->cfg.buffer_max - q->held;
  size_t take = n < room ? n : room;
  if (s->cfg.write_max && take > 1) {
    size_t lim = 1 + (size_t)draw(s, s->cfg.write_max);
    if (lim < take) take = lim;
  }
  if (take == 0) return 0;
  if (take < n) s->short_writes++;
  uint8_t *copy = cohort_alloc(s->a, take);
  if (!copy) return 0;
  memcpy(copy, p, take);
  rpc_sim_seg_t seg = {arrival(s, q, take, now), 0, take, copy};
  if (!push(s, q, seg)) {
    cohort_free(s->a, copy);
    return 0;
  }
  q->held += take;
  s->bytes[d] += take;
  return take;
}

size_t rpc_sim_stream_read(rpc_sim_stream_t *s, int d, uint8_t *buf, size_t cap, int64_t now) {
  rpc_sim_dir_t *q = &s->dir[d];
  if (s->reset || cap == 0) return 0;
  size_t want = cap;
  if (s->cfg.read_max) {
    size_t lim = 1 + (size_t)draw(s, s->cfg.read_max);
    if (lim < want) want = lim;
  }
  size_t got = 0;
  while (got < want && q->count > 0) {
    rpc_sim_seg_t *g = &q->seg[q->head];
    if (g->at > now) break;
    size_t n = g->len - g->off < want - got ? g->len - g->off : want - got;
    memcpy(buf + got, g->data + g->off, n);
    g->off += n;
    got += n;
    if (g->off == g->len) {
      cohort_free(s->a, g->data);
      q->head = (q->head + 1) % q->cap;
      q->count--;
    }
  }
  if (got > 0 && got < cap && q->count > 0 && q->seg[q->head].at <= now) s->short_reads++;
  q->held -= got;
  return got;
}

int64_t rpc_sim_stream_next(const rpc_sim_stream_t *s) {
  int64_t next = COHORT_TIME_NEVER;
  if (s->reset) return next;
  for (int d = 0; d < 2; d++) {
    const rpc_sim_dir_t *q = &s->dir[d];
    if (q->count > 0 && q->seg[q->head].at < next) next = q->seg[q->head].at;
  }
  return next;
}
