/* tests/rpc/test_certs.c — see test_certs.h. */
#include "test_certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int test_certs_make(char dir[64], const char *tag) {
  snprintf(dir, 64, "/tmp/cohort%d-%s-XXXXXX", (int)getpid(), tag);
  if (!mkdtemp(dir)) return -1;
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "(cd %s && "
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
           "-subj /CN=cohort-test-ca -keyout ca.key -out ca.pem && "
           "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
           "-subj /CN=localhost -keyout srv.key -out srv.csr && "
           "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && "
           "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
           "-extfile ext.cnf -out srv.pem) >/dev/null 2>&1",
           dir);
  return system(cmd) == 0 ? 0 : -1;
}

void test_certs_remove(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}
