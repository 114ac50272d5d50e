// An embedding host in miniature: one instrument, two funded accounts, two crossing orders.
// Prints every fill; exits 1 if there was none.
#include <cascade/engine.hpp>
#include <cascade/event_reader.hpp>
#include <cascade/wire.hpp>

#include <cstdio>
#include <cstring>

namespace wire = cascade::wire;

int main() {
  cascade::EngineConfig config;
  config.max_instruments = 4;
  config.max_accounts = 16;
  config.max_orders = 1024;
  cascade::Engine engine(config);
  cascade::EventBuffer out;

  cascade::SeqNo seq = 0;
  auto send = [&](auto msg) {
    msg.header.seq = ++seq;
    msg.header.ts_ns = 1'700'000'000'000'000'000 + static_cast<cascade::Timestamp>(seq);
    engine.process(msg, out);
  };

  // BTC-PERP: prices in 0.1 USD, quantities in 0.001 BTC.
  auto inst = wire::make<wire::InstrumentDefinition>();
  inst.instrument = 1;
  inst.price_decimals = 1;
  inst.qty_decimals = 3;
  std::memcpy(inst.symbol, "BTC-PERP", 8);
  inst.tick_size = 1;
  inst.lot_size = 1;
  inst.min_price = 500'000;
  inst.max_price = 700'000;
  inst.max_order_qty = 100'000;
  inst.taker_fee = 50'000;  // 0.05 %
  inst.tier_count = 1;
  inst.tiers[0] = {1'000'000'000'000'000, 1'000'000, 500'000, 0};  // 1 % initial, 0.5 % maintenance
  send(inst);

  for (cascade::AccountId account : {1u, 2u}) {
    auto dep = wire::make<wire::Deposit>();
    dep.account = account;
    dep.amount = 1'000'000'000'000;  // 1,000,000 USD in micros
    dep.transfer_id = account;
    send(dep);
  }

  auto order = [&](cascade::OrderId id, cascade::AccountId account, cascade::Side side, cascade::Price price) {
    auto o = wire::make<wire::NewOrder>();
    o.order_id = id;
    o.account = account;
    o.instrument = 1;
    o.price = price;
    o.qty = 500;  // 0.5 BTC
    o.side = side;
    o.order_type = cascade::OrderType::Limit;
    o.tif = cascade::TimeInForce::GTC;
    send(o);
  };
  order(101, 1, cascade::Side::Sell, 600'000);  // rests at 60000.0
  order(102, 2, cascade::Side::Buy, 600'100);   // crosses, fills at the resting price

  int fills = 0;
  cascade::EventReader reader(out.bytes());
  for (cascade::EventView ev; reader.next(ev);) {
    if (ev.type() != wire::MsgType::Fill) continue;
    const auto& f = ev.as<wire::Fill>();
    std::printf("fill maker=%llu taker=%llu price=%lld qty=%lld\n",
                static_cast<unsigned long long>(f.maker_order_id), static_cast<unsigned long long>(f.taker_order_id),
                static_cast<long long>(f.price), static_cast<long long>(f.qty));
    ++fills;
  }
  if (!reader.ok()) {
    std::printf("%s\n", reader.error().message().c_str());
    return 1;
  }
  std::printf("%d fill(s), %llu output events\n", fills, static_cast<unsigned long long>(engine.output_seq()));
  return fills > 0 ? 0 : 1;
}
