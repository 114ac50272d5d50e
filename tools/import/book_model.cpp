#include "import/book_model.hpp"

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

namespace cascade::import {

void BookModel::add(OrderId id, std::uint64_t tag, Side side, Price price, Qty qty, bool synthetic) {
  auto m = wire::make<wire::NewOrder>();
  m.order_id = id;
  m.account = kRestingAccount;
  m.instrument = instrument_;
  m.price = price;
  m.qty = qty;
  m.side = side;
  m.order_type = OrderType::Limit;
  m.tif = TimeInForce::GTC;
  out_.emit(m, synthetic);
  orders_[id] = Order{side, price, qty, tag};
  Level& level = book(side)[key_of(side, price)];
  level.total += qty;
  level.queue.push_back(id);
}

Qty BookModel::take(Side side, Price price, Qty qty, OrderId prefer, bool synthetic) {
  auto it = book(side).find(key_of(side, price));
  if (it == book(side).end() || qty <= 0) return 0;
  const Level& level = it->second;

  std::vector<std::pair<OrderId, Qty>> plan;
  Qty left = qty;
  auto consider = [&](OrderId id) {
    if (left == 0) return;
    const Qty part = std::min(left, orders_.at(id).qty);
    plan.emplace_back(id, part);
    left -= part;
  };
  const Order* preferred = prefer ? find(prefer) : nullptr;
  if (preferred && preferred->side == side && preferred->price == price) {
    if (preferred->qty >= qty) {  // the usual case: the order still holds its own quantity
      reduce(prefer, qty, synthetic);
      return qty;
    }
    consider(prefer);
  } else {
    prefer = 0;
  }
  // Class 0: anonymous, or standing for a source order no later message names (most likely
  // gone out of sight); class 1: standing for a source order named again later.
  struct Candidate {
    int cls;
    Qty qty;
    OrderId id;
  };
  std::vector<Candidate> cands;
  for (auto q = level.queue.rbegin(); q != level.queue.rend(); ++q) {  // newest first
    if (*q == prefer) continue;
    const Order& o = orders_.at(*q);
    const bool named_later = o.tag != 0 && (!referenced_later || referenced_later(o.tag));
    cands.push_back({named_later ? 1 : 0, o.qty, *q});
  }
  // Fewest events: one order of the first class that covers the rest alone (the smallest
  // such), else the largest first.
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Candidate& a, const Candidate& b) { return a.cls < b.cls || (a.cls == b.cls && a.qty > b.qty); });
  if (!cands.empty()) {
    auto end = std::find_if(cands.begin(), cands.end(), [&](const Candidate& c) { return c.cls != cands[0].cls; });
    auto cover = std::find_if(std::make_reverse_iterator(end), cands.rend(), [&](const Candidate& c) { return c.qty >= left; });
    if (cover != cands.rend()) std::rotate(cands.begin(), std::prev(cover.base()), cover.base());
  }
  for (const Candidate& c : cands) consider(c.id);
  for (const auto& [id, part] : plan) reduce(id, part, synthetic);
  return qty - left;
}

void BookModel::reduce(OrderId id, Qty qty, bool synthetic) {
  Order& o = orders_.at(id);
  auto it = book(o.side).find(key_of(o.side, o.price));
  Level& level = it->second;
  level.total -= qty;
  if (qty == o.qty) {
    auto c = wire::make<wire::CancelOrder>();
    c.order_id = id;
    c.account = kRestingAccount;
    c.instrument = instrument_;
    out_.emit(c, synthetic);
    level.queue.erase(std::find(level.queue.begin(), level.queue.end(), id));
    if (level.queue.empty()) book(o.side).erase(it);
    orders_.erase(id);
    return;
  }
  o.qty -= qty;
  auto m = wire::make<wire::ModifyOrder>();
  m.order_id = id;
  m.account = kRestingAccount;
  m.instrument = instrument_;
  m.new_price = o.price;
  m.new_qty = o.qty;
  out_.emit(m, synthetic);
}

Qty BookModel::execute(OrderId aggressor, Side resting_side, Price price, Qty qty) {
  auto m = wire::make<wire::NewOrder>();
  m.order_id = aggressor;
  m.account = kAggressorAccount;
  m.instrument = instrument_;
  m.price = price;
  m.qty = qty;
  m.side = opposite(resting_side);
  m.order_type = OrderType::Limit;
  m.tif = TimeInForce::IOC;
  out_.emit(m);

  Levels& side = book(resting_side);
  Qty left = qty;
  while (left > 0 && !side.empty()) {
    auto it = side.begin();
    if (it->first > key_of(resting_side, price)) break;  // worse than the aggressor's limit
    Level& level = it->second;
    const OrderId head = level.queue.front();
    Order& o = orders_.at(head);
    const Qty fill = std::min(left, o.qty);
    o.qty -= fill;
    level.total -= fill;
    left -= fill;
    if (o.qty == 0) {
      level.queue.pop_front();
      orders_.erase(head);
      if (level.queue.empty()) side.erase(it);
    }
  }
  return qty - left;
}

Qty BookModel::clear_crossing(Side side, Price price) {
  const Side other = opposite(side);
  Qty removed = 0;
  Price p;
  while (best(other, p) && (side == Side::Buy ? p <= price : p >= price))
    removed += take(other, p, level_qty(other, p), 0, true);
  return removed;
}

Qty BookModel::clear_better(Side side, Price price) {
  Qty removed = 0;
  Price p;
  while (best(side, p) && (side == Side::Buy ? p > price : p < price))
    removed += take(side, p, level_qty(side, p), 0, true);
  return removed;
}

void BookModel::untag(OrderId id) noexcept {
  auto it = orders_.find(id);
  if (it != orders_.end()) it->second.tag = 0;
}

const BookModel::Order* BookModel::find(OrderId id) const noexcept {
  auto it = orders_.find(id);
  return it == orders_.end() ? nullptr : &it->second;
}

Qty BookModel::level_qty(Side side, Price price) const noexcept {
  auto it = book(side).find(key_of(side, price));
  return it == book(side).end() ? 0 : it->second.total;
}

bool BookModel::best(Side side, Price& price) const noexcept {
  if (book(side).empty()) return false;
  price = price_of(side, book(side).begin()->first);
  return true;
}

std::deque<OrderId> BookModel::queue(Side side, Price price) const {
  auto it = book(side).find(key_of(side, price));
  return it == book(side).end() ? std::deque<OrderId>{} : it->second.queue;
}

}  // namespace cascade::import
