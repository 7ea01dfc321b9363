/* CPU time of the calling thread, in ns: the clock the ground-truth workloads budget in. */
#ifndef KILN_THREAD_CLOCK_H
#define KILN_THREAD_CLOCK_H
#include <stdint.h>
#include <time.h>

static inline int64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
#endif
