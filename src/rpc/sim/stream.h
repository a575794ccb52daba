/*
 * src/rpc/sim/stream.h — a simulated TCP-like byte stream between two
 * endpoints, in virtual time, for running RPC connection cores in the
 * simulator's manner (issue 12): per-direction latency and jitter (order
 * kept, as TCP does), bandwidth, short writes and short reads, stalls (a
 * direction delivers nothing for a while), a bounded buffer per direction
 * (a peer that stops reading makes writes accept nothing), and resets.
 * Every choice comes from a PRNG seeded by the caller: the same seed and
 * the same calls give the same bytes at the same times.
 *
 * Invariants: bytes come out of a direction in the order they went in,
 * each exactly once, never before now >= their arrival time; at most
 * buffer_max bytes are held per direction; after a reset nothing moves.
 */
#ifndef COHORT_RPC_SIM_STREAM_H
#define COHORT_RPC_SIM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cohort/core.h"
#include "cohort/prng.h"

typedef struct rpc_sim_stream_config {
  int64_t latency_ns;          /* one way */
  int64_t jitter_ns;           /* uniform extra per write, order kept */
  uint64_t bytes_per_s;        /* 0: no bandwidth limit */
  size_t write_max;            /* a write takes 1..write_max bytes; 0: all */
  size_t read_max;             /* a read gives 1..read_max bytes; 0: all */
  uint32_t stall_per_mille;    /* chance per write that the direction stalls */
  int64_t stall_ns;            /* for up to this long */
  uint32_t reset_per_million;  /* chance per write that the stream resets */
  size_t buffer_max;           /* bytes held per direction (0: 4 MiB) */
} rpc_sim_stream_config_t;

typedef struct rpc_sim_seg {
  int64_t at; /* arrival time */
  size_t off, len;
  uint8_t *data;
} rpc_sim_seg_t;

typedef struct rpc_sim_dir {
  rpc_sim_seg_t *seg;
  size_t head, count, cap; /* ring of segments */
  size_t held;             /* bytes not yet read */
  int64_t last_at;         /* arrival of the latest segment (order) */
  int64_t line_free_at;    /* bandwidth: when the line is free again */
} rpc_sim_dir_t;

typedef struct rpc_sim_stream {
  rpc_sim_stream_config_t cfg;
  const cohort_allocator_t *a;
  cohort_prng_t prng;
  rpc_sim_dir_t dir[2]; /* 0: endpoint A -> B, 1: B -> A */
  bool reset;
  uint64_t writes, short_writes, short_reads, stalls, bytes[2];
} rpc_sim_stream_t;

COHORT_INTERNAL void rpc_sim_stream_init(rpc_sim_stream_t *s, const rpc_sim_stream_config_t *cfg,
                                         uint64_t seed, const cohort_allocator_t *a);
COHORT_INTERNAL void rpc_sim_stream_close(rpc_sim_stream_t *s);
/* Offer n bytes in direction d at now; returns how many were taken (a
 * short write, or 0 when the buffer is full or the stream was reset).
 * COHORT_ENOMEM is reported as 0 taken. */
COHORT_INTERNAL size_t rpc_sim_stream_write(rpc_sim_stream_t *s, int d, const uint8_t *p,
                                            size_t n, int64_t now);
/* Take up to cap bytes that have arrived in direction d by now. */
COHORT_INTERNAL size_t rpc_sim_stream_read(rpc_sim_stream_t *s, int d, uint8_t *buf, size_t cap,
                                           int64_t now);
/* Earliest arrival still pending in either direction, or COHORT_TIME_NEVER. */
COHORT_INTERNAL int64_t rpc_sim_stream_next(const rpc_sim_stream_t *s);

#endif
