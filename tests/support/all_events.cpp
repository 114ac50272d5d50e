#include "support/all_events.hpp"

#include <cstring>

#include "cascade/event_file.hpp"

namespace cascade::testing {

namespace {
template <class T>
T msg(SeqNo seq, std::uint64_t ref = 0) {
  T m = wire::make<T>();
  m.header.seq = seq;
  m.header.ts_ns = kAllEventsTs0 + static_cast<Timestamp>(seq) * 1000;
  m.header.ref = ref;
  return m;
}
}  // namespace

AllEvents make_all_events() {
  using namespace wire;
  AllEvents e{};

  auto& in = e.instrument = msg<InstrumentDefinition>(1);
  in.instrument = 7;
  std::memcpy(in.symbol, "BTC-PERP", 8);
  in.price_decimals = 1;
  in.qty_decimals = 3;
  in.tier_count = 2;
  in.tick_size = 5;
  in.lot_size = 1;
  in.min_price = 100'000;
  in.max_price = 2'000'000;
  in.max_order_qty = 100'000;
  in.reference_price = 650'000;
  in.price_band = 10'000'000;
  in.market_band = 5'000'000;
  in.maker_fee = -10'000;
  in.taker_fee = 50'000;
  in.liquidation_fee = 1'000'000;
  in.circuit_band = 15'000'000;
  in.circuit_window_ms = 60'000;
  in.circuit_pause_ms = 30'000;
  in.mark_band = 2'500'000;
  in.tiers[0] = {1'000'000'000'000, 1'000'000, 500'000, 0};
  in.tiers[1] = {5'000'000'000'000, 2'000'000, 1'000'000, 5'000'000'000};

  e.deposit = msg<Deposit>(2);
  e.deposit.account = 11;
  e.deposit.amount = 250'000'000'000;
  e.deposit.transfer_id = 901;

  e.withdrawal = msg<Withdrawal>(3);
  e.withdrawal.account = 11;
  e.withdrawal.amount = 1'500'250'000;
  e.withdrawal.transfer_id = 902;

  e.account_settings = msg<AccountSettings>(4);
  e.account_settings.account = 11;
  e.account_settings.instrument = kAllInstruments;
  e.account_settings.margin_mode = MarginMode::Isolated;
  e.account_settings.role = AccountRole::Backstop;

  auto& no = e.new_order = msg<NewOrder>(5, 77);
  no.header.flags = header_flags::kSynthetic;
  no.order_id = 1001;
  no.client_order_id = 5001;
  no.account = 11;
  no.instrument = 7;
  no.price = 649'995;
  no.qty = 1'250;
  no.trigger_price = 650'500;
  no.side = Side::Sell;
  no.order_type = OrderType::StopLimit;
  no.tif = TimeInForce::GTC;
  no.flags = order_flags::kReduceOnly;
  no.stp = SelfTradePrevention::CancelBoth;

  e.cancel = msg<CancelOrder>(6);
  e.cancel.order_id = 1001;
  e.cancel.account = 11;
  e.cancel.instrument = 7;

  e.modify = msg<ModifyOrder>(7);
  e.modify.order_id = 1002;
  e.modify.account = 12;
  e.modify.instrument = 7;
  e.modify.new_price = 650'010;
  e.modify.new_qty = 500;

  e.mass_cancel = msg<MassCancel>(8);
  e.mass_cancel.account = 12;
  e.mass_cancel.instrument = 7;

  e.index_price = msg<IndexPrice>(9);
  e.index_price.instrument = 7;
  e.index_price.price = 650'123;

  e.funding_rate = msg<FundingRate>(10);
  e.funding_rate.instrument = 7;
  e.funding_rate.rate = -2'500;

  e.heartbeat = msg<Heartbeat>(11);

  auto& ac = e.accepted = msg<OrderAccepted>(12, 5);
  ac.order_id = 1003;
  ac.client_order_id = 5003;
  ac.account = 12;
  ac.instrument = 7;
  ac.price = 650'020;
  ac.qty = 1'500;
  ac.trigger_price = 0;
  ac.side = Side::Buy;
  ac.order_type = OrderType::Limit;
  ac.tif = TimeInForce::IOC;
  ac.flags = order_flags::kPostOnly | order_flags::kReduceOnly;
  ac.stp = SelfTradePrevention::CancelResting;

  auto& rj = e.rejected = msg<Rejected>(13, 5);
  rj.id = 1003;
  rj.client_order_id = 5003;
  rj.account = 12;
  rj.instrument = 7;
  rj.reason = RejectReason::PostOnlyWouldTake;
  rj.input_type = MsgType::NewOrder;

  auto& cn = e.cancelled = msg<OrderCancelled>(14, 6);
  cn.order_id = 1002;
  cn.account = 12;
  cn.instrument = 7;
  cn.cancelled_qty = 500;
  cn.reason = CancelReason::IocRemainder;
  cn.side = Side::Buy;

  auto& md = e.modified = msg<OrderModified>(15, 7);
  md.order_id = 1002;
  md.account = 12;
  md.instrument = 7;
  md.new_price = 650'010;
  md.new_qty = 400;
  md.priority_kept = 1;

  auto& f = e.fill = msg<Fill>(16, 7);
  f.maker_order_id = 1002;
  f.taker_order_id = 1004;
  f.maker_account = 12;
  f.taker_account = 13;
  f.instrument = 7;
  f.aggressor_side = Side::Sell;
  f.flags = fill_flags::kLiquidation | fill_flags::kStopTriggered;
  f.price = 650'010;
  f.qty = 100;
  f.maker_leaves = 300;
  f.taker_leaves = 0;
  f.maker_fee = -6'500;
  f.taker_fee = 32'501;

  auto& st = e.stop_triggered = msg<StopTriggered>(17, 7);
  st.order_id = 1001;
  st.account = 11;
  st.instrument = 7;
  st.trigger_price = 650'500;
  st.last_price = 650'510;

  auto& tb = e.top_of_book = msg<TopOfBook>(18, 7);
  tb.instrument = 7;
  tb.bid_price = 650'010;
  tb.bid_qty = 300;
  tb.ask_price = 650'020;
  tb.ask_qty = 1'500;

  auto& dl = e.depth = msg<DepthLevel>(19, 7);
  dl.instrument = 7;
  dl.side = Side::Sell;
  dl.price = 650'020;
  dl.qty = 1'500;
  dl.order_count = 3;

  auto& mp = e.mark_price = msg<MarkPrice>(20, 9);
  mp.instrument = 7;
  mp.mark = 650'015;
  mp.index = 650'123;
  mp.last = 650'010;

  auto& bc = e.balance = msg<BalanceChange>(21, 7);
  bc.account = 13;
  bc.reason = BalanceReason::Fee;
  bc.delta = -32'501;
  bc.balance = 249'999'967'499;

  auto& pu = e.position = msg<PositionUpdate>(22, 7);
  pu.account = 13;
  pu.instrument = 7;
  pu.size = -100;
  pu.entry_value = -6'500'100'000;
  pu.realized_pnl = 1'234'567;

  auto& mu = e.margin = msg<MarginUpdate>(23, 7);
  mu.account = 13;
  mu.collateral = 249'999'967'499;
  mu.equity = 250'000'000'000;
  mu.initial_margin = 65'001'000;
  mu.maintenance_margin = 32'500'500;

  auto& fp = e.funding_payment = msg<FundingPayment>(24, 10);
  fp.account = 13;
  fp.instrument = 7;
  fp.position = -100;
  fp.rate = -2'500;
  fp.amount = 162'502;

  auto& lq = e.liquidation = msg<Liquidation>(25, 9);
  lq.account = 14;
  lq.instrument = 7;
  lq.side = Side::Buy;
  lq.stage = LiquidationStage::BookOrder;
  lq.depth = 2;
  lq.qty = 2'000;
  lq.price = 640'000;
  lq.amount = -1'000'000'000;
  lq.cascade_origin = 9;

  auto& dv = e.deleverage = msg<Deleverage>(26, 9);
  dv.account = 13;
  dv.counter_account = 14;
  dv.instrument = 7;
  dv.rank = 1;
  dv.qty = 500;
  dv.price = 640'000;

  auto& inf = e.insurance_fund = msg<InsuranceFund>(27, 9);
  inf.instrument = 7;
  inf.reason = InsuranceReason::BankruptcyPayout;
  inf.delta = -250'000'000;
  inf.balance = 9'750'000'000;

  auto& cb = e.circuit_breaker = msg<CircuitBreaker>(28, 9);
  cb.instrument = 7;
  cb.paused = 1;
  cb.reference_price = 650'010;
  cb.until_ns = kAllEventsTs0 + 30'000'000'000;
  return e;
}

void append_all(const AllEvents& e, EventBuffer& out) {
  out.append(e.instrument);
  out.append(e.deposit);
  out.append(e.withdrawal);
  out.append(e.account_settings);
  out.append(e.new_order);
  out.append(e.cancel);
  out.append(e.modify);
  out.append(e.mass_cancel);
  out.append(e.index_price);
  out.append(e.funding_rate);
  out.append(e.heartbeat);
  out.append(e.accepted);
  out.append(e.rejected);
  out.append(e.cancelled);
  out.append(e.modified);
  out.append(e.fill);
  out.append(e.stop_triggered);
  out.append(e.top_of_book);
  out.append(e.depth);
  out.append(e.mark_price);
  out.append(e.balance);
  out.append(e.position);
  out.append(e.margin);
  out.append(e.funding_payment);
  out.append(e.liquidation);
  out.append(e.deleverage);
  out.append(e.insurance_fund);
  out.append(e.circuit_breaker);
}

EventBuffer all_events_file() {
  EventBuffer b;
  b.append(make_file_header(wire::StreamKind::Input, kAllEventsTs0, "all-events test"));
  append_all(make_all_events(), b);
  return b;
}

}  // namespace cascade::testing
