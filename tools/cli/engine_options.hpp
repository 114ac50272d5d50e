// What the commands that run an engine over a file share: opening FILE as an input stream,
// and the engine's capacities as options (a captured day can hold more live orders or
// accounts than the defaults).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "cascade/engine.hpp"
#include "cli/args.hpp"
#include "cli/io.hpp"

namespace cascade::cli {

inline constexpr OptionSpec kEngineOptions[] = {
    {"max-orders", 0, true},   {"max-accounts", 0, true}, {"max-positions", 0, true},
    {"max-instruments", 0, true}, {"max-levels", 0, true}, {"huge-pages", 0, false},
    {"prefault", 0, false},
};

// A macro so that each command's help stays one string literal.
#define CASCADE_CLI_ENGINE_OPTIONS_HELP                                                   \
  "  --max-orders N      engine capacity: live orders, resting plus untriggered stops\n"  \
  "                      (default 1048576; docs/cli.md, \"Engine capacities\")\n"        \
  "  --max-accounts N    account ids 0..N-1 (default 1048576)\n"                          \
  "  --max-positions N   (account, instrument) records (default 1048576)\n"              \
  "  --max-instruments N instrument ids 0..N-1 (default 256)\n"                          \
  "  --max-levels N      price levels per book (default 4194304)\n"                      \
  "  --huge-pages        transparent huge pages for the order pool and order index\n"       \
  "  --prefault          commit every table's memory at start, not on first touch\n"

// A command's own options followed by kEngineOptions, for Args::parse.
template <std::size_t N>
constexpr std::array<OptionSpec, N + std::size(kEngineOptions)> with_engine_options(const OptionSpec (&own)[N]) {
  std::array<OptionSpec, N + std::size(kEngineOptions)> all{};
  std::size_t i = 0;
  for (const OptionSpec& o : own) all[i++] = o;
  for (const OptionSpec& o : kEngineOptions) all[i++] = o;
  return all;
}

// The capacities given on the command line over the defaults; false with a message.
bool parse_engine_options(const Args& args, EngineConfig& config, std::string& error);

// What a command that runs the engine over FILE starts with: the engine options, FILE opened
// as an input stream, and the engine for those capacities.
struct EngineRun {
  EngineConfig config;
  InputEventFile in;
  std::unique_ptr<Engine> engine;
};

// 0 with `run` ready; otherwise the message has been printed as "cascade CMD: ..." and the
// result is the exit status (2 bad usage, 1 unreadable or output-kind FILE, or memory that
// cannot be mapped).
int start_engine_run(std::string_view cmd, const Args& args, const std::string& path, EngineRun& run);

}  // namespace cascade::cli
