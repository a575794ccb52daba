/*
 * tests/timesync/test_ntp.c — the sans-I/O pieces of src/timesync driven
 * directly with made-up timestamps: NTP timestamps and eras, the packet
 * codec and its refusals, the client's validation (mode, zero transmit,
 * bogus origin, replay, kiss-o'-death), offset/delay and the clock filter,
 * selection with a falseticker and without a majority, the server's reply
 * and rate limiting, the cluster clock (slew, step, interval, monotonic),
 * PTP messages and the BMCA, and Cristian's estimate and chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/timesync.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
#define T0 (INT64_C(1767225600) * S) /* 2026-01-01 */

/* ---- timestamps and codec ---------------------------------------------- */

static void test_timestamps(void **st) {
  (void)st;
  int64_t cases[] = {T0, T0 + 123456789, 0, 1, INT64_C(2085978496) * S + 5 /* 2036 */,
                     INT64_C(4000000000) * S + 999999999};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cohort_ntp_ts_t ts = cohort_ntp_ts_from_ns(cases[i]);
    int64_t back = cohort_ntp_ts_to_ns(ts, cases[i] + 1000 * S);
    assert_true(back - cases[i] <= 1 && cases[i] - back <= 1);
  }
  /* The era: 2036-02-07 wraps the 32-bit seconds to 0; a pivot after the
   * wrap must still give the right instant. */
  int64_t wrap = (INT64_C(1) << 32) * S - COHORT_NTP_UNIX_EPOCH_S * S;
  cohort_ntp_ts_t ts = cohort_ntp_ts_from_ns(wrap + 7 * S);
  assert_int_equal(ts >> 32, 7);
  assert_int_equal(cohort_ntp_ts_to_ns(ts, wrap - 100 * S), wrap + 7 * S);
  assert_int_equal(cohort_ntp_ts_from_ns(T0) >> 32, 1767225600 + 2208988800u);
  int64_t sh = cohort_ntp_short_to_ns(cohort_ntp_short_from_ns(1500 * US)) - 1500 * US;
  assert_true(sh > -16 * US && sh < 16 * US); /* 16.16 format: 15.3 µs units */
  assert_int_equal(cohort_ntp_short_from_ns(-5), 0);
  assert_int_equal(cohort_ntp_short_from_ns(INT64_C(70000) * S), 0xffffffffu);
}

static void test_codec(void **st) {
  (void)st;
  cohort_ntp_packet_t p = {.leap = 0, .version = 4, .mode = 4, .stratum = 2, .poll = 6,
                           .precision = -20, .root_delay = 0x1234, .root_dispersion = 0x5678,
                           .refid = COHORT_NTP_REFID('G', 'P', 'S', 0),
                           .reference = 1, .origin = 2, .receive = 3,
                           .transmit = 0xfedcba9876543210ull};
  uint8_t b[COHORT_NTP_PACKET_LEN + 20];
  memset(b, 0xAA, sizeof b);
  cohort_ntp_encode(&p, b);
  assert_int_equal(b[0], 0x24); /* LI 0, VN 4, mode 4 */
  cohort_ntp_packet_t q;
  assert_int_equal(cohort_ntp_decode(b, sizeof b, &q), 0); /* trailing bytes: ignored */
  assert_int_equal(q.leap, p.leap);
  assert_int_equal(q.version, p.version);
  assert_int_equal(q.mode, p.mode);
  assert_int_equal(q.stratum, p.stratum);
  assert_int_equal(q.poll, p.poll);
  assert_int_equal(q.precision, p.precision);
  assert_int_equal(q.root_delay, p.root_delay);
  assert_int_equal(q.root_dispersion, p.root_dispersion);
  assert_int_equal(q.refid, p.refid);
  assert_int_equal(q.reference, p.reference);
  assert_int_equal(q.origin, p.origin);
  assert_int_equal(q.receive, p.receive);
  assert_int_equal(q.transmit, p.transmit);
  assert_int_equal(cohort_ntp_decode(b, 47, &q), COHORT_EPROTO);
  assert_int_equal(cohort_ntp_decode(NULL, 48, &q), COHORT_EPROTO);
  b[0] = 0x3c; /* version 7 */
  assert_int_equal(cohort_ntp_decode(b, 48, &q), COHORT_EVERSION);
  b[0] = 0x04; /* version 0 */
  assert_int_equal(cohort_ntp_decode(b, 48, &q), COHORT_EVERSION);
}

