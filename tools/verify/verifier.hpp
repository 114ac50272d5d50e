// Checks a replay event by event (docs/robustness.md, "cascade verify"):
//  - the output of each input event is well framed (seq 1, 2, ... without gaps; ts_ns and ref
//    copied from the input);
//  - the ledger rebuilt from the output alone (ledger.hpp) stays consistent: positions per
//    instrument sum to zero, money is conserved exactly, the book is never crossed;
//  - the ledger agrees with the engine's totals after every event, and with the state of
//    every account the event named (money, positions, collateral); no such unit with a
//    maintenance margin is left below it once the event has settled (liquidation on);
//  - every `full_every` events and at finish(): every account, position, instrument total,
//    liquidation total and book level of the ledger against the engine, and the money
//    identity and position sums computed from the engine's own queries.
// The first violation stops the check and names the input event (its index and seq).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "cascade/engine.hpp"
#include "cascade/event_reader.hpp"
#include "verify/ledger.hpp"

namespace cascade::verify {

struct Options {
  std::uint64_t full_every = 0;  // full comparison every N input events (0: only at finish)
};

struct Violation {
  std::uint64_t event = 0;  // 1-based index of the input event after which it was found
  SeqNo seq = 0;            // that input event's seq (0 for finish() at the end of the stream)
  std::string what;
};

class Verifier {
 public:
  // engine is the engine that processed the events; it is only queried.
  explicit Verifier(const Engine& engine, const Options& options = {});

  // After engine.process(input, ...) wrote `output` (that event's output only). False at the
  // first violation; every later call returns false at once.
  bool check(const EventView& input, std::span<const std::byte> output);
  // The full comparison of ledger and engine, for the end of a stream.
  bool finish();

  bool ok() const { return violation_.what.empty(); }
  const Violation& violation() const { return violation_; }
  std::uint64_t events() const { return events_; }
  std::uint64_t full_checks() const { return full_checks_; }
  const Ledger& ledger() const { return ledger_; }

 private:
  bool fail(std::string what);
  bool check_framing(const EventView& input, std::span<const std::byte> output);
  bool check_totals();
  bool check_account(AccountId a);
  bool check_full();

  const Engine& engine_;
  Options options_;
  Ledger ledger_;
  Violation violation_;
  std::uint64_t events_ = 0;
  std::uint64_t full_checks_ = 0;
  SeqNo input_seq_ = 0;
  SeqNo output_seq_ = 0;
};

}  // namespace cascade::verify
