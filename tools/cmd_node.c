/*
 * tools/cmd_node.c — `cohort node`: one cluster member over UDP.
 *
 * Parses the command line into a runtime node configuration, creates the
 * protocols named by --proto from the registry, attaches and starts them,
 * prints a status line every --status-interval, and on SIGINT/SIGTERM (or
 * after --duration) shuts down cleanly: protocols detached and destroyed,
 * traces flushed, every handle closed, everything freed.
 *
 * Exit status: 0 after a clean shutdown, 1 when the node cannot run (port
 * in use, state directory unwritable), 2 for bad arguments.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cohort/observe.h"
#include "cohort/registry.h"
#include "cohort/runtime.h"

#define PROTO_PARAMS_MAX 32
#define PROTO_SPEC_MAX 512
#define FAULTS_MAX 64

typedef struct proto_spec {
  char text[PROTO_SPEC_MAX]; /* tokens, NUL-separated after parsing */
  const cohort_proto_factory_t *factory;
  cohort_param_t params[PROTO_PARAMS_MAX];
  size_t params_len;
  cohort_proto_t *proto; /* once created */
  bool attached;
} proto_spec_t;

typedef struct node_args {
  cohort_runtime_node_config_t cfg;
  cohort_runtime_peer_t peers[COHORT_NODES_MAX];
  struct sockaddr_storage contacts[COHORT_CONTACTS_MAX]; /* --join */
  bool have_id, have_listen, have_join;
  cohort_runtime_keys_t keys;
  const char *key_path; /* re-read on SIGHUP */
  proto_spec_t protos[COHORT_PROTOS_PER_NODE_MAX];
  size_t protos_len;
  cohort_node_id_t fault_peer[FAULTS_MAX];
  cohort_runtime_fault_t faults[FAULTS_MAX];
  size_t faults_len;
  int64_t status_interval_ns;
  int64_t duration_ns; /* 0 = until a signal */
  const char *metrics_addr, *control_path; /* observe.h; NULL = off */
} node_args_t;

typedef struct node_app {
  node_args_t *args;
  uv_loop_t loop;
  cohort_runtime_t *rt;
  cohort_runtime_node_t *rn;
  uv_signal_t sigint, sigterm, sighup;
  uv_timer_t status_timer, stop_timer;
  int signal_seen;
  cohort_observe_t *observe; /* --metrics / --control */
} node_app_t;

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define CONTACTS_MAX_TEXT STRINGIFY(COHORT_CONTACTS_MAX)

static const char usage_text[] =
    "usage: cohort node --id N --listen ADDR:PORT\n"
    "                   [--peers ID@ADDR:PORT,...] [--join ADDR:PORT,...]\n"
    "                   [--cluster-id X] [--key-file F] [--proto SPEC]...\n"
    "                   [--trace FILE] [--status-interval DUR] [--state-dir DIR]\n"
    "                   [--fault PEER:KEY=V,...]... [--vector-clock]\n"
    "                   [--hlc-max-offset DUR] [--duration DUR]\n"
    "                   [--security auth|encrypt|encrypt+auth|none]\n"
    "                   [--cipher aes-256-gcm|chacha20-poly1305]\n"
    "                   [--metrics ADDR:PORT] [--control PATH]\n"
    "\n"
    "  --peers LIST      the static members: ID@ADDR:PORT,... (optional with --join)\n"
    "  --join LIST       contact points ADDR:PORT,... (IPv4:PORT or [IPv6]:PORT, at most\n"
    "                    " CONTACTS_MAX_TEXT "): a membership protocol (--proto group)\n"
    "                    sends its JOIN there"
    "; peers are then learned at run time\n"
    "  --proto SPEC      protocol and parameters, e.g.\n"
    "                    \"fd detector=phi threshold=8 interval=100ms\"\n"
    "  --fault SPEC      inject faults on send: 3:drop=0.2,delay=5ms,jitter=2ms,dup=0.01\n"
    "                    or all:drop=0.1 (a peer's own spec overrides 'all')\n"
    "  --status-interval print a status line this often (default 500ms, 0s = never)\n"
    "  --duration        stop by itself after this long (default: until a signal)\n"
    "  --key-file F      cluster keys, 'ID HEXKEY' lines and 'use ID' (chmod 600);\n"
    "                    SIGHUP re-reads it: rotate keys without a restart\n"
    "  --security        auth (default with a key): HMAC tags; encrypt: AEAD;\n"
    "                    encrypt+auth: encrypt, still accept auth (migration)\n"
    "  --metrics ADDR    serve Prometheus text at http://ADDR/metrics\n"
    "  --control PATH    control socket for 'cohort status' (default with\n"
    "                    --state-dir: DIR/node-ID.sock)\n"
    "See docs/runtime.md.\n";

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cohort node: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n(try 'cohort node --help')\n", stderr);
  return 2;
}

