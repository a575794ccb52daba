/*
 * fuzz/ntp/fuzz_ntp.c — libFuzzer target for every path NTP and PTP bytes
 * from the network take in src/timesync: the NTP header decoder, a client
 * association with a request outstanding (the input as the reply, so the
 * origin check, kiss-o'-death and sample paths all run), the server (the
 * input as a request, rate limiter included) and the PTP decoder. The
 * first input byte seeds which origin the client expects, so the fuzzer
 * can learn to match it. Any crash, leak or UB is a bug.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cohort/timesync.h"

#define T0 (INT64_C(1767225600) * COHORT_NS_PER_S)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cohort_ntp_packet_t pkt;
  (void)cohort_ntp_decode(data, size, &pkt);

  /* Client: a request is outstanding whose transmit timestamp is taken
   * from the input's bytes 24..31 (where a reply's origin sits) when the
   * first byte is odd, so both the origin-match and mismatch paths run. */
  static cohort_ntp_peer_t peer;
  cohort_ntp_peer_init(&peer, 1, 0);
  uint8_t req[COHORT_NTP_PACKET_LEN];
  uint64_t nonce = 0x0123456789abcdefull;
  if (size >= 32 && (data[0] & 1))
    for (int i = 0; i < 8; i++) nonce = nonce << 8 | data[24 + i];
  cohort_ntp_peer_request(&peer, T0, nonce, req);
  cohort_ntp_sample_t s;
  if (cohort_ntp_peer_response(&peer, data, size, T0 + 100000, T0 + 100000, &s) == 0) {
    (void)cohort_ntp_peer_root_distance(&peer, T0 + 200000);
    cohort_ntp_system_t sys;
    (void)cohort_ntp_select(&peer, 1, T0 + 200000, &sys);
  }

  /* Server, with rate limiting on. */
  static cohort_ntp_server_t srv;
  cohort_ntp_server_init(&srv, COHORT_NS_PER_S, 2);
  cohort_ntp_server_state_t st = {.stratum = 2, .precision = -20, .refid = 1};
  uint8_t out[COHORT_NTP_PACKET_LEN];
  for (int i = 0; i < 4; i++)
    (void)cohort_ntp_server_reply(&srv, &st, 7, data, size, T0 + i, T0 + i + 10, out);

  cohort_ptp_msg_t m;
  if (cohort_ptp_decode(data, size, &m) == 0) {
    uint8_t buf[COHORT_PTP_ANNOUNCE_LEN];
    int n = cohort_ptp_encode(&m, buf, sizeof buf);
    cohort_ptp_msg_t m2;
    if (n < 0 || cohort_ptp_decode(buf, (size_t)n, &m2) || m2.seq != m.seq ||
        m2.type != m.type)
      __builtin_trap(); /* encode and decode must pair */
  }
  return 0;
}
