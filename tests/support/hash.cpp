#include "support/hash.hpp"

#include <fcntl.h>
#include <libnbd.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <iomanip>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "sys/unique_fd.hpp"

namespace mk::test {

using sys::unique_fd;

namespace {

constexpr std::size_t chunk = 4 << 20;

struct state_deleter {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

// A streaming XXH3 that the readers below feed chunk by chunk.
class hasher {
 public:
  hasher() : state_(XXH3_createState()) {
    if (!state_ || XXH3_64bits_reset(state_.get()) != XXH_OK) {
      throw std::runtime_error("XXH3 state");
    }
  }
  void update(const void* data, std::size_t length) {
    XXH3_64bits_update(state_.get(), data, length);
  }
  std::uint64_t value() const { return XXH3_64bits_digest(state_.get()); }

 private:
  std::unique_ptr<XXH3_state_t, state_deleter> state_;
};

struct nbd_deleter {
  void operator()(nbd_handle* h) const { nbd_close(h); }
};

std::runtime_error nbd_failure(const std::string& what) {
  const char* text = nbd_get_error();
  return std::runtime_error(what + ": " + (text ? text : "unknown libnbd error"));
}

}  // namespace

void PrintTo(const digest& d, std::ostream* os) {
  *os << "{size " << d.size << ", xxh3 " << std::hex << std::setw(16) << std::setfill('0') << d.xxh3
      << std::dec << "}";
}

digest hash_export(const std::string& uri, std::uint64_t offset, std::uint64_t length) {
  std::unique_ptr<nbd_handle, nbd_deleter> h(nbd_create());
  if (!h) throw nbd_failure("nbd_create");
  if (nbd_connect_uri(h.get(), uri.c_str()) == -1) throw nbd_failure(uri);
  const int64_t size = nbd_get_size(h.get());
  if (size < 0) throw nbd_failure(uri + ": size");
  if (offset > static_cast<std::uint64_t>(size)) throw std::out_of_range(uri + ": offset");
  const std::uint64_t end = offset + std::min(length, static_cast<std::uint64_t>(size) - offset);

  hasher hash;
  std::vector<char> buf(chunk);
  for (std::uint64_t at = offset; at < end;) {
    const std::size_t n = std::min<std::uint64_t>(chunk, end - at);
    if (nbd_pread(h.get(), buf.data(), n, at, 0) == -1) {
      throw nbd_failure(uri + ": read at " + std::to_string(at));
    }
    hash.update(buf.data(), n);
    at += n;
  }
  nbd_shutdown(h.get(), 0);
  return {end - offset, hash.value()};
}

digest hash_file(const std::filesystem::path& path) {
  const unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), path.string());

  hasher hash;
  std::vector<char> buf(chunk);
  std::uint64_t size = 0;
  for (;;) {
    const ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(size));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), path.string());
    if (n == 0) break;
    hash.update(buf.data(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  return {size, hash.value()};
}

}  // namespace mk::test
