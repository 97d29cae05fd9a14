#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

namespace mk::test {

/// The size and XXH3-64 of a whole disk image: equal digests mean equal contents.
struct digest {
  std::uint64_t size;
  std::uint64_t xxh3;

  friend bool operator==(const digest&, const digest&) = default;
};

void PrintTo(const digest& d, std::ostream* os);

/// Reads an NBD export through libnbd: all of it, or `length` bytes from `offset` (cut at the
/// end of the export). Throws std::runtime_error with libnbd's message.
digest hash_export(const std::string& uri, std::uint64_t offset = 0,
                   std::uint64_t length = UINT64_MAX);

/// Reads a whole local file. Throws std::system_error.
digest hash_file(const std::filesystem::path& path);

}  // namespace mk::test
