/* The inline half of cpu_ratio's hot path. It lives in its own header so that
 * its file:line differs from burn_hot's: a symbolizer that resolves inline
 * frames must report mix_hot at hot_inline.h:<a line of the body below>,
 * then burn_hot in cpu_ratio.c. The acceptance test reads this file to find
 * the body's line range, so keep the definition's shape: signature on one
 * line, body up to the first line that is exactly "}". */
#ifndef KILN_HOT_INLINE_H
#define KILN_HOT_INLINE_H

#include <stdint.h>

__attribute__((always_inline)) static inline uint64_t mix_hot(uint64_t x, unsigned rounds) {
  for (unsigned i = 0; i < rounds; i++) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x += i;
    __asm__ volatile("" : "+r"(x)); /* keep every round: no vectorising, no folding */
  }
  return x;
}

#endif
