#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <span>
#include <vector>

namespace voicedesk::test {

inline std::vector<float> sine(double frequency, double amplitude, double rate, std::size_t n) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<float>(
        amplitude * std::sin(2.0 * std::numbers::pi * frequency * static_cast<double>(i) / rate));
  }
  return out;
}

inline double rms(std::span<const float> x) {
  double sum = 0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return x.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(x.size()));
}

inline double db(double ratio) {
  return 20.0 * std::log10(ratio);
}

}  // namespace voicedesk::test

namespace voicedesk::test {

// Vowel-like "speech": a glottal pulse train (F0 gliding around 130 Hz) through
// three formant resonators, with a 4 Hz syllable envelope. WebRTC's VAD, which
// models speech by sub-band energies, takes it for speech; a pure tone it
// does not.
inline std::vector<float> speech_like(double seconds, double rate, unsigned seed = 1) {
  const auto n = static_cast<std::size_t>(seconds * rate);
  std::vector<float> out(n);
  struct Resonator {
    double b1, b2, y1 = 0, y2 = 0;
    Resonator(double f, double bw, double fs) {
      const double r = std::exp(-std::numbers::pi * bw / fs);
      b1 = 2 * r * std::cos(2 * std::numbers::pi * f / fs);
      b2 = -r * r;
    }
    double step(double x) {
      const double y = x + b1 * y1 + b2 * y2;
      y2 = y1;
      y1 = y;
      return y;
    }
  };
  const double formant_shift = 1.0 + 0.03 * static_cast<double>(seed % 5);
  Resonator f1(700 * formant_shift, 90, rate), f2(1220 * formant_shift, 110, rate),
      f3(2600, 160, rate);
  double phase = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    const double f0 = 130 + 20 * std::sin(2 * std::numbers::pi * 0.7 * t);
    phase += f0 / rate;
    double pulse = 0;
    if (phase >= 1.0) {
      phase -= 1.0;
      pulse = 1.0;
    }
    const double v = f1.step(pulse) * 0.5 + f2.step(pulse) * 0.35 + f3.step(pulse) * 0.15;
    // Syllables: never fully silent inside a burst, like running speech.
    const double envelope = 0.55 + 0.45 * std::sin(2 * std::numbers::pi * 4.0 * t);
    out[i] = static_cast<float>(v * envelope);
  }
  // Normalise to a speaking level of about -18 dBFS peak.
  float peak = 0;
  for (float x : out) peak = std::max(peak, std::abs(x));
  if (peak > 0) {
    for (float& x : out) x *= 0.125f / peak;
  }
  return out;
}

}  // namespace voicedesk::test
