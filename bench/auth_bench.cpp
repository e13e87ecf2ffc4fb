// Service tokens: minting and verifying per second against one bare HMAC-SHA256 of a message of
// the same length, measured in the same run. Each costs one HMAC; minting also draws its 8-byte
// nonce with RAND_bytes (measured alone too), verifying parses and checks the replay cache.
//
//   bench_auth                                full run
//   bench_auth --benchmark_min_time=0.01      smoke run (CI)
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "ratio_reporter.hpp"

namespace {

using voicedesk::auth::Authenticator;
using voicedesk::auth::AuthenticatorOptions;
using voicedesk::auth::ServiceSecret;
using voicedesk::auth::TimePoint;

const ServiceSecret& secret() {
  static const ServiceSecret key = ServiceSecret::generate();
  return key;
}

const TimePoint kNow{std::chrono::seconds(1'700'000'000)};

void per_second(benchmark::State& state) {
  state.counters["per_second"] =
      benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_BareHmacSha256(benchmark::State& state) {
  const std::string message = "vd1|340000000|0123456789abcdef|mcp";  // what a token's MAC covers
  const auto key = secret().bytes();
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &size);
    benchmark::DoNotOptimize(mac);
  }
  per_second(state);
}

void BM_RandBytesNonce(benchmark::State& state) {
  std::array<unsigned char, 8> nonce{};
  for (auto _ : state) {
    RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
    benchmark::DoNotOptimize(nonce);
  }
  per_second(state);
}

void BM_MintToken(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(mint_token(secret(), "mcp", kNow));
  per_second(state);
}

// Each token verifies once (replays are refused), so the loop walks a pool of distinct tokens and
// starts a fresh Authenticator, timing paused, when the pool is used up.
void BM_VerifyToken(benchmark::State& state) {
  constexpr std::size_t kPool = 20'000;
  std::vector<std::string> pool;
  pool.reserve(kPool);
  for (std::size_t i = 0; i < kPool; ++i) pool.push_back(mint_token(secret(), "mcp", kNow));
  auto make = [] {
    AuthenticatorOptions options;
    options.secret = secret();
    options.clock = [] { return kNow; };
    return std::make_unique<Authenticator>(std::move(options));
  };
  auto auth = make();
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == kPool) {
      state.PauseTiming();
      auth = make();
      next = 0;
      state.ResumeTiming();
    }
    if (!auth->verify(pool[next++], "mcp").ok) state.SkipWithError("a fresh token was rejected");
  }
  per_second(state);
}

BENCHMARK(BM_BareHmacSha256);
BENCHMARK(BM_RandBytesNonce);
BENCHMARK(BM_MintToken);
BENCHMARK(BM_VerifyToken);

// The cost of minting and verifying in bare HMACs.
void summarize(std::map<std::string, double>& rates) {
  const double hmac = rates["BM_BareHmacSha256"];
  const double nonce = rates["BM_RandBytesNonce"];
  const double mint = rates["BM_MintToken"];
  const double verify = rates["BM_VerifyToken"];
  if (hmac <= 0 || nonce <= 0 || mint <= 0 || verify <= 0) return;
  std::printf("\nbare HMAC-SHA256 : %9.0f per second per core\n", hmac);
  std::printf("RAND_bytes(8)    : %9.0f per second per core (%.2f bare HMACs)\n", nonce,
              hmac / nonce);
  std::printf("mint token       : %9.0f per second per core (%.2f bare HMACs)\n", mint,
              hmac / mint);
  std::printf("verify token     : %9.0f per second per core (%.2f bare HMACs)\n", verify,
              hmac / verify);
}

}  // namespace

int main(int argc, char** argv) {
  voicedesk::bench::RatioReporter reporter("per_second", summarize);
  return voicedesk::bench::run_benchmarks(argc, argv, reporter);
}
