/*
 * bench/multicast/mc_peer.h — what every peer program of `cohort bench
 * multicast` shares: the command line, the message header that carries
 * the send time, the delivery record file and the line protocol that
 * tools/bench_multicast.c drives. Peers are benchmark programs, not
 * library code: they print, and exit on a setup failure.
 *
 * One peer process runs per node, each in its own network namespace
 * (CLOCK_MONOTONIC is one clock for every namespace of a host, so a send
 * time written by one node is comparable with a delivery time read at
 * another).
 *
 * Line protocol (stdout, one line each; stdin from the bench):
 *   peer:  "READY" once it sees all --nodes members (a view of all of
 *          them, a CPG membership of all of them, sockets bound);
 *   bench: "GO" on the peer's stdin, to every peer at once;
 *   peer:  if --index < --senders, multicasts --size byte messages as
 *          fast as its system's flow control lets it for --seconds from
 *          GO; every peer records every delivery (its own messages too)
 *          until --seconds + --drain after GO, closes --out and prints
 *          "RESULT sent=<n> delivered=<n> eagain=<n> rss_kb=<peak RSS>
 *          cpu_ms=<user+sys>" and exits 0. Any failure: a message on
 *          stderr and a non-zero exit.
 *
 * Record file (--out): MC_REC_MAGIC (8 bytes), then one mc_rec_t per
 * delivery in host byte order; the bench joins the files of every node on
 * (sender, seq): a message counts as delivered everywhere when every node
 * recorded it, and its latency is the last delivery time minus its send
 * time.
 *
 * Invariants: the message header is the first MC_HDR_BYTES of every
 * payload (so --size >= MC_HDR_BYTES); records are written through a
 * stdio buffer, never kept in memory (the peak RSS is the system's own).
 */
#ifndef COHORT_BENCH_MC_PEER_H
#define COHORT_BENCH_MC_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MC_NODES_MAX 8
#define MC_SIZE_MAX 30000 /* cohort's COHORT_GROUP_MSG_MAX: one datagram */
#define MC_REC_MAGIC "MCREC01\n"
#define MC_MSG_MAGIC 0x4d43u /* "MC" */

/* The first bytes of every benchmark message. */
typedef struct mc_hdr {
  uint16_t magic;
  uint16_t sender; /* --index of the sender */
  uint32_t seq;    /* the sender's count, from 0 */
  uint64_t t_send_ns;
} mc_hdr_t;
#define MC_HDR_BYTES sizeof(mc_hdr_t)

typedef struct mc_rec {
  uint16_t sender;
  uint16_t reserved;
  uint32_t seq;
  uint64_t t_send_ns;
  uint64_t t_deliver_ns;
} mc_rec_t;

typedef struct mc_opts {
  unsigned index;   /* --index: this node, 0..nodes-1 */
  unsigned nodes;   /* --nodes (default 3) */
  unsigned senders; /* --senders: nodes 0..senders-1 send (default 1) */
  size_t size;      /* --size bytes per message (default 1024) */
  double seconds;   /* --seconds of sending after GO (default 2) */
  double drain;     /* --drain: receive this much longer (default 1) */
  const char *out;  /* --out: the record file (required) */
  /* System-specific options, NULL when not given: */
  const char *peers;   /* --peers ADDR:PORT,... (index order; cohort, udp) */
  const char *service; /* --service NAME (cohort: "total", "fifo", ...) */
  const char *key_file;/* --key-file F (cohort) */
  unsigned window;     /* --window N (cohort send window; 0 = default) */
} mc_opts_t;

/* Parses the options above; prints usage and exits 2 on a bad one. */
void mc_parse(int argc, char **argv, const char *prog, mc_opts_t *o);

uint64_t mc_now_ns(void);

/* A run: the record file, counters and the deadlines from GO. */
typedef struct mc_run {
  mc_opts_t o;
  FILE *out;
  uint64_t t_go_ns, t_send_end_ns, t_end_ns;
  uint64_t sent, delivered, eagain, bad;
  bool go;
} mc_run_t;

/* Opens --out and writes the magic; exits on failure. */
void mc_run_open(mc_run_t *r, const mc_opts_t *o);
/* Prints READY and flushes. */
void mc_ready(void);
/* Reads stdin without blocking (fd 0 must be readable: call when poll
 * says so, or it blocks for the line): returns true once "GO" arrived
 * and sets the deadlines. A closed stdin before GO exits the peer. */
bool mc_poll_go(mc_run_t *r);
/* True while this node should still send. */
bool mc_sending(const mc_run_t *r, uint64_t now_ns);
/* Fills msg (o.size bytes) with the header of the next message (seq =
 * r->sent) and a recognisable body; the caller counts r->sent++ once the
 * system accepted it. */
void mc_fill(const mc_run_t *r, uint8_t *msg);
/* Records one delivered message (checks its header; a bad one is counted
 * in r->bad and not recorded). */
void mc_record(mc_run_t *r, const uint8_t *msg, size_t len);
/* Closes the record file, prints the RESULT line; returns the exit code
 * (non-zero if anything failed or a bad message was delivered). */
int mc_finish(mc_run_t *r);

#endif
