/*
 * src/timesync/ntp_select.c — the NTP system process (RFC 5905 §11.2):
 * the intersection algorithm (Marzullo, as refined for NTP) that finds the
 * largest set of peers whose correctness intervals [θ − λ, θ + λ] overlap
 * and rejects the rest as falsetickers, requiring a majority; clustering,
 * which prunes outliers by selection jitter down to NMIN survivors; and
 * combining, an average of the survivors' offsets weighted by 1/λ.
 *
 * Invariants: the truechimers must be a majority of all (not denied) peers, else
 * nothing is selected; the output is written in full on every call (synced
 * false on failure); at most COHORT_NTP_PEERS_MAX peers, all on the stack.
 */
#include <math.h>
#include <string.h>

#include "cohort/timesync.h"

#define MAXDIST_NS (1500 * COHORT_NS_PER_MS) /* RFC 5905 MAXDIST, 1.5 s */
#define NMIN 3                               /* survivors kept at least */

typedef struct endpoint {
  int64_t edge;
  int type; /* -1 low, 0 mid, +1 high */
} endpoint_t;

typedef struct cand {
  size_t idx;
  int64_t offset, dist, jitter;
  double metric;
} cand_t;

static bool usable(const cohort_ntp_peer_t *p, int64_t now, int64_t *dist) {
  if (p->n == 0 || p->denied || p->stratum == 0 || p->stratum > COHORT_NTP_STRATUM_MAX)
    return false;
  *dist = cohort_ntp_peer_root_distance(p, now);
  return *dist < MAXDIST_NS;
}

static void sort_endpoints(endpoint_t *e, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && (e[j].edge < e[j - 1].edge ||
                                 (e[j].edge == e[j - 1].edge && e[j].type < e[j - 1].type));
         j--) {
      endpoint_t t = e[j];
      e[j] = e[j - 1];
      e[j - 1] = t;
    }
}

/* The intersection interval [*low, *high] agreed by n − allow candidates,
 * for the smallest allow < n/2; false if there is no majority. */
static bool intersect(const cand_t *c, size_t n, int64_t *low, int64_t *high) {
  endpoint_t e[3 * COHORT_NTP_PEERS_MAX];
  for (size_t i = 0; i < n; i++) {
    e[3 * i] = (endpoint_t){c[i].offset - c[i].dist, -1};
    e[3 * i + 1] = (endpoint_t){c[i].offset, 0};
    e[3 * i + 2] = (endpoint_t){c[i].offset + c[i].dist, +1};
  }
  size_t m = 3 * n;
  sort_endpoints(e, m);
  for (size_t allow = 0; 2 * allow < n; allow++) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    size_t found = 0;
    long chime = 0, need = (long)(n - allow);
    for (size_t i = 0; i < m; i++) {
      chime -= e[i].type;
      if (chime >= need) { lo = e[i].edge; break; }
      if (e[i].type == 0) found++;
    }
    chime = 0;
    for (size_t i = m; i-- > 0;) {
      chime += e[i].type;
      if (chime >= need) { hi = e[i].edge; break; }
      if (e[i].type == 0) found++;
    }
    if (found > allow) continue;
    if (hi >= lo) {
      *low = lo;
      *high = hi;
      return true;
    }
  }
  return false;
}

/* RFC 5905 §11.2.2: drop the survivor with the largest selection jitter
 * while it exceeds the smallest peer jitter and more than NMIN remain. */
static size_t cluster(cand_t *c, size_t n) {
  while (n > NMIN) {
    double max_sel = -1.0, min_peer = INFINITY;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
      double s = 0.0;
      for (size_t j = 0; j < n; j++) {
        double d = (double)(c[j].offset - c[i].offset);
        s += d * d;
      }
      s = sqrt(s / (double)(n - 1));
      if (s > max_sel) {
        max_sel = s;
        worst = i;
      }
      if ((double)c[i].jitter < min_peer) min_peer = (double)c[i].jitter;
    }
    if (max_sel <= min_peer) break;
    memmove(&c[worst], &c[worst + 1], (n - worst - 1) * sizeof c[0]);
    n--;
  }
  return n;
}

static void combine(const cohort_ntp_peer_t *peers, const cand_t *c, size_t n,
                    int64_t now, cohort_ntp_system_t *out) {
  double y = 0.0, z = 0.0, w = 0.0;
  for (size_t i = 0; i < n; i++) {
    double inv = 1.0 / (double)(c[i].dist > 0 ? c[i].dist : 1);
    y += inv;
    z += (double)c[i].offset * inv;
    double d = (double)(c[i].offset - c[0].offset);
    w += d * d * inv;
  }
  const cohort_ntp_peer_t *sp = &peers[c[0].idx];
  out->sys_peer = c[0].idx;
  out->offset_ns = (int64_t)llround(z / y);
  out->jitter_ns = (int64_t)sqrt(w / y + (double)sp->jitter_ns * (double)sp->jitter_ns);
  out->stratum = (uint8_t)(sp->stratum + 1);
  out->refid = sp->refid;
  out->root_delay_ns = sp->root_delay_ns + sp->delay_ns;
  int64_t off = sp->offset_ns < 0 ? -sp->offset_ns : sp->offset_ns;
  out->root_disp_ns = cohort_ntp_peer_root_distance(sp, now) - out->root_delay_ns / 2 + off;
  if (out->root_disp_ns < 0) out->root_disp_ns = 0;
}

int cohort_ntp_select(const cohort_ntp_peer_t *peers, size_t n, int64_t now_ns,
                      cohort_ntp_system_t *out) {
  cohort_ntp_system_t r;
  memset(&r, 0, sizeof r);
  r.stratum = COHORT_NTP_STRATUM_UNSYNC;
  COHORT_ASSERT(n <= COHORT_NTP_PEERS_MAX);
  cand_t c[COHORT_NTP_PEERS_MAX];
  size_t nc = 0, voters = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t dist;
    voters += !peers[i].denied;
    if (!usable(&peers[i], now_ns, &dist)) continue;
    c[nc++] = (cand_t){.idx = i, .offset = peers[i].offset_ns, .dist = dist,
                       .jitter = peers[i].jitter_ns,
                       .metric = (double)peers[i].stratum * (double)MAXDIST_NS + (double)dist};
  }
  int64_t low, high;
  if (nc == 0 || !intersect(c, nc, &low, &high)) {
    *out = r;
    return COHORT_ENOTFOUND;
  }
  size_t ns = 0;
  for (size_t i = 0; i < nc; i++) {
    if (c[i].offset >= low && c[i].offset <= high) c[ns++] = c[i];
    else r.falseticker[c[i].idx] = true;
  }
  /* The truechimers must be a majority of every server we poll, not only
   * of those with enough samples: else the first server to fill its
   * filter would win alone, falseticker or not. */
  if (ns == 0 || 2 * ns <= voters) {
    *out = r;
    return COHORT_ENOTFOUND;
  }
  for (size_t i = 1; i < ns; i++) /* sort survivors by metric */
    for (size_t j = i; j > 0 && c[j].metric < c[j - 1].metric; j--) {
      cand_t t = c[j];
      c[j] = c[j - 1];
      c[j - 1] = t;
    }
  r.truechimers = ns;
  r.survivors = cluster(c, ns);
  combine(peers, c, r.survivors, now_ns, &r);
  r.synced = true;
  *out = r;
  return 0;
}
