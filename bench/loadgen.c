/*
 * Closed-loop ONC RPC load generator (the benchmark's default generator; bench/load.ts is the
 * same loop in Node.js). Several sockets to one address, each keeping a window of calls in
 * flight; every reply, matched by xid, is timed and immediately replaced by the next call.
 * UDP replies are read with recvmmsg and the follow-up calls leave with one sendmmsg per
 * socket per wake-up; TCP follow-ups leave in one write per socket. A generator that costs
 * little per call leaves the CPU to the daemon under test, so a rate measures the daemon.
 *
 * Built at benchmark time (bench/loadgen-build.ts) with the system's C compiler.
 *
 * usage: loadgen udp|tcp HOST PORT SOCKETS WINDOW WARMUP_MS DURATION_MS RETRY_MS GEN_ID
 *                PROG_OFFSET PROG_BASE HEX_MESSAGE [HEX_MESSAGE ...]
 * LOADGEN_FROM=ADDR in the environment binds every socket to that source address first.
 * Prints one JSON line: calls, elapsedMs, mismatches, retries, firstReplyHex, histogram
 * ([µs, count] pairs) and totalCalls (replies including the warm-up).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGNAME "loadgen"
#include "wire.h"

#define HIST_MAX_US 2000000
#define MAX_SOCKETS 64
#define MAX_WINDOW 1024
#define MAX_MESSAGES 8
#define MAX_MSG_BYTES 9000
#define BATCH 64
#define DGRAM_BYTES 65536
#define MAX_RECORD_BYTES (256u << 20)

struct msg {
  unsigned char *b; /* TCP: record mark + body; UDP: body */
  size_t len;
};

struct conn {
  int fd;
  /* TCP receive buffer (grows for large replies such as a DUMP at 100k entries). */
  unsigned char *in;
  size_t in_len, in_cap;
  /* TCP bytes not yet accepted by the kernel. */
  unsigned char *out;
  size_t out_len, out_cap;
};

