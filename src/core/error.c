/*
 * src/core/error.c — error texts and the always-on assertion.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/core.h"

const char *cohort_strerror(int err) {
  switch (err) {
  case 0: return "success";
  case COHORT_EINVAL: return "invalid argument";
  case COHORT_ENOMEM: return "out of memory";
  case COHORT_EPROTO: return "malformed message";
  case COHORT_ECLUSTER: return "message for another cluster";
  case COHORT_EVERSION: return "unknown protocol version";
  case COHORT_ESTALE: return "stale incarnation, epoch or token";
  case COHORT_EAUTH: return "authentication failed";
  case COHORT_ECLOCK: return "remote clock too far ahead";
  case COHORT_EFULL: return "bounded queue or buffer full";
  case COHORT_ENOTFOUND: return "not found";
  case COHORT_ETIMEDOUT: return "timed out";
  case COHORT_ECANCELED: return "canceled";
  case COHORT_EEXIST: return "already exists";
  case COHORT_EIO: return "I/O error";
  case COHORT_ESTATE: return "not valid in the current state";
  case COHORT_EUNKNOWN: return "unknown peer, protocol or kind";
  case COHORT_EREPLAY: return "replayed or too old datagram";
  case COHORT_EAGAIN: return "try again later (backpressure)";
  default: break;
  }
  if (err < 0 && err > -4096) return strerror(-err);
  return "unknown error";
}

void cohort_assert_fail(const char *expr, const char *file, int line) {
  /* The one place library code writes to stderr: a programmer error is
   * about to abort the process. */
  fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
  fflush(stderr);
  abort();
}

int cohort_fmt(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}

int cohort_vfmt(char *buf, size_t cap, const char *fmt, va_list ap) {
  return vsnprintf(buf, cap, fmt, ap);
}