static void list_factories(FILE *f) {
  size_t n;
  const cohort_proto_factory_t *const *all = cohort_proto_factories(&n);
  fprintf(f, "protocols:\n");
  for (size_t i = 0; i < n; i++) fprintf(f, "  %-8s %s\n", all[i]->name, all[i]->help);
}

/* "fd detector=phi threshold=8" → factory + params pointing into text. */
static int parse_proto(const char *s, proto_spec_t *ps) {
  if (strlen(s) >= sizeof ps->text) return bad_usage("--proto '%s': too long", s);
  strcpy(ps->text, s);
  char *save = NULL;
  char *name = strtok_r(ps->text, " \t", &save);
  if (!name) return bad_usage("--proto '%s': empty protocol spec", s);
  ps->factory = cohort_proto_factory_find(name);
  if (!ps->factory) {
    bad_usage("--proto: unknown protocol '%s'", name);
    list_factories(stderr);
    return 2;
  }
  for (char *tok; (tok = strtok_r(NULL, " \t", &save));) {
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok)
      return bad_usage("--proto %s: parameter '%s' is not KEY=VALUE", name, tok);
    if (ps->params_len == PROTO_PARAMS_MAX)
      return bad_usage("--proto %s: too many parameters", name);
    *eq = '\0';
    ps->params[ps->params_len++] = (cohort_param_t){tok, eq + 1};
  }
  return 0;
}

static int parse_u64_arg(const char *opt, const char *v, uint64_t max, uint64_t *out) {
  if (cohort_parse_u64(v, out) < 0 || *out > max)
    return bad_usage("%s: '%s' is not a valid number", opt, v);
  return 0;
}

static int parse_duration_arg(const char *opt, const char *v, int64_t *out) {
  if (cohort_parse_duration(v, out) < 0)
    return bad_usage("%s: '%s' is not a duration (e.g. 500ms, 2s)", opt, v);
  return 0;
}

enum {
  OPT_ID = 256, OPT_LISTEN, OPT_PEERS, OPT_CLUSTER, OPT_KEY, OPT_PROTO, OPT_TRACE,
  OPT_STATUS, OPT_STATE, OPT_FAULT, OPT_VC, OPT_HLC, OPT_DURATION, OPT_HELP, OPT_SECURITY,
  OPT_CIPHER, OPT_METRICS, OPT_CONTROL, OPT_JOIN
};

static const struct option options[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"peers", required_argument, NULL, OPT_PEERS},
    {"join", required_argument, NULL, OPT_JOIN},
    {"cluster-id", required_argument, NULL, OPT_CLUSTER},
    {"key-file", required_argument, NULL, OPT_KEY},
    {"proto", required_argument, NULL, OPT_PROTO},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"status-interval", required_argument, NULL, OPT_STATUS},
    {"state-dir", required_argument, NULL, OPT_STATE},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"vector-clock", no_argument, NULL, OPT_VC},
    {"hlc-max-offset", required_argument, NULL, OPT_HLC},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"help", no_argument, NULL, OPT_HELP},
    {"security", required_argument, NULL, OPT_SECURITY},
    {"cipher", required_argument, NULL, OPT_CIPHER},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"control", required_argument, NULL, OPT_CONTROL},
    {NULL, 0, NULL, 0},
};

