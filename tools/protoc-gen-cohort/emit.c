/*
 * tools/protoc-gen-cohort/emit.c — from one FileDescriptorProto to its
 * .cohort.h and .cohort.c. First every method is resolved into a
 * method_t of names (so every input problem is found before any text is
 * written), then the templates of templates.h are filled in.
 *
 * Names, for service pkg.Svc and method DoThing (gen_stub_prefix):
 *   svc   pkg_svc                  fn  pkg_svc_do_thing
 *   path  "/pkg.Svc/DoThing"       m   do_thing (struct member)
 * Public names are fn + "_suffix"; file-local ones fn + "__suffix".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "templates.h"

typedef enum kind { UNARY, SERVER_STREAMING, CLIENT_STREAMING, BIDI } kind_t;

typedef struct method {
  kind_t kind;
  char name[GEN_NAME_MAX];   /* as in the .proto */
  char member[GEN_NAME_MAX]; /* lower, '_' appended to a reserved word */
  char fn[GEN_NAME_MAX];
  char fn_upper[GEN_NAME_MAX];
  char path[GEN_NAME_MAX];
  char req[GEN_NAME_MAX], req_lower[GEN_NAME_MAX];
  char resp[GEN_NAME_MAX], resp_lower[GEN_NAME_MAX];
  const char *req_file, *resp_file; /* the .proto defining each type */
} method_t;

typedef struct service {
  char full[GEN_NAME_MAX]; /* "pkg.Svc" */
  char lower[GEN_NAME_MAX];
  method_t *methods;
  size_t n_methods;
} service_t;

static const char *const kind_text[] = {"unary", "server streaming", "client streaming",
                                        "bidirectional streaming"};
static const char *const kind_enum[] = {"COHORT_RPC_UNARY", "COHORT_RPC_SERVER_STREAMING",
                                        "COHORT_RPC_CLIENT_STREAMING",
                                        "COHORT_RPC_BIDI_STREAMING"};
static const char *const kind_answer[] = {
    "reply()", "send_response() and cohort_rpc_call_finish()", "reply()",
    "send_response() and cohort_rpc_call_finish()"};

/* Resolves a method's message type; the error names what was missing. */
static int resolve_type(const gen_types_t *types, const char *name, char *c_type,
                        char *c_lower, const char **file, char *err, size_t cap) {
  if (name == NULL || name[0] != '.') {
    snprintf(err, cap, "type '%s' is not fully qualified (protoc sends '.pkg.Type')",
             name ? name : "(none)");
    return -1;
  }
  const gen_type_t *t = gen_types_find(types, name);
  if (t == NULL) {
    snprintf(err, cap, "message type '%s' is not defined in the request", name);
    return -1;
  }
  *file = t->file;
  if (gen_c_type(name, c_type, GEN_NAME_MAX) != 0 ||
      gen_c_lower(name, c_lower, GEN_NAME_MAX) != 0) {
    snprintf(err, cap, "type name '%s' is too long", name);
    return -1;
  }
  return 0;
}

static int resolve_method(const service_t *s, const Google__Protobuf__MethodDescriptorProto *md,
                          const gen_types_t *types, method_t *m, char *err, size_t cap) {
  if (md->name == NULL || md->name[0] == '\0') {
    snprintf(err, cap, "service %s has a method without a name", s->full);
    return -1;
  }
  int cs = md->has_client_streaming && md->client_streaming;
  int ss = md->has_server_streaming && md->server_streaming;
  m->kind = cs ? (ss ? BIDI : CLIENT_STREAMING) : (ss ? SERVER_STREAMING : UNARY);
  char lower[GEN_NAME_MAX - 1]; /* room for the '_' of a reserved word */
  int n1 = snprintf(m->name, sizeof m->name, "%s", md->name);
  int n2 = snprintf(m->path, sizeof m->path, "/%s/%s", s->full, md->name);
  if (n1 < 0 || (size_t)n1 >= sizeof m->name || n2 < 0 || (size_t)n2 >= sizeof m->path ||
      gen_lower(md->name, lower, sizeof lower) != 0) {
    snprintf(err, cap, "method name '%s' is too long", md->name);
    return -1;
  }
  snprintf(m->member, sizeof m->member, "%s%s", lower, gen_is_reserved(lower) ? "_" : "");
  int n3 = snprintf(m->fn, sizeof m->fn, "%s_%s", s->lower, lower);
  if (n3 < 0 || (size_t)n3 >= sizeof m->fn || gen_upper(m->fn, m->fn_upper, GEN_NAME_MAX)) {
    snprintf(err, cap, "method name '%s' is too long", md->name);
    return -1;
  }
  char why[512];
  if (resolve_type(types, md->input_type, m->req, m->req_lower, &m->req_file, why,
                   sizeof why) != 0 ||
      resolve_type(types, md->output_type, m->resp, m->resp_lower, &m->resp_file, why,
                   sizeof why) != 0) {
    snprintf(err, cap, "%s.%s: %s", s->full, md->name, why);
    return -1;
  }
  return 0;
}

