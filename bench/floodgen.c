/*
 * The flood benchmark's two open-loop clients (bench/flood.ts), built at benchmark time with the
 * system's C compiler like bench/loadgen.c.
 *
 *   floodgen victim HOST PORT FROM RATE DURATION_MS HEX
 *     A well-behaved client: one UDP socket bound to FROM sends RATE calls a second, open
 *     loop (each a fresh xid), for DURATION_MS, then waits 1 s for the last answers. A call
 *     counts as answered when its reply comes within 1 s. Prints one JSON line: sent,
 *     answered, late (answered after 1 s), histogram ([µs, count] pairs of the answered).
 *
 *   floodgen flood HOST PORT FROM[,FROM...] DURATION_MS HEX
 *     A flooder that never reads: one socket per source address, batches of 64 calls per
 *     sendmmsg, round robin over the sources, as fast as one CPU sends, for DURATION_MS.
 *     Prints one JSON line: sent (datagrams the kernel accepted).
 *
 *   floodgen syn HOST PORT NET DURATION_MS
 *     A SYN flood: TCP SYNs to HOST:PORT from random sources NET.128-NET.254 (NET: the first
 *     three octets, "198.18.0"), spoofed through a raw socket, as fast as one CPU sends.
 *     Prints one JSON line: sent.
 *
 *   floodgen tcpvictim HOST PORT FROM RATE DURATION_MS HEX
 *     The well-behaved client over TCP: at most RATE times a second, one after the other, a new
 *     connection from FROM, one call, its reply, close; counted answered when that took at most
 *     1 s. Prints the same JSON line as victim.
 *
 * IPv4 only (the benchmark's link). Every loop is bounded by its duration.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGNAME "floodgen"
#include "wire.h"

#define MAX_MSG_BYTES 1024
#define MAX_SOURCES 64
#define BATCH 64
#define ANSWER_WITHIN_US 1000000
#define MAX_CALLS 1000000

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static size_t unhex(const char *hx, unsigned char *out) {
  size_t n = strlen(hx);
  if (n % 2 || n / 2 > MAX_MSG_BYTES || n / 2 < 4) {
    fprintf(stderr, "floodgen: bad message\n");
    exit(2);
  }
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hx + 2 * i, "%2x", &v) != 1) {
      fprintf(stderr, "floodgen: bad hex\n");
      exit(2);
    }
    out[i] = (unsigned char)v;
  }
  return n / 2;
}

static int udp_from_to(const char *from, const char *host, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, from, &a.sin_addr) != 1 || inet_pton(AF_INET, host, &to.sin_addr) != 1) {
    fprintf(stderr, "floodgen: bad IPv4 address\n");
    exit(2);
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  return fd;
}

/* The victims' result line: counts and the latency histogram (µs, answered within 1 s). */
static void print_result(long sent, long answered, long late, const uint32_t *hist) {
  printf("{\"sent\":%ld,\"answered\":%ld,\"late\":%ld,\"histogram\":[", sent, answered, late);
  int first = 1;
  for (long us = 0; us <= ANSWER_WITHIN_US; us++) {
    if (!hist[us]) continue;
    printf("%s[%ld,%u]", first ? "" : ",", us, hist[us]);
    first = 0;
  }
  printf("]}\n");
}

