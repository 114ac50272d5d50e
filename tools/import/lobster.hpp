// LOBSTER (lobsterdata.com) message/orderbook files -> cascade input events, and the
// engine's book printed back in LOBSTER's orderbook layout.
#pragma once

#include <cstdio>
#include <string>

#include "cascade/engine.hpp"

namespace cascade::import {

// Appends one orderbook-file row for the engine's current book of `instrument` to `row`
// (no newline): for each level 1..depth "ask price,ask size,bid price,bid size", prices in
// the instrument's price units, empty levels as 9999999999,0 / -9999999999,0.
void lobster_book_row(const Engine& engine, InstrumentId instrument, int depth, std::string& row);

}  // namespace cascade::import
