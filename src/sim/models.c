/*
 * src/sim/models.c — the simulator's pure models: PRNG streams (splitmix64
 * per link, xoshiro256** per node), latency distributions (normal and
 * log-normal by the ziggurat, tables generated bit-exact into
 * ziggurat_table.h) and the per-node clock C(t) = αt + β with drift, steps
 * and slews.
 *
 * Invariants: nothing here keeps hidden state or reads the environment;
 * the clock arithmetic is exact 128-bit integer arithmetic, so a clock
 * reading is the same on every machine and mono_inverse is the true
 * inverse (the smallest t reaching a deadline, never early).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"
#include "ziggurat_table.h"

/* ---- PRNG streams ------------------------------------------------------------ */

#define GOLDEN COHORT_PRNG_GOLDEN

uint64_t sim_stream_seed(uint64_t seed, uint32_t concern, uint64_t a,
                         uint64_t b) {
  uint64_t h = sim_mix64(seed + GOLDEN);
  h = sim_mix64(h ^ ((uint64_t)concern * GOLDEN));
  h = sim_mix64(h + a * UINT64_C(0xd6e8feb86659fd93));
  h = sim_mix64(h + b * UINT64_C(0xa0761d6478bd642f));
  return h;
}

uint64_t sim_below(uint64_t *state, uint64_t bound) {
  COHORT_ASSERT(bound > 0);
  for (;;) {
    unsigned __int128 m = (unsigned __int128)sim_splitmix_next(state) * bound;
    uint64_t low = (uint64_t)m;
    if (low >= bound || low >= (-bound) % bound) return (uint64_t)(m >> 64);
  }
}

/* ---- distributions ------------------------------------------------------------ */

typedef struct dist_form {
  const char *name;
  sim_dist_kind_t kind;
  const char *args[3]; /* argument names in positional order */
  int required;        /* how many of them must be given */
} dist_form_t;

static const dist_form_t forms[] = {
    {"const", SIM_DIST_CONST, {"value", NULL, NULL}, 1},
    {"uniform", SIM_DIST_UNIFORM, {"min", "max", NULL}, 2},
    {"exp", SIM_DIST_EXP, {"mean", NULL, NULL}, 1},
    {"exponential", SIM_DIST_EXP, {"mean", NULL, NULL}, 1},
    {"normal", SIM_DIST_NORMAL, {"mean", "sd", NULL}, 2},
    {"lognormal", SIM_DIST_LOGNORMAL, {"median", "sigma", NULL}, 2},
    {"pareto", SIM_DIST_PARETO, {"min", "alpha", "max"}, 2},
};

int sim_parse_span(const char *s, int64_t *out_ns) {
  int64_t v;
  if (cohort_parse_duration(s, &v) || v > COHORT_SIM_TIME_MAX_NS) return COHORT_EINVAL;
  *out_ns = v;
  return 0;
}

/* Store argument `idx` of form f (sigma and alpha are numbers, the rest
 * durations). */
static int dist_set_arg(sim_dist_t *d, const dist_form_t *f, int idx,
                        const char *v, char *err, size_t errcap) {
  const char *an = f->args[idx];
  if (!strcmp(an, "sigma") || !strcmp(an, "alpha")) {
    double x;
    if (cohort_parse_double(v, &x) || !(x > 0) || x > 100) {
      snprintf(err, errcap, "%s: %s: not a positive number: '%s'", f->name, an, v);
      return COHORT_EINVAL;
    }
    d->x = x;
    return 0;
  }
  int64_t ns;
  if (sim_parse_span(v, &ns)) {
    snprintf(err, errcap, "%s: %s: not a duration of at most 10 years (e.g. 5ms): '%s'",
             f->name, an, v);
    return COHORT_EINVAL;
  }
  if (idx == 0) d->a = ns;
  else d->b = ns;
  return 0;
}

