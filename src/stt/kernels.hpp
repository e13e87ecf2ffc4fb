#pragma once

// The numeric kernels of the Whisper engine: a small thread pool, the GEMM
// every layer runs through (f32 activations times f32 or f16 weights), and
// the element-wise functions, vectorised for AVX-512 with portable fallbacks.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace voicedesk::stt {

// Persistent workers for data-parallel loops. parallel_for calls are
// serialised, so one pool can be shared by concurrent transcriptions.
class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs fn(task) for task in [0, tasks), spread over the pool and the caller.
  void parallel_for(int tasks, const std::function<void(int)>& fn);

 private:
  void work();

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int tasks_ = 0;
  int next_ = 0;
  int unfinished_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
};

// A weight matrix W[rows][cols] in f32 or f16 (IEEE half) storage.
struct WeightView {
  int rows = 0;
  int cols = 0;
  const float* f32 = nullptr;
  const std::uint16_t* f16 = nullptr;
  std::size_t ld = 0;  // elements between rows; cols when 0
  std::size_t stride() const { return ld != 0 ? ld : static_cast<std::size_t>(cols); }
};

// C[m][n] = sum_k A[m][k] * W[n][k] (+ bias[n]), i.e. A * W^T: every linear
// layer and attention product here. A is row-major with leading dimension
// lda, C with ldc. Parallel over the pool.
void gemm_nt(const float* a, std::size_t lda, int m, const WeightView& w, const float* bias,
             float* c, std::size_t ldc, ThreadPool& pool);

// y[0..n) += a * x[0..n)
void axpy(float a, const float* x, float* y, int n);
float dot(const float* x, const float* y, int n);

void gelu_inplace(float* x, std::size_t n);
// Row-wise softmax of the first `n` entries; entries n..stride are zeroed.
void softmax_inplace(float* row, int n, int stride);
void layer_norm(const float* x, int rows, int d, const float* weight, const float* bias, float eps,
                float* y);

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);
bool cpu_has_avx512();

}  // namespace voicedesk::stt
