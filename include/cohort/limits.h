/*
 * cohort/limits.h — every bound of the toolkit in one place (SQLite's
 * sqliteLimit.h). Each can be overridden at build time with -D; the
 * relations between them are checked with static_assert at the end.
 * A queue that grows without bound under a partition is a bug, so every
 * queue, table, window and retry count has its bound here.
 */
#ifndef COHORT_LIMITS_H
#define COHORT_LIMITS_H

#include <stdint.h>

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

/* ---- safety of the node layer (issue 9) --------------------------------- */

/* Replay window per sender incarnation, in datagrams (bits), over the
 * per-link sequence numbers: a datagram older than the window or already
 * seen is dropped as a replay (IPsec and DTLS keep 64; links here carry
 * bursts of thousands of multicast datagrams reordered by a few ms, so
 * 1024 bits = 128 B per peer). A multiple of 64. */
#ifndef COHORT_REPLAY_WINDOW
#define COHORT_REPLAY_WINDOW 1024
#endif

/* Keys a node holds at once (ids 0..255): the one it sends with, the next
 * one during a rotation, and the one being retired. */
#ifndef COHORT_KEYS_MAX
#define COHORT_KEYS_MAX 4
#endif

/* An opaque host address of a peer (the runtime's family + port + IPv6
 * address fits in 19 bytes; the simulator uses 4). */
#ifndef COHORT_CONTACTS_MAX
#define COHORT_CONTACTS_MAX 16
#endif

#ifndef COHORT_PEER_ADDR_MAX
#define COHORT_PEER_ADDR_MAX 32
#endif

/* A datagram that names no incarnation of ours (its sender has not heard
 * from us yet) is refused as stale when its HLC is older than this: such a
 * datagram may have been captured and replayed, or have waited in the
 * network across our restart (a receiver's replay window does not survive
 * it). Clocks must already agree within the HLC max offset (500 ms). */
#ifndef COHORT_FIRST_CONTACT_AGE_NS
#define COHORT_FIRST_CONTACT_AGE_NS (30LL * 1000000000LL)
#endif

/* Counters a peer can push us along (Lamport stamps, incarnations,
 * election rounds, fencing tokens) are refused above a hard limit, and
 * rounds and tokens also beyond a jump of what we knew (cohort_advance_ok
 * in core.h), so no single datagram moves a counter to where the next
 * honest step is refused everywhere (a node locked out for ever). */
#ifndef COHORT_COUNTER_REMOTE_MAX
#define COHORT_COUNTER_REMOTE_MAX (UINT64_C(1) << 62)
#endif
/* Lamport clocks saturate here, and remote stamps above it are refused:
 * the same bound on both sides, so a node pushed to it by one hostile
 * stamp still speaks (2^62 events is 146,000 years at a million a second). */
#ifndef COHORT_LAMPORT_MAX
#define COHORT_LAMPORT_MAX COHORT_COUNTER_REMOTE_MAX
#endif
/* Incarnations are (µs since the epoch) << 10 | 10 random bits when the
 * runtime picks them (cohort_incarnation_from_wall): one from further in
 * the future than this, by the receiver's wall clock, is refused. */
#ifndef COHORT_INCARNATION_FUTURE_NS
#define COHORT_INCARNATION_FUTURE_NS (600LL * 1000000000LL)
#endif

/* Election rounds (epoch = round << 32 | leader): a remote round more than
 * this beyond ours, or at or above the limit, is refused, so no datagram
 * can push rounds to where they wrap (2^24 elections is years of flapping
 * at one a second; an attacker needs 2^(31-24) = 128 datagrams in a row). */
#ifndef COHORT_ELECTION_ROUND_JUMP_MAX
#define COHORT_ELECTION_ROUND_JUMP_MAX (UINT64_C(1) << 24)
#endif
#ifndef COHORT_ELECTION_ROUND_MAX
#define COHORT_ELECTION_ROUND_MAX (UINT64_C(1) << 31)
#endif
/* Fencing tokens are at least the coordinator's HLC (ns): a remote token
 * more than this ahead of max(our highest token, our HLC) is refused
 * (2^42 ns = 73 minutes: far beyond any honest clock difference, which
 * the HLC guard keeps within its max offset). */
