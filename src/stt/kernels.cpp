#include "stt/kernels.hpp"

// GCC 12 flags the deliberately undefined vectors inside its own AVX-512
// intrinsics (_mm512_undefined_ps) as uninitialised: a known false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>

namespace voicedesk::stt {

// ---------------------------------------------------------------- threads --

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::work() {
  std::uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && next_ < tasks_); });
    if (stopping_) return;
    seen = generation_;
    while (next_ < tasks_) {
      const int task = next_++;
      lock.unlock();
      (*job_)(task);
      lock.lock();
      if (--unfinished_ == 0) done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int t = 0; t < tasks; ++t) fn(t);
    return;
  }
  // Exceptions must not escape a worker thread: the first one is rethrown here.
  std::exception_ptr error;
  std::mutex error_mutex;
  const std::function<void(int)> guarded = [&](int task) {
    try {
      fn(task);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  std::lock_guard call(call_mutex_);
  std::unique_lock lock(mutex_);
  job_ = &guarded;
  tasks_ = tasks;
  next_ = 0;
  unfinished_ = tasks;
  ++generation_;
  wake_.notify_all();
  while (next_ < tasks_) {
    const int task = next_++;
    lock.unlock();
    guarded(task);
    lock.lock();
    --unfinished_;
  }
  done_.wait(lock, [&] { return unfinished_ == 0; });
  job_ = nullptr;
  tasks_ = 0;
  lock.unlock();
  if (error) std::rethrow_exception(error);
}

// ------------------------------------------------------------ conversions --

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: renormalise
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | (static_cast<std::uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

std::uint16_t float_to_half(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const int exponent = static_cast<int>((bits >> 23) & 0xffu) - 127 + 15;
  std::uint32_t mantissa = bits & 0x7fffffu;
  if (((bits >> 23) & 0xffu) == 0xffu) {  // inf / nan
    return static_cast<std::uint16_t>(sign | 0x7c00u | (mantissa ? 0x200u : 0u));
  }
  if (exponent >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    std::uint32_t half = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  std::uint32_t half = (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // round to nearest even
  return static_cast<std::uint16_t>(sign | half);
}

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return has;
}

namespace {

#define VD_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c")))

// Copies W[row][k0 .. k0+n) to f32.
void load_row(const WeightView& w, int row, int k0, int n, float* out) {
  const std::size_t offset =
      static_cast<std::size_t>(row) * w.stride() + static_cast<std::size_t>(k0);
  if (w.f32 != nullptr) {
    std::memcpy(out, w.f32 + offset, static_cast<std::size_t>(n) * sizeof(float));
  } else {
    for (int k = 0; k < n; ++k) out[k] = half_to_float(w.f16[offset + static_cast<std::size_t>(k)]);
  }
}

VD_AVX512 void load_row_avx512(const WeightView& w, int row, int k0, int n, float* out) {
  if (w.f32 != nullptr) {
    load_row(w, row, k0, n, out);
    return;
  }
  const std::uint16_t* src =
      w.f16 + static_cast<std::size_t>(row) * w.stride() + static_cast<std::size_t>(k0);
  int k = 0;
  for (; k + 16 <= n; k += 16) {
    _mm512_storeu_ps(
        out + k, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + k))));
  }
  for (; k < n; ++k) out[k] = half_to_float(src[k]);
}

// ------------------------------------------------------------------- GEMM --
//
// Goto-style blocking: a KC-deep slice of W is packed into NR-wide panels
// ([k][NR]), a block of A into MR-tall panels ([k][MR]), and an MR x NR
// register tile accumulates over k. Threads split the N dimension, each with
// its own packing buffers, so no synchronisation is needed inside a GEMM.

constexpr int kMR = 8;
constexpr int kNR = 32;
constexpr int kKC = 256;
constexpr int kMC = 128;
// Below this many rows of A, packing costs more than it saves: the product
// is a few dot products per weight row (the decoder's per-token path).
constexpr int kGemvRows = 4;
// Products smaller than this many multiply-adds run on the calling thread:
// waking the pool costs more than it saves (the decoder's per-layer steps).
constexpr double kParallelWork = 1 << 20;

struct PackBuffers {
  std::vector<float> a;
  std::vector<float> b;
  std::vector<float> row;
};

PackBuffers& thread_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

template <bool kAvx512>
void pack_b(const WeightView& w, int n_begin, int n_end, int k0, int kc, PackBuffers& buf) {
  const int panels = (n_end - n_begin + kNR - 1) / kNR;
  buf.b.resize(static_cast<std::size_t>(panels) * kNR * kc);
  buf.row.resize(static_cast<std::size_t>(kc));
  for (int local = 0; local < panels * kNR; ++local) {
    float* dst = buf.b.data() + static_cast<std::size_t>(local / kNR) * kNR * kc + local % kNR;
    const int n = n_begin + local;
    if (n >= n_end) {  // padding columns of the last panel
      for (int k = 0; k < kc; ++k) dst[static_cast<std::size_t>(k) * kNR] = 0.0f;
      continue;
    }
    if constexpr (kAvx512) {
      load_row_avx512(w, n, k0, kc, buf.row.data());
    } else {
      load_row(w, n, k0, kc, buf.row.data());
    }
    for (int k = 0; k < kc; ++k)
      dst[static_cast<std::size_t>(k) * kNR] = buf.row[static_cast<std::size_t>(k)];
  }
}

void pack_a(const float* a, std::size_t lda, int m0, int mc, int k0, int kc, PackBuffers& buf) {
  const int panels = (mc + kMR - 1) / kMR;
  buf.a.resize(static_cast<std::size_t>(panels) * kMR * kc);
  for (int p = 0; p < panels; ++p) {
    const int rows = std::min(kMR, mc - p * kMR);
    const float* src[kMR];
    for (int i = 0; i < kMR; ++i) {
      // Rows past the end repeat the last real one; their results are never stored.
      src[i] = a + static_cast<std::size_t>(m0 + p * kMR + std::min(i, rows - 1)) * lda + k0;
    }
    float* dst = buf.a.data() + static_cast<std::size_t>(p) * kMR * kc;
    for (int k = 0; k < kc; ++k, dst += kMR) {
      for (int i = 0; i < kMR; ++i) dst[i] = src[i][k];
    }
  }
}

VD_AVX512 void tile_avx512(int kc, const float* pa, const float* pb, float* c, std::size_t ldc,
                           int rows, int cols, bool accumulate) {
  __m512 acc[kMR][2];
#pragma GCC unroll 8
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int k = 0; k < kc; ++k, pa += kMR, pb += kNR) {
    const __m512 b0 = _mm512_loadu_ps(pb);
    const __m512 b1 = _mm512_loadu_ps(pb + 16);
#pragma GCC unroll 8
    for (int i = 0; i < kMR; ++i) {
      const __m512 av = _mm512_set1_ps(pa[i]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
    }
  }
  const auto mask0 = static_cast<__mmask16>(cols >= 16 ? 0xffffu : (1u << cols) - 1u);
  const auto mask1 = static_cast<__mmask16>(cols >= 32  ? 0xffffu
                                            : cols > 16 ? (1u << (cols - 16)) - 1u
                                                        : 0u);
  for (int i = 0; i < rows; ++i) {
    float* out = c + static_cast<std::size_t>(i) * ldc;
    __m512 lo = acc[i][0];
    __m512 hi = acc[i][1];
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(mask0, out));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(mask1, out + 16));
    }
    _mm512_mask_storeu_ps(out, mask0, lo);
    _mm512_mask_storeu_ps(out + 16, mask1, hi);
  }
}

