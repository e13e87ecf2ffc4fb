#include "stt/kernels.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// Every kernel against a naive double-precision implementation on small
// random tensors (fixed seeds). The GEMM shapes are chosen to reach every
// path: the one-row GEMV (4-row groups, remainder rows, 32-wide K loop and
// its tail), the GEMV for 2..4 rows, the packed path (m > 4) split over N or
// over M, partial 8 x 32 tiles (both 16-lane halves of the store mask),
// several 256-deep K blocks and 128-row M blocks, and products both below
// and above the size that gemm_nt keeps on the calling thread. Which
// instruction set runs is decided by kernels.cpp from the CPU
// (cpu_has_avx512()), with no way to choose it from here: on an AVX-512
// machine the portable code is not reached by these tests.
//
// Attention itself (WhisperEngine::attention, private) is covered through the
// engine by whisper_engine_test.cpp; here only the kernel calls it is made
// of: sub-matrix views with leading dimensions, softmax over a prefix of a
// row with the rest zeroed, axpy and dot.

namespace voicedesk::stt {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// Largest error seen by a test, and its ratio to the tolerance; printed at the
// end of the test so that the margins stay visible.
class ErrorStats {
 public:
  explicit ErrorStats(std::string name) : name_(std::move(name)) {}
  ErrorStats(const ErrorStats&) = delete;
  ErrorStats& operator=(const ErrorStats&) = delete;
  ~ErrorStats() {
    std::cout << "[ errors   ] " << name_ << ": max |err| " << max_error_ << ", max |err|/tol "
              << max_ratio_ << " (" << checked_ << " values)\n";
  }

  // Whether |got - want| <= tol; NaN where a number is wanted fails.
  bool check(double got, double want, double tol) {
    ++checked_;
    const double error = std::isnan(got) ? kInf : std::abs(got - want);
    max_error_ = std::max(max_error_, error);
    max_ratio_ = std::max(max_ratio_, error / tol);
    return error <= tol;
  }

 private:
  std::string name_;
  double max_error_ = 0;
  double max_ratio_ = 0;
  long checked_ = 0;
};

// Counts failures and reports only the first few, so that a broken kernel
// does not print thousands of lines.
class FailureLog {
 public:
  explicit FailureLog(int limit = 8) : limit_(limit) {}
  template <typename Message>
  void fail(const Message& message) {
    if (++count_ <= limit_) ADD_FAILURE() << message;
  }
  int count() const { return count_; }

 private:
  int limit_;
  int count_ = 0;
};

// Aborts the test program if the scope takes longer than `limit`: a broken
// pool tends to hang (a lost wake-up, a count that never reaches zero)
// rather than fail, and a hang should not wait for the harness's timeout.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit)
      : thread_([this, limit] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::cerr << "watchdog: "
                      << ::testing::UnitTest::GetInstance()->current_test_info()->name()
                      << " still running after " << limit.count() << " s, aborting\n";
            std::abort();
          }
        }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

constexpr std::chrono::seconds kHangLimit{120};

// ------------------------------------------------------------------ halves --