#ifndef COHORT_MUTEX_TOKEN_JUMP_MAX
#define COHORT_MUTEX_TOKEN_JUMP_MAX (UINT64_C(1) << 42)
#endif

/* A node that drops datagrams addressed to its earlier incarnation tells
 * their sender it restarted (a NOTICE), at most once per peer per this. */
#ifndef COHORT_NOTICE_INTERVAL_NS
#define COHORT_NOTICE_INTERVAL_NS (100LL * 1000000LL)
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_PAYLOAD_MAX + 24 * COHORT_VCLOCK_ENTRIES_MAX / 2 <
                   COHORT_DATAGRAM_MAX,
               "a full envelope must fit in one datagram");
_Static_assert(COHORT_TIMERS_PER_NODE_MAX >= 2 * COHORT_NODES_MAX,
               "per-peer timers for two protocols must fit");
_Static_assert(COHORT_VCLOCK_ENTRIES_MAX >= COHORT_NODES_MAX,
               "a vector clock must hold every node");
_Static_assert(COHORT_REPLAY_WINDOW >= 64 && COHORT_REPLAY_WINDOW % 64 == 0,
               "the replay window is whole 64-bit words");
_Static_assert(COHORT_KEYS_MAX >= 2, "a rotation holds two keys at once");
_Static_assert(COHORT_LAMPORT_MAX <= COHORT_COUNTER_REMOTE_MAX,
               "a saturated clock must stay acceptable to every peer");
#endif

/* Runtime: datagrams held back by injected delay, per node. Beyond it a
 * datagram is dropped and counted (delay_overflow): at 1000 messages/s and
 * a 1 s injected delay a node needs about 1000. */
#ifndef COHORT_RUNTIME_DELAYED_MAX
#define COHORT_RUNTIME_DELAYED_MAX 4096
#endif

/* Runtime: stdio buffer of a node's trace file; records are flushed when
 * it fills, every COHORT_RUNTIME_TRACE_FLUSH_MS and at shutdown. */
#ifndef COHORT_RUNTIME_TRACE_BUFFER
#define COHORT_RUNTIME_TRACE_BUFFER (256 * 1024)
#endif
#ifndef COHORT_RUNTIME_TRACE_FLUSH_MS
#define COHORT_RUNTIME_TRACE_FLUSH_MS 200
#endif

/* Runtime: nodes hosted by one process (tests host several). */
#ifndef COHORT_RUNTIME_NODES_MAX
#define COHORT_RUNTIME_NODES_MAX 64
#endif

/* Socket buffers of a runtime node's UDP socket (SO_RCVBUF, SO_SNDBUF),
 * unless its config sets socket_buffer_bytes: a burst of a send window
 * (up to COHORT_GROUP_WINDOW_MAX datagrams) must not overflow the 208 KiB
 * Linux default at a receiver, where every lost datagram costs a
 * retransmission timeout. As root (CAP_NET_ADMIN) the size is forced;
 * otherwise the kernel caps it at net.core.rmem_max / wmem_max. The
 * effective sizes are in cohort_runtime_stats_t. */
#ifndef COHORT_RUNTIME_SOCKET_BUFFER
#define COHORT_RUNTIME_SOCKET_BUFFER (4u << 20)
#endif
#ifndef COHORT_RUNTIME_SOCKET_BUFFER_MAX
#define COHORT_RUNTIME_SOCKET_BUFFER_MAX (256u << 20)
#endif

/* Observation (src/runtime/observe.c: `--metrics`, `--control`): every
 * figure is read when asked for, so what a client can make a node hold is
 * its connection and one reply. REQUEST_MAX bounds an HTTP request head or
 * a control request line (8 KiB, the common server default: a longer one
 * gets 431 and is closed); CLIENTS_MAX the connections served at once
 * (scrapers and `cohort status`; more are closed at accept); IDLE_MS how
 * long a client may take to send its request or read its reply (a peer that
 * stops reading is closed then); REPLY_MAX one rendered reply, which holds
 * a few hundred bytes per peer, so every allowed node fits. */