void tile_generic(int kc, const float* pa, const float* pb, float* c, std::size_t ldc, int rows,
                  int cols, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int k = 0; k < kc; ++k, pa += kMR, pb += kNR) {
    for (int i = 0; i < kMR; ++i) {
      for (int j = 0; j < kNR; ++j) acc[i][j] += pa[i] * pb[j];
    }
  }
  for (int i = 0; i < rows; ++i) {
    float* out = c + static_cast<std::size_t>(i) * ldc;
    for (int j = 0; j < cols; ++j) out[j] = accumulate ? out[j] + acc[i][j] : acc[i][j];
  }
}

template <bool kAvx512>
void gemm_slice(const float* a, std::size_t lda, int m_begin, int m_end, const WeightView& w,
                float* c, std::size_t ldc, int n_begin, int n_end) {
  PackBuffers& buf = thread_buffers();
  const int k_total = w.cols;
  if (k_total == 0) {  // an empty sum: the K loop below would never write C
    for (int i = m_begin; i < m_end; ++i) {
      std::fill(c + static_cast<std::size_t>(i) * ldc + n_begin,
                c + static_cast<std::size_t>(i) * ldc + n_end, 0.0f);
    }
    return;
  }
  for (int k0 = 0; k0 < k_total; k0 += kKC) {
    const int kc = std::min(kKC, k_total - k0);
    pack_b<kAvx512>(w, n_begin, n_end, k0, kc, buf);
    for (int m0 = m_begin; m0 < m_end; m0 += kMC) {
      const int mc = std::min(kMC, m_end - m0);
      pack_a(a, lda, m0, mc, k0, kc, buf);
      for (int n0 = n_begin; n0 < n_end; n0 += kNR) {
        const float* pb = buf.b.data() + static_cast<std::size_t>((n0 - n_begin) / kNR) * kNR * kc;
        for (int i0 = 0; i0 < mc; i0 += kMR) {
          const float* pa = buf.a.data() + static_cast<std::size_t>(i0 / kMR) * kMR * kc;
          float* out = c + static_cast<std::size_t>(m0 + i0) * ldc + n0;
          const int rows = std::min(kMR, mc - i0);
          const int cols = std::min(kNR, n_end - n0);
          if constexpr (kAvx512) {
            tile_avx512(kc, pa, pb, out, ldc, rows, cols, k0 > 0);
          } else {
            tile_generic(kc, pa, pb, out, ldc, rows, cols, k0 > 0);
          }
        }
      }
    }
  }
}

