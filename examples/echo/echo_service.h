/*
 * examples/echo/echo_service.h — the example's server side: handlers for
 * the four methods of example.Echo (echo.proto), shared by server.c and
 * the example's test.
 */
#ifndef COHORT_EXAMPLE_ECHO_SERVICE_H
#define COHORT_EXAMPLE_ECHO_SERVICE_H

#include "echo.cohort.h"

/* Most replies Repeat streams for one request (`times` is clamped). */
#define ECHO_REPEAT_MAX 100

/* Longest text Join accumulates; more ends the call RESOURCE_EXHAUSTED. */
#define ECHO_JOIN_MAX 4096

/* Registers the four handlers on `srv`. The handler table is static, so
 * nothing needs freeing. Returns 0 or what example_echo_register returns. */
int echo_service_register(cohort_rpc_server_t *srv);

#endif
