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
  for (const char* cmd : {"encode", "dump", "replay", "book", "convert"}) {
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

std::string without_timing(const std::string& report) {
  std::string out;
  for (const std::string& l : lines_of(report))
    if (l.rfind("wall time", 0) != 0 && l.rfind("engine time", 0) != 0 && l.rfind("input rate", 0) != 0)
      out += l + "\n";
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

  // Same report without -o, except the output file line; timing aside, two runs agree.
  std::string a_report = without_timing(a.out);
  const std::string file_line = "output file     out.evt\n";
  ASSERT_NE(a_report.find(file_line), std::string::npos);
  a_report.erase(a_report.find(file_line), file_line.size());
  EXPECT_EQ(a_report, without_timing(b.out));
  const std::vector<std::string> timing(lines.end() - 3, lines.end());
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
}

TEST_F(Cli, ReplayRefusesAnOutputStream) {
  encode_sample();
  ASSERT_EQ(cascade("replay sample.evt -o out.evt").code, 0);
  const Result r = cascade("replay out.evt");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "cascade replay: out.evt: an output stream; replay reads input streams\n");
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
// Damaged files
// ---------------------------------------------------------------------------------------------

TEST_F(Cli, TruncatedFileKeepsEveryCompleteEventThenFails) {
  encode_sample();
  const std::string bytes = read_file(path("sample.evt"));
  // Cut inside the second event (the ETH definition at offset 392, 328 bytes).
  write_file(path("cut.evt"), bytes.substr(0, 392 + 100));
  const std::string problem = "cut.evt: offset 392: truncated event (instrument needs 328 bytes, 100 remain)\n";

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
  bytes[392 + 2] = static_cast<char>(0x7f);  // the ETH definition's type byte
  write_file(path("bad.evt"), bytes);
  const Result r = cascade("replay bad.evt --json");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("\"events_in\":1,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"complete\":false,\"error\":\"offset 392: unknown event type (type byte 0x7f)\""),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.err, "cascade replay: bad.evt: offset 392: unknown event type (type byte 0x7f)\n");
}

}  // namespace
