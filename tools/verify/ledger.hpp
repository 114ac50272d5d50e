// Account state rebuilt from the engine's output stream alone: money per account (collateral
// plus isolated margin), positions, fees, funding, the insurance fund, liquidations and the
// books' depth. `cascade verify` compares it with the engine's own queries.
//
// What the output shows of an account's money: deposits and withdrawals (BalanceChange),
// trading and liquidation fees (Fill), realized PnL (PositionUpdate), funding
// (FundingPayment) and bankruptcy write-offs (Liquidation(Bankrupt)). Isolated margin moves
// between C and B are not events, so the ledger keeps the sum C + B per account (its last
// MarginUpdate gives C alone).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "cascade/types.hpp"
#include "cascade/wire.hpp"

namespace cascade::verify {

using i128 = __int128;

struct LedgerPosition {
  i128 size = 0;         // from the fills
  i128 reported = 0;     // the last PositionUpdate's size
  i128 entry_value = 0;  // the last PositionUpdate's entry value
};

struct LedgerAccount {
  i128 money = 0;  // C + sum B
  bool has_margin_update = false;
  Money last_collateral = 0;  // the last MarginUpdate's collateral
  i128 fees = 0;              // trading fees paid (rebates negative), liquidation fees excluded
  i128 liquidation_fees = 0;
  i128 funding = 0;           // received (> 0) or paid (< 0)
  std::map<InstrumentId, LedgerPosition> positions;
};

struct LedgerInstrument {
  i128 position_sum = 0;  // sum of sizes: zero after every event
  i128 open_interest = 0;
  i128 fees = 0;
  i128 funding_paid = 0;
  i128 funding_received = 0;
  std::map<Price, std::pair<Qty, std::uint32_t>> bids, asks;  // from DepthLevel
  Price bid_price = 0, ask_price = 0;                          // the last TopOfBook
  Qty bid_qty = 0, ask_qty = 0;
};

struct LedgerTotals {
  i128 deposits = 0;
  i128 withdrawals = 0;
  i128 fees = 0;  // F: trading fees, rebates netted
  i128 insurance_fund = 0;
  i128 socialized = 0;
  i128 funding_paid = 0;
  i128 funding_received = 0;
  i128 money = 0;        // sum over accounts of C + B
  i128 entry_value = 0;  // sum over positions of E
  std::uint64_t liquidations = 0;  // Liquidation(Triggered)
  std::uint64_t book_fills = 0;
  std::uint64_t backstop_takeovers = 0;
  std::uint64_t deleverages = 0;
  std::uint64_t bankruptcies = 0;
  i128 bankruptcy_loss = 0;
};

class Ledger {
 public:
  // Applies one input event's output. Returns false with a message when the output
  // contradicts itself (a PositionUpdate that disagrees with the fills before it, an
  // InsuranceFund balance that is not the running sum, a crossed TopOfBook, ...).
  bool apply(std::span<const std::byte> output, std::string& error);

  const LedgerTotals& totals() const { return totals_; }
  const std::map<AccountId, LedgerAccount>& accounts() const { return accounts_; }
  const std::map<InstrumentId, LedgerInstrument>& instruments() const { return instruments_; }
  // Instruments and accounts named by the last apply().
  const std::vector<InstrumentId>& touched_instruments() const { return touched_instruments_; }
  const std::vector<AccountId>& touched_accounts() const { return touched_accounts_; }

 private:
  LedgerAccount& account(AccountId a);
  LedgerInstrument& instrument(InstrumentId i);
  void add_money(AccountId a, i128 delta);
  void set_position(AccountId a, InstrumentId i, i128 size);

  std::map<AccountId, LedgerAccount> accounts_;
  std::map<InstrumentId, LedgerInstrument> instruments_;
  LedgerTotals totals_;
  std::vector<InstrumentId> touched_instruments_;
  std::vector<AccountId> touched_accounts_;
};

std::string to_string(i128 v);

}  // namespace cascade::verify
