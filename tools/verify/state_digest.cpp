#include "verify/state_digest.hpp"

#include <cstring>
#include <type_traits>
#include <vector>

#include "cascade/digest.hpp"

namespace cascade::verify {
namespace {

struct Hasher {
  Fnv1a64 h;
  template <class T>
  void add(const T& v) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    h.update(std::span<const std::byte>(reinterpret_cast<const std::byte*>(&v), sizeof v));
  }
  void add_bytes(const void* p, std::size_t n) {
    h.update(std::span<const std::byte>(static_cast<const std::byte*>(p), n));
  }
};

void add_side(Hasher& h, const Engine& e, InstrumentId id, Side side) {
  // Grow the window until the whole side fits: books can be deep, most are not.
  std::vector<LevelView> levels(256);
  std::size_t n;
  while ((n = e.depth(id, side, levels.size(), levels.data())) == levels.size()) levels.resize(levels.size() * 4);
  h.add(n);
  for (std::size_t i = 0; i < n; ++i) {
    h.add(levels[i].price);
    h.add(levels[i].qty);
    h.add(levels[i].orders);
  }
}

}  // namespace

std::uint64_t state_digest(const Engine& e) {
  Hasher h;
  for (const InstrumentId id : e.instrument_ids()) {
    h.add(id);
    h.add_bytes(reinterpret_cast<const std::byte*>(e.instrument(id)) + sizeof(wire::MessageHeader),
                sizeof(wire::InstrumentDefinition) - sizeof(wire::MessageHeader));
    add_side(h, e, id, Side::Buy);
    add_side(h, e, id, Side::Sell);
    const TopView t = e.top(id);
    h.add(t.bid_price), h.add(t.bid_qty), h.add(t.ask_price), h.add(t.ask_qty);
    h.add(e.last_price(id));
    const MarkView m = e.mark(id);
    h.add(m.mark), h.add(m.index), h.add(m.last);
    const InstrumentTotals it = e.instrument_totals(id);
    h.add(it.open_interest), h.add(it.holders), h.add(it.fees), h.add(it.funding_paid), h.add(it.funding_received);
  }
  for (const AccountId a : e.active_accounts()) {
    const AccountView v = e.account(a);
    h.add(a);
    h.add(e.balance(a));
    h.add(v.collateral), h.add(v.equity), h.add(v.initial_margin), h.add(v.maintenance_margin);
    h.add(v.below_maintenance), h.add(v.isolated_default), h.add(v.backstop);
    h.add(v.positions.size());
    for (const PositionView& p : v.positions) {
      h.add(p.instrument), h.add(p.size), h.add(p.entry_value), h.add(p.isolated), h.add(p.isolated_margin);
      h.add(p.notional), h.add(p.unrealized_pnl), h.add(p.initial_margin), h.add(p.maintenance_margin);
      h.add(p.open_buy), h.add(p.open_sell), h.add(p.reduce_only), h.add(p.orders), h.add(p.below_maintenance);
    }
  }
  const MarginTotals t = e.totals();
  h.add(t.deposits), h.add(t.withdrawals), h.add(t.fees_collected), h.add(t.insurance_fund);
  h.add(t.socialized_losses), h.add(t.funding_paid), h.add(t.funding_received), h.add(t.below_maintenance);
  h.add(t.position_records);
  const LiquidationTotals l = e.liquidation_totals();
  h.add(l.liquidations), h.add(l.book_fills), h.add(l.book_notional), h.add(l.fees), h.add(l.backstop_takeovers);
  h.add(l.backstop_notional), h.add(l.deleverages), h.add(l.deleverage_notional), h.add(l.bankruptcies);
  h.add(l.bankruptcy_loss), h.add(l.max_depth), h.add(l.largest_cascade), h.add(l.largest_cascade_origin);
  h.add(e.live_orders());
  return h.h.value();
}

}  // namespace cascade::verify
