// cpp_workload: CPU burnt in a namespaced class method and in a function
// template, so that demangled C++ names can be checked:
//   kiln::workload::Matrix::multiply(int)
//   double kiln::workload::accumulate<double>(std::vector<double> const&, int)
// Usage: cpp_workload [SECONDS]   (0 or absent: forever). Prints its pid.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define NOINLINE __attribute__((noinline, noclone))

namespace kiln {
namespace workload {

class Matrix {
 public:
  explicit Matrix(int n) : n_(n), a_(n * n), b_(n * n), c_(n * n) {
    for (int i = 0; i < n * n; i++) {
      a_[i] = 1.0 + (i % 7) * 0.25;
      b_[i] = 2.0 - (i % 5) * 0.125;
    }
  }

  // Multiplies a by b `reps` times into c; returns a checksum.
  NOINLINE double multiply(int reps);

 private:
  int n_;
  std::vector<double> a_, b_, c_;
};

double Matrix::multiply(int reps) {
  double sum = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < n_; i++) {
      for (int j = 0; j < n_; j++) {
        double acc = 0;
        for (int k = 0; k < n_; k++) acc += a_[i * n_ + k] * b_[k * n_ + j];
        c_[i * n_ + j] = acc;
      }
    }
    sum += c_[r % (n_ * n_)];
  }
  return sum;
}

template <typename T>
NOINLINE T accumulate(const std::vector<T> &values, int reps) {
  T total = T();
  for (int r = 0; r < reps; r++) {
    for (const T &v : values) {
      total += v * T(0.999) + T(r & 3);
      __asm__ volatile("" : "+x"(total));
    }
  }
  return total;
}

// Explicit instantiation: the symbol is _ZN4kiln8workload10accumulateIdEET_RKSt6vectorIS2_SaIS2_EEi.
template double accumulate<double>(const std::vector<double> &, int);

}  // namespace workload
}  // namespace kiln

volatile double sink;

int main(int argc, char **argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 0;
  std::printf("%d\n", static_cast<int>(getpid()));
  std::fflush(stdout);
  auto start = std::chrono::steady_clock::now();
  kiln::workload::Matrix m(48);
  std::vector<double> values(4096, 1.5);
  for (;;) {
    sink = m.multiply(8);
    sink = kiln::workload::accumulate<double>(values, 128);
    if (seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds) break;
  }
  return 0;
}
