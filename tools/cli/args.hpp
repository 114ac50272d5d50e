// Minimal option parsing shared by the subcommands: --name value, --name=value, -x value,
// flags without a value, "--" ends options, "-" is an operand (standard input/output).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::cli {

struct OptionSpec {
  std::string_view name;  // long name without "--"
  char short_name;        // 0 for none
  bool takes_value;
};

class Args {
 public:
  // Parses argv[1..argc) (argv[0] is the subcommand). False with a message on an unknown
  // option or a missing value.
  bool parse(int argc, char** argv, std::span<const OptionSpec> specs, std::string& error);

  bool has(std::string_view name) const;
  // The option's last value, or `fallback`.
  std::string value(std::string_view name, std::string_view fallback = {}) const;
  const std::vector<std::string>& operands() const { return operands_; }

 private:
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> operands_;
};

// Prints "cascade <cmd>: <message>" and the --help hint to stderr; returns 2.
int usage_error(std::string_view cmd, std::string_view message);
// Prints "cascade <cmd>: <message>" to stderr; returns 1.
int data_error(std::string_view cmd, std::string_view message);

// Parses a whole decimal unsigned integer in [min, max].
bool parse_count(std::string_view text, std::uint64_t min, std::uint64_t max, std::uint64_t& out);

}  // namespace cascade::cli
