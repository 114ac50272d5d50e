// `cascade replay --threads`: the same input through the threaded Pipeline (a reader thread,
// the engine thread, an output thread), reported next to the single-threaded figures.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cascade/event_file.hpp"
#include "cascade/pipeline.hpp"
#include "cli/args.hpp"

namespace cascade::cli {

struct ThreadedOptions {
  std::uint64_t batch = 64;  // input events per submit()
  std::uint64_t rate = 0;    // input events per second the reader paces itself to (0: as fast as it can)
  PipelineConfig pipeline;
  EngineConfig engine;  // the capacities of the single-threaded replay's engine
  Pipeline::Sink sink;  // also receives the output, after the digest (may be empty)
};

struct ThreadedReplay {
  PipelineStats stats;
  std::uint64_t digest = 0;  // of the output stream, as the single-threaded replay computes it
};

// Reads --batch, --rate, --spin, --pin, --journal, --durability, --snapshot, --snapshot-every. False with a message.
bool parse_threaded_options(const Args& args, ThreadedOptions& out, std::string& error);

// Feeds the events of file from this thread; false with a message if the pipeline or its
// journal failed.
bool replay_threaded(const EventFile& file, const ThreadedOptions& options, ThreadedReplay& out, std::string& error);

// Report sections: text lines, or JSON members (each starting with a comma).
void text_threaded(std::string& out, const ThreadedOptions& options, const ThreadedReplay& r, std::uint64_t single_digest);
void json_threaded(std::string& out, const ThreadedOptions& options, const ThreadedReplay& r, std::uint64_t single_digest);

}  // namespace cascade::cli