template <bool kHalf>
VD_AVX512 inline __m512 load_weights16(const WeightView& w, std::size_t at) {
  if constexpr (kHalf) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.f16 + at)));
  } else {
    return _mm512_loadu_ps(w.f32 + at);
  }
}

// One activation row against many weight rows (a decoding step): four weight
// rows at a time, two accumulators each, so that eight independent FMA chains
// hide the FMA latency and the loads stream from four rows at once.
constexpr std::size_t kPrefetchRows = 8;

template <bool kHalf>
VD_AVX512 void gemv1_slice_avx512(const float* a, const WeightView& w, float* c, int n_begin,
                                  int n_end) {
  const int k_total = w.cols;
  const int k_vec = k_total - k_total % 32;
  const std::size_t stride = w.stride();
  auto scalar_weight = [&](std::size_t at) { return kHalf ? half_to_float(w.f16[at]) : w.f32[at]; };
  int n = n_begin;
  for (; n + 4 <= n_end; n += 4) {
    __m512 acc[4][2];
    for (int r = 0; r < 4; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const std::size_t base = static_cast<std::size_t>(n) * stride;
    const bool prefetch =
        static_cast<std::size_t>(n) + kPrefetchRows + 4 <= static_cast<std::size_t>(w.rows);
    for (int k = 0; k < k_vec; k += 32) {
      const __m512 x0 = _mm512_loadu_ps(a + k);
      const __m512 x1 = _mm512_loadu_ps(a + k + 16);
      if (prefetch) {
        // The next groups' rows, a few kilobytes ahead: the hardware
        // prefetcher alone leaves this memory-bound loop waiting (2x slower).
        for (int r = 0; r < 4; ++r) {
          const std::size_t ahead =
              base + (kPrefetchRows + r) * stride + static_cast<std::size_t>(k);
          _mm_prefetch(kHalf ? reinterpret_cast<const char*>(w.f16 + ahead)
                             : reinterpret_cast<const char*>(w.f32 + ahead),
                       _MM_HINT_T0);
        }
      }
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const std::size_t row =
            base + static_cast<std::size_t>(r) * stride + static_cast<std::size_t>(k);
        acc[r][0] = _mm512_fmadd_ps(x0, load_weights16<kHalf>(w, row), acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(x1, load_weights16<kHalf>(w, row + 16), acc[r][1]);
      }
    }
    for (int r = 0; r < 4; ++r) {
      float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
      const std::size_t row = base + static_cast<std::size_t>(r) * stride;
      for (int k = k_vec; k < k_total; ++k)
        sum += a[k] * scalar_weight(row + static_cast<std::size_t>(k));
      c[n + r] = sum;
    }
  }
  for (; n < n_end; ++n) {
    const std::size_t row = static_cast<std::size_t>(n) * stride;
    float sum = 0;
    for (int k = 0; k < k_total; ++k)
      sum += a[k] * scalar_weight(row + static_cast<std::size_t>(k));
    c[n] = sum;
  }
}

VD_AVX512 void gemv_slice_avx512(const float* a, std::size_t lda, int m, const WeightView& w,
                                 float* c, std::size_t ldc, int n_begin, int n_end) {
  if (m == 1) {
    if (w.f16 != nullptr) {
      gemv1_slice_avx512<true>(a, w, c, n_begin, n_end);
    } else {
      gemv1_slice_avx512<false>(a, w, c, n_begin, n_end);
    }
    return;
  }
  const int k_total = w.cols;
  for (int n = n_begin; n < n_end; ++n) {
    __m512 acc[kGemvRows];
    for (int i = 0; i < m; ++i) acc[i] = _mm512_setzero_ps();
    const std::size_t offset = static_cast<std::size_t>(n) * w.stride();
    int k = 0;
    for (; k + 16 <= k_total; k += 16) {
      const __m512 wv = w.f32 != nullptr
                            ? _mm512_loadu_ps(w.f32 + offset + k)
                            : _mm512_cvtph_ps(_mm256_loadu_si256(
                                  reinterpret_cast<const __m256i*>(w.f16 + offset + k)));
      for (int i = 0; i < m; ++i) {
        acc[i] =
            _mm512_fmadd_ps(_mm512_loadu_ps(a + static_cast<std::size_t>(i) * lda + k), wv, acc[i]);
      }
    }
    for (int i = 0; i < m; ++i) {
      float sum = _mm512_reduce_add_ps(acc[i]);
      for (int kk = k; kk < k_total; ++kk) {
        const float wv = w.f32 != nullptr ? w.f32[offset + kk] : half_to_float(w.f16[offset + kk]);
        sum += a[static_cast<std::size_t>(i) * lda + kk] * wv;
      }
      c[static_cast<std::size_t>(i) * ldc + n] = sum;
    }
  }
}

void gemv_slice_generic(const float* a, std::size_t lda, int m, const WeightView& w, float* c,
                        std::size_t ldc, int n_begin, int n_end) {
  std::vector<float>& row = thread_buffers().row;
  row.resize(static_cast<std::size_t>(w.cols));
  for (int n = n_begin; n < n_end; ++n) {
    load_row(w, n, 0, w.cols, row.data());
    for (int i = 0; i < m; ++i) {
      const float* x = a + static_cast<std::size_t>(i) * lda;
      float sum = 0;
      for (int k = 0; k < w.cols; ++k) sum += x[k] * row[static_cast<std::size_t>(k)];
      c[static_cast<std::size_t>(i) * ldc + n] = sum;
    }
  }
}

// ------------------------------------------------------------ elementwise --

VD_AVX512 __m512 exp_avx512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504089f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  // Taylor series of e^r for |r| <= ln(2)/2: relative error about 1e-7.
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// GELU, tanh approximation: what whisper.cpp computes (PyTorch Whisper uses
// erf; the two differ by < 1e-3). 0.5x(1 + tanh(y)) = x - x / (e^{2y} + 1).
constexpr float kGeluC = 0.7978845608028654f;

VD_AVX512 void gelu_avx512(float* x, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
    const __m512 y2 = _mm512_mul_ps(_mm512_set1_ps(2 * kGeluC),
                                    _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), v3, v));
    const __m512 e = _mm512_add_ps(exp_avx512(y2), _mm512_set1_ps(1.0f));
    _mm512_storeu_ps(x + i, _mm512_sub_ps(v, _mm512_div_ps(v, e)));
  }
  for (; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(kGeluC * (v + 0.044715f * v * v * v)));
  }
}