/* Suffixes of the names each method defines (public "_x", file-local
 * "__x"), by kind; NULL-terminated. */
static const char *const names_unary[] = {"", "_blocking", "_done_fn", "__deliver", NULL};
static const char *const names_stream[] = {
    "_start",   "_callbacks",   "_callbacks_t", "__stream",     "__stream_t",
    "__message", "__ready",     "__status",     "__stream_new", NULL};
static const char *const names_any[] = {
    "_handler",     "_handler_t",    "__srv_ready",        "__srv_cancel",
    "__srv_request", "__srv_start",  "__srv_message",      "__srv_half_close",
    "__register",   "_reply",        "_send_request",      "_send_response",
    "_PATH",        NULL};

typedef struct name_set {
  char (*v)[GEN_NAME_MAX];
  const char **owner;
  size_t n, cap;
} name_set_t;

/* Adds prefix+suffix; -1 with err set when another owner defined it. */
static int name_add(name_set_t *ns, const char *prefix, const char *suffix, const char *owner,
                    char *err, size_t cap) {
  char name[GEN_NAME_MAX];
  int len = snprintf(name, sizeof name, "%s%s", prefix, suffix);
  if (len < 0 || (size_t)len >= sizeof name || ns->n == ns->cap) {
    snprintf(err, cap, "%s: too many or too long names", owner);
    return -1;
  }
  for (size_t i = 0; i < ns->n; i++)
    if (strcmp(ns->v[i], name) == 0) {
      snprintf(err, cap, "%s and %s would both define the C name %s", ns->owner[i], owner,
               name);
      return -1;
    }
  memcpy(ns->v[ns->n], name, (size_t)len + 1);
  ns->owner[ns->n++] = owner;
  return 0;
}

static int name_add_list(name_set_t *ns, const char *prefix, const char *const *suffixes,
                         const char *owner, char *err, size_t cap) {
  for (size_t i = 0; suffixes[i] != NULL; i++)
    if (name_add(ns, prefix, suffixes[i], owner, err, cap) != 0) return -1;
  return 0;
}

/* Refuses a file whose services or methods would define one C name
 * twice ("Say" and "SayBlocking" both give pkg_svc_say_blocking), or two
 * server struct members of the same name. */
