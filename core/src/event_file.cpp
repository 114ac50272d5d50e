#include "cascade/event_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cascade {

bool parse_file_header(std::span<const std::byte> bytes, wire::FileHeader& out, ReadError& err) noexcept {
  err = {};
  if (bytes.size() < sizeof(wire::FileHeader)) {
    err = {DecodeError::BadFileHeader, 0};
    return false;
  }
  std::memcpy(&out, bytes.data(), sizeof out);
  if (std::memcmp(out.magic, wire::kMagic, sizeof out.magic) != 0 || out.version != wire::kFormatVersion ||
      out.header_size != sizeof(wire::FileHeader) ||
      (out.kind != wire::StreamKind::Input && out.kind != wire::StreamKind::Output)) {
    err = {DecodeError::BadFileHeader, 0};
    return false;
  }
  return true;
}

wire::FileHeader make_file_header(wire::StreamKind kind, Timestamp created_ns, std::string_view creator) noexcept {
  wire::FileHeader h{};
  std::memcpy(h.magic, wire::kMagic, sizeof h.magic);
  h.version = wire::kFormatVersion;
  h.header_size = sizeof(wire::FileHeader);
  h.kind = kind;
  h.created_ns = created_ns;
  if (!creator.empty()) std::memcpy(h.creator, creator.data(), std::min(creator.size(), sizeof h.creator - 1));
  return h;
}

namespace {
std::string header_problem(std::span<const std::byte> bytes) {
  wire::FileHeader h{};
  if (bytes.size() < sizeof h)
    return "file is " + std::to_string(bytes.size()) + " bytes, shorter than the 64-byte file header";
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, wire::kMagic, sizeof h.magic) != 0) return "not a cascade event file (bad magic)";
  if (h.version != wire::kFormatVersion)
    return "unsupported format version " + std::to_string(h.version) + " (this build reads version " +
           std::to_string(wire::kFormatVersion) + ")";
  if (h.header_size != sizeof h) return "bad file header size " + std::to_string(h.header_size);
  return "bad stream kind " + std::to_string(static_cast<int>(h.kind));
}
}  // namespace

MappedFile::~MappedFile() { reset(); }

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

void MappedFile::reset() noexcept {
  if (data_ && size_) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

bool MappedFile::open(const std::string& path, std::string& error) {
  reset();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    ::close(fd);
    return false;
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      error = path + ": mmap failed: " + std::strerror(errno);
      ::close(fd);
      size_ = 0;
      return false;
    }
    ::madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return true;
}

bool EventFile::open(const std::string& path, std::string& error) {
  if (!map_.open(path, error)) return false;
  if (!open_buffer(map_.bytes(), error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool EventFile::open_buffer(std::span<const std::byte> bytes, std::string& error) {
  ReadError err;
  if (!parse_file_header(bytes, header_, err)) {
    error = "offset 0: " + header_problem(bytes);
    return false;
  }
  bytes_ = bytes;
  return true;
}

EventFileWriter::~EventFileWriter() {
  std::string ignored;
  close(ignored);
}

bool EventFileWriter::open(const std::string& path, const wire::FileHeader& header, std::string& error) {
  if (path == "-") {
    f_ = stdout;
    owns_ = false;
  } else {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) {
      error = path + ": " + std::strerror(errno);
      return false;
    }
    owns_ = true;
  }
  failed_ = false;
  written_ = 0;
  buf_.clear();
  buf_.append(header);
  return true;
}

void EventFileWriter::flush_buffer() {
  if (!f_) return;
  if (buf_.size() && std::fwrite(buf_.bytes().data(), 1, buf_.size(), f_) != buf_.size()) failed_ = true;
  written_ += buf_.size();
  buf_.clear();
}

bool EventFileWriter::close(std::string& error) {
  if (!f_) return !failed_;
  flush_buffer();
  if (std::fflush(f_) != 0) failed_ = true;
  if (owns_ && std::fclose(f_) != 0) failed_ = true;
  f_ = nullptr;
  if (failed_) error = std::string("write failed: ") + std::strerror(errno);
  return !failed_;
}

}  // namespace cascade
