#include "cli/args.hpp"

#include <charconv>
#include <cstdio>

namespace cascade::cli {

bool Args::parse(int argc, char** argv, std::span<const OptionSpec> specs, std::string& error) {
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (options_done || a == "-" || a.empty() || a[0] != '-') {
      operands_.emplace_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::string_view inline_value;
    bool has_inline = false;
    if (a.substr(0, 2) == "--") {
      std::string_view name = a.substr(2);
      if (const auto eq = name.find('='); eq != name.npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
      for (const OptionSpec& s : specs)
        if (s.name == name) spec = &s;
    } else if (a.size() == 2) {
      for (const OptionSpec& s : specs)
        if (s.short_name == a[1]) spec = &s;
    }
    if (!spec) {
      error = "unknown option '" + std::string(a) + "'";
      return false;
    }
    if (!spec->takes_value) {
      if (has_inline) {
        error = "option '--" + std::string(spec->name) + "' takes no value";
        return false;
      }
      options_.emplace_back(spec->name, "");
      continue;
    }
    if (has_inline) {
      options_.emplace_back(spec->name, inline_value);
    } else if (i + 1 < argc) {
      options_.emplace_back(spec->name, argv[++i]);
    } else {
      error = "option '" + std::string(a) + "' needs a value";
      return false;
    }
  }
  return true;
}

bool Args::has(std::string_view name) const {
  for (const auto& [k, v] : options_)
    if (k == name) return true;
  return false;
}

std::string Args::value(std::string_view name, std::string_view fallback) const {
  std::string out(fallback);
  for (const auto& [k, v] : options_)
    if (k == name) out = v;
  return out;
}

int usage_error(std::string_view cmd, std::string_view message) {
  std::fprintf(stderr, "cascade %.*s: %.*s\nTry 'cascade %.*s --help'.\n", static_cast<int>(cmd.size()), cmd.data(),
               static_cast<int>(message.size()), message.data(), static_cast<int>(cmd.size()), cmd.data());
  return 2;
}

int data_error(std::string_view cmd, std::string_view message) {
  std::fprintf(stderr, "cascade %.*s: %.*s\n", static_cast<int>(cmd.size()), cmd.data(), static_cast<int>(message.size()),
               message.data());
  return 1;
}

bool parse_count(std::string_view text, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
  std::uint64_t v = 0;
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace cascade::cli
