/*
 * src/timesync/ntp_client.c — one NTP association seen from the client
 * (RFC 5905 §8 on-wire protocol, §10 clock filter): request building with
 * a random transmit timestamp, reply validation (mode, zero transmit,
 * origin match, kiss-o'-death, unsynchronized server), offset and delay
 * from T1..T4, and the 8-stage minimum-delay filter with dispersion and
 * jitter.
 *
 * Invariants: exactly one request is outstanding at a time and a reply is
 * accepted at most once (the origin check then clears it, so a replayed
 * reply is refused as unrequested); filter[0..n) is newest first; every
 * refused reply increments one counter in p->drops.
 */
#include <math.h>
#include <string.h>

#include "cohort/timesync.h"

/* RFC 5905 constants, in ns. */
#define PHI_PPB 15000                      /* frequency tolerance, 15 ppm */
#define MAXDISP_NS (16 * COHORT_NS_PER_S)  /* dispersion of an empty stage */
#define PRECISION_NS 1000                  /* our timestamping, ~2^-20 s */
#define POLL_MAX 17

void cohort_ntp_peer_init(cohort_ntp_peer_t *p, uint32_t id, int8_t poll) {
  memset(p, 0, sizeof *p);
  p->id = id;
  p->poll = poll;
  p->stratum = COHORT_NTP_STRATUM_UNSYNC;
}

void cohort_ntp_peer_request(cohort_ntp_peer_t *p, int64_t t1_ns,
                             uint64_t nonce,
                             uint8_t out[COHORT_NTP_PACKET_LEN]) {
  cohort_ntp_packet_t q = {.leap = COHORT_NTP_LEAP_ALARM,
                           .version = COHORT_NTP_VERSION,
                           .mode = COHORT_NTP_MODE_CLIENT,
                           .stratum = 0,
                           .poll = p->poll,
                           .precision = -20,
                           .transmit = nonce ? nonce : 1};
  cohort_ntp_encode(&q, out);
  p->reach = (uint8_t)(p->reach << 1);
  p->outstanding = true;
  p->xmt_sent = q.transmit;
  p->t1_ns = t1_ns;
}

/* Dispersion of a stage aged `age` ns: grows at PHI. */
static int64_t aged(int64_t disp, int64_t age) {
  if (age < 0) age = 0;
  double d = (double)disp + (double)age * PHI_PPB * 1e-9;
  return d > (double)MAXDISP_NS ? MAXDISP_NS : (int64_t)d;
}

/* RFC 5905 §10 clock_filter(): choose the minimum-delay stage, then the
 * peer dispersion (weighted sum over stages sorted by delay) and jitter
 * (RMS of offset differences to the chosen stage). */