#ifndef COHORT_OBSERVE_REQUEST_MAX
#define COHORT_OBSERVE_REQUEST_MAX 8192
#endif
#ifndef COHORT_OBSERVE_CLIENTS_MAX
#define COHORT_OBSERVE_CLIENTS_MAX 16
#endif
#ifndef COHORT_OBSERVE_IDLE_MS
#define COHORT_OBSERVE_IDLE_MS 5000
#endif
#ifndef COHORT_OBSERVE_REPLY_MAX
#define COHORT_OBSERVE_REPLY_MAX (4 * 1024 * 1024)
#endif
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_OBSERVE_REPLY_MAX >= COHORT_NODES_MAX * 2048,
               "a reply must hold every peer's figures (about 1 KiB each)");
_Static_assert(COHORT_OBSERVE_REQUEST_MAX >= 1024, "a scraper's request head must fit");
#endif


/* ---- simulator (src/sim) ---------------------------------------------- */

/* Events pending in one simulator's queue (datagrams in flight, wake-ups,
 * faults). 64 nodes heartbeating to each other keep ~4k in flight; a
 * datagram sent when the queue is full fails with COHORT_EFULL and is
 * traced by the sender's node as a send error. */
#ifndef COHORT_SIM_EVENTS_MAX
#define COHORT_SIM_EVENTS_MAX (1u << 24)
#endif

/* Scenario file size, timed fault lines, per-link overrides and check
 * lines. Scenarios are written by people; these are generous. */
#ifndef COHORT_SIM_SCENARIO_BYTES_MAX
#define COHORT_SIM_SCENARIO_BYTES_MAX (1u << 20)
#endif
#ifndef COHORT_SIM_FAULTS_MAX
#define COHORT_SIM_FAULTS_MAX 65536
#endif
#ifndef COHORT_SIM_LINKS_MAX
#define COHORT_SIM_LINKS_MAX 4096
#endif
#ifndef COHORT_SIM_CHECKS_MAX
#define COHORT_SIM_CHECKS_MAX 16
#endif
/* Longest protocol name and command of an `at T ctl N PROTO CMD` line
 * (with its NUL): commands are words such as "leave"; kept inside the
 * fault record so a schedule can be copied and rewritten (the shrinker). */
#ifndef COHORT_SIM_CTL_MAX
#define COHORT_SIM_CTL_MAX 32
#endif

/* Stable storage kept for one simulated node across restarts. */
#ifndef COHORT_SIM_STABLE_MAX
#define COHORT_SIM_STABLE_MAX (1u << 20)
#endif

/* ---- RPC (src/rpc, issue 5) ------------------------------------------- */

/* Default maximum gRPC message, sent or received (gRPC's default is 4 MiB).
 * A larger message fails the call with RESOURCE_EXHAUSTED. */
#ifndef COHORT_RPC_MESSAGE_MAX
#define COHORT_RPC_MESSAGE_MAX (4 * 1024 * 1024)
#endif

/* Bytes of header metadata accepted per HEADERS block (gRPC's default
 * hard limit is 16 KiB); advertised as SETTINGS_MAX_HEADER_LIST_SIZE. */
#ifndef COHORT_RPC_METADATA_MAX
#define COHORT_RPC_METADATA_MAX (16 * 1024)
#endif

/* Concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
#ifndef COHORT_RPC_STREAMS_MAX
#define COHORT_RPC_STREAMS_MAX 100
#endif

/* Connections one server accepts at once; more are closed at accept. */
#ifndef COHORT_RPC_CONNECTIONS_MAX
#define COHORT_RPC_CONNECTIONS_MAX 1024
#endif

