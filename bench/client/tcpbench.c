/*
 * tcpbench: the kernel-side client of `npm run bench`. Built at bench time with the machine's gcc
 * (gcc -O2) and run inside the bench's network namespace (`ip netns exec NS tcpbench ...`), so the
 * client costs as little CPU as a client can and the stack on the TUN is what is measured.
 *
 *   tcpbench send     HOST PORT [-t S] [-w S] [-b BYTES]   write as fast as possible for S seconds
 *                                                          (to discard), then FIN and wait for EOF
 *   tcpbench recv     HOST PORT [-t S] [-w S] [-b BYTES]   read for S seconds (from chargen)
 *   tcpbench connrate HOST PORT [-t S] [-w S] [-p N]       connect / FIN / wait for the peer's FIN /
 *                                                          close, N at a time (epoll, one thread)
 *   tcpbench echo     HOST PORT [-n N] [-t S]              1-byte ping-pong, TCP_NODELAY, N round trips
 *   common: -c CPU (pin to that CPU)
 *
 * Prints one JSON object on stdout (with "error" set when the run failed; exit status 1 then).
 * Every loop is bounded by a count or a time; alarm() is a hard stop on top.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;
static const char *g_mode = "?";

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU seconds (user + system) this process used so far. */
static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void fail(const char *what, int err) {
  printf("{\"mode\":\"%s\",\"error\":\"%s: %s\"}\n", g_mode, what, strerror(err));
  fflush(stdout);
  exit(1);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "{\"error\":\"hard time limit (alarm) reached\"}\n";
  if (write(1, msg, sizeof msg - 1) < 0) { /* nothing to do */ }
  _exit(2);
}