static int victim(char **argv) {
  const char *host = argv[2], *from = argv[4];
  int port = atoi(argv[3]);
  double rate = atof(argv[5]), duration_us = atof(argv[6]) * 1000;
  unsigned char msg[MAX_MSG_BYTES], in[2048];
  size_t len = unhex(argv[7], msg);
  long total = (long)(rate * duration_us / 1e6);
  if (rate <= 0 || total < 1 || total > MAX_CALLS) {
    fprintf(stderr, "floodgen: bad rate/duration\n");
    return 2;
  }
  double *sent_at = calloc((size_t)total, sizeof *sent_at);
  uint32_t *hist = calloc(ANSWER_WITHIN_US + 1, sizeof *hist);
  if (!sent_at || !hist) die("calloc");
  int fd = udp_from_to(from, host, port);
  long sent = 0, answered = 0, late = 0;
  const uint32_t tag = 0x5a000000u;
  double t0 = now_us(), end = t0 + duration_us + ANSWER_WITHIN_US;
  for (;;) {
    double now = now_us();
    while (sent < total && now >= t0 + sent * 1e6 / rate) {
      put32(msg, tag | (uint32_t)sent);
      sent_at[sent] = now_us();
      if (send(fd, msg, len, 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED) die("send");
      sent++;
    }
    if (now >= end) break;
    double next = sent < total ? t0 + sent * 1e6 / rate : end;
    int wait_ms = (int)((next - now) / 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, wait_ms < 0 ? 0 : wait_ms);
    if (r < 0 && errno != EINTR) die("poll");
    if (r <= 0) continue;
    for (;;) {
      ssize_t n = recv(fd, in, sizeof in, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ECONNREFUSED || errno == EINTR) continue;
        die("recv");
      }
      if (n < 4) continue;
      uint32_t xid = get32(in);
      if ((xid & 0xff000000u) != tag) continue;
      long i = (long)(xid & 0xffffffu);
      if (i >= sent || sent_at[i] == 0) continue;
      double us = now_us() - sent_at[i];
      sent_at[i] = 0; /* a duplicate reply is not counted twice */
      if (us <= ANSWER_WITHIN_US) {
        answered++;
        hist[(long)us]++;
      } else {
        late++;
      }
    }
  }
  print_result(sent, answered, late, hist);
  return 0;
}

static int flood(char **argv) {
  const char *host = argv[2];
  int port = atoi(argv[3]);
  double duration_us = atof(argv[5]) * 1000;
  unsigned char msg[MAX_MSG_BYTES];
  size_t len = unhex(argv[6], msg);
  int fds[MAX_SOURCES], nsrc = 0;
  char *list = strdup(argv[4]);
  for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && nsrc < MAX_SOURCES; tok = strtok_r(NULL, ",", &save))
    fds[nsrc++] = udp_from_to(tok, host, port);
  static unsigned char bufs[BATCH][MAX_MSG_BYTES];
  static struct iovec iov[BATCH];
  static struct mmsghdr hdr[BATCH];
  for (int i = 0; i < BATCH; i++) {
    memcpy(bufs[i], msg, len);
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = len;
    hdr[i].msg_hdr.msg_iov = &iov[i];
    hdr[i].msg_hdr.msg_iovlen = 1;
  }
  long long sent = 0;
  uint32_t xid = 0x66000000u;
  double end = now_us() + duration_us;
  while (now_us() < end) {
    for (int s = 0; s < nsrc; s++) {
      for (int i = 0; i < BATCH; i++) put32(bufs[i], xid++);
      int n = sendmmsg(fds[s], hdr, BATCH, 0);
      if (n > 0) sent += n;
      else if (errno != EAGAIN && errno != ECONNREFUSED && errno != ENOBUFS && errno != EINTR) die("sendmmsg");
    }
  }
  printf("{\"sent\":%lld}\n", sent);
  return 0;
}

