// The `cascade` binary end to end: encode/dump round trips, replay reports, book output,
// damaged files and usage errors. Runs the built binary (CASCADE_CLI) in a temporary directory.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "cascade/digest.hpp"

namespace {

#ifndef CASCADE_CLI
#define CASCADE_CLI ""
#endif

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

std::string sample_path() { return std::string(CASCADE_SOURCE_DIR) + "/tools/samples/sample.txt"; }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(CASCADE_CLI).empty()) GTEST_SKIP() << "the cascade tool is not built (CASCADE_BUILD_TOOLS=OFF)";
    char tmpl[] = "/tmp/cascade_cli_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Runs `cascade <args>` in the temporary directory (args are shell words).
  Result cascade(const std::string& args, const std::string& stdin_file = "") const {
    const std::string cmd = "cd '" + dir_ + "' && '" + CASCADE_CLI + "' " + args +
                            (stdin_file.empty() ? " < /dev/null" : " < '" + stdin_file + "'") + " > '" +
                            path("stdout") + "' 2> '" + path("stderr") + "'";
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(path("stdout"));
    r.err = read_file(path("stderr"));
    return r;
  }

  // Encodes the bundled sample to sample.evt.
  void encode_sample() {
    const Result r = cascade("encode '" + sample_path() + "' -o sample.evt");
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(r.out, "");
    ASSERT_EQ(r.err, "");
  }

  std::string dir_;
};

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, HelpWorksOnEveryCommand) {
  Result r = cascade("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: cascade <command> [options]\n", 0), 0u) << r.out;
  for (const char* cmd : {"encode", "dump", "replay", "book", "accounts", "gen", "convert"}) {
    EXPECT_NE(r.out.find(std::string("  ") + cmd + " "), std::string::npos) << cmd;
    for (const char* flag : {"--help", "-h"}) {
      const Result h = cascade(std::string(cmd) + " " + flag);
      EXPECT_EQ(h.code, 0) << cmd << " " << flag << ": " << h.err;
      EXPECT_EQ(h.out.rfind(std::string("usage: cascade ") + cmd, 0), 0u) << h.out;
      EXPECT_EQ(h.err, "");
    }
    const Result h = cascade(std::string("help ") + cmd);
    EXPECT_EQ(h.code, 0);
    EXPECT_EQ(h.out.rfind(std::string("usage: cascade ") + cmd, 0), 0u) << h.out;
  }
}

// --version names the build (compiler, build type and options): timings are only comparable
// between builds made the same way. The replay report carries the same line.
TEST_F(Cli, VersionNamesTheFormatAndTheBuild) {
  const Result r = cascade("--version");
  EXPECT_EQ(r.code, 0);
  const std::string first = "cascade " CASCADE_EXPECTED_VERSION " (event format v1)\nbuilt with " + std::string(CASCADE_EXPECTED_COMPILER) + " ";
  EXPECT_EQ(r.out.rfind(first, 0), 0u) << r.out;
  EXPECT_EQ(lines_of(r.out).size(), 2u) << r.out;
}

TEST_F(Cli, BadUsageExitsWith2) {
  Result r = cascade("");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("usage: cascade <command>", 0), 0u) << r.err;
  r = cascade("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade: unknown command 'frobnicate'\nTry 'cascade --help'.\n");
  for (const char* cmd : {"encode", "dump", "replay", "book"}) {
    r = cascade(std::string(cmd) + " x --bogus");
    EXPECT_EQ(r.code, 2) << cmd;
    EXPECT_EQ(r.err, std::string("cascade ") + cmd + ": unknown option '--bogus'\nTry 'cascade " + cmd + " --help'.\n");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(cascade("convert").code, 2);
  r = cascade("encode x");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade encode: missing -o FILE\nTry 'cascade encode --help'.\n");
  r = cascade("dump");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade dump: expected one FILE operand\nTry 'cascade dump --help'.\n");
  r = cascade("dump a b");
  EXPECT_EQ(r.code, 2);
  r = cascade("replay x -o");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade replay: option '-o' needs a value\nTry 'cascade replay --help'.\n");
  r = cascade("book x --depth 0");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade book: --depth needs a whole number from 1 to 1000000, got '0'\nTry 'cascade book --help'.\n");
  r = cascade("book x --format csv");
  EXPECT_EQ(r.code, 2);
  r = cascade("book x --each");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade book: --each needs --format lobster\nTry 'cascade book --help'.\n");
  r = cascade("dump missing.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade dump: missing.evt: No such file or directory\n");
}

