/*
 * cohort/timesync.h — clock synchronization as sans-I/O state machines:
 * the NTPv4 packet (RFC 5905) and its client association, clock filter,
 * selection / clustering / combining and server (with rate limiting and
 * kiss-o'-death); PTP-style two-step synchronization with the Best Master
 * Clock Algorithm (IEEE 1588 concepts); Cristian's algorithm.
 *
 * Nothing here reads a clock or a socket: every timestamp is an argument
 * (ns since the Unix epoch, as read by the caller from whatever clock it
 * disciplines) and every packet is bytes in, bytes out. The same code runs
 * inside a cohort node (protocols "ntp", "ptp", "cristian", proto id
 * COHORT_PROTO_TIMESYNC, the packet as the envelope payload; simulated or
 * real), and over raw UDP in `cohort ntp`, where it talks to chrony.
 *
 * Invariants: a decoder never asserts on its input; every packet refused
 * is counted under its reason (cohort_ntp_drops_t, cohort_ptp_drops_t);
 * outputs are written only on success.
 */
#ifndef COHORT_TIMESYNC_H
#define COHORT_TIMESYNC_H

#include <stdbool.h>

#include "cohort/registry.h"
#include "cohort/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== NTP timestamps (RFC 5905 §6) ===================================== */

/* 64-bit NTP timestamp: 32 bits of seconds since the start of the current
 * era (era 0 began 1900-01-01), 32 bits of fraction. */
typedef uint64_t cohort_ntp_ts_t;

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (Unix epoch). */
#define COHORT_NTP_UNIX_EPOCH_S INT64_C(2208988800)

/* Unix ns → NTP timestamp (era dropped: the 32-bit seconds wrap). */
cohort_ntp_ts_t cohort_ntp_ts_from_ns(int64_t unix_ns);
/* NTP timestamp → Unix ns. The era is ambiguous on the wire, so the value
 * chosen is the one within ±68 years of `pivot_ns` (the caller's clock);
 * this is what makes 2036 (era 1) work. */
int64_t cohort_ntp_ts_to_ns(cohort_ntp_ts_t ts, int64_t pivot_ns);
/* NTP short format (16.16 seconds) ↔ ns; saturates at 65535.99 s. */
uint32_t cohort_ntp_short_from_ns(int64_t ns);
int64_t cohort_ntp_short_to_ns(uint32_t s);

/* ==== the packet (RFC 5905 §7.3) ======================================= */

#define COHORT_NTP_PACKET_LEN 48
#define COHORT_NTP_VERSION 4
#define COHORT_NTP_PORT 123
#define COHORT_NTP_STRATUM_MAX 15    /* 16 = unsynchronized */
#define COHORT_NTP_STRATUM_UNSYNC 16

enum {
  COHORT_NTP_MODE_SYMMETRIC_ACTIVE = 1,
  COHORT_NTP_MODE_SYMMETRIC_PASSIVE = 2,
  COHORT_NTP_MODE_CLIENT = 3,
  COHORT_NTP_MODE_SERVER = 4,
  COHORT_NTP_MODE_BROADCAST = 5,
};
enum {
  COHORT_NTP_LEAP_NONE = 0,
  COHORT_NTP_LEAP_ALARM = 3 /* clock not synchronized */
};

/* Reference ids: four ASCII characters packed big-endian. */
#define COHORT_NTP_REFID(a, b, c, d)                                           \
  ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define COHORT_NTP_KOD_RATE COHORT_NTP_REFID('R', 'A', 'T', 'E')
#define COHORT_NTP_KOD_DENY COHORT_NTP_REFID('D', 'E', 'N', 'Y')
#define COHORT_NTP_KOD_RSTR COHORT_NTP_REFID('R', 'S', 'T', 'R')

typedef struct cohort_ntp_packet {
  uint8_t leap, version, mode;
  uint8_t stratum;   /* 0 = kiss-o'-death (refid is the code) */
  int8_t poll;       /* log2 seconds */
  int8_t precision;  /* log2 seconds */
  uint32_t root_delay, root_dispersion; /* NTP short format */
  uint32_t refid;
  cohort_ntp_ts_t reference, origin, receive, transmit;
} cohort_ntp_packet_t;

/* Encode into exactly COHORT_NTP_PACKET_LEN bytes. */
void cohort_ntp_encode(const cohort_ntp_packet_t *p,
                       uint8_t out[COHORT_NTP_PACKET_LEN]);
