#include "cmd/folder_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "config/defaults.hpp"

namespace mk::cmd {

namespace {

/// The pid that the holder wrote, for the message; empty if it cannot be read.
std::string holder_of(int fd) {
  char buf[32] = {};
  const auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

expected<folder_lock, std::string> folder_lock::take(const std::filesystem::path& folder,
                                                     std::string_view role,
                                                     std::chrono::milliseconds wait) {
  std::error_code ec;
  if (std::filesystem::create_directories(folder, ec)) ::chmod(folder.c_str(), 0700);
  if (ec) return unexpected(folder.string() + ": " + ec.message());
  const auto path = folder / (std::string(role) + ".lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return unexpected(path.string() + ": " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  int taken;
  while ((taken = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(defaults::nodes::lock_retry);
  if (taken != 0) {
    const int err = errno;
    const auto pid = holder_of(fd);
    ::close(fd);
    if (err == EWOULDBLOCK)
      return unexpected(folder.string() + " is in use by another migratekit " + std::string(role) +
                        (pid.empty() ? "" : " (pid " + pid + ")") +
                        ": stop it first, or wait until it has shut down");
    return unexpected(path.string() + ": " + std::strerror(err));
  }
  const auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return unexpected(path.string() + ": " + std::strerror(err));
  }
  return folder_lock(fd);
}

folder_lock::folder_lock(folder_lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

folder_lock& folder_lock::operator=(folder_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

folder_lock::~folder_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mk::cmd