/* Calls outstanding on one channel (active + waiting for a connection). */
#ifndef COHORT_RPC_CALLS_PER_CHANNEL_MAX
#define COHORT_RPC_CALLS_PER_CHANNEL_MAX 1024
#endif

/* Methods registered on one server. */
#ifndef COHORT_RPC_METHODS_MAX
#define COHORT_RPC_METHODS_MAX 1024
#endif

/* Backlog of queued outgoing bytes per stream before send() says EFULL. */
#ifndef COHORT_RPC_SEND_QUEUE_MAX
#define COHORT_RPC_SEND_QUEUE_MAX (1024 * 1024)
#endif

/* Encoded bytes waiting for the socket per connection; above it the
 * HTTP/2 session stops producing frames until the kernel drains them. */
#ifndef COHORT_RPC_CONN_WRITE_MAX
#define COHORT_RPC_CONN_WRITE_MAX (256 * 1024)
#endif

/* HTTP/2 receive windows we advertise: per stream and per connection.
 * Bound the unconsumed bytes a peer may push at us. */
#ifndef COHORT_RPC_STREAM_WINDOW
#define COHORT_RPC_STREAM_WINDOW (1024 * 1024)
#endif
#ifndef COHORT_RPC_CONN_WINDOW
#define COHORT_RPC_CONN_WINDOW (4 * 1024 * 1024)
#endif

/* A client call with less than this left before its deadline fails at
 * once with DEADLINE_EXCEEDED instead of being sent (1 ms). */
#ifndef COHORT_RPC_DEADLINE_MIN_NS
#define COHORT_RPC_DEADLINE_MIN_NS 1000000
#endif

/* Freed call objects kept for reuse per server / channel (no per-call
 * malloc in steady state). */
/* Metadata entries kept per HEADERS block of one call (request headers,
 * response headers or trailers); further entries fail the call. */
#ifndef COHORT_RPC_METADATA_ENTRIES_MAX
#define COHORT_RPC_METADATA_ENTRIES_MAX 64
#endif

#ifndef COHORT_RPC_CALL_POOL_MAX
#define COHORT_RPC_CALL_POOL_MAX 256
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_RPC_CONN_WINDOW >= COHORT_RPC_STREAM_WINDOW,
               "one stream must be able to fill its window");
_Static_assert(COHORT_RPC_STREAM_WINDOW <= 2147483647,
               "HTTP/2 windows are 31-bit");
_Static_assert(COHORT_RPC_CONN_WINDOW <= 2147483647, "HTTP/2 windows are 31-bit");
#endif


/* Trace tools: cells (processes × stored send events) of the vector
 * timestamps recomputed from a trace's happened-before relation. 2^28
 * 32-bit cells (1 GiB) covers 100,000 events over a 1,000-process run
 * with room to spare; a larger trace is refused with COHORT_EFULL. */
#ifndef COHORT_TRACE_VC_CELLS_MAX
#define COHORT_TRACE_VC_CELLS_MAX (1u << 28)
#endif

/* Trace tools: records in one loaded trace (record indices are 32-bit). */
#ifndef COHORT_TRACE_RECS_MAX
#define COHORT_TRACE_RECS_MAX 100000000u
#endif

/* Trace diagram: distinct short strings (proto, kind, what, reason names)
 * kept in the page's string table; more than this are written as "…".
 * Real traces have a few dozen. */
#ifndef COHORT_DIAGRAM_STRS_MAX
#define COHORT_DIAGRAM_STRS_MAX 4096
#endif

/* Trace diagram: the largest page `cohort trace diagram` writes. The event
 * block is one base64 string that the page reads as a JavaScript string,
 * and V8 refuses strings past 2^29 - 24 characters (a 664 MB page of the
 * old JSON format showed blank); the decoded columns then take several
 * times the compressed size in memory. 256 MiB keeps under half that
 * limit; past WARN the tool says that opening will take a while. Larger
 * runs are drawn in slices (--from/--to, --nodes, --protos, --kinds). */
