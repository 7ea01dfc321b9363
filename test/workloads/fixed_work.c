/* fixed_work: a fixed amount of CPU work, for measuring profiler overhead.
 *
 * fixed_work [-n ITERATIONS] [-j THREADS]   each thread runs ITERATIONS rounds
 *     of a hash loop (default 200000000), then one JSON line is printed:
 *     {"threads":K,"iterations":N,"wall_ms":W,"cpu_ms":C}
 *     wall_ms from CLOCK_MONOTONIC around the work, cpu_ms = user+system CPU
 *     time of the process (getrusage) — the latter is robust to other load.
 * fixed_work --forever [-j THREADS]   burns CPU until killed (background load).
 * fixed_work --idle                   wakes every 10 ms for ~0.1 ms of work
 *     until killed (a mostly-sleeping process that still shows up in samples).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static uint64_t iterations = 200000000ULL;
static int forever;
volatile uint64_t sink;

NOINLINE uint64_t fixed_work_step(uint64_t x, uint64_t rounds) {
  for (uint64_t i = 0; i < rounds; i++) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x += i;
    __asm__ volatile("" : "+r"(x));
  }
  return x;
}

NOINLINE void *fixed_work_thread(void *arg) {
  uint64_t x = (uint64_t)(uintptr_t)arg + 1;
  if (forever) {
    for (;;) x = fixed_work_step(x, 1000000);
  }
  x = fixed_work_step(x, iterations);
  sink = x;
  return NULL;
}

NOINLINE void idle_loop(void) {
  uint64_t x = 1;
  struct timespec ten_ms = {0, 10 * 1000 * 1000};
  for (;;) {
    x = fixed_work_step(x, 50000);
    nanosleep(&ten_ms, NULL);
  }
}

static double now_ms(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  int threads = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
      iterations = strtoull(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
      threads = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--forever") == 0) {
      forever = 1;
    } else if (strcmp(argv[i], "--idle") == 0) {
      idle_loop();
    } else {
      fprintf(stderr, "usage: fixed_work [-n ITERATIONS] [-j THREADS] [--forever | --idle]\n");
      return 2;
    }
  }
  if (threads < 1) threads = 1;

  double t0 = now_ms(CLOCK_MONOTONIC);
  pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
  for (int i = 1; i < threads; i++) pthread_create(&tids[i], NULL, fixed_work_thread, (void *)(uintptr_t)i);
  fixed_work_thread((void *)0);
  for (int i = 1; i < threads; i++) pthread_join(tids[i], NULL);
  double wall = now_ms(CLOCK_MONOTONIC) - t0;

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  printf("{\"threads\":%d,\"iterations\":%llu,\"wall_ms\":%.3f,\"cpu_ms\":%.3f}\n", threads, (unsigned long long)iterations, wall, cpu);
  free(tids);
  return 0;
}