static int check_names(const service_t *svcs, size_t n, char *err, size_t cap) {
  size_t total = 0, most = 0;
  for (size_t i = 0; i < n; i++) {
    total += 3 + 32 * svcs[i].n_methods;
    if (svcs[i].n_methods > most) most = svcs[i].n_methods;
  }
  name_set_t ns = {.cap = total}, members = {.cap = most + 1};
  ns.v = calloc(ns.cap ? ns.cap : 1, sizeof *ns.v);
  ns.owner = calloc(ns.cap ? ns.cap : 1, sizeof *ns.owner);
  members.v = calloc(members.cap, sizeof *members.v);
  members.owner = calloc(members.cap, sizeof *members.owner);
  int rc = ns.v && ns.owner && members.v && members.owner ? 0 : -1;
  if (rc != 0) snprintf(err, cap, "out of memory");
  static const char *const service_names[] = {"_server", "_server_t", "_register", NULL};
  for (size_t i = 0; i < n && rc == 0; i++) {
    const service_t *s = &svcs[i];
    rc = name_add_list(&ns, s->lower, service_names, s->full, err, cap);
    members.n = 0;
    if (rc == 0) rc = name_add(&members, "ud", "", "the server struct", err, cap);
    for (size_t j = 0; j < s->n_methods && rc == 0; j++) {
      const method_t *m = &s->methods[j];
      rc = name_add(&members, m->member, "", m->path, err, cap);
      if (rc == 0)
        rc = name_add_list(&ns, m->fn, m->kind == UNARY ? names_unary : names_stream, m->path,
                           err, cap);
      if (rc == 0) rc = name_add_list(&ns, m->fn, names_any, m->path, err, cap);
    }
  }
  free(ns.v);
  free(ns.owner);
  free(members.v);
  free(members.owner);
  return rc;
}

static int resolve_service(const Google__Protobuf__FileDescriptorProto *file,
                           const Google__Protobuf__ServiceDescriptorProto *sd,
                           const gen_types_t *types, service_t *s, char *err, size_t cap) {
  const char *pkg = file->package ? file->package : "";
  int n = snprintf(s->full, sizeof s->full, "%s%s%s", pkg, pkg[0] ? "." : "",
                   sd->name ? sd->name : "");
  if (sd->name == NULL || n < 0 || (size_t)n >= sizeof s->full ||
      gen_stub_prefix(s->full, s->lower, sizeof s->lower) != 0) {
    snprintf(err, cap, "a service has no name or too long a name");
    return -1;
  }
  s->methods = calloc(sd->n_method ? sd->n_method : 1, sizeof *s->methods);
  if (s->methods == NULL) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < sd->n_method; i++) {
    if (resolve_method(s, sd->method[i], types, &s->methods[i], err, cap) != 0) return -1;
    s->n_methods++;
  }
  return 0;
}

/* Reads a varint at *p (< end); -1 when malformed. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* Whether a serialized ProtobufCFileOptions sets c_package (field 6). */
static int sets_c_package(const uint8_t *p, size_t len) {
  const uint8_t *end = p + len;
  while (p < end) {
    uint64_t key, v;
    if (read_varint(&p, end, &key) != 0) return 1; /* malformed: refuse too */
    if ((key >> 3) == 6) return 1;
    switch (key & 7) {
    case 0:
      if (read_varint(&p, end, &v) != 0) return 1;
      break;
    case 1:
      if ((size_t)(end - p) < 8) return 1;
      p += 8;
      break;
    case 2:
      if (read_varint(&p, end, &v) != 0 || v > (uint64_t)(end - p)) return 1;
      p += v;
      break;
    case 5:
      if ((size_t)(end - p) < 4) return 1;
      p += 4;
      break;
    default:
      return 1;
    }
  }
  return 0;
}

/* protobuf-c's file option c_package (extension pb_c_file = 1019 of
 * FileOptions) renames every C symbol; the stubs would not match, so such
 * a file is refused. protobuf-c's other file options are harmless here. */
static int check_options(const Google__Protobuf__FileDescriptorProto *file, char *err,
                         size_t cap) {
  const Google__Protobuf__FileOptions *o = file->options;
  if (o == NULL) return 0;
  for (size_t i = 0; i < o->base.n_unknown_fields; i++) {
    const ProtobufCMessageUnknownField *f = &o->base.unknown_fields[i];
    if (f->tag == 1019 && sets_c_package(f->data, f->len)) {
      snprintf(err, cap, "the protobuf-c option (pb_c_file).c_package is not supported by "
                         "protoc-gen-cohort (it renames the symbols the stubs use)");
      return -1;
    }
  }
  return 0;
}