/* ---- client ---------------------------------------------------------------- */

/* A server reply to `req` with the server clock `skew` ahead, one-way
 * delays d1 (there) and d2 (back), from a request sent at t1. */
static void make_reply(const uint8_t *req, int64_t t1, int64_t skew, int64_t d1, int64_t d2,
                       uint8_t stratum, uint8_t out[48], int64_t *t4) {
  cohort_ntp_packet_t q;
  assert_int_equal(cohort_ntp_decode(req, 48, &q), 0);
  cohort_ntp_packet_t r = {.version = 4, .mode = 4, .stratum = stratum, .precision = -20,
                           .refid = 1, .origin = q.transmit,
                           .receive = cohort_ntp_ts_from_ns(t1 + d1 + skew),
                           .transmit = cohort_ntp_ts_from_ns(t1 + d1 + skew + 10 * US)};
  cohort_ntp_encode(&r, out);
  *t4 = t1 + d1 + 10 * US + d2;
}

static void test_client_offset_filter(void **st) {
  (void)st;
  cohort_ntp_peer_t p;
  cohort_ntp_peer_init(&p, 7, 0);
  int64_t delays[] = {300, 120, 500, 100, 250, 700, 180, 90, 400, 1000};
  for (size_t i = 0; i < 10; i++) {
    uint8_t req[48], rep[48];
    int64_t t1 = T0 + (int64_t)i * S, t4;
    cohort_ntp_peer_request(&p, t1, 0x1111 + i, req);
    /* Asymmetry grows with the delay: the min-delay sample is the best. */
    make_reply(req, t1, 5 * MS, delays[i] * US / 2 + delays[i] * 10, delays[i] * US / 2, 3, rep,
               &t4);
    cohort_ntp_sample_t s;
    assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, t4, t4, &s), 0);
    int64_t err = s.offset_ns - 5 * MS;
    assert_true(err >= 0 && err <= delays[i] * 10);
  }
  assert_int_equal(p.n, COHORT_NTP_FILTER_LEN);
  assert_int_equal(p.delay_ns, 90 * US + 900); /* the 90 µs sample wins */
  assert_int_equal(p.offset_ns, 5 * MS + 450);
  assert_true(p.jitter_ns > 0);
  assert_int_equal(p.reach & 1, 1);
  int64_t lambda = cohort_ntp_peer_root_distance(&p, T0 + 10 * S);
  assert_true(lambda > p.delay_ns / 2 && lambda < 10 * MS);
  cohort_ntp_peer_adjust(&p, 1 * MS);
  assert_int_equal(p.offset_ns, 4 * MS + 450);
}