// ---------------------------------------------------------------------------------------------
// encode / dump
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, DumpThenEncodeReproducesTheSampleByteForByte) {
  encode_sample();
  const std::string original = read_file(path("sample.evt"));
  ASSERT_GT(original.size(), 64u);
  EXPECT_EQ(original.compare(0, 8, std::string("CASCADE\0", 8)), 0);

  Result r = cascade("dump sample.evt");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = r.out;
  write_file(path("sample.dump"), text);
  const std::vector<std::string> lines = lines_of(text);
  ASSERT_EQ(lines.size(), 65u);  // header line + 64 events
  EXPECT_EQ(lines[0], "# cascade v1 kind=input created_ns=1700000000000000000 creator=\"cascade sample\"");
  EXPECT_EQ(lines[3], "deposit seq=3 ts=1700000000003000000 account=1 amount=1000000 transfer_id=1");
  EXPECT_EQ(lines[23],
            "new_order seq=23 ts=1700000000023000000 order_id=207 client_order_id=9002 account=2 instrument=1 side=buy "
            "type=limit tif=gtc price=64995 qty=0.2 order_flags=post_only");
  EXPECT_EQ(lines[64], "heartbeat seq=64 ts=1700000000064000000");

  r = cascade("encode sample.dump -o copy.evt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_file(path("copy.evt")), original);

  // Standard input and output with "-".
  r = cascade("dump -", path("sample.evt"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, text);
  r = cascade("encode - -o -", path("sample.dump"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, original);
  r = cascade("dump sample.evt -o sample2.dump");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(read_file(path("sample2.dump")), text);
}

TEST_F(Cli, EncodeErrorNamesTheLineAndKeyAndWritesNothing) {
  write_file(path("bad.txt"),
             "# cascade v1 kind=input created_ns=0 creator=\"t\"\n"
             "instrument seq=1 ts=1 instrument=1 symbol=X price_decimals=1 qty_decimals=3\n"
             "\n"
             "new_order seq=2 ts=2 instrument=1 price=100.25 qty=1\n");
  const Result r = cascade("encode bad.txt -o bad.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "cascade encode: bad.txt: line 4: new_order: key 'price': too many decimals in '100.25' (instrument 1 has "
            "price_decimals 1)\n");
  EXPECT_NE(access(path("bad.evt").c_str(), F_OK), 0);
}

TEST_F(Cli, DumpRefusesNonzeroPadding) {
  encode_sample();
  std::string bytes = read_file(path("sample.evt"));
  // The first event is the BTC instrument definition; its pad0 is byte 39.
  bytes[64 + 39] = 1;
  write_file(path("padded.evt"), bytes);
  const Result r = cascade("dump padded.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "# cascade v1 kind=input created_ns=1700000000000000000 creator=\"cascade sample\"\n");
  EXPECT_EQ(r.err,
            "cascade dump: padded.evt: nonzero padding at offset 103 (byte 39 of the instrument at offset 64): the "
            "text form cannot represent it\n");
}

// ---------------------------------------------------------------------------------------------
// replay
// ---------------------------------------------------------------------------------------------

// The report up to its timing block (which starts with the latency table).
std::string without_timing(const std::string& report) {
  std::string out;
  for (const std::string& l : lines_of(report)) {
    if (l.rfind("latency (ns)", 0) == 0) break;
    out += l + "\n";
  }
  return out;
}

TEST_F(Cli, ReplayReportIsDeterministicAndItsDigestMatchesTheOutput) {
  encode_sample();
  const Result a = cascade("replay sample.evt -o out.evt");
  ASSERT_EQ(a.code, 0) << a.err;
  const Result b = cascade("replay sample.evt");
  ASSERT_EQ(b.code, 0) << b.err;
  const std::vector<std::string> lines = lines_of(a.out);
  ASSERT_GE(lines.size(), 20u);
  // The input side is fixed by the sample.
  const std::vector<std::string> input = {
      "input           sample.evt",
      "events in       64",
      "  instrument                   2",
      "  deposit                      6",
      "  withdrawal                   1",
      "  account_settings             1",
      "  new_order                   40",
      "  cancel                       4",
      "  modify                       3",
      "  mass_cancel                  2",
      "  index_price                  2",
      "  funding_rate                 2",
      "  heartbeat                    1",
  };
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 13), input);
  EXPECT_EQ(lines[13].rfind("events out      ", 0), 0u);
  // Matching outcomes of the sample (docs/matching.md): 40 orders, 3 rejected; 2 cancels
  // rejected; 19 fills; 2 stops triggered.
  for (const char* l : {"  accepted                    37", "  rejected                     5",
                        "  cancelled                    9", "  modified                     3",
                        "  fill                        19", "  stop_triggered               2"})
    EXPECT_NE(a.out.find(std::string(l) + "\n"), std::string::npos) << l << "\n" << a.out;

  // The margin engine's totals (cascade accounts prints them account by account).
  const std::string margin =
      "accounts        6\n"
      "  with positions           6\n"
      "  below maint.             0\n"
      "open interest\n"
      "  1   BTC-PERP              7.400  (6 accounts)\n"
      "  2   ETH-PERP              2.500  (2 accounts)\n"
      "fees collected  211.288055\n"
      "funding paid    48.525\n"
      "funding recv.   48.525\n"
      "insurance fund  0\n";
  EXPECT_NE(a.out.find(margin), std::string::npos) << a.out;
  for (const char* l : {"  position                    38", "  margin                      69",
                        "  funding_payment              8", "  mark_price                   2"})
    EXPECT_NE(a.out.find(std::string(l) + "\n"), std::string::npos) << l << "\n" << a.out;

  // Same report without -o, except the output file line; timing aside, two runs agree.
  std::string a_report = without_timing(a.out);
  const std::string file_line = "output file     out.evt\n";
  ASSERT_NE(a_report.find(file_line), std::string::npos);
  a_report.erase(a_report.find(file_line), file_line.size());
  EXPECT_EQ(a_report, without_timing(b.out));
  std::vector<std::string> timing(lines.end() - 4, lines.end());
  EXPECT_EQ(timing[0].rfind("build           " + std::string(CASCADE_EXPECTED_COMPILER) + " ", 0), 0u) << timing[0];
  timing.erase(timing.begin());
  EXPECT_EQ(timing[0].rfind("wall time       ", 0), 0u);
  EXPECT_EQ(timing[1].rfind("engine time     ", 0), 0u);
  EXPECT_EQ(timing[2].rfind("input rate      ", 0), 0u);

  // The digest is FNV-1a 64 over the output events (file header excluded).
  const std::string out = read_file(path("out.evt"));
  ASSERT_GT(out.size(), 64u);
  cascade::Fnv1a64 h;
  h.update(std::as_bytes(std::span(out.data() + 64, out.size() - 64)));
  EXPECT_NE(a.out.find("output digest   fnv1a64:" + cascade::digest_hex(h.value()) + "\n"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("output bytes    " + std::to_string(out.size() - 64) + "\n"), std::string::npos);

  // The output file: output kind, creator "cascade replay", created_ns of the input.
  const Result d = cascade("dump out.evt --decimals-from sample.evt");
  ASSERT_EQ(d.code, 0) << d.err;
  const std::vector<std::string> dl = lines_of(d.out);
  ASSERT_GE(dl.size(), 4u);
  EXPECT_EQ(dl[0], "# cascade v1 kind=output created_ns=1700000000000000000 creator=\"cascade replay\"");
  EXPECT_EQ(dl[1], "@decimals instrument=1 price_decimals=1 qty_decimals=3");
  EXPECT_EQ(dl[2], "@decimals instrument=2 price_decimals=2 qty_decimals=3");
  write_file(path("out.dump"), d.out);
  const Result e = cascade("encode out.dump -o out2.evt");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(read_file(path("out2.evt")), out);

  // JSON: one object, same counts and digest.
  const Result j = cascade("replay sample.evt --json");
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.out.rfind("{\"input\":\"sample.evt\",\"events_in\":64,\"in_by_type\":{\"instrument\":2,\"deposit\":6,", 0), 0u)
      << j.out;
  EXPECT_NE(j.out.find("\"digest\":\"fnv1a64:" + cascade::digest_hex(h.value()) + "\""), std::string::npos);
  EXPECT_NE(j.out.find("\"complete\":true"), std::string::npos);
  EXPECT_NE(j.out.find("\"accounts\":6,\"accounts_with_positions\":6,\"below_maintenance\":0,"
                       "\"open_interest\":{\"1\":\"7.400\",\"2\":\"2.500\"},\"fees_collected\":\"211.288055\","
                       "\"funding_paid\":\"48.525\",\"funding_received\":\"48.525\",\"insurance_fund\":\"0\""),
            std::string::npos)
      << j.out;
}

// The liquidation section of the replay report (docs/cli.md), pinned on a stream with one
// liquidation through the book (the long of account 1 at index 94: fills 50 @ 96 and 50 @ 95,
// fees 48 + 47.5 USD) and one backstop takeover (account 4 at index 88: 100 @ 84 to account 8).
TEST_F(Cli, ReplayReportsLiquidations) {
  write_file(path("liq.txt"),
      "# cascade v1 kind=input created_ns=1700000000000000000 creator=\"cli test\"\n"
      "instrument seq=1 ts=1700000000001000000 instrument=0 symbol=PERP price_decimals=0 qty_decimals=0 tick_size=1 lot_size=1 min_price=1 max_price=100000 max_order_qty=1000000 reference_price=0 price_band=0 market_band=0 maker_fee=0 taker_fee=0 liquidation_fee=0.01 circuit_band=0 circuit_window_ms=0 circuit_pause_ms=0 mark_band=0.00000001 tier_count=2 tier0=10000:0.1:0.05:0 tier1=100000:0.2:0.1:500\n"
      "index_price seq=2 ts=1700000000002000000 instrument=0 price=100\n"
      "deposit seq=3 ts=1700000000003000000 account=1 amount=1000 transfer_id=1\n"
      "deposit seq=4 ts=1700000000004000000 account=2 amount=1000000 transfer_id=2\n"
      "deposit seq=5 ts=1700000000005000000 account=3 amount=1000000 transfer_id=3\n"
      "new_order seq=6 ts=1700000000006000000 order_id=1 account=2 instrument=0 side=sell type=limit tif=gtc price=100 qty=100\n"
      "new_order seq=7 ts=1700000000007000000 order_id=2 account=1 instrument=0 side=buy type=limit tif=gtc price=100 qty=100\n"
      "new_order seq=8 ts=1700000000008000000 order_id=3 account=3 instrument=0 side=buy type=limit tif=gtc price=96 qty=50\n"
      "new_order seq=9 ts=1700000000009000000 order_id=4 account=3 instrument=0 side=buy type=limit tif=gtc price=95 qty=100\n"
      "index_price seq=10 ts=1700000000010000000 instrument=0 price=94\n"
      "cancel seq=11 ts=1700000000011000000 order_id=4 account=3 instrument=0\n"
      "deposit seq=12 ts=1700000000012000000 account=4 amount=1000 transfer_id=4\n"
      "deposit seq=13 ts=1700000000013000000 account=8 amount=100000 transfer_id=5\n"
      "account_settings seq=14 ts=1700000000014000000 account=8 instrument=all margin_mode=cross role=backstop\n"
      "new_order seq=15 ts=1700000000015000000 order_id=5 account=2 instrument=0 side=sell type=limit tif=gtc price=94 qty=100\n"
      "new_order seq=16 ts=1700000000016000000 order_id=6 account=4 instrument=0 side=buy type=limit tif=gtc price=94 qty=100\n"
      "index_price seq=17 ts=1700000000017000000 instrument=0 price=88\n");
  const Result e = cascade("encode liq.txt -o liq.evt");
  ASSERT_EQ(e.code, 0) << e.err;
  const Result r = cascade("replay liq.evt");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string section =
      "insurance fund  95.5\n"
      "liquidations    2 (max depth 0; largest cascade 1 steps, from input seq 10)\n"
      "  book fills    2\n"
      "  notional      9550\n"
      "  backstop      8400 (1)\n"
      "  deleveraged   0 (0)\n"
      "  fees to fund  95.5\n"
      "  bankruptcies  0 (0)\n"
      "  socialized    0\n"
      "insurance fund before 0, after 95.5\n";
  EXPECT_NE(r.out.find(section), std::string::npos) << r.out;
  const Result j = cascade("replay liq.evt --json");
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_NE(j.out.find("\"insurance_fund\":\"95.5\",\"liquidations\":2,\"liquidation_book_fills\":2,"
                       "\"liquidated_notional\":\"9550\",\"backstop_notional\":\"8400\",\"deleveraged_notional\":\"0\","
                       "\"liquidation_fees\":\"95.5\",\"bankruptcies\":0,\"socialized_losses\":\"0\","
                       "\"insurance_fund_before\":\"0\",\"max_cascade_depth\":0,\"largest_cascade\":1,"
                       "\"largest_cascade_origin\":10"),
            std::string::npos)
      << j.out;
}

TEST_F(Cli, ReplayRefusesAnOutputStream) {
  encode_sample();
  ASSERT_EQ(cascade("replay sample.evt -o out.evt").code, 0);
  const Result r = cascade("replay out.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade replay: out.evt: an output stream; replay reads input streams\n");
}

TEST_F(Cli, EngineCapacitiesAreOptionsOfEveryCommandThatRunsTheEngine) {
  encode_sample();
  // Three live orders: every further resting order is refused with OrderCapacity, nothing lost.
  ASSERT_EQ(cascade("replay sample.evt --max-orders 3 -o capped.evt").code, 0);
  const std::string dumped = cascade("dump capped.evt").out;
  std::size_t capacity = 0;
  for (std::size_t at = 0; (at = dumped.find("reason=order_capacity", at)) != std::string::npos; ++at) ++capacity;
  EXPECT_EQ(capacity, 24u);
  const Result v = cascade("verify sample.evt --max-orders 3 --max-accounts 3");
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("every invariant holds"), std::string::npos) << v.out;
  // Larger capacities than the defaults, with huge pages: the same output as the defaults.
  const Result big = cascade("replay sample.evt --max-orders 4000000 --max-accounts 3000000 --huge-pages");
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_EQ(without_timing(big.out), without_timing(cascade("replay sample.evt").out));
  // Committed up front, with the machine's noise measured first: the same output again.
  const Result eager = cascade("replay sample.evt --max-orders 100000 --max-accounts 100000 --prefault --host-noise 1");
  ASSERT_EQ(eager.code, 0) << eager.err;
  EXPECT_EQ(without_timing(eager.out), without_timing(big.out));
  EXPECT_NE(eager.out.find("\nhost noise      1 s before: gaps/s over 10 us "), std::string::npos) << eager.out;
  const Result eager_json = cascade("replay sample.evt --prefault --max-orders 1000 --host-noise 1 --json");
  ASSERT_EQ(eager_json.code, 0) << eager_json.err;
  EXPECT_NE(eager_json.out.find(",\"host_noise\":{\"seconds\":1.0"), std::string::npos) << eager_json.out;
  EXPECT_NE(eager_json.out.find("\"gaps_over_20us_per_s\":"), std::string::npos);
  // Three replays: the report adds the percentiles of each event's least time, same groups.
  const Result least = cascade("replay sample.evt --repeat 3");
  ASSERT_EQ(least.code, 0) << least.err;
  EXPECT_EQ(without_timing(least.out), without_timing(big.out));
  const std::size_t block = least.out.find("\nleast of 3    (each event's least time over 3 replays; engine time ");
  ASSERT_NE(block, std::string::npos) << least.out;
  EXPECT_NE(least.out.find("\n  whole run ", block), std::string::npos);
  EXPECT_NE(least.out.find("\n  cascade starts ", block), std::string::npos);
  const Result least_json = cascade("replay sample.evt --repeat 2 --json");
  ASSERT_EQ(least_json.code, 0) << least_json.err;
  EXPECT_NE(least_json.out.find(",\"latency_least_of_replays_ns\":{\"replays\":2,\"all\":{\"events\":"), std::string::npos)
      << least_json.out;
  const Result once = cascade("replay sample.evt --repeat 1");
  EXPECT_EQ(once.code, 2);
  EXPECT_EQ(once.err, "cascade replay: --repeat: expected a whole number of replays in [2, 20]\n"
                      "Try 'cascade replay --help'.\n");
  const Result no_noise = cascade("replay sample.evt --host-noise 0");
  EXPECT_EQ(no_noise.code, 2);
  EXPECT_EQ(no_noise.err, "cascade replay: --host-noise: expected a whole number of seconds in [1, 60]\n"
                          "Try 'cascade replay --help'.\n");
  EXPECT_EQ(cascade("accounts sample.evt --max-positions 100000").code, 0);
  EXPECT_EQ(cascade("book sample.evt --max-instruments 2 --max-levels 1000000").code, 0);
  // Instrument 2 needs 3 instrument ids: its definition is refused.
  const Result b = cascade("book sample.evt --max-instruments 2 --instrument 2");
  EXPECT_EQ(b.code, 1);
  EXPECT_EQ(b.err, "cascade book: sample.evt: instrument 2 is not defined\n");

  const Result r = cascade("replay sample.evt --max-orders 0");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade replay: --max-orders needs a whole number from 1 to 1073741824, got '0'\n"
                   "Try 'cascade replay --help'.\n");
  EXPECT_EQ(cascade("verify sample.evt --max-accounts x").code, 2);
}

// ---------------------------------------------------------------------------------------------
// book
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, BookOfTheSample) {
  encode_sample();
  Result r = cascade("book sample.evt --depth 5");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "instrument 1 BTC-PERP  last 64950.0\n"
            "       price    qty  orders\n"
            "ask  65075.5  1.100       1\n"
            "ask  65060.0  1.100       2\n"
            "ask  65050.0  1.600       1\n"
            "---  spread 100.0\n"
            "bid  64950.0  1.000       1\n"
            "bid  64940.0  1.150       2\n"
            "\n"
            "instrument 2 ETH-PERP  last 3402.50\n"
            "       price    qty  orders\n"
            "ask  3404.00  1.200       1\n"
            "---  spread 5.05\n"
            "bid  3398.95  1.500       1\n");
  r = cascade("book sample.evt --depth 1 --instrument 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "instrument 1 BTC-PERP  last 64950.0\n"
            "       price    qty  orders\n"
            "ask  65050.0  1.600       1\n"
            "---  spread 100.0\n"
            "bid  64950.0  1.000       1\n");
  r = cascade("book sample.evt --depth 3 --instrument 1 --format lobster");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "650500,1600,649500,1000,650600,1100,649400,1150,650755,1100,-9999999999,0\n");
  r = cascade("book sample.evt --depth 2 --instrument=2 --format=lobster");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "340400,1200,339895,1500,9999999999,0,-9999999999,0\n");

  r = cascade("book sample.evt --format lobster");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "cascade book: --format lobster needs --instrument: sample.evt defines 2 instruments (1, 2)\n"
            "Try 'cascade book --help'.\n");
  r = cascade("book sample.evt --instrument 9");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "cascade book: sample.evt: instrument 9 is not defined\n");
}

