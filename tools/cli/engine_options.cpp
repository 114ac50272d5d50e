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
  return true;
}

std::unique_ptr<Engine> make_engine(const EngineConfig& config, std::string& error) {
  try {
    return std::make_unique<Engine>(config);
  } catch (const std::bad_alloc&) {
    error = "cannot map the engine's memory for these capacities (--max-orders " + std::to_string(config.max_orders) +
            ", --max-accounts " + std::to_string(config.max_accounts) + ", --max-positions " +
            std::to_string(config.max_positions) + ")";
    return nullptr;
  }
}

bool open_input(std::string_view cmd, const std::string& path, InputEventFile& in, std::string& error) {
  if (!in.open(path, error)) return false;
  if (in.file().header().kind == wire::StreamKind::Input) return true;
  error = display_name(path) + ": an output stream; " + std::string(cmd) + " reads input streams";
  return false;
}

}  // namespace cascade::cli
