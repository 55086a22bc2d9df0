/*
 * One registrant on a local stream socket, timing each call (bench/set-latency.ts): v3 SET of a
 * new program, then v3 UNSET of it, one call in flight, each timed from just before its write
 * to the end of its reply with CLOCK_MONOTONIC. A C client, so that what is timed is the
 * daemon and the kernel: a Node.js client's own JIT and GC added milliseconds to its tail.
 *
 * Built at benchmark time (bench/loadgen-build.ts) with the system's C compiler.
 *
 * usage: setgen [--per-call] SOCKET_PATH PROG_BASE PHASE [PHASE ...]
 *   PHASE is LABEL:PAIRS (timed) or -:PAIRS (run, not timed). Phases run in order on one
 *   connection; pair i (over all phases) registers program PROG_BASE + i.
 *   --per-call: each call on a connection of its own, connected and closed within the timed
 *   span, as libtirpc's rpcb_set() and rpcb_unset() do (a client per call, destroyed after).
 * Prints one JSON line: {"phases":[{"label":..,"set":[µs,..],"unset":[µs,..]},..]}.
 * Exits 1 when a call fails, is answered FALSE or not within IO_TIMEOUT_S.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROGNAME "setgen"
#include "wire.h"

#define MAX_PHASES 16
#define MAX_TIMED_PAIRS 1000000
#define REPLY_MAX 1024

static const char NETID[] = "udp";
static const char ADDR[] = "198.51.100.1.3.232";

/* An XDR string: length, bytes, zero padding to 4. */
static size_t put_string(unsigned char *p, const char *s) {
  size_t n = strlen(s), padded = (n + 3) & ~(size_t)3;
  put32(p, (uint32_t)n);
  memset(p + 4, 0, padded);
  memcpy(p + 4, s, n);
  return 4 + padded;
}

/* A record-marked v3 SET (proc 1) or UNSET (proc 2) of (prog, 1, "udp", ADDR, ""). */
static size_t build_call(unsigned char *b, uint32_t xid, uint32_t proc, uint32_t prog) {
  size_t o = 4;
  const uint32_t head[] = {xid, 0, 2, 100000, 3, proc, 0, 0, 0, 0, prog, 1};
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++, o += 4) put32(b + o, head[i]);
  o += put_string(b + o, NETID);
  o += put_string(b + o, ADDR);
  o += put_string(b + o, "");
  put32(b, 0x80000000u | (uint32_t)(o - 4));
  return o;
}

static void write_all(int fd, const unsigned char *b, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) die("write");
    b += w;
    n -= (size_t)w;
  }
}

static void read_all(int fd, unsigned char *b, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, b, n);
    if (r < 0) die("read");
    if (r == 0) {
      fprintf(stderr, PROGNAME ": the daemon closed the connection\n");
      exit(1);
    }
    b += r;
    n -= (size_t)r;
  }
}

/* One call and its reply (a single last fragment); returns the boolean result. */
static int call(int fd, uint32_t xid, uint32_t proc, uint32_t prog) {
  unsigned char out[256], in[REPLY_MAX];
  write_all(fd, out, build_call(out, xid, proc, prog));
  read_all(fd, in, 4);
  uint32_t mark = get32(in), len = mark & 0x7fffffffu;
  if (!(mark & 0x80000000u) || len < 28 || len > REPLY_MAX) {
    fprintf(stderr, PROGNAME ": unexpected reply record (mark %08x)\n", mark);
    exit(1);
  }
  read_all(fd, in, len);
  /* xid, REPLY, MSG_ACCEPTED, verifier (flavor, empty body), SUCCESS, bool. */
  if (get32(in) != xid || get32(in + 4) != 1 || get32(in + 8) != 0 || get32(in + 16) != 0 || get32(in + 20) != 0) {
    fprintf(stderr, PROGNAME ": call %u not accepted\n", xid);
    exit(1);
  }
  return get32(in + 24) != 0;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void print_samples(const char *name, const double *xs, long n) {
  printf("\"%s\":[", name);
  for (long i = 0; i < n; i++) printf(i ? ",%.1f" : "%.1f", xs[i]);
  printf("]");
}

static struct sockaddr_un sa = {.sun_family = AF_UNIX};

/* Every read and write gives up after this long: a daemon that stops answering ends the run. */
#define IO_TIMEOUT_S 10

static int open_conn(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) die("SO_RCVTIMEO");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) die("SO_SNDTIMEO");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  return fd;
}

/* One call, on `fd`, or on a connection of its own when fd < 0. */
static int call_on(int fd, uint32_t xid, uint32_t proc, uint32_t prog) {
  if (fd >= 0) return call(fd, xid, proc, prog);
  int own = open_conn();
  int r = call(own, xid, proc, prog);
  close(own);
  return r;
}

int main(int argc, char **argv) {
  int per_call = argc > 1 && strcmp(argv[1], "--per-call") == 0;
  if (per_call) {
    argv++;
    argc--;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: " PROGNAME " [--per-call] SOCKET_PATH PROG_BASE LABEL:PAIRS [LABEL:PAIRS ...]\n");
    return 2;
  }
  int nphases = argc - 3;
  if (nphases > MAX_PHASES) {
    fprintf(stderr, PROGNAME ": at most %d phases\n", MAX_PHASES);
    return 2;
  }
  uint32_t prog = (uint32_t)strtoul(argv[2], NULL, 0);
  char *labels[MAX_PHASES];
  long pairs[MAX_PHASES];
  for (int i = 0; i < nphases; i++) {
    char *colon = strrchr(argv[3 + i], ':');
    pairs[i] = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || pairs[i] < 0 || pairs[i] > MAX_TIMED_PAIRS) {
      fprintf(stderr, PROGNAME ": bad phase '%s'\n", argv[3 + i]);
      return 2;
    }
    *colon = '\0';
    labels[i] = argv[3 + i];
  }

  if (strlen(argv[1]) >= sizeof sa.sun_path) {
    fprintf(stderr, PROGNAME ": socket path too long\n");
    return 2;
  }
  strcpy(sa.sun_path, argv[1]);
  int fd = per_call ? -1 : open_conn();

  uint32_t xid = 1;
  printf("{\"phases\":[");
  int printed = 0;
  for (int p = 0; p < nphases; p++) {
    int timed = strcmp(labels[p], "-") != 0;
    double *set = timed ? malloc(sizeof(double) * (size_t)(pairs[p] + 1)) : NULL;
    double *unset = timed ? malloc(sizeof(double) * (size_t)(pairs[p] + 1)) : NULL;
    if (timed && (!set || !unset)) die("malloc");
    for (long i = 0; i < pairs[p]; i++, prog++) {
      double t0 = now_us();
      if (!call_on(fd, xid++, 1, prog)) {
        fprintf(stderr, PROGNAME ": SET of %u answered FALSE\n", prog);
        return 1;
      }
      double t1 = now_us();
      if (!call_on(fd, xid++, 2, prog)) {
        fprintf(stderr, PROGNAME ": UNSET of %u answered FALSE\n", prog);
        return 1;
      }
      double t2 = now_us();
      if (timed) {
        set[i] = t1 - t0;
        unset[i] = t2 - t1;
      }
    }
    if (timed) {
      printf("%s{\"label\":\"%s\",", printed++ ? "," : "", labels[p]);
      print_samples("set", set, pairs[p]);
      printf(",");
      print_samples("unset", unset, pairs[p]);
      printf("}");
      free(set);
      free(unset);
    }
  }
  printf("]}\n");
  if (fd >= 0) close(fd);
  return 0;
}
