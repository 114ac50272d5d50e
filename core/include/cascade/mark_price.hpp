// The mark price of an instrument from its index, its book and its last trade
// (docs/margin.md, "Mark price"). A thin book moves the mark at most mark_band from the index.
#pragma once

#include <algorithm>

#include "cascade/fixed_point.hpp"
#include "cascade/types.hpp"

namespace cascade {

struct MarkInputs {
  Price index = 0;  // 0 = no index yet
  Price bid = 0;    // 0 = side empty
  Price ask = 0;
  Price last = 0;   // 0 = never traded
  Rate band = 0;    // mark_band, 0 = off
  Price min_price = 0;  // the book's range
  Price max_price = 0;
};

// 0 when there is neither an index nor a trade.
constexpr Price mark_price(const MarkInputs& in) noexcept {
  if (in.index <= 0) return in.last;
  Price mark = in.index;
  if (in.bid > 0 && in.ask > 0) {
    // median of three
    mark = std::max(std::min(in.index, in.bid), std::min(std::max(in.index, in.bid), in.ask));
  }
  if (in.band > 0) {
    const fx::i128 d = fx::floor_div(static_cast<fx::i128>(in.index) * in.band, kRateOne);
    const fx::i128 m = std::clamp<fx::i128>(mark, in.index - d, in.index + d);
    mark = fx::saturate(m);
  }
  // An index outside the book's range cannot be traded at: positions are valued at the
  // nearest price the book can reach.
  return std::clamp(mark, in.min_price, in.max_price);
}

}  // namespace cascade
