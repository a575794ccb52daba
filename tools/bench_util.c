/*
 * tools/bench_util.c — what the benches that compare with other systems
 * share (`cohort bench rpc`, `bench multicast`): where their peer programs
 * are — the directory named by an environment variable, else <dir of this
 * cohort binary>/../bench/<sub> (the build tree's layout: <build>/tools/
 * cohort beside <build>/bench/<sub>) — and the ratio lines they end with.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

int cohort_bench_peer_dir(const char *env_name, const char *sub, char *dir, size_t cap) {
  const char *env = getenv(env_name);
  if (env != NULL && env[0] != '\0') {
    snprintf(dir, cap, "%s", env);
    return 0;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash == NULL) return -1;
  *slash = '\0';
  int w = snprintf(dir, cap, "%.*s/../bench/%s", (int)(cap > 64 ? cap - 64 : 0), exe, sub);
  return w < 0 || (size_t)w >= cap ? -1 : 0;
}

void cohort_bench_ratio(int width, const char *what, double num, double den, double target,
                        int at_least, const char *reference) {
  char want[64] = "";
  if (at_least < 0 && reference != NULL)
    snprintf(want, sizeof want, "(%s %.2fx)", reference, target);
  else if (at_least >= 0)
    snprintf(want, sizeof want, "(target %s %.2fx)", at_least ? ">=" : "<=", target);
  if (!(num > 0) || !(den > 0)) {
    printf("  %-*s    n/a  %s\n", width, what, want);
    return;
  }
  double x = num / den;
  const char *verdict = at_least < 0                             ? ""
                        : (at_least ? x >= target : x <= target) ? " met"
                                                                 : " NOT met";
  printf("  %-*s %6.2fx %s%s\n", width, what, x, want, verdict);
}