static void test_client_refusals(void **st) {
  (void)st;
  cohort_ntp_peer_t p;
  cohort_ntp_peer_init(&p, 1, 0);
  uint8_t req[48], rep[48];
  int64_t t4;
  /* A reply with nothing outstanding. */
  cohort_ntp_peer_request(&p, T0, 42, req);
  make_reply(req, T0, 0, 50 * US, 50 * US, 2, rep, &t4);
  uint8_t bad[48];
  memcpy(bad, rep, 48);
  bad[0] = (uint8_t)((bad[0] & ~7) | 3); /* mode 3 */
  assert_int_equal(cohort_ntp_peer_response(&p, bad, 48, t4, t4, NULL), COHORT_EPROTO);
  assert_int_equal(p.drops.mode, 1);
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 20, t4, t4, NULL), COHORT_EPROTO);
  assert_int_equal(p.drops.short_packet, 1);
  memcpy(bad, rep, 48);
  bad[0] = (uint8_t)((bad[0] & 0xC7) | (6 << 3)); /* version 6 */
  assert_int_equal(cohort_ntp_peer_response(&p, bad, 48, t4, t4, NULL), COHORT_EPROTO);
  assert_int_equal(p.drops.version, 1);
  memcpy(bad, rep, 48);
  memset(bad + 40, 0, 8); /* zero transmit */
  assert_int_equal(cohort_ntp_peer_response(&p, bad, 48, t4, t4, NULL), COHORT_EPROTO);
  assert_int_equal(p.drops.zero_transmit, 1);
  memcpy(bad, rep, 48);
  bad[31] ^= 1; /* origin does not match: spoofed */
  assert_int_equal(cohort_ntp_peer_response(&p, bad, 48, t4, t4, NULL), COHORT_ESTALE);
  assert_int_equal(p.drops.bogus_origin, 1);
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, t4, t4, NULL), 0);
  /* The same reply again: replayed. */
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, t4, t4, NULL), COHORT_ESTALE);
  assert_int_equal(p.drops.unrequested, 1);
  assert_int_equal(p.samples, 1);
  /* An unsynchronized server (stratum 16). */
  cohort_ntp_peer_request(&p, T0 + S, 43, req);
  make_reply(req, T0 + S, 0, 50 * US, 50 * US, 16, rep, &t4);
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, t4, t4, NULL), COHORT_ESTATE);
  assert_int_equal(p.drops.unsynchronized, 1);
  /* Kiss-o'-death RATE doubles the poll; DENY stops polling. */
  cohort_ntp_peer_request(&p, T0 + 2 * S, 44, req);
  make_reply(req, T0 + 2 * S, 0, 50 * US, 50 * US, 0, rep, &t4);
  rep[12] = 'R', rep[13] = 'A', rep[14] = 'T', rep[15] = 'E';
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, t4, t4, NULL), COHORT_ECANCELED);
  assert_int_equal(p.poll, 1);
  cohort_ntp_peer_request(&p, T0 + 3 * S, 45, req);
  make_reply(req, T0 + 3 * S, 0, 50 * US, 50 * US, 0, rep, &t4);
  rep[12] = 'D', rep[13] = 'E', rep[14] = 'N', rep[15] = 'Y';
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, t4, t4, NULL), COHORT_ECANCELED);
  assert_true(p.denied);
  assert_int_equal(p.drops.kod, 2);
}

static void test_offset_delay(void **st) {
  (void)st;
  int64_t o, d;
  /* Server 1 s ahead, 10 ms there, 30 ms back, 1 ms processing. */
  cohort_ntp_offset_delay(T0, T0 + 10 * MS + S, T0 + 11 * MS + S, T0 + 41 * MS, &o, &d);
  assert_int_equal(d, 40 * MS);
  assert_int_equal(o, S - 10 * MS); /* error = (10 − 30)/2 ms: half the asymmetry */
}

/* ---- selection ------------------------------------------------------------- */

static void fill_peer(cohort_ntp_peer_t *p, uint32_t id, int64_t offset, int64_t now) {
  cohort_ntp_peer_init(p, id, 0);
  for (int i = 0; i < COHORT_NTP_FILTER_LEN; i++) {
    uint8_t req[48], rep[48];
    int64_t t1 = now - (8 - i) * S, t4;
    cohort_ntp_peer_request(p, t1, (uint64_t)(100 + i), req);
    make_reply(req, t1, offset, 100 * US + i * US, 100 * US + i * US, 1, rep, &t4);
    assert_int_equal(cohort_ntp_peer_response(p, rep, 48, t4, t4, NULL), 0);
  }
}

static void test_select_falseticker(void **st) {
  (void)st;
  cohort_ntp_peer_t peers[4];
  int64_t now = T0 + 100 * S;
  fill_peer(&peers[0], 1, 20 * US, now);
  fill_peer(&peers[1], 2, -10 * US, now);
  fill_peer(&peers[2], 3, 5 * US, now);
  fill_peer(&peers[3], 4, S, now); /* 1 s off */
  cohort_ntp_system_t sys;
  assert_int_equal(cohort_ntp_select(peers, 4, now, &sys), 0);
  assert_true(sys.synced);
  assert_true(sys.falseticker[3]);
  assert_false(sys.falseticker[0] || sys.falseticker[1] || sys.falseticker[2]);
  assert_int_equal(sys.truechimers, 3);
  assert_true(sys.offset_ns > -10 * US && sys.offset_ns < 20 * US);
  assert_int_equal(sys.stratum, 2);
  /* Two against two: no majority, nothing selected. */
  fill_peer(&peers[2], 3, S, now);
  assert_int_equal(cohort_ntp_select(peers, 4, now, &sys), COHORT_ENOTFOUND);
  assert_false(sys.synced);
  assert_int_equal(cohort_ntp_select(peers, 0, now, &sys), COHORT_ENOTFOUND);
}