/* Decode the 48-byte header (extension fields and MAC after it are
 * ignored). COHORT_EPROTO if shorter than 48 bytes or the version is not
 * 1..4; the mode is checked by the client or server that receives it. */
int cohort_ntp_decode(const uint8_t *buf, size_t len, cohort_ntp_packet_t *out);

/* Why packets were refused. */
typedef struct cohort_ntp_drops {
  uint64_t short_packet; /* fewer than 48 bytes */
  uint64_t version;      /* version 0 or > 4 */
  uint64_t mode;         /* not the mode this end expects */
  uint64_t zero_transmit;/* transmit timestamp 0 */
  uint64_t bogus_origin; /* origin ≠ our last transmit: replay or spoof */
  uint64_t unrequested;  /* a reply with no request outstanding (duplicate) */
  uint64_t unsynchronized; /* server stratum 0/16 or leap alarm */
  uint64_t kod;          /* kiss-o'-death received */
  uint64_t bad_sample;   /* negative delay beyond precision, or absurd */
  uint64_t rate_limited; /* server: requests refused by the rate limiter */
} cohort_ntp_drops_t;

/* ==== client association (RFC 5905 §8–§10) ============================== */

/* Clock filter length (RFC 5905 NSTAGE). */
#define COHORT_NTP_FILTER_LEN 8

typedef struct cohort_ntp_sample {
  int64_t offset_ns; /* θ = ((T2 − T1) + (T3 − T4)) / 2 */
  int64_t delay_ns;  /* δ = (T4 − T1) − (T3 − T2) */
  int64_t disp_ns;   /* dispersion at the time of the sample */
  int64_t t_ns;      /* local time (T4) of the sample */
  int64_t local_ns;  /* the host's oscillator at T4 (the clock's drift since
                        the sample is measured from here) */
} cohort_ntp_sample_t;

/* One server as seen by a client: what it said last, and the filter. */
typedef struct cohort_ntp_peer {
  uint32_t id; /* the caller's name for this server (node id, index) */
  /* Request in flight: the random transmit timestamp we sent, and T1. */
  bool outstanding;
  cohort_ntp_ts_t xmt_sent;
  int64_t t1_ns;
  /* From the server's last good reply. */
  uint8_t stratum, leap;
  uint32_t refid;
  int64_t root_delay_ns, root_disp_ns;
  /* Clock filter: samples newest first; n valid. */
  cohort_ntp_sample_t filter[COHORT_NTP_FILTER_LEN];
  size_t n;
  /* Filter output (valid when n > 0). */
  int64_t offset_ns, delay_ns, disp_ns, jitter_ns;
  int64_t update_ns; /* local time of the chosen sample */
  int64_t update_local_ns; /* and its oscillator time */
  int64_t used_ns;   /* t of the last sample handed to the system */
  uint8_t reach;     /* 8-bit reachability shift register */
  int8_t poll;       /* this association's poll exponent */
  bool denied;       /* DENY/RSTR kiss: stop polling */
  cohort_ntp_drops_t drops;
  uint64_t samples, kods;
} cohort_ntp_peer_t;

void cohort_ntp_peer_init(cohort_ntp_peer_t *p, uint32_t id, int8_t poll);
/* Build a client request at local time t1_ns. `nonce` (64 random bits
 * from the host) becomes the transmit timestamp, which the server echoes
 * as origin: replies that do not echo it are refused (RFC 5905 §8, and
 * what chrony does). Shifts the reachability register. */
void cohort_ntp_peer_request(cohort_ntp_peer_t *p, int64_t t1_ns,
                             uint64_t nonce,
                             uint8_t out[COHORT_NTP_PACKET_LEN]);
/* A reply arrived at local time t4_ns, oscillator time local_ns (the
 * same as t4_ns for a host whose clock is its oscillator). Returns 0 and fills *out (may be
 * NULL) with the new sample, which also enters the clock filter; or a
 * negative code with the reason counted in p->drops: COHORT_EPROTO
 * (malformed, wrong mode, zero transmit, bad sample), COHORT_ESTALE
 * (bogus origin or nothing outstanding), COHORT_ESTATE (server not
 * synchronized), COHORT_ECANCELED (kiss-o'-death; p->poll raised for
 * RATE, p->denied set for DENY and RSTR). */
int cohort_ntp_peer_response(cohort_ntp_peer_t *p, const uint8_t *buf,
                             size_t len, int64_t t4_ns, int64_t local_ns,
                             cohort_ntp_sample_t *out);