#ifndef COHORT_DIAGRAM_PAGE_MAX
#define COHORT_DIAGRAM_PAGE_MAX (256u * 1024 * 1024)
#endif
#ifndef COHORT_DIAGRAM_PAGE_WARN
#define COHORT_DIAGRAM_PAGE_WARN (64u * 1024 * 1024)
#endif
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_DIAGRAM_PAGE_MAX <= (1u << 29) / 2, "under half V8's string limit");
_Static_assert(COHORT_DIAGRAM_PAGE_WARN < COHORT_DIAGRAM_PAGE_MAX, "warn before refusing");
#endif

/* ---- clock synchronization (src/timesync, issue 4) --------------------- */

/* Servers one NTP client polls (RFC 5905 suggests 4+ for falseticker
 * tolerance; ntpd and chrony cap pools far below this). Bounds the peer
 * table and the selection's endpoint arrays (2 per peer). */
#ifndef COHORT_NTP_PEERS_MAX
#define COHORT_NTP_PEERS_MAX 16
#endif

/* Clients an NTP server tracks for rate limiting; when full, the entry
 * idle longest is reused (a flood of new addresses cannot grow it). */
#ifndef COHORT_NTP_RATE_CLIENTS_MAX
#define COHORT_NTP_RATE_CLIENTS_MAX 256
#endif

/* PTP: masters a port remembers from Announce messages (foreign master
 * records, IEEE 1588 §9.3.2.4); one per node suffices in a cluster. */
#ifndef COHORT_PTP_FOREIGN_MAX
#define COHORT_PTP_FOREIGN_MAX 16
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_NTP_PEERS_MAX >= 3 && COHORT_NTP_PEERS_MAX <= 64,
               "selection needs 3+ peers; endpoints are sorted on the stack");
_Static_assert(COHORT_NTP_RATE_CLIENTS_MAX >= 1, "one client at least");
#endif

/* Bytes of the in-place arena of the protobuf-c adaptor (cohort/pbc.h):
 * a decoded protocol message (mutex, election: one struct of at most a
 * dozen scalars, ~100 bytes) fits with room for protobuf-c's own blocks, so
 * receiving one allocates nothing; larger ones (unknown fields from a newer
 * peer) spill to the allocator. Lives on the decoder's stack. */
#ifndef COHORT_PBC_ARENA_BYTES
#define COHORT_PBC_ARENA_BYTES 512
#endif

/* ---- RPC, continued (src/rpc, issue 5) ---------------------------------- */

/* Freed HTTP/2 (nghttp2) blocks of up to 2 KiB kept per size class per
 * connection for reuse: a steady stream of calls then allocates nothing.
 * Bounds the cache at 16 * (64 + 128 + ... + 2048) B ≈ 64 KiB. */
#ifndef COHORT_RPC_H2_CACHE_BLOCKS
#define COHORT_RPC_H2_CACHE_BLOCKS 16
#endif

/* ---- RPC, hostile peers (src/rpc, issue 12) ----------------------------- */

/* A connection must finish its TLS handshake and send the HTTP/2 preface
 * and SETTINGS within this time, or it is closed (silent connections must
 * not hold slots; 1,100 of them once locked every client out). */
#ifndef COHORT_RPC_PREFACE_TIMEOUT_MS
#define COHORT_RPC_PREFACE_TIMEOUT_MS 10000
#endif

/* A server connection with no call for this long gets GOAWAY and is
 * closed (gRPC's max_connection_idle; 5 min). Config: idle_timeout_ms. */
#ifndef COHORT_RPC_IDLE_TIMEOUT_MS
#define COHORT_RPC_IDLE_TIMEOUT_MS 300000
#endif

/* Server keepalive (on by default): a PING after this much read silence,
 * the connection failed if the ACK does not come within the timeout. */
#ifndef COHORT_RPC_SERVER_KEEPALIVE_MS
#define COHORT_RPC_SERVER_KEEPALIVE_MS 60000
#endif