/* ---- server ----------------------------------------------------------------- */

static void test_server(void **st) {
  (void)st;
  cohort_ntp_server_t srv;
  cohort_ntp_server_init(&srv, S, 2); /* 1/s after a burst of 2 */
  cohort_ntp_server_state_t ss = {.stratum = 3, .precision = -20, .refid = 99,
                                  .root_delay_ns = 2 * MS, .root_disp_ns = MS};
  cohort_ntp_peer_t p;
  cohort_ntp_peer_init(&p, 1, 0);
  uint8_t req[48], rep[48];
  cohort_ntp_peer_request(&p, T0, 77, req);
  int n = cohort_ntp_server_reply(&srv, &ss, 5, req, 48, T0 + 50 * US, T0 + 60 * US, rep);
  assert_int_equal(n, 48);
  cohort_ntp_sample_t s;
  assert_int_equal(cohort_ntp_peer_response(&p, rep, 48, T0 + 110 * US, T0 + 110 * US, &s), 0);
  assert_int_equal(s.delay_ns, 100 * US);
  assert_true(s.offset_ns >= -1 && s.offset_ns <= 1);
  assert_int_equal(p.stratum, 3);
  assert_int_equal(p.refid, 99);
  assert_true(p.root_delay_ns - 2 * MS < 16 * US && 2 * MS - p.root_delay_ns < 16 * US);
  /* Refusals: a server-mode packet, a zero transmit, garbage. */
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, rep, 48, T0, T0, rep), COHORT_EPROTO);
  assert_int_equal(srv.drops.mode, 1);
  uint8_t z[48];
  memcpy(z, req, 48);
  memset(z + 40, 0, 8);
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, z, 48, T0, T0, rep), COHORT_EPROTO);
  assert_int_equal(srv.drops.zero_transmit, 1);
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, z, 3, T0, T0, rep), COHORT_EPROTO);
  /* Rate limit: the burst (2, one used above), then a RATE kiss, then
   * silence; another client is unaffected; after a pause, served again. */
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, req, 48, T0, T0, rep), 48);
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, req, 48, T0, T0, rep), 48);
  cohort_ntp_packet_t k;
  assert_int_equal(cohort_ntp_decode(rep, 48, &k), 0);
  assert_int_equal(k.stratum, 0);
  assert_int_equal(k.refid, COHORT_NTP_KOD_RATE);
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, req, 48, T0, T0, rep), 0);
  assert_int_equal(srv.kods_sent, 1);
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 6, req, 48, T0, T0, rep), 48);
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 5, req, 48, T0 + 2 * S, T0, rep), 48);
  assert_int_equal(cohort_ntp_decode(rep, 48, &k), 0);
  assert_int_equal(k.stratum, 3);
  /* An unsynchronized server says so. */
  ss.stratum = 16;
  assert_int_equal(cohort_ntp_server_reply(&srv, &ss, 9, req, 48, T0, T0, rep), 48);
  assert_int_equal(cohort_ntp_decode(rep, 48, &k), 0);
  assert_int_equal(k.leap, COHORT_NTP_LEAP_ALARM);
}

/* ---- cluster clock ----------------------------------------------------------- */

/* An update with a sample measured at the moment it is applied. */
static int clock_update(cohort_cluster_clock_t *c, int64_t local, int64_t offset, int64_t dist,
                        int64_t interval, cohort_clock_update_t *u) {
  cohort_clock_sample_t s = {.offset_ns = offset, .distance_ns = dist, .measured_ns = local,
                             .interval_ns = interval};
  return cohort_cluster_clock_update(c, local, &s, u);
}

