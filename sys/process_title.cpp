#include "sys/process_title.hpp"

#include <algorithm>
#include <cstring>

namespace mk::sys {

namespace {

// The arguments lie one after the other in one block of the process's memory; the kernel
// reads /proc/PID/cmdline from that block.
char* first = nullptr;
std::size_t room = 0;

}  // namespace

void keep_arguments(int argc, char** argv) {
  if (argc < 1 || argv == nullptr || argv[0] == nullptr) return;
  first = argv[0];
  char* end = argv[0] + std::strlen(argv[0]);
  for (int i = 1; i < argc; ++i) {
    if (argv[i] != end + 1) break;  // not contiguous: use only what is
    end = argv[i] + std::strlen(argv[i]);
  }
  room = static_cast<std::size_t>(end - first);
}

void set_process_title(std::string_view title) {
  if (first == nullptr) return;
  const auto n = std::min(title.size(), room);
  std::memcpy(first, title.data(), n);
  std::memset(first + n, 0, room - n + 1);
}

}  // namespace mk::sys
