/*
 * tools/protoc-gen-cohort/gen.h — the pieces of protoc-gen-cohort, the
 * protoc plugin that turns each `service` of a .proto file into typed C
 * client stubs and server skeletons over cohort/rpc.h (docs/rpc-stubs.md).
 *
 * The plugin is a filter: protoc writes a CodeGeneratorRequest to stdin,
 * the plugin writes a CodeGeneratorResponse to stdout. Problems with the
 * input (an unsupported option, a type it cannot resolve) are reported in
 * the response's error field, which protoc prints as "file: message"; the
 * exit status is non-zero only when stdin or stdout fail.
 *
 * Invariants: generated names follow protoc-c's mangling exactly (so that
 * the stubs compile against the .pb-c.h files protoc-c writes for the same
 * .proto); every output buffer is bounded by GEN_OUTPUT_MAX.
 */
#ifndef COHORT_PROTOC_GEN_COHORT_GEN_H
#define COHORT_PROTOC_GEN_COHORT_GEN_H

#include <stdarg.h>
#include <stddef.h>

#include "plugin.pb-c.h"

/* Largest CodeGeneratorRequest read from stdin (protoc sends every
 * transitive dependency's descriptor: a few MiB at most in practice). */
#define GEN_REQUEST_MAX (64u << 20)

/* Largest generated file; far above what any service produces (~4 KiB of
 * code per method). */
#define GEN_OUTPUT_MAX (16u << 20)

/* Longest identifier or path built from names; longer names are refused
 * with an error rather than truncated. */
#define GEN_NAME_MAX 1024

/* ---- growable text buffer ------------------------------------------- */

typedef struct gen_buf {
  char *data;  /* NUL-terminated */
  size_t len;
  size_t cap;
  int failed;  /* an append failed (out of memory or over GEN_OUTPUT_MAX) */
} gen_buf_t;

void gen_buf_printf(gen_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gen_buf_append(gen_buf_t *b, const char *s, size_t n);
void gen_buf_free(gen_buf_t *b);

/* Template substitution in the manner of protoc's Printer: every `$key$`
 * in tmpl is replaced by the value of `key` in vars (a NULL-terminated
 * array of key, value pairs); `$$` is a literal '$'. An unknown key is a
 * bug in the plugin and aborts. */
void gen_emit(gen_buf_t *b, const char *const *vars, const char *tmpl);

/* ---- names (names.c) ------------------------------------------------- */

/* protoc-c's ToCamel of one name piece: "foo_bar" -> "FooBar". */
int gen_camel(const char *piece, char *out, size_t cap);
/* protoc-c's CamelToLower of one piece: "FooBar" -> "foo_bar". */
int gen_lower(const char *piece, char *out, size_t cap);
/* A fully qualified name (".pkg.Outer.Inner" or "pkg.Svc") as protoc-c
 * spells it: type name "Pkg__Outer__Inner", lower "pkg__outer__inner". */
int gen_c_type(const char *full, char *out, size_t cap);
int gen_c_lower(const char *full, char *out, size_t cap);
/* The stubs' own prefix for a service: pieces lowered as by protoc-c but
 * joined by a single '_' ("example.echo.Echo" -> "example_echo_echo"), so
 * that no stub name can equal one of protoc-c's, which always join with
 * "__" (protoc-c itself defines example__echo__echo__say). */
int gen_stub_prefix(const char *full, char *out, size_t cap);
/* ASCII upper-case copy. */
int gen_upper(const char *s, char *out, size_t cap);
/* "dir/echo.proto" -> "dir/echo" (without ".proto", or unchanged). */
int gen_strip_proto(const char *file, char *out, size_t cap);
/* Non-zero when s is a C11 keyword: a method whose lower name is one gets
 * a trailing '_' where it names a struct member. */
int gen_is_reserved(const char *s);

/* The message types of a request, each with the .proto file defining it. */
typedef struct gen_type {
  char *full;       /* ".pkg.Outer.Inner" */
  const char *file; /* "dir/x.proto", borrowed from the request */
} gen_type_t;

typedef struct gen_types {
  gen_type_t *v;
  size_t n, cap;
} gen_types_t;

/* Collects every message type of every file in the request. Returns 0 or
 * -1 (out of memory). */
int gen_types_collect(gen_types_t *t, const Google__Protobuf__Compiler__CodeGeneratorRequest *req);
const gen_type_t *gen_types_find(const gen_types_t *t, const char *full);
void gen_types_free(gen_types_t *t);

/* ---- emission (emit.c) ----------------------------------------------- */

/* Generates "<base>.cohort.h" and "<base>.cohort.c" for one file. Returns
 * 0, or -1 with a message in err (cap bytes) for protoc to show. */
int gen_file(const Google__Protobuf__FileDescriptorProto *file, const gen_types_t *types,
             gen_buf_t *header, gen_buf_t *source, char *err, size_t cap);

#endif