/* Bytes of partially received request messages (reassembly buffers and
 * complete unary requests waiting for END_STREAM) one connection may hold,
 * and all connections of one server together. Over either, the stream
 * that grew gets RESOURCE_EXHAUSTED and its buffers are freed at once.
 * HTTP/2 windows do not bound this: the windows reopen as bytes are
 * copied into the reassembly buffer. 32 MiB = 8 default-size messages. */
#ifndef COHORT_RPC_CONN_BUFFER_MAX
#define COHORT_RPC_CONN_BUFFER_MAX (32u * 1024 * 1024)
#endif
#ifndef COHORT_RPC_SERVER_BUFFER_MAX
#define COHORT_RPC_SERVER_BUFFER_MAX (256u * 1024 * 1024)
#endif

/* Request messages being reassembled at once on one connection; a stream
 * that starts one more gets RESOURCE_EXHAUSTED. */
#ifndef COHORT_RPC_PARTIAL_MESSAGES_MAX
#define COHORT_RPC_PARTIAL_MESSAGES_MAX 16
#endif

/* HTTP/2 flood limits, set explicitly on every nghttp2 session:
 * RST_STREAM received (token bucket: burst, tokens per second; CVE-2023-
 * 44487 "rapid reset"), CONTINUATION frames after one HEADERS (CVE-2024-
 * 28182), queued SETTINGS/PING ACKs (a peer that does not read), entries
 * in one SETTINGS frame, and the HPACK table we keep for encoding. */
#ifndef COHORT_RPC_RESET_BURST
#define COHORT_RPC_RESET_BURST 1000
#endif
#ifndef COHORT_RPC_RESET_RATE
#define COHORT_RPC_RESET_RATE 33
#endif
#ifndef COHORT_RPC_CONTINUATIONS_MAX
#define COHORT_RPC_CONTINUATIONS_MAX 8
#endif
#ifndef COHORT_RPC_OUTBOUND_ACK_MAX
#define COHORT_RPC_OUTBOUND_ACK_MAX 1000
#endif
#ifndef COHORT_RPC_SETTINGS_ENTRIES_MAX
#define COHORT_RPC_SETTINGS_ENTRIES_MAX 32
#endif
#ifndef COHORT_RPC_HPACK_TABLE_MAX
#define COHORT_RPC_HPACK_TABLE_MAX 4096
#endif

/* Control frames that make us work without moving a call forward (PING,
 * SETTINGS, PRIORITY) received per connection: a token bucket of this
 * burst refilled at this rate per second; when empty the connection gets
 * GOAWAY(ENHANCE_YOUR_CALM). gRPC clients send a few per second at most. */
#ifndef COHORT_RPC_CONTROL_BURST
#define COHORT_RPC_CONTROL_BURST 1000
#endif
#ifndef COHORT_RPC_CONTROL_RATE
#define COHORT_RPC_CONTROL_RATE 100
#endif

/* grpc.health.v1 (rpc_health.h): services with a status, and Watch calls
 * open at once (each holds a server call and a few hundred bytes). */
#ifndef COHORT_RPC_HEALTH_SERVICES_MAX
#define COHORT_RPC_HEALTH_SERVICES_MAX 64
#endif
#ifndef COHORT_RPC_HEALTH_WATCHERS_MAX
#define COHORT_RPC_HEALTH_WATCHERS_MAX 1024
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_RPC_HEALTH_WATCHERS_MAX <= COHORT_RPC_CONNECTIONS_MAX * COHORT_RPC_STREAMS_MAX,
               "watchers are streams");
_Static_assert(COHORT_RPC_CONN_BUFFER_MAX >= 2u * COHORT_RPC_MESSAGE_MAX,
               "a connection must be able to reassemble two default-size messages");
_Static_assert(COHORT_RPC_SERVER_BUFFER_MAX >= COHORT_RPC_CONN_BUFFER_MAX,
               "the global budget holds at least one connection's");
_Static_assert(COHORT_RPC_PARTIAL_MESSAGES_MAX <= COHORT_RPC_STREAMS_MAX,
               "partial messages live on streams");
