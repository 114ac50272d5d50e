// Read-only views of a book's levels, shared by the book and the engine's query API.
#pragma once

#include <cstdint>

#include "cascade/types.hpp"

namespace cascade {

struct LevelView {
  Price price;
  Qty qty;
  std::uint32_t orders;
};

struct TopView {
  Price bid_price = 0;  // 0 with bid_qty 0 when the side is empty
  Qty bid_qty = 0;
  Price ask_price = 0;
  Qty ask_qty = 0;
};

}  // namespace cascade