#define VARS_METHOD(s, m, base, file)                                                  \
  {"svc",        (s)->lower,                                                           \
   "svc_full",   (s)->full,                                                            \
   "M",          (m)->name,                                                            \
   "m",          (m)->member,                                                          \
   "fn",         (m)->fn,                                                              \
   "FN",         (m)->fn_upper,                                                        \
   "path",       (m)->path,                                                            \
   "Req",        (m)->req,                                                             \
   "req_lower",  (m)->req_lower,                                                       \
   "Resp",       (m)->resp,                                                            \
   "resp_lower", (m)->resp_lower,                                                      \
   "kind",       kind_text[(m)->kind],                                                 \
   "KIND",       kind_enum[(m)->kind],                                                 \
   "answer",     kind_answer[(m)->kind],                                               \
   "base",       (base),                                                               \
   "file",       (file),                                                               \
   NULL}

static void emit_header_method(gen_buf_t *h, const char *const *v, kind_t k) {
  gen_emit(h, v, T_H_METHOD);
  if (k == UNARY) gen_emit(h, v, T_H_UNARY_CLIENT);
  else gen_emit(h, v, T_H_STREAM_CALLBACKS);
  if (k == SERVER_STREAMING) gen_emit(h, v, T_H_SS_CLIENT);
  if (k == CLIENT_STREAMING || k == BIDI) gen_emit(h, v, T_H_CS_CLIENT);
  if (k == UNARY || k == CLIENT_STREAMING) gen_emit(h, v, T_H_SERVER_REPLY);
  else gen_emit(h, v, T_H_SERVER_SEND);
  if (k == UNARY || k == SERVER_STREAMING) gen_emit(h, v, T_H_HANDLER_REQUEST);
  else gen_emit(h, v, T_H_HANDLER_STREAM);
}

static void emit_header_service(gen_buf_t *h, const service_t *s, const char *base,
                                const char *file) {
  const char *sv[] = {"svc", s->lower, "svc_full", s->full, NULL};
  gen_emit(h, sv, T_H_SERVICE);
  for (size_t i = 0; i < s->n_methods; i++) {
    const char *v[] = VARS_METHOD(s, &s->methods[i], base, file);
    emit_header_method(h, v, s->methods[i].kind);
  }
  gen_emit(h, sv, T_H_SERVER_OPEN);
  for (size_t i = 0; i < s->n_methods; i++) {
    const char *v[] = VARS_METHOD(s, &s->methods[i], base, file);
    gen_emit(h, v, T_H_SERVER_FIELD);
  }
  gen_emit(h, sv, T_H_SERVER_CLOSE);
}

static void emit_source_method(gen_buf_t *c, const char *const *v, kind_t k) {
  if (k == UNARY) {
    gen_emit(c, v, T_C_UNARY_CLIENT);
  } else {
    gen_emit(c, v, T_C_STREAM_CLIENT);
    gen_emit(c, v, k == SERVER_STREAMING ? T_C_SS_START : T_C_CS_START);
  }
  gen_emit(c, v, (k == UNARY || k == CLIENT_STREAMING) ? T_C_SERVER_REPLY : T_C_SERVER_SEND);
  gen_emit(c, v, T_C_SERVER_COMMON_CB);
  gen_emit(c, v, (k == UNARY || k == SERVER_STREAMING) ? T_C_SERVER_REQUEST
                                                      : T_C_SERVER_STREAM);
}

static void emit_source_service(gen_buf_t *c, const service_t *s, const char *base,
                                const char *file) {
  for (size_t i = 0; i < s->n_methods; i++) {
    const char *v[] = VARS_METHOD(s, &s->methods[i], base, file);
    emit_source_method(c, v, s->methods[i].kind);
  }
  const char *sv[] = {"svc", s->lower, "svc_full", s->full, NULL};
  gen_emit(c, sv, T_C_REGISTER_OPEN);
  for (size_t i = 0; i < s->n_methods; i++) {
    const char *v[] = VARS_METHOD(s, &s->methods[i], base, file);
    gen_emit(c, v, T_C_REGISTER_METHOD);
  }
  gen_emit(c, sv, T_C_REGISTER_CLOSE);
}

