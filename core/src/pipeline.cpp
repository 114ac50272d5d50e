#include "cascade/pipeline.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "cascade/event_buffer.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/snapshot.hpp"

namespace cascade {

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Wakes the one thread that may wait on it. Under WaitMode::Spin nobody ever sleeps, so
// notify() costs a fence and a load. Under Block the waiter announces itself, then re-checks
// its condition; the fences on both sides order "announce / re-check" against "publish /
// look for a waiter", so a wake-up is never lost.
class Signal {
 public:
  void notify() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (waiting_.load(std::memory_order_relaxed)) {
      epoch_.fetch_add(1, std::memory_order_release);
      futex(FUTEX_WAKE_PRIVATE, 1);
    }
  }

  template <class Ready>
  void wait(WaitMode mode, Ready ready) noexcept {
    for (std::uint32_t spins = 0;; ++spins) {
      if (ready()) return;
      if (mode == WaitMode::Spin || spins < 256) {
        cpu_relax();
        continue;
      }
      const std::uint32_t e = epoch_.load(std::memory_order_acquire);
      waiting_.store(true, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!ready()) futex(FUTEX_WAIT_PRIVATE, e);  // returns at once if the epoch moved on
      waiting_.store(false, std::memory_order_relaxed);
    }
  }

 private:
  // The futex directly: std::atomic::wait in libstdc++ 12 adds its own spinning and waiter
  // bookkeeping around it.
  void futex(int op, std::uint32_t val) noexcept {
    static_assert(sizeof(epoch_) == 4 && std::atomic<std::uint32_t>::is_always_lock_free);
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&epoch_), op, val, nullptr, nullptr, 0);
  }

  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<bool> waiting_{false};
};

// A byte queue between two threads, with the signals each side waits on.
class Channel {
 public:
  Channel(std::size_t capacity, WaitMode mode) : q_(capacity), mode_(mode) {}

  // Producer: pushes all n bytes, waiting for room as often as needed.
  void push_all(const std::byte* p, std::size_t n) noexcept {
    stats.bytes += n;
    while (n > 0) {
      const std::size_t k = q_.push(p, n);
      p += k;
      n -= k;
      if (k) data_.notify();
      if (n == 0) break;
      ++stats.stalls;
      const std::uint64_t t0 = now_ns();
      space_.wait(mode_, [&] { return q_.write_available() > 0; });
      stats.stall_ns += now_ns() - t0;
    }
  }

  void close() noexcept {
    closed_.store(true, std::memory_order_release);
    data_.notify();
  }

  // Consumer: up to n bytes, waiting for some; 0 once closed and drained.
  std::size_t pop_wait(std::byte* p, std::size_t n) noexcept {
    for (;;) {
      std::size_t k = q_.pop(p, n);
      if (k == 0 && closed_.load(std::memory_order_acquire)) k = q_.pop(p, n);  // pushed before close
      if (k) {
        ++stats.batches;
        space_.notify();
        return k;
      }
      if (closed_.load(std::memory_order_acquire)) return 0;
      data_.wait(mode_, [&] { return q_.read_available() > 0 || closed_.load(std::memory_order_acquire); });
    }
  }

  QueueStats stats;  // bytes and stalls: producer; batches: consumer (read after both join)

 private:
  boost::lockfree::spsc_queue<std::byte> q_;
  WaitMode mode_;
  std::atomic<bool> closed_{false};
  Signal data_;
  Signal space_;
};

// A latency probe: the position of an event in a byte stream and when it entered the pipeline.
struct Probe {
  std::uint64_t end;  // cumulative bytes up to and including the probed event
  std::uint64_t t_ns;
};

// An 8-byte aligned staging area: bytes popped from a queue, of which a prefix is whole events.
class Stage {
 public:
  explicit Stage(std::size_t capacity) : cap_(capacity + 8), data_(static_cast<std::byte*>(std::aligned_alloc(8, (cap_ + 7) / 8 * 8))) {
    if (!data_) throw std::bad_alloc();
  }
  ~Stage() { std::free(data_); }
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  std::byte* free_space() noexcept { return data_ + size_; }
  std::size_t free_bytes() const noexcept { return cap_ - size_; }
  void grew(std::size_t n) noexcept { size_ += n; }

  // Length of the prefix made of whole events (lengths are trusted: they were validated when
  // submitted, or written by the engine); counts them.
  std::size_t whole(std::uint64_t& events) const noexcept {
    std::size_t off = 0;
    while (size_ - off >= sizeof(wire::MessageHeader)) {
      wire::MessageHeader h;
      std::memcpy(&h, data_ + off, sizeof h);
      if (size_ - off < h.length) break;
      off += h.length;
      ++events;
    }
    return off;
  }
  std::span<const std::byte> bytes(std::size_t n) const noexcept { return {data_, n}; }
  void consume(std::size_t n) noexcept {
    std::memmove(data_, data_ + n, size_ - n);
    size_ -= n;
  }

