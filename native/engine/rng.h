// Small deterministic PRNG (xoshiro128**, Blackman & Vigna 2018) for shuffling and for keying the
// dropout masks' Philox stream, so the same seed and thread count give bit-identical training runs.
#pragma once
#include <cstdint>
#include <cstring>

namespace nt {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    // splitmix64 to spread the seed over the state
    for (auto& si : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      si = static_cast<uint32_t>(z ^ (z >> 31));
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }
  uint32_t next() {
    const uint32_t result = rotl(s_[1] * 5, 7) * 9;
    const uint32_t t = s_[1] << 9;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 11);
    return result;
  }
  // The generator's state (4 words): the Backend's uniform slot advances it in place.
  uint32_t* state() { return s_; }
  void set_state(const uint32_t* s) { std::memcpy(s_, s, sizeof s_); }
  // Uniform integer in [0, n) (n > 0), Lemire's multiply-shift (bias negligible for our n).
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((static_cast<uint64_t>(next()) * n) >> 32); }

 private:
  static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  uint32_t s_[4];
};

// The key of the counter-based dropout stream (kernels/philox.h) that one call of a Backend's
// uniform slot draws from, taken from the generator's state, which then advances two steps: the
// CPU and CUDA slots both use it, so the same state gives the same draws on either device.
inline uint64_t take_philox_key(uint32_t* state) {
  const uint64_t key = ((static_cast<uint64_t>(state[0]) << 32) | state[1]) ^
                       ((static_cast<uint64_t>(state[2]) << 32) | state[3]) * 0x9E3779B97F4A7C15ull;
  Rng rng;
  rng.set_state(state);
  rng.next();
  rng.next();
  std::memcpy(state, rng.state(), 4 * sizeof(uint32_t));
  return key;
}

}  // namespace nt
