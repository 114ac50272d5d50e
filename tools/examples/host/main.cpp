// An example host. One instrument (BTC-PERP), a market maker and a taker:
//  1. in this thread, through cascade::Driver: every output event goes straight to a
//     listener struct (a direct call chosen at compile time) that prints fills;
//  2. through cascade::Pipeline: the same orders submitted from this thread, the engine on its
//     own thread journaling them (flush per batch), fills printed on the output thread.
// Both runs must print the same fills. Usage: example_host [JOURNAL] (default: a temporary file).
#include <cascade/driver.hpp>
#include <cascade/pipeline.hpp>
#include <cascade/wire.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace wire = cascade::wire;

namespace {

// The input: a definition, two deposits, five resting asks and one buy that sweeps three.
std::vector<std::uint64_t> build_orders(std::size_t& bytes) {
  cascade::EventBuffer buf;
  cascade::SeqNo seq = 0;
  const auto add = [&](auto msg) {
    msg.header.seq = ++seq;
    msg.header.ts_ns = 1'700'000'000'000'000'000 + static_cast<cascade::Timestamp>(seq) * 1000;
    buf.append(msg);
  };
  auto inst = wire::make<wire::InstrumentDefinition>();
  inst.instrument = 1;
  inst.price_decimals = 1;  // prices in 0.1 USD
  inst.qty_decimals = 3;    // quantities in 0.001 BTC
  std::memcpy(inst.symbol, "BTC-PERP", 8);
  inst.tick_size = 1;
  inst.lot_size = 1;
  inst.min_price = 500'000;
  inst.max_price = 700'000;
  inst.max_order_qty = 100'000;
  inst.maker_fee = -10'000;  // -0.01 %: a rebate
  inst.taker_fee = 50'000;   // 0.05 %
  inst.tier_count = 1;
  inst.tiers[0] = {1'000'000'000'000'000, 1'000'000, 500'000, 0};  // 1 % initial, 0.5 % maintenance
  add(inst);
  for (cascade::AccountId account : {1u, 2u}) {
    auto dep = wire::make<wire::Deposit>();
    dep.account = account;
    dep.amount = 1'000'000'000'000;  // 1,000,000 USD in micros
    dep.transfer_id = account;
    add(dep);
  }
  const auto order = [&](cascade::OrderId id, cascade::AccountId account, cascade::Side side, cascade::Price price,
                         cascade::Qty qty) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = id;
    o.account = account;
    o.instrument = 1;
    o.price = price;
    o.qty = qty;
    o.side = side;
    o.order_type = cascade::OrderType::Limit;
    o.tif = cascade::TimeInForce::GTC;
    add(o);
  };
  for (int k = 0; k < 5; ++k) order(100 + k, 1, cascade::Side::Sell, 600'000 + 10 * k, 200);  // asks 60000.0 ..
  order(200, 2, cascade::Side::Buy, 600'020, 550);  // takes 200 + 200 + 150
  bytes = buf.size();
  std::vector<std::uint64_t> words((bytes + 7) / 8);
  std::memcpy(words.data(), buf.bytes().data(), bytes);
  return words;
}

void print_fill(const char* how, const wire::Fill& f) {
  std::printf("%s fill maker=%llu taker=%llu price=%lld qty=%lld\n", how,
              static_cast<unsigned long long>(f.maker_order_id), static_cast<unsigned long long>(f.taker_order_id),
              static_cast<long long>(f.price), static_cast<long long>(f.qty));
}

// The listener: any type with on_event(const EventView&). No base class, no virtual call.
struct FillPrinter {
  const char* how;
  int fills = 0;
  void on_event(const cascade::EventView& ev) {
    if (ev.type() != wire::MsgType::Fill) return;
    print_fill(how, ev.as<wire::Fill>());
    ++fills;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t bytes = 0;
  const std::vector<std::uint64_t> words = build_orders(bytes);
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(words.data()), bytes);

  cascade::EngineConfig config;  // capacities: everything is preallocated from these
  config.max_instruments = 4;
  config.max_accounts = 16;
  config.max_orders = 1024;
  config.max_levels_per_book = 1 << 18;
  config.max_positions = 64;

  // 1. Direct: the host's thread runs the engine.
  cascade::Driver driver(config);
  FillPrinter printer{"direct  "};
  cascade::EventReader reader(input);
  for (cascade::EventView ev; reader.next(ev);) driver.process(ev, printer);

  // 2. Threaded, journaled.
  const std::string journal = argc > 1 ? argv[1] : "/tmp/cascade-example-" + std::to_string(::getpid()) + ".journal";
  cascade::PipelineConfig pc;
  pc.journal_path = journal;
  pc.durability = cascade::Durability::Flush;
  FillPrinter threaded("pipeline");  // called on the output thread only
  cascade::Pipeline pipeline(cascade::Engine(config), pc,
                             [&threaded](std::span<const std::byte> out) { cascade::for_each_output(out, threaded); });
  std::string error;
  if (!pipeline.start(error) || !pipeline.submit(input, error)) {
    std::fprintf(stderr, "example_host: %s\n", error.c_str());
    return 1;
  }
  const cascade::PipelineStats stats = pipeline.finish();
  if (argc <= 1) ::unlink(journal.c_str());
  std::printf("%d fill(s) direct, %d through the pipeline; %llu events in, %llu out; journal %s\n", printer.fills,
              threaded.fills, static_cast<unsigned long long>(stats.events_in),
              static_cast<unsigned long long>(stats.events_out), stats.journal_ok ? "ok" : stats.journal_error.c_str());
  return printer.fills > 0 && printer.fills == threaded.fills && stats.journal_ok ? 0 : 1;
}
