#include "import/lobster.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>
#include <utility>
#include <unordered_map>

#include "cascade/event_file.hpp"
#include "import/book_model.hpp"
#include "import/setup.hpp"

namespace cascade::import {

void lobster_book_row(const Engine& engine, InstrumentId instrument, int depth, std::string& row) {
  std::vector<LevelView> asks(static_cast<std::size_t>(depth)), bids(static_cast<std::size_t>(depth));
  const std::size_t na = engine.depth(instrument, Side::Sell, asks.size(), asks.data());
  const std::size_t nb = engine.depth(instrument, Side::Buy, bids.size(), bids.data());
  for (std::size_t i = 0; i < static_cast<std::size_t>(depth); ++i) {
    if (i) row += ',';
    if (i < na) row += std::to_string(asks[i].price) + ',' + std::to_string(asks[i].qty);
    else row += "9999999999,0";
    row += ',';
    if (i < nb) row += std::to_string(bids[i].price) + ',' + std::to_string(bids[i].qty);
    else row += "-9999999999,0";
  }
}

namespace {

// Calls f(line_number, line) for every line; a final line without text is not a line.
template <class F>
bool for_each_line(std::string_view text, F&& f) {
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!f(++line_no, line)) return false;
  }
  return true;
}

bool parse_int(std::string_view s, std::int64_t& v) noexcept {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size() && !s.empty();
}

