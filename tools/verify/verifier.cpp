#include "verify/verifier.hpp"

#include <set>
#include <vector>

namespace cascade::verify {
namespace {

std::string acct(AccountId a) { return "account " + std::to_string(a); }
std::string inst(InstrumentId i) { return "instrument " + std::to_string(i); }

template <class A, class B>
std::string differs(const char* what, const A& engine, const B& ledger) {
  return std::string(what) + ": engine " + to_string(i128{engine}) + ", output stream " + to_string(i128{ledger});
}

}  // namespace

Verifier::Verifier(const Engine& engine, const Options& options) : engine_(engine), options_(options) {}

bool Verifier::fail(std::string what) {
  if (ok()) {
    violation_.event = events_;
    violation_.seq = input_seq_;
    violation_.what = std::move(what);
  }
  return false;
}

bool Verifier::check_framing(const EventView& input, std::span<const std::byte> output) {
  EventReader reader(output);
  EventView ev;
  while (reader.next(ev)) {
    const wire::MessageHeader& h = ev.header();
    if (wire::is_input(h.type)) return fail(std::string("input type ") + wire::type_name(h.type) + " in the output");
    if (h.seq != output_seq_ + 1)
      return fail("output seq " + std::to_string(h.seq) + " after " + std::to_string(output_seq_));
    output_seq_ = h.seq;
    if (h.ref != input.header().seq || h.ts_ns != input.header().ts_ns)
      return fail(std::string(wire::type_name(h.type)) + " (output seq " + std::to_string(h.seq) +
                  ") does not copy the input's seq and ts_ns");
  }
  if (!reader.ok()) return fail("output stream: " + reader.error().message());
  return true;
}

bool Verifier::check_totals() {
  const MarginTotals t = engine_.totals();
  const LedgerTotals& l = ledger_.totals();
  if (t.deposits != l.deposits) return fail(differs("deposits", t.deposits, l.deposits));
  if (t.withdrawals != l.withdrawals) return fail(differs("withdrawals", t.withdrawals, l.withdrawals));
  if (t.fees_collected != l.fees) return fail(differs("fees collected", t.fees_collected, l.fees));
  if (t.insurance_fund != l.insurance_fund) return fail(differs("insurance fund", t.insurance_fund, l.insurance_fund));
  if (t.socialized_losses != l.socialized) return fail(differs("socialized losses", t.socialized_losses, l.socialized));
  if (t.funding_paid != l.funding_paid) return fail(differs("funding paid", t.funding_paid, l.funding_paid));
  if (t.funding_received != l.funding_received)
    return fail(differs("funding received", t.funding_received, l.funding_received));
  return true;
}

// One account of the engine against the ledger, and the maintenance rule.
bool Verifier::check_account(AccountId a) {
  const AccountView v = engine_.account(a);
  const auto it = ledger_.accounts().find(a);
  static const LedgerAccount kEmpty;
  const LedgerAccount& la = it == ledger_.accounts().end() ? kEmpty : it->second;
  const std::string who = acct(a);
  i128 money = v.collateral;
  for (const PositionView& p : v.positions) money += p.isolated_margin;
  if (money != la.money) return fail(differs((who + ": collateral + isolated margin").c_str(), money, la.money));
  if (la.has_margin_update && v.collateral != la.last_collateral)
    return fail(differs((who + ": collateral (last margin_update)").c_str(), v.collateral, la.last_collateral));
  std::size_t seen = 0;
  for (const PositionView& p : v.positions) {
    const auto lp = la.positions.find(p.instrument);
    const i128 size = lp == la.positions.end() ? 0 : lp->second.size;
    const i128 entry = lp == la.positions.end() ? 0 : lp->second.entry_value;
    if (p.size != size) return fail(differs((who + " on " + inst(p.instrument) + ": position").c_str(), p.size, size));
    if (p.entry_value != entry)
      return fail(differs((who + " on " + inst(p.instrument) + ": entry value").c_str(), p.entry_value, entry));
    if (p.size != 0) ++seen;
    if (engine_.config().liquidation && p.isolated && p.size != 0 && p.below_maintenance && p.maintenance_margin > 0)
      return fail(who + " on " + inst(p.instrument) + ": isolated position left below maintenance");
  }
  std::size_t held = 0;
  for (const auto& [id, lp] : la.positions) held += lp.size != 0;
  if (held != seen)
    return fail(who + ": " + std::to_string(held) + " open positions in the output stream, " + std::to_string(seen) +
                " in the engine");
  if (engine_.config().liquidation && v.below_maintenance && v.maintenance_margin > 0)
    return fail(who + ": left below maintenance (equity " + std::to_string(v.equity) + " < " +
                std::to_string(v.maintenance_margin) + ")");
  return true;
}

bool Verifier::check(const EventView& input, std::span<const std::byte> output) {
  if (!ok()) return false;
  ++events_;
  input_seq_ = input.header().seq;
  if (!check_framing(input, output)) return false;
  std::string error;
  if (!ledger_.apply(output, error)) return fail(error);
  if (!check_totals()) return false;
  for (const InstrumentId id : ledger_.touched_instruments()) {
    const TopView t = engine_.top(id);
    if (t.bid_qty > 0 && t.ask_qty > 0 && t.bid_price >= t.ask_price)
      return fail(inst(id) + ": engine's book crossed, bid " + std::to_string(t.bid_price) + " >= ask " +
                  std::to_string(t.ask_price));
    const LedgerInstrument& in = ledger_.instruments().at(id);
    if (t.bid_price != in.bid_price || t.bid_qty != in.bid_qty || t.ask_price != in.ask_price ||
        t.ask_qty != in.ask_qty)
      return fail(inst(id) + ": engine's top of book differs from the last top_of_book");
  }
  for (const AccountId a : ledger_.touched_accounts())
    if (!check_account(a)) return false;
  if (options_.full_every != 0 && events_ % options_.full_every == 0) return check_full();
  return true;
}

bool Verifier::finish() {
  if (!ok()) return false;
  return check_full();
}

bool Verifier::check_full() {
  ++full_checks_;
  if (!check_totals()) return false;
  std::set<AccountId> ids;
  for (const auto& [a, la] : ledger_.accounts()) ids.insert(a);
  for (const AccountId a : engine_.active_accounts()) ids.insert(a);
  // docs/margin.md, "Money conservation", and zero position sums, from the engine's queries.
  i128 money = 0;
  std::vector<std::pair<InstrumentId, i128>> sums;
  for (const AccountId a : ids) {
    if (!check_account(a)) return false;
    const AccountView v = engine_.account(a);
    money += v.collateral;
    for (const PositionView& p : v.positions) {
      money += i128{p.isolated_margin} - p.entry_value;
      bool found = false;
      for (auto& [id, s] : sums)
        if (id == p.instrument) s += p.size, found = true;
      if (!found) sums.emplace_back(p.instrument, p.size);
    }
  }
  const MarginTotals t = engine_.totals();
  const i128 lhs = i128{t.deposits} - t.withdrawals;
  const i128 rhs = money + t.insurance_fund + t.fees_collected - t.socialized_losses;
  if (lhs != rhs)
    return fail("engine: money not conserved: deposits - withdrawals = " + to_string(lhs) +
                ", sum (C - E + B) + insurance fund + fees - socialized losses = " + to_string(rhs));
  for (const auto& [id, s] : sums)
    if (s != 0) return fail("engine: " + inst(id) + ": positions sum to " + to_string(s));

  const LiquidationTotals lt = engine_.liquidation_totals();
  const LedgerTotals& l = ledger_.totals();
  if (lt.liquidations != l.liquidations) return fail(differs("liquidations", lt.liquidations, l.liquidations));
  if (lt.book_fills != l.book_fills) return fail(differs("liquidation book fills", lt.book_fills, l.book_fills));
  if (lt.backstop_takeovers != l.backstop_takeovers)
    return fail(differs("backstop takeovers", lt.backstop_takeovers, l.backstop_takeovers));
  if (lt.deleverages != l.deleverages) return fail(differs("deleverages", lt.deleverages, l.deleverages));
  if (lt.bankruptcies != l.bankruptcies) return fail(differs("bankruptcies", lt.bankruptcies, l.bankruptcies));
  if (lt.bankruptcy_loss != l.bankruptcy_loss)
    return fail(differs("bankruptcy losses", lt.bankruptcy_loss, l.bankruptcy_loss));
  i128 liquidation_fees = 0;
  for (const auto& [a, la] : ledger_.accounts()) liquidation_fees += la.liquidation_fees;
  if (lt.fees != liquidation_fees) return fail(differs("liquidation fees", lt.fees, liquidation_fees));

  std::vector<LevelView> levels;
  for (const InstrumentId id : engine_.instrument_ids()) {
    const InstrumentTotals it = engine_.instrument_totals(id);
    const auto f = ledger_.instruments().find(id);
    static const LedgerInstrument kNone;
    const LedgerInstrument& in = f == ledger_.instruments().end() ? kNone : f->second;
    const std::string name = inst(id);
    if (it.open_interest != in.open_interest)
      return fail(differs((name + ": open interest").c_str(), it.open_interest, in.open_interest));
    if (it.fees != in.fees) return fail(differs((name + ": fees").c_str(), it.fees, in.fees));
    if (it.funding_paid != in.funding_paid)
      return fail(differs((name + ": funding paid").c_str(), it.funding_paid, in.funding_paid));
    if (it.funding_received != in.funding_received)
      return fail(differs((name + ": funding received").c_str(), it.funding_received, in.funding_received));
    for (const Side side : {Side::Buy, Side::Sell}) {
      const auto& book = side == Side::Buy ? in.bids : in.asks;
      levels.resize(book.size() + 1);
      const std::size_t n = engine_.depth(id, side, levels.size(), levels.data());
      if (n != book.size())
        return fail(name + ": " + std::to_string(n) + (side == Side::Buy ? " bid" : " ask") +
                    " levels in the engine, " + std::to_string(book.size()) + " in the depth_level stream");
      std::size_t k = 0;
      const auto same = [&](Price p, const std::pair<Qty, std::uint32_t>& q) {
        const LevelView& lv = levels[k++];
        return lv.price == p && lv.qty == q.first && lv.orders == q.second;
      };
      bool equal = true;
      if (side == Side::Buy) {
        for (auto r = book.rbegin(); r != book.rend() && equal; ++r) equal = same(r->first, r->second);
      } else {
        for (auto r = book.begin(); r != book.end() && equal; ++r) equal = same(r->first, r->second);
      }
      if (!equal)
        return fail(name + ": " + (side == Side::Buy ? "bid" : "ask") + " level " + std::to_string(k) +
                    " differs between the engine and the depth_level stream");
    }
  }
  return true;
}

}  // namespace cascade::verify
