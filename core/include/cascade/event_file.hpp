// Event files: a 64-byte FileHeader followed by framed events (docs/format.md).
// Reading maps the file and decodes it in place; writing streams through a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/wire.hpp"

namespace cascade {

// Checks magic, version and header size. On failure fills err (offset 0 or the bad field's).
bool parse_file_header(std::span<const std::byte> bytes, wire::FileHeader& out, ReadError& err) noexcept;

wire::FileHeader make_file_header(wire::StreamKind kind, Timestamp created_ns, std::string_view creator) noexcept;

// A read-only memory map of a whole file (empty files map to an empty span).
class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // False with a message (naming the path) when the file cannot be opened or mapped.
  bool open(const std::string& path, std::string& error);
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

 private:
  void reset() noexcept;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// An event file opened for reading: the header is validated, events are decoded lazily.
class EventFile {
 public:
  bool open(const std::string& path, std::string& error);
  // Opens bytes already in memory (8-byte aligned), e.g. a test buffer.
  bool open_buffer(std::span<const std::byte> bytes, std::string& error);

  const wire::FileHeader& header() const noexcept { return header_; }
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  // A fresh decoder over the events; its errors name file offsets.
  EventReader reader() const noexcept {
    return EventReader(bytes_.subspan(sizeof(wire::FileHeader)), sizeof(wire::FileHeader));
  }

 private:
  MappedFile map_;
  std::span<const std::byte> bytes_;
  wire::FileHeader header_{};
};

// Writes an event file: header first, then events, buffered.
class EventFileWriter {
 public:
  EventFileWriter() = default;
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  // path "-" writes to standard output.
  bool open(const std::string& path, const wire::FileHeader& header, std::string& error);

  template <class T>
  void write(const T& msg) {
    buf_.append(msg);
    if (buf_.size() >= kFlushAt) flush_buffer();
  }
  void write_raw(std::span<const std::byte> bytes) {
    buf_.append_raw(bytes.data(), bytes.size());
    if (buf_.size() >= kFlushAt) flush_buffer();
  }

  // Flushes and closes; false with a message if any write failed.
  bool close(std::string& error);
  std::uint64_t bytes_written() const noexcept { return written_ + buf_.size(); }

 private:
  static constexpr std::size_t kFlushAt = 1 << 20;
  void flush_buffer();

  std::FILE* f_ = nullptr;
  bool owns_ = false;
  bool failed_ = false;
  std::uint64_t written_ = 0;
  EventBuffer buf_{2 << 20};
};

}  // namespace cascade
