/* short_lived: burns CPU in short_lived_burn for one second (wall clock), then
 * exits — long before the agent's first drain — so the agent must keep what
 * it needs to symbolize the process after it is gone.
 * Usage: short_lived [SECONDS]   (default 1). Prints its pid.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

volatile uint64_t sink;

static double elapsed_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

NOINLINE uint64_t short_lived_burn(double seconds) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  uint64_t x = 88172645463325252ULL;
  while (elapsed_since(&start) < seconds) {
    for (int i = 0; i < 100000; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      __asm__ volatile("" : "+r"(x));
    }
  }
  return x;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  printf("%d\n", (int)getpid());
  fflush(stdout);
  sink = short_lived_burn(seconds);
  return 0;
}
