/*
 * src/timesync/ntp_server.c — the NTP server side (RFC 5905 §9, §15): a
 * reply from the server's own synchronization state (stratum, reference
 * id, root delay and dispersion), the client's transmit timestamp echoed
 * as origin, and per-client rate limiting with a token bucket that answers
 * an abusive client with one RATE kiss-o'-death and then silence.
 *
 * Invariants: the rate table never exceeds COHORT_NTP_RATE_CLIENTS_MAX
 * (the idlest entry is recycled); a request is answered only if it decodes
 * as a client (or symmetric active) request with a non-zero transmit
 * timestamp; every dropped request is counted under its reason.
 */
#include <string.h>

#include "cohort/timesync.h"

void cohort_ntp_server_init(cohort_ntp_server_t *s, int64_t rate_interval_ns,
                            uint32_t rate_burst) {
  memset(s, 0, sizeof *s);
  s->rate_interval_ns = rate_interval_ns > 0 ? rate_interval_ns : 0;
  s->rate_burst = rate_burst ? rate_burst : 1;
}

static cohort_ntp_rate_entry_t *rate_entry(cohort_ntp_server_t *s, uint64_t key,
                                           int64_t now) {
  size_t idlest = 0;
  for (size_t i = 0; i < s->clients_len; i++) {
    if (s->clients[i].client == key) return &s->clients[i];
    if (s->clients[i].last_ns < s->clients[idlest].last_ns) idlest = i;
  }
  size_t at = s->clients_len < COHORT_NTP_RATE_CLIENTS_MAX ? s->clients_len++ : idlest;
  int64_t full = s->rate_interval_ns * (int64_t)s->rate_burst;
  s->clients[at] = (cohort_ntp_rate_entry_t){.client = key, .tokens_ns = full,
                                             .last_ns = now};
  return &s->clients[at];
}

/* 1 = answer, 0 = send a RATE kiss, -1 = drop silently. */
static int rate_check(cohort_ntp_server_t *s, uint64_t key, int64_t now) {
  if (s->rate_interval_ns == 0) return 1;
  cohort_ntp_rate_entry_t *e = rate_entry(s, key, now);
  int64_t full = s->rate_interval_ns * (int64_t)s->rate_burst;
  int64_t gained = now - e->last_ns;
  if (gained > 0) {
    e->tokens_ns = gained >= full - e->tokens_ns ? full : e->tokens_ns + gained;
    e->last_ns = now;
  }
  if (e->tokens_ns >= s->rate_interval_ns) {
    e->tokens_ns -= s->rate_interval_ns;
    e->kod_sent = false;
    return 1;
  }
  if (e->kod_sent) return -1;
  e->kod_sent = true;
  return 0;
}

int cohort_ntp_server_reply(cohort_ntp_server_t *s,
                            const cohort_ntp_server_state_t *st,
                            uint64_t client_key, const uint8_t *req,
                            size_t len, int64_t t2_ns, int64_t t3_ns,
                            uint8_t out[COHORT_NTP_PACKET_LEN]) {
  cohort_ntp_packet_t q;
  int rc = cohort_ntp_decode(req, len, &q);
  if (rc) {
    if (rc == COHORT_EVERSION) s->drops.version++;
    else s->drops.short_packet++;
    return COHORT_EPROTO;
  }
  if (q.mode != COHORT_NTP_MODE_CLIENT && q.mode != COHORT_NTP_MODE_SYMMETRIC_ACTIVE) {
    s->drops.mode++;
    return COHORT_EPROTO;
  }
  if (q.transmit == 0) {
    s->drops.zero_transmit++;
    return COHORT_EPROTO;
  }
  int verdict = rate_check(s, client_key, t2_ns);
  cohort_ntp_packet_t r = {
      .leap = st->stratum > COHORT_NTP_STRATUM_MAX ? COHORT_NTP_LEAP_ALARM : st->leap,
      .version = q.version, /* answer in the client's version (RFC 5905) */
      .mode = q.mode == COHORT_NTP_MODE_CLIENT ? COHORT_NTP_MODE_SERVER
                                               : COHORT_NTP_MODE_SYMMETRIC_PASSIVE,
      .stratum = st->stratum > COHORT_NTP_STRATUM_MAX ? COHORT_NTP_STRATUM_UNSYNC
                                                      : st->stratum,
      .poll = q.poll,
      .precision = st->precision,
      .root_delay = cohort_ntp_short_from_ns(st->root_delay_ns),
      .root_dispersion = cohort_ntp_short_from_ns(st->root_disp_ns),
      .refid = st->refid,
      .reference = st->reference_ns ? cohort_ntp_ts_from_ns(st->reference_ns) : 0,
      .origin = q.transmit,
      .receive = cohort_ntp_ts_from_ns(t2_ns),
      .transmit = cohort_ntp_ts_from_ns(t3_ns),
  };
  if (verdict < 0) {
    s->drops.rate_limited++;
    return 0;
  }
  if (verdict == 0) { /* kiss-o'-death: stratum 0, refid RATE */
    s->drops.rate_limited++;
    s->kods_sent++;
    r.stratum = 0;
    r.leap = COHORT_NTP_LEAP_ALARM;
    r.refid = COHORT_NTP_KOD_RATE;
    r.receive = r.transmit = q.transmit; /* no time for a client that abuses */
  } else {
    s->served++;
  }
  if (r.transmit == 0) r.transmit = 1; /* never send a zero transmit */
  cohort_ntp_encode(&r, out);
  return COHORT_NTP_PACKET_LEN;
}
