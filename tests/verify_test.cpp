// The invariant checker behind `cascade verify` (tools/verify): it passes generated streams,
// and it catches an output stream or an engine state that was tampered with, naming the input
// event after which the first violation shows.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/event_buffer.hpp"
#include "cascade/event_file.hpp"
#include "support/events.hpp"
#include "support/random_events.hpp"
#include "verify/state_digest.hpp"
#include "verify/verifier.hpp"

namespace {

using namespace cascade;
namespace t = cascade::testing;
using cascade::testing::GeneratorConfig;
using cascade::testing::RandomEvents;

GeneratorConfig generator(std::uint32_t max_orders, std::uint32_t aggression = 1000) {
  GeneratorConfig g;
  g.engine = {.max_instruments = 4, .max_accounts = 6, .max_orders = max_orders, .max_levels_per_book = 4096};
  g.instruments = 4;
  g.accounts = 5;
  g.aggression_per_mille = aggression;
  return g;
}

// Runs `events` generated events through an engine and a verifier; `tamper` may change the
// output of event k before the verifier sees it (returning true when it changed something).
struct Outcome {
  std::uint64_t tampered_at = 0;  // 1-based index of the tampered event, 0 if none
  bool ok = true;
  verify::Violation violation;
  verify::LedgerTotals totals;
};

template <class Tamper>
Outcome run(std::uint64_t seed, const GeneratorConfig& g, int events, Tamper tamper) {
  Engine engine(g.engine);
  verify::Verifier verifier(engine, {.full_every = 250});
  RandomEvents gen(seed, g);
  EventBuffer out, copy;
  Outcome r;
  for (int i = 0; i < events && verifier.ok(); ++i) {
    const EventView ev = gen.next();
    out.clear();
    engine.process(ev, out);
    gen.observe(out.bytes());
    copy.clear();
    copy.append_raw(out.bytes().data(), out.size());
    if (r.tampered_at == 0 && tamper(i, copy)) r.tampered_at = static_cast<std::uint64_t>(i) + 1;
    verifier.check(ev, copy.bytes());
  }
  if (verifier.ok()) verifier.finish();
  r.ok = verifier.ok();
  r.violation = verifier.violation();
  r.totals = verifier.ledger().totals();
  return r;
}

// The first output event of type T in buf, or nullptr.
template <class T>
T* find(EventBuffer& buf) {
  auto* p = const_cast<std::byte*>(buf.bytes().data());
  for (std::size_t off = 0; off < buf.size();) {
    auto* h = reinterpret_cast<wire::MessageHeader*>(p + off);
    if (h->type == T::kType) return reinterpret_cast<T*>(h);
    off += h->length;
  }
  return nullptr;
}

TEST(Verify, GeneratedStreamsHoldEveryInvariant) {
  std::uint64_t bankruptcies = 0;
  for (const std::uint64_t seed : {1, 2, 3}) {
    const Outcome r = run(seed, generator(256), 6'000, [](int, EventBuffer&) { return false; });
    ASSERT_TRUE(r.ok) << "seed " << seed << ": event " << r.violation.event << " (seq " << r.violation.seq
                      << "): " << r.violation.what;
    EXPECT_GT(r.totals.deposits, 0);
    // The streams reach liquidations and funding, so the ledger's hardest paths are compared.
    EXPECT_GT(r.totals.liquidations, 0u);
    EXPECT_GT(r.totals.funding_paid, 0);
    EXPECT_GT(r.totals.fees, 0);
    bankruptcies += r.totals.bankruptcies;
  }
  EXPECT_GT(bankruptcies, 0u);
  // A pool of ten orders: capacity rejects all the time.
  const Outcome tight = run(7, generator(10), 4'000, [](int, EventBuffer&) { return false; });
  EXPECT_TRUE(tight.ok) << tight.violation.what;
}

TEST(Verify, ATamperedFillQuantityIsCaughtAtItsEvent) {
  const Outcome r = run(1, generator(256), 3'000, [](int i, EventBuffer& b) {
    wire::Fill* f = i >= 500 ? find<wire::Fill>(b) : nullptr;
    if (f) f->qty += 1;
    return f != nullptr;
  });
  ASSERT_NE(r.tampered_at, 0u);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.violation.event, r.tampered_at);
  EXPECT_NE(r.violation.what.find("position_update of account"), std::string::npos) << r.violation.what;
  EXPECT_NE(r.violation.what.find("its fills say"), std::string::npos) << r.violation.what;
}

TEST(Verify, ATamperedFeeIsCaughtAtItsEvent) {
  const Outcome r = run(2, generator(256), 3'000, [](int i, EventBuffer& b) {
    wire::Fill* f = i >= 300 ? find<wire::Fill>(b) : nullptr;
    if (f) f->maker_fee += 1;
    return f != nullptr;
  });
  ASSERT_NE(r.tampered_at, 0u);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.violation.event, r.tampered_at);
  EXPECT_EQ(r.violation.what.rfind("fees collected: engine ", 0), 0u) << r.violation.what;
}

