#include "import/itch.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "cascade/event_file.hpp"
#include "import/book_model.hpp"
#include "import/setup.hpp"

namespace cascade::import::itch {

namespace {

std::uint64_t be(const std::byte* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

// Copies a space-padded alpha field, trimmed.
void alpha(const std::byte* p, std::size_t n, char* out) noexcept {
  std::memcpy(out, p, n);
  out[n] = '\0';
  for (std::size_t i = n; i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\0'); --i) out[i - 1] = '\0';
}

}  // namespace

bool FrameReader::next(std::span<const std::byte>& message) noexcept {
  if (!error_.empty()) return false;
  const std::size_t left = static_cast<std::size_t>(end_ - p_);
  if (left == 0) return false;
  if (left < 2) {
    error_ = "offset " + std::to_string(offset()) + ": 1 byte left, a length prefix needs 2";
    return false;
  }
  const std::size_t n = be(p_, 2);
  if (n == 0) {
    error_ = "offset " + std::to_string(offset()) + ": message of length 0";
    return false;
  }
  if (n > left - 2) {
    error_ = "offset " + std::to_string(offset()) + ": truncated message (length " + std::to_string(n) + ", " +
             std::to_string(left - 2) + " bytes remain)";
    return false;
  }
  message = {p_ + 2, n};
  p_ += 2 + n;
  return true;
}

std::size_t message_length(char type) noexcept {
  switch (type) {
    case 'S': return 12;
    case 'R': return 39;
    case 'H': return 25;
    case 'Y': return 20;
    case 'L': return 26;
    case 'V': return 35;
    case 'W': return 12;
    case 'K': return 28;
    case 'J': return 35;
    case 'h': return 21;
    case 'A': return 36;
    case 'F': return 40;
    case 'E': return 31;
    case 'C': return 36;
    case 'X': return 23;
    case 'D': return 19;
    case 'U': return 35;
    case 'P': return 44;
    case 'Q': return 40;
    case 'B': return 19;
    case 'I': return 50;
    case 'N': return 20;
    case 'O': return 48;
    default: return 0;
  }
}

bool decode(std::span<const std::byte> m, Message& out, std::string& error) {
  out = Message{};
  out.type = static_cast<char>(m[0]);
  const bool used = std::strchr("RAFECXDU", out.type) != nullptr && out.type != '\0';
  if (used && m.size() != message_length(out.type)) {
    error = std::string("'") + out.type + "' message of " + std::to_string(m.size()) + " bytes, ITCH 5.0 gives it " +
            std::to_string(message_length(out.type));
    return false;
  }
  if (m.size() < 11) return true;  // too short for the common header: a type we skip
  const std::byte* p = m.data();
  out.locate = static_cast<std::uint16_t>(be(p + 1, 2));
  out.tracking = static_cast<std::uint16_t>(be(p + 3, 2));
  out.timestamp_ns = static_cast<std::int64_t>(be(p + 5, 6));
  switch (out.type) {
    case 'R':
      alpha(p + 11, 8, out.stock);
      break;
    case 'A':
    case 'F':
      out.ref = be(p + 11, 8);
      out.side = static_cast<char>(p[19]) == 'S' ? Side::Sell : Side::Buy;
      if (static_cast<char>(p[19]) != 'B' && static_cast<char>(p[19]) != 'S') {
        error = std::string("'") + out.type + "' message with side '" + static_cast<char>(p[19]) + "' (B or S)";
        return false;
      }
      out.shares = static_cast<std::uint32_t>(be(p + 20, 4));
      alpha(p + 24, 8, out.stock);
      out.price = static_cast<std::uint32_t>(be(p + 32, 4));
      if (out.type == 'F') alpha(p + 36, 4, out.mpid);
      break;
    case 'E':
    case 'C':
      out.ref = be(p + 11, 8);
      out.shares = static_cast<std::uint32_t>(be(p + 19, 4));
      out.match = be(p + 23, 8);
      if (out.type == 'C') {
        out.printable = static_cast<char>(p[31]);
        out.price = static_cast<std::uint32_t>(be(p + 32, 4));
      }
      break;
    case 'X':
      out.ref = be(p + 11, 8);
      out.shares = static_cast<std::uint32_t>(be(p + 19, 4));
      break;
    case 'D':
      out.ref = be(p + 11, 8);
      break;
    case 'U':
      out.ref = be(p + 11, 8);
      out.new_ref = be(p + 19, 8);
      out.shares = static_cast<std::uint32_t>(be(p + 27, 4));
      out.price = static_cast<std::uint32_t>(be(p + 31, 4));
      break;
    default:
      break;
  }
  return true;
}

bool parse_file_date(std::string_view path, Date& out) noexcept {
  const std::size_t slash = path.find_last_of('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.size() < 9 || name[8] != '.') return false;
  int v[8];
  for (int i = 0; i < 8; ++i) {
    if (name[static_cast<std::size_t>(i)] < '0' || name[static_cast<std::size_t>(i)] > '9') return false;
    v[i] = name[static_cast<std::size_t>(i)] - '0';
  }
  const Date d{v[4] * 1000 + v[5] * 100 + v[6] * 10 + v[7], v[0] * 10 + v[1], v[2] * 10 + v[3]};
  if (!valid_date(d)) return false;
  out = d;
  return true;
}

namespace {

bool is_order_type(char t) noexcept { return std::strchr("AFECXDU", t) != nullptr && t != '\0'; }

class Converter {
 public:
  Converter(std::span<const std::byte> feed, const Options& options, EventSink& sink, ConvertStats& stats)
      : feed_(feed), options_(options), stats_(stats), out_(sink, stats) {}

  bool run(std::string& error) {
    if (!scan(error) || !define_instruments(error)) return false;
    FrameReader frames(feed_);
    std::span<const std::byte> raw;
    Message m;
    std::uint64_t n = 0;
    while (frames.next(raw)) {
      ++n;
      if (!decode(raw, m, error)) return false;  // scan() decoded it already
      if (!is_order_type(m.type) || instrument_of_[m.locate] < 0) continue;
      out_.at(options_.day_start_ns + m.timestamp_ns, n);
      BookModel& book = models_[static_cast<std::size_t>(instrument_of_[m.locate])];
      const std::size_t before = book.orders();
      apply(m, n, book);
      resting_ = resting_ + book.orders() - before;
      stats_.peak_orders = std::max<std::uint64_t>(stats_.peak_orders, resting_);
    }
    return true;
  }

 private:
  struct Seen {
    bool listed = false;  // in the stock directory
    bool orders = false;  // has order messages
    char symbol[9] = {};
    std::uint32_t lo = 0, hi = 0;
    std::uint64_t tick = 100;
  };
  struct Live {
    std::int32_t instrument;
    OrderId id;  // its engine order
    Side side;
    Price price;
    Qty remaining;
  };

  // First pass: framing, stock directory, price range and tick of each stock.
  bool scan(std::string& error) {
    FrameReader frames(feed_);
    std::span<const std::byte> raw;
    Message m;
    while (frames.next(raw)) {
      ++stats_.messages;
      if (!decode(raw, m, error)) {
        error = "message " + std::to_string(stats_.messages) + " (offset " + std::to_string(frames.offset() - raw.size() - 2) +
                "): " + error;
        return false;
      }
      Seen& s = seen_[m.locate];
      if (m.type == 'R') {
        s.listed = true;
        std::memcpy(s.symbol, m.stock, sizeof s.symbol);
      } else if (m.type == 'A' || m.type == 'F' || m.type == 'U') {
        if (m.type != 'U' && !s.listed) std::memcpy(s.symbol, m.stock, sizeof s.symbol);
        if (m.price == 0) continue;  // rejected when converted
        s.orders = true;
        s.lo = s.lo ? std::min(s.lo, m.price) : m.price;
        s.hi = std::max(s.hi, m.price);
        s.tick = gcd_u64(s.tick, m.price);
      }
    }
    if (!frames.ok()) {
      error = frames.error();
      return false;
    }
    return true;
  }

  bool define_instruments(std::string& error) {
    std::vector<std::uint16_t> chosen;
    for (std::size_t locate = 0; locate < seen_.size(); ++locate) {
      const Seen& s = seen_[locate];
      if (options_.symbol.empty() ? s.orders : options_.symbol == s.symbol) chosen.push_back(static_cast<std::uint16_t>(locate));
    }
    if (!options_.symbol.empty() && chosen.empty()) {
      error = "stock '" + options_.symbol + "' is not in the feed's stock directory";
      return false;
    }
    if (chosen.empty()) return true;
    std::int64_t first_ts = -1;
    {
      FrameReader frames(feed_);
      std::span<const std::byte> raw;
      Message m;
      std::string ignored;
      if (frames.next(raw) && decode(raw, m, ignored)) first_ts = m.timestamp_ns;
    }
    out_.at(options_.day_start_ns + std::max<std::int64_t>(first_ts, 0), 1);
    for (const std::uint16_t locate : chosen) {
      const Seen& s = seen_[locate];
      const InstrumentId id = static_cast<InstrumentId>(models_.size());
      const Price tick = static_cast<Price>(s.tick);
      Price lo = s.lo, hi = s.hi;
      if (!s.orders) lo = hi = 100 * tick;
      Price min_price = 0, max_price = 0;
      if (!choose_price_range(lo, hi, tick, options_.max_levels, min_price, max_price, error)) {
        error = std::string("stock ") + s.symbol + ": " + error;
        return false;
      }
      out_.emit(equity_instrument(id, s.symbol, 4, tick, min_price, max_price));
      ++stats_.instruments;
      instrument_of_[locate] = static_cast<std::int32_t>(id);
      models_.emplace_back(id, out_);
    }
    emit_accounts(out_);
    return true;
  }

  void add(BookModel& book, std::uint64_t ref, Side side, Price price, Qty qty) {
    if (qty <= 0 || price <= 0) {
      ++stats_.skipped;
      return;
    }
    if (auto it = live_.find(ref); it != live_.end()) {
      ++stats_.repairs;  // a reference number reused while live: the first order is gone
      forget(it);
    }
    const bool own_id = ref != 0 && ref < kSyntheticIdBase && !book.live(ref);
    const OrderId id = own_id ? ref : kRemappedIdBase + ++remapped_ids_;
    if (book.clear_crossing(side, price)) ++stats_.repairs;
    book.add(id, ref, side, price, qty, false);
    live_[ref] = Live{static_cast<std::int32_t>(book.instrument()), id, side, price, qty};
  }

  void forget(std::unordered_map<std::uint64_t, Live>::iterator it) {
    models_[static_cast<std::size_t>(it->second.instrument)].untag(it->second.id);
    live_.erase(it);
  }

  // Removes qty of a live order (executions that the engine cannot reproduce as a trade
  // included); forgets the order once nothing of it remains.
  void reduce(BookModel& book, std::unordered_map<std::uint64_t, Live>::iterator it, Qty qty, bool all) {
    Live& o = it->second;
    book.take(o.side, o.price, all ? o.remaining : std::min(qty, o.remaining), o.id, false);
    if (all || (o.remaining -= qty) <= 0) forget(it);
  }

  void apply(const Message& m, std::uint64_t n, BookModel& book) {
    if (m.type == 'A' || m.type == 'F') {
      add(book, m.ref, m.side, m.price, m.shares);
      return;
    }
    auto it = live_.find(m.ref);
    if (it == live_.end() || it->second.instrument != static_cast<std::int32_t>(book.instrument())) {
      ++stats_.skipped;  // an order the feed never added (it started mid-day)
      return;
    }
    Live& o = it->second;
    switch (m.type) {
      case 'E':
      case 'C': {
        // The order trades at its own price in the engine (a C message's execution price is
        // not a price the engine can fill this order at); the book loses the same quantity.
        const Qty q = std::min<Qty>(m.shares, o.remaining);
        Price best = 0;
        if (q > 0 && book.best(o.side, best) && best == o.price && book.level_qty(o.side, o.price) >= q) {
          book.execute(kAggressorIdBase + n, o.side, o.price, q);
          if ((o.remaining -= m.shares) <= 0) forget(it);
        } else {
          ++stats_.reductions;
          reduce(book, it, m.shares, false);
        }
        return;
      }
      case 'X':
        reduce(book, it, m.shares, false);
        return;
      case 'D':
        reduce(book, it, 0, true);
        return;
      case 'U': {
        const Side side = o.side;
        reduce(book, it, 0, true);
        add(book, m.new_ref, side, m.price, m.shares);
        return;
      }
      default:
        return;
    }
  }

  std::span<const std::byte> feed_;
  const Options& options_;
  ConvertStats& stats_;
  Emitter out_;
  std::vector<Seen> seen_ = std::vector<Seen>(65536);
  std::vector<std::int32_t> instrument_of_ = std::vector<std::int32_t>(65536, -1);  // by stock locate
  std::vector<BookModel> models_;
  std::uint64_t resting_ = 0;  // orders resting in all models
  std::unordered_map<std::uint64_t, Live> live_;
  std::uint64_t remapped_ids_ = 0;
};

}  // namespace

bool convert(std::span<const std::byte> feed, const Options& options, EventSink& out, ConvertStats& stats,
             std::string& error) {
  Converter c(feed, options, out, stats);
  return c.run(error);
}

bool convert_file(const std::string& path, Options options, const Date* date, EventSink& out, ConvertStats& stats,
                  std::string& error) {
  Date file_date;
  if (date) options.day_start_ns = us_eastern_midnight_ns(*date);
  else if (parse_file_date(path, file_date)) options.day_start_ns = us_eastern_midnight_ns(file_date);
  MappedFile f;
  if (!f.open(path, error)) return false;
  if (!convert(f.bytes(), options, out, stats, error)) return error = path + ": " + error, false;
  return true;
}

}  // namespace cascade::import::itch
