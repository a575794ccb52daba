/*
 * tools/bench_peers.c — where a bench's peer programs are: the directory
 * named by an environment variable, else <dir of this cohort binary>/../
 * bench/<sub> (the build tree's layout: <build>/tools/cohort beside
 * <build>/bench/<sub>). Shared by `cohort bench rpc` and `bench multicast`.
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
