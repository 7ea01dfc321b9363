/* cpu_ratio: ground truth for CPU sampling accuracy.
 *
 * Every thread (the main thread and N-1 pthreads started in worker_main)
 * alternates between two non-inlined functions, burn_hot and burn_cold, and
 * hands each one a budget of *thread CPU time* (CLOCK_THREAD_CPUTIME_ID):
 * 3 ms to burn_hot, 1 ms to burn_cold (both scaled by the same random factor
 * of 0.5..1.5 each round). Budgets are cumulative (a function
 * that overshot its budget gets that much less next time), so over any run
 * longer than a few milliseconds each thread has spent exactly 3/4 of the CPU
 * time it got inside burn_hot and 1/4 inside burn_cold, to within one chunk
 * of work (~tens of microseconds). Because the budget is measured in CPU time
 * of the thread itself, the ratio holds however many cores the machine has,
 * however loaded it is and however the scheduler treats the threads.
 *
 * The clock is read from inside burn_hot / burn_cold, so the clock_gettime
 * syscalls are part of each function's inclusive (cum) time. A sample taken
 * inside glibc's clock_gettime or the vDSO (no frame pointers) may lose the
 * burn_* frame while unwinding; both functions read the clock once per chunk
 * of about the same duration (~0.25 ms, against ~0.3 us per clock read), so
 * such losses are ~0.1% of samples and hit both functions in proportion.
 *
 * Usage: cpu_ratio [SECONDS [THREADS]]   SECONDS 0 or absent: run forever;
 *        THREADS defaults to the number of online CPUs. Prints its pid.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hot_inline.h"
#include "thread_clock.h"

#define NOINLINE __attribute__((noinline, noclone))
#define HOT_BUDGET_NS 3000000LL
#define COLD_BUDGET_NS 1000000LL
#define CHUNK_ROUNDS 65536 /* ~0.25 ms of work in either function between two clock reads */

static double run_seconds;
static struct timespec started;
volatile uint64_t sink;

struct budget {
  int64_t hot_spent, hot_target;
  int64_t cold_spent, cold_target;
  uint64_t state;
  /* Scale of this round's budgets in 1/1024ths (512..1535): rounds of random length, so that
   * they never phase-lock with the sampling timer (a 4 ms round against 99 Hz would). */
  int64_t scale;
  uint64_t rng;
};

/* 3/4 of every thread's CPU time. The work is mix_hot, inlined from hot_inline.h. */
NOINLINE void burn_hot(struct budget *b) {
  b->hot_target += HOT_BUDGET_NS * b->scale / 1024;
  int64_t t0 = thread_cpu_ns();
  uint64_t x = b->state;
  while (b->hot_spent < b->hot_target) {
    x = mix_hot(x, CHUNK_ROUNDS);
    int64_t t1 = thread_cpu_ns();
    b->hot_spent += t1 - t0;
    t0 = t1;
  }
  b->state = x;
}

/* 1/4 of every thread's CPU time. Its own loop, different from mix_hot so the
 * compiler cannot fold the two functions into one, but with a dependency chain
 * as long (two multiplies per round), so that a chunk takes about as long here
 * as in burn_hot and both read the clock equally often per unit of CPU time. */
NOINLINE void burn_cold(struct budget *b) {
  b->cold_target += COLD_BUDGET_NS * b->scale / 1024;
  int64_t t0 = thread_cpu_ns();
  uint64_t x = b->state | 1;
  while (b->cold_spent < b->cold_target) {
    for (unsigned i = 0; i < CHUNK_ROUNDS; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      x ^= x >> 29;
      x *= 0xbf58476d1ce4e5b9ULL;
      x += i;
      __asm__ volatile("" : "+r"(x));
    }
    int64_t t1 = thread_cpu_ns();
    b->cold_spent += t1 - t0;
    t0 = t1;
  }
  b->state = x;
}

static int expired(void) {
  if (run_seconds <= 0) return 0;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double elapsed = (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
  return elapsed >= run_seconds;
}

NOINLINE void *worker_main(void *arg) {
  struct budget b = {.state = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1, .rng = (uint64_t)(uintptr_t)arg * 0x2545f4914f6cdd1dULL + 7};
  while (!expired()) {
    b.rng ^= b.rng << 13;
    b.rng ^= b.rng >> 7;
    b.rng ^= b.rng << 17;
    b.scale = 512 + (int64_t)(b.rng % 1024);
    burn_hot(&b);
    burn_cold(&b);
  }
  sink = b.state;
  return NULL;
}

int main(int argc, char **argv) {
  run_seconds = argc > 1 ? atof(argv[1]) : 0;
  long threads = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  clock_gettime(CLOCK_MONOTONIC, &started);
  printf("%d\n", (int)getpid());
  fflush(stdout);

  pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
  for (long i = 1; i < threads; i++) {
    if (pthread_create(&tids[i], NULL, worker_main, (void *)(uintptr_t)i) != 0) {
      perror("pthread_create");
      return 1;
    }
    char name[32];
    snprintf(name, sizeof name, "cpu_ratio-%ld", i);
    name[15] = '\0'; /* the kernel's limit for thread names */
    pthread_setname_np(tids[i], name);
  }
  worker_main((void *)0); /* the main thread burns too: its stacks reach main */
  for (long i = 1; i < threads; i++) pthread_join(tids[i], NULL);
  free(tids);
  return 0;
}
