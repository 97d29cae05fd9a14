#pragma once

#include <cstdio>
#include <cstdlib>
#include <random>

namespace mk::test {

/// A size a long or heavy check takes from the environment (MK_FAULT_ROUNDS, ...), or
/// `fallback` when it is unset or empty.
inline unsigned env_number(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<unsigned>(std::strtoul(v, nullptr, 10)) : fallback;
}

/// The rounds of a fault suite and its random choices: MK_FAULT_ROUNDS (`rounds` unless
/// told) and MK_FAULT_SEED, printed so that a failing run can be replayed.
struct fault_rounds {
  unsigned rounds;
  unsigned seed;
  std::mt19937 rng;

  fault_rounds(const char* suite, unsigned default_rounds)
      : rounds(env_number("MK_FAULT_ROUNDS", default_rounds)),
        seed(env_number("MK_FAULT_SEED", std::random_device{}())),
        rng(seed) {
    std::printf("%s: %u rounds, seed %u (MK_FAULT_SEED replays it)\n", suite, rounds, seed);
  }
};

}  // namespace mk::test
