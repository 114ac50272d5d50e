// A digest of everything the engine's query API shows: instruments, books, marks, accounts,
// positions, totals and live orders. Two engines with equal digests answer every query
// alike; a rejected input must leave it unchanged (docs/matching.md, "Validation order").
// Not for the hot path: it walks every active account.
#pragma once

#include <cstdint>

#include "cascade/engine.hpp"

namespace cascade::verify {

// Leaves out the clock and the output sequence counter, which a rejected event advances.
std::uint64_t state_digest(const Engine& engine);

}  // namespace cascade::verify
