/*
 * tests/rpc/test_certs.h — a throwaway CA and a server certificate for
 * 127.0.0.1 / localhost (P-256, one day), made with the openssl CLI in a
 * fresh directory /tmp/cohortPID-TAG-XXXXXX, for the TLS tests.
 */
#ifndef COHORT_TEST_CERTS_H
#define COHORT_TEST_CERTS_H

/* Writes ca.pem, srv.pem, srv.key under a new directory whose path goes
 * to dir (64 bytes). 0 on success. */
int test_certs_make(char dir[64], const char *tag);
void test_certs_remove(const char *dir);

#endif
