/* request_server: a thread-per-connection HTTP/1.1 server, for exact span attribution: each
 * request type burns CPU in a function of its own, so the CPU profile of a span must hold only
 * its request type's function.
 *
 * request_server PORT   prints its pid, then "listening PORT"; serves until killed.
 *   GET /alpha  ~60 ms of thread CPU in alpha_work
 *   GET /beta   ~60 ms of thread CPU in beta_work
 *   anything else: 404
 * Keep-alive: a connection serves requests until the client closes it. One read per request
 * (requests are small), one write per response.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "thread_clock.h"

#define NOINLINE __attribute__((noinline, noclone))
#define BURN_NS 60000000LL

volatile uint64_t sink;

/* The hash loop is written out in each function rather than shared: a shared leaf without a
 * frame of its own would hide its caller from a frame-pointer unwinder. */
#define BURN(seed)                                   \
  int64_t end = thread_cpu_ns() + BURN_NS;           \
  uint64_t x = (seed);                               \
  while (thread_cpu_ns() < end) {                    \
    for (int i = 0; i < 20000; i++) {                \
      x ^= x >> 31;                                  \
      x *= 0x9e3779b97f4a7c15ULL;                    \
      __asm__ volatile("" : "+r"(x));                \
    }                                                \
  }                                                  \
  sink ^= x

NOINLINE void alpha_work(void) { BURN(1); }

NOINLINE void beta_work(void) { BURN(2); }

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char req[2048];
  for (;;) {
    ssize_t n = read(fd, req, sizeof(req) - 1);
    if (n <= 0) break;
    req[n] = 0;
    const char *status = "200 OK";
    if (strncmp(req, "GET /alpha ", 11) == 0)
      alpha_work();
    else if (strncmp(req, "GET /beta ", 10) == 0)
      beta_work();
    else
      status = "404 Not Found";
    char resp[128];
    int len = snprintf(resp, sizeof(resp), "HTTP/1.1 %s\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n", status);
    if (write_all(fd, resp, (size_t)len) != 0) break;
  }
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(ls, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(ls, 128) != 0) {
    perror("request_server: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof(addr);
  getsockname(ls, (struct sockaddr *)&addr, &alen);
  printf("%d\nlistening %d\n", getpid(), ntohs(addr.sin_port));
  fflush(stdout);
  for (;;) {
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) continue;
    pthread_t t;
    if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) != 0) {
      close(fd);
      continue;
    }
    pthread_detach(t);
  }
}