TEST_F(Cli, BookEachPrintsOneRowPerSourceMessage) {
  write_file(path("each.txt"),
             "instrument seq=1 ts=1 instrument=3 symbol=TEST price_decimals=2 qty_decimals=0 tick_size=0.01 lot_size=1 "
             "min_price=1 max_price=200 max_order_qty=1000\n"
             "deposit seq=2 ts=2 ref=9 account=1 amount=100000 transfer_id=1\n"
             "deposit seq=3 ts=3 ref=9 account=2 amount=100000 transfer_id=2\n"
             "deposit seq=4 ts=4 ref=9 account=3 amount=100000 transfer_id=3\n"
             "new_order seq=5 ts=5 ref=1 order_id=1 account=1 instrument=3 side=sell type=limit tif=gtc price=100.5 qty=10\n"
             "new_order seq=6 ts=6 ref=1 order_id=2 account=2 instrument=3 side=buy type=limit tif=gtc price=100 qty=5\n"
             "new_order seq=7 ts=7 ref=2 order_id=3 account=1 instrument=3 side=sell type=limit tif=gtc price=100.25 qty=7\n"
             "heartbeat seq=8 ts=8\n"
             "new_order seq=9 ts=9 ref=3 order_id=4 account=3 instrument=3 side=buy type=limit tif=ioc price=100.5 qty=12\n"
             "cancel seq=10 ts=10 ref=3 order_id=2 account=2 instrument=3\n"
             "new_order seq=11 ts=11 ref=1 order_id=5 account=2 instrument=3 side=buy type=limit tif=gtc price=99 qty=1\n");
  ASSERT_EQ(cascade("encode each.txt -o each.evt").code, 0);
  Result r = cascade("book each.evt --depth 2 --format lobster --each");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "9999999999,0,-9999999999,0,9999999999,0,-9999999999,0\n"  // instrument (ref 0)
            "9999999999,0,-9999999999,0,9999999999,0,-9999999999,0\n"  // deposits (ref 9)
            "10050,10,10000,5,9999999999,0,-9999999999,0\n"            // ref 1
            "10025,7,10000,5,10050,10,-9999999999,0\n"                 // ref 2
            "10025,7,10000,5,10050,10,-9999999999,0\n"                 // heartbeat (ref 0)
            "10050,5,-9999999999,0,9999999999,0,-9999999999,0\n"       // ref 3: trade, cancel
            "10050,5,9900,1,9999999999,0,-9999999999,0\n");            // ref 1 again
  r = cascade("book each.evt --depth 1 --format lobster");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "10050,5,9900,1\n");
  r = cascade("book each.evt --depth 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "instrument 3 TEST  last 100.50\n"
            "      price  qty  orders\n"
            "ask  100.50    5       1\n"
            "---  spread 1.50\n"
            "bid   99.00    1       1\n");
}

