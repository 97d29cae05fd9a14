#pragma once

#include <string_view>

namespace mk::sys {

/// Remembers where the kernel put the process's arguments (main's argv), so that
/// set_process_title can write over them later.
void keep_arguments(int argc, char** argv);

/// What /proc/PID/cmdline (and ps) shows for this process from now on, cut to the room the
/// original arguments had. A forked helper uses it so that nothing that looks for a program by
/// its command line takes the helper for its parent. Does nothing before keep_arguments.
void set_process_title(std::string_view title);

}  // namespace mk::sys
