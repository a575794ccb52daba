/*
 * tools/protoc-gen-cohort/main.c — the plugin's I/O: read protoc's
 * CodeGeneratorRequest from stdin (bounded by GEN_REQUEST_MAX), generate
 * two files per file_to_generate, write the CodeGeneratorResponse to
 * stdout. Any problem with the input goes into the response's error field
 * (protoc prints it and fails); only unreadable stdin, an unparseable
 * request or a failed write exit non-zero.
 *
 * Usage (protoc finds the plugin by its name, or through --plugin):
 *   protoc --plugin=protoc-gen-cohort=PATH --cohort_out=OUTDIR -I DIR x.proto
 * Run by hand with --version or --help it says what it is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

typedef Google__Protobuf__Compiler__CodeGeneratorRequest request_t;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse response_t;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File response_file_t;

#define MAX_FILES_OUT 4096

static int read_all(FILE *f, uint8_t **out, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) return -1;
  for (;;) {
    if (n == cap) {
      if (cap >= GEN_REQUEST_MAX) {
        free(buf);
        return -1;
      }
      cap *= 2;
      uint8_t *p = realloc(buf, cap);
      if (p == NULL) {
        free(buf);
        return -1;
      }
      buf = p;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  if (ferror(f)) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

static int write_response(const response_t *resp) {
  size_t n = protobuf_c_message_get_packed_size(&resp->base);
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL) return -1;
  protobuf_c_message_pack(&resp->base, buf);
  int ok = fwrite(buf, 1, n, stdout) == n && fflush(stdout) == 0;
  free(buf);
  return ok ? 0 : -1;
}

static const Google__Protobuf__FileDescriptorProto *find_file(const request_t *req,
                                                            const char *name) {
  for (size_t i = 0; i < req->n_proto_file; i++)
    if (req->proto_file[i]->name && strcmp(req->proto_file[i]->name, name) == 0)
      return req->proto_file[i];
  return NULL;
}

/* Moves a generated buffer into a response file entry named base+suffix. */
static int add_output(response_t *resp, response_file_t *slots, const char *base,
                      const char *suffix, gen_buf_t *content) {
  response_file_t *f = &slots[resp->n_file];
  google__protobuf__compiler__code_generator_response__file__init(f);
  size_t len = strlen(base) + strlen(suffix) + 1;
  f->name = malloc(len);
  if (f->name == NULL) return -1;
  snprintf(f->name, len, "%s%s", base, suffix);
  f->content = content->data;
  content->data = NULL;
  resp->file[resp->n_file++] = f;
  return 0;
}

/* Fills resp for every file to generate; on an input problem sets
 * resp->error (owned by err_buf) and returns 0; -1 means out of memory. */
static int generate(const request_t *req, response_t *resp, response_file_t *slots,
                    char *err, size_t cap) {
  if (req->parameter != NULL && req->parameter[0] != '\0') {
    snprintf(err, cap, "protoc-gen-cohort takes no options (got '%s')", req->parameter);
    resp->error = err;
    return 0;
  }
  if (req->n_file_to_generate * 2 > MAX_FILES_OUT) {
    snprintf(err, cap, "too many files in one run (at most %d)", MAX_FILES_OUT / 2);
    resp->error = err;
    return 0;
  }
  gen_types_t types = {0};
  if (gen_types_collect(&types, req) != 0) {
    gen_types_free(&types);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < req->n_file_to_generate && resp->error == NULL && rc == 0; i++) {
    const char *name = req->file_to_generate[i];
    const Google__Protobuf__FileDescriptorProto *fd = find_file(req, name);
    char base[GEN_NAME_MAX], msg[1024];
    gen_buf_t h = {0}, c = {0};
    if (fd == NULL || gen_strip_proto(name, base, sizeof base) != 0) {
      snprintf(err, cap, "%s: not in the request, or its name is too long", name);
      resp->error = err;
    } else if (gen_file(fd, &types, &h, &c, msg, sizeof msg) != 0) {
      snprintf(err, cap, "%s: %s", name, msg);
      resp->error = err;
    } else if (h.failed || c.failed) {
      rc = -1;
    } else if (add_output(resp, slots, base, ".cohort.h", &h) != 0 ||
               add_output(resp, slots, base, ".cohort.c", &c) != 0) {
      rc = -1;
    }
    gen_buf_free(&h);
    gen_buf_free(&c);
  }
  gen_types_free(&types);
  return rc;
}

static void free_outputs(response_t *resp) {
  for (size_t i = 0; i < resp->n_file; i++) {
    free(resp->file[i]->name);
    free(resp->file[i]->content);
  }
}

int main(int argc, char **argv) {
  if (argc > 1) {
    int help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
    FILE *f = help || strcmp(argv[1], "--version") == 0 ? stdout : stderr;
    fprintf(f, "protoc-gen-cohort: protoc plugin generating cohort RPC stubs in C\n"
               "usage: protoc --plugin=protoc-gen-cohort=%s --cohort_out=DIR "
               "[-I DIR] FILE.proto\n(see docs/rpc-stubs.md)\n",
            argv[0]);
    return f == stdout ? 0 : 2;
  }
  uint8_t *in = NULL;
  size_t in_len = 0;
  if (read_all(stdin, &in, &in_len) != 0) {
    fprintf(stderr, "protoc-gen-cohort: cannot read the request from stdin\n");
    return 1;
  }
  request_t *req = google__protobuf__compiler__code_generator_request__unpack(NULL, in_len, in);
  free(in);
  if (req == NULL) {
    fprintf(stderr, "protoc-gen-cohort: stdin is not a CodeGeneratorRequest "
                    "(run me through protoc)\n");
    return 1;
  }
  static response_file_t slots[MAX_FILES_OUT];
  static response_file_t *ptrs[MAX_FILES_OUT];
  static char err[4096];
  response_t resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
  resp.file = ptrs;
  /* proto3 `optional` only changes fields, which the stubs never touch. */
  resp.has_supported_features = 1;
  resp.supported_features =
      GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
  int rc = generate(req, &resp, slots, err, sizeof err);
  if (rc != 0) {
    free_outputs(&resp);
    resp.n_file = 0;
    snprintf(err, sizeof err, "protoc-gen-cohort: out of memory");
    resp.error = err;
  }
  if (resp.error != NULL) {
    free_outputs(&resp);
    resp.n_file = 0;
  }
  int wrc = write_response(&resp);
  free_outputs(&resp);
  google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
  if (wrc != 0) {
    fprintf(stderr, "protoc-gen-cohort: cannot write the response to stdout\n");
    return 1;
  }
  return 0;
}
