/*
 * What the C load generators (loadgen.c, floodgen.c) share: big-endian words and a fatal error.
 * Each defines PROGNAME before including this.
 */
#ifndef RPCBIND_TS_BENCH_WIRE_H
#define RPCBIND_TS_BENCH_WIRE_H
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void die(const char *what) {
  fprintf(stderr, PROGNAME ": %s: %s\n", what, strerror(errno));
  exit(1);
}

static inline void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static inline uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
#endif
