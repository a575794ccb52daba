/*
 * src/timesync/ntp_packet.c — NTPv4 timestamps and the 48-byte header
 * (RFC 5905 §6, §7.3): conversions between Unix nanoseconds and the 32.32
 * and 16.16 fixed-point formats, with era resolution against a pivot, and
 * the big-endian encoder and validating decoder.
 *
 * Invariants: decode(encode(p)) == p for every field; the decoder reads
 * nothing beyond `len` and accepts any bytes without asserting; the
 * timestamp conversions are exact to within one unit of the finer format.
 */
#include <string.h>

#include "cohort/timesync.h"

#define FRAC_PER_S 4294967296.0 /* 2^32 */

cohort_ntp_ts_t cohort_ntp_ts_from_ns(int64_t unix_ns) {
  /* Seconds since 1900 modulo 2^32 (floor division keeps pre-1970 sane). */
  int64_t s = unix_ns / COHORT_NS_PER_S, ns = unix_ns % COHORT_NS_PER_S;
  if (ns < 0) {
    ns += COHORT_NS_PER_S;
    s -= 1;
  }
  uint64_t secs = (uint64_t)(s + COHORT_NTP_UNIX_EPOCH_S) & 0xffffffffu;
  /* frac = ns·2^32/1e9, rounded to nearest: exact in 64-bit integers. */
  uint64_t frac = (((uint64_t)ns << 32) + COHORT_NS_PER_S / 2) / COHORT_NS_PER_S;
  if (frac > 0xffffffffu) frac = 0xffffffffu;
  return secs << 32 | frac;
}

int64_t cohort_ntp_ts_to_ns(cohort_ntp_ts_t ts, int64_t pivot_ns) {
  uint64_t frac = ts & 0xffffffffu;
  int64_t ns = (int64_t)((frac * COHORT_NS_PER_S + (1ull << 31)) >> 32);
  /* The pivot's seconds since 1900; pick the era that puts ts nearest. */
  int64_t pivot_s = pivot_ns / COHORT_NS_PER_S + COHORT_NTP_UNIX_EPOCH_S;
  int64_t era_len = INT64_C(1) << 32;
  int64_t pivot_era = pivot_s >= 0 ? pivot_s / era_len : (pivot_s - era_len + 1) / era_len;
  int64_t s = pivot_era * era_len + (int64_t)(ts >> 32);
  if (s - pivot_s > era_len / 2) s -= era_len;
  else if (pivot_s - s > era_len / 2) s += era_len;
  return (s - COHORT_NTP_UNIX_EPOCH_S) * COHORT_NS_PER_S + ns;
}

uint32_t cohort_ntp_short_from_ns(int64_t ns) {
  if (ns <= 0) return 0;
  if (ns >= INT64_C(65536) * COHORT_NS_PER_S) return 0xffffffffu;
  return (uint32_t)((((uint64_t)ns << 16) + COHORT_NS_PER_S / 2) / COHORT_NS_PER_S);
}

int64_t cohort_ntp_short_to_ns(uint32_t s) {
  return (int64_t)(((uint64_t)s * COHORT_NS_PER_S + (1u << 15)) >> 16);
}

static void put32(uint8_t *b, uint32_t v) {
  b[0] = (uint8_t)(v >> 24);
  b[1] = (uint8_t)(v >> 16);
  b[2] = (uint8_t)(v >> 8);
  b[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put64(uint8_t *b, uint64_t v) {
  put32(b, (uint32_t)(v >> 32));
  put32(b + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *b) { return (uint64_t)get32(b) << 32 | get32(b + 4); }

void cohort_ntp_encode(const cohort_ntp_packet_t *p,
                       uint8_t out[COHORT_NTP_PACKET_LEN]) {
  COHORT_ASSERT(p->leap <= 3 && p->version <= 7 && p->mode <= 7);
  out[0] = (uint8_t)(p->leap << 6 | p->version << 3 | p->mode);
  out[1] = p->stratum;
  out[2] = (uint8_t)p->poll;
  out[3] = (uint8_t)p->precision;
  put32(out + 4, p->root_delay);
  put32(out + 8, p->root_dispersion);
  put32(out + 12, p->refid);
  put64(out + 16, p->reference);
  put64(out + 24, p->origin);
  put64(out + 32, p->receive);
  put64(out + 40, p->transmit);
}

int cohort_ntp_decode(const uint8_t *buf, size_t len, cohort_ntp_packet_t *out) {
  if (!buf || len < COHORT_NTP_PACKET_LEN) return COHORT_EPROTO;
  cohort_ntp_packet_t p;
  p.leap = (uint8_t)(buf[0] >> 6);
  p.version = (uint8_t)(buf[0] >> 3 & 7);
  p.mode = (uint8_t)(buf[0] & 7);
  if (p.version < 1 || p.version > COHORT_NTP_VERSION) return COHORT_EVERSION;
  p.stratum = buf[1];
  p.poll = (int8_t)buf[2];
  p.precision = (int8_t)buf[3];
  p.root_delay = get32(buf + 4);
  p.root_dispersion = get32(buf + 8);
  p.refid = get32(buf + 12);
  p.reference = get64(buf + 16);
  p.origin = get64(buf + 24);
  p.receive = get64(buf + 32);
  p.transmit = get64(buf + 40);
  *out = p;
  return 0;
}

void cohort_ntp_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                             int64_t *offset_ns, int64_t *delay_ns) {
  /* Halve each difference separately: no overflow for any era-resolved
   * timestamps, and the rounding error is at most 1 ns. */
  *offset_ns = (t2 - t1) / 2 + (t3 - t4) / 2;
  *delay_ns = (t4 - t1) - (t3 - t2);
}