TEST(Verify, ADroppedTopOfBookIsCaughtAtItsEvent) {
  const Outcome r = run(3, generator(256), 2'000, [](int i, EventBuffer& b) {
    if (i < 100 || b.size() < 2 * sizeof(wire::TopOfBook)) return false;
    auto* last = find<wire::TopOfBook>(b);
    if (!last || reinterpret_cast<std::byte*>(last) == b.bytes().data()) return false;
    // Drop everything from the first top_of_book on: its seq and the ones after it go missing,
    // so the next event's output starts after a gap.
    const auto keep = static_cast<std::size_t>(reinterpret_cast<std::byte*>(last) - b.bytes().data());
    std::vector<std::byte> head(b.bytes().begin(), b.bytes().begin() + static_cast<std::ptrdiff_t>(keep));
    b.clear();
    b.append_raw(head.data(), head.size());
    return true;
  });
  ASSERT_NE(r.tampered_at, 0u);
  ASSERT_FALSE(r.ok);
  // The dropped top of book leaves the ledger's top behind the engine's at once.
  EXPECT_EQ(r.violation.event, r.tampered_at);
  EXPECT_NE(r.violation.what.find("top"), std::string::npos) << r.violation.what;
}

// An output event the ledger has no use for (a mark price) goes missing: the next output
// starts after a gap in the output sequence.
TEST(Verify, ADroppedMarkPriceIsAGapInTheOutputSequence) {
  const Outcome r = run(4, generator(256), 2'000, [](int i, EventBuffer& b) {
    if (i < 100 || b.empty()) return false;
    std::size_t off = 0, last = 0;
    while (off < b.size()) {
      last = off;
      off += reinterpret_cast<const wire::MessageHeader*>(b.bytes().data() + off)->length;
    }
    const auto* h = reinterpret_cast<const wire::MessageHeader*>(b.bytes().data() + last);
    if (h->type != wire::MsgType::MarkPrice) return false;
    std::vector<std::byte> head(b.bytes().begin(), b.bytes().begin() + static_cast<std::ptrdiff_t>(last));
    b.clear();
    b.append_raw(head.data(), head.size());
    return true;
  });
  ASSERT_NE(r.tampered_at, 0u);
  ASSERT_FALSE(r.ok);
  EXPECT_GT(r.violation.event, r.tampered_at);
  EXPECT_EQ(r.violation.what.rfind("output seq ", 0), 0u) << r.violation.what;
}

