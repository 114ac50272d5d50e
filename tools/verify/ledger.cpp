#include "verify/ledger.hpp"

#include <algorithm>

#include "cascade/event_reader.hpp"

namespace cascade::verify {

std::string to_string(i128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  std::string s;
  while (v != 0) {
    const int d = static_cast<int>(v % 10);
    s += static_cast<char>('0' + (d < 0 ? -d : d));
    v /= 10;
  }
  if (neg) s += '-';
  std::reverse(s.begin(), s.end());
  return s;
}

namespace {

template <class T>
void note(std::vector<T>& v, T x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::string acct(AccountId a) { return "account " + std::to_string(a); }
std::string inst(InstrumentId i) { return "instrument " + std::to_string(i); }

}  // namespace

LedgerAccount& Ledger::account(AccountId a) {
  note(touched_accounts_, a);
  return accounts_[a];
}

LedgerInstrument& Ledger::instrument(InstrumentId i) {
  note(touched_instruments_, i);
  return instruments_[i];
}

void Ledger::add_money(AccountId a, i128 delta) {
  account(a).money += delta;
  totals_.money += delta;
}

void Ledger::set_position(AccountId a, InstrumentId i, i128 size) {
  LedgerPosition& p = account(a).positions[i];
  LedgerInstrument& in = instrument(i);
  in.position_sum += size - p.size;
  in.open_interest += std::max<i128>(size, 0) - std::max<i128>(p.size, 0);
  p.size = size;
}

bool Ledger::apply(std::span<const std::byte> output, std::string& error) {
  touched_accounts_.clear();
  touched_instruments_.clear();
  EventReader reader(output);
  EventView ev;
  while (reader.next(ev)) {
    switch (ev.type()) {
      case wire::MsgType::BalanceChange: {
        const auto& b = ev.as<wire::BalanceChange>();
        if (b.reason == wire::BalanceReason::Deposit && b.delta > 0) {
          totals_.deposits += b.delta;
        } else if (b.reason == wire::BalanceReason::Withdrawal && b.delta < 0) {
          totals_.withdrawals -= b.delta;
        } else {
          error = "balance_change of " + acct(b.account) + " with reason " + std::to_string(int(b.reason)) +
                  " and delta " + std::to_string(b.delta) + ": only deposits (> 0) and withdrawals (< 0) are events";
          return false;
        }
        add_money(b.account, b.delta);
        break;
      }
      case wire::MsgType::Fill: {
        const auto& f = ev.as<wire::Fill>();
        if (f.qty <= 0) {
          error = "fill of " + std::to_string(f.qty) + " on " + inst(f.instrument);
          return false;
        }
        if (f.maker_account == f.taker_account) {
          error = "fill of " + acct(f.maker_account) + " against itself on " + inst(f.instrument);
          return false;
        }
        const i128 dq = f.aggressor_side == Side::Buy ? i128{f.qty} : -i128{f.qty};
        LedgerInstrument& in = instrument(f.instrument);
        set_position(f.taker_account, f.instrument, account(f.taker_account).positions[f.instrument].size + dq);
        set_position(f.maker_account, f.instrument, account(f.maker_account).positions[f.instrument].size - dq);
        add_money(f.maker_account, -i128{f.maker_fee});
        add_money(f.taker_account, -i128{f.taker_fee});
        account(f.maker_account).fees += f.maker_fee;
        totals_.fees += f.maker_fee;
        in.fees += f.maker_fee;
        if (f.flags & wire::fill_flags::kLiquidation) {
          // The taker is the liquidated account: its fee is the liquidation fee, paid into the
          // insurance fund (an InsuranceFund event follows).
          account(f.taker_account).liquidation_fees += f.taker_fee;
          if (!(f.flags & (wire::fill_flags::kBackstop | wire::fill_flags::kDeleverage))) ++totals_.book_fills;
        } else {
          account(f.taker_account).fees += f.taker_fee;
          totals_.fees += f.taker_fee;
          in.fees += f.taker_fee;
        }
        break;
      }
      case wire::MsgType::PositionUpdate: {
        const auto& u = ev.as<wire::PositionUpdate>();
        LedgerPosition& p = account(u.account).positions[u.instrument];
        instrument(u.instrument);
        if (p.size != u.size) {
          error = "position_update of " + acct(u.account) + " on " + inst(u.instrument) + " says size " +
                  std::to_string(u.size) + ", its fills say " + to_string(p.size);
          return false;
        }
        p.reported = u.size;
        totals_.entry_value += i128{u.entry_value} - p.entry_value;
        p.entry_value = u.entry_value;
        add_money(u.account, u.realized_pnl);
        break;
      }
      case wire::MsgType::FundingPayment: {
        const auto& f = ev.as<wire::FundingPayment>();
        LedgerInstrument& in = instrument(f.instrument);
        const LedgerPosition& p = account(f.account).positions[f.instrument];
        if (p.size != f.position || (f.position > 0 && f.rate > 0 && f.amount > 0) ||
            (f.position < 0 && f.rate > 0 && f.amount < 0)) {
          error = "funding_payment of " + std::to_string(f.amount) + " to " + acct(f.account) + " on " +
                  inst(f.instrument) + " for position " + std::to_string(f.position) + " at rate " +
                  std::to_string(f.rate) + " (the fills say position " + to_string(p.size) + ")";
          return false;
        }
        add_money(f.account, f.amount);
        account(f.account).funding += f.amount;
        if (f.amount < 0) {
          totals_.funding_paid -= f.amount;
          in.funding_paid -= f.amount;
        } else {
          totals_.funding_received += f.amount;
          in.funding_received += f.amount;
        }
        break;
      }
      case wire::MsgType::InsuranceFund: {
        const auto& f = ev.as<wire::InsuranceFund>();
        totals_.insurance_fund += f.delta;
        if (totals_.insurance_fund != f.balance || f.balance < 0) {
          error = "insurance_fund balance " + std::to_string(f.balance) + " after delta " + std::to_string(f.delta) +
                  ", the running sum of its deltas is " + to_string(totals_.insurance_fund);
          return false;
        }
        break;
      }
      case wire::MsgType::Liquidation: {
        const auto& l = ev.as<wire::Liquidation>();
        account(l.account);
        switch (l.stage) {
          case wire::LiquidationStage::Triggered: ++totals_.liquidations; break;
          case wire::LiquidationStage::Backstop: ++totals_.backstop_takeovers; break;
          case wire::LiquidationStage::Bankrupt:
            // The negative collateral -L is written off: C goes back to 0.
            ++totals_.bankruptcies;
            totals_.bankruptcy_loss += l.amount;
            add_money(l.account, l.amount);
            break;
          case wire::LiquidationStage::Socialized: totals_.socialized += l.amount; break;
          default: break;
        }
        break;
      }
      case wire::MsgType::Deleverage: {
        const auto& d = ev.as<wire::Deleverage>();
        account(d.account);
        account(d.counter_account);
        ++totals_.deleverages;
        break;
      }
      case wire::MsgType::MarginUpdate: {
        const auto& m = ev.as<wire::MarginUpdate>();
        LedgerAccount& a = account(m.account);
        a.has_margin_update = true;
        a.last_collateral = m.collateral;
        break;
      }
      case wire::MsgType::DepthLevel: {
        const auto& d = ev.as<wire::DepthLevel>();
        auto& side = d.side == Side::Buy ? instrument(d.instrument).bids : instrument(d.instrument).asks;
        if (d.qty == 0) {
          side.erase(d.price);
        } else {
          side[d.price] = {d.qty, d.order_count};
        }
        break;
      }
      case wire::MsgType::TopOfBook: {
        const auto& t = ev.as<wire::TopOfBook>();
        LedgerInstrument& in = instrument(t.instrument);
        in.bid_price = t.bid_price, in.bid_qty = t.bid_qty, in.ask_price = t.ask_price, in.ask_qty = t.ask_qty;
        break;
      }
      default: break;
    }
  }
  if (!reader.ok()) {
    error = "output stream: " + reader.error().message();
    return false;
  }
  for (const InstrumentId id : touched_instruments_) {
    const LedgerInstrument& in = instruments_[id];
    // The last TopOfBook and the depth levels tell the same story, and the book is not crossed.
    const Price bid = in.bids.empty() ? 0 : in.bids.rbegin()->first;
    const Qty bid_qty = in.bids.empty() ? 0 : in.bids.rbegin()->second.first;
    const Price ask = in.asks.empty() ? 0 : in.asks.begin()->first;
    const Qty ask_qty = in.asks.empty() ? 0 : in.asks.begin()->second.first;
    if (bid != in.bid_price || bid_qty != in.bid_qty || ask != in.ask_price || ask_qty != in.ask_qty) {
      error = inst(id) + ": top_of_book " + std::to_string(in.bid_qty) + "@" + std::to_string(in.bid_price) + " / " +
              std::to_string(in.ask_qty) + "@" + std::to_string(in.ask_price) + " but the depth levels say " +
              std::to_string(bid_qty) + "@" + std::to_string(bid) + " / " + std::to_string(ask_qty) + "@" +
              std::to_string(ask);
      return false;
    }
    if (bid_qty > 0 && ask_qty > 0 && bid >= ask) {
      error = inst(id) + ": book crossed, bid " + std::to_string(bid) + " >= ask " + std::to_string(ask);
      return false;
    }
    if (in.position_sum != 0) {
      error = inst(id) + ": positions sum to " + to_string(in.position_sum) + ", not 0";
      return false;
    }
  }
  // docs/margin.md, "Money conservation", from the output alone.
  const i128 lhs = totals_.deposits - totals_.withdrawals;
  const i128 rhs = totals_.money - totals_.entry_value + totals_.insurance_fund + totals_.fees - totals_.socialized;
  if (lhs != rhs) {
    error = "money not conserved: deposits - withdrawals = " + to_string(lhs) +
            ", sum (C - E + B) + insurance fund + fees - socialized losses = " + to_string(rhs);
    return false;
  }
  return true;
}

}  // namespace cascade::verify
