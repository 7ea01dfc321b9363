// A context-switch-heavy load for the scheduler probe's benchmark: two processes pass one byte back
// and forth over a pair of pipes, so every round trip is two wakeups and (on one CPU, or when the
// other is busy) two context switches. Usage: pingpong ROUND_TRIPS. Prints its pid, then
// "ROUND_TRIPS SECONDS" (wall-clock, CLOCK_MONOTONIC) when done.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void must(int ok, const char *what) {
  if (!ok) {
    perror(what);
    exit(1);
  }
}

int main(int argc, char **argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 1000000;
  int ping[2], pong[2];
  char byte = 'x';
  printf("%d\n", getpid());
  fflush(stdout);
  must(pipe(ping) == 0 && pipe(pong) == 0, "pipe");
  pid_t child = fork();
  must(child >= 0, "fork");
  if (child == 0) {
    for (long i = 0; i < rounds; i++) {
      must(read(ping[0], &byte, 1) == 1, "child read");
      must(write(pong[1], &byte, 1) == 1, "child write");
    }
    _exit(0);
  }
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < rounds; i++) {
    must(write(ping[1], &byte, 1) == 1, "write");
    must(read(pong[0], &byte, 1) == 1, "read");
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  waitpid(child, NULL, 0);
  printf("%ld %.6f\n", rounds, (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
  return 0;
}
