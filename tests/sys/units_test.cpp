// Sizes as people read them: whole bytes below a KiB, one decimal above, binary units.
#include "sys/units.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace mk::sys {
namespace {

TEST(HumanBytes, WholeBytesBelowAKibThenOneDecimalInBinaryUnits) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(20316160), "19.4 MiB");
  EXPECT_EQ(human_bytes(std::uint64_t{1} << 40), "1.0 TiB");
  EXPECT_EQ(human_bytes(UINT64_MAX), "16.0 EiB");
}

}  // namespace
}  // namespace mk::sys
