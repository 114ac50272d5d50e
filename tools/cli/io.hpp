// File plumbing shared by the subcommands: event files from a path or standard input, and
// buffered text output to a path or standard output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/event_file.hpp"

namespace cascade::cli {

// An event file opened from a path, or "-" for standard input (read whole into an 8-byte
// aligned buffer, as EventReader needs).
class InputEventFile {
 public:
  bool open(const std::string& path, std::string& error);
  const EventFile& file() const noexcept { return file_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::vector<std::uint64_t> stdin_;
  EventFile file_;
  std::string path_;
};

// Buffered text output to a path or "-" (standard output).
class TextOutput {
 public:
  TextOutput() = default;
  ~TextOutput();
  TextOutput(const TextOutput&) = delete;
  TextOutput& operator=(const TextOutput&) = delete;

  bool open(const std::string& path, std::string& error);
  void write(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= (1u << 20)) flush();
  }
  void flush();
  // Flushes and closes; false with a message if any write failed.
  bool close(std::string& error);

 private:
  std::FILE* f_ = nullptr;
  bool owns_ = false;
  bool failed_ = false;
  std::string buf_;
};

// The name to show for a path in messages ("standard input" for "-").
std::string display_name(const std::string& path);

}  // namespace cascade::cli
