// cascade encode: the text form back into an event file.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "cascade/event_file.hpp"
#include "cascade/text_format.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/io.hpp"

namespace {

constexpr const char* kHelp =
    "usage: cascade encode TEXT -o FILE\n"
    "\n"
    "Writes the events of a text-form file (docs/text-format.md) as an event file. The\n"
    "'# cascade v1 kind=... created_ns=... creator=...' line, when present, gives the file\n"
    "header; without it the kind follows the first event, created_ns is 0 and the creator\n"
    "is \"cascade encode\". 'cascade dump FILE | cascade encode - -o COPY' reproduces FILE\n"
    "byte for byte.\n"
    "\n"
    "  TEXT                 text form, or - for standard input\n"
    "  -o, --output FILE    event file to write (- for standard output)\n"
    "  -h, --help           this help\n"
    "\n"
    "A line that cannot be encoded stops the command with its line number and key on\n"
    "standard error, exit status 1, and no output file.\n";

constexpr cascade::cli::OptionSpec kOptions[] = {
    {"output", 'o', true},
    {"help", 'h', false},
};

}  // namespace

int cmd_encode(int argc, char** argv) {
  using namespace cascade;
  cli::Args args;
  std::string error;
  if (!args.parse(argc, argv, kOptions, error)) return cli::usage_error("encode", error);
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.operands().size() != 1) return cli::usage_error("encode", "expected one TEXT operand");
  if (!args.has("output")) return cli::usage_error("encode", "missing -o FILE");
  const std::string in_path = args.operands()[0];
  const std::string out_path = args.value("output");

  std::ifstream file;
  std::istream* in = &std::cin;
  if (in_path != "-") {
    file.open(in_path, std::ios::binary);
    if (!file) return cli::data_error("encode", in_path + ": " + std::strerror(errno));
    in = &file;
  }
  std::ios::sync_with_stdio(false);

  text::Parser parser;
  EventFileWriter writer;
  bool opened = false;
  bool failed = false;
  const auto open_writer = [&] {
    opened = true;
    return writer.open(out_path, parser.file_header(), error);
  };
  std::string line;
  while (std::getline(*in, line)) {
    const auto kind = parser.parse(line);
    if (kind == text::Parser::Line::Error) {
      error = cli::display_name(in_path) + ": " + parser.error();
      failed = true;
      break;
    }
    if (kind != text::Parser::Line::Event) continue;
    if (!opened && !open_writer()) return cli::data_error("encode", error);
    writer.write_raw(parser.event());
  }
  if (!failed && in->bad()) {
    error = cli::display_name(in_path) + ": read failed";
    failed = true;
  }
  if (failed) {
    if (opened) {
      std::string ignored;
      writer.close(ignored);
      if (out_path != "-") std::remove(out_path.c_str());
    }
    return cli::data_error("encode", error);
  }
  if (!opened && !open_writer()) return cli::data_error("encode", error);
  if (!writer.close(error)) {
    if (out_path != "-") std::remove(out_path.c_str());
    return cli::data_error("encode", out_path + ": " + error);
  }
  return 0;
}