// IEEE binary16 decoded arithmetically, independently of the kernel's bit
// manipulation.
double reference_half(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  const double sign = (h & 0x8000) != 0 ? -1.0 : 1.0;
  if (exponent == 0x1f) {
    return mantissa == 0 ? sign * std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::quiet_NaN();
  }
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

// The values of the finite non-negative halves 0x0000 .. 0x7bff, ascending.
const std::vector<double>& finite_halves() {
  static const std::vector<double> values = [] {
    std::vector<double> v(0x7c00);
    for (std::size_t h = 0; h < v.size(); ++h) v[h] = reference_half(static_cast<std::uint16_t>(h));
    return v;
  }();
  return values;
}

// The nearest half by search over all halves, ties to the even one; beyond
// the largest half, values from 65520 (halfway to 2^16) round to infinity.
std::uint16_t reference_float_to_half(float f) {
  const auto sign = static_cast<std::uint16_t>(std::signbit(f) ? 0x8000 : 0);
  const double a = std::abs(static_cast<double>(f));
  if (a >= 65520.0) return static_cast<std::uint16_t>(sign | 0x7c00);
  const std::vector<double>& values = finite_halves();
  const auto below = static_cast<std::size_t>(std::upper_bound(values.begin(), values.end(), a) -
                                              values.begin() - 1);
  if (values[below] == a || below + 1 == values.size()) {
    return static_cast<std::uint16_t>(sign | below);
  }
  const double down = a - values[below];
  const double up = values[below + 1] - a;
  const std::size_t nearest = down < up ? below : up < down ? below + 1 : below + (below & 1);
  return static_cast<std::uint16_t>(sign | nearest);
}

bool is_half_nan(std::uint16_t h) {
  return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

// Full precision, where std::to_string would print small values as 0.000000.
std::string num(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

std::string hex(unsigned value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%04x", value);
  return text;
}

TEST(HalfTest, EveryHalfDecodesExactly) {
  FailureLog log;
  for (unsigned h = 0; h < 0x10000; ++h) {
    const float got = half_to_float(static_cast<std::uint16_t>(h));
    const double want = reference_half(static_cast<std::uint16_t>(h));
    const bool negative = (h & 0x8000) != 0;
    if (std::isnan(want) ? !std::isnan(got)
                         : static_cast<double>(got) != want || std::signbit(got) != negative) {
      log.fail("half " + hex(h) + " decodes to " + num(got) + ", want " + num(want));
    }
  }
  EXPECT_EQ(log.count(), 0);
}

TEST(HalfTest, EveryHalfRoundTripsAndNanStaysNan) {
  FailureLog log;
  for (unsigned h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    const std::uint16_t back = float_to_half(half_to_float(half));
    if (is_half_nan(half)) {
      if (!is_half_nan(back) || (back & 0x8000) != (half & 0x8000)) {
        log.fail("NaN " + hex(h) + " comes back as " + hex(back));
      }
    } else if (back != half) {
      log.fail("half " + hex(h) + " comes back as " + hex(back));
    }
  }
  EXPECT_EQ(log.count(), 0);
}

TEST(HalfTest, FloatsHalfwayBetweenHalvesRoundToEven) {
  FailureLog log;
  const std::vector<double>& values = finite_halves();
  for (const float sign : {1.0f, -1.0f}) {
    const auto sign_bit = static_cast<unsigned>(sign < 0 ? 0x8000 : 0);
    auto expect = [&](float f, unsigned want) {
      const std::uint16_t got = float_to_half(f);
      if (got != (sign_bit | want)) {
        char text[96];
        std::snprintf(text, sizeof text, "float %.9g gives half %s, want %s",
                      static_cast<double>(f), hex(got).c_str(), hex(sign_bit | want).c_str());
        log.fail(text);
      }
    };
    // Adjacent finite halves h, h + 1: the midpoint (exact in float) goes to
    // the even one, the floats either side of it to the nearer one.
    for (std::size_t h = 0; h + 1 < values.size(); ++h) {
      const auto mid = static_cast<float>((values[h] + values[h + 1]) / 2);
      ASSERT_EQ(static_cast<double>(mid), (values[h] + values[h + 1]) / 2);
      const auto lower = static_cast<unsigned>(h);
      expect(sign * mid, (lower & 1u) != 0 ? lower + 1 : lower);
      expect(sign * std::nextafter(mid, 0.0f), lower);
      expect(sign * std::nextafter(mid, kInf), lower + 1);
    }
    // Beyond the largest half, 65504 (odd mantissa): 65520 is halfway to 2^16
    // and rounds up to infinity; anything below it down to 65504.
    expect(sign * 65520.0f, 0x7c00);
    expect(sign * std::nextafter(65520.0f, 0.0f), 0x7bff);
    expect(sign * 65536.0f, 0x7c00);
    expect(sign * 1e30f, 0x7c00);
    expect(sign * kInf, 0x7c00);
    // Below the smallest subnormal 2^-24: 2^-25 is halfway and goes to zero.
    expect(sign * std::ldexp(1.0f, -25), 0x0000);
    expect(sign * std::nextafter(std::ldexp(1.0f, -25), 1.0f), 0x0001);
    expect(sign * std::ldexp(1.0f, -26), 0x0000);
    expect(sign * std::numeric_limits<float>::min(), 0x0000);
    expect(sign * std::numeric_limits<float>::denorm_min(), 0x0000);
    expect(sign * 0.0f, 0x0000);
  }
  EXPECT_TRUE(is_half_nan(float_to_half(kNaN)));
  EXPECT_TRUE(is_half_nan(float_to_half(-kNaN)));
  EXPECT_EQ(log.count(), 0);
}

TEST(HalfTest, RandomFloatsRoundToNearestHalf) {
  std::mt19937 rng(0x4a1f);
  FailureLog log;
  for (int i = 0; i < (1 << 20); ++i) {
    std::uint32_t bits = static_cast<std::uint32_t>(rng());
    if (i % 2 == 0) {  // exponents around the half range: 2^-27 .. 2^17
      const std::uint32_t exponent = 127 - 27 + static_cast<std::uint32_t>(rng() % 45);
      bits = (bits & 0x807fffffu) | (exponent << 23);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    const std::uint16_t got = float_to_half(f);
    if (std::isnan(f) ? !is_half_nan(got) : got != reference_float_to_half(f)) {
      char text[96];
      std::snprintf(text, sizeof text, "float %.9g (0x%08x) gives half %s, want %s",
                    static_cast<double>(f), bits, hex(got).c_str(),
                    hex(reference_float_to_half(f)).c_str());
      log.fail(text);
    }
  }
  EXPECT_EQ(log.count(), 0);
}

// -------------------------------------------------------------------- GEMM --

enum class Storage { kF32, kF16 };

const char* storage_name(Storage storage) {
  return storage == Storage::kF32 ? "f32" : "f16";
}

// A row-major view [rows][cols] with leading dimension ld, starting at
// `offset` into a buffer exactly as long as the view needs (so that reads
// past it are heap overflows under ASan); the elements outside the view are
// NaN, so that any use of them shows in the result.
struct Activations {
  int rows = 0;
  int cols = 0;
  std::size_t ld = 0;
  std::size_t offset = 0;
  std::vector<float> data;

  const float* view() const { return data.data() + offset; }
  float at(int r, int c) const {
    return data[offset + static_cast<std::size_t>(r) * ld + static_cast<std::size_t>(c)];
  }
};

Activations random_activations(int rows, int cols, std::size_t ld, std::size_t offset,
                               std::mt19937& rng) {
  Activations a{rows, cols, ld, offset, {}};
  a.data.assign(offset + static_cast<std::size_t>(rows - 1) * ld + static_cast<std::size_t>(cols),
                kNaN);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      a.data[offset + static_cast<std::size_t>(r) * ld + static_cast<std::size_t>(c)] = value(rng);
    }
  }
  return a;
}

// W[rows][cols] in f32 or f16, laid out like Activations (ld == 0 is passed to
// the kernel as is and means cols).
struct TestWeights {
  Storage storage = Storage::kF32;
  int rows = 0;
  int cols = 0;
  std::size_t ld = 0;
  std::size_t offset = 0;
  std::vector<float> f32;
  std::vector<std::uint16_t> f16;

  std::size_t stride() const { return ld != 0 ? ld : static_cast<std::size_t>(cols); }
  std::size_t index(int r, int c) const {
    return offset + static_cast<std::size_t>(r) * stride() + static_cast<std::size_t>(c);
  }
  WeightView view() const {
    WeightView v;
    v.rows = rows;
    v.cols = cols;
    v.ld = ld;
    if (storage == Storage::kF32) {
      v.f32 = f32.data() + offset;
    } else {
      v.f16 = f16.data() + offset;
    }
    return v;
  }
  // The weight exactly as the kernel must see it.
  double at(int r, int c) const {
    return storage == Storage::kF32 ? f32[index(r, c)] : reference_half(f16[index(r, c)]);
  }
};

TestWeights random_weights(Storage storage, int rows, int cols, std::size_t ld, std::size_t offset,
                           std::mt19937& rng) {
  TestWeights w{storage, rows, cols, ld, offset, {}, {}};
  const std::size_t size = w.index(rows - 1, cols - 1) + 1;
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  if (storage == Storage::kF32) {
    w.f32.assign(size, kNaN);
  } else {
    w.f16.assign(size, 0x7e00);  // NaN
  }
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      if (storage == Storage::kF32) {
        w.f32[w.index(r, c)] = value(rng);
      } else {
        w.f16[w.index(r, c)] = float_to_half(value(rng));
      }
    }
  }
  return w;
}