static void test_cluster_clock(void **st) {
  (void)st;
  cohort_cluster_clock_t c;
  assert_int_equal(cohort_cluster_clock_init(&c, NULL, 0, T0), 0);
  cohort_time_t t = cohort_cluster_clock_now(&c, 5 * S);
  assert_false(t.synchronized);
  assert_int_equal(t.time_ns, T0 + 5 * S);
  /* First update: 2 s off → the output steps. */
  cohort_clock_update_t u;
  assert_int_equal(clock_update(&c, 5 * S, 2 * S, 100 * US, S, &u), 0);
  assert_true(u.stepped);
  t = cohort_cluster_clock_now(&c, 5 * S);
  assert_true(t.synchronized);
  assert_int_equal(t.time_ns, T0 + 7 * S);
  assert_int_equal(t.latest_ns - t.earliest_ns, 200 * US);
  /* The interval grows with the drift bound (200 ppm): +200 µs per second. */
  t = cohort_cluster_clock_now(&c, 6 * S);
  assert_int_equal(t.latest_ns - t.earliest_ns, 200 * US + 400 * US);
  /* A small negative offset is slewed: the output never goes backwards. */
  assert_int_equal(clock_update(&c, 6 * S, -50 * MS, 100 * US, S, &u), 0);
  assert_false(u.stepped);
  int64_t prev = cohort_cluster_clock_now(&c, 6 * S).time_ns;
  for (int64_t l = 6 * S; l < 500 * S; l += 37 * MS) {
    int64_t now = cohort_cluster_clock_now(&c, l).time_ns;
    assert_true(now >= prev);
    prev = now;
  }
  /* Slewing at 500 ppm took the 50 ms back within 100 s. */
  t = cohort_cluster_clock_now(&c, 500 * S);
  assert_int_equal(t.time_ns, cohort_cluster_clock_estimate(&c, 500 * S));
  /* A large offset steps, even backwards, and time holds at the floor. */
  int64_t before = cohort_cluster_clock_now(&c, 500 * S).time_ns;
  assert_int_equal(clock_update(&c, 500 * S, -S, 100 * US, S, &u), 0);
  assert_true(u.stepped);
  assert_int_equal(cohort_cluster_clock_now(&c, 500 * S).time_ns, before);
  /* Bad arguments and configuration. */
  assert_int_equal(clock_update(&c, 501 * S, 0, -1, S, NULL), COHORT_EINVAL);
  assert_int_equal(clock_update(&c, 501 * S, 0, 0, 0, NULL), COHORT_EINVAL);
  cohort_cluster_clock_config_t cfg = {.phase_gain = 2.0};
  assert_int_equal(cohort_cluster_clock_init(&c, &cfg, 0, 0), COHORT_EINVAL);
  cfg = (cohort_cluster_clock_config_t){.max_slew_ppb = -1};
  assert_int_equal(cohort_cluster_clock_init(&c, &cfg, 0, 0), COHORT_EINVAL);
}

static void test_cluster_clock_drift(void **st) {
  (void)st;
  /* An oscillator 80 ppm slow, measured each second without noise: the
   * clock learns the frequency and true time stays in the interval. */
  cohort_cluster_clock_t c;
  assert_int_equal(cohort_cluster_clock_init(&c, NULL, 0, T0 + 3 * MS), 0);
  cohort_hlc_t h;
  cohort_hlc_init(&h, 0);
  for (int64_t k = 1; k <= 300; k++) {
    int64_t truth = T0 + k * S, local = k * S - k * 80 * US; /* 80 ppm slow */
    int64_t theta = truth - cohort_cluster_clock_estimate(&c, local);
    assert_int_equal(clock_update(&c, local, theta, 50 * US, S, NULL), 0);
    cohort_time_t t = cohort_cluster_clock_now(&c, local + 500 * MS);
    int64_t truth_half = truth + (int64_t)((double)(500 * MS) / (1 - 80e-6));
    if (truth_half < t.earliest_ns || truth_half > t.latest_ns)
      fail_msg("k=%lld truth %lld not in [%lld, %lld] (est %lld)", (long long)k,
               (long long)(truth_half - T0), (long long)(t.earliest_ns - T0),
               (long long)(t.latest_ns - T0), (long long)(t.time_ns - T0));
    cohort_hlc_ts_t hl = cohort_cluster_clock_hlc(&c, &h, local + 500 * MS);
    assert_true(hl.l >= t.time_ns);
  }
  assert_true(c.freq * 1e6 > 79.0 && c.freq * 1e6 < 81.0);
  int64_t local = 301 * S - 301 * 80 * US;
  int64_t err = cohort_cluster_clock_estimate(&c, local) - (T0 + 301 * S);
  assert_true(err > -2 * US && err < 2 * US);
}

