#include "agent/mover/proc_identity.hpp"

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

#include "sys/pidfd.hpp"

namespace mk::vma {

result<std::uint64_t> read_start_time(pid_t pid) {
  if (pid <= 0) return fail(errc::invalid, "pid " + std::to_string(pid) + " is not a process");
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  if (!in) return fail(errc::not_running, "pid " + std::to_string(pid) + ": no such process");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
  // The command name (field 2) is in parentheses and may itself hold spaces and ')': the
  // fields resume after the last ')'. Field 3 comes first there, so field 22 is the 20th.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return fail(errc::system, path + ": unexpected format");
  std::size_t pos = close + 1;
  for (int field = 3; field < 22; ++field) {
    pos = stat.find(' ', pos + 1);
    if (pos == std::string::npos) return fail(errc::system, path + ": too few fields");
  }
  std::uint64_t ticks = 0;
  const char* begin = stat.data() + pos + 1;
  const auto [end, ec] = std::from_chars(begin, stat.data() + stat.size(), ticks);
  if (ec != std::errc() || end == begin) return fail(errc::system, path + ": bad start time");
  return ticks;
}

result<sys::unique_fd> open_identified(const proc_identity& id) {
  if (id.pid <= 0)
    return fail(errc::invalid, "pid " + std::to_string(id.pid) + " is not a process");
  const std::string who = "pid " + std::to_string(id.pid);
  auto fd = sys::open_pidfd(id.pid);
  if (!fd) {
    if (fd.error().code == ESRCH) return fail(errc::not_running, who + ": no such process");
    return fail(errc::system, fd.error().message);
  }
  auto start = read_start_time(id.pid);
  if (!start) return std::unexpected(std::move(start.error()));
  if (*start != id.start_time) {
    return fail(errc::not_running, who + " was reused: started at tick " + std::to_string(*start) +
                                       ", not " + std::to_string(id.start_time));
  }
  auto exited = sys::pidfd_exited(fd->get());
  if (!exited) return fail(errc::system, exited.error().message);
  if (*exited) return fail(errc::not_running, who + ": has exited");
  return std::move(*fd);
}

}  // namespace mk::vma