// "34200.015105074" -> nanoseconds; digits beyond nanoseconds are dropped.
bool parse_seconds(std::string_view s, Timestamp& ns) noexcept {
  const std::size_t dot = s.find('.');
  std::int64_t whole = 0;
  if (!parse_int(s.substr(0, dot), whole) || whole < 0 || whole > 1'000'000'000) return false;
  std::int64_t frac = 0;
  if (dot != std::string_view::npos) {
    const std::string_view f = s.substr(dot + 1);
    if (f.empty()) return false;
    int digits = 0;
    for (char c : f) {
      if (c < '0' || c > '9') return false;
      if (digits < 9) frac = frac * 10 + (c - '0'), ++digits;
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  ns = whole * 1'000'000'000 + frac;
  return true;
}

// Splits a CSV line into at most n fields; returns how many it found (n + 1 if more).
std::size_t split(std::string_view line, std::string_view* fields, std::size_t n) noexcept {
  std::size_t count = 0;
  while (true) {
    const std::size_t comma = line.find(',');
    if (count == n) return n + 1;
    fields[count++] = line.substr(0, comma);
    if (comma == std::string_view::npos) return count;
    line.remove_prefix(comma + 1);
  }
}

std::string line_error(std::size_t line, const std::string& what) { return "line " + std::to_string(line) + ": " + what; }

}  // namespace

bool parse_lobster_file_name(std::string_view path, LobsterFileName& out) {
  const std::size_t slash = path.find_last_of('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.size() < 4 || name.substr(name.size() - 4) != ".csv") return false;
  name.remove_suffix(4);
  // From the end: LEVEL, kind, ENDMS, STARTMS, DATE; the ticker is the rest.
  std::string_view parts[5];
  for (auto& part : parts) {
    const std::size_t us = name.find_last_of('_');
    if (us == std::string_view::npos) return false;
    part = name.substr(us + 1);
    name = name.substr(0, us);
  }
  LobsterFileName r;
  std::int64_t level = 0;
  if (!parse_int(parts[0], level) || level < 1 || level > 1000) return false;
  if (parts[1] != "message" && parts[1] != "orderbook") return false;
  if (!parse_int(parts[2], r.end_ms) || !parse_int(parts[3], r.start_ms)) return false;
  if (!parse_date(parts[4], r.date) || name.empty()) return false;
  r.level = static_cast<int>(level);
  r.is_message = parts[1] == "message";
  r.symbol = std::string(name);
  out = std::move(r);
  return true;
}

std::string lobster_book_path(std::string_view message_path) {
  LobsterFileName n;
  if (!parse_lobster_file_name(message_path, n) || !n.is_message) return {};
  const std::size_t at = message_path.rfind("_message_");
  std::string path(message_path);
  path.replace(at, 9, "_orderbook_");
  return path;
}

bool parse_lobster_messages(std::string_view text, std::vector<LobsterMessage>& out, std::string& error) {
  out.clear();
  return for_each_line(text, [&](std::size_t n, std::string_view line) {
    std::string_view f[6];
    if (split(line, f, 6) != 6) {
      error = line_error(n, "expected 6 fields (time,type,order id,size,price,direction)");
      return false;
    }
    LobsterMessage m{};
    std::int64_t type = 0, id = 0, dir = 0;
    if (!parse_seconds(f[0], m.time_ns)) return error = line_error(n, "bad time '" + std::string(f[0]) + "'"), false;
    if (!parse_int(f[1], type) || type < 1 || type > 7)
      return error = line_error(n, "bad event type '" + std::string(f[1]) + "' (1..7)"), false;
    // A cross trade (6) carries a pseudo order id: -1 opening, -2 closing, -3/-4 other crosses.
    if (!parse_int(f[2], id) || (id < 0 && type != 6))
      return error = line_error(n, "bad order id '" + std::string(f[2]) + "'"), false;
    if (!parse_int(f[3], m.size)) return error = line_error(n, "bad size '" + std::string(f[3]) + "'"), false;
    if (!parse_int(f[4], m.price)) return error = line_error(n, "bad price '" + std::string(f[4]) + "'"), false;
    if (!parse_int(f[5], dir) || (dir != 1 && dir != -1))
      return error = line_error(n, "bad direction '" + std::string(f[5]) + "' (1 or -1)"), false;
    m.type = static_cast<LobsterType>(type);
    m.order_id = static_cast<std::uint64_t>(id);
    m.direction = static_cast<std::int8_t>(dir);
    if (type <= 4 && (m.size <= 0 || m.price <= 0))
      return error = line_error(n, "size and price must be positive"), false;
    out.push_back(m);
    return true;
  });
}

bool parse_lobster_book(std::string_view text, LobsterBook& out, std::string& error) {
  out = LobsterBook{};
  return for_each_line(text, [&](std::size_t n, std::string_view line) {
    std::size_t columns = 1;
    for (char c : line) columns += c == ',';
    if (out.depth == 0) {
      if (columns % 4 != 0) {
        error = line_error(n, std::to_string(columns) + " columns: an orderbook row has 4 per level");
        return false;
      }
      out.depth = static_cast<int>(columns / 4);
    } else if (columns != 4 * static_cast<std::size_t>(out.depth)) {
      error = line_error(n, std::to_string(columns) + " columns, the first row has " + std::to_string(4 * out.depth));
      return false;
    }
    while (true) {
      const std::size_t comma = line.find(',');
      std::int64_t v = 0;
      if (!parse_int(line.substr(0, comma), v)) {
        error = line_error(n, "bad number '" + std::string(line.substr(0, comma)) + "'");
        return false;
      }
      out.cells.push_back(v);
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
    ++out.rows;
    return true;
  });
}

namespace {

struct Level {
  Price price;
  Qty qty;
};

// One side of an orderbook row, best first, up to the first empty level.
std::size_t row_side(const std::int64_t* row, int depth, Side side, Level* out) noexcept {
  const int at = side == Side::Sell ? 0 : 2;
  std::size_t n = 0;
  for (int i = 0; i < depth && row[4 * i + at + 1] != 0; ++i) out[n++] = {row[4 * i + at], row[4 * i + at + 1]};
  return n;
}

bool better(Side side, Price a, Price b) noexcept { return side == Side::Buy ? a > b : a < b; }

// Every row: sides sorted best first with positive sizes, empty levels only after the last
// real one, not crossed.
bool check_book(const LobsterBook& book, std::string& error) {
  std::vector<Level> levels(static_cast<std::size_t>(book.depth));
  for (std::size_t r = 0; r < book.rows; ++r) {
    const std::int64_t* row = book.row(r);
    Price best[2] = {0, 0};
    for (Side side : {Side::Sell, Side::Buy}) {
      const int at = side == Side::Sell ? 0 : 2;
      const std::size_t n = row_side(row, book.depth, side, levels.data());
      for (std::size_t i = 0; i < n; ++i) {
        if (levels[i].qty < 0 || levels[i].price <= 0 || (i && !better(side, levels[i - 1].price, levels[i].price))) {
          error = "orderbook line " + std::to_string(r + 1) + ": " + (side == Side::Sell ? "ask" : "bid") + " level " +
                  std::to_string(i + 1) + " is out of order or not positive";
          return false;
        }
      }
      for (int i = static_cast<int>(n); i < book.depth; ++i) {
        if (row[4 * i + at + 1] != 0) {
          error = "orderbook line " + std::to_string(r + 1) + ": a level after an empty one";
          return false;
        }
      }
      if (n) best[side == Side::Sell ? 0 : 1] = levels[0].price;
    }
    if (best[0] && best[1] && best[1] >= best[0]) {
      error = "orderbook line " + std::to_string(r + 1) + ": crossed or locked book (bid " + std::to_string(best[1]) +
              " >= ask " + std::to_string(best[0]) + "), which a matching engine cannot hold";
      return false;
    }
  }
  return true;
}

class LobsterConverter {
 public:
  LobsterConverter(const std::vector<LobsterMessage>& messages, const LobsterBook& book, const LobsterOptions& options,
                   EventSink& sink, ConvertStats& stats)
      : messages_(messages), book_(book), options_(options), stats_(stats), out_(sink, stats),
        model_(options.instrument, out_), target_(static_cast<std::size_t>(book.depth)) {}

  bool run(std::string& error) {
    stats_.messages = messages_.size();
    if (messages_.size() != book_.rows) {
      error = "the message file has " + std::to_string(messages_.size()) + " lines but the orderbook file has " +
              std::to_string(book_.rows) + ": each message needs exactly one orderbook row";
      return false;
    }
    if (options_.depth != 0 && book_.rows != 0 && options_.depth != book_.depth) {
      error = "depth " + std::to_string(options_.depth) + " requested, but the orderbook file has " +
              std::to_string(book_.depth) + " levels per row";
      return false;
    }
    if (messages_.empty()) return true;
    if (!check_book(book_, error)) return false;
    if (!define_instrument(error)) return false;

    for (std::size_t i = 0; i < messages_.size(); ++i) {
      const LobsterMessage& m = messages_[i];
      if (m.type <= LobsterType::Execute && m.order_id != 0) last_ref_[m.order_id] = i + 1;
    }
    model_.referenced_later = [this](std::uint64_t tag) {
      auto it = last_ref_.find(tag);
      return it != last_ref_.end() && it->second > current_;
    };

    for (std::size_t i = 0; i < messages_.size(); ++i) {
      current_ = i + 1;
      row_ = book_.row(i);
      const std::uint64_t before = stats_.events;
      out_.at(options_.day_start_ns + messages_[i].time_ns, current_);
      apply(messages_[i]);
      reconcile();
      stats_.peak_orders = std::max<std::uint64_t>(stats_.peak_orders, model_.orders());
      if (stats_.events == before) out_.emit(wire::make<wire::Heartbeat>());
    }
    return true;
  }

 private:
  bool define_instrument(std::string& error) {
    Price lo = 0, hi = 0;
    std::uint64_t tick = 100;  // the cent grid, unless some price is finer
    auto see = [&](Price p) {
      lo = lo ? std::min(lo, p) : p;
      hi = std::max(hi, p);
      tick = gcd_u64(tick, static_cast<std::uint64_t>(p));
    };
    for (const LobsterMessage& m : messages_)
      if (m.type <= LobsterType::Execute) see(m.price);
    for (std::size_t r = 0; r < book_.rows; ++r) {
      const std::int64_t* row = book_.row(r);
      for (int i = 0; i < book_.depth; ++i) {
        if (row[4 * i + 1] != 0) see(row[4 * i]);
        if (row[4 * i + 3] != 0) see(row[4 * i + 2]);
      }
    }
    if (hi == 0) lo = hi = 100 * static_cast<Price>(tick);  // nothing ever rests
    Price min_price = 0, max_price = 0;
    if (!choose_price_range(lo, hi, static_cast<Price>(tick), options_.max_levels, min_price, max_price, error))
      return false;
    // Setup belongs to message 1's group: `book --each` prints one row per group.
    out_.at(options_.day_start_ns + messages_.front().time_ns, 1);
    out_.emit(equity_instrument(options_.instrument, options_.symbol, 4, static_cast<Price>(tick), min_price, max_price));
    ++stats_.instruments;
    emit_accounts(out_);
    return true;
  }

  static Side side_of(const LobsterMessage& m) noexcept { return m.direction == 1 ? Side::Buy : Side::Sell; }

  // The size the current row shows at (side, price), 0 if it does not show the price.
  Qty row_qty(Side side, Price price) const noexcept {
    const int at = side == Side::Sell ? 0 : 2;
    for (int i = 0; i < book_.depth && row_[4 * i + at + 1] != 0; ++i)
      if (row_[4 * i + at] == price) return row_[4 * i + at + 1];
    return 0;
  }

  void add_synthetic(Side side, Price price, Qty qty) {
    if (model_.clear_crossing(side, price)) ++stats_.repairs;
    model_.add(kSyntheticIdBase + ++synthetic_ids_, 0, side, price, qty, true);
  }

  // The message needs qty at (side, price): liquidity that no earlier message explains.
  // Enough is added for the level to end the message at the size the row shows.
  void ensure(Side side, Price price, Qty qty) {
    const Qty have = model_.level_qty(side, price);
    if (have < qty) add_synthetic(side, price, qty + row_qty(side, price) - have);
  }

  // The source order is gone: what its engine order still holds stands for nobody now.
  void forget(std::unordered_map<std::uint64_t, std::pair<OrderId, Qty>>::iterator it) {
    model_.untag(it->second.first);
    live_.erase(it);
  }

  void apply(const LobsterMessage& m) {
    const Side side = side_of(m);
    switch (m.type) {
      case LobsterType::Add: {
        if (auto it = live_.find(m.order_id); it != live_.end()) {
          ++stats_.repairs;  // an id added twice: the first is treated as gone
          forget(it);
        }
        const bool own_id = m.order_id != 0 && m.order_id < kSyntheticIdBase && !model_.live(m.order_id);
        const OrderId id = own_id ? m.order_id : kRemappedIdBase + ++remapped_ids_;
        if (model_.clear_crossing(side, m.price)) ++stats_.repairs;
        model_.add(id, m.order_id, side, m.price, m.size, false);
        live_[m.order_id] = {id, m.size};
        return;
      }
      case LobsterType::PartialCancel:
      case LobsterType::Delete: {
        auto it = live_.find(m.order_id);
        ensure(side, m.price, m.size);
        model_.take(side, m.price, m.size, it == live_.end() ? 0 : it->second.first, false);
        if (it != live_.end() && (m.type == LobsterType::Delete || (it->second.second -= m.size) <= 0)) forget(it);
        return;
      }
      case LobsterType::Execute: {
        if (model_.clear_better(side, m.price)) ++stats_.repairs;
        ensure(side, m.price, m.size);
        model_.execute(kAggressorIdBase + current_, side, m.price, m.size);
        auto it = live_.find(m.order_id);
        if (it != live_.end() && (it->second.second -= m.size) <= 0) forget(it);
        return;
      }
      case LobsterType::HiddenExecute:
      case LobsterType::Cross:
      case LobsterType::Halt:
        out_.emit(wire::make<wire::Heartbeat>());
        return;
    }
  }

  // Makes the engine's visible book equal the current row: first removes what the row does
  // not show (both sides), then adds what is missing, so no addition can cross.
  void reconcile() {
    for (Side side : {Side::Sell, Side::Buy}) {
      const std::size_t n = row_side(row_, book_.depth, side, target_.data());
      const bool full = n == static_cast<std::size_t>(book_.depth);
      excess_.clear();
      model_.for_each_level(side, [&](Price p, Qty q) {
        if (full && better(side, target_[n - 1].price, p)) return false;  // below the visible depth
        excess_.push_back({p, q - row_qty(side, p)});
        return true;
      });
      for (const Level& e : excess_)
        if (e.qty > 0) model_.take(side, e.price, e.qty, 0, true);
    }
    for (Side side : {Side::Sell, Side::Buy}) {
      const std::size_t n = row_side(row_, book_.depth, side, target_.data());
      for (std::size_t i = 0; i < n; ++i) {
        const Qty have = model_.level_qty(side, target_[i].price);
        if (have < target_[i].qty) add_synthetic(side, target_[i].price, target_[i].qty - have);
      }
    }
  }

  const std::vector<LobsterMessage>& messages_;
  const LobsterBook& book_;
  const LobsterOptions& options_;
  ConvertStats& stats_;
  Emitter out_;
  BookModel model_;
  std::size_t current_ = 0;  // 1-based number of the message being converted
  const std::int64_t* row_ = nullptr;
  std::vector<Level> target_, excess_;
  // Source orders the messages added and that are still live: engine id, remaining size.
  std::unordered_map<std::uint64_t, std::pair<OrderId, Qty>> live_;
  std::unordered_map<std::uint64_t, std::size_t> last_ref_;  // source id -> last message naming it
  std::uint64_t synthetic_ids_ = 0, remapped_ids_ = 0;
};

}  // namespace

bool convert_lobster(const std::vector<LobsterMessage>& messages, const LobsterBook& book, const LobsterOptions& options,
                     EventSink& out, ConvertStats& stats, std::string& error) {
  LobsterConverter c(messages, book, options, out, stats);
  return c.run(error);
}

bool convert_lobster_files(const std::string& message_path, const std::string& book_path, LobsterOptions options,
                           const Date* date, EventSink& out, ConvertStats& stats, std::string& error) {
  LobsterFileName name;
  const bool named = parse_lobster_file_name(message_path, name);
  if (options.symbol.empty()) options.symbol = named ? name.symbol : "LOBSTER";
  if (date) options.day_start_ns = us_eastern_midnight_ns(*date);
  else if (named) options.day_start_ns = us_eastern_midnight_ns(name.date);

  MappedFile mf, bf;
  if (!mf.open(message_path, error) || !bf.open(book_path, error)) return false;
  auto text = [](const MappedFile& f) {
    return std::string_view(reinterpret_cast<const char*>(f.bytes().data()), f.bytes().size());
  };
  std::vector<LobsterMessage> messages;
  LobsterBook book;
  if (!parse_lobster_messages(text(mf), messages, error)) return error = message_path + ": " + error, false;
  if (!parse_lobster_book(text(bf), book, error)) return error = book_path + ": " + error, false;
  LobsterFileName book_name;
  for (const auto& [path, named_ok, n] : {std::tuple{&message_path, named, name.level},
                                           std::tuple{&book_path, parse_lobster_file_name(book_path, book_name),
                                                      book_name.level}}) {
    if (book.rows && named_ok && n != book.depth) {
      error = *path + ": the name says level " + std::to_string(n) + " but orderbook rows have " +
              std::to_string(book.depth) + " levels";
      return false;
    }
  }
  return convert_lobster(messages, book, options, out, stats, error);
}

}  // namespace cascade::import