/* ---- PTP and BMCA ---------------------------------------------------------- */

/* Regression (timesync-ntp.scn seed 198): NTP's clock filter hands over
 * its minimum-delay sample, which can be seconds old when it is applied.
 * The clock drifted since that sample was true, so the interval must grow
 * from the *measurement*, and the frequency acquisition must use the span
 * between measurements. Oscillator 100 ppm fast; every sample is applied
 * 2 s after it was taken, with λ = 20 µs. */
static void test_cluster_clock_stale_sample(void **st) {
  (void)st;
  const double rate = 1.0 + 100e-6; /* local = truth·rate from T0 */
  cohort_cluster_clock_t c;
  assert_int_equal(cohort_cluster_clock_init(&c, NULL, 0, T0), 0);
  int64_t pend[5]; /* θ of the samples taken 2, 1.5, 1, 0.5 s ago and now */
  size_t np = 0;
  double locked_ppm = 0.0;
  for (int64_t k = 0; k < 44; k++) {
    int64_t l0 = k * S / 2;
    /* Measure now: θ = true − est, kept and re-based like NTP's filter. */
    pend[np++] = T0 + (int64_t)((double)l0 / rate) - cohort_cluster_clock_estimate(&c, l0);
    if (np < 5) continue;
    /* Apply the sample measured 2 s ago; re-base the others on the move. */
    cohort_clock_sample_t s = {.offset_ns = pend[0], .distance_ns = 20 * US,
                               .measured_ns = l0 - 2 * S, .interval_ns = S / 2};
    cohort_clock_update_t u;
    bool was_locked = c.freq_locked;
    assert_int_equal(cohort_cluster_clock_update(&c, l0, &s, &u), 0);
    if (!was_locked && c.freq_locked) locked_ppm = u.freq_ppm;
    for (size_t i = 1; i < np; i++) pend[i - 1] = pend[i] - u.applied_ns;
    np--;
    for (int64_t l = l0; l < l0 + S / 2; l += 100 * MS) {
      cohort_time_t t = cohort_cluster_clock_now(&c, l);
      int64_t truth = T0 + (int64_t)((double)l / rate);
      if (truth < t.earliest_ns || truth > t.latest_ns)
        fail_msg("k=%lld l=%lld: truth %+lld ns from est, interval [%+lld, %+lld]",
                 (long long)k, (long long)l, (long long)(truth - t.time_ns),
                 (long long)(t.earliest_ns - t.time_ns), (long long)(t.latest_ns - t.time_ns));
    }
  }
  /* The FLL measured the frequency over the measurements' span (over the
   * updates' span it would be off by the 2 s delay's drift, 200 µs). */
  assert_true(c.freq_locked);
  if (!(locked_ppm < -99.9 && locked_ppm > -100.1)) fail_msg("FLL: %f ppm", locked_ppm);
  /* A measurement from the future is refused and changes nothing. */
  cohort_clock_sample_t bad = {.offset_ns = 0, .distance_ns = 0, .measured_ns = 100 * S,
                               .interval_ns = S};
  uint64_t n = c.updates;
  assert_int_equal(cohort_cluster_clock_update(&c, 99 * S, &bad, NULL), COHORT_EINVAL);
  assert_int_equal(c.updates, n);
}

