#include "support/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include "sys/unique_fd.hpp"

namespace mk::test {

using sys::unique_fd;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_sparse_file(const std::filesystem::path& path, std::uint64_t size,
                       const std::vector<byte_range>& data, std::uint64_t seed) {
  const auto fail = [&](const char* what) {
    throw std::system_error(errno, std::generic_category(),
                            std::string(what) + " " + path.string());
  };
  const unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) fail("open");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail("ftruncate");

  std::mt19937_64 random(seed);
  std::vector<std::uint64_t> buf((1 << 20) / sizeof(std::uint64_t));
  for (const auto& r : data) {
    for (std::uint64_t done = 0; done < r.length;) {
      std::generate(buf.begin(), buf.end(), std::ref(random));
      const std::size_t n = std::min<std::uint64_t>(buf.size() * sizeof(buf[0]), r.length - done);
      const ssize_t w = ::pwrite(fd.get(), buf.data(), n, static_cast<off_t>(r.offset + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail("pwrite");
      done += static_cast<std::uint64_t>(w);
    }
  }
  if (::fsync(fd.get()) != 0) fail("fsync");
}

std::uint64_t allocated_bytes(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::system_error(errno, std::generic_category(), "stat " + path.string());
  }
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

}  // namespace mk::test
