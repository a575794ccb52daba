/*
 * tools/protoc-gen-cohort/names.c — text buffers, template substitution,
 * and protoc-c's name mangling, reproduced rule for rule (checked against
 * protoc-c 1.4 output by tests/rpc-stubs: "my_pkg.subPkg" becomes
 * MyPkg__SubPkg / my_pkg__sub_pkg, "HTTPServer" HTTPServer / httpserver,
 * "X9Y" X9Y / x9_y). Every function that builds a name returns -1 instead
 * of truncating when the name does not fit.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/* ---- buffers --------------------------------------------------------- */

void gen_buf_append(gen_buf_t *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = cap <= GEN_OUTPUT_MAX ? realloc(b->data, cap) : NULL;
    if (p == NULL) {
      b->failed = 1;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void gen_buf_printf(gen_buf_t *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    gen_buf_append(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (big == NULL) {
    b->failed = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  gen_buf_append(b, big, (size_t)n);
  free(big);
}

void gen_buf_free(gen_buf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static const char *lookup(const char *const *vars, const char *key, size_t n) {
  for (size_t i = 0; vars[i] != NULL; i += 2)
    if (strlen(vars[i]) == n && memcmp(vars[i], key, n) == 0) return vars[i + 1];
  return NULL;
}

void gen_emit(gen_buf_t *b, const char *const *vars, const char *tmpl) {
  const char *p = tmpl;
  for (;;) {
    const char *d = strchr(p, '$');
    if (d == NULL) {
      gen_buf_append(b, p, strlen(p));
      return;
    }
    gen_buf_append(b, p, (size_t)(d - p));
    const char *e = strchr(d + 1, '$');
    if (e == NULL) {
      fprintf(stderr, "protoc-gen-cohort: bug: unterminated $ in template\n");
      abort();
    }
    if (e == d + 1) {
      gen_buf_append(b, "$", 1);
    } else {
      const char *v = lookup(vars, d + 1, (size_t)(e - d - 1));
      if (v == NULL) {
        fprintf(stderr, "protoc-gen-cohort: bug: no variable '%.*s'\n", (int)(e - d - 1),
                d + 1);
        abort();
      }
      gen_buf_append(b, v, strlen(v));
    }
    p = e + 1;
  }
}

/* ---- names ------------------------------------------------------------ */

int gen_camel(const char *piece, char *out, size_t cap) {
  size_t n = 0;
  int up = 1;
  for (const char *p = piece; *p; p++) {
    if (*p == '_') {
      up = 1;
      continue;
    }
    if (n + 1 >= cap) return -1;
    out[n++] = up ? (char)toupper((unsigned char)*p) : *p;
    up = 0;
  }
  out[n] = '\0';
  return 0;
}

int gen_lower(const char *piece, char *out, size_t cap) {
  size_t n = 0;
  int prev_upper = 1; /* no '_' before the first character */
  for (const char *p = piece; *p; p++) {
    int is_upper = isupper((unsigned char)*p) != 0;
    if (n + 2 >= cap) return -1;
    if (is_upper && !prev_upper) out[n++] = '_';
    out[n++] = (char)tolower((unsigned char)*p);
    prev_upper = is_upper;
  }
  out[n] = '\0';
  return 0;
}

/* Applies `one` to each dot-separated piece of `full`, joined by `sep`. */
static int mangle(const char *full, char *out, size_t cap, const char *sep,
                  int (*one)(const char *, char *, size_t)) {
  size_t sep_len = strlen(sep);
  char piece[GEN_NAME_MAX], conv[GEN_NAME_MAX];
  size_t n = 0;
  out[0] = '\0';
  for (const char *p = full; *p;) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    if (len >= sizeof piece) return -1;
    memcpy(piece, p, len);
    piece[len] = '\0';
    p += len + (dot != NULL);
    if (len == 0) continue;
    if (one(piece, conv, sizeof conv) != 0) return -1;
    size_t c = strlen(conv);
    if (n + c + sep_len + 1 > cap) return -1;
    if (n > 0) {
      memcpy(out + n, sep, sep_len);
      n += sep_len;
    }
    memcpy(out + n, conv, c + 1);
    n += c;
  }
  return 0;
}

int gen_c_type(const char *full, char *out, size_t cap) {
  return mangle(full, out, cap, "__", gen_camel);
}

int gen_c_lower(const char *full, char *out, size_t cap) {
  return mangle(full, out, cap, "__", gen_lower);
}

int gen_stub_prefix(const char *full, char *out, size_t cap) {
  return mangle(full, out, cap, "_", gen_lower);
}

int gen_upper(const char *s, char *out, size_t cap) {
  size_t n = strlen(s);
  if (n + 1 > cap) return -1;
  for (size_t i = 0; i <= n; i++) out[i] = (char)toupper((unsigned char)s[i]);
  return 0;
}

int gen_strip_proto(const char *file, char *out, size_t cap) {
  size_t n = strlen(file);
  if (n >= 6 && strcmp(file + n - 6, ".proto") == 0) n -= 6;
  if (n + 1 > cap) return -1;
  memcpy(out, file, n);
  out[n] = '\0';
  return 0;
}

int gen_is_reserved(const char *s) {
  static const char *const kw[] = {
      "auto",     "break",    "case",       "char",          "const",         "continue",
      "default",  "do",       "double",     "else",          "enum",          "extern",
      "float",    "for",      "goto",       "if",            "inline",        "int",
      "long",     "register", "restrict",   "return",        "short",         "signed",
      "sizeof",   "static",   "struct",     "switch",        "typedef",       "union",
      "unsigned", "void",     "volatile",   "while",         "_Alignas",      "_Alignof",
      "_Atomic",  "_Bool",    "_Complex",   "_Generic",      "_Imaginary",    "_Noreturn",
      "_Static_assert", "_Thread_local",
  };
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strcmp(s, kw[i]) == 0) return 1;
  return 0;
}

/* ---- type table ------------------------------------------------------- */

static int types_add(gen_types_t *t, const char *scope, const char *name,
                     const char *file) {
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    gen_type_t *v = realloc(t->v, cap * sizeof *v);
    if (v == NULL) return -1;
    t->v = v;
    t->cap = cap;
  }
  size_t len = strlen(scope) + 1 + strlen(name) + 1;
  char *full = malloc(len);
  if (full == NULL) return -1;
  snprintf(full, len, "%s.%s", scope, name);
  t->v[t->n].full = full;
  t->v[t->n].file = file;
  t->n++;
  return 0;
}

static int types_walk(gen_types_t *t, const char *scope,
                      Google__Protobuf__DescriptorProto *const *msgs, size_t n,
                      const char *file) {
  for (size_t i = 0; i < n; i++) {
    if (msgs[i]->name == NULL) continue;
    if (types_add(t, scope, msgs[i]->name, file) != 0) return -1;
    const char *inner = t->v[t->n - 1].full;
    if (types_walk(t, inner, msgs[i]->nested_type, msgs[i]->n_nested_type, file) != 0)
      return -1;
  }
  return 0;
}

int gen_types_collect(gen_types_t *t,
                      const Google__Protobuf__Compiler__CodeGeneratorRequest *req) {
  for (size_t i = 0; i < req->n_proto_file; i++) {
    const Google__Protobuf__FileDescriptorProto *f = req->proto_file[i];
    if (f->name == NULL) continue;
    char scope[GEN_NAME_MAX];
    int n = snprintf(scope, sizeof scope, "%s%s", f->package ? "." : "",
                     f->package ? f->package : "");
    if (n < 0 || (size_t)n >= sizeof scope) return -1;
    if (types_walk(t, scope, f->message_type, f->n_message_type, f->name) != 0) return -1;
  }
  return 0;
}

const gen_type_t *gen_types_find(const gen_types_t *t, const char *full) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].full, full) == 0) return &t->v[i];
  return NULL;
}

void gen_types_free(gen_types_t *t) {
  for (size_t i = 0; i < t->n; i++) free(t->v[i].full);
  free(t->v);
  memset(t, 0, sizeof *t);
}
