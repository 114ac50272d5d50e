// The input journal: every input event, appended to an event file (kind Input, creator
// "cascade journal") before the engine processes it, so the state can be rebuilt by replaying
// it (`cascade replay JOURNAL` reads it as it is). docs/embedding.md, "Durability".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"

namespace cascade {

// What a commit() guarantees for the events appended before it:
enum class Durability : std::uint8_t {
  None,   // nothing: events sit in a user-space buffer (written when 1 MiB fills, and at close);
          // a killed process loses that buffer
  Flush,  // written to the kernel (write(2)): survives the process being killed, not a power
          // loss or a kernel crash
  Fsync,  // written and fdatasync(2)ed: survives a power loss too (as far as the disk keeps
          // its promises); costs a device round trip per commit
};

const char* durability_name(Durability d) noexcept;
// "none", "flush", "fsync"; false on anything else.
bool parse_durability(std::string_view s, Durability& out) noexcept;

class Journal {
 public:
  Journal() = default;
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Creates the journal, or opens an existing one for appending: a torn last event (a write
  // cut short by a crash) is cut off first, so the file always holds whole events. False with
  // a message naming the path on failure, or if the file is not an input event file.
  bool open(const std::string& path, Durability durability, std::string& error);

  // Appends whole, well-formed events. Not durable until commit().
  bool append(std::span<const std::byte> events);
  // Makes everything appended so far as durable as the policy says.
  bool commit();
  // Commits and closes; false with a message if any write failed.
  bool close(std::string& error);

  std::uint64_t events() const noexcept { return events_; }  // whole events in the file, appended included
  std::uint64_t bytes() const noexcept { return size_; }     // file size, header and pending bytes included
  Durability durability() const noexcept { return durability_; }

 private:
  bool write_out(const std::byte* p, std::size_t n);

  int fd_ = -1;
  Durability durability_ = Durability::Flush;
  bool failed_ = false;
  int errno_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t size_ = 0;
  EventBuffer pending_{1 << 20};  // Durability::None only
};

// What a journal on disk holds: whole events up to end_offset; a torn tail after it.
struct JournalScan {
  std::uint64_t events = 0;
  std::uint64_t end_offset = 0;  // file offset just past the last whole event
  std::uint64_t file_size = 0;
  bool torn = false;             // bytes after end_offset that are not a whole event
};

// Scans journal bytes (a whole mapped file, header included). A truncated last event is a
// torn write and reported as such; any other decode error (a corrupt journal) is an error.
bool scan_journal(std::span<const std::byte> file, JournalScan& out, ReadError& error) noexcept;

}  // namespace cascade
