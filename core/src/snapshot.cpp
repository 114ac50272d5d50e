// Snapshot files: a 32-byte header, the records SnapshotAccess (engine.cpp) writes, and an
// end record with the FNV-1a 64 of everything before it (docs/snapshots.md).
#include "cascade/snapshot.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cascade/digest.hpp"
#include "cascade/event_file.hpp"
#include "snapshot_codec.hpp"

namespace cascade {

namespace {

struct Header {
  char magic[8];
  std::uint16_t version;
  std::uint16_t header_size;
  std::uint32_t reserved;
  std::uint64_t input_events;
  SeqNo last_input_seq;
};
static_assert(sizeof(Header) == 32);

}  // namespace

void save_snapshot(const Engine& engine, const SnapshotInfo& info, std::vector<std::byte>& out) {
  const std::size_t start = out.size();
  Header h{};
  std::memcpy(h.magic, kSnapshotMagic, sizeof h.magic);
  h.version = kSnapshotVersion;
  h.header_size = sizeof h;
  h.input_events = info.input_events;
  h.last_input_seq = info.last_input_seq;
  snap::Writer w(out);
  w.raw(&h, sizeof h);
  SnapshotAccess::save(engine, w);
  Fnv1a64 sum;
  sum.update(std::span<const std::byte>(out).subspan(start));
  w.begin(snap::kEnd);
  w.put(sum.value());
  w.end();
}

std::unique_ptr<Engine> restore_snapshot(std::span<const std::byte> bytes, SnapshotInfo& info, std::string& error) {
  Header h{};
  if (bytes.size() < sizeof h) {
    error = "shorter than a snapshot header";
    return nullptr;
  }
  std::memcpy(&h, bytes.data(), sizeof h);
  if (std::memcmp(h.magic, kSnapshotMagic, sizeof h.magic) != 0) {
    error = "not a cascade snapshot (bad magic)";
    return nullptr;
  }
  if (h.version != kSnapshotVersion || h.header_size != sizeof h) {
    error = "unsupported snapshot version " + std::to_string(h.version) + " (this build reads version " +
            std::to_string(kSnapshotVersion) + ")";
    return nullptr;
  }
  // The end record closes the file: 8 bytes of record header, 8 of checksum.
  constexpr std::size_t kEndSize = 16;
  if (bytes.size() < sizeof h + kEndSize) {
    error = "truncated snapshot";
    return nullptr;
  }
  const std::size_t body = bytes.size() - kEndSize;
  snap::Reader end(bytes.subspan(body));
  std::uint16_t tag = 0;
  snap::Reader payload;
  std::uint64_t sum = 0;
  Fnv1a64 check;
  check.update(bytes.first(body));
  if (!end.next(tag, payload) || tag != snap::kEnd || !payload.get(sum) || sum != check.value()) {
    error = "snapshot checksum mismatch (truncated or damaged)";
    return nullptr;
  }
  snap::Reader records(bytes.subspan(sizeof h, body - sizeof h));
  EngineConfig c;
  std::uint8_t liquidation = 1;
  if (!records.next(tag, payload) || tag != snap::kConfig || !payload.get(c.max_instruments) ||
      !payload.get(c.max_accounts) || !payload.get(c.max_orders) || !payload.get(c.max_levels_per_book) ||
      !payload.get(c.max_positions) || !payload.get(liquidation)) {
    error = "snapshot without its configuration record";
    return nullptr;
  }
  c.liquidation = liquidation != 0;
  std::unique_ptr<Engine> engine;
  try {
    engine = std::make_unique<Engine>(c);
  } catch (const std::bad_alloc&) {
    error = "cannot allocate an engine of the snapshot's capacities";
    return nullptr;
  }
  if (!SnapshotAccess::restore(*engine, records, error)) return nullptr;
  info.input_events = h.input_events;
  info.last_input_seq = h.last_input_seq;
  return engine;
}

bool write_snapshot_file(const std::string& path, const Engine& engine, const SnapshotInfo& info, std::string& error) {
  std::vector<std::byte> bytes;
  save_snapshot(engine, info, bytes);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = tmp + ": " + std::strerror(errno);
    return false;
  }
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  bool ok = true;
  while (ok && n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) ok = false; else p += w, n -= static_cast<std::size_t>(w);
  }
  if (!ok || ::fsync(fd) != 0) {
    error = tmp + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::unique_ptr<Engine> read_snapshot_file(const std::string& path, SnapshotInfo& info, std::string& error) {
  MappedFile map;
  if (!map.open(path, error)) return nullptr;
  std::unique_ptr<Engine> e = restore_snapshot(map.bytes(), info, error);
  if (!e) error = path + ": " + error;
  return e;
}

}  // namespace cascade
