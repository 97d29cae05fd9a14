#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace mk::test {

/// The whole content of a file; empty if it cannot be read.
std::string read_text(const std::filesystem::path& path);

/// A run of a file's bytes.
struct byte_range {
  std::uint64_t offset;
  std::uint64_t length;
};

/// Creates (or truncates) a file of `size` bytes that is a hole everywhere but in `data`,
/// which gets pseudo-random bytes from `seed`. Throws std::system_error.
void write_sparse_file(const std::filesystem::path& path, std::uint64_t size,
                       const std::vector<byte_range>& data, std::uint64_t seed = 1);

/// Bytes the file system really holds for the file (st_blocks), to tell holes were kept.
std::uint64_t allocated_bytes(const std::filesystem::path& path);

}  // namespace mk::test