/* Root distance λ at local time now (RFC 5905 §10, root_dist()). */
int64_t cohort_ntp_peer_root_distance(const cohort_ntp_peer_t *p,
                                      int64_t now_ns);
/* The local clock was moved by `delta_ns` (positive = forward): stored
 * offsets are re-expressed against the moved clock. */
void cohort_ntp_peer_adjust(cohort_ntp_peer_t *p, int64_t delta_ns);
/* Forget the filter (after a step, RFC 5905 clear()). */
void cohort_ntp_peer_clear(cohort_ntp_peer_t *p);

/* ==== system process: selection, clustering, combining (§11.2) ========== */

typedef struct cohort_ntp_system {
  bool synced;
  size_t survivors;     /* after clustering */
  size_t truechimers;   /* after intersection */
  size_t sys_peer;      /* index into the peer array */
  int64_t offset_ns;    /* combined offset */
  int64_t jitter_ns;    /* combined (selection and peer) jitter */
  uint8_t stratum;      /* sys peer's stratum + 1 */
  uint32_t refid;
  int64_t root_delay_ns, root_disp_ns; /* for our own clients */
  bool falseticker[COHORT_NTP_PEERS_MAX]; /* rejected by intersection */
} cohort_ntp_system_t;

/* Run selection over peers[0..n) (n ≤ COHORT_NTP_PEERS_MAX) at local time
 * now. Needs a majority of the usable peers to agree (intersect). Returns
 * 0 and fills *out, or COHORT_ENOTFOUND (no majority / no usable peer;
 * *out then has synced = false). */
int cohort_ntp_select(const cohort_ntp_peer_t *peers, size_t n, int64_t now_ns,
                      cohort_ntp_system_t *out);

/* ==== server (§9, §15 rate management) ================================== */

typedef struct cohort_ntp_server_state {
  uint8_t stratum; /* 1 for a reference clock; 16 = not synchronized */
  uint8_t leap;
  int8_t precision;
  uint32_t refid;
  int64_t root_delay_ns, root_disp_ns;
  int64_t reference_ns; /* when the clock was last set */
} cohort_ntp_server_state_t;

typedef struct cohort_ntp_rate_entry {
  uint64_t client; /* caller's key of the client address */
  int64_t tokens_ns; /* token bucket, in ns of credit */
  int64_t last_ns;
  bool kod_sent;
} cohort_ntp_rate_entry_t;

typedef struct cohort_ntp_server {
  /* Rate limit: a client may send `burst` requests at once, then one per
   * `interval_ns` on average; beyond that it gets one RATE kiss (then
   * silence until it slows down). interval_ns 0 disables limiting. */
  int64_t rate_interval_ns;
  uint32_t rate_burst;
  cohort_ntp_rate_entry_t clients[COHORT_NTP_RATE_CLIENTS_MAX];
  size_t clients_len;
  cohort_ntp_drops_t drops;
  uint64_t served, kods_sent;
} cohort_ntp_server_t;

void cohort_ntp_server_init(cohort_ntp_server_t *s, int64_t rate_interval_ns,
                            uint32_t rate_burst);
/* A request arrived at local time t2_ns from client `client_key`; `t3_ns`
 * is the transmit time to stamp. Returns the reply length (48) written to
 * out, 0 if the request is silently dropped (counted), or COHORT_EPROTO
 * for malformed input (counted). Client and symmetric-active modes are
 * answered; SNTP clients are plain client-mode requests. */
int cohort_ntp_server_reply(cohort_ntp_server_t *s,
                            const cohort_ntp_server_state_t *st,
                            uint64_t client_key, const uint8_t *req,
                            size_t len, int64_t t2_ns, int64_t t3_ns,
                            uint8_t out[COHORT_NTP_PACKET_LEN]);

/* ==== SNTP (RFC 4330): one exchange, no filter ========================== */

typedef struct cohort_ntp_result {
  int64_t offset_ns, delay_ns;
  uint8_t stratum;
  uint32_t refid;
  int64_t root_delay_ns, root_disp_ns;
} cohort_ntp_result_t;

/* Offset and delay from the four timestamps (ns): RFC 5905 §8. */
void cohort_ntp_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                             int64_t *offset_ns, int64_t *delay_ns);

/* ==== PTP-style synchronization (IEEE 1588 concepts) ==================== */

enum {
  COHORT_PTP_SYNC = 0x0,
  COHORT_PTP_DELAY_REQ = 0x1,
  COHORT_PTP_FOLLOW_UP = 0x8,
  COHORT_PTP_DELAY_RESP = 0x9,
  COHORT_PTP_ANNOUNCE = 0xB
};