 private:
  std::size_t cap_;
  std::size_t size_ = 0;
  std::byte* data_;
};

void pin(std::thread& t, int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(t.native_handle(), sizeof set, &set);  // best effort: a bad CPU leaves it unpinned
}

std::uint64_t percentile(std::vector<std::uint64_t>& v, double q) {
  if (v.empty()) return 0;
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

constexpr std::size_t kMaxLatencySamples = 1 << 20;

// At least the largest message, so a partial event always leaves room to complete it.
std::size_t queue_bytes(std::size_t configured) { return std::max<std::size_t>(configured, 1 << 16); }

}  // namespace

struct Pipeline::Impl {
  Impl(Engine&& e, const PipelineConfig& c, Sink s)
      : engine(std::move(e)),
        config(c),
        sink(std::move(s)),
        in(queue_bytes(c.input_queue_bytes), c.wait),
        out(queue_bytes(c.output_queue_bytes), c.wait) {}

  Engine engine;
  PipelineConfig config;
  Sink sink;
  Channel in;
  Channel out;
  boost::lockfree::spsc_queue<Probe, boost::lockfree::capacity<4096>> probes_in;   // producer -> engine
  boost::lockfree::spsc_queue<Probe, boost::lockfree::capacity<4096>> probes_out;  // engine -> output
  Journal journal;
  std::atomic<std::uint64_t> acked{0};
  std::thread engine_thread, output_thread;
  std::unique_ptr<Stage> in_stage, out_stage;  // allocated by start(), on the caller's thread
  bool running = false;

  // producer thread
  std::uint64_t submitted_bytes = 0;
  std::uint64_t submits = 0;
  std::uint64_t start_ns = 0;
  // engine thread
  std::uint64_t events_in = 0, busy_ns = 0, journal_ns = 0;
  bool journal_failed = false;
  std::uint64_t snapshots = 0, snapshot_ns = 0, last_snapshot = 0;
  SeqNo last_seq = 0;
  std::string snapshot_error;
  // output thread
  std::uint64_t events_out = 0, delivered = 0, end_ns = 0;
  std::vector<std::uint64_t> latencies;

  void run_engine() {
    Stage& stage = *in_stage;
    EventBuffer buf(1 << 20);
    std::uint64_t consumed = 0, produced = 0;
    const bool journaled = !config.journal_path.empty();
    // Room for one more whole event beyond the limit, so a batch never ends up empty.
    const std::size_t batch_bytes = std::max<std::size_t>(config.max_batch_bytes, 1 << 16);
    for (;;) {
      const std::size_t k = in.pop_wait(stage.free_space(), std::min(stage.free_bytes(), batch_bytes));
      if (k == 0) break;
      stage.grew(k);
      std::uint64_t n = 0;
      const std::size_t whole = stage.whole(n);
      if (whole == 0) continue;
      const std::span<const std::byte> batch = stage.bytes(whole);
      if (journaled && !journal_failed) {
        const std::uint64_t t0 = now_ns();
        if (!journal.append(batch) || !journal.commit()) journal_failed = true;
        journal_ns += now_ns() - t0;
      }
      // Acknowledged only once journaled; a failing journal acknowledges nothing more, but the
      // engine keeps processing (the host sees the failure in the stats).
      if (!journaled || !journal_failed) acked.store(events_in + n, std::memory_order_release);
      events_in += n;

      const std::uint64_t t0 = now_ns();
      // Validated by submit(); the prefetch stages overlap the cache misses of nearby events.
      engine.process_batch(batch, buf);
      busy_ns += now_ns() - t0;
      last_seq = EventView(batch.data() + last_event_offset(batch)).header().seq;
      if (!config.snapshot_path.empty() && events_in - last_snapshot >= std::max<std::uint64_t>(config.snapshot_every, 1))
        snapshot(journaled);
      consumed += whole;
      stage.consume(whole);

      // Probes whose event was in this batch now point at the end of its output.
      const std::uint64_t out_end = produced + buf.size();
      while (probes_in.read_available() > 0 && probes_in.front().end <= consumed) {
        Probe p = probes_in.front();
        probes_in.pop();
        p.end = out_end;
        probes_out.push(p);  // dropped if full: samples only
      }
      if (!buf.empty()) {
        out.push_all(buf.bytes().data(), buf.size());
        produced += buf.size();
        buf.clear();
      }
    }
    out.close();
  }

  static std::size_t last_event_offset(std::span<const std::byte> batch) noexcept {
    std::size_t off = 0;
    for (std::size_t next = 0; next < batch.size();) {
      off = next;
      next += EventView(batch.data() + next).size();
    }
    return off;
  }

