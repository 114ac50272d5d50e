// The stream digest is standard 64-bit FNV-1a, the same fed whole or in pieces.
#include <gtest/gtest.h>

#include <span>
#include <string_view>

#include "cascade/digest.hpp"

namespace cascade {
namespace {

std::uint64_t fnv(std::string_view s) {
  Fnv1a64 h;
  h.update(std::as_bytes(std::span(s.data(), s.size())));
  return h.value();
}

TEST(Digest, KnownFnv1a64Values) {
  EXPECT_EQ(fnv(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(digest_hex(fnv("foobar")), "85944171f73967e8");
  EXPECT_EQ(digest_hex(0), "0000000000000000");
  EXPECT_EQ(digest_hex(0xfedcba9876543210ull), "fedcba9876543210");
}

TEST(Digest, PiecesGiveTheSameValue) {
  const std::string_view s = "the quick brown fox jumps over the lazy dog";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    Fnv1a64 h;
    h.update(std::as_bytes(std::span(s.data(), cut)));
    h.update(std::as_bytes(std::span(s.data() + cut, s.size() - cut)));
    EXPECT_EQ(h.value(), fnv(s)) << cut;
  }
}

static_assert([] {
  Fnv1a64 h;
  const std::byte b[1] = {std::byte{'a'}};
  h.update(b);
  return h.value() == 0xaf63dc4c8601ec8cull;
}());

}  // namespace
}  // namespace cascade