// The engine's state changed behind the output stream's back: the full comparison sees it.
TEST(Verify, AStateChangeTheOutputNeverShowedIsCaught) {
  EngineConfig cfg{.max_instruments = 2, .max_accounts = 8, .max_orders = 64, .max_levels_per_book = 1024};
  Engine engine(cfg);
  verify::Verifier verifier(engine);
  EventBuffer out;
  const auto feed = [&](const auto& msg) {
    out.clear();
    engine.process(msg, out);
    return verifier.check(EventView(reinterpret_cast<const std::byte*>(&msg)), out.bytes());
  };
  ASSERT_TRUE(feed(t::instrument(1, 10, 0, 1, 1, 1, 1000, 100)));
  ASSERT_TRUE(feed(t::deposit(2, 20, 3, 5'000, 1)));
  ASSERT_TRUE(feed(t::limit(3, 30, 1, 3, 0, Side::Buy, 100, 5)));
  ASSERT_TRUE(verifier.finish());
  // A deposit processed but never shown to the verifier.
  out.clear();
  engine.process(t::deposit(4, 40, 3, 7, 2), out);
  EXPECT_FALSE(verifier.finish());
  EXPECT_EQ(verifier.violation().event, 3u);
  EXPECT_EQ(verifier.violation().seq, 3u);
  EXPECT_EQ(verifier.violation().what, "deposits: engine 5007, output stream 5000");
}

// ---------------------------------------------------------------------------------------------
// The command

#ifndef CASCADE_CLI
#define CASCADE_CLI ""
#endif

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class VerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(CASCADE_CLI).empty()) GTEST_SKIP() << "the cascade tool is not built";
    char tmpl[] = "/tmp/cascade_verify_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  Result cascade(const std::string& args) const {
    const std::string cmd = "cd '" + dir_ + "' && '" + CASCADE_CLI + "' " + args + " < /dev/null > '" +
                            path("stdout") + "' 2> '" + path("stderr") + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(path("stdout")), slurp(path("stderr"))};
  }
  // Writes `events` generated input events to name; returns the file's bytes.
  std::string generate(const std::string& name, int events) const {
    const GeneratorConfig g = generator(256);
    RandomEvents gen(11, g);
    Engine engine(g.engine);
    EventBuffer out;
    EventFileWriter w;
    std::string error;
    EXPECT_TRUE(w.open(path(name), make_file_header(wire::StreamKind::Input, 0, "verify_test"), error)) << error;
    for (int i = 0; i < events; ++i) {
      const EventView ev = gen.next();
      w.write_raw({ev.data(), ev.size()});
      out.clear();
      engine.process(ev, out);
      gen.observe(out.bytes());
    }
    EXPECT_TRUE(w.close(error)) << error;
    return slurp(path(name));
  }
  std::string dir_;
};

TEST_F(VerifyCli, AGeneratedFileVerifies) {
  generate("gen.evt", 3'000);
  const Result r = cascade("verify gen.evt --every 500");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("gen.evt: 3000 events verified, 7 full comparisons, ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("every invariant holds\n"), std::string::npos);
}

TEST_F(VerifyCli, ATruncatedFileIsCheckedUpToTheDamageThenFails) {
  const std::string bytes = generate("gen.evt", 400);
  // Cut 5 bytes into the event that starts 64 bytes before the end of the first 3000 bytes.
  std::size_t off = 64, count = 0;
  while (off + 32 <= bytes.size()) {
    std::uint16_t len;
    std::memcpy(&len, bytes.data() + off, 2);
    if (off + len > 3000) break;
    off += len;
    ++count;
  }
  std::ofstream(path("cut.evt"), std::ios::binary) << bytes.substr(0, off + 5);
  const Result r = cascade("verify cut.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("cut.evt: " + std::to_string(count) + " events verified, 1 full comparisons, ", 0), 0u)
      << r.out;
  EXPECT_EQ(r.err, "cascade verify: cut.evt: offset " + std::to_string(off) +
                       ": truncated event (5 bytes left, a header needs 32)\n");
}

TEST_F(VerifyCli, UsageAndOutputStreams) {
  EXPECT_EQ(cascade("verify").code, 2);
  EXPECT_EQ(cascade("verify a b").code, 2);
  EXPECT_EQ(cascade("verify x --every no").code, 2);
  generate("gen.evt", 10);
  EXPECT_EQ(cascade("replay gen.evt -o out.evt").code, 0);
  const Result r = cascade("verify out.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade verify: out.evt: an output stream; verify reads input streams\n");
  const Result h = cascade("verify --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("Exit status: 0 every check passed; 3 an invariant was violated"), std::string::npos);
}

}  // namespace