/* #includes for the .pb-c.h of this file and of every other file that
 * defines a message type used by a method, each once. */
static void emit_include(gen_buf_t *h, const char **seen, size_t *n_seen, size_t cap,
                         const char *file) {
  for (size_t k = 0; k < *n_seen; k++)
    if (strcmp(seen[k], file) == 0) return;
  if (*n_seen < cap) seen[(*n_seen)++] = file;
  char inc[GEN_NAME_MAX];
  if (gen_strip_proto(file, inc, sizeof inc) != 0) return; /* checked before */
  const char *v[] = {"inc", inc, NULL};
  gen_emit(h, v, T_H_INCLUDE);
}

static void emit_includes(gen_buf_t *h, const char *own, const service_t *svcs, size_t n) {
  const char *seen[256];
  size_t n_seen = 0, cap = sizeof seen / sizeof seen[0];
  emit_include(h, seen, &n_seen, cap, own);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < svcs[i].n_methods; j++) {
      emit_include(h, seen, &n_seen, cap, svcs[i].methods[j].req_file);
      emit_include(h, seen, &n_seen, cap, svcs[i].methods[j].resp_file);
    }
}

static void make_guard(const char *base, char *guard, size_t cap) {
  size_t n = 0;
  for (const char *p = base; *p && n + 16 < cap; p++) {
    char ch = *p;
    guard[n++] = (char)((ch >= 'a' && ch <= 'z') ? ch - 'a' + 'A'
                        : ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) ? ch
                                                                                   : '_');
  }
  memcpy(guard + n, "_COHORT_H", sizeof "_COHORT_H");
}

static void emit_all(const Google__Protobuf__FileDescriptorProto *file, const service_t *svcs,
                     size_t n, gen_buf_t *h, gen_buf_t *c) {
  char base[GEN_NAME_MAX], guard[GEN_NAME_MAX];
  gen_strip_proto(file->name, base, sizeof base);
  make_guard(base, guard, sizeof guard);
  const char *fv[] = {"base", base, "file", file->name, "guard", guard, NULL};
  gen_emit(h, fv, T_H_OPEN);
  emit_includes(h, file->name, svcs, n);
  gen_emit(h, fv, T_H_CPP_OPEN);
  gen_emit(c, fv, T_C_OPEN);
  int any = 0, unary = 0, stream = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < svcs[i].n_methods; j++) {
      any = 1;
      unary |= svcs[i].methods[j].kind == UNARY;
      stream |= svcs[i].methods[j].kind != UNARY;
    }
  if (!any) gen_buf_printf(c, "\n/* %s defines no service methods. */\n", file->name);
  if (any) gen_emit(c, fv, T_C_COMMON);
  if (any) gen_emit(c, fv, T_C_SERVER_COMMON);
  if (unary) gen_emit(c, fv, T_C_UNARY_COMMON);
  if (stream) gen_emit(c, fv, T_C_STREAM_COMMON);
  for (size_t i = 0; i < n; i++) {
    emit_header_service(h, &svcs[i], base, file->name);
    emit_source_service(c, &svcs[i], base, file->name);
  }
  gen_emit(h, fv, T_H_CLOSE);
}

int gen_file(const Google__Protobuf__FileDescriptorProto *file, const gen_types_t *types,
             gen_buf_t *header, gen_buf_t *source, char *err, size_t cap) {
  if (file->name == NULL || check_options(file, err, cap) != 0) {
    if (file->name == NULL) snprintf(err, cap, "a file has no name");
    return -1;
  }
  service_t *svcs = calloc(file->n_service ? file->n_service : 1, sizeof *svcs);
  if (svcs == NULL) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < file->n_service && rc == 0; i++)
    rc = resolve_service(file, file->service[i], types, &svcs[i], err, cap);
  if (rc == 0) rc = check_names(svcs, file->n_service, err, cap);
  if (rc == 0) emit_all(file, svcs, file->n_service, header, source);
  for (size_t i = 0; i < file->n_service; i++) free(svcs[i].methods);
  free(svcs);
  return rc;
}