static int dist_check(const sim_dist_t *d, const dist_form_t *f, char *err,
                      size_t errcap) {
  if (d->kind == SIM_DIST_UNIFORM && d->b < d->a) {
    snprintf(err, errcap, "uniform: max is below min");
    return COHORT_EINVAL;
  }
  if (d->kind == SIM_DIST_PARETO && (d->a <= 0 || d->b < d->a)) {
    snprintf(err, errcap, "pareto: need 0 < min <= max");
    return COHORT_EINVAL;
  }
  if (d->kind == SIM_DIST_LOGNORMAL && d->a <= 0) {
    snprintf(err, errcap, "%s: median must be positive", f->name);
    return COHORT_EINVAL;
  }
  return 0;
}

/* Parse "a,b" or "name=a,name=b" (mixed allowed) inside the parentheses. */
static int dist_parse_args(char *args, sim_dist_t *d, const dist_form_t *f,
                           char *err, size_t errcap) {
  bool given[3] = {false, false, false};
  int pos = 0;
  for (char *save = NULL, *a = strtok_r(args, ",", &save); a;
       a = strtok_r(NULL, ",", &save)) {
    while (*a == ' ') a++;
    char *eq = strchr(a, '=');
    int idx = -1;
    const char *v = a;
    if (eq) {
      *eq = '\0';
      v = eq + 1;
      for (int i = 0; i < 3 && f->args[i]; i++)
        if (!strcmp(f->args[i], a)) idx = i;
      if (idx < 0) {
        snprintf(err, errcap, "%s: unknown argument '%s'", f->name, a);
        return COHORT_EINVAL;
      }
    } else {
      idx = pos++;
      if (idx >= 3 || !f->args[idx]) {
        snprintf(err, errcap, "%s: too many arguments", f->name);
        return COHORT_EINVAL;
      }
    }
    if (given[idx]) {
      snprintf(err, errcap, "%s: %s given twice", f->name, f->args[idx]);
      return COHORT_EINVAL;
    }
    given[idx] = true;
    int rc = dist_set_arg(d, f, idx, v, err, errcap);
    if (rc) return rc;
  }
  for (int i = 0; i < f->required; i++)
    if (!given[i]) {
      snprintf(err, errcap, "%s: missing argument '%s'", f->name, f->args[i]);
      return COHORT_EINVAL;
    }
  return dist_check(d, f, err, errcap);
}

int sim_dist_parse(const char *s, sim_dist_t *out, char *err, size_t errcap) {
  sim_dist_t d;
  memset(&d, 0, sizeof d);
  const char *open = strchr(s, '(');
  if (!open) {
    if (sim_parse_span(s, &d.a)) {
      snprintf(err, errcap, "not a distribution or a duration of at most 10 years: '%s'", s);
      return COHORT_EINVAL;
    }
    *out = d;
    return 0;
  }
  size_t nlen = (size_t)(open - s), alen = strlen(open + 1);
  if (alen == 0 || open[alen] != ')' || alen > 200) {
    snprintf(err, errcap, "distribution '%s': missing ')'", s);
    return COHORT_EINVAL;
  }
  const dist_form_t *f = NULL;
  for (size_t i = 0; i < COHORT_ARRAY_LEN(forms); i++)
    if (strlen(forms[i].name) == nlen && !strncmp(forms[i].name, s, nlen)) f = &forms[i];
  if (!f) {
    snprintf(err, errcap,
             "unknown distribution '%.*s' (const, uniform, exp, normal, lognormal, pareto)",
             (int)nlen, s);
    return COHORT_EINVAL;
  }
  char args[208];
  memcpy(args, open + 1, alen - 1);
  args[alen - 1] = '\0';
  d.kind = f->kind;
  if (f->kind == SIM_DIST_PARETO) d.b = 10 * COHORT_NS_PER_S; /* default cap */
  int rc = dist_parse_args(args, &d, f, err, errcap);
  if (rc) return rc;
  *out = d;
  return 0;
}