static int tcp;
static int nsock, window, nslots, nmsgs, gen_id, prog_offset;
static uint32_t prog_base;
static struct msg *templates; /* [slot * nmsgs + i] */
static double *sent_at;        /* 0: no call outstanding */
static uint32_t *seq;
static uint32_t *hist;
static struct conn conns[MAX_SOCKETS];
static long long calls, total_calls, mismatches, retries;
static unsigned char *first;
static size_t first_len;
static int measuring, stopped;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t xid_of(int slot) {
  return ((uint32_t)gen_id << 24) | ((seq[slot] & 0xff) << 16) | (uint32_t)slot;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The next call of a slot: its template with a fresh xid (returned, not yet sent). */
static struct msg *next_call(int slot) {
  seq[slot] = (seq[slot] + 1) & 0xff;
  struct msg *m = &templates[slot * nmsgs + seq[slot] % nmsgs];
  put32(m->b + (tcp ? 4 : 0), xid_of(slot));
  sent_at[slot] = now_ms();
  return m;
}

static void tcp_queue(struct conn *c, const struct msg *m) {
  if (c->out_len + m->len > c->out_cap) {
    c->out_cap = (c->out_len + m->len) * 2;
    c->out = realloc(c->out, c->out_cap);
    if (!c->out) die("realloc");
  }
  memcpy(c->out + c->out_len, m->b, m->len);
  c->out_len += m->len;
}

static void tcp_flush(int epfd, struct conn *c) {
  size_t off = 0;
  while (off < c->out_len) {
    ssize_t n = write(c->fd, c->out + off, c->out_len - off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      die("write");
    }
    off += (size_t)n;
  }
  memmove(c->out, c->out + off, c->out_len - off);
  c->out_len -= off;
  struct epoll_event ev = {.events = EPOLLIN | (c->out_len ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - conns)};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A reply (body, no record mark) arrived: time it and return the slot to call again, or -1. */
static int on_reply(const unsigned char *p, size_t len) {
  if (len < 4) return -1;
  uint32_t xid = get32(p);
  int slot = xid & 0xffff;
  if (slot >= nslots || xid != xid_of(slot) || sent_at[slot] == 0) return -1; /* stale (retried) */
  double t = now_ms();
  if (!first) {
    first_len = len;
    first = malloc(len);
    if (!first) die("malloc");
    memcpy(first, p, len);
  } else if (first_len != len || memcmp(first + 4, p + 4, len - 4) != 0) {
    mismatches++;
  }
  total_calls++;
  if (measuring) {
    calls++;
    double us = (t - sent_at[slot]) * 1000;
    hist[us < HIST_MAX_US ? (uint32_t)us : HIST_MAX_US]++;
  }
  sent_at[slot] = 0;
  return stopped ? -1 : slot;
}

static void udp_readable(struct conn *c) {
  static unsigned char bufs[BATCH][DGRAM_BYTES];
  struct mmsghdr in[BATCH], out[BATCH];
  struct iovec iov_in[BATCH], iov_out[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov_in[i].iov_base = bufs[i];
      iov_in[i].iov_len = DGRAM_BYTES;
      memset(&in[i], 0, sizeof in[i]);
      in[i].msg_hdr.msg_iov = &iov_in[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(c->fd, in, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED) return;
      if (errno == EINTR) continue;
      die("recvmmsg");
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
      int slot = on_reply(bufs[i], in[i].msg_len);
      if (slot < 0) continue;
      struct msg *m = next_call(slot);
      iov_out[k].iov_base = m->b;
      iov_out[k].iov_len = m->len;
      memset(&out[k], 0, sizeof out[k]);
      out[k].msg_hdr.msg_iov = &iov_out[k];
      out[k].msg_hdr.msg_iovlen = 1;
      k++;
    }
    for (int done = 0; done < k;) {
      int s = sendmmsg(c->fd, out + done, (unsigned)(k - done), 0);
      if (s < 0) {
        if (errno == EINTR) continue;
        if (errno == ECONNREFUSED || errno == EAGAIN) break; /* retried by the timer */
        die("sendmmsg");
      }
      done += s;
    }
    if (n < BATCH) return;
  }
}

static void tcp_readable(int epfd, struct conn *c) {
  for (;;) {
    if (c->in_cap - c->in_len < 65536) {
      c->in_cap = c->in_cap * 2 + 65536;
      if (c->in_cap > MAX_RECORD_BYTES) {
        fprintf(stderr, "loadgen: reply larger than %u bytes\n", MAX_RECORD_BYTES);
        exit(1);
      }
      c->in = realloc(c->in, c->in_cap);
      if (!c->in) die("realloc");
    }
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n == 0) {
      if (stopped) return;
      fprintf(stderr, "loadgen: connection closed by the daemon\n");
      exit(1);
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      die("read");
    }
    c->in_len += (size_t)n;
  }
  /* Complete records: fragments are joined in place (marks squeezed out). */
  size_t pos = 0;
  for (;;) {
    size_t scan = pos, body = 0;
    int last = 0;
    while (!last && c->in_len - scan >= 4) {
      uint32_t mark = get32(c->in + scan);
      size_t flen = mark & 0x7fffffff;
      if (c->in_len - scan - 4 < flen) break;
      scan += 4 + flen;
      body += flen;
      last = (mark & 0x80000000u) != 0;
    }
    if (!last) break;
    /* Squeeze marks out: copy fragment bodies together starting at pos. */
    size_t src = pos, dst = pos;
    while (src < scan) {
      uint32_t flen = get32(c->in + src) & 0x7fffffff;
      memmove(c->in + dst, c->in + src + 4, flen);
      src += 4 + flen;
      dst += flen;
    }
    int slot = on_reply(c->in + pos, body);
    if (slot >= 0) tcp_queue(c, next_call(slot));
    pos = scan;
  }
  memmove(c->in, c->in + pos, c->in_len - pos);
  c->in_len -= pos;
  if (c->out_len) tcp_flush(epfd, c);
}

static void send_now(int epfd, int slot) {
  struct conn *c = &conns[slot / window];
  struct msg *m = next_call(slot);
  if (tcp) {
    tcp_queue(c, m);
    tcp_flush(epfd, c);
  } else if (send(c->fd, m->b, m->len, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN) {
    die("send");
  }
}

int main(int argc, char **argv) {
  if (argc < 13) {
    fprintf(stderr,
            "usage: loadgen udp|tcp HOST PORT SOCKETS WINDOW WARMUP_MS DURATION_MS RETRY_MS GEN_ID "
            "PROG_OFFSET PROG_BASE HEX_MESSAGE...\n");
    return 2;
  }
  tcp = strcmp(argv[1], "tcp") == 0;
  const char *host = argv[2];
  int port = atoi(argv[3]);
  nsock = atoi(argv[4]);
  window = atoi(argv[5]);
  double warmup_ms = atof(argv[6]), duration_ms = atof(argv[7]), retry_ms = atof(argv[8]);
  gen_id = atoi(argv[9]) & 0xff;
  prog_offset = atoi(argv[10]);
  prog_base = (uint32_t)strtoul(argv[11], NULL, 10);
  nmsgs = argc - 12;
  if (nsock < 1 || nsock > MAX_SOCKETS || window < 1 || window > MAX_WINDOW || nmsgs > MAX_MESSAGES ||
      (long)nsock * window > 0xffff) {
    fprintf(stderr, "loadgen: bad sockets/window/messages\n");
    return 2;
  }
  nslots = nsock * window;
  templates = calloc((size_t)nslots * nmsgs, sizeof *templates);
  sent_at = calloc((size_t)nslots, sizeof *sent_at);
  seq = calloc((size_t)nslots, sizeof *seq);
  hist = calloc(HIST_MAX_US + 1, sizeof *hist);
  if (!templates || !sent_at || !seq || !hist) die("calloc");
  for (int i = 0; i < nmsgs; i++) {
    const char *hx = argv[12 + i];
    size_t blen = strlen(hx) / 2;
    if (blen < 4 || blen > MAX_MSG_BYTES || strlen(hx) % 2) {
      fprintf(stderr, "loadgen: bad message %d\n", i);
      return 2;
    }
    for (int slot = 0; slot < nslots; slot++) {
      size_t hdr = tcp ? 4 : 0;
      struct msg *m = &templates[slot * nmsgs + i];
      m->len = hdr + blen;
      m->b = malloc(m->len);
      if (!m->b) die("malloc");
      if (tcp) put32(m->b, 0x80000000u | (uint32_t)blen);
      for (size_t j = 0; j < blen; j++) {
        int hi = hexval(hx[2 * j]), lo = hexval(hx[2 * j + 1]);
        if (hi < 0 || lo < 0) {
          fprintf(stderr, "loadgen: bad hex in message %d\n", i);
          return 2;
        }
        m->b[hdr + j] = (unsigned char)(hi << 4 | lo);
      }
      if (prog_offset >= 0 && (size_t)prog_offset + 4 <= blen)
        put32(m->b + hdr + prog_offset, prog_base + (uint32_t)gen_id * 65536 + (uint32_t)slot);
    }
  }

  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
    fprintf(stderr, "loadgen: bad IPv4 address %s\n", host);
    return 2;
  }
  int epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  /* Source address of every socket (the flood benchmark's hog plays a remote host). */
  const char *from_env = getenv("LOADGEN_FROM");
  for (int s = 0; s < nsock; s++) {
    int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM), 0);
    if (fd < 0) die("socket");
    if (from_env) {
      struct sockaddr_in from = {.sin_family = AF_INET};
      if (inet_pton(AF_INET, from_env, &from.sin_addr) != 1 || bind(fd, (struct sockaddr *)&from, sizeof from) < 0) die("bind LOADGEN_FROM");
    }
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
    int one = 1;
    if (tcp) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
    conns[s].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }

  double t0 = now_ms();
  double t_start = t0 + warmup_ms, t_end = t_start + duration_ms, next_retry = t0 + retry_ms / 2;
  for (int slot = 0; slot < nslots; slot++) send_now(epfd, slot);
  struct epoll_event evs[MAX_SOCKETS];
  for (;;) {
    double t = now_ms();
    if (!measuring && t >= t_start) {
      measuring = 1;
      t_start = t;
      t_end = t + duration_ms;
    }
    if (measuring && t >= t_end) break;
    if (!tcp && t >= next_retry) {
      for (int slot = 0; slot < nslots; slot++) {
        if (sent_at[slot] != 0 && sent_at[slot] < t - retry_ms) {
          retries++;
          send_now(epfd, slot);
        }
      }
      next_retry = t + (retry_ms / 2 > 10 ? retry_ms / 2 : 10);
    }
    int n = epoll_wait(epfd, evs, MAX_SOCKETS, 10);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = &conns[evs[i].data.u32];
      if (tcp) {
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) tcp_readable(epfd, c);
        if ((evs[i].events & EPOLLOUT) && c->out_len) tcp_flush(epfd, c);
      } else {
        udp_readable(c);
      }
    }
  }
  double elapsed = now_ms() - t_start;
  stopped = 1;

  printf("{\"calls\":%lld,\"totalCalls\":%lld,\"elapsedMs\":%.3f,\"mismatches\":%lld,\"retries\":%lld,\"firstReplyHex\":\"",
         calls, total_calls, elapsed, mismatches, retries);
  for (size_t i = 0; first && i < first_len && i < 64; i++) printf("%02x", first[i]);
  printf("\",\"histogram\":[");
  int comma = 0;
  for (uint32_t us = 0; us <= HIST_MAX_US; us++) {
    if (!hist[us]) continue;
    printf("%s[%u,%u]", comma ? "," : "", us, hist[us]);
    comma = 1;
  }
  printf("]}\n");
  return 0;
}