static void test_ptp_codec(void **st) {
  (void)st;
  uint8_t b[80];
  cohort_ptp_msg_t m = {.type = COHORT_PTP_DELAY_RESP, .seq = 513, .source = 7,
                        .ts_ns = T0 + 123456789, .requester = 9}, o;
  int n = cohort_ptp_encode(&m, b, sizeof b);
  assert_int_equal(n, 54);
  assert_int_equal(cohort_ptp_decode(b, (size_t)n, &o), 0);
  assert_int_equal(o.seq, 513);
  assert_int_equal(o.ts_ns, T0 + 123456789);
  assert_int_equal(o.requester, 9);
  cohort_ptp_msg_t a = {.type = COHORT_PTP_ANNOUNCE, .source = 3,
                        .quality = {1, 6, 0x21, 0x4e5d, 128, 3}};
  n = cohort_ptp_encode(&a, b, sizeof b);
  assert_int_equal(n, COHORT_PTP_ANNOUNCE_LEN);
  assert_int_equal(cohort_ptp_decode(b, (size_t)n, &o), 0);
  assert_int_equal(cohort_ptp_bmca_compare(&a.quality, &o.quality), 0);
  assert_int_equal(o.quality.variance, 0x4e5d);
  /* Malformed: short, truncated, wrong version, unknown type, bad ns. */
  assert_int_equal(cohort_ptp_decode(b, 10, &o), COHORT_EPROTO);
  assert_int_equal(cohort_ptp_decode(b, (size_t)n - 1, &o), COHORT_EPROTO);
  b[1] = 1;
  assert_int_equal(cohort_ptp_decode(b, (size_t)n, &o), COHORT_EVERSION);
  b[1] = 2;
  b[0] = 0x5;
  assert_int_equal(cohort_ptp_decode(b, (size_t)n, &o), COHORT_EUNKNOWN);
  n = cohort_ptp_encode(&m, b, sizeof b);
  b[40] = 0xff; /* nanoseconds ≥ 1e9 */
  assert_int_equal(cohort_ptp_decode(b, (size_t)n, &o), COHORT_EPROTO);
  assert_int_equal(cohort_ptp_encode(&m, b, 10), COHORT_EFULL);
  m.type = 0x7;
  assert_int_equal(cohort_ptp_encode(&m, b, sizeof b), COHORT_EINVAL);
}

static void test_bmca(void **st) {
  (void)st;
  cohort_ptp_clock_quality_t a = {128, 248, 0xFE, 0xFFFF, 128, 5}, b = a;
  b.identity = 3;
  assert_true(cohort_ptp_bmca_compare(&b, &a) < 0); /* identity breaks ties */
  a.priority2 = 127;
  assert_true(cohort_ptp_bmca_compare(&a, &b) < 0); /* priority2 before identity */
  b.variance = 100;
  assert_true(cohort_ptp_bmca_compare(&b, &a) < 0); /* variance before priority2 */
  a.accuracy = 0x20;
  assert_true(cohort_ptp_bmca_compare(&a, &b) < 0);
  b.clock_class = 6;
  assert_true(cohort_ptp_bmca_compare(&b, &a) < 0);
  a.priority1 = 1;
  assert_true(cohort_ptp_bmca_compare(&a, &b) < 0); /* priority1 first */
}

/* ---- Cristian ---------------------------------------------------------------- */

static void test_cristian(void **st) {
  (void)st;
  cohort_cristian_estimate_t e;
  /* Sent at 0, server says T_S = 1000 s, back at 30 ms; t_min 10 ms. */
  assert_int_equal(cohort_cristian_estimate(0, 1000 * S, 30 * MS, 10 * MS, 0, &e), 0);
  assert_int_equal(e.time_ns, 1000 * S + 15 * MS);
  assert_int_equal(e.error_ns, 5 * MS);
  assert_int_equal(e.offset_ns, 1000 * S - 15 * MS);
  /* A chain: B's error (5 ms) adds to A's own (2 ms). */
  assert_int_equal(cohort_cristian_estimate(0, 7 * S, 24 * MS, 10 * MS, e.error_ns, &e), 0);
  assert_int_equal(e.error_ns, 7 * MS);
  assert_int_equal(cohort_cristian_estimate(10, 0, 5, 0, 0, &e), COHORT_EINVAL);
  assert_int_equal(cohort_cristian_estimate(0, 0, 5 * MS, 10 * MS, 0, &e), COHORT_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timestamps),       cmocka_unit_test(test_codec),
      cmocka_unit_test(test_client_offset_filter), cmocka_unit_test(test_client_refusals),
      cmocka_unit_test(test_offset_delay),     cmocka_unit_test(test_select_falseticker),
      cmocka_unit_test(test_server),           cmocka_unit_test(test_cluster_clock),
      cmocka_unit_test(test_cluster_clock_drift),
      cmocka_unit_test(test_cluster_clock_stale_sample), cmocka_unit_test(test_ptp_codec),
      cmocka_unit_test(test_bmca),             cmocka_unit_test(test_cristian),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