// Dense copies of views, for the contiguous reference run.
Activations dense(const Activations& a) {
  Activations d{a.rows, a.cols, static_cast<std::size_t>(a.cols), 0, {}};
  for (int r = 0; r < a.rows; ++r) {
    for (int c = 0; c < a.cols; ++c) d.data.push_back(a.at(r, c));
  }
  return d;
}

TestWeights dense(const TestWeights& w) {
  TestWeights d{w.storage, w.rows, w.cols, 0, 0, {}, {}};
  for (int r = 0; r < w.rows; ++r) {
    for (int c = 0; c < w.cols; ++c) {
      if (w.storage == Storage::kF32) {
        d.f32.push_back(w.f32[w.index(r, c)]);
      } else {
        d.f16.push_back(w.f16[w.index(r, c)]);
      }
    }
  }
  return d;
}

// C = A * W^T in double, without bias: [a.rows][w.rows].
std::vector<double> naive_gemm(const Activations& a, const TestWeights& w) {
  const auto m = static_cast<std::size_t>(a.rows);
  const auto n = static_cast<std::size_t>(w.rows);
  const auto k = static_cast<std::size_t>(a.cols);
  std::vector<double> ad(m * k);
  std::vector<double> wd(n * k);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t kk = 0; kk < k; ++kk) {
      ad[i * k + kk] = a.at(static_cast<int>(i), static_cast<int>(kk));
    }
  }
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t kk = 0; kk < k; ++kk) {
      wd[j * k + kk] = w.at(static_cast<int>(j), static_cast<int>(kk));
    }
  }
  std::vector<double> c(m * n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::size_t kk = 0; kk < k; ++kk) sum += ad[i * k + kk] * wd[j * k + kk];
      c[i * n + j] = sum;
    }
  }
  return c;
}

double max_abs(const Activations& a) {
  double m = 0;
  for (int r = 0; r < a.rows; ++r) {
    for (int c = 0; c < a.cols; ++c) m = std::max(m, std::abs(static_cast<double>(a.at(r, c))));
  }
  return m;
}

double max_abs(const TestWeights& w) {
  double m = 0;
  for (int r = 0; r < w.rows; ++r) {
    for (int c = 0; c < w.cols; ++c) m = std::max(m, std::abs(w.at(r, c)));
  }
  return m;
}

// Tolerance for one element of C, relative to the naive double result:
//   |err| <= 1e-5 * sqrt(k) * max|a| * max|w| + 1e-6 * |want|
// (float accumulation of k products plus the rounding of the bias addition).
constexpr double kGemmTolerance = 1e-5;

double gemm_tolerance(int k, double a_max, double w_max, double want) {
  return kGemmTolerance * std::sqrt(static_cast<double>(k)) * a_max * w_max + 1e-6 * std::abs(want);
}

// Runs gemm_nt into a fresh contiguous C prefilled with NaN, so that an
// element never written fails.
std::vector<float> run_gemm(const Activations& a, const TestWeights& w, const float* bias,
                            ThreadPool& pool) {
  std::vector<float> c(static_cast<std::size_t>(a.rows) * static_cast<std::size_t>(w.rows), kNaN);
  gemm_nt(a.view(), a.ld, a.rows, w.view(), bias, c.data(), static_cast<std::size_t>(w.rows), pool);
  return c;
}

bool bitwise_equal(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

std::string first_difference(const std::vector<float>& x, const std::vector<float>& y, int n) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::memcmp(&x[i], &y[i], sizeof(float)) != 0) {
      char text[128];
      std::snprintf(text, sizeof text, "first at C[%zu][%zu]: %.9g vs %.9g", i / n, i % n,
                    static_cast<double>(x[i]), static_cast<double>(y[i]));
      return text;
    }
  }
  return "sizes differ";
}

std::string shape(int m, int n, int k) {
  return "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k);
}

struct Shape {
  int m;
  int n;
  int k;
};

