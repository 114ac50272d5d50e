#include "import/lobster.hpp"

#include <vector>

namespace cascade::import {

void lobster_book_row(const Engine& engine, InstrumentId instrument, int depth, std::string& row) {
  std::vector<LevelView> asks(static_cast<std::size_t>(depth)), bids(static_cast<std::size_t>(depth));
  const std::size_t na = engine.depth(instrument, Side::Sell, asks.size(), asks.data());
  const std::size_t nb = engine.depth(instrument, Side::Buy, bids.size(), bids.data());
  for (std::size_t i = 0; i < static_cast<std::size_t>(depth); ++i) {
    if (i) row += ',';
    if (i < na) row += std::to_string(asks[i].price) + ',' + std::to_string(asks[i].qty);
    else row += "9999999999,0";
    row += ',';
    if (i < nb) row += std::to_string(bids[i].price) + ',' + std::to_string(bids[i].qty);
    else row += "-9999999999,0";
  }
}

}  // namespace cascade::import
