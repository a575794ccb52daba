/*
 * tools/cohort.c — the `cohort` command: a table of sub-commands. Each
 * sub-command lives in its own file and parses its own arguments.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command_t;

static const command_t commands[] = {
    {"sim", cohort_cmd_sim, "run a scenario in the deterministic simulator"},
    {"node", cohort_cmd_node, "run one cluster node over UDP"},
    {"cluster", cohort_cmd_cluster, "start or stop N local node processes"},
    {"trace", cohort_cmd_trace, "check, draw, merge and export traces"},
    {"ntp", cohort_cmd_ntp, "NTPv4: query a server or serve time"},
    {"bench", cohort_cmd_bench, "run a benchmark (sim, fd, rpc, clock, all)"},
};

static const command_t benches[] = {
    {"sim", cohort_bench_sim, "simulator events per second, 64-node heartbeat"},
    {"fd", cohort_bench_fd, "failure detectors: detection latency vs false suspicions"},
    {"rpc", cohort_bench_rpc, "RPC: cohort vs gRPC C++ vs ONC RPC vs raw TCP"},
    {"clock", cohort_bench_clock, "clock sync: Cristian, NTP, PTP error vs true time"},
    {"mutex", cohort_bench_mutex, "mutual exclusion: messages per entry, delays"},
    {"election", cohort_bench_election, "leader election: messages, failover time"},
};

static int usage(FILE *f, const char *what, const command_t *t, size_t n) {
  fprintf(f, "usage: cohort %s<command> [options]\n\ncommands:\n", what);
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", t[i].name, t[i].help);
  fprintf(f, "\n'cohort %s<command> --help' describes each.\n", what);
  return f == stdout ? 0 : 2;
}

static int dispatch(int argc, char **argv, const char *what, const command_t *t,
                    size_t n) {
  if (argc < 2) return usage(stderr, what, t, n);
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
    return usage(stdout, what, t, n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(argv[1], t[i].name)) return t[i].run(argc - 1, argv + 1);
  fprintf(stderr, "cohort: unknown command '%s%s'\n", what, argv[1]);
  usage(stderr, what, t, n);
  return 2;
}

int cohort_cmd_bench(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "all")) {
    int rc = 0;
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
      char *sub[] = {(char *)benches[i].name, NULL};
      printf("=== cohort bench %s\n", benches[i].name);
      fflush(stdout);
      if (benches[i].run(1, sub) != 0) rc = 1;
    }
    return rc;
  }
  return dispatch(argc, argv, "bench ", benches, sizeof benches / sizeof benches[0]);
}

int main(int argc, char **argv) {
  cohort_tool_register_hosts();
  return dispatch(argc, argv, "", commands, sizeof commands / sizeof commands[0]);
}