static void set_timeouts(int fd, int snd_s, int rcv_s) {
  struct timeval tv = { snd_s, 0 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  tv.tv_sec = rcv_s;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* A connected blocking socket, or exit with an error (connect bounded to 3 s). */
static int connect_blocking(void) {
  int fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) fail("socket", errno);
  if (connect(fd, (struct sockaddr *)&g_addr, g_addrlen) < 0) {
    if (errno != EINPROGRESS) fail("connect", errno);
    struct pollfd p = { fd, POLLOUT, 0 };
    int r = poll(&p, 1, 3000);
    if (r == 0) fail("connect", ETIMEDOUT);
    if (r < 0) fail("poll", errno);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) fail("connect", err);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

static int mode_send(double dur, double warm, size_t bs) {
  char *buf = malloc(bs);
  if (buf == NULL) fail("malloc", ENOMEM);
  for (size_t i = 0; i < bs; i++) buf[i] = (char)('a' + i % 26);
  int fd = connect_blocking();
  set_timeouts(fd, 5, 10);
  double c0 = cpu_s(), t0 = now_s(), tw = -1, t = t0;
  long long bytes = 0, bw = 0, writes = 0;
  int err = 0;
  while ((t = now_s()) - t0 < dur) {
    if (tw < 0 && t - t0 >= warm) { tw = t; bw = bytes; }
    ssize_t n = write(fd, buf, bs);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    bytes += n;
    writes++;
  }
  double tend = now_s();
  if (tw < 0) { tw = t0; bw = 0; }
  /* The discard service closes after our FIN once it has read everything: EOF = all delivered. */
  shutdown(fd, SHUT_WR);
  int eof = 0;
  for (int i = 0; i < 1000000; i++) {
    ssize_t n = read(fd, buf, bs);
    if (n == 0) { eof = 1; break; }
    if (n < 0 && errno != EINTR) break;
  }
  double tdrain = now_s(), c1 = cpu_s();
  close(fd);
  printf("{\"mode\":\"send\",\"bytes\":%lld,\"writes\":%lld,\"seconds\":%.6f,\"window_bytes\":%lld,\"window_seconds\":%.6f,"
         "\"gbps\":%.4f,\"gbps_to_eof\":%.4f,\"drain_seconds\":%.6f,\"eof\":%s,\"client_cpu_seconds\":%.4f,\"error\":%s%s%s}\n",
         bytes, writes, tend - t0, bytes - bw, tend - tw, (double)(bytes - bw) * 8 / (tend - tw) / 1e9,
         (double)bytes * 8 / (tdrain - t0) / 1e9, tdrain - tend, eof ? "true" : "false", c1 - c0,
         err ? "\"write: " : "null", err ? strerror(err) : "", err ? "\"" : "");
  free(buf);
  return err ? 1 : 0;
}

static int mode_recv(double dur, double warm, size_t bs) {
  char *buf = malloc(bs);
  if (buf == NULL) fail("malloc", ENOMEM);
  int fd = connect_blocking();
  set_timeouts(fd, 5, 5);
  double c0 = cpu_s(), t0 = now_s(), tw = -1, t = t0;
  long long bytes = 0, bw = 0, reads = 0;
  int err = 0, eof = 0;
  while ((t = now_s()) - t0 < dur) {
    if (tw < 0 && t - t0 >= warm) { tw = t; bw = bytes; }
    ssize_t n = read(fd, buf, bs);
    if (n == 0) { eof = 1; break; }
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    bytes += n;
    reads++;
  }
  double tend = now_s(), c1 = cpu_s();
  if (tw < 0) { tw = t0; bw = 0; }
  shutdown(fd, SHUT_WR);
  close(fd);
  printf("{\"mode\":\"recv\",\"bytes\":%lld,\"reads\":%lld,\"seconds\":%.6f,\"window_bytes\":%lld,\"window_seconds\":%.6f,"
         "\"gbps\":%.4f,\"early_eof\":%s,\"client_cpu_seconds\":%.4f,\"error\":%s%s%s}\n",
         bytes, reads, tend - t0, bytes - bw, tend - tw, (double)(bytes - bw) * 8 / (tend - tw) / 1e9,
         eof ? "true" : "false", c1 - c0, err ? "\"read: " : "null", err ? strerror(err) : "", err ? "\"" : "");
  free(buf);
  return err ? 1 : 0;
}

/* ---- connrate: P connections in flight, each connect -> shutdown(WR) -> read EOF -> close ---- */

enum { S_IDLE, S_CONNECTING, S_CLOSING };
struct slot { int fd; int state; double start, established; };

#define MAXP 1024
static struct slot slots[MAXP];
static long long c_done, c_window, c_err_connect, c_err_reset, c_err_timeout, c_err_other;
/* Sums over completed connections: connect() to established, and shutdown() to the peer's FIN. */
static double c_sum_connect, c_sum_close;
static int g_ep;

static void slot_start(int i) {
  struct slot *s = &slots[i];
  s->fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (s->fd < 0) { c_err_other++; s->state = S_IDLE; return; }
  s->start = now_s();
  if (connect(s->fd, (struct sockaddr *)&g_addr, g_addrlen) < 0 && errno != EINPROGRESS) {
    c_err_connect++;
    close(s->fd);
    s->state = S_IDLE;
    return;
  }
  struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (unsigned)i };
  epoll_ctl(g_ep, EPOLL_CTL_ADD, s->fd, &ev);
  s->state = S_CONNECTING;
}

static void slot_abort(int i) {
  struct slot *s = &slots[i];
  struct linger l = { 1, 0 }; /* RST: leaves nothing behind */
  setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(s->fd);
  s->state = S_IDLE;
}

static int mode_connrate(double dur, double warm, int par) {
  if (par < 1 || par > MAXP) fail("-p out of range (1..1024)", EINVAL);
  g_ep = epoll_create1(0);
  if (g_ep < 0) fail("epoll_create1", errno);
  double c0 = cpu_s(), t0 = now_s(), tw = -1, t = t0;
  long long bw = 0;
  for (int i = 0; i < par; i++) slot_start(i);
  struct epoll_event evs[256];
  char tmp[512];
  while ((t = now_s()) - t0 < dur) {
    if (tw < 0 && t - t0 >= warm) { tw = t; bw = c_done; }
    int n = epoll_wait(g_ep, evs, 256, 50);
    if (n < 0 && errno != EINTR) fail("epoll_wait", errno);
    for (int k = 0; k < n; k++) {
      int i = (int)evs[k].data.u32;
      struct slot *s = &slots[i];
      if (s->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (evs[k].events & (EPOLLERR | EPOLLHUP)) != 0) {
          c_err_connect++;
          slot_abort(i);
          slot_start(i);
          continue;
        }
        s->established = now_s();
        shutdown(s->fd, SHUT_WR);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = (unsigned)i };
        epoll_ctl(g_ep, EPOLL_CTL_MOD, s->fd, &ev);
        s->state = S_CLOSING;
      } else if (s->state == S_CLOSING) {
        ssize_t r = read(s->fd, tmp, sizeof tmp);
        if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR))) continue;
        if (r == 0) {
          double te = now_s();
          c_sum_connect += s->established - s->start;
          c_sum_close += te - s->established;
          close(s->fd);
          s->state = S_IDLE;
          c_done++;
        } else {
          if (errno == ECONNRESET) c_err_reset++; else c_err_other++;
          slot_abort(i);
        }
        if (now_s() - t0 < dur) slot_start(i);
      }
    }
    /* Connections stuck for 3 s count as timeouts and are replaced. */
    double tn = now_s();
    for (int i = 0; i < par; i++) {
      if (slots[i].state != S_IDLE && tn - slots[i].start > 3.0) {
        c_err_timeout++;
        slot_abort(i);
        if (tn - t0 < dur) slot_start(i);
      } else if (slots[i].state == S_IDLE && tn - t0 < dur) {
        slot_start(i); /* a failed socket()/connect() is retried here */
      }
    }
  }
  double tend = now_s(), c1 = cpu_s();
  if (tw < 0) { tw = t0; bw = 0; }
  for (int i = 0; i < par; i++) if (slots[i].state != S_IDLE) slot_abort(i);
  close(g_ep);
  c_window = c_done - bw;
  long long errs = c_err_connect + c_err_reset + c_err_timeout + c_err_other;
  printf("{\"mode\":\"connrate\",\"parallel\":%d,\"connections\":%lld,\"seconds\":%.6f,\"window_connections\":%lld,"
         "\"window_seconds\":%.6f,\"per_second\":%.1f,\"mean_connect_us\":%.1f,\"mean_close_us\":%.1f,\"errors\":{\"connect\":%lld,\"reset\":%lld,\"timeout\":%lld,\"other\":%lld},"
         "\"client_cpu_seconds\":%.4f,\"error\":%s}\n",
         par, c_done, tend - t0, c_window, tend - tw, (double)c_window / (tend - tw),
         c_done ? c_sum_connect / (double)c_done * 1e6 : 0.0, c_done ? c_sum_close / (double)c_done * 1e6 : 0.0, c_err_connect, c_err_reset,
         c_err_timeout, c_err_other, c1 - c0, (c_done == 0 && errs > 0) ? "\"no connection completed\"" : "null");
  return c_done == 0 ? 1 : 0;
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

