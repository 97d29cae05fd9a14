// The planner over real file endpoints: holes become skips or zeroes, data request-size
// slices, and what a checkpoint says is done is left out.
#include "nbd/planner.hpp"

#include <gtest/gtest.h>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace mk::nbd {
namespace {

constexpr std::uint64_t MiB = 1 << 20;
using kind = copy_op::kind;

std::vector<copy_op> plan_all(planner& p) {
  std::vector<copy_op> ops;
  while (true) {
    auto op = p.next();
    EXPECT_TRUE(op) << (op ? "" : op.error().message);
    if (!op || !*op) return ops;
    ops.push_back(**op);
  }
}

struct files {
  test::temp_dir dir;
  std::unique_ptr<endpoint> src, dst;

  files(std::uint64_t size, const std::vector<test::byte_range>& data, bool dirty_target) {
    test::write_sparse_file(dir / "src", size, data);
    if (dirty_target) test::write_sparse_file(dir / "dst", size, {{0, size}}, 7);
    src = *open_file({endpoint_spec::kind::file, (dir / "src").string()}, role::source,
                     {.connections = 1, .io_timeout_s = 10});
    dst = *open_file({endpoint_spec::kind::file, (dir / "dst").string()}, role::target,
                     {.connections = 1, .io_timeout_s = 10, .source_size = size});
  }
};

TEST(Planner, DataInRequestSlicesHolesSkippedOnAZeroTarget) {
  files f(8 * MiB, {{MiB, 3 * MiB / 2}}, false);
  planner p(*f.src, *f.dst, {}, {MiB, 1 << 30});
  auto ops = plan_all(p);
  ASSERT_EQ(ops.size(), 4u);
  EXPECT_EQ(ops[0].type, kind::skip);
  EXPECT_EQ(ops[0].length, MiB);
  EXPECT_EQ(ops[1].type, kind::data);
  EXPECT_EQ(ops[1].length, MiB);
  EXPECT_EQ(ops[2].type, kind::data);
  EXPECT_EQ(ops[2].offset, 2 * MiB);
  EXPECT_EQ(ops[2].length, MiB / 2);
  EXPECT_EQ(ops[3].type, kind::skip);
  EXPECT_EQ(ops[3].offset + ops[3].length, 8 * MiB);
}

TEST(Planner, HolesAreZeroedOnATargetThatHoldsData) {
  files f(4 * MiB, {{0, MiB}}, true);
  planner p(*f.src, *f.dst, {}, {MiB, 1 << 30});
  auto ops = plan_all(p);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].type, kind::data);
  EXPECT_EQ(ops[1].type, kind::zero);
  EXPECT_EQ(ops[1].offset, MiB);
  EXPECT_EQ(ops[1].length, 3 * MiB);
}

TEST(Planner, LeavesOutWhatTheCheckpointHasDone) {
  files f(4 * MiB, {{0, 4 * MiB}}, false);
  planner p(*f.src, *f.dst, range_set(MiB, {{2 * MiB, MiB / 2}}), {MiB, 1 << 30});
  auto ops = plan_all(p);
  std::uint64_t planned = 0;
  for (auto& op : ops) {
    EXPECT_EQ(op.type, kind::data);
    EXPECT_GE(op.offset, MiB);
    EXPECT_FALSE(op.offset < 2 * MiB + MiB / 2 && op.offset + op.length > 2 * MiB);
    planned += op.length;
  }
  EXPECT_EQ(planned, 4 * MiB - MiB - MiB / 2);
}

}  // namespace
}  // namespace mk::nbd