_Static_assert((COHORT_RPC_CONTINUATIONS_MAX + 1) * 16384 >= COHORT_RPC_METADATA_MAX,
               "a full metadata block fits in HEADERS + CONTINUATIONs of 16 KiB");
_Static_assert(COHORT_RPC_PREFACE_TIMEOUT_MS > 0 && COHORT_RPC_IDLE_TIMEOUT_MS > 0,
               "timeouts are positive");
#endif

/* ---- clock synchronization, continued (src/timesync, issue 4) ---------- */

/* PTP: Sync/Delay_Req exchanges a slave keeps for its per-direction
 * minimum ("lucky packet") offset filter; the window is `window=N` ≤ this
 * (the default 128 at sync=125ms spans 16 s). */
#ifndef COHORT_PTP_WINDOW_MAX
#define COHORT_PTP_WINDOW_MAX 256
#endif

/* ---- simulator, continued (src/sim) ------------------------------------ */

/* Simulator: the longest span of virtual time a scenario may name — a
 * duration, a latency or jitter, a clock offset or step, a fault interval
 * (10 years). Every sum the simulator forms stays far from int64 overflow:
 * true time is the 2026 epoch + now, a datagram's arrival is now + latency
 * + jitter + reorder delay (each at most this), and a wall clock is the
 * epoch + offset + drifted time with its steps saturated at ±2^62. */
#ifndef COHORT_SIM_TIME_MAX_NS
#define COHORT_SIM_TIME_MAX_NS (3650LL * 86400LL * 1000000000LL)
#endif

/* Simulator budgets: defaults of one run's limits (cohort_sim_config_t
 * max_*, `cohort sim --max-events/--max-memory/--max-trace`). A scenario
 * can be valid and still explode — interval=1ns, crash-mtbf=1ns, 1024
 * nodes for ten years — and must then stop with an error that names the
 * budget, not run for ever, swap, or fill the disk.
 * Events: 2^30 is ~5 minutes at 3.5 M events/s and 400 times the largest
 * shipped scenario (heartbeat-64: 2.6 M). Memory: bytes held through the
 * simulator's allocator (nodes, protocols, queue, datagram pool); 4 GiB is
 * a sixth of this project's 24 GiB machines, so two sweep workers fit
 * beside everything else. Trace: bytes of JSON Lines written (file,
 * callback or the in-memory copy checks read); 4 GiB is four heartbeat-64
 * minutes. */
/* Simulations one shrink may run (cohort_sim_shrink): each edit tried
 * costs one; greedy passes over a few dozen faults need a few hundred. */
#ifndef COHORT_SIM_SHRINK_RUNS_MAX
#define COHORT_SIM_SHRINK_RUNS_MAX 2000
#endif

#ifndef COHORT_SIM_EVENTS_BUDGET
#define COHORT_SIM_EVENTS_BUDGET (UINT64_C(1) << 30)
#endif
#ifndef COHORT_SIM_MEMORY_BUDGET
#define COHORT_SIM_MEMORY_BUDGET (UINT64_C(4) << 30)
#endif
#ifndef COHORT_SIM_TRACE_BUDGET
#define COHORT_SIM_TRACE_BUDGET (UINT64_C(4) << 30)
#endif

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(COHORT_SIM_EVENTS_BUDGET >= 100u * COHORT_SIM_EVENTS_MAX / 16u,
               "the event budget must cover a full queue many times over");
_Static_assert(COHORT_SIM_MEMORY_BUDGET >= (UINT64_C(1) << 26),
               "the memory budget must hold a full event queue and datagram pool");
_Static_assert(COHORT_SIM_TRACE_BUDGET >= 16u * COHORT_TRACE_LINE_MAX,
               "the trace budget must hold at least a few records of the largest size");
_Static_assert(COHORT_SIM_TIME_MAX_NS > 0 &&
                   COHORT_SIM_TIME_MAX_NS <= (1LL << 62) / 8,
               "now + latency + jitter + reorder, plus the epoch, must fit in int64");
#endif

#endif /* COHORT_LIMITS_H */