static int parse_fault_arg(node_args_t *a, const char *v) {
  char err[256];
  if (a->faults_len == FAULTS_MAX) return bad_usage("too many --fault options");
  if (cohort_runtime_parse_fault(v, &a->fault_peer[a->faults_len],
                                 &a->faults[a->faults_len], err, sizeof err) < 0)
    return bad_usage("--fault: %s", err);
  a->faults_len++;
  return 0;
}

static int parse_one(node_args_t *a, int opt, const char *v) {
  char err[256];
  uint64_t u;
  switch (opt) {
  case OPT_ID:
    if (parse_u64_arg("--id", v, COHORT_NODE_NONE - 1, &u)) return 2;
    a->cfg.id = (cohort_node_id_t)u;
    a->have_id = true;
    return 0;
  case OPT_LISTEN:
    if (cohort_runtime_parse_addr(v, true, &a->cfg.listen) < 0)
      return bad_usage("--listen: bad address '%s' (want IPv4:PORT or [IPv6]:PORT)", v);
    a->have_listen = true;
    return 0;
  case OPT_PEERS:
    if (cohort_runtime_parse_peers(v, a->peers, &a->cfg.peers_len, COHORT_NODES_MAX - 1,
                                   err, sizeof err) < 0)
      return bad_usage("--peers: %s", err);
    return 0;
  case OPT_JOIN:
    if (a->have_join) return bad_usage("--join given twice (list every contact in one)");
    if (cohort_runtime_parse_contacts(v, a->contacts, &a->cfg.contacts_len,
                                      COHORT_CONTACTS_MAX, err, sizeof err) < 0)
      return bad_usage("--join: %s", err);
    a->have_join = true;
    return 0;
  case OPT_CLUSTER:
    return parse_u64_arg("--cluster-id", v, UINT64_MAX, &a->cfg.cluster_id);
  case OPT_KEY:
    if (cohort_runtime_read_keys(v, &a->keys, err, sizeof err) < 0)
      return bad_usage("--key-file: %s", err);
    a->cfg.keys = &a->keys;
    a->key_path = v;
    return 0;
  case OPT_SECURITY:
    if (!strcmp(v, "none")) a->cfg.security = COHORT_SECURITY_NONE;
    else if (!strcmp(v, "auth")) a->cfg.security = COHORT_SECURITY_AUTH;
    else if (!strcmp(v, "encrypt")) a->cfg.security = COHORT_SECURITY_ENCRYPT;
    else if (!strcmp(v, "encrypt+auth")) a->cfg.security = COHORT_SECURITY_ENCRYPT_ACCEPT_AUTH;
    else return bad_usage("--security: '%s' is not none, auth, encrypt or encrypt+auth", v);
    return 0;
  case OPT_CIPHER:
    if (!strcmp(v, "aes-256-gcm")) a->cfg.cipher = COHORT_CIPHER_AES256_GCM;
    else if (!strcmp(v, "chacha20-poly1305")) a->cfg.cipher = COHORT_CIPHER_CHACHA20_POLY1305;
    else return bad_usage("--cipher: '%s' is not aes-256-gcm or chacha20-poly1305", v);
    return 0;
  case OPT_PROTO:
    if (a->protos_len == COHORT_PROTOS_PER_NODE_MAX)
      return bad_usage("too many --proto options");
    return parse_proto(v, &a->protos[a->protos_len++]);
  case OPT_TRACE: a->cfg.trace_path = v; return 0;
  case OPT_STATUS: return parse_duration_arg("--status-interval", v, &a->status_interval_ns);
  case OPT_STATE: a->cfg.state_dir = v; return 0;
  case OPT_FAULT: return parse_fault_arg(a, v);
  case OPT_VC: a->cfg.vector_clock = true; return 0;
  case OPT_HLC: return parse_duration_arg("--hlc-max-offset", v, &a->cfg.hlc_max_offset_ns);
  case OPT_DURATION: return parse_duration_arg("--duration", v, &a->duration_ns);
  case OPT_METRICS: a->metrics_addr = v; return 0;
  case OPT_CONTROL: a->control_path = v; return 0;
  default: return 2;
  }
}

