#include "cli/replay_threads.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include "cascade/digest.hpp"

namespace cascade::cli {

bool parse_threaded_options(const Args& args, ThreadedOptions& out, std::string& error) {
  if (args.has("batch") && !parse_count(args.value("batch"), 1, 1u << 20, out.batch)) {
    error = "--batch: expected a count of events from 1 to 1048576";
    return false;
  }
  if (args.has("rate") && !parse_count(args.value("rate"), 1, 1'000'000'000, out.rate)) {
    error = "--rate: expected events per second from 1 to 1000000000";
    return false;
  }
  out.pipeline.wait = args.has("spin") ? WaitMode::Spin : WaitMode::Block;
  if (args.has("pin")) {  // --pin ENGINE_CPU[,OUTPUT_CPU]
    const std::string v = args.value("pin");
    const std::size_t comma = v.find(',');
    std::uint64_t a = 0, b = 0;
    if (!parse_count(v.substr(0, comma), 0, 1023, a) ||
        (comma != std::string::npos && !parse_count(v.substr(comma + 1), 0, 1023, b))) {
      error = "--pin: expected ENGINE_CPU or ENGINE_CPU,OUTPUT_CPU";
      return false;
    }
    out.pipeline.engine_cpu = static_cast<int>(a);
    out.pipeline.output_cpu = comma == std::string::npos ? -1 : static_cast<int>(b);
  }
  out.pipeline.journal_path = args.value("journal");
  out.pipeline.snapshot_path = args.value("snapshot");  // cascade serve only
  if (args.has("snapshot-every") && !parse_count(args.value("snapshot-every"), 1, UINT64_MAX, out.pipeline.snapshot_every)) {
    error = "--snapshot-every: expected a count of events";
    return false;
  }
  if (args.has("durability") && !parse_durability(args.value("durability"), out.pipeline.durability)) {
    error = "--durability: expected none, flush or fsync";
    return false;
  }
  return true;
}

bool replay_threaded(const EventFile& file, const ThreadedOptions& options, ThreadedReplay& out, std::string& error) {
  Fnv1a64 digest;
  Pipeline pipeline(Engine(options.engine), options.pipeline, [&digest, &options](std::span<const std::byte> b) {
    digest.update(b);
    if (options.sink) options.sink(b);
  });
  if (!pipeline.start(error)) return false;
  EventReader r = file.reader();
  const std::byte* begin = nullptr;
  const std::byte* end = nullptr;
  std::uint64_t n = 0, sent = 0;
  bool ok = true;
  const auto t0 = std::chrono::steady_clock::now();
  for (EventView ev; r.next(ev);) {  // events are contiguous in the file: submit runs of them
    if (!begin) begin = ev.data();
    end = ev.data() + ev.size();
    if (++n == options.batch) {
      if (options.rate) {  // paced: wait for this batch's time slot; sleep while it is far
        const auto due = t0 + std::chrono::nanoseconds(sent * 1'000'000'000ull / options.rate);
        while (std::chrono::steady_clock::now() + std::chrono::microseconds(200) < due)
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        while (std::chrono::steady_clock::now() < due) {
        }
      }
      sent += n;
      ok = ok && pipeline.submit({begin, end}, error);
      begin = nullptr;
      n = 0;
    }
  }
  if (begin) ok = ok && pipeline.submit({begin, end}, error);
  out.stats = pipeline.finish();
  out.digest = digest.value();
  if (ok && !out.stats.journal_ok) {
    error = out.stats.journal_error;
    ok = false;
  }
  if (ok && !out.stats.snapshot_error.empty()) {
    error = out.stats.snapshot_error;
    ok = false;
  }
  return ok;
}

namespace {
double per_second(std::uint64_t events, std::uint64_t ns) {
  return ns ? static_cast<double>(events) * 1e9 / static_cast<double>(ns) : 0.0;
}
double us(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }
const char* mode(const ThreadedOptions& o) { return o.pipeline.wait == WaitMode::Spin ? "spin" : "block"; }
}  // namespace

void text_threaded(std::string& out, const ThreadedOptions& o, const ThreadedReplay& r, std::uint64_t single_digest) {
  const PipelineStats& s = r.stats;
  char buf[256];
  std::snprintf(buf, sizeof buf, "threaded        3 threads, %s wait, batches of %llu events, %s%s%s\n", mode(o),
                static_cast<unsigned long long>(o.batch),
                o.rate ? ("paced at " + std::to_string(o.rate) + " events/s").c_str() : "unpaced",
                o.pipeline.journal_path.empty() ? "" : ", journal ",
                o.pipeline.journal_path.empty() ? "" : durability_name(o.pipeline.durability));
  out += buf;
  out += "  output digest fnv1a64:" + digest_hex(r.digest) + (r.digest == single_digest ? " (same)\n" : " (DIFFERENT)\n");
  std::snprintf(buf, sizeof buf,
                "  wall time     %.3f ms\n  end to end    %.0f events/s\n  engine busy   %.3f ms (%.0f events/s)\n",
                static_cast<double>(s.wall_ns) / 1e6, per_second(s.events_in, s.wall_ns),
                static_cast<double>(s.engine_busy_ns) / 1e6, per_second(s.events_in, s.engine_busy_ns));
  out += buf;
  if (!o.pipeline.journal_path.empty()) {
    std::snprintf(buf, sizeof buf, "  journal       %.3f ms\n", static_cast<double>(s.journal_ns) / 1e6);
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                "  latency       p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%llu samples)\n",
                us(s.latency.p50), us(s.latency.p90), us(s.latency.p99), us(s.latency.p999), us(s.latency.max),
                static_cast<unsigned long long>(s.latency.samples));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "  input queue   %llu batches, %llu stalls, %.3f ms stalled\n"
                "  output queue  %llu batches, %llu stalls, %.3f ms stalled\n",
                static_cast<unsigned long long>(s.input.batches), static_cast<unsigned long long>(s.input.stalls),
                static_cast<double>(s.input.stall_ns) / 1e6, static_cast<unsigned long long>(s.output.batches),
                static_cast<unsigned long long>(s.output.stalls), static_cast<double>(s.output.stall_ns) / 1e6);
  out += buf;
}

void json_threaded(std::string& out, const ThreadedOptions& o, const ThreadedReplay& r, std::uint64_t single_digest) {
  const PipelineStats& s = r.stats;
  const auto n = [](std::uint64_t v) { return std::to_string(v); };
  out += ",\"threaded\":{\"wait\":\"" + std::string(mode(o)) + "\",\"batch\":" + n(o.batch) + ",\"rate\":" + n(o.rate) +
         ",\"digest\":\"fnv1a64:" + digest_hex(r.digest) + "\",\"same_digest\":" +
         (r.digest == single_digest ? "true" : "false") + ",\"wall_ns\":" + n(s.wall_ns) +
         ",\"events_per_second\":" + n(static_cast<std::uint64_t>(per_second(s.events_in, s.wall_ns))) +
         ",\"engine_busy_ns\":" + n(s.engine_busy_ns) + ",\"journal_ns\":" + n(s.journal_ns) +
         ",\"latency_ns\":{\"samples\":" + n(s.latency.samples) + ",\"p50\":" + n(s.latency.p50) +
         ",\"p90\":" + n(s.latency.p90) + ",\"p99\":" + n(s.latency.p99) + ",\"p999\":" + n(s.latency.p999) +
         ",\"max\":" + n(s.latency.max) + "},\"input_queue\":{\"batches\":" + n(s.input.batches) +
         ",\"stalls\":" + n(s.input.stalls) + ",\"stall_ns\":" + n(s.input.stall_ns) +
         "},\"output_queue\":{\"batches\":" + n(s.output.batches) + ",\"stalls\":" + n(s.output.stalls) +
         ",\"stall_ns\":" + n(s.output.stall_ns) + "}}";
}

}  // namespace cascade::cli