static int mode_echo(long n, double dur) {
  if (n < 1 || n > 10000000) fail("-n out of range", EINVAL);
  int fd = connect_blocking();
  set_timeouts(fd, 2, 2);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  long long *lat = malloc(sizeof(long long) * (size_t)n);
  if (lat == NULL) fail("malloc", ENOMEM);
  char c = 'x';
  int err = 0;
  double t0 = now_s(), c0 = cpu_s();
  long warmup = n / 10 < 1000 ? n / 10 : 1000, done = 0;
  for (long i = 0; i < warmup + n && now_s() - t0 < dur; i++) {
    long long a = now_ns();
    if (write(fd, &c, 1) != 1) { err = errno; break; }
    ssize_t r;
    do r = read(fd, &c, 1); while (r < 0 && errno == EINTR);
    if (r != 1) { err = r == 0 ? ECONNRESET : errno; break; }
    long long b = now_ns();
    if (i >= warmup) lat[done++] = b - a;
  }
  double t1 = now_s(), c1 = cpu_s();
  close(fd);
  if (done == 0) fail("echo: no round trip", err ? err : ETIMEDOUT);
  qsort(lat, (size_t)done, sizeof lat[0], cmp_ll);
  double sum = 0;
  for (long i = 0; i < done; i++) sum += (double)lat[i];
  long p99 = (long)((double)done * 0.99);
  if (p99 >= done) p99 = done - 1;
  printf("{\"mode\":\"echo\",\"round_trips\":%ld,\"seconds\":%.6f,\"p50_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,"
         "\"min_us\":%.3f,\"max_us\":%.3f,\"client_cpu_seconds\":%.4f,\"error\":%s%s%s}\n",
         done, t1 - t0, lat[done / 2] / 1e3, lat[p99] / 1e3, sum / (double)done / 1e3, lat[0] / 1e3, lat[done - 1] / 1e3,
         c1 - c0, err ? "\"" : "null", err ? strerror(err) : "", err ? "\"" : "");
  free(lat);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: tcpbench send|recv|connrate|echo HOST PORT [-t S] [-w S] [-b BYTES] [-p N] [-n N] [-c CPU]\n");
    return 64;
  }
  g_mode = argv[1];
  double dur = 4, warm = 0.5;
  size_t bs = 128 * 1024;
  int par = 1, cpu = -1;
  long n = 20000;
  for (int i = 4; i + 1 < argc; i += 2) {
    const char *o = argv[i], *v = argv[i + 1];
    if (strcmp(o, "-t") == 0) dur = atof(v);
    else if (strcmp(o, "-w") == 0) warm = atof(v);
    else if (strcmp(o, "-b") == 0) bs = (size_t)atol(v);
    else if (strcmp(o, "-p") == 0) par = atoi(v);
    else if (strcmp(o, "-n") == 0) n = atol(v);
    else if (strcmp(o, "-c") == 0) cpu = atoi(v);
    else { fprintf(stderr, "tcpbench: unknown option %s\n", o); return 64; }
  }
  if (!(dur > 0 && dur <= 600) || bs < 1 || bs > (64u << 20)) { fprintf(stderr, "tcpbench: bad -t or -b\n"); return 64; }
  signal(SIGALRM, on_alarm);
  signal(SIGPIPE, SIG_IGN);
  alarm((unsigned)dur + 30);
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) fail("sched_setaffinity", errno);
  }
  struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  int gai = getaddrinfo(argv[2], argv[3], &hints, &ai);
  if (gai != 0 || ai == NULL) { printf("{\"mode\":\"%s\",\"error\":\"bad address: %s\"}\n", g_mode, gai_strerror(gai)); return 1; }
  memcpy(&g_addr, ai->ai_addr, ai->ai_addrlen);
  g_addrlen = ai->ai_addrlen;
  freeaddrinfo(ai);
  if (strcmp(g_mode, "send") == 0) return mode_send(dur, warm, bs);
  if (strcmp(g_mode, "recv") == 0) return mode_recv(dur, warm, bs);
  if (strcmp(g_mode, "connrate") == 0) return mode_connrate(dur, warm, par);
  if (strcmp(g_mode, "echo") == 0) return mode_echo(n, dur);
  fprintf(stderr, "tcpbench: unknown mode %s\n", g_mode);
  return 64;
}