/* Returns 0, 2 (bad usage, message printed) or -1 (--help printed). */
static int parse_args(int argc, char **argv, node_args_t *a) {
  a->cfg.cluster_id = 1;
  a->status_interval_ns = 500 * COHORT_NS_PER_MS;
  optind = 0; /* glibc: full re-initialisation */
  opterr = 0;
  for (;;) {
    int opt = getopt_long(argc, argv, "+h", options, NULL);
    if (opt == -1) break;
    if (opt == 'h' || opt == OPT_HELP) {
      fputs(usage_text, stdout);
      list_factories(stdout);
      return -1;
    }
    if (opt == '?' || opt == ':')
      return bad_usage("bad or incomplete option '%s'", argv[optind - 1]);
    int rc = parse_one(a, opt, optarg);
    if (rc) return rc;
  }
  if (optind < argc) return bad_usage("unexpected argument '%s'", argv[optind]);
  if (!a->have_id) return bad_usage("--id is required");
  if (!a->have_listen) return bad_usage("--listen is required");
  if (a->cfg.security != COHORT_SECURITY_AUTO && a->cfg.security != COHORT_SECURITY_NONE &&
      !a->cfg.keys)
    return bad_usage("--security %s needs --key-file",
                     a->cfg.security == COHORT_SECURITY_AUTH ? "auth" : "encrypt");
  a->cfg.peers = a->peers;
  a->cfg.contacts = a->contacts;
  return 0;
}

/* ---- status lines ------------------------------------------------------- */

static size_t put_timestamp(char *buf, size_t cap) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
  int m = snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return n + (m > 0 ? (size_t)m : 0);
}

/* Appends " name=value" for each non-zero drop counter; "none" if all 0. */
static void put_drops(FILE *out, const cohort_node_stats_t *s,
                      const cohort_runtime_stats_t *h) {
  const struct {
    const char *name;
    uint64_t v;
  } c[] = {{"malformed", s->drop_malformed}, {"cluster", s->drop_cluster},
           {"version", s->drop_version},     {"auth", s->drop_auth},
           {"stale", s->drop_stale},         {"unknown_peer", s->drop_unknown_peer},
           {"unknown_proto", s->drop_unknown_proto}, {"proto", s->drop_proto},
           {"clock", s->drop_clock},         {"self", s->drop_self},
           {"replay", s->drop_replay},       {"dest", s->drop_dest},
           {"incarnation", s->drop_incarnation}, {"oversize", s->drop_oversize},
           {"fault_replay", h->fault_replayed},
           {"tx_error", s->tx_errors},       {"fault_loss", h->fault_dropped},
           {"fault_dup", h->fault_duplicated}, {"fault_delayed", h->fault_delayed},
           {"delay_overflow", h->delay_overflow}, {"recv_error", h->recv_errors},
           {"trace_error", h->trace_errors}};
  bool any = false;
  fputs(" drops:", out);
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    if (!c[i].v) continue;
    fprintf(out, " %s=%llu", c[i].name, (unsigned long long)c[i].v);
    any = true;
  }
  if (!any) fputs(" none", out);
}

static void print_status(node_app_t *app) {
  char ts[64], st[1024];
  cohort_node_t *node = cohort_runtime_node(app->rn);
  const cohort_node_stats_t *s = cohort_node_stats(node);
  put_timestamp(ts, sizeof ts);
  printf("%s node=%u", ts, (unsigned)cohort_node_id(node));
  for (size_t i = 0; i < app->args->protos_len; i++) {
    proto_spec_t *ps = &app->args->protos[i];
    if (!ps->factory->status) continue;
    int n = ps->factory->status(ps->proto, st, sizeof st);
    if (n >= 0) printf(" | %s: %s", ps->factory->name, st);
  }
  printf(" | tx=%llu rx=%llu", (unsigned long long)s->tx_datagrams,
         (unsigned long long)s->rx_delivered);
  put_drops(stdout, s, cohort_runtime_node_stats(app->rn));
  putchar('\n');
  fflush(stdout);
}