// The grid m x n x k, then wide products: gemm_nt keeps products below about
// 2^20 multiply-adds on the calling thread, and every GEMV (m <= 4) shape of
// the grid is below that, so these are the ones whose N split over threads
// is exercised (n % 4 != 0 for the 4-row groups of the one-row GEMV, k % 32
// != 0 for its remainder loop).
std::vector<Shape> gemm_shapes() {
  static constexpr int kM[] = {1, 2, 3, 4, 5, 7, 8, 9, 63, 130, 257};
  static constexpr int kN[] = {1, 5, 16, 17, 31, 32, 33, 64, 100, 385};
  static constexpr int kK[] = {1, 3, 16, 17, 255, 256, 257, 600};
  std::vector<Shape> shapes;
  for (const int m : kM) {
    for (const int n : kN) {
      for (const int k : kK) shapes.push_back({m, n, k});
    }
  }
  for (const int m : {1, 2, 3, 4, 5, 9}) {
    shapes.push_back({m, 1031, 1100});
    shapes.push_back({m, 2053, 600});
  }
  return shapes;
}

// Every shape, with and without bias, on pools of 1, 2 and 3 threads: the
// 1-thread result against the naive one, the others bit for bit against it
// (each element's arithmetic must not depend on the split).
void check_gemm_shapes(Storage storage) {
  std::mt19937 rng(storage == Storage::kF32 ? 1234 : 5678);
  ThreadPool one(1);
  ThreadPool two(2);
  ThreadPool three(3);
  ErrorStats stats(std::string("gemm_nt ") + storage_name(storage) + " weights");
  FailureLog accuracy;
  FailureLog determinism;
  std::uniform_real_distribution<float> bias_value(-1.0f, 1.0f);
  for (const auto [m, n, k] : gemm_shapes()) {
    const Activations a = random_activations(m, k, static_cast<std::size_t>(k), 0, rng);
    const TestWeights w = random_weights(storage, n, k, 0, 0, rng);
    std::vector<float> bias(static_cast<std::size_t>(n));
    for (float& b : bias) b = bias_value(rng);
    const std::vector<double> want = naive_gemm(a, w);
    const double a_max = max_abs(a);
    const double w_max = max_abs(w);
    for (const bool with_bias : {false, true}) {
      const float* b = with_bias ? bias.data() : nullptr;
      const std::string where = std::string(storage_name(storage)) + " " + shape(m, n, k) +
                                (with_bias ? " with bias" : " without bias");
      const std::vector<float> c1 = run_gemm(a, w, b, one);
      for (std::size_t i = 0; i < c1.size(); ++i) {
        const double expected = want[i] + (with_bias ? bias[i % n] : 0.0);
        if (!stats.check(c1[i], expected, gemm_tolerance(k, a_max, w_max, expected))) {
          char text[96];
          std::snprintf(text, sizeof text, ": C[%zu][%zu] = %.9g, want %.9g", i / n, i % n,
                        static_cast<double>(c1[i]), expected);
          accuracy.fail(where + text);
          break;
        }
      }
      for (ThreadPool* pool : {&two, &three}) {
        const std::vector<float> c = run_gemm(a, w, b, *pool);
        if (!bitwise_equal(c1, c)) {
          determinism.fail(where + ": " + std::to_string(pool->size()) +
                           " threads differ from 1 thread, " + first_difference(c1, c, n));
        }
      }
    }
  }
  EXPECT_EQ(accuracy.count(), 0);
  EXPECT_EQ(determinism.count(), 0);
}

TEST(GemmTest, F32WeightsMatchNaiveOnEveryPathAndThreadCount) {
  check_gemm_shapes(Storage::kF32);
}

TEST(GemmTest, F16WeightsMatchNaiveOnEveryPathAndThreadCount) {
  check_gemm_shapes(Storage::kF16);
}