/* A sample as ns in [0, COHORT_SIM_TIME_MAX_NS]: heavy tails stay summable. */
static int64_t clamp_ns(double v) {
  if (!(v > 0)) return 0;
  if (v > (double)COHORT_SIM_TIME_MAX_NS) return COHORT_SIM_TIME_MAX_NS;
  return (int64_t)llround(v);
}

/* The tail beyond ZIG_R (Marsaglia 1964): x = R + e1 / R with e1, e2
 * exponential, accepted when 2·e2 > (e1 / R)²; about one try in 1.1. */
static double normal_tail(uint64_t *rng, bool negative) {
  for (;;) {
    double e1 = -log(1.0 - sim_unit(sim_splitmix_next(rng))) / ZIG_R;
    double e2 = -log(1.0 - sim_unit(sim_splitmix_next(rng)));
    if (2.0 * e2 > e1 * e1) return negative ? -(ZIG_R + e1) : ZIG_R + e1;
  }
}

/* Standard normal by the ziggurat (Marsaglia and Tsang 2000; tables in
 * ziggurat_table.h): one 64-bit draw picks a layer (low 8 bits) and a
 * signed uniform (high 53 bits); 98.8% of draws return after one multiply
 * and one comparison, no log, exp or sqrt. The rest test the wedge with
 * exp, or sample the tail. */
double sim_std_normal(uint64_t *rng) {
  for (;;) {
    uint64_t bits = sim_splitmix_next(rng);
    unsigned i = (unsigned)(bits & 0xff);
    double u = 2.0 * sim_unit(bits) - 1.0; /* bits 11..63: [-1, 1) */
    double x = u * ZIG_X[i];
    if (fabs(x) < ZIG_X[i + 1]) return x;
    if (i == 0) return normal_tail(rng, u < 0);
    double y = ZIG_F[i + 1] + (ZIG_F[i] - ZIG_F[i + 1]) * sim_unit(sim_splitmix_next(rng));
    if (y < exp(-0.5 * x * x)) return x;
  }
}

int64_t sim_dist_sample(const sim_dist_t *d, uint64_t *rng) {
  switch (d->kind) {
  case SIM_DIST_CONST:
    return d->a;
  case SIM_DIST_UNIFORM:
    if (d->b == d->a) return d->a;
    return d->a + (int64_t)sim_below(rng, (uint64_t)(d->b - d->a) + 1);
  case SIM_DIST_EXP:
    return clamp_ns(-(double)d->a * log(1.0 - sim_unit(sim_splitmix_next(rng))));
  case SIM_DIST_NORMAL:
    return clamp_ns((double)d->a + (double)d->b * sim_std_normal(rng));
  case SIM_DIST_LOGNORMAL:
    return clamp_ns((double)d->a * exp(d->x * sim_std_normal(rng)));
  case SIM_DIST_PARETO: {
    double u = 1.0 - sim_unit(sim_splitmix_next(rng)); /* (0, 1] */
    double v = (double)d->a * pow(u, -1.0 / d->x);
    return v > (double)d->b ? d->b : clamp_ns(v);
  }
  }
  return d->a;
}

double sim_dist_mean(const sim_dist_t *d) {
  switch (d->kind) {
  case SIM_DIST_CONST:
  case SIM_DIST_EXP:
  case SIM_DIST_NORMAL:
    return (double)d->a; /* NORMAL: before clamping at 0 */
  case SIM_DIST_UNIFORM:
    return ((double)d->a + (double)d->b) / 2.0;
  case SIM_DIST_LOGNORMAL:
    return (double)d->a * exp(d->x * d->x / 2.0);
  case SIM_DIST_PARETO: /* uncapped mean; infinite for alpha <= 1 */
    return d->x > 1 ? d->x * (double)d->a / (d->x - 1.0) : INFINITY;
  }
  return 0;
}

void sim_net_merge(sim_net_t *base, const sim_net_t *over) {
  if (over->set & SIM_NET_LATENCY) base->latency = over->latency;
  if (over->set & SIM_NET_JITTER) base->jitter_ns = over->jitter_ns;
  if (over->set & SIM_NET_LOSS) base->loss = over->loss;
  if (over->set & SIM_NET_DUP) base->dup = over->dup;
  if (over->set & SIM_NET_REORDER) base->reorder = over->reorder;
  if (over->set & SIM_NET_REORDER_DELAY) base->reorder_ns = over->reorder_ns;
  if (over->set & SIM_NET_REPLAY) base->replay = over->replay;
  if (over->set & SIM_NET_REPLAY_DELAY) base->replay_delay = over->replay_delay;
  if (over->set & SIM_NET_CORRUPT) base->corrupt = over->corrupt;
  if (over->set & SIM_NET_FORGE) base->forge = over->forge;
  base->set |= over->set;
}

/* ---- clocks --------------------------------------------------------------------- */

#define MONO_ORIGIN_NS (INT64_C(1000) * COHORT_NS_PER_S) /* "up 1000 s" */

/* v + d·(1 + ppb/1e9), exactly, rounding the drift term toward -inf. */
static int64_t scale(int64_t d, int64_t ppb) {
  if (ppb == 0) return d; /* the common case: skip the 128-bit division */
  __int128 extra = (__int128)d * ppb;
  __int128 q = extra / 1000000000;
  if (extra % 1000000000 < 0) q -= 1;
  return d + (int64_t)q;
}

void sim_clock_init(sim_clock_t *c, int64_t drift_ppb, int64_t offset_ns) {
  COHORT_ASSERT(drift_ppb > -1000000000 && drift_ppb < 1000000000);
  memset(c, 0, sizeof *c);
  c->drift_ppb = drift_ppb;
  c->mono0 = MONO_ORIGIN_NS;
  c->base_t = 0;
  c->base_v = COHORT_SIM_EPOCH_NS + offset_ns;
}

int64_t sim_clock_mono(const sim_clock_t *c, int64_t t) {
  return c->mono0 + scale(t, c->drift_ppb);
}

int64_t sim_clock_wall(const sim_clock_t *c, int64_t t) {
  return c->base_v + scale(t - c->base_t, c->drift_ppb + c->slew_ppb);
}

int64_t sim_clock_mono_inverse(const sim_clock_t *c, int64_t deadline) {
  if (deadline <= c->mono0) return 0;
  __int128 d = (__int128)(deadline - c->mono0) * 1000000000;
  int64_t t = (int64_t)(d / (1000000000 + c->drift_ppb));
  while (sim_clock_mono(c, t) < deadline) t++;
  while (t > 0 && sim_clock_mono(c, t - 1) >= deadline) t--;
  return t;
}

static void rebase(sim_clock_t *c, int64_t t) {
  c->base_v = sim_clock_wall(c, t);
  c->base_t = t;
}

/* Steps saturate at ±2^62: a scenario may stack thousands of them, and the
 * wall reading adds at most a few COHORT_SIM_TIME_MAX_NS to base_v. */
#define WALL_BASE_MAX (INT64_C(1) << 62)

void sim_clock_step(sim_clock_t *c, int64_t t, int64_t by_ns) {
  COHORT_ASSERT(by_ns >= -WALL_BASE_MAX && by_ns <= WALL_BASE_MAX);
  rebase(c, t);
  int64_t v = c->base_v + by_ns; /* both within ±2^62: no overflow */
  c->base_v = v > WALL_BASE_MAX ? WALL_BASE_MAX : v < -WALL_BASE_MAX ? -WALL_BASE_MAX : v;
}

void sim_clock_slew(sim_clock_t *c, int64_t t, int64_t rate_ppb) {
  rebase(c, t);
  c->slew_ppb += rate_ppb;
  /* Keep the clock running forward, and at most twice as fast as true
   * time, whatever slews are stacked. */
  if (c->drift_ppb + c->slew_ppb <= -1000000000) c->slew_ppb = -999999999 - c->drift_ppb;
  if (c->drift_ppb + c->slew_ppb > 1000000000) c->slew_ppb = 1000000000 - c->drift_ppb;
}
