// libFuzzer target: the event decoder and the text form over arbitrary bytes.
// Asserts: the reader never returns an event outside the buffer or of the wrong size, stops
// at the first bad message with an offset inside the buffer, and an event file image that
// dumps to text encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cascade/event_buffer.hpp"
#include "cascade/event_file.hpp"
#include "cascade/event_reader.hpp"
#include "cascade/text_format.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "decoder_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cascade;
  // EventReader needs 8-byte alignment, as files mapped or read by the tools have.
  std::vector<std::uint64_t> words((size + 7) / 8);
  if (size) std::memcpy(words.data(), data, size);
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(words.data()), size);

  // The bare stream.
  EventReader reader(bytes);
  EventView ev;
  std::size_t offset = 0;
  while (reader.next(ev)) {
    check(ev.data() == bytes.data() + offset, "event not where the previous one ended");
    check(ev.size() == wire::message_size(ev.type()) && ev.size() % 8 == 0, "event of the wrong size");
    check(offset + ev.size() <= size, "event beyond the buffer");
    check(ev.header().reserved == 0 && (ev.header().flags & ~wire::header_flags::kAll) == 0, "bad header accepted");
    offset += ev.size();
  }
  check(reader.offset() == offset, "reader offset");
  if (reader.ok()) {
    check(offset == size, "clean end with bytes left over");
  } else {
    check(reader.error().offset == offset && reader.error().offset <= size, "error offset");
    check(!reader.error().message().empty(), "error message");
    check(!reader.next(ev), "reader continued after an error");
  }

  // As a file image: the header, then the text form and back.
  wire::FileHeader header;
  ReadError err;
  if (parse_file_header(bytes, header, err)) {
    std::string text, error;
    if (text::dump(bytes, text, error)) {
      EventBuffer again;
      std::string encode_error;
      check(text::encode(text, again, encode_error), "a dumped file does not encode");
      check(again.size() == size && std::memcmp(again.bytes().data(), bytes.data(), size) == 0,
            "dump then encode changed the bytes");
    }
  }
  return 0;
}
