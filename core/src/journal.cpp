#include "cascade/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "cascade/event_file.hpp"

namespace cascade {

const char* durability_name(Durability d) noexcept {
  switch (d) {
    case Durability::None: return "none";
    case Durability::Flush: return "flush";
    case Durability::Fsync: return "fsync";
  }
  return "?";
}

bool parse_durability(std::string_view s, Durability& out) noexcept {
  if (s == "none") out = Durability::None;
  else if (s == "flush") out = Durability::Flush;
  else if (s == "fsync") out = Durability::Fsync;
  else return false;
  return true;
}

bool scan_journal(std::span<const std::byte> file, JournalScan& out, ReadError& error) noexcept {
  out = {};
  out.file_size = file.size();
  wire::FileHeader h;
  if (!parse_file_header(file, h, error)) return false;
  if (h.kind != wire::StreamKind::Input) {
    error = {DecodeError::BadFileHeader, 0};
    return false;
  }
  EventReader r(file.subspan(sizeof h), sizeof h);
  for (EventView ev; r.next(ev);) ++out.events;
  out.end_offset = r.offset();
  if (!r.ok()) {
    if (r.error().code != DecodeError::Truncated) {
      error = r.error();
      return false;
    }
    out.torn = true;
  }
  error = {};
  return true;
}

Journal::~Journal() {
  std::string ignored;
  close(ignored);
}

bool Journal::open(const std::string& path, Durability durability, std::string& error) {
  std::string ignored;
  close(ignored);
  durability_ = durability;
  failed_ = false;
  events_ = size_ = 0;
  pending_.clear();

  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
  if (exists) {
    MappedFile map;
    if (!map.open(path, error)) return false;
    JournalScan scan;
    ReadError rerr;
    if (!scan_journal(map.bytes(), scan, rerr)) {
      error = path + ": not a usable journal: " +
              (rerr.code == DecodeError::BadFileHeader ? std::string("bad file header or not an input stream")
                                                       : rerr.message());
      return false;
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0 || (scan.torn && ::ftruncate(fd_, static_cast<off_t>(scan.end_offset)) != 0) ||
        ::lseek(fd_, static_cast<off_t>(scan.end_offset), SEEK_SET) < 0) {
      error = path + ": " + std::strerror(errno);
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      return false;
    }
    events_ = scan.events;
    size_ = scan.end_offset;
    return true;
  }

  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  const wire::FileHeader h = make_file_header(wire::StreamKind::Input, 0, "cascade journal");
  // The header is written (and synced under Fsync) at once, so a journal on disk always has one.
  if (!write_out(reinterpret_cast<const std::byte*>(&h), sizeof h) ||
      (durability_ == Durability::Fsync && ::fsync(fd_) != 0)) {
    error = path + ": " + std::strerror(errno_ ? errno_ : errno);
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  size_ = sizeof h;
  return true;
}

bool Journal::write_out(const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      errno_ = errno;
      failed_ = true;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool Journal::append(std::span<const std::byte> events) {
  if (fd_ < 0 || failed_) return false;
  // Whole events only (the caller's contract): count them by their lengths.
  for (std::size_t off = 0; off + sizeof(wire::MessageHeader) <= events.size();) {
    wire::MessageHeader h;
    std::memcpy(&h, events.data() + off, sizeof h);
    if (h.length == 0) break;
    off += h.length;
    ++events_;
  }
  size_ += events.size();
  if (durability_ != Durability::None) return write_out(events.data(), events.size());
  pending_.append_raw(events.data(), events.size());
  if (pending_.size() >= (1u << 20)) {
    const bool ok = write_out(pending_.bytes().data(), pending_.size());
    pending_.clear();
    return ok;
  }
  return true;
}

bool Journal::commit() {
  if (fd_ < 0 || failed_) return false;
  if (durability_ == Durability::Fsync && ::fdatasync(fd_) != 0) {
    errno_ = errno;
    failed_ = true;
    return false;
  }
  return true;
}

bool Journal::close(std::string& error) {
  if (fd_ < 0) return true;
  if (!pending_.empty() && !failed_) write_out(pending_.bytes().data(), pending_.size());
  pending_.clear();
  if (!failed_ && durability_ == Durability::Fsync && ::fdatasync(fd_) != 0) {
    errno_ = errno;
    failed_ = true;
  }
  const bool ok = !failed_ && ::close(fd_) == 0;
  if (!ok) error = std::string("journal: ") + std::strerror(errno_ ? errno_ : errno);
  if (failed_) ::close(fd_);
  fd_ = -1;
  return ok;
}

}  // namespace cascade
