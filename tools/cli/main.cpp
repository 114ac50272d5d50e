// cascade: command-line front end of the engine. Dispatches to one subcommand per file.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "cascade/wire.hpp"
#include "cli/commands.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"encode", cmd_encode, "text form -> event file"},
    {"dump", cmd_dump, "event file -> text form"},
    {"replay", cmd_replay, "run the engine over an input file; report and output stream"},
    {"book", cmd_book, "run the engine and print the order book (text or LOBSTER rows)"},
    {"accounts", cmd_accounts, "run the engine and print every account: collateral, positions, margin"},
    {"gen", cmd_gen, "generate a crash, calm or squeeze scenario as an input event file"},
    {"convert", cmd_convert, "foreign market data (LOBSTER, ITCH) -> input event file"},
    {"verify", cmd_verify, "replay checking every invariant after every event"},
    {"serve", cmd_serve, "run the threaded pipeline as a primary: journal, engine, output"},
    {"snapshot", cmd_snapshot, "run the engine over the first N events and write its state"},
    {"recover", cmd_recover, "restore a snapshot and replay the rest of a journal"},
    {"follow", cmd_follow, "tail a journal and replay it (hot standby; recovery with --idle-ms 0)"},
};

void print_help(std::FILE* out) {
  std::fprintf(out,
               "usage: cascade <command> [options]\n"
               "\n"
               "commands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\n"
               "'cascade <command> --help' describes a command. Exit status: 0 success,\n"
               "1 bad or unreadable data, 2 bad usage (verify: 3 an invariant violated).\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    if (cmd == "help" && argc > 2) {
      for (const Command& c : kCommands)
        if (argv[2] == std::string_view(c.name)) {
          char help[] = "--help";
          char* args[] = {argv[2], help, nullptr};
          return c.run(2, args);
        }
      std::fprintf(stderr, "cascade: unknown command '%s'\n", argv[2]);
      return 2;
    }
    print_help(stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("cascade %s (event format v%u)\nbuilt with %s\n", CASCADE_VERSION, unsigned{cascade::wire::kFormatVersion},
                CASCADE_BUILD_INFO);
    return 0;
  }
  for (const Command& c : kCommands)
    if (cmd == c.name) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "cascade: unknown command '%s'\nTry 'cascade --help'.\n", argv[1]);
  return 2;
}