/* The dataset the BMCA compares (IEEE 1588 §9.3, simplified: no
 * topology steps-removed tie-break beyond the identity). */
typedef struct cohort_ptp_clock_quality {
  uint8_t priority1;
  uint8_t clock_class;    /* 6 = locked to a primary reference, 248 default */
  uint8_t accuracy;       /* 0x20 = 25 ns … 0xFE unknown */
  uint16_t variance;      /* offsetScaledLogVariance */
  uint8_t priority2;
  uint64_t identity;      /* clockIdentity: final tie-break */
} cohort_ptp_clock_quality_t;

/* Negative if a is the better master, positive if b is, 0 if the same
 * clock. */
int cohort_ptp_bmca_compare(const cohort_ptp_clock_quality_t *a,
                            const cohort_ptp_clock_quality_t *b);

#define COHORT_PTP_MSG_LEN 44 /* header 34 + body 10 (timestamp) */
#define COHORT_PTP_ANNOUNCE_LEN 64
#define COHORT_PTP_VERSION 2

typedef struct cohort_ptp_msg {
  uint8_t type;        /* COHORT_PTP_* */
  uint8_t version;     /* 2 */
  uint16_t seq;
  uint64_t source;     /* sender's clockIdentity */
  int64_t ts_ns;       /* originTimestamp / preciseOriginTimestamp /
                          receiveTimestamp, Unix ns (PTP uses TAI; the
                          toolkit keeps one timescale) */
  uint64_t requester;  /* Delay_Resp: requestingPortIdentity */
  cohort_ptp_clock_quality_t quality; /* Announce only */
} cohort_ptp_msg_t;

/* Encode: returns the length written (COHORT_PTP_MSG_LEN or
 * COHORT_PTP_ANNOUNCE_LEN) or COHORT_EFULL / COHORT_EINVAL. */
int cohort_ptp_encode(const cohort_ptp_msg_t *m, uint8_t *buf, size_t cap);
/* Decode: COHORT_EPROTO for short input, an unknown type, a version other
 * than 2, or a length field that disagrees with the bytes. */
int cohort_ptp_decode(const uint8_t *buf, size_t len, cohort_ptp_msg_t *out);

typedef struct cohort_ptp_drops {
  uint64_t malformed, version, type, zero_timestamp, stale_seq, not_master;
} cohort_ptp_drops_t;

/* ==== Cristian's algorithm =============================================== */

typedef struct cohort_cristian_estimate {
  int64_t time_ns;  /* T_S + RTT/2 at the local receive instant */
  int64_t offset_ns;/* estimate − local receive time */
  int64_t rtt_ns;
  int64_t error_ns; /* ((t1 − t0) − 2·t_min) / 2, plus the server's own */
} cohort_cristian_estimate_t;

/* One probe: sent at local t0, server time ts, received at local t1;
 * t_min the known minimum one-way delay; server_error_ns the server's
 * own error bound (0 for a reference; a chain adds up). COHORT_EINVAL if
 * t1 < t0 or the round trip is shorter than 2·t_min. */
int cohort_cristian_estimate(int64_t t0, int64_t ts, int64_t t1,
                             int64_t t_min_ns, int64_t server_error_ns,
                             cohort_cristian_estimate_t *out);

/* ==== protocols hosted in a cohort node =================================== */

/* Registry factories: "ntp", "ptp", "cristian" (help strings list their
 * parameters). All use proto id COHORT_PROTO_TIMESYNC, so one node runs
 * one of them. */
extern const cohort_proto_factory_t cohort_ntp_factory;
extern const cohort_proto_factory_t cohort_ptp_factory;
extern const cohort_proto_factory_t cohort_cristian_factory;

/* The cluster clock a timesync protocol instance disciplines (made by one
 * of the factories above). Borrowed; lives as long as the instance. */
cohort_cluster_clock_t *cohort_timesync_clock(cohort_proto_t *p);

/* Counters of an instance, for tests and benches. */
typedef struct cohort_timesync_stats {
  uint64_t sent, received, samples, updates, steps;
  uint64_t dropped;      /* all refused payloads */
  uint64_t falsetickers; /* NTP: peers rejected at the last selection */
  cohort_ntp_drops_t ntp;
  cohort_ptp_drops_t ptp;
  cohort_node_id_t master; /* PTP: the grandmaster chosen, or NONE */
} cohort_timesync_stats_t;

void cohort_timesync_stats(cohort_proto_t *p, cohort_timesync_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
