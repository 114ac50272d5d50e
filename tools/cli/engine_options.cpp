#include "cli/engine_options.hpp"

#include <cstdint>
#include <new>

namespace cascade::cli {

bool parse_engine_options(const Args& args, EngineConfig& config, std::string& error) {
  struct Capacity {
    std::string_view name;
    std::uint32_t EngineConfig::*field;
    std::uint64_t max;
  };
  // Ids and pool indices are 32-bit with sentinels at the top; these bounds keep clear of them.
  static constexpr Capacity kCapacities[] = {
      {"max-orders", &EngineConfig::max_orders, 1u << 30},
      {"max-accounts", &EngineConfig::max_accounts, 1u << 30},
      {"max-positions", &EngineConfig::max_positions, 1u << 30},
      {"max-instruments", &EngineConfig::max_instruments, 1u << 16},
      {"max-levels", &EngineConfig::max_levels_per_book, 1u << 30},
  };
  for (const Capacity& c : kCapacities) {
    if (!args.has(c.name)) continue;
    std::uint64_t v = 0;
    if (!parse_count(args.value(c.name), 1, c.max, v)) {
      error = "--" + std::string(c.name) + " needs a whole number from 1 to " + std::to_string(c.max) + ", got '" +
              args.value(c.name) + "'";
      return false;
    }
    config.*c.field = static_cast<std::uint32_t>(v);
  }
  if (args.has("huge-pages")) config.huge_pages = true;
  if (args.has("prefault")) config.prefault = true;
  return true;
}

int start_engine_run(std::string_view cmd, const Args& args, const std::string& path, EngineRun& run) {
  std::string error;
  if (!parse_engine_options(args, run.config, error)) return usage_error(cmd, error);
  if (!run.in.open(path, error)) return data_error(cmd, error);
  if (run.in.file().header().kind != wire::StreamKind::Input)
    return data_error(cmd, display_name(path) + ": an output stream; " + std::string(cmd) + " reads input streams");
  try {
    run.engine = std::make_unique<Engine>(run.config);
  } catch (const std::bad_alloc&) {
    return data_error(cmd, "cannot map the engine's memory for these capacities (--max-orders " +
                               std::to_string(run.config.max_orders) + ", --max-accounts " +
                               std::to_string(run.config.max_accounts) + ", --max-positions " +
                               std::to_string(run.config.max_positions) + ")");
  }
  return 0;
}

}  // namespace cascade::cli
