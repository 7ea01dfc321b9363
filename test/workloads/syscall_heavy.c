/* syscall_heavy: a loop of real system calls issued from do_syscalls, so that
 * kernel frames (entry_SYSCALL_64 → do_syscall_64 → __x64_sys_write →
 * ksys_write → vfs_write …) appear leafward of the user frames.
 *
 * The syscalls are made with an inline `syscall` instruction rather than
 * through glibc's wrappers: glibc on Debian is built without frame pointers,
 * and a frame-pointer unwinder that starts in a wrapper skips the wrapper's
 * caller. Issued inline, the user-space PC of every sample taken in the kernel
 * is inside do_syscalls itself, and the chain continues to main.
 *
 * Usage: syscall_heavy [SECONDS]   (0 or absent: forever). Prints its pid.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

static inline long raw_syscall3(long nr, long a1, long a2, long a3) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2), "d"(a3) : "rcx", "r11", "memory");
  return ret;
}

volatile long sink;

/* One batch of syscalls: write one byte to /dev/null, then getppid. */
NOINLINE void do_syscalls(int fd, int batch) {
  static const char byte = 'k';
  long acc = 0;
  for (int i = 0; i < batch; i++) {
    acc += raw_syscall3(SYS_write, fd, (long)&byte, 1);
    acc += raw_syscall3(SYS_getppid, 0, 0, 0);
  }
  sink = acc;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 0;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("/dev/null");
    return 1;
  }
  printf("%d\n", (int)getpid());
  fflush(stdout);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    do_syscalls(fd, 1000);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (seconds > 0 && (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 >= seconds) break;
  }
  return 0;
}
