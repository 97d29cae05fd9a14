#include "sys/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sys/unique_fd.hpp"

namespace mk::sys {

namespace {

namespace fs = std::filesystem;

result<> write_all(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("write " + path.string(), n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

/// The temporary file, complete and on disk.
result<> write_temporary(const fs::path& tmp, std::string_view bytes, mode_t mode, bool durable) {
  const unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return fail_errno("create " + tmp.string(), errno);
  // A temporary file that a crash left keeps its old mode through O_TRUNC, and the umask
  // narrows a new one: the mode asked, exactly, before a byte is written.
  if (::fchmod(fd.get(), mode) != 0) return fail_errno("chmod " + tmp.string(), errno);
  if (auto w = write_all(fd.get(), bytes, tmp); !w) return w;
  if (durable && ::fsync(fd.get()) != 0) return fail_errno("fsync " + tmp.string(), errno);
  return {};
}

}  // namespace

result<> write_file_atomically(const fs::path& path, std::string_view bytes, mode_t mode,
                               existing if_exists, survives what) {
  auto tmp = path;
  tmp += ".tmp";
  const bool durable = what == survives::power_loss;
  auto done = write_temporary(tmp, bytes, mode, durable);
  if (done) {
    const bool replace = if_exists == existing::replace;
    if ((replace ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str())) != 0)
      done = fail_errno((replace ? "rename " + tmp.string() + " to " : "create ") + path.string(),
                        errno);
  }
  // Renamed, the temporary file is gone; linked or failed, it goes now.
  if (!done || if_exists == existing::keep) ::unlink(tmp.c_str());
  if (!done || !durable) return done;
  const auto dir = path.parent_path();
  return fsync_dir(dir.empty() ? fs::path(".") : dir);
}

result<> fsync_dir(const fs::path& dir) {
  const unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + dir.string(), errno);
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + dir.string(), errno);
  return {};
}

result<std::string> read_secret_file(const std::filesystem::path& path, std::string_view what) {
  const auto named = std::string(what) + " " + path.string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail_errno(named, errno);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(EACCES, named + " may be read by others (mode " + mode +
                            "): it holds secrets; chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail_errno(named, errno ? errno : EIO);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace mk::sys
