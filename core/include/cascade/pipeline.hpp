// The engine on its own thread between two single-producer single-consumer byte queues
// (Boost.Lockfree spsc_queue):
//
//   producer thread ──submit()──▶ [input queue] ──▶ engine thread ──▶ [output queue] ──▶ output thread ──▶ sink
//   (host gateway,                                 journal, ack,                         (file writer,
//    file reader)                                  Engine::process                        host callback)
//
// Bytes move in bulk: each side pops whatever is queued (up to the queue's size) in one
// operation and processes it as a batch. A full queue never drops anything: the side that
// pushes waits, and the waits are counted and timed (PipelineStats). docs/embedding.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "cascade/engine.hpp"
#include "cascade/journal.hpp"

namespace cascade {

enum class WaitMode : std::uint8_t {
  Spin,   // a waiting thread spins (lowest latency; burns its core)
  Block,  // spins briefly, then sleeps on a futex until the other side signals
};

struct PipelineConfig {
  std::size_t input_queue_bytes = 1 << 20;   // capacity of each queue; a batch is at most this
  std::size_t output_queue_bytes = 4 << 20;
  // The engine takes at most this many input bytes per batch (one journal commit, one push
  // of output): larger batches amortize the journal's commit, smaller ones let output flow
  // sooner.
  std::size_t max_batch_bytes = 64 << 10;
  WaitMode wait = WaitMode::Block;
  int engine_cpu = -1;  // pin the engine thread to this CPU (-1: not pinned)
  int output_cpu = -1;  // pin the output thread
  // Empty: no journal. Otherwise every input event is appended here, and committed under
  // `durability`, before the engine processes it (Journal::open appends to an existing file).
  std::string journal_path;
  Durability durability = Durability::Flush;
  // Non-empty: the engine thread writes a snapshot (cascade/snapshot.hpp) here after the first
  // batch that brings it `snapshot_every` input events past the last one, between two events;
  // it records the journal position (events journaled, or submitted without a journal).
  // Writing stalls the engine thread (reported as snapshot_ns).
  std::string snapshot_path;
  std::uint64_t snapshot_every = 1'000'000;
  // Latency is sampled on every n-th submit() call (0: never).
  std::uint32_t latency_sample_every = 1;
};

// Producer-side waits of one queue: how often the pushing side found it full, and for how long.
struct QueueStats {
  std::uint64_t bytes = 0;     // pushed through
  std::uint64_t batches = 0;   // pops that returned data
  std::uint64_t stalls = 0;    // pushes that found the queue full
  std::uint64_t stall_ns = 0;  // time the pusher spent waiting for room
};

struct LatencyStats {  // submit() to the sink receiving the event's output, in ns
  std::uint64_t samples = 0;
  std::uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

struct PipelineStats {
  std::uint64_t events_in = 0;
  std::uint64_t events_out = 0;
  std::uint64_t output_bytes = 0;
  std::uint64_t wall_ns = 0;         // start() to the sink's last call
  std::uint64_t engine_busy_ns = 0;  // the engine thread's time in Engine::process
  std::uint64_t journal_ns = 0;      // the engine thread's time appending and committing
  std::uint64_t snapshots = 0;       // snapshots written
  std::uint64_t snapshot_ns = 0;     // the engine thread's time writing them
  QueueStats input;                  // stalls: submit() waiting for the engine
  QueueStats output;                 // stalls: the engine waiting for the output thread
  LatencyStats latency;
  bool journal_ok = true;
  std::string journal_error;
  std::string snapshot_error;  // the first failure to write a snapshot, if any
};

class Pipeline {
 public:
  // Receives whole output events, in order, on the output thread; one call per batch.
  using Sink = std::function<void(std::span<const std::byte>)>;

  Pipeline(Engine engine, const PipelineConfig& config, Sink sink);
  ~Pipeline();  // finishes if still running
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Opens the journal and starts the engine and output threads. False with a message.
  bool start(std::string& error);

  // From one producer thread: whole, well-formed input events (8-byte aligned, as an
  // EventReader returns them). Waits while the input queue is full. False, having queued
  // nothing of them, if a message is malformed (error says which).
  bool submit(std::span<const std::byte> events, std::string& error);

  // Input events that have been journaled and committed under the durability policy (all
  // submitted events the engine has taken, without a journal). Any thread.
  std::uint64_t acknowledged() const noexcept;

  // Closes the input, lets the engine and output threads drain, joins them.
  PipelineStats finish();

  // The engine, for queries: only before start() or after finish().
  Engine& engine() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade
