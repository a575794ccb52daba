/*
 * src/detect/config.c — failure detector configuration: defaults, checks,
 * key=value parameters, and the "fd" protocol factory used by scenarios and
 * `cohort node`.
 *
 * Invariants: a configuration that passed cohort_fd_config_check has every
 * duration in (0, 1 day] (pause may be 0), so deadlines computed from them
 * cannot overflow; cohort_fd_config_parse writes its output only when the
 * whole parameter list is valid.
 */
#include <math.h>
#include <string.h>

#include "cohort/detect.h"

/* Longest duration accepted for any parameter: far beyond any useful
 * detector, and small enough that now + duration never overflows. */
#define FD_DURATION_MAX (24 * 3600 * COHORT_NS_PER_S)

static const char WHO[] = "fd";

void cohort_fd_config_default(cohort_fd_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->mode = COHORT_FD_PUSH;
  cfg->detector = COHORT_FD_PHI;
  cfg->interval_ns = 100 * COHORT_NS_PER_MS;
  cfg->threshold = 8.0;
  cfg->timeout_ns = COHORT_NS_PER_S;
  cfg->window = COHORT_FD_WINDOW_MAX;
  cfg->min_stddev_ns = cfg->interval_ns / 10;
  cfg->pause_ns = cfg->interval_ns;
  cfg->check_ns = cfg->interval_ns / 4;
}

static int fail(char *err, size_t errcap, const char *key, const char *why) {
  if (err && errcap) cohort_fmt(err, errcap, "%s: %s: %s", WHO, key, why);
  return COHORT_EINVAL;
}

static bool duration_ok(int64_t ns, bool zero_ok) {
  return (zero_ok ? ns >= 0 : ns > 0) && ns <= FD_DURATION_MAX;
}

int cohort_fd_config_check(const cohort_fd_config_t *c, char *err, size_t errcap) {
  if (c->mode != COHORT_FD_PUSH && c->mode != COHORT_FD_PULL)
    return fail(err, errcap, "mode", "must be push or pull");
  if (c->detector != COHORT_FD_PHI && c->detector != COHORT_FD_FIXED)
    return fail(err, errcap, "detector", "must be phi or fixed");
  if (!duration_ok(c->interval_ns, false))
    return fail(err, errcap, "interval", "must be in (0, 1d]");
  if (!(c->threshold > 0.0) || !(c->threshold <= COHORT_FD_PHI_MAX))
    return fail(err, errcap, "threshold", "must be in (0, 1000]");
  if (!duration_ok(c->timeout_ns, false))
    return fail(err, errcap, "timeout", "must be in (0, 1d]");
  if (c->window < 2 || c->window > COHORT_FD_WINDOW_MAX)
    return fail(err, errcap, "window", "must be in 2..COHORT_FD_WINDOW_MAX (1000)");
  if (!duration_ok(c->min_stddev_ns, false))
    return fail(err, errcap, "min_stddev", "must be in (0, 1d]");
  if (!duration_ok(c->pause_ns, true))
    return fail(err, errcap, "pause", "must be in [0, 1d]");
  if (!duration_ok(c->check_ns, false))
    return fail(err, errcap, "check", "must be in (0, 1d]");
  return 0;
}

static int parse_enum(const cohort_param_t *params, size_t n, const char *key,
                      const char *a, const char *b, int *out, char *err, size_t errcap) {
  const char *v = cohort_param_get(params, n, key);
  if (!v) return 0;
  if (!strcmp(v, a)) *out = 0;
  else if (!strcmp(v, b)) *out = 1;
  else {
    if (err && errcap)
      cohort_fmt(err, errcap, "%s: %s: must be %s or %s: '%s'", WHO, key, a, b, v);
    return COHORT_EINVAL;
  }
  return 0;
}

int cohort_fd_config_parse(cohort_fd_config_t *cfg, const cohort_param_t *params,
                           size_t n, char *err, size_t errcap) {
  static const char *const known[] = {"mode",       "interval", "detector", "threshold",
                                      "timeout",    "window",   "min_stddev", "pause",
                                      "check",      NULL};
  int rc = cohort_param_check_known(params, n, known, WHO, err, errcap);
  if (rc < 0) return rc;
  cohort_fd_config_t c = *cfg;
  int mode = (int)c.mode, detector = (int)c.detector;
  uint64_t window = c.window;
  bool has_interval = cohort_param_get(params, n, "interval") != NULL;
  if ((rc = parse_enum(params, n, "mode", "push", "pull", &mode, err, errcap)) ||
      (rc = parse_enum(params, n, "detector", "phi", "fixed", &detector, err, errcap)) ||
      (rc = cohort_param_duration(params, n, "interval", &c.interval_ns, WHO, err, errcap)))
    return rc;
  if (has_interval) { /* the derived defaults follow the interval */
    c.min_stddev_ns = c.interval_ns / 10 > 0 ? c.interval_ns / 10 : 1;
    c.pause_ns = c.interval_ns;
    c.check_ns = c.interval_ns / 4 > 0 ? c.interval_ns / 4 : 1;
  }
  if ((rc = cohort_param_double(params, n, "threshold", &c.threshold, WHO, err, errcap)) ||
      (rc = cohort_param_duration(params, n, "timeout", &c.timeout_ns, WHO, err, errcap)) ||
      (rc = cohort_param_u64(params, n, "window", &window, WHO, err, errcap)) ||
      (rc = cohort_param_duration(params, n, "min_stddev", &c.min_stddev_ns, WHO, err,
                                  errcap)) ||
      (rc = cohort_param_duration(params, n, "pause", &c.pause_ns, WHO, err, errcap)) ||
      (rc = cohort_param_duration(params, n, "check", &c.check_ns, WHO, err, errcap)))
    return rc;
  if (window > COHORT_FD_WINDOW_MAX) window = 0; /* refused by the check below */
  c.window = (uint32_t)window;
  c.mode = (cohort_fd_mode_t)mode;
  c.detector = (cohort_fd_detector_t)detector;
  if ((rc = cohort_fd_config_check(&c, err, errcap)) < 0) return rc;
  *cfg = c;
  return 0;
}

/* ---- the factory ------------------------------------------------------------ */

static int factory_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                          cohort_proto_t **out, char *err, size_t errcap) {
  cohort_fd_config_t cfg;
  cohort_fd_config_default(&cfg);
  int rc = cohort_fd_config_parse(&cfg, params, n, err, errcap);
  if (rc < 0) return rc;
  const cohort_allocator_t *a = cohort_node_allocator(node);
  cohort_fd_t *fd = cohort_alloc(a, sizeof *fd);
  if (!fd) return COHORT_ENOMEM;
  if ((rc = cohort_fd_init(fd, node, &cfg)) < 0) {
    cohort_free(a, fd);
    if (err && errcap) cohort_fmt(err, errcap, "%s: %s", WHO, cohort_strerror(rc));
    return rc;
  }
  *out = cohort_fd_proto(fd);
  return 0;
}

static void factory_destroy(cohort_proto_t *p) {
  cohort_fd_t *fd = cohort_fd_from_proto(p);
  if (!fd) return;
  const cohort_allocator_t *a = fd->alloc;
  cohort_fd_close(fd);
  cohort_free(a, fd);
}

static int factory_status(cohort_proto_t *p, char *buf, size_t cap) {
  cohort_fd_t *fd = cohort_fd_from_proto(p);
  return fd ? cohort_fd_status(fd, buf, cap) : COHORT_EINVAL;
}

const cohort_proto_factory_t cohort_fd_factory = {
    .name = "fd",
    .help = "failure detector: mode=push|pull interval=100ms detector=phi|fixed "
            "threshold=8 timeout=1s window=1000 min_stddev=interval/10 "
            "pause=interval check=interval/4",
    .create = factory_create,
    .destroy = factory_destroy,
    .status = factory_status,
};
