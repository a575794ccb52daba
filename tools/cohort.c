/*
 * tools/cohort.c — the `cohort` command: the one table of sub-commands and
 * the one table of benches. Everything that lists them (`cohort --help`,
 * `cohort bench --help`, `cohort help --list`, which tests/cli/docs_test.sh
 * compares with the docs and the man page) reads these tables.
 *
 * Invariant: `--help` (or -h) anywhere among a sub-command's or bench's
 * arguments only prints help and exits 0: the command is called with
 * `--help` alone, never with the other arguments, so no help request can
 * start a run, open a port or write a file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"

#ifndef COHORT_VERSION
#define COHORT_VERSION "unknown"
#endif

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} command_t;

static const command_t commands[] = {
    {"sim", cohort_cmd_sim, "run a scenario in the deterministic simulator"},
    {"node", cohort_cmd_node, "run one cluster node over UDP"},
    {"cluster", cohort_cmd_cluster, "start or stop N local node processes"},
    {"status", cohort_cmd_status, "ask a running node for its peers, leader, locks, clock"},
    {"trace", cohort_cmd_trace, "check, draw, merge, count and export traces"},
    {"ntp", cohort_cmd_ntp, "NTPv4: query a server or serve time"},
    {"bench", cohort_cmd_bench, "run a benchmark (see 'cohort bench --help')"},
};

static const command_t benches[] = {
    {"sim", cohort_bench_sim, "simulator events per second, 64-node heartbeat"},
    {"fd", cohort_bench_fd, "failure detectors: detection latency vs false suspicions"},
    {"rpc", cohort_bench_rpc, "RPC: cohort vs gRPC C++ vs ONC RPC vs raw TCP"},
    {"clock", cohort_bench_clock, "clock sync: Cristian, NTP, PTP error vs true time"},
    {"mutex", cohort_bench_mutex, "mutual exclusion: messages per entry, delays"},
    {"election", cohort_bench_election, "leader election: messages, failover time"},
    {"group", cohort_bench_group, "group membership: view-change time and messages"},
    {"multicast", cohort_bench_multicast, "agreed multicast: cohort vs Corosync CPG vs raw UDP"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])
#define N_BENCHES (sizeof benches / sizeof benches[0])

static int usage(FILE *f, const char *what, const command_t *t, size_t n) {
  fprintf(f, "usage: cohort %s<command> [options]\n\ncommands:\n", what);
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", t[i].name, t[i].help);
  if (t == benches) fprintf(f, "  %-10s %s\n", "all", "every bench above in turn");
  if (t == commands)
    fprintf(f, "\n'cohort --version' prints the version; 'cohort help --list' the commands.\n");
  fprintf(f, "'cohort %s<command> --help' describes each.\n", what);
  return f == stdout ? 0 : 2;
}

static bool is_help(const char *a) {
  return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Whether argv[1..] asks for help (before a "--" that ends options). */
static bool wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) return false;
    if (is_help(argv[i])) return true;
  }
  return false;
}

static int run_command(const command_t *c, int argc, char **argv) {
  /* `bench` dispatches again, and applies the same rule to its benches. */
  if (c->run != cohort_cmd_bench && wants_help(argc, argv)) {
    char *sub[] = {(char *)c->name, "--help", NULL};
    return c->run(2, sub);
  }
  return c->run(argc, argv);
}

static int dispatch(int argc, char **argv, const char *what, const command_t *t,
                    size_t n) {
  if (argc < 2) return usage(stderr, what, t, n);
  if (is_help(argv[1]) || !strcmp(argv[1], "help")) return usage(stdout, what, t, n);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(argv[1], t[i].name)) return run_command(&t[i], argc - 1, argv + 1);
  fprintf(stderr, "cohort: unknown command '%s%s'\n", what, argv[1]);
  usage(stderr, what, t, n);
  return 2;
}

/* `cohort bench all`: each bench with its defaults; on a TTY, "k of n"
 * and an ETA on stderr before each. Exit 1 if any bench failed. */
static int bench_all(int argc, char **argv) {
  if (wants_help(argc, argv)) {
    printf("usage: cohort bench all\n  runs, in turn:");
    for (size_t i = 0; i < N_BENCHES; i++) printf(" %s", benches[i].name);
    printf("\n  each with its defaults (as 'make bench' does); exit 1 if any failed.\n");
    return 0;
  }
  if (argc > 1) {
    fprintf(stderr, "cohort bench all: takes no options ('%s')\n", argv[1]);
    return 2;
  }
  tool_progress_t prog;
  tool_progress_start(&prog, "cohort bench all", N_BENCHES);
  int rc = 0;
  for (size_t i = 0; i < N_BENCHES; i++) {
    char *sub[] = {(char *)benches[i].name, NULL};
    tool_progress_step(&prog, benches[i].name);
    printf("=== cohort bench %s\n", benches[i].name);
    fflush(stdout);
    if (benches[i].run(1, sub) != 0) rc = 1;
    fflush(stdout);
  }
  tool_progress_done(&prog);
  return rc;
}

int cohort_cmd_bench(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "all")) return bench_all(argc - 1, argv + 1);
  return dispatch(argc, argv, "bench ", benches, N_BENCHES);
}

/* `cohort help --list`: one name per line, "command NAME" / "bench NAME",
 * for scripts and the docs test. */
static int list_all(void) {
  for (size_t i = 0; i < N_COMMANDS; i++) printf("command %s\n", commands[i].name);
  for (size_t i = 0; i < N_BENCHES; i++) printf("bench %s\n", benches[i].name);
  printf("bench all\n");
  return 0;
}

int main(int argc, char **argv) {
  cohort_tool_register_hosts();
  if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") ||
                    !strcmp(argv[1], "version"))) {
    printf("cohort %s\n", COHORT_VERSION);
    return 0;
  }
  if (argc >= 3 && !strcmp(argv[1], "help") && !strcmp(argv[2], "--list")) return list_all();
  return dispatch(argc, argv, "", commands, N_COMMANDS);
}
