/*
 * cohort/limits.h — every bound of the toolkit in one place (SQLite's
 * sqliteLimit.h). Each can be overridden at build time with -D; the
 * relations between them are checked with static_assert at the end.
 * A queue that grows without bound under a partition is a bug, so every
 * queue, table, window and retry count has its bound here.
 */
#ifndef COHORT_LIMITS_H
#define COHORT_LIMITS_H

/* Largest cluster. Bounds peer tables, vector clocks and traces' vc maps. */
#ifndef COHORT_NODES_MAX
#define COHORT_NODES_MAX 1024
#endif

/* Largest datagram a node sends or accepts. UDP over IPv4 allows 65507;
 * staying well below keeps loopback and veth paths free of IP fragments
 * only for small messages anyway, so protocols keep theirs far smaller. */
#ifndef COHORT_DATAGRAM_MAX
#define COHORT_DATAGRAM_MAX 65000
#endif

/* Largest protocol payload inside an envelope: the datagram minus the
 * envelope header, a full vector clock and the authentication tag. */
#ifndef COHORT_PAYLOAD_MAX
#define COHORT_PAYLOAD_MAX 32768
#endif

/* Protocol instances attached to one node (fd, election, mutex, ...). */
#ifndef COHORT_PROTOS_PER_NODE_MAX
#define COHORT_PROTOS_PER_NODE_MAX 16
#endif

/* Timers armed at once on one node, over all its protocols. A protocol
 * keeps a handful (heartbeat, per-peer ping, election timeout); 4096
 * allows per-peer timers for the largest cluster with room to spare. */
#ifndef COHORT_TIMERS_PER_NODE_MAX
#define COHORT_TIMERS_PER_NODE_MAX 4096
#endif

/* Entries of a vector clock: one per node that ever sent to us. */
#ifndef COHORT_VCLOCK_ENTRIES_MAX
#define COHORT_VCLOCK_ENTRIES_MAX COHORT_NODES_MAX
#endif

/* Phi accrual: inter-arrival samples kept per monitored peer
 * (Akka and Cassandra use 1000). */
#ifndef COHORT_FD_WINDOW_MAX
#define COHORT_FD_WINDOW_MAX 1000
#endif

/* One JSON Lines trace record, formatted. A full 1024-entry vector clock
 * needs about 24 KiB; records larger than this are truncated with a
 * "truncated":true marker rather than dropped. */
#ifndef COHORT_TRACE_LINE_MAX
#define COHORT_TRACE_LINE_MAX 32768
#endif

/* Authentication tag appended to each datagram (truncated HMAC-SHA256). */
#ifndef COHORT_AUTH_TAG_LEN
#define COHORT_AUTH_TAG_LEN 16
#endif

/* Cluster key length for HMAC (bytes). */
#ifndef COHORT_CLUSTER_KEY_MAX
#define COHORT_CLUSTER_KEY_MAX 64
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_PAYLOAD_MAX + 24 * COHORT_VCLOCK_ENTRIES_MAX / 2 <
                   COHORT_DATAGRAM_MAX,
               "a full envelope must fit in one datagram");
_Static_assert(COHORT_TIMERS_PER_NODE_MAX >= 2 * COHORT_NODES_MAX,
               "per-peer timers for two protocols must fit");
_Static_assert(COHORT_VCLOCK_ENTRIES_MAX >= COHORT_NODES_MAX,
               "a vector clock must hold every node");
#endif

#endif