static void filter_run(cohort_ntp_peer_t *p, int64_t now) {
  size_t order[COHORT_NTP_FILTER_LEN];
  for (size_t i = 0; i < p->n; i++) order[i] = i;
  for (size_t i = 1; i < p->n; i++) /* insertion sort by delay */
    for (size_t j = i; j > 0 && p->filter[order[j]].delay_ns <
                                    p->filter[order[j - 1]].delay_ns; j--) {
      size_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  const cohort_ntp_sample_t *best = &p->filter[order[0]];
  double disp = 0.0, jit = 0.0, w = 0.5;
  for (size_t i = 0; i < COHORT_NTP_FILTER_LEN; i++, w *= 0.5) {
    int64_t d = i < p->n ? aged(p->filter[order[i]].disp_ns, now - p->filter[order[i]].t_ns)
                         : MAXDISP_NS;
    disp += (double)d * w;
  }
  for (size_t i = 0; i < p->n; i++) {
    double e = (double)(p->filter[i].offset_ns - best->offset_ns);
    jit += e * e;
  }
  p->offset_ns = best->offset_ns;
  p->delay_ns = best->delay_ns;
  p->disp_ns = (int64_t)disp;
  p->jitter_ns = p->n > 1 ? (int64_t)sqrt(jit / (double)(p->n - 1)) : 0;
  if (p->jitter_ns < PRECISION_NS) p->jitter_ns = PRECISION_NS;
  p->update_ns = best->t_ns;
  p->update_local_ns = best->local_ns;
}

static void filter_add(cohort_ntp_peer_t *p, const cohort_ntp_sample_t *s) {
  size_t keep = p->n < COHORT_NTP_FILTER_LEN ? p->n : COHORT_NTP_FILTER_LEN - 1;
  memmove(&p->filter[1], &p->filter[0], keep * sizeof p->filter[0]);
  p->filter[0] = *s;
  p->n = keep + 1;
  filter_run(p, s->t_ns);
}

/* Validate a decoded reply against the outstanding request. */
static int check_reply(cohort_ntp_peer_t *p, const cohort_ntp_packet_t *r) {
  if (r->mode != COHORT_NTP_MODE_SERVER && r->mode != COHORT_NTP_MODE_SYMMETRIC_PASSIVE) {
    p->drops.mode++;
    return COHORT_EPROTO;
  }
  if (r->transmit == 0) {
    p->drops.zero_transmit++;
    return COHORT_EPROTO;
  }
  if (!p->outstanding) {
    p->drops.unrequested++;
    return COHORT_ESTALE;
  }
  if (r->origin != p->xmt_sent) {
    p->drops.bogus_origin++;
    return COHORT_ESTALE;
  }
  p->outstanding = false; /* this request is answered: no replays */
  if (r->stratum == 0) {
    p->drops.kod++;
    p->kods++;
    if (r->refid == COHORT_NTP_KOD_RATE) {
      if (p->poll < POLL_MAX) p->poll++;
    } else if (r->refid == COHORT_NTP_KOD_DENY || r->refid == COHORT_NTP_KOD_RSTR) {
      p->denied = true;
    }
    return COHORT_ECANCELED;
  }
  if (r->stratum > COHORT_NTP_STRATUM_MAX || r->leap == COHORT_NTP_LEAP_ALARM ||
      r->receive == 0) {
    p->drops.unsynchronized++;
    return COHORT_ESTATE;
  }
  return 0;
}

int cohort_ntp_peer_response(cohort_ntp_peer_t *p, const uint8_t *buf,
                             size_t len, int64_t t4_ns, int64_t local_ns,
                             cohort_ntp_sample_t *out) {
  cohort_ntp_packet_t r;
  int rc = cohort_ntp_decode(buf, len, &r);
  if (rc) {
    if (rc == COHORT_EVERSION) p->drops.version++;
    else p->drops.short_packet++;
    return COHORT_EPROTO;
  }
  if ((rc = check_reply(p, &r))) return rc;
  int64_t t2 = cohort_ntp_ts_to_ns(r.receive, p->t1_ns);
  int64_t t3 = cohort_ntp_ts_to_ns(r.transmit, p->t1_ns);
  cohort_ntp_sample_t s = {.t_ns = t4_ns, .local_ns = local_ns};
  cohort_ntp_offset_delay(p->t1_ns, t2, t3, t4_ns, &s.offset_ns, &s.delay_ns);
  int64_t rtt = t4_ns - p->t1_ns;
  /* A negative delay beyond the precision, or a server that held the
   * request longer than the round trip, is not a measurement. */
  if (rtt < 0 || s.delay_ns < -2 * PRECISION_NS || t3 < t2) {
    p->drops.bad_sample++;
    return COHORT_EPROTO;
  }
  if (s.delay_ns < 0) s.delay_ns = 0;
  s.disp_ns = 2 * PRECISION_NS + (int64_t)((double)rtt * PHI_PPB * 1e-9);
  p->stratum = r.stratum;
  p->leap = r.leap;
  p->refid = r.refid;
  p->root_delay_ns = cohort_ntp_short_to_ns(r.root_delay);
  p->root_disp_ns = cohort_ntp_short_to_ns(r.root_dispersion);
  p->reach |= 1;
  p->samples++;
  filter_add(p, &s);
  if (out) *out = s;
  return 0;
}

int64_t cohort_ntp_peer_root_distance(const cohort_ntp_peer_t *p,
                                      int64_t now_ns) {
  if (p->n == 0) return MAXDISP_NS;
  int64_t d = p->root_delay_ns + p->delay_ns;
  /* RFC 5905 uses MINDISP (10 ms) as a floor on the delay term, tuned for
   * the Internet; on a LAN it would hide everything, so the floor here is
   * the timestamping precision. */
  if (d < 2 * PRECISION_NS) d = 2 * PRECISION_NS;
  return d / 2 + p->root_disp_ns + aged(p->disp_ns, now_ns - p->update_ns) + p->jitter_ns;
}

void cohort_ntp_peer_adjust(cohort_ntp_peer_t *p, int64_t delta_ns) {
  /* Moving our clock forward by delta makes every offset smaller by it. */
  for (size_t i = 0; i < p->n; i++) p->filter[i].offset_ns -= delta_ns;
  if (p->n) p->offset_ns -= delta_ns;
}

void cohort_ntp_peer_clear(cohort_ntp_peer_t *p) {
  p->n = 0;
  p->offset_ns = p->delay_ns = p->jitter_ns = 0;
  p->disp_ns = MAXDISP_NS;
  p->used_ns = 0;
}
