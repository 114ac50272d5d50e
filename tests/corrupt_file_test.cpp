// Truncated and corrupted event files: the reader never crashes, yields exactly the complete
// events before the problem and reports the expected error at the right offset; the text dump
// keeps the same promise.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cascade/event_file.hpp"
#include "cascade/text_format.hpp"
#include "support/all_events.hpp"

namespace cascade {
namespace {

using namespace wire;

struct Event {
  std::size_t offset;
  std::size_t size;
  MsgType type;
};

struct Original {
  EventBuffer file = testing::all_events_file();
  std::vector<Event> events;
  std::vector<std::string> lines;  // the dump, header line first
  std::vector<std::pair<std::size_t, std::size_t>> padding;  // file offsets the text cannot carry

  Original() {
    EventFile f;
    std::string error;
    EXPECT_TRUE(f.open_buffer(file.bytes(), error));
    EventReader r = f.reader();
    EventView ev;
    std::size_t at = 64;
    while (r.next(ev)) {
      events.push_back({at, ev.size(), ev.type()});
      visit_type(ev.type(), [&](auto* p) {
        using T = std::remove_const_t<std::remove_pointer_t<decltype(p)>>;
        if constexpr (requires(T t) { t.pad0; }) padding.emplace_back(at + offsetof(T, pad0), sizeof(T::pad0));
        if constexpr (requires(T t) { t.pad1; }) padding.emplace_back(at + offsetof(T, pad1), sizeof(T::pad1));
        if constexpr (std::is_same_v<T, InstrumentDefinition>)
          // "BTC-PERP" then NULs: flipping the first NUL only lengthens the symbol; a flip
          // after it leaves a NUL before nonzero bytes.
          padding.emplace_back(at + offsetof(T, symbol) + 9, 7);
      });
      at += ev.size();
    }
    EXPECT_TRUE(r.ok());
    std::string text;
    EXPECT_TRUE(text::dump(file.bytes(), text, error)) << error;
    for (std::size_t s = 0, e; (e = text.find('\n', s)) != text.npos; s = e + 1) lines.push_back(text.substr(s, e - s + 1));
  }

