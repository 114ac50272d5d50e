#include "support/small_crash.hpp"

namespace cascade::testing {

bool small_crash_day(EventBuffer& out, scenario::Summary& summary, std::string& error) {
  namespace sc = cascade::scenario;
  sc::Params p = sc::preset(sc::Kind::Crash);
  p.accounts = 300;
  p.shape.duration_ms = 12 * 60'000;
  p.shape.drop_start_ms = 2 * 60'000;
  p.shape.drop_ms = 6 * 60'000;
  p.shape.rebound_ms = 3 * 60'000;
  p.tick_ms = 2'000;
  p.mm_levels = 3;
  p.taker_rate = 2;
  return sc::generate(p, [&](std::span<const std::byte> b) { out.append_raw(b.data(), b.size()); }, summary, error);
}

}  // namespace cascade::testing