  void snapshot(bool journaled) {
    const std::uint64_t t0 = now_ns();
    // The journal position, so that recovery replays the journal from the next event.
    const SnapshotInfo info{journaled ? journal.events() : events_in, last_seq};
    std::string error;
    if (write_snapshot_file(config.snapshot_path, engine, info, error)) ++snapshots;
    else if (snapshot_error.empty()) snapshot_error = error;
    last_snapshot = events_in;
    snapshot_ns += now_ns() - t0;
  }

  void run_output() {
    Stage& stage = *out_stage;
    latencies.reserve(std::min<std::size_t>(kMaxLatencySamples, 1 << 16));
    for (;;) {
      const std::size_t k = out.pop_wait(stage.free_space(), stage.free_bytes());
      if (k == 0) break;
      stage.grew(k);
      std::uint64_t n = 0;
      const std::size_t whole = stage.whole(n);
      if (whole == 0) continue;
      if (sink) sink(stage.bytes(whole));
      events_out += n;
      delivered += whole;
      stage.consume(whole);
      take_probes();
    }
    take_probes();
    end_ns = now_ns();
  }

  void take_probes() {
    if (probes_out.read_available() == 0) return;
    const std::uint64_t t = now_ns();
    while (probes_out.read_available() > 0 && probes_out.front().end <= delivered) {
      if (latencies.size() < kMaxLatencySamples) latencies.push_back(t - probes_out.front().t_ns);
      probes_out.pop();
    }
  }
};

Pipeline::Pipeline(Engine engine, const PipelineConfig& config, Sink sink)
    : impl_(std::make_unique<Impl>(std::move(engine), config, std::move(sink))) {}

Pipeline::~Pipeline() {
  if (impl_ && impl_->running) finish();
}

bool Pipeline::start(std::string& error) {
  Impl& m = *impl_;
  if (m.running) {
    error = "pipeline already started";
    return false;
  }
  if (!m.config.journal_path.empty() && !m.journal.open(m.config.journal_path, m.config.durability, error))
    return false;
  m.in_stage = std::make_unique<Stage>(queue_bytes(m.config.input_queue_bytes));
  m.out_stage = std::make_unique<Stage>(queue_bytes(m.config.output_queue_bytes));
  m.acked.store(0, std::memory_order_relaxed);
  m.start_ns = now_ns();
  m.engine_thread = std::thread([&m] { m.run_engine(); });
  m.output_thread = std::thread([&m] { m.run_output(); });
  pin(m.engine_thread, m.config.engine_cpu);
  pin(m.output_thread, m.config.output_cpu);
  m.running = true;
  return true;
}

bool Pipeline::submit(std::span<const std::byte> events, std::string& error) {
  Impl& m = *impl_;
  if (!m.running) {
    error = "pipeline not running";
    return false;
  }
  EventReader r(events);
  for (EventView ev; r.next(ev);) {
  }
  if (!r.ok()) {
    error = r.error().message();
    return false;
  }
  if (events.empty()) return true;
  m.submitted_bytes += events.size();
  if (m.config.latency_sample_every && ++m.submits % m.config.latency_sample_every == 0)
    m.probes_in.push(Probe{m.submitted_bytes, now_ns()});  // before the bytes, so the engine sees it in time
  // A batch larger than the queue goes in pieces; the engine reassembles events across them.
  m.in.push_all(events.data(), events.size());
  return true;
}

std::uint64_t Pipeline::acknowledged() const noexcept { return impl_->acked.load(std::memory_order_acquire); }

PipelineStats Pipeline::finish() {
  Impl& m = *impl_;
  PipelineStats s;
  if (!m.running) return s;
  m.in.close();
  m.engine_thread.join();
  m.output_thread.join();
  m.running = false;
  if (!m.config.journal_path.empty()) {
    std::string err;
    const bool closed = m.journal.close(err);
    s.journal_ok = closed && !m.journal_failed;
    if (!s.journal_ok) s.journal_error = err.empty() ? "journal write failed" : err;
  }
  s.events_in = m.events_in;
  s.events_out = m.events_out;
  s.output_bytes = m.delivered;
  s.wall_ns = m.end_ns - m.start_ns;
  s.engine_busy_ns = m.busy_ns;
  s.journal_ns = m.journal_ns;
  s.snapshots = m.snapshots;
  s.snapshot_ns = m.snapshot_ns;
  s.snapshot_error = m.snapshot_error;
  s.input = m.in.stats;
  s.output = m.out.stats;
  auto& v = m.latencies;
  s.latency.samples = v.size();
  s.latency.p50 = percentile(v, 0.50);
  s.latency.p90 = percentile(v, 0.90);
  s.latency.p99 = percentile(v, 0.99);
  s.latency.p999 = percentile(v, 0.999);
  s.latency.max = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
  return s;
}

Engine& Pipeline::engine() noexcept { return impl_->engine; }

}  // namespace cascade