VD_AVX512 void softmax_avx512(float* row, int n) {
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  int j = 0;
  for (; j + 16 <= n; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(row + j));
  float max = _mm512_reduce_max_ps(vmax);
  for (; j < n; ++j) max = std::max(max, row[j]);
  const __m512 shift = _mm512_set1_ps(max);
  __m512 vsum = _mm512_setzero_ps();
  for (j = 0; j + 16 <= n; j += 16) {
    const __m512 e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(row + j), shift));
    _mm512_storeu_ps(row + j, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  float sum = _mm512_reduce_add_ps(vsum);
  for (; j < n; ++j) {
    row[j] = std::exp(row[j] - max);
    sum += row[j];
  }
  const __m512 inv = _mm512_set1_ps(1.0f / sum);
  for (j = 0; j + 16 <= n; j += 16)
    _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
  for (; j < n; ++j) row[j] *= 1.0f / sum;
}

VD_AVX512 void axpy_avx512(float a, const float* x, float* y, int n) {
  const __m512 va = _mm512_set1_ps(a);
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

VD_AVX512 float dot_avx512(const float* x, const float* y, int n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), acc0);
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace

void axpy(float a, const float* x, float* y, int n) {
  if (cpu_has_avx512()) {
    axpy_avx512(a, x, y, n);
    return;
  }
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

float dot(const float* x, const float* y, int n) {
  if (cpu_has_avx512()) return dot_avx512(x, y, n);
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

void gemm_nt(const float* a, std::size_t lda, int m, const WeightView& w, const float* bias,
             float* c, std::size_t ldc, ThreadPool& pool) {
  if (m <= 0 || w.rows <= 0) return;
  const bool avx512 = cpu_has_avx512();
  const int panels = (w.rows + kNR - 1) / kNR;
  // Threads split whichever side is larger, so that the smaller operand is
  // the one every thread packs: W for tall activations (the encoder), the
  // activations for wide weights (the decoder's projections and logits).
  const bool split_m = m > kGemvRows && m >= w.rows;
  const int units = split_m ? (m + kMR - 1) / kMR : panels;
  const bool small = static_cast<double>(m) * w.rows * w.cols < kParallelWork;
  const int tasks = small ? 1 : std::min(units, pool.size() * (m <= kGemvRows ? 4 : 1));
  pool.parallel_for(tasks, [&](int task) {
    const auto first = static_cast<int>(static_cast<long>(units) * task / tasks);
    const auto last = static_cast<int>(static_cast<long>(units) * (task + 1) / tasks);
    int m_begin = 0;
    int m_end = m;
    int n_begin = 0;
    int n_end = w.rows;
    if (split_m) {
      m_begin = first * kMR;
      m_end = std::min(m, last * kMR);
    } else {
      n_begin = first * kNR;
      n_end = std::min(w.rows, last * kNR);
    }
    if (m_begin >= m_end || n_begin >= n_end) return;
    if (m <= kGemvRows) {
      if (avx512) {
        gemv_slice_avx512(a, lda, m, w, c, ldc, n_begin, n_end);
      } else {
        gemv_slice_generic(a, lda, m, w, c, ldc, n_begin, n_end);
      }
    } else if (avx512) {
      gemm_slice<true>(a, lda, m_begin, m_end, w, c, ldc, n_begin, n_end);
    } else {
      gemm_slice<false>(a, lda, m_begin, m_end, w, c, ldc, n_begin, n_end);
    }
    if (bias != nullptr) {
      for (int i = m_begin; i < m_end; ++i) {
        float* out = c + static_cast<std::size_t>(i) * ldc;
        for (int n = n_begin; n < n_end; ++n) out[n] += bias[n];
      }
    }
  });
}

void gelu_inplace(float* x, std::size_t n) {
  if (cpu_has_avx512()) {
    gelu_avx512(x, n);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(kGeluC * (v + 0.044715f * v * v * v)));
  }
}

void softmax_inplace(float* row, int n, int stride) {
  std::fill(row + n, row + stride, 0.0f);
  if (cpu_has_avx512()) {
    softmax_avx512(row, n);
    return;
  }
  float max = row[0];
  for (int j = 1; j < n; ++j) max = std::max(max, row[j]);
  float sum = 0;
  for (int j = 0; j < n; ++j) {
    row[j] = std::exp(row[j] - max);
    sum += row[j];
  }
  for (int j = 0; j < n; ++j) row[j] /= sum;
}

void layer_norm(const float* x, int rows, int d, const float* weight, const float* bias, float eps,
                float* y) {
  for (int r = 0; r < rows; ++r) {
    const float* in = x + static_cast<std::size_t>(r) * d;
    float* out = y + static_cast<std::size_t>(r) * d;
    float mean = 0;
    for (int j = 0; j < d; ++j) mean += in[j];
    mean /= static_cast<float>(d);
    float var = 0;
    for (int j = 0; j < d; ++j) var += (in[j] - mean) * (in[j] - mean);
    var /= static_cast<float>(d);
    const float inv = 1.0f / std::sqrt(var + eps);
    for (int j = 0; j < d; ++j) out[j] = (in[j] - mean) * inv * weight[j] + bias[j];
  }
}

}  // namespace voicedesk::stt