// Sub-matrix views as attention uses them: head h of [rows][state] matrices
// (columns h*dh .. h*dh+dh, leading dimension state) for A, W and C. The
// product must equal the one over dense copies bit for bit, match the naive
// one, read nothing outside the views (NaN there) and write nothing outside
// the C block (sentinels there).
TEST(GemmTest, SubMatrixViewsWithLeadingDimensions) {
  constexpr int kHeads = 3;
  constexpr float kSentinel = 7.25f;
  // {queries, keys, head_dim}: a grid, then wide ones that are split over
  // the pool's threads.
  std::vector<Shape> shapes;
  for (const int dh : {1, 16, 17, 64, 300}) {
    for (const int queries : {1, 2, 4, 5, 9, 130}) {
      for (const int keys : {1, 31, 33, 100}) shapes.push_back({queries, keys, dh});
    }
  }
  for (const int queries : {1, 3, 5}) shapes.push_back({queries, 2053, 600});
  std::mt19937 rng(99);
  ThreadPool pool(3);
  ErrorStats stats("gemm_nt sub-matrix views");
  FailureLog log;
  std::uniform_real_distribution<float> bias_value(-1.0f, 1.0f);
  for (const Storage storage : {Storage::kF32, Storage::kF16}) {
    for (const auto [queries, keys, dh] : shapes) {
      const auto ld = static_cast<std::size_t>(kHeads * dh);
      for (const int head : {1, kHeads - 1}) {
        const auto column = static_cast<std::size_t>(head * dh);
        const Activations a = random_activations(queries, dh, ld, column, rng);
        const TestWeights w = random_weights(storage, keys, dh, ld, column, rng);
        std::vector<float> bias(static_cast<std::size_t>(keys));
        for (float& b : bias) b = bias_value(rng);
        const std::vector<double> want = naive_gemm(a, w);
        const double a_max = max_abs(a);
        const double w_max = max_abs(w);
        const Activations a_dense = dense(a);
        const TestWeights w_dense = dense(w);
        for (const bool with_bias : {false, true}) {
          const float* b = with_bias ? bias.data() : nullptr;
          const std::string where = std::string(storage_name(storage)) + " head " +
                                    std::to_string(head) + " " + shape(queries, keys, dh) +
                                    (with_bias ? " with bias" : "");
          // C is [queries][keys * kHeads] and this head writes columns
          // head*keys .. head*keys+keys of it (ldc > n, as the engine writes
          // head h's output to out + h*dh with ldc = state).
          const std::size_t ldc = static_cast<std::size_t>(keys) * kHeads;
          const std::size_t c_column = static_cast<std::size_t>(head) * keys;
          std::vector<float> c(static_cast<std::size_t>(queries) * ldc, kSentinel);
          gemm_nt(a.view(), a.ld, queries, w.view(), b, c.data() + c_column, ldc, pool);
          const std::vector<float> reference = run_gemm(a_dense, w_dense, b, pool);
          bool ok = true;
          for (std::size_t i = 0; i < c.size() && ok; ++i) {
            const std::size_t row = i / ldc;
            const std::size_t col = i % ldc;
            if (col < c_column || col >= c_column + static_cast<std::size_t>(keys)) {
              if (std::memcmp(&c[i], &kSentinel, sizeof(float)) != 0) {
                log.fail(where + ": wrote C[" + std::to_string(row) + "][" + std::to_string(col) +
                         "] outside the block");
                ok = false;
              }
              continue;
            }
            const std::size_t j = col - c_column;
            const std::size_t dense_index = row * static_cast<std::size_t>(keys) + j;
            const double expected = want[dense_index] + (with_bias ? bias[j] : 0.0);
            if (!stats.check(c[i], expected, gemm_tolerance(dh, a_max, w_max, expected))) {
              log.fail(where + ": C[" + std::to_string(row) + "][" + std::to_string(j) +
                       "] = " + num(c[i]) + ", want " + num(expected));
              ok = false;
            } else if (std::memcmp(&c[i], &reference[dense_index], sizeof(float)) != 0) {
              log.fail(where + ": differs from the dense product at [" + std::to_string(row) +
                       "][" + std::to_string(j) + "]");
              ok = false;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(log.count(), 0);
}

// Three threads running GEMMs on one shared pool at the same time get
// exactly the results of running alone (the pool serialises its calls; each
// thread packs into its own buffers). The products are large enough (over
// 2^20 multiply-adds) to be split over the pool rather than kept on the
// calling thread.
TEST(GemmTest, ConcurrentCallsOnOnePoolMatchSerialResults) {
  const Watchdog watchdog(kHangLimit);
  std::mt19937 rng(7);
  ThreadPool pool(3);
  struct Problem {
    Activations a;
    TestWeights w;
    std::vector<float> expected;
  };
  std::vector<Problem> problems;
  problems.push_back({random_activations(37, 257, 257, 0, rng),
                      random_weights(Storage::kF16, 300, 257, 0, 0, rng),
                      {}});
  problems.push_back({random_activations(3, 600, 600, 0, rng),
                      random_weights(Storage::kF32, 1031, 600, 0, 0, rng),
                      {}});
  problems.push_back({random_activations(130, 257, 257, 0, rng),
                      random_weights(Storage::kF32, 64, 257, 0, 0, rng),
                      {}});
  for (Problem& p : problems) p.expected = run_gemm(p.a, p.w, nullptr, pool);
  std::vector<int> mismatches(problems.size(), 0);
  std::vector<std::thread> callers;
  for (std::size_t t = 0; t < problems.size(); ++t) {
    callers.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        const Problem& p = problems[t];
        if (!bitwise_equal(run_gemm(p.a, p.w, nullptr, pool), p.expected)) ++mismatches[t];
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  for (std::size_t t = 0; t < problems.size(); ++t) {
    EXPECT_EQ(mismatches[t], 0) << "problem " << t;
  }
}

// ------------------------------------------------------------- axpy, dot --

// Lengths around the 16- and 32-lane loops; the vectors start one float past
// an allocation so that they are not 64-byte aligned.
constexpr int kVectorLengths[] = {0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 100, 1000};

TEST(KernelTest, AxpyMatchesNaiveAndTouchesOnlyN) {
  constexpr float kGuard = 5.5f;
  std::mt19937 rng(41);
  std::uniform_real_distribution<float> value(-4.0f, 4.0f);
  ErrorStats stats("axpy");
  FailureLog log;
  for (const int n : kVectorLengths) {
    for (const float alpha : {0.0f, 1.0f, -0.37f, 3.5f}) {
      const auto size = static_cast<std::size_t>(n);
      std::vector<float> x(size + 1);
      std::vector<float> y(size + 1 + 16, kGuard);
      for (std::size_t i = 0; i < size; ++i) {
        x[i + 1] = value(rng);
        y[i + 1] = value(rng);
      }
      const std::vector<float> before(y);
      axpy(alpha, x.data() + 1, y.data() + 1, n);
      for (std::size_t i = 1; i < y.size(); ++i) {
        if (i > size) {
          if (y[i] != kGuard)
            log.fail("n=" + std::to_string(n) + ": wrote y[" + std::to_string(i - 1) + "]");
          continue;
        }
        // One multiply-add, rounded once or twice.
        const double want = static_cast<double>(before[i]) + static_cast<double>(alpha) * x[i];
        const double tol = std::ldexp(1.0, -23) * (std::abs(static_cast<double>(before[i])) +
                                                   std::abs(static_cast<double>(alpha) * x[i]));
        if (!stats.check(y[i], want, tol)) {
          log.fail("n=" + std::to_string(n) + " a=" + num(alpha) + ": y[" + std::to_string(i - 1) +
                   "] = " + num(y[i]) + ", want " + num(want));
        }
      }
      if (y[0] != kGuard && n > 0) log.fail("n=" + std::to_string(n) + ": wrote y[-1]");
    }
  }
  EXPECT_EQ(log.count(), 0);
}

TEST(KernelTest, DotMatchesNaiveDouble) {
  std::mt19937 rng(43);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  ErrorStats stats("dot");
  FailureLog log;
  for (const int n : kVectorLengths) {
    for (int trial = 0; trial < 20; ++trial) {
      const auto size = static_cast<std::size_t>(n);
      std::vector<float> x(size + 1, kNaN);
      std::vector<float> y(size + 1, kNaN);
      double want = 0;
      for (std::size_t i = 1; i <= size; ++i) {
        x[i] = value(rng);
        y[i] = value(rng);
        want += static_cast<double>(x[i]) * y[i];
      }
      // As for the GEMM: |err| <= 1e-5 * sqrt(n) * max|x| * max|y| (both <= 1).
      const double tol = 1e-5 * std::sqrt(static_cast<double>(n)) + 1e-30;
      const float got = dot(x.data() + 1, y.data() + 1, n);
      if (!stats.check(got, want, tol)) {
        log.fail("n=" + std::to_string(n) + ": dot = " + num(got) + ", want " + num(want));
      }
    }
  }
  EXPECT_EQ(log.count(), 0);
}

// ----------------------------------------------------------------- softmax --

std::vector<double> naive_softmax(const std::vector<float>& x) {
  double max = -std::numeric_limits<double>::infinity();
  for (const float v : x) max = std::max(max, static_cast<double>(v));
  std::vector<double> p(x.size());
  double sum = 0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    p[j] = std::exp(static_cast<double>(x[j]) - max);
    sum += p[j];
  }
  for (double& v : p) v /= sum;
  return p;
}

// Tolerance per probability p_j of a row of n:
//   |err| <= p_j * (1e-6 + (n + |x_j - max|) * 2^-24) + 1e-37,
// from the float sum of n terms (relative error up to n * 2^-24), the float
// rounding of x_j - max (absolute up to |x_j - max| * 2^-24, which exp turns
// into a relative error), exp and the division (1e-6). The absolute term
// admits exp() flushing or clamping results below float's normal range
// (e^-87.3 ~ 1.2e-38) instead of returning a subnormal.
double softmax_tolerance(double p, int n, double shifted) {
  return p * (1e-6 + (n + std::abs(shifted)) * std::ldexp(1.0, -24)) + 1e-37;
}

TEST(SoftmaxTest, MatchesNaiveAndZeroesTheTail) {
  constexpr float kGuard = 3.5f;
  constexpr int kGuards = 4;
  std::mt19937 rng(2024);
  ErrorStats stats("softmax_inplace");
  FailureLog log;
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const std::vector<std::pair<std::string, std::function<float(int)>>> inputs = {
      {"uniform [-10, 10]", [&](int) { return -10.0f + 20.0f * unit(rng); }},
      {"uniform [-90, 10] (shifts up to 100)", [&](int) { return -90.0f + 100.0f * unit(rng); }},
      {"uniform [-200, 200] (many underflow)", [&](int) { return -200.0f + 400.0f * unit(rng); }},
      {"around -1e4", [&](int) { return -1e4f + 60.0f * (unit(rng) - 0.5f); }},
      {"around +1e4", [&](int) { return 1e4f + 60.0f * (unit(rng) - 0.5f); }},
      {"extreme magnitudes",
       [&](int) {
         const float r = unit(rng);
         return r < 0.2f   ? -3e38f
                : r < 0.4f ? -1e30f
                : r < 0.5f ? -100.0f
                : r < 0.6f ? 3e38f
                           : 10.0f * (unit(rng) - 0.5f);
       }},
      {"constant", [](int) { return 0.37f; }},
      {"ramp", [](int j) { return 0.01f * static_cast<float>(j); }},
  };
  for (const auto& [name, generate] : inputs) {
    for (const int n : {1, 2, 7, 15, 16, 17, 31, 33, 64, 100, 1000, 1501}) {
      for (const int extra : {0, 1, 9, 16}) {
        const int stride = n + extra;
        std::vector<float> x(static_cast<std::size_t>(n));
        for (int j = 0; j < n; ++j) x[static_cast<std::size_t>(j)] = generate(j);
        const std::vector<double> want = naive_softmax(x);
        std::vector<float> row(x);
        row.resize(static_cast<std::size_t>(stride), kNaN);
        row.resize(static_cast<std::size_t>(stride + kGuards), kGuard);
        softmax_inplace(row.data(), n, stride);
        const std::string where =
            name + " n=" + std::to_string(n) + " stride=" + std::to_string(stride);
        const double max = *std::max_element(x.begin(), x.end());
        double sum = 0;
        for (const float p : std::span(row).first(x.size())) sum += p;
        for (int j = 0; j < n; ++j) {
          const auto i = static_cast<std::size_t>(j);
          const double tol = softmax_tolerance(want[i], n, x[i] - max);
          if (!stats.check(row[i], want[i], tol)) {
            log.fail(where + ": p[" + std::to_string(j) + "] = " + num(row[i]) + ", want " +
                     num(want[i]));
            break;
          }
        }
        if (!(std::abs(sum - 1.0) <= 1e-6 + 2 * n * std::ldexp(1.0, -24)))
          log.fail(where + ": sums to " + num(sum));
        for (int j = n; j < stride; ++j) {
          if (row[static_cast<std::size_t>(j)] != 0.0f) {
            log.fail(where + ": tail entry " + std::to_string(j) + " is " +
                     num(row[static_cast<std::size_t>(j)]));
            break;
          }
        }
        for (int j = stride; j < stride + kGuards; ++j) {
          if (row[static_cast<std::size_t>(j)] != kGuard) {
            log.fail(where + ": wrote past the stride at " + std::to_string(j));
            break;
          }
        }
      }
    }
  }
  EXPECT_EQ(log.count(), 0);
}

// -------------------------------------------------------------------- GELU --

double naive_gelu(double x) {
  const double c = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
}

// |err| <= 1e-5 + 1e-5 * |x| against the tanh formula in double.
double gelu_tolerance(double x) {
  return 1e-5 + 1e-5 * std::abs(x);
}

TEST(GeluTest, MatchesTanhFormulaOverMinus20To20) {
  // 400001 points (not a multiple of 16), step 1e-4.
  constexpr int kPoints = 400001;
  std::vector<float> x(kPoints);
  for (int i = 0; i < kPoints; ++i) x[static_cast<std::size_t>(i)] = -20.0f + 1e-4f * i;
  x.back() = 20.0f;
  ErrorStats vector_stats("gelu_inplace, whole array");
  ErrorStats scalar_stats("gelu_inplace, one element at a time");
  FailureLog log;
  std::vector<float> y(x);
  gelu_inplace(y.data(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = naive_gelu(x[i]);
    if (!vector_stats.check(y[i], want, gelu_tolerance(x[i]))) {
      log.fail("gelu(" + num(x[i]) + ") = " + num(y[i]) + ", want " + num(want));
    }
    // n = 1: the remainder loop, whatever the vector width.
    float single = x[i];
    gelu_inplace(&single, 1);
    if (!scalar_stats.check(single, want, gelu_tolerance(x[i]))) {
      log.fail("gelu(" + num(x[i]) + ") alone = " + num(single) + ", want " + num(want));
    }
  }
  EXPECT_EQ(log.count(), 0);
}

TEST(GeluTest, EveryLengthUpTo50TouchesOnlyItsElements) {
  constexpr float kGuard = -1234.5f;
  std::mt19937 rng(31);
  std::uniform_real_distribution<float> value(-20.0f, 20.0f);
  ErrorStats stats("gelu_inplace, lengths 0..50");
  FailureLog log;
  for (int n = 0; n <= 50; ++n) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x) v = value(rng);
    std::vector<float> y(x);
    y.resize(x.size() + 16, kGuard);
    gelu_inplace(y.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want = naive_gelu(x[i]);
      if (!stats.check(y[i], want, gelu_tolerance(x[i]))) {
        log.fail("n=" + std::to_string(n) + ": gelu(" + num(x[i]) + ") = " + num(y[i]) + ", want " +
                 num(want));
      }
    }
    for (std::size_t i = x.size(); i < y.size(); ++i) {
      if (y[i] != kGuard)
        log.fail("n=" + std::to_string(n) + ": wrote element " + std::to_string(i));
    }
  }
  EXPECT_EQ(log.count(), 0);
}

// -------------------------------------------------------------- layer norm --

TEST(LayerNormTest, MatchesNaiveDouble) {
  constexpr float kEps = 1e-5f;
  std::mt19937 rng(77);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> weight_value(-2.0f, 2.0f);
  std::uniform_real_distribution<float> bias_value(-1.0f, 1.0f);
  ErrorStats stats("layer_norm");
  FailureLog log;
  struct Input {
    std::string name;
    float mean;
    float spread;
  };
  // The small spread makes eps matter (variance 1e-4 against eps 1e-5); the
  // constant rows have zero variance, so that 1/sqrt(eps) amplifies any
  // rounding of the mean.
  const std::vector<Input> inputs = {{"N(0, 1)", 0.0f, 1.0f},
                                     {"N(3, 2)", 3.0f, 2.0f},
                                     {"N(10, 0.5)", 10.0f, 0.5f},
                                     {"N(0, 0.01)", 0.0f, 0.01f},
                                     {"constant 0.37", 0.37f, 0.0f}};
  for (const Input& input : inputs) {
    for (const int rows : {1, 3, 8}) {
      for (const int d : {1, 2, 15, 16, 17, 100, 384, 1280}) {
        const std::size_t size = static_cast<std::size_t>(rows) * static_cast<std::size_t>(d);
        std::vector<float> x(size);
        for (float& v : x) v = input.mean + input.spread * normal(rng);
        std::vector<float> weight(static_cast<std::size_t>(d));
        std::vector<float> bias(static_cast<std::size_t>(d));
        for (float& v : weight) v = weight_value(rng);
        for (float& v : bias) v = bias_value(rng);
        std::vector<float> y(size, kNaN);
        layer_norm(x.data(), rows, d, weight.data(), bias.data(), kEps, y.data());
        const std::string where =
            input.name + " rows=" + std::to_string(rows) + " d=" + std::to_string(d);
        for (int r = 0; r < rows; ++r) {
          const float* in = x.data() + static_cast<std::size_t>(r) * d;
          double mean = 0;
          double max_in = 0;
          for (int j = 0; j < d; ++j) {
            mean += in[j];
            max_in = std::max(max_in, std::abs(static_cast<double>(in[j])));
          }
          mean /= d;
          double var = 0;
          for (int j = 0; j < d; ++j) var += (in[j] - mean) * (in[j] - mean);
          var /= d;
          const double inv = 1.0 / std::sqrt(var + static_cast<double>(kEps));
          for (int j = 0; j < d; ++j) {
            const auto i = static_cast<std::size_t>(j);
            const double normalised = (in[j] - mean) * inv;
            const double want = normalised * weight[i] + bias[i];
            // The float sums over d terms (relative error up to
            // gamma = d * 2^-24, plus 1e-6 for the rest) shift the mean by up to
            // gamma * max|x| and scale xhat by up to gamma; scaled as the output
            // scales them:
            //   |err| <= gamma * |w| * (|xhat| + max|x| / sqrt(var + eps)) + 1e-6 * |b|.
            const double gamma = 1e-6 + d * std::ldexp(1.0, -24);
            const double tol = gamma * std::abs(weight[i]) * (std::abs(normalised) + max_in * inv) +
                               1e-6 * std::abs(bias[i]);
            const float got = y[static_cast<std::size_t>(r) * d + i];
            if (!stats.check(got, want, tol)) {
              log.fail(where + ": y[" + std::to_string(r) + "][" + std::to_string(j) +
                       "] = " + num(got) + ", want " + num(want));
              break;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(log.count(), 0);
}

// ------------------------------------------------------------- thread pool --

TEST(ThreadPoolTest, RunsEveryTaskExactlyOnce) {
  const Watchdog watchdog(kHangLimit);
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    ASSERT_EQ(pool.size(), threads);
    for (const int tasks : {0, 1, 2, 3, 4, 7, 64, 1000, 10000}) {
      for (int round = 0; round < (tasks <= 64 ? 50 : 3); ++round) {
        std::vector<std::atomic<int>> runs(static_cast<std::size_t>(tasks));
        pool.parallel_for(tasks, [&](int task) {
          runs.at(static_cast<std::size_t>(task)).fetch_add(1, std::memory_order_relaxed);
        });
        int wrong = 0;
        for (const std::atomic<int>& count : runs) wrong += count.load() != 1 ? 1 : 0;
        ASSERT_EQ(wrong, 0) << threads << " threads, " << tasks << " tasks, round " << round;
      }
    }
  }
}

TEST(ThreadPoolTest, NonPositiveTaskCountsRunNothing) {
  const Watchdog watchdog(kHangLimit);
  ThreadPool pool(3);
  std::atomic<int> runs{0};
  pool.parallel_for(0, [&](int) { ++runs; });
  pool.parallel_for(-5, [&](int) { ++runs; });
  EXPECT_EQ(runs.load(), 0);
}

// With as many tasks as threads, each task waits until all have started:
// that finishes only if the workers and the caller really run them at once.
TEST(ThreadPoolTest, WorkersAndCallerRunTasksConcurrently) {
  const Watchdog watchdog(kHangLimit);
  for (const int threads : {2, 3}) {
    ThreadPool pool(threads);
    std::mutex mutex;
    std::condition_variable all_started;
    int started = 0;
    std::atomic<int> timed_out{0};
    pool.parallel_for(threads, [&](int) {
      std::unique_lock lock(mutex);
      ++started;
      all_started.notify_all();
      if (!all_started.wait_for(lock, std::chrono::seconds(20), [&] { return started == threads; }))
        ++timed_out;
    });
    EXPECT_EQ(timed_out.load(), 0) << threads << " threads did not run their tasks concurrently";
  }
}

TEST(ThreadPoolTest, PropagatesATaskExceptionAndStaysUsable) {
  const Watchdog watchdog(kHangLimit);
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (const int tasks : {1, 2, 5, 64}) {
      for (const int failing : {0, tasks / 2, tasks - 1}) {
        std::atomic<int> running{0};
        std::atomic<int> running_at_return{-1};
        try {
          pool.parallel_for(tasks, [&](int task) {
            ++running;
            if (task != failing) std::this_thread::sleep_for(std::chrono::microseconds(200));
            --running;
            if (task == failing) throw std::runtime_error("task " + std::to_string(task));
          });
          ADD_FAILURE() << threads << " threads, " << tasks << " tasks: no exception";
        } catch (const std::runtime_error& error) {
          running_at_return = running.load();
          EXPECT_EQ(std::string(error.what()), "task " + std::to_string(failing));
        }
        // Tasks reference the caller's stack: none may still run once it returns.
        EXPECT_EQ(running_at_return.load(), 0) << threads << " threads, " << tasks << " tasks";

        // The pool still works after the exception.
        std::vector<std::atomic<int>> runs(static_cast<std::size_t>(tasks) * 3);
        pool.parallel_for(tasks * 3, [&](int task) { ++runs[static_cast<std::size_t>(task)]; });
        for (std::size_t t = 0; t < runs.size(); ++t) {
          ASSERT_EQ(runs[t].load(), 1) << threads << " threads, task " << t << " after exception";
        }
      }
    }
  }
}

TEST(ThreadPoolTest, SeveralFailingTasksRethrowOneOfThem) {
  const Watchdog watchdog(kHangLimit);
  ThreadPool pool(3);
  for (int round = 0; round < 20; ++round) {
    try {
      pool.parallel_for(32, [](int task) {
        if (task % 3 == 0) throw std::runtime_error("task " + std::to_string(task));
      });
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& error) {
      const std::string what = error.what();
      const int task = std::stoi(what.substr(5));
      EXPECT_EQ(task % 3, 0) << what;
    }
  }
  std::atomic<int> runs{0};
  pool.parallel_for(100, [&](int) { ++runs; });
  EXPECT_EQ(runs.load(), 100);
}

TEST(ThreadPoolTest, ConcurrentCallersBothComplete) {
  const Watchdog watchdog(kHangLimit);
  for (const int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    constexpr int kRounds = 200;
    std::atomic<int> wrong{0};
    auto caller = [&](int tasks) {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::atomic<int>> runs(static_cast<std::size_t>(tasks));
        pool.parallel_for(tasks, [&](int task) {
          ++runs[static_cast<std::size_t>(task)];
          std::this_thread::yield();  // lets the other callers' calls overlap this one
        });
        for (const std::atomic<int>& count : runs) {
          if (count.load() != 1) ++wrong;
        }
      }
    };
    std::thread first(caller, 37);
    std::thread second(caller, 5);
    std::thread single(caller, 1);
    first.join();
    second.join();
    single.join();
    EXPECT_EQ(wrong.load(), 0) << threads << " threads";
  }
}

}  // namespace
}  // namespace voicedesk::stt