// ---------------------------------------------------------------------------------------------
// accounts
// ---------------------------------------------------------------------------------------------

// The final state of the sample's six accounts. Checked by hand for account 6 (docs/cli.md):
// deposit 50,000; its stop-limit sold 0.5 BTC at 64,900 as taker (fee 0.05%: 16.225); BTC
// funding of 0.01% at mark 65,000 paid it floor(3.25 USD) = 3.25; it withdrew 1,000:
// C = 48,987.025. Short 0.5 at mark 65,000: notional 32,500, U = -50, tier 0 (up to 50,000
// USD): initial 0.8% = 260, maintenance 0.4% = 130, ratio 130 / 48,937.025 = 0.26%.
TEST_F(Cli, AccountsOfTheSample) {
  encode_sample();
  Result r = cascade("accounts sample.evt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "account 1\n"
            "  collateral                   1000016.082110\n"
            "  equity                       1000066.932110\n"
            "  initial margin                  4197.728900\n"
            "  maintenance margin               935.000000\n"
            "  margin ratio                          0.09%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size -2.900  entry value -188547.600000  entry price 65016.413\n"
            "    mark 65000.0  notional 188500.000000  unrealized 47.600000  initial 4097.050500  maintenance 892.500000\n"
            "    orders 3  open buy 0.000000  open sell 221205.050000  reduce-only 0.000\n"
            "  ETH-PERP (2) cross  size -2.500  entry value -8503.250000  entry price 3401.3000\n"
            "    mark 3400.00  notional 8500.000000  unrealized 3.250000  initial 100.678400  maintenance 42.500000\n"
            "    orders 1  open buy 0.000000  open sell 4084.800000  reduce-only 0.000\n"
            "\n"
            "account 2\n"
            "  collateral                    999999.978685\n"
            "  equity                       1000213.128685\n"
            "  initial margin                  4784.807400\n"
            "  maintenance margin              1737.500000\n"
            "  margin ratio                          0.17%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size 5.500  entry value 357286.850000  entry price 64961.245\n"
            "    mark 65000.0  notional 357500.000000  unrealized 213.150000  initial 4744.020000  maintenance 1737.500000\n"
            "    orders 2  open buy 116902.000000  open sell 0.000000  reduce-only 0.000\n"
            "  ETH-PERP (2) cross  size 0.000  entry value 0.000000  entry price -\n"
            "    mark 3400.00  notional 0.000000  unrealized 0.000000  initial 40.787400  maintenance 0.000000\n"
            "    orders 1  open buy 5098.425000  open sell 0.000000  reduce-only 0.000\n"
            "\n"
            "account 3\n"
            "  collateral                    999869.029752\n"
            "  equity                        999833.639275\n"
            "  initial margin                  1040.000000\n"
            "  maintenance margin               470.000000\n"
            "  margin ratio                          0.04%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size 1.600  entry value 104035.390477  entry price 65022.119\n"
            "    mark 65000.0  notional 104000.000000  unrealized -35.390477  initial 1040.000000  maintenance 470.000000\n"
            "\n"
            "account 4\n"
            "  collateral                    999892.239950\n"
            "  equity                        999755.839950\n"
            "  initial margin                  2928.240000\n"
            "  maintenance margin              1292.500000\n"
            "  margin ratio                          0.12%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size -4.000  entry value -259866.850000  entry price 64966.712\n"
            "    mark 65000.0  notional 260000.000000  unrealized -133.150000  initial 2860.240000  maintenance 1250.000000\n"
            "    orders 1  open buy 0.000000  open sell 26024.000000  reduce-only 0.000\n"
            "  ETH-PERP (2) cross  size 2.500  entry value 8503.250000  entry price 3401.3000\n"
            "    mark 3400.00  notional 8500.000000  unrealized -3.250000  initial 68.000000  maintenance 42.500000\n"
            "\n"
            "account 5\n"
            "  collateral                    999988.296925\n"
            "  equity                        999982.146925\n"
            "  initial margin                   337.832000\n"
            "  maintenance margin                78.000000\n"
            "  margin ratio                          0.00%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size 0.300  entry value 19506.150000  entry price 65020.500\n"
            "    mark 65000.0  notional 19500.000000  unrealized -6.150000  initial 337.832000  maintenance 78.000000\n"
            "    orders 1  open buy 22729.000000  open sell 0.000000  reduce-only 0.000\n"
            "\n"
            "account 6\n"
            "  collateral                     48987.025000\n"
            "  equity                         48937.025000\n"
            "  initial margin                   260.000000\n"
            "  maintenance margin               130.000000\n"
            "  margin ratio                          0.26%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size -0.500  entry value -32450.000000  entry price 64900.000\n"
            "    mark 65000.0  notional 32500.000000  unrealized -50.000000  initial 260.000000  maintenance 130.000000\n"
            "\n"
            "totals\n"
            "  deposits                             5050000.000000\n"
            "  withdrawals                             1000.000000\n"
            "  fees collected                           211.288055\n"
            "  funding paid                              48.525000\n"
            "  funding received                          48.525000\n"
            "  insurance fund                             0.000000\n"
            "  socialized losses                          0.000000\n"
            "  sum of C - E + B                     5048788.711945\n"
            "  deposits - withdrawals = sum(C - E + B) + insurance + fees - socialized: holds\n");
  r = cascade("accounts sample.evt --account 6");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find("\ntotals\n")),
            "account 6\n"
            "  collateral                     48987.025000\n"
            "  equity                         48937.025000\n"
            "  initial margin                   260.000000\n"
            "  maintenance margin               130.000000\n"
            "  margin ratio                          0.26%\n"
            "  below maintenance                        no\n"
            "  BTC-PERP (1) cross  size -0.500  entry value -32450.000000  entry price 64900.000\n"
            "    mark 65000.0  notional 32500.000000  unrealized -50.000000  initial 260.000000  maintenance 130.000000\n");
  r = cascade("accounts sample.evt --account 9");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("account 9: no collateral and no positions\n\ntotals\n", 0), 0u) << r.out;
  r = cascade("accounts sample.evt --account x");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade accounts: --account needs an account id, got 'x'\nTry 'cascade accounts --help'.\n");
  ASSERT_EQ(cascade("replay sample.evt -o out.evt").code, 0);
  r = cascade("accounts out.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade accounts: out.evt: an output stream; accounts reads input streams\n");
}

