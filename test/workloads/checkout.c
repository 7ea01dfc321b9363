/* checkout: two versions of one "service" for the compare/deploys UI tests.
 *
 * Built twice, as bin/v1/checkout and bin/v2/checkout (same comm, so the agent names both
 * service "checkout"; the deploys view tells them apart only by service.version in
 * OTEL_RESOURCE_ATTRIBUTES). Every thread hands each function a budget of its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID, cumulative, as cpu_ratio does), so the shares are exact:
 *
 *   function           v1    v2
 *   compute_discounts  10%   40%
 *   db_query           40%   25%
 *   render_receipt     30%   15%
 *   fraud_score_v2      -     5%
 *   parse_request      20%   15%
 *
 * Usage: checkout SECONDS [THREADS]. Prints its pid.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "thread_clock.h"

#ifndef CHECKOUT_VERSION
#error "build with -DCHECKOUT_VERSION=1 or 2"
#endif

#define NOINLINE __attribute__((noinline, noclone))
#define CHUNK_ROUNDS 16384

static double run_seconds;
static struct timespec started;
volatile uint64_t sink;

/* Spends budget i (cumulative ns of this thread's CPU) in the function it is expanded in: a
 * macro, not an inline function, so the time is the function's own (no inlined frame). */
#define SPEND(a, i)                                                        \
  do {                                                                     \
    (a)->target[i] += share_us[i] * (a)->scale;                            \
    int64_t t0 = thread_cpu_ns();                                          \
    uint64_t x = (a)->x;                                                   \
    while ((a)->spent[i] < (a)->target[i]) {                               \
      for (unsigned r = 0; r < CHUNK_ROUNDS; r++) {                        \
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;           \
        x ^= x >> 31;                                                      \
        __asm__ volatile("" : "+r"(x));                                    \
      }                                                                    \
      int64_t t1 = thread_cpu_ns();                                        \
      (a)->spent[i] += t1 - t0;                                            \
      t0 = t1;                                                             \
    }                                                                      \
    (a)->x = x;                                                            \
  } while (0)

struct account {
  int64_t spent[5], target[5];
  int64_t scale; /* ns of budget per share unit in this round */
  uint64_t x, rng;
};

#if CHECKOUT_VERSION == 1
static const int64_t share_us[5] = {100, 400, 300, 0, 200};
#else
static const int64_t share_us[5] = {400, 250, 150, 50, 150};
#endif

#define STEP(i) SPEND(a, i)

NOINLINE void compute_discounts(struct account *a) { STEP(0); }
NOINLINE void db_query(struct account *a) { STEP(1); }
NOINLINE void load_cart(struct account *a) { db_query(a); }
NOINLINE void render_receipt(struct account *a) { STEP(2); }
#if CHECKOUT_VERSION == 2
NOINLINE void fraud_score_v2(struct account *a) { STEP(3); }
#endif
NOINLINE void parse_request(struct account *a) { STEP(4); }

NOINLINE void handle_checkout(struct account *a) {
  compute_discounts(a);
  load_cart(a);
  render_receipt(a);
#if CHECKOUT_VERSION == 2
  fraud_score_v2(a);
#endif
}

static double elapsed(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}

/* A round lasts 2..18 ms at random (10 ms on average): with a fixed length the round would be
 * phase-locked to the sampling timer (3 samples at 299 Hz ~ one 10 ms round) and the sampled
 * shares would drift from the budgeted ones. */
static void next_round(struct account *a) {
  a->rng ^= a->rng << 13;
  a->rng ^= a->rng >> 7;
  a->rng ^= a->rng << 17;
  a->scale = 2000 + (int64_t)(a->rng % 16001);
}

NOINLINE void serve(struct account *a) {
  while (elapsed() < run_seconds) {
    next_round(a);
    parse_request(a);
    handle_checkout(a);
  }
  sink = a->x;
}

static void *worker_main(void *arg) {
  struct account a = {.x = (uintptr_t)arg | 1, .rng = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1)};
  serve(&a);
  return NULL;
}

int main(int argc, char **argv) {
  run_seconds = argc > 1 ? atof(argv[1]) : 10;
  int threads = argc > 2 ? atoi(argv[2]) : 2;
  clock_gettime(CLOCK_MONOTONIC, &started);
  printf("%d\n", getpid());
  fflush(stdout);
  pthread_t tids[64];
  for (int i = 1; i < threads && i < 64; i++) pthread_create(&tids[i], NULL, worker_main, (void *)(uintptr_t)i);
  struct account a = {.x = 7, .rng = 0x2545f4914f6cdd1dULL};
  serve(&a);
  for (int i = 1; i < threads && i < 64; i++) pthread_join(tids[i], NULL);
  return 0;
}
