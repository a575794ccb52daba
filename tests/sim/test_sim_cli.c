/*
 * tests/sim/test_sim_cli.c — `cohort sim` from the outside: it runs
 * $COHORT_BUILD_ROOT/tools/cohort and checks exit codes and messages for
 * bad arguments (exit 2), bad scenario files (file:line, exit 2), a
 * passing run (exit 0, a byte-identical trace for the same seed), a run
 * whose check fails (exit 1), and a sweep that prints replay commands.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char tool[1024], dir[] = "/tmp/cohort-sim-cli-XXXXXX";

/* Run the tool with argv (NULL-ended); capture stdout+stderr into out. */
static int run(char *out, size_t cap, const char *const *args) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    close(p[0]);
    char *argv[32];
    int n = 0;
    argv[n++] = tool;
    for (; args[n - 1] && n < 31; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    execv(tool, argv);
    _exit(127);
  }
  close(p[1]);
  size_t len = 0;
  for (ssize_t r; (r = read(p[0], out + len, cap - 1 - len)) > 0;) len += (size_t)r;
  out[len] = '\0';
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void write_file(const char *name, const char *text, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  (void)state;
  const char *root = getenv("COHORT_BUILD_ROOT");
  if (!root) return -1;
  snprintf(tool, sizeof tool, "%s/tools/cohort", root);
  if (!mkdtemp(dir)) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static const char good[] = "nodes 3\nduration 3s\nprotocol fd interval=100ms\n"
                           "network latency=exp(mean=1ms) loss=0.05\n"
                           "at 1s crash 2\ncheck integrity\ncheck fd bound=2s accuracy=off\n";

static void test_bad_arguments(void **state) {
  (void)state;
  char out[8192], scn[1024];
  write_file("good.scn", good, scn, sizeof scn);
  static const struct {
    const char *args[7];
    const char *want;
  } cases[] = {
      {{"sim", NULL}, "no scenario file given"},
      {{"sim", "--seed", NULL}, "--seed needs a value"},
      {{"sim", "X", "--seed", "abc", NULL}, "--seed: not a number"},
      {{"sim", "X", "--seeds", "9-3", NULL}, "--seeds: expected A-B"},
      {{"sim", "X", "--seeds", "5", NULL}, "--seeds: expected A-B"},
      {{"sim", "X", "--seeds", "1-9", "--jobs", "0"}, "--jobs: expected 1..256"},
      {{"sim", "X", "--jobs", "2", NULL}, "apply to --seeds"},
      {{"sim", "X", "--shard", "1/2", NULL}, "apply to --seeds"},
      {{"sim", "X", "--seeds", "1-9", "--shard", "3/2"}, "--shard: expected K/N"},
      {{"sim", "X", "--seeds", "1-9", "--shard", "0/2"}, "--shard: expected K/N"},
      {{"sim", "X", "--seeds", "1-9", "--budget", "soon"}, "--budget: expected a duration"},
      {{"sim", "X", "--max-events", "0", NULL}, "--max-events: expected a positive"},
      {{"sim", "X", "--max-memory", "12Q", NULL}, "--max-memory: expected a positive"},
      {{"sim", "X", "--seeds", "1-2", "--shrink"}, "--shrink shrinks one seed"},
      {{"sim", "X", "--shrink-out", "f.scn", NULL}, "--shrink-out needs --shrink"},
      {{"sim", "X", "--seed", "1", "--seeds", "1-2"}, "not both"},
      {{"sim", "X", "--seeds", "1-2", "-o", "t.jsonl"}, "-o writes one run's trace"},
      {{"sim", "X", "--frobnicate", NULL}, "unknown option '--frobnicate'"},
      {{"sim", "X", "Y", NULL}, "more than one scenario"},
      {{"sim", "/nonexistent.scn", NULL}, "/nonexistent.scn: No such file"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *args[8] = {0};
    for (int k = 0; k < 7 && cases[i].args[k]; k++)
      args[k] = !strcmp(cases[i].args[k], "X") ? scn : cases[i].args[k];
    int rc = run(out, sizeof out, args);
    if (rc != 2) fail_msg("case %zu: exit %d, want 2: %s", i, rc, out);
    if (!strstr(out, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, out, cases[i].want);
  }
  const char *help[] = {"sim", "--help", NULL};
  assert_int_equal(run(out, sizeof out, help), 0);
  assert_non_null(strstr(out, "usage: cohort sim"));
}

static void test_bad_scenario_reports_file_line(void **state) {
  (void)state;
  char out[8192], scn[1024];
  write_file("bad.scn", "nodes 3\nduration 5s\n\nat 9s crash 2\n", scn, sizeof scn);
  const char *args[] = {"sim", scn, "--seed", "1", NULL};
  assert_int_equal(run(out, sizeof out, args), 2);
  char want[1100];
  snprintf(want, sizeof want, "%s:4: event at 9.000s is after the end", scn);
  if (!strstr(out, want)) fail_msg("'%s' lacks '%s'", out, want);
  write_file("bad2.scn", "nodes 3\nduration 5s\nprotocol fd threshold=x\n", scn, sizeof scn);
  assert_int_equal(run(out, sizeof out, args), 2);
  if (!strstr(out, ":3: fd: threshold")) fail_msg("'%s' lacks the fd parameter error", out);
}

static uint64_t file_hash(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  uint64_t h = 0xcbf29ce484222325ull;
  for (int c; (c = getc(f)) != EOF;) h = (h ^ (uint8_t)c) * 0x100000001b3ull;
  fclose(f);
  return h;
}

static void test_run_and_replay(void **state) {
  (void)state;
  char out[16384], scn[1024], t1[1100], t2[1100], t3[1100];
  write_file("good.scn", good, scn, sizeof scn);
  snprintf(t1, sizeof t1, "%s/a.jsonl", dir);
  snprintf(t2, sizeof t2, "%s/b.jsonl", dir);
  snprintf(t3, sizeof t3, "%s/c.jsonl", dir);
  const char *a1[] = {"sim", scn, "--seed", "42", "-o", t1, NULL};
  const char *a2[] = {"sim", scn, "--seed", "42", "--trace", t2, NULL};
  const char *a3[] = {"sim", scn, "--seed", "43", "-o", t3, NULL};
  int rc = run(out, sizeof out, a1);
  if (rc) fail_msg("exit %d: %s", rc, out);
  assert_non_null(strstr(out, "events/s"));
  assert_non_null(strstr(out, "check     integrity: ok"));
  assert_non_null(strstr(out, "result    ok"));
  assert_int_equal(run(out, sizeof out, a2), 0);
  assert_int_equal(run(out, sizeof out, a3), 0);
  assert_int_equal(file_hash(t1), file_hash(t2));
  assert_int_not_equal(file_hash(t1), file_hash(t3));
  const char *q[] = {"sim", scn, "--quiet", NULL};
  assert_int_equal(run(out, sizeof out, q), 0);
  assert_string_equal(out, "");
}

/* A check that cannot pass: completeness within 1 ns of a crash. */
static void test_violation_exit_and_sweep_replay(void **state) {
  (void)state;
  char out[65536], scn[1024];
  write_file("strict.scn",
             "nodes 3\nduration 3s\nprotocol fd interval=100ms\n"
             "at 1s crash 2\ncheck fd bound=1ns\n",
             scn, sizeof scn);
  const char *one[] = {"sim", scn, "--seed", "5", NULL};
  assert_int_equal(run(out, sizeof out, one), 1);
  assert_non_null(strstr(out, "VIOLATED"));
  assert_non_null(strstr(out, "FAILED"));
  const char *sweep[] = {"sim", scn, "--seeds", "1-4", "--jobs", "2", NULL};
  assert_int_equal(run(out, sizeof out, sweep), 1);
  for (int s = 1; s <= 4; s++) {
    char want[1200];
    snprintf(want, sizeof want, "replay: cohort sim %s --seed %d -o seed%d.jsonl", scn, s, s);
    if (!strstr(out, want)) fail_msg("sweep output lacks '%s':\n%s", want, out);
  }
  assert_non_null(strstr(out, "4 seeds (4 run, 0 cached), 4 failed"));
  /* and a sweep that passes */
  write_file("good.scn", good, scn, sizeof scn);
  const char *ok[] = {"sim", scn, "--seeds", "1-6", "--jobs", "3", NULL};
  int rc = run(out, sizeof out, ok);
  if (rc) fail_msg("exit %d: %s", rc, out);
  assert_non_null(strstr(out, "6 seeds (6 run, 0 cached), 0 failed"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_bad_scenario_reports_file_line),
      cmocka_unit_test(test_run_and_replay),
      cmocka_unit_test(test_violation_exit_and_sweep_replay),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
