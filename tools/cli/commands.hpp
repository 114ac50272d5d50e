// Subcommands of the `cascade` tool. Each takes its own argv (argv[0] is the subcommand name)
// and returns the process exit code: 0 success, 1 bad or unreadable data, 2 bad usage.
#pragma once

int cmd_encode(int argc, char** argv);
int cmd_dump(int argc, char** argv);
int cmd_replay(int argc, char** argv);
int cmd_book(int argc, char** argv);
int cmd_accounts(int argc, char** argv);  // tools/cli/accounts.cpp: final state of every account
int cmd_convert(int argc, char** argv);  // tools/cli/convert.cpp: foreign feeds -> event files
int cmd_verify(int argc, char** argv);   // tools/cli/verify.cpp: replay checking every invariant
int cmd_gen(int argc, char** argv);  // tools/cli/gen.cpp: crash, calm and squeeze scenarios
int cmd_serve(int argc, char** argv);   // tools/cli/serve.cpp: a journaling primary (threaded pipeline)
int cmd_follow(int argc, char** argv);  // tools/cli/follow.cpp: a follower tailing a journal
int cmd_snapshot(int argc, char** argv);  // tools/cli/snapshot.cpp: engine state after N events
int cmd_recover(int argc, char** argv);   // tools/cli/snapshot.cpp: snapshot + rest of a journal