static uint16_t csum(const unsigned char *p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static int syn(char **argv) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  char src[32];
  if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) return 2;
  double end = now_us() + atof(argv[5]) * 1000;
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) die("raw socket");
  unsigned char pkt[40];
  uint32_t rnd = 0x9e3779b9u;
  long long sent = 0;
  while (now_us() < end) {
    for (int k = 0; k < 64; k++) {
      rnd ^= rnd << 13;
      rnd ^= rnd >> 17;
      rnd ^= rnd << 5;
      snprintf(src, sizeof src, "%s.%u", argv[4], 128 + rnd % 127);
      struct in_addr s;
      if (inet_pton(AF_INET, src, &s) != 1) return 2;
      memset(pkt, 0, sizeof pkt);
      pkt[0] = 0x45;
      pkt[8] = 64;
      pkt[9] = IPPROTO_TCP;
      memcpy(pkt + 12, &s, 4);
      memcpy(pkt + 16, &to.sin_addr, 4);
      unsigned char *t = pkt + 20;
      t[0] = (unsigned char)((1024 + rnd % 60000) >> 8);
      t[1] = (unsigned char)(1024 + rnd % 60000);
      memcpy(t + 2, &to.sin_port, 2);
      put32(t + 4, rnd);
      t[12] = 5 << 4;
      t[13] = 0x02; /* SYN */
      t[14] = 0xfa;
      t[15] = 0xf0;
      /* pseudo-header: source, destination, protocol, TCP length */
      uint32_t sum = 0;
      for (int i = 12; i < 20; i += 2) sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
      sum += IPPROTO_TCP + 20;
      uint16_t c = csum(t, 20, sum);
      t[16] = (unsigned char)(c >> 8);
      t[17] = (unsigned char)c;
      if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) == sizeof pkt) sent++;
      else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) die("sendto");
    }
  }
  printf("{\"sent\":%lld}\n", sent);
  return 0;
}

/* One connection, one call, its reply: microseconds taken, or -1 when not within 1 s. */
static double tcp_call(const char *from, const char *host, int port, const unsigned char *rec, size_t len) {
  double t0 = now_us(), deadline = t0 + ANSWER_WITHIN_US;
  struct sockaddr_in a = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, from, &a.sin_addr) != 1 || inet_pton(AF_INET, host, &to.sin_addr) != 1) exit(2);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  double result = -1;
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) goto out;
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  if (poll(&p, 1, (int)((deadline - now_us()) / 1000) + 1) != 1 || (p.revents & (POLLERR | POLLHUP))) goto out;
  if (write(fd, rec, len) != (ssize_t)len) goto out;
  unsigned char in[512];
  size_t got = 0;
  while (now_us() < deadline) {
    p.events = POLLIN;
    if (poll(&p, 1, (int)((deadline - now_us()) / 1000) + 1) != 1) break;
    ssize_t n = read(fd, in + got, sizeof in - got);
    if (n <= 0) break;
    got += (size_t)n;
    if (got >= 4 && got >= 4 + (get32(in) & 0x7fffffffu)) {
      if (now_us() <= deadline) result = now_us() - t0;
      break;
    }
    if (got == sizeof in) break;
  }
out:
  close(fd);
  return result;
}

static int tcpvictim(char **argv) {
  const char *host = argv[2], *from = argv[4];
  int port = atoi(argv[3]);
  double rate = atof(argv[5]), duration_us = atof(argv[6]) * 1000;
  unsigned char rec[MAX_MSG_BYTES + 4];
  size_t len = unhex(argv[7], rec + 4);
  put32(rec, 0x80000000u | (uint32_t)len);
  uint32_t *hist = calloc(ANSWER_WITHIN_US + 1, sizeof *hist);
  if (!hist) die("calloc");
  long sent = 0, answered = 0;
  double t0 = now_us();
  while (now_us() < t0 + duration_us) {
    double next = t0 + sent * 1e6 / rate;
    while (now_us() < next) usleep(100);
    put32(rec + 4, 0x5b000000u | (uint32_t)sent);
    sent++;
    double us = tcp_call(from, host, port, rec, len + 4);
    if (us >= 0) {
      answered++;
      hist[(long)us]++;
    }
  }
  print_result(sent, answered, 0, hist);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "syn") == 0) return syn(argv);
  if (argc == 8 && strcmp(argv[1], "tcpvictim") == 0) return tcpvictim(argv);
  if (argc == 8 && strcmp(argv[1], "victim") == 0) return victim(argv);
  if (argc == 7 && strcmp(argv[1], "flood") == 0) return flood(argv);
  fprintf(stderr,
          "usage: floodgen victim HOST PORT FROM RATE DURATION_MS HEX\n"
          "       floodgen flood HOST PORT FROM[,FROM...] DURATION_MS HEX\n"
          "       floodgen syn HOST PORT NET DURATION_MS\n"
          "       floodgen tcpvictim HOST PORT FROM RATE DURATION_MS HEX\n");
  return 2;
}