static void status_cb(uv_timer_t *t) { print_status(t->data); }

/* ---- lifecycle -------------------------------------------------------------- */

static void stop_cb(uv_timer_t *t) {
  node_app_t *app = t->data;
  uv_stop(&app->loop);
}

/* SIGHUP: re-read the key file and rotate without a restart. */
static void sighup_cb(uv_signal_t *s, int signum) {
  (void)signum;
  node_app_t *app = s->data;
  char err[512];
  cohort_runtime_keys_t k;
  if (!app->args->key_path) {
    printf("cohort node: SIGHUP: no --key-file to re-read\n");
    return;
  }
  int rc = cohort_runtime_read_keys(app->args->key_path, &k, err, sizeof err);
  if (rc == 0) rc = cohort_runtime_node_set_keys(app->rn, &k);
  if (rc < 0)
    fprintf(stderr, "cohort node: SIGHUP: keys unchanged: %s\n",
            rc == COHORT_EIO || rc == COHORT_EINVAL ? err : cohort_strerror(rc));
  else
    printf("cohort node: SIGHUP: %zu keys, sending with key %u\n", k.len, (unsigned)k.use);
  memset(&k, 0, sizeof k);
}

static void signal_cb(uv_signal_t *s, int signum) {
  node_app_t *app = s->data;
  app->signal_seen = signum;
  uv_stop(&app->loop);
}

static int create_protocols(node_app_t *app) {
  cohort_node_t *node = cohort_runtime_node(app->rn);
  char err[256];
  for (size_t i = 0; i < app->args->protos_len; i++) {
    proto_spec_t *ps = &app->args->protos[i];
    err[0] = '\0';
    int rc = ps->factory->create(node, ps->params, ps->params_len, &ps->proto, err,
                                 sizeof err);
    if (rc < 0) {
      ps->proto = NULL;
      fprintf(stderr, "cohort node: --proto %s: %s\n", ps->factory->name,
              err[0] ? err : cohort_strerror(rc));
      fprintf(stderr, "  %s: %s\n", ps->factory->name, ps->factory->help);
      return 2;
    }
    rc = cohort_node_attach(node, ps->proto);
    if (rc < 0) {
      fprintf(stderr, "cohort node: cannot attach %s: %s\n", ps->factory->name,
              cohort_strerror(rc));
      return 2;
    }
    ps->attached = true;
  }
  return 0;
}

static void destroy_protocols(node_app_t *app) {
  for (size_t i = app->args->protos_len; i-- > 0;) {
    proto_spec_t *ps = &app->args->protos[i];
    if (ps->attached) cohort_node_detach(cohort_runtime_node(app->rn), ps->proto);
    if (ps->proto) ps->factory->destroy(ps->proto);
    ps->attached = false;
    ps->proto = NULL;
  }
}

static int apply_faults(node_app_t *app) {
  node_args_t *a = app->args;
  for (size_t i = 0; i < a->faults_len; i++) {
    if (a->fault_peer[i] == a->cfg.id) { /* `cluster up --fault` gives all nodes all specs */
      printf("cohort node: --fault for node %u itself ignored\n", (unsigned)a->cfg.id);
      continue;
    }
    if (cohort_runtime_node_fault(app->rn, a->fault_peer[i], &a->faults[i]) < 0) {
      fprintf(stderr, "cohort node: --fault: %u is not a peer of this node\n",
              (unsigned)a->fault_peer[i]);
      return 2;
    }
  }
  return 0;
}

