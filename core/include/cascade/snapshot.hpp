// Snapshots: the engine's whole state as a versioned binary file, and its restore.
//
// The format is semantic, not a memory image: records of the configuration, instruments
// (definition, last trade, index, mark and what was last published), accounts (collateral,
// mode and role), position records (size, entry value, isolated margin, margin mode), live
// orders in book queue order (price levels, then stop triggers), each account's orders in
// acceptance order, the margin and liquidation totals, the clock and the output sequence
// number. Restore rebuilds every internal structure (pool, indexes, ladders, bitmaps, watch
// heaps) from them, so a snapshot survives changes of the engine's internal layout.
// Byte-by-byte description: docs/snapshots.md.
//
// Recovery: restore the latest snapshot, then replay the input journal from the event after
// `info.input_events`; the output from there equals the original output byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cascade/engine.hpp"
#include "cascade/types.hpp"

namespace cascade {

inline constexpr char kSnapshotMagic[8] = {'C', 'A', 'S', 'C', 'S', 'N', 'A', 'P'};
inline constexpr std::uint16_t kSnapshotVersion = 1;

// Where in the input the snapshot was taken (the engine does not count its input).
struct SnapshotInfo {
  std::uint64_t input_events = 0;  // input events processed: the journal resumes after these
  SeqNo last_input_seq = 0;        // header.seq of the last of them (0: none)
};

// Appends the snapshot of `engine` (between two input events) to out.
void save_snapshot(const Engine& engine, const SnapshotInfo& info, std::vector<std::byte>& out);

// A new engine with the snapshot's configuration and state. nullptr with a message when the
// bytes are not a snapshot this build reads (magic, version, checksum, a record that does not
// fit the configuration).
std::unique_ptr<Engine> restore_snapshot(std::span<const std::byte> bytes, SnapshotInfo& info, std::string& error);

// Files: written to PATH.tmp, fsynced, then renamed over PATH, so a crash leaves either the
// old snapshot or the new one.
bool write_snapshot_file(const std::string& path, const Engine& engine, const SnapshotInfo& info, std::string& error);
std::unique_ptr<Engine> read_snapshot_file(const std::string& path, SnapshotInfo& info, std::string& error);

}  // namespace cascade
