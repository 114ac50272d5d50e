#include "cli/io.hpp"

#include <cerrno>
#include <cstring>

namespace cascade::cli {

bool InputEventFile::open(const std::string& path, std::string& error) {
  path_ = path;
  if (path != "-") return file_.open(path, error);
  std::vector<char> bytes;
  char chunk[1 << 16];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, stdin)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  if (std::ferror(stdin)) {
    error = std::string("standard input: ") + std::strerror(errno);
    return false;
  }
  stdin_.assign((bytes.size() + 7) / 8, 0);
  if (!bytes.empty()) std::memcpy(stdin_.data(), bytes.data(), bytes.size());
  const std::span<const std::byte> view(reinterpret_cast<const std::byte*>(stdin_.data()), bytes.size());
  if (!file_.open_buffer(view, error)) {
    error = "standard input: " + error;
    return false;
  }
  return true;
}

TextOutput::~TextOutput() {
  std::string ignored;
  close(ignored);
}

bool TextOutput::open(const std::string& path, std::string& error) {
  if (path == "-" || path.empty()) {
    f_ = stdout;
    owns_ = false;
    return true;
  }
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  owns_ = true;
  return true;
}

void TextOutput::flush() {
  if (!f_ || buf_.empty()) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) failed_ = true;
  buf_.clear();
}

bool TextOutput::close(std::string& error) {
  if (!f_) return !failed_;
  flush();
  if (std::fflush(f_) != 0) failed_ = true;
  if (owns_ && std::fclose(f_) != 0) failed_ = true;
  f_ = nullptr;
  if (failed_) error = std::string("write failed: ") + std::strerror(errno);
  return !failed_;
}

std::string display_name(const std::string& path) { return path == "-" ? "standard input" : path; }

}  // namespace cascade::cli