  std::string first_lines(std::size_t n) const {
    std::string s;
    for (std::size_t i = 0; i < n && i < lines.size(); ++i) s += lines[i];
    return s;
  }
  bool is_padding(std::size_t offset) const {
    for (const auto& [o, n] : padding)
      if (offset >= o && offset < o + n) return true;
    return false;
  }
};

const Original& original() {
  static const Original o;
  return o;
}

// A copy of bytes in a fresh (8-byte aligned) buffer.
EventBuffer copy(std::span<const std::byte> bytes) {
  EventBuffer b(bytes.size() + 8);
  b.append_raw(bytes.data(), bytes.size());
  return b;
}

struct ReadResult {
  bool header_ok = false;
  std::string header_error;
  std::size_t events = 0;
  ReadError error;
};

ReadResult read_all(std::span<const std::byte> bytes) {
  ReadResult out;
  EventFile f;
  out.header_ok = f.open_buffer(bytes, out.header_error);
  if (!out.header_ok) return out;
  EventReader r = f.reader();
  EventView ev;
  while (r.next(ev)) ++out.events;
  out.error = r.error();
  return out;
}

TEST(CorruptFile, TheSampleHasEveryEventType) {
  const Original& o = original();
  ASSERT_EQ(o.events.size(), static_cast<std::size_t>(testing::kAllEventsCount));
  std::vector<bool> seen(256, false);
  for (const Event& e : o.events) seen[static_cast<std::uint8_t>(e.type)] = true;
  for (int t = 0; t < 256; ++t)
    EXPECT_EQ(seen[static_cast<std::size_t>(t)], message_size(static_cast<MsgType>(t)) != 0) << t;
  EXPECT_EQ(o.lines.size(), o.events.size() + 1);
}

TEST(CorruptFile, CutAtEveryByteOffset) {
  const Original& o = original();
  const std::size_t size = o.file.size();
  for (std::size_t cut = 0; cut <= size; ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const EventBuffer b = copy(o.file.bytes().first(cut));
    const ReadResult r = read_all(b.bytes());
    std::string text, error;
    const bool dumped = text::dump(b.bytes(), text, error);
    if (cut < 64) {
      EXPECT_FALSE(r.header_ok);
      EXPECT_EQ(r.header_error, "offset 0: file is " + std::to_string(cut) + " bytes, shorter than the 64-byte file header");
      EXPECT_FALSE(dumped);
      EXPECT_EQ(error, r.header_error);
      continue;
    }
    ASSERT_TRUE(r.header_ok) << r.header_error;
    std::size_t complete = 0;
    while (complete < o.events.size() && o.events[complete].offset + o.events[complete].size <= cut) ++complete;
    EXPECT_EQ(r.events, complete);
    EXPECT_EQ(text, o.first_lines(complete + 1));
    const bool at_boundary = complete == o.events.size() || o.events[complete].offset == cut;
    if (at_boundary) {
      EXPECT_EQ(r.error.code, DecodeError::None);
      EXPECT_TRUE(dumped);
      continue;
    }
    const Event& partial = o.events[complete];
    const std::size_t left = cut - partial.offset;
    EXPECT_EQ(r.error.code, DecodeError::Truncated);
    EXPECT_EQ(r.error.offset, partial.offset);
    EXPECT_EQ(r.error.remaining, left);
    const std::string expect =
        "offset " + std::to_string(partial.offset) + ": truncated event (" +
        (left < 32 ? std::to_string(left) + " bytes left, a header needs 32)"
                   : std::string(type_name(partial.type)) + " needs " + std::to_string(partial.size) + " bytes, " +
                         std::to_string(left) + " remain)");
    EXPECT_EQ(r.error.message(), expect);
    EXPECT_FALSE(dumped);
    EXPECT_EQ(error, expect);
  }
}

// Every byte of every event flipped (XOR 0xFF): header bytes give their specific error at the
// event's offset; seq/ts/ref and body bytes still decode; the dump round-trips them unless the
// byte is padding, which it reports at the byte's offset.
TEST(CorruptFile, FlipEveryByte) {
  const Original& o = original();
  for (std::size_t k = 0; k < o.events.size(); ++k) {
    const Event& e = o.events[k];
    for (std::size_t b = 0; b < e.size; ++b) {
      const std::size_t at = e.offset + b;
      SCOPED_TRACE(std::string(type_name(e.type)) + " byte " + std::to_string(b));
      EventBuffer buf = copy(o.file.bytes());
      auto* p = const_cast<std::byte*>(buf.bytes().data());
      p[at] ^= std::byte{0xFF};
      const ReadResult r = read_all(buf.bytes());
      ASSERT_TRUE(r.header_ok);
      DecodeError want = DecodeError::None;
      if (b < 2) want = DecodeError::BadLength;
      else if (b == 2) want = DecodeError::UnknownType;
      else if (b == 3) want = DecodeError::BadFlags;
      else if (b < 8) want = DecodeError::NonZeroReserved;
      EXPECT_EQ(r.error.code, want);
      std::string text, error;
      const bool dumped = text::dump(buf.bytes(), text, error);
      if (want != DecodeError::None) {
        EXPECT_EQ(r.events, k);
        EXPECT_EQ(r.error.offset, e.offset);
        EXPECT_FALSE(dumped);
        EXPECT_EQ(text, o.first_lines(k + 1));
        EXPECT_EQ(error.rfind("offset " + std::to_string(e.offset) + ": ", 0), 0u) << error;
        continue;
      }
      EXPECT_EQ(r.events, o.events.size());
      if (o.is_padding(at)) {
        EXPECT_FALSE(dumped);
        EXPECT_EQ(error.rfind("nonzero padding at offset " + std::to_string(at) + " ", 0), 0u) << error;
        EXPECT_EQ(text, o.first_lines(k + 1));
        continue;
      }
      ASSERT_TRUE(dumped) << error;
      EventBuffer back;
      ASSERT_TRUE(text::encode(text, back, error)) << error;
      ASSERT_EQ(back.size(), buf.size());
      EXPECT_EQ(std::memcmp(back.bytes().data(), buf.bytes().data(), buf.size()), 0);
    }
  }
}

// Random damage: random masks at random offsets, random runs of garbage. Never crashes; the
// events before the first damaged event decode exactly; an error never points past the damage.
TEST(CorruptFile, RandomDamage) {
  const Original& o = original();
  std::mt19937_64 rng(99);
  for (int iter = 0; iter < 4000; ++iter) {
    EventBuffer buf = copy(o.file.bytes());
    auto* p = const_cast<std::byte*>(buf.bytes().data());
    const std::size_t first = 64 + rng() % (buf.size() - 64);
    std::size_t last = first;
    if (iter % 2) {
      p[first] ^= static_cast<std::byte>(1 + rng() % 255);
    } else {
      last = std::min(buf.size() - 1, first + rng() % 64);
      for (std::size_t i = first; i <= last; ++i) p[i] = static_cast<std::byte>(rng());
    }
    const std::size_t cut = iter % 3 == 0 ? first + rng() % (buf.size() - first + 1) : buf.size();

    std::size_t damaged = 0;
    while (o.events[damaged].offset + o.events[damaged].size <= first) ++damaged;

    EventFile f;
    std::string error;
    ASSERT_TRUE(f.open_buffer(buf.bytes().first(cut), error));
    EventReader r = f.reader();
    EventView ev;
    std::size_t n = 0;
    while (r.next(ev)) {
      if (n < damaged) {
        ASSERT_EQ(ev.data() - buf.bytes().data(), static_cast<std::ptrdiff_t>(o.events[n].offset));
        ASSERT_EQ(std::memcmp(ev.data(), o.file.bytes().data() + o.events[n].offset, ev.size()), 0);
      }
      ++n;
    }
    const auto complete_before_cut = static_cast<std::size_t>(std::count_if(
        o.events.begin(), o.events.end(), [&](const Event& e) { return e.offset + e.size <= cut; }));
    const std::size_t intact = std::min(damaged, complete_before_cut);
    EXPECT_GE(n, intact);
    if (!r.ok()) {
      EXPECT_GE(r.error().offset, o.events[std::min(damaged, o.events.size() - 1)].offset);
      EXPECT_LE(r.error().offset, cut);
      EXPECT_FALSE(r.error().message().empty());
    }
    std::string text;
    const bool dumped = text::dump(buf.bytes().first(cut), text, error);
    if (!dumped) {
      EXPECT_FALSE(error.empty());
    }
    EXPECT_EQ(text.rfind(o.first_lines(intact + 1), 0), 0u);
    if (dumped) {
      EventBuffer back;
      ASSERT_TRUE(text::encode(text, back, error)) << error;
      ASSERT_EQ(back.size(), cut);
      EXPECT_EQ(std::memcmp(back.bytes().data(), buf.bytes().data(), cut), 0);
    }
  }
}

}  // namespace
}  // namespace cascade