// ---------------------------------------------------------------------------------------------
// Damaged files
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, TruncatedFileKeepsEveryCompleteEventThenFails) {
  encode_sample();
  const std::string bytes = read_file(path("sample.evt"));
  // Cut inside the second event (the ETH definition at offset 400, 336 bytes).
  write_file(path("cut.evt"), bytes.substr(0, 400 + 100));
  const std::string problem = "cut.evt: offset 400: truncated event (instrument needs 336 bytes, 100 remain)\n";

  const Result full = cascade("dump sample.evt");
  const std::vector<std::string> all = lines_of(full.out);
  Result r = cascade("dump cut.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, all[0] + "\n" + all[1] + "\n");
  EXPECT_EQ(r.err, "cascade dump: " + problem);

  r = cascade("replay cut.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("events in       1\n  instrument                   1\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "cascade replay: " + problem);

  r = cascade("book cut.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "instrument 1 BTC-PERP\n"
            "     price  qty  orders\n"
            "     (no asks)\n"
            "     (no bids)\n");
  EXPECT_EQ(r.err, "cascade book: " + problem);

  // Cut inside the last event's header: everything but the heartbeat.
  write_file(path("cut2.evt"), bytes.substr(0, bytes.size() - 10));
  r = cascade("dump cut2.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, full.out.substr(0, full.out.rfind("heartbeat")));
  EXPECT_EQ(r.err, "cascade dump: cut2.evt: offset " + std::to_string(bytes.size() - 32) +
                       ": truncated event (22 bytes left, a header needs 32)\n");
  // Every command that runs the engine processed all the complete events: only the trailing
  // heartbeat is missing, so the final state is the whole file's.
  const std::string cut2_problem =
      "cut2.evt: offset " + std::to_string(bytes.size() - 32) + ": truncated event (22 bytes left, a header needs 32)\n";
  r = cascade("accounts cut2.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, cascade("accounts sample.evt").out);
  EXPECT_EQ(r.err, "cascade accounts: " + cut2_problem);
  r = cascade("book cut2.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, cascade("book sample.evt").out);
  EXPECT_EQ(r.err, "cascade book: " + cut2_problem);
  r = cascade("verify cut2.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade verify: " + cut2_problem);

  // A file shorter than its header.
  write_file(path("short.evt"), bytes.substr(0, 20));
  r = cascade("dump short.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "cascade dump: short.evt: offset 0: file is 20 bytes, shorter than the 64-byte file header\n");
}

TEST_F(Cli, CorruptEventStopsAtItsOffset) {
  encode_sample();
  std::string bytes = read_file(path("sample.evt"));
  bytes[400 + 2] = static_cast<char>(0x7f);  // the ETH definition's type byte
  write_file(path("bad.evt"), bytes);
  const Result r = cascade("replay bad.evt --json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("\"events_in\":1,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"complete\":false,\"error\":\"offset 400: unknown event type (type byte 0x7f)\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.err, "cascade replay: bad.evt: offset 400: unknown event type (type byte 0x7f)\n");
}

// ---------------------------------------------------------------------------------------------
// gen, and replay's crash report
// ---------------------------------------------------------------------------------------------

// A 20-minute crash with 300 traders: small enough for a test, liquidations included.
const std::string kSmallCrash = "gen crash --accounts 300 --minutes 20 --calm-minutes 3 --drop-minutes 4 --mm-levels 2 --taker-rate 5";

TEST_F(Cli, GenIsDeterministicValidAndRoundTripsThroughText) {
  const Result a = cascade(kSmallCrash + " -o a.cev");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out.rfind("scenario        crash, seed 1\n", 0), 0u) << a.out;
  EXPECT_NE(a.out.find("rejected        0\n"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("accounts        "), std::string::npos) << a.out;
  ASSERT_EQ(cascade(kSmallCrash + " -o b.cev").code, 0);
  ASSERT_EQ(cascade(kSmallCrash + " --seed 2 -o c.cev").code, 0);
  const std::string bytes = read_file(path("a.cev"));
  ASSERT_GT(bytes.size(), 10'000u);
  EXPECT_EQ(bytes, read_file(path("b.cev")));
  EXPECT_NE(bytes, read_file(path("c.cev")));
  // dump | encode gives the same bytes back.
  const Result d = cascade("dump a.cev -o a.txt");
  ASSERT_EQ(d.code, 0) << d.err;
  const Result e = cascade("encode a.txt -o a2.cev");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(read_file(path("a2.cev")), bytes);
  // The other presets' files round-trip as well.
  for (const std::string preset : {"calm", "squeeze"}) {
    const std::string small = "gen " + preset + " --accounts 300 --minutes 20 --calm-minutes 3 --drop-minutes 4 --mm-levels 2";
    ASSERT_EQ(cascade(small + " -o p.cev").code, 0) << preset;
    ASSERT_EQ(cascade("dump p.cev -o p.txt").code, 0) << preset;
    ASSERT_EQ(cascade("encode p.txt -o p2.cev").code, 0) << preset;
    const std::string original = read_file(path("p.cev"));
    EXPECT_GT(original.size(), 10'000u) << preset;
    EXPECT_EQ(read_file(path("p2.cev")), original) << preset;
  }
}

TEST_F(Cli, GenUsageErrors) {
  Result r = cascade("gen crash");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: -o FILE is required\nTry 'cascade gen --help'.\n");
  r = cascade("gen meltdown -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: expected one scenario: crash, calm or squeeze\nTry 'cascade gen --help'.\n");
  r = cascade("gen crash --accounts 0 -o x.cev");
  EXPECT_EQ(r.code, 2);
  r = cascade("gen crash --minutes 30 --calm-minutes 20 -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("must fit in --minutes"), std::string::npos) << r.err;
  r = cascade("gen crash --index-klines missing.csv -o x.cev");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade gen: missing.csv: cannot open\n");
  r = cascade("gen crash --circuit-band 101 -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: --circuit-band: expected a whole percentage in [0, 100]\nTry 'cascade gen --help'.\n");
  r = cascade("gen crash --circuit-band 5 --circuit-window-ms 0 -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: --circuit-window-ms: expected a whole number in [1, 4294967295]\nTry 'cascade gen --help'.\n");
  r = cascade("gen crash --circuit-pause-ms 60000 -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: --circuit-window-ms and --circuit-pause-ms need --circuit-band\nTry 'cascade gen --help'.\n");
  r = cascade("gen crash --wick-share 0 -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: --wick-share: expected a number in [1, 100], got '0'\nTry 'cascade gen --help'.\n");
  r = cascade("gen crash --funding-rate 1e -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: --funding-rate: expected a number in [-5, 5], got '1e'\nTry 'cascade gen --help'.\n");
  r = cascade("gen crash --tick-ms 5 -o x.cev");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "cascade gen: --tick-ms: expected a whole number in [10, 60000]\nTry 'cascade gen --help'.\n");
  for (const char* betas : {"1,2", "1,2,3,x", "1,2,3,25", "1,2,3,4,", ""}) {
    r = cascade(std::string("gen crash --betas '") + betas + "' -o x.cev");
    EXPECT_EQ(r.code, 2) << betas;
    EXPECT_EQ(r.err, std::string("cascade gen: --betas: expected 4 numbers in [0.1, 20] for SOL, DOGE, WIF and PEPE, "
                                 "comma-separated, got '") + betas + "'\nTry 'cascade gen --help'.\n");
  }
}

// The shape, leverage and funding options reach the file: funding every 5 minutes at 0.05%,
// doubled and negative once the move starts (minute 3); each option changes the bytes.
TEST_F(Cli, GenShapeLeverageAndFundingOptions) {
  ASSERT_EQ(cascade(kSmallCrash + " --funding-rate 0.05 --funding-minutes 5 -o f.cev").code, 0);
  const Result d = cascade("dump f.cev");
  ASSERT_EQ(d.code, 0) << d.err;
  std::vector<std::string> rates;
  for (const std::string& l : lines_of(d.out))
    if (l.rfind("funding_rate ", 0) == 0) rates.push_back(l.substr(l.find(" rate=") + 6));
  EXPECT_EQ(rates, std::vector<std::string>(20, "-0.001"));  // minutes 5, 10, 15, 20 on 5 instruments
  ASSERT_EQ(cascade(kSmallCrash + " -o base.cev").code, 0);
  const std::string base = read_file(path("base.cev"));
  for (const char* option : {"--leverage-skew 1", "--grind-share 80", "--wick-share 50", "--pump 2", "--betas 2.2,4,6.3,3.6"}) {
    ASSERT_EQ(cascade(kSmallCrash + " " + option + " -o o.cev").code, 0) << option;
    EXPECT_NE(read_file(path("o.cev")), base) << option;
  }
  // Ticks of a second instead of 100 ms: 20 minutes on 5 instruments have at most 6,000
  // index moves (one is published only when the tick-rounded price changes), not 60,000.
  ASSERT_EQ(cascade(kSmallCrash + " --tick-ms 1000 -o t.cev").code, 0);
  const auto index_moves = [&](const char* file) {
    const Result dump = cascade(std::string("dump ") + file);
    EXPECT_EQ(dump.code, 0) << dump.err;
    std::size_t n = 0;
    for (const std::string& l : lines_of(dump.out)) n += l.rfind("index_price ", 0) == 0;
    return n;
  };
  EXPECT_EQ(index_moves("base.cev"), 53'640u);
  EXPECT_EQ(index_moves("t.cev"), 5'947u);
}

// The small crash with a 5% breaker over 1-minute windows and 1-minute pauses: every
// definition carries it, the generator counts the refused taker and trader orders apart from
// its rejects, and replay reports the pauses per instrument (text and JSON).
TEST_F(Cli, GenWithACircuitBreakerAndReplayReportsItsPauses) {
  const std::string breaker = " --circuit-band 5 --circuit-window-ms 60000 --circuit-pause-ms 60000";
  const Result g = cascade(kSmallCrash + breaker + " -o cb.cev");
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(g.out.find("\nbreaker         5% within 60 s windows, 60 s pause: 15 pauses\n"
                       "  BTC-PERP      1 pause\n  SOL-PERP      3 pauses\n  DOGE-PERP     3 pauses\n"
                       "  WIF-PERP      4 pauses\n  1000PEPE-PERP 4 pauses\n"
                       "  refused       2959 taker and trader orders while paused\n"
                       "rejected        0\n"),
            std::string::npos)
      << g.out;
  ASSERT_EQ(cascade(kSmallCrash + breaker + " -o cb2.cev").code, 0);
  EXPECT_EQ(read_file(path("cb.cev")), read_file(path("cb2.cev")));
  const Result d = cascade("dump cb.cev -o cb.txt");
  ASSERT_EQ(d.code, 0) << d.err;
  int defined = 0;
  for (const std::string& l : lines_of(read_file(path("cb.txt"))))
    if (l.rfind("instrument ", 0) == 0) {
      ++defined;
      EXPECT_NE(l.find(" circuit_band=0.05 circuit_window_ms=60000 circuit_pause_ms=60000 "), std::string::npos) << l;
    }
  EXPECT_EQ(defined, 5);

  const Result t = cascade("replay cb.cev");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("\ncircuit breaker\n"
                       "  0   BTC-PERP     5% in 60 s windows, 60 s pause: 1 pause, 60.0 s paused, 1180 orders refused\n"
                       "  1   SOL-PERP     5% in 60 s windows, 60 s pause: 3 pauses, 180.2 s paused, 1396 orders refused\n"
                       "  2   DOGE-PERP    5% in 60 s windows, 60 s pause: 3 pauses, 180.0 s paused, 162 orders refused\n"
                       "  3   WIF-PERP     5% in 60 s windows, 60 s pause: 4 pauses, 240.2 s paused, 128 orders refused\n"
                       "  4   1000PEPE-PERP 5% in 60 s windows, 60 s pause: 4 pauses, 240.1 s paused, 93 orders refused\n"
                       "crash figures   "),
            std::string::npos)
      << t.out;
  const Result j = cascade("replay cb.cev --json");
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_NE(j.out.find(",\"circuit_breakers\":[{\"id\":0,\"symbol\":\"BTC-PERP\",\"band\":\"0.05\",\"window_ms\":60000,"
                       "\"pause_ms\":60000,\"pauses\":1,\"paused_ns\":60000000000,\"refused\":1180},"),
            std::string::npos)
      << j.out;
  EXPECT_NE(j.out.find("{\"id\":3,\"symbol\":\"WIF-PERP\",\"band\":\"0.05\",\"window_ms\":60000,\"pause_ms\":60000,"
                       "\"pauses\":4,\"paused_ns\":240199998000,\"refused\":128}"),
            std::string::npos)
      << j.out;
}

// Without a breaker (a band of 0 turns the other two off): the same bytes as no option at all,
// no breaker lines in gen's summary or replay's report, zeros in JSON.
TEST_F(Cli, GenAndReplayWithoutACircuitBreaker) {
  const Result off = cascade(kSmallCrash + " --circuit-band 0 --circuit-window-ms 60000 -o off.cev");
  ASSERT_EQ(off.code, 0) << off.err;
  EXPECT_EQ(off.out.find("breaker"), std::string::npos) << off.out;
  ASSERT_EQ(cascade(kSmallCrash + " -o plain.cev").code, 0);
  EXPECT_EQ(read_file(path("off.cev")), read_file(path("plain.cev")));
  const Result pt = cascade("replay plain.cev");
  ASSERT_EQ(pt.code, 0) << pt.err;
  EXPECT_EQ(pt.out.find("circuit breaker"), std::string::npos) << pt.out;
  const Result pj = cascade("replay plain.cev --json");
  ASSERT_EQ(pj.code, 0) << pj.err;
  EXPECT_NE(pj.out.find(",\"circuit_breakers\":[{\"id\":0,\"symbol\":\"BTC-PERP\",\"band\":\"0\",\"window_ms\":0,"
                        "\"pause_ms\":0,\"pauses\":0,\"paused_ns\":0,\"refused\":0},"),
            std::string::npos)
      << pj.out;
}

TEST_F(Cli, ReplayOfACrashPrintsItsFiguresJsonAndPlots) {
  ASSERT_EQ(cascade(kSmallCrash + " -o crash.cev").code, 0);
  const Result t = cascade("replay crash.cev");
  ASSERT_EQ(t.code, 0) << t.err;
  for (const char* l : {"\ncrash figures   ", "\n  BTC-PERP       index ", "\n  liquidated    ",
                        "                 spread ", "% (widest in the burst); open interest ",
                        "the highest before the burst to the lowest after)\n",
                        "% of it long; backstop ", "\n  peak second   ", "\nburst window    60 s from minute ",
                        "\nlatency (ns)        events       p50       p90       p99     p99.9         max\n",
                        "\n  whole run     ", "\n  burst, no casc. ", "\n  burst, stops    ", "\n  cascade starts  ",
                        "\n  burst, no liq.  ", "\nlargest cascade ",
                        "\n  insurance fund ", "\n  largest cascade ", "\nlargest in burst ", "\npeak memory     "})
    EXPECT_NE(t.out.find(l), std::string::npos) << l << "\n" << t.out;
  // The crash figures come from the input and the engine: two runs agree up to the timing block.
  EXPECT_EQ(without_timing(t.out), without_timing(cascade("replay crash.cev").out));

  const Result j = cascade("replay crash.cev --json --plot plots --burst-seconds 30");
  ASSERT_EQ(j.code, 0) << j.err;
  for (const char* k : {"\"crash\":{\"liquidated_usd\":", "\"long_share\":", "\"adl_share\":", "\"peak_liquidations_per_second\":",
                        "\"depth_pulled\":", "\"open_interest_before_usd\":", "\"open_interest_change\":-",
                        "\"spread_before\":0.00", "\"spread_burst\":0.0",
                        "\"burst_window\":{\"start_epoch\":", "\"seconds\":30,",
                        "\"latency_ns\":{\"all\":{\"events\":", "\"stop_chains\":{", "\"cascade_starts\":{", "\"largest_cascade_ns\":",
                        "\"peak_rss_kb\":", "\"plot\":"})
    EXPECT_NE(j.out.find(k), std::string::npos) << k << "\n" << j.out;
  // The burst window's events fall in exactly one of the three latency groups; the small crash
  // has events of each kind.
  const auto number_after = [&](const std::string& key) {
    const std::size_t at = j.out.find(key);
    return at == std::string::npos ? -1LL : std::stoll(j.out.substr(at + key.size()));
  };
  const long long quiet = number_after("\"burst\":{\"events\":");
  const long long stops = number_after("\"stop_chains\":{\"events\":");
  const long long starts = number_after("\"cascade_starts\":{\"events\":");
  EXPECT_GT(quiet, 0);
  EXPECT_GT(stops, 0);
  EXPECT_GT(starts, 0);
  EXPECT_EQ(quiet + stops + starts, number_after("\"seconds\":30,\"events\":"));
  EXPECT_EQ(number_after("\"burst_no_liquidation\":{\"events\":"), quiet + stops);
  EXPECT_GT(number_after("\"burst_peak_rss_kb\":"), 0);
  EXPECT_LE(number_after("\"burst_peak_rss_kb\":"), number_after("\"peak_rss_kb\":"));
  // The CSV series are written with or without gnuplot.
  const std::string csv = read_file(path("plots/per_second.csv"));
  EXPECT_EQ(csv.rfind("minute,epoch_s,events,latency_p50_ns,latency_p99_ns,latency_max_ns,liquidations,", 0), 0u) << csv.substr(0, 200);
  EXPECT_NE(csv.find(",index_BTC-PERP,index100_BTC-PERP,depth1pct_usd_BTC-PERP,"), std::string::npos);
  EXPECT_GT(lines_of(csv).size(), 600u);  // one row per second with events
  EXPECT_EQ(read_file(path("plots/plots.gp")), read_file(std::string(CASCADE_SOURCE_DIR) + "/tools/replay_plots.gp"));
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    for (const char* png : {"price_liquidations.png", "latency.png", "cumulative_liquidations.png"})
      EXPECT_EQ(read_file(path(std::string("plots/") + png)).substr(0, 8), "\x89PNG\r\n\x1a\n") << png;
  }
  // Without gnuplot the series and the script are still written, and the report says how to
  // draw them.
  const std::string cmd = "cd '" + path("") + "' && PATH=/nonexistent '" + CASCADE_CLI +
                          "' replay crash.cev --json --plot bare > bare.json";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_NE(read_file(path("bare.json")).find("gnuplot not found: wrote "), std::string::npos);
  EXPECT_NE(read_file(path("bare.json")).find("install gnuplot (Debian: apt-get install gnuplot-nox)"), std::string::npos);
  const std::vector<std::string> bare = lines_of(read_file(path("bare/per_second.csv")));
  ASSERT_FALSE(bare.empty());
  EXPECT_EQ(bare.size(), lines_of(csv).size());
  EXPECT_EQ(bare[0], lines_of(csv)[0]);
  EXPECT_FALSE(read_file(path("bare/plots.gp")).empty());
}

// A burst window as long as the run reports the run's own figures.
TEST_F(Cli, ReplayBurstWindowFiguresSumToTheRunsWhenItCoversTheRun) {
  ASSERT_EQ(cascade(kSmallCrash + " -o crash.cev").code, 0);
  const Result j = cascade("replay crash.cev --json --burst-seconds 86400");
  ASSERT_EQ(j.code, 0) << j.err;
  const std::size_t burst = j.out.find("\"burst_window\":{");
  ASSERT_NE(burst, std::string::npos) << j.out;
  // The text of a value after `key`, searched from `from`: a number or a quoted string.
  const auto value = [&](const std::string& key, std::size_t from) {
    const std::size_t at = j.out.find(key, from);
    if (at == std::string::npos) return std::string("missing ") + key;
    const std::size_t start = at + key.size();
    return j.out.substr(start, j.out.find_first_of(",}", start) - start);
  };
  const std::size_t crash = j.out.find("\"crash\":{");
  ASSERT_NE(crash, std::string::npos);
  EXPECT_EQ(value("\"liquidations\":", burst), value("\"liquidations\":", 0));
  EXPECT_EQ(value("\"liquidated_usd\":", burst), value("\"liquidated_usd\":", crash));
  EXPECT_EQ(value("\"long_share\":", burst), value("\"long_share\":", crash));
  EXPECT_EQ(value("\"backstop_usd\":", burst), value("\"backstop_usd\":", crash));
  EXPECT_EQ(value("\"adl_usd\":", burst), value("\"adl_usd\":", crash));
  EXPECT_EQ(value("\"insurance_fund_before\":", burst), value("\"insurance_fund_before\":", 0));
  const std::size_t totals = j.out.find("\"funding_received\":");  // past the output counts' insurance_fund
  EXPECT_EQ(value("\"insurance_fund_after\":", burst), value("\"insurance_fund\":", totals));
  EXPECT_EQ(value("\"largest_cascade\":", burst), value("\"largest_cascade\":", 0));
  EXPECT_EQ(value("\"largest_cascade_seq\":", burst), value("\"largest_cascade_origin\":", 0));
  EXPECT_EQ(value("\"insurance_fund_before\":", 0), "\"0\"");
  EXPECT_NE(value("\"insurance_fund\":", totals), "\"0\"");
}

}  // namespace