static void start_handles(node_app_t *app) {
  uv_signal_init(&app->loop, &app->sigint);
  uv_signal_init(&app->loop, &app->sigterm);
  uv_signal_init(&app->loop, &app->sighup);
  app->sighup.data = app;
  uv_signal_start(&app->sighup, sighup_cb, SIGHUP);
  uv_timer_init(&app->loop, &app->status_timer);
  uv_timer_init(&app->loop, &app->stop_timer);
  app->sigint.data = app->sigterm.data = app;
  app->status_timer.data = app->stop_timer.data = app;
  uv_signal_start(&app->sigint, signal_cb, SIGINT);
  uv_signal_start(&app->sigterm, signal_cb, SIGTERM);
  uint64_t status_ms = (uint64_t)(app->args->status_interval_ns / COHORT_NS_PER_MS);
  if (status_ms > 0) uv_timer_start(&app->status_timer, status_cb, status_ms, status_ms);
  uint64_t stop_ms = (uint64_t)(app->args->duration_ns / COHORT_NS_PER_MS);
  if (app->args->duration_ns > 0)
    uv_timer_start(&app->stop_timer, stop_cb, stop_ms ? stop_ms : 1, 0);
}

static void close_handles(node_app_t *app) {
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
  uv_close((uv_handle_t *)&app->sighup, NULL);
  uv_close((uv_handle_t *)&app->status_timer, NULL);
  uv_close((uv_handle_t *)&app->stop_timer, NULL);
}

static void print_banner(node_app_t *app) {
  cohort_node_t *node = cohort_runtime_node(app->rn);
  struct sockaddr_storage ss;
  char name[64] = "?";
  int port = 0;
  if (cohort_runtime_node_address(app->rn, &ss) == 0) {
    if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, name, sizeof name);
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&ss, name, sizeof name);
      port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
  }
  printf("cohort node %u incarnation %llu listening on %s:%d, %zu peers, %zu contacts, "
         "%zu protocols\n",
         (unsigned)cohort_node_id(node),
         (unsigned long long)cohort_node_incarnation(node), name, port,
         app->args->cfg.peers_len, app->args->cfg.contacts_len, app->args->protos_len);
  fflush(stdout);
}

/* Run the node until a signal or --duration; returns the exit status. */
static int run_node(node_app_t *app) {
  char err[512];
  int rc = cohort_runtime_new(&app->loop, NULL, &app->rt);
  if (rc < 0) {
    fprintf(stderr, "cohort node: %s\n", cohort_strerror(rc));
    return 1;
  }
  rc = cohort_runtime_node_add(app->rt, &app->args->cfg, &app->rn, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "cohort node: %s\n", err);
    cohort_runtime_free(app->rt);
    return rc == COHORT_EINVAL ? 2 : 1;
  }
  cohort_tool_flush_before_effects(app->rn); /* trace first, then the CS file */
  int status = apply_faults(app);
  if (status == 0) status = create_protocols(app);
  if (status == 0) status = node_observe_start(&app->loop, app->rn, app->args->metrics_addr,
                                               app->args->control_path, app->args->cfg.state_dir,
                                               &app->observe);
  if (status == 0) {
    start_handles(app);
    print_banner(app);
    cohort_node_start(cohort_runtime_node(app->rn));
    uv_run(&app->loop, UV_RUN_DEFAULT);
    print_status(app);
    if (app->signal_seen) printf("cohort node: signal %d, shutting down\n", app->signal_seen);
    close_handles(app);
  }
  cohort_observe_close(app->observe, NULL, NULL);
  cohort_runtime_stop(app->rt);
  destroy_protocols(app);
  cohort_tool_flush_before_effects(NULL);
  cohort_runtime_free(app->rt);
  return status;
}

int cohort_cmd_node(int argc, char **argv) {
  node_args_t *args = calloc(1, sizeof *args);
  node_app_t *app = calloc(1, sizeof *app);
  int status = 1;
  if (!args || !app) {
    fprintf(stderr, "cohort node: out of memory\n");
    goto out;
  }
  status = parse_args(argc, argv, args);
  if (status != 0) {
    status = status < 0 ? 0 : status;
    goto out;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  app->args = args;
  if (uv_loop_init(&app->loop) != 0) {
    fprintf(stderr, "cohort node: cannot create the event loop\n");
    goto out;
  }
  status = run_node(app);
  uv_run(&app->loop, UV_RUN_DEFAULT); /* finish the closes */
  if (uv_loop_close(&app->loop) != 0) fprintf(stderr, "cohort node: handles left open\n");
out:
  free(app);
  free(args);
  return status;
}
