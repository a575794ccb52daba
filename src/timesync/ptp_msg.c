/*
 * src/timesync/ptp_msg.c — PTP-style messages and the Best Master Clock
 * comparison (IEEE 1588-2008 concepts): the 34-byte common header
 * (messageType, versionPTP, messageLength, clockIdentity, sequenceId),
 * a 10-byte timestamp body (48-bit seconds, 32-bit ns), Delay_Resp's
 * requesting identity and Announce's grandmaster dataset.
 *
 * Invariants: decode(encode(m)) == m; the decoder checks the length field
 * against the bytes and each type's exact size, the version and the
 * nanoseconds field (< 1e9), and never reads beyond `len`.
 */
#include <string.h>

#include "cohort/timesync.h"

#define HDR 34
#define LEN_PLAIN 44      /* Sync, Follow_Up, Delay_Req */
#define LEN_DELAY_RESP 54 /* + requestingPortIdentity (10) */

static size_t type_len(uint8_t type) {
  switch (type) {
  case COHORT_PTP_SYNC:
  case COHORT_PTP_DELAY_REQ:
  case COHORT_PTP_FOLLOW_UP: return LEN_PLAIN;
  case COHORT_PTP_DELAY_RESP: return LEN_DELAY_RESP;
  case COHORT_PTP_ANNOUNCE: return COHORT_PTP_ANNOUNCE_LEN;
  default: return 0;
  }
}

static void put(uint8_t *b, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--, v >>= 8) b[i] = (uint8_t)v;
}

static uint64_t get(const uint8_t *b, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | b[i];
  return v;
}

static void put_ts(uint8_t *b, int64_t ns) {
  if (ns < 0) ns = 0;
  put(b, (uint64_t)(ns / COHORT_NS_PER_S), 6);
  put(b + 6, (uint64_t)(ns % COHORT_NS_PER_S), 4);
}

int cohort_ptp_encode(const cohort_ptp_msg_t *m, uint8_t *buf, size_t cap) {
  size_t len = type_len(m->type);
  if (!len) return COHORT_EINVAL;
  if (cap < len) return COHORT_EFULL;
  memset(buf, 0, len);
  buf[0] = m->type & 0x0f;
  buf[1] = COHORT_PTP_VERSION;
  put(buf + 2, len, 2);
  buf[6] = m->type == COHORT_PTP_SYNC ? 0x02 : 0; /* twoStepFlag */
  put(buf + 20, m->source, 8);
  put(buf + 28, 1, 2); /* portNumber */
  put(buf + 30, m->seq, 2);
  put_ts(buf + HDR, m->ts_ns);
  if (m->type == COHORT_PTP_DELAY_RESP) {
    put(buf + 44, m->requester, 8);
    put(buf + 52, 1, 2);
  } else if (m->type == COHORT_PTP_ANNOUNCE) {
    const cohort_ptp_clock_quality_t *q = &m->quality;
    buf[47] = q->priority1;
    buf[48] = q->clock_class;
    buf[49] = q->accuracy;
    put(buf + 50, q->variance, 2);
    buf[52] = q->priority2;
    put(buf + 53, q->identity, 8);
  }
  return (int)len;
}

int cohort_ptp_decode(const uint8_t *buf, size_t len, cohort_ptp_msg_t *out) {
  if (!buf || len < HDR) return COHORT_EPROTO;
  cohort_ptp_msg_t m;
  memset(&m, 0, sizeof m);
  m.type = buf[0] & 0x0f;
  m.version = buf[1] & 0x0f;
  if (m.version != COHORT_PTP_VERSION) return COHORT_EVERSION;
  size_t want = type_len(m.type);
  if (!want) return COHORT_EUNKNOWN;
  if (len != want || get(buf + 2, 2) != want) return COHORT_EPROTO;
  m.source = get(buf + 20, 8);
  m.seq = (uint16_t)get(buf + 30, 2);
  uint64_t s = get(buf + HDR, 6), ns = get(buf + HDR + 6, 4);
  if (ns >= (uint64_t)COHORT_NS_PER_S || s > (uint64_t)INT64_MAX / COHORT_NS_PER_S - 1)
    return COHORT_EPROTO;
  m.ts_ns = (int64_t)s * COHORT_NS_PER_S + (int64_t)ns;
  if (m.type == COHORT_PTP_DELAY_RESP) {
    m.requester = get(buf + 44, 8);
  } else if (m.type == COHORT_PTP_ANNOUNCE) {
    m.quality = (cohort_ptp_clock_quality_t){.priority1 = buf[47], .clock_class = buf[48],
                                             .accuracy = buf[49],
                                             .variance = (uint16_t)get(buf + 50, 2),
                                             .priority2 = buf[52],
                                             .identity = get(buf + 53, 8)};
  }
  *out = m;
  return 0;
}

int cohort_ptp_bmca_compare(const cohort_ptp_clock_quality_t *a,
                            const cohort_ptp_clock_quality_t *b) {
  /* IEEE 1588 §9.3.4 dataset comparison, in order; lower wins. */
  if (a->priority1 != b->priority1) return a->priority1 < b->priority1 ? -1 : 1;
  if (a->clock_class != b->clock_class) return a->clock_class < b->clock_class ? -1 : 1;
  if (a->accuracy != b->accuracy) return a->accuracy < b->accuracy ? -1 : 1;
  if (a->variance != b->variance) return a->variance < b->variance ? -1 : 1;
  if (a->priority2 != b->priority2) return a->priority2 < b->priority2 ? -1 : 1;
  if (a->identity != b->identity) return a->identity < b->identity ? -1 : 1;
  return 0;
}
