// The local backend without a server: sparse images, durable records, ids that never reach a
// path.
#include "oma/volumes/local_backend.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace mk::volumes {
namespace {

namespace fs = std::filesystem;

class LocalBackend : public ::testing::Test {
 protected:
  std::unique_ptr<local_backend> open() {
    auto b = local_backend::open({.data_dir = dir_.path()});
    EXPECT_TRUE(b) << b.error().message;
    return b ? std::move(*b) : nullptr;
  }
  test::temp_dir dir_;
};

TEST(VolumeState, NamesRoundTrip) {
  for (auto s : {volume_state::detached, volume_state::attached, volume_state::partial,
                 volume_state::complete}) {
    EXPECT_EQ(parse_volume_state(to_string(s)), s);
  }
  EXPECT_FALSE(parse_volume_state("stopped"));
}

TEST_F(LocalBackend, CreateMakesASparseFileOfTheSize) {
  auto b = open();
  ASSERT_TRUE(b);
  constexpr std::uint64_t size = 1ull << 30;
  auto v = b->create("vol-1", size);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->state, volume_state::detached);
  EXPECT_EQ(v->path, dir_.path() / "volumes" / "vol-1.img");
  EXPECT_EQ(fs::file_size(v->path), size);
  EXPECT_LE(test::allocated_bytes(v->path), 64u << 10) << "the image is not sparse";
  EXPECT_TRUE(fs::exists(dir_.path() / "volumes" / "vol-1.json"));

  auto again = b->create("vol-1", size);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::exists);
  auto zero = b->create("vol-2", 0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, errc::invalid);
}

TEST_F(LocalBackend, BadIdsAreRefusedEverywhere) {
  auto b = open();
  ASSERT_TRUE(b);
  for (const auto& id :
       std::vector<std::string>{"../x", "A", "", "a/b", ".", "-a", std::string(64, 'a')}) {
    SCOPED_TRACE(id);
    auto c = b->create(id, 1 << 20);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, errc::invalid);
    EXPECT_EQ(b->attach(id).error().code, errc::invalid);
    EXPECT_EQ(b->detach(id, true).error().code, errc::invalid);
    EXPECT_EQ(b->remove(id).error().code, errc::invalid);
    EXPECT_EQ(b->info(id).error().code, errc::invalid);
    EXPECT_EQ(b->mark_partial(id, "/tmp/ckpt").error().code, errc::invalid);
    EXPECT_EQ(b->mark_complete(id).error().code, errc::invalid);
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "x.img"));
  EXPECT_TRUE(fs::is_empty(dir_.path() / "volumes"));
}

TEST_F(LocalBackend, UnknownVolumesAreNotFound) {
  auto b = open();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->info("nope").error().code, errc::not_found);
  EXPECT_EQ(b->attach("nope").error().code, errc::not_found);
  EXPECT_EQ(b->remove("nope").error().code, errc::not_found);
  EXPECT_EQ(b->mark_partial("nope", "/c").error().code, errc::not_found);
}

TEST_F(LocalBackend, AVolumeThatCannotBeSettledDoesNotKeepTheOthersDown) {
  {
    auto b = open();
    ASSERT_TRUE(b);
    ASSERT_TRUE(b->create("job-1", 4 << 20));
    ASSERT_TRUE(b->create("job-2", 4 << 20));
  }
  // job-1's record damaged (a disk that lost a write, a hand edit gone wrong).
  std::ofstream(dir_.path() / "volumes" / "job-1.json", std::ios::trunc) << "{\"state\":";
  auto b = open();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->damaged().size(), 1u);
  EXPECT_TRUE(b->damaged()[0].starts_with("volume job-1: ")) << b->damaged()[0];
  auto fine = b->info("job-2");
  ASSERT_TRUE(fine) << fine.error().message;
  EXPECT_FALSE(b->info("job-1")) << "the damaged volume is not made to look fine";
}

TEST_F(LocalBackend, PartialWithCheckpointSurvivesANewBackend) {
  {
    auto b = open();
    ASSERT_TRUE(b);
    ASSERT_TRUE(b->create("job-7", 4 << 20));
    ASSERT_TRUE(b->create("job-8", 8 << 20));
    EXPECT_EQ(b->mark_partial("job-7", "").error().code, errc::invalid);
    auto m = b->mark_partial("job-7", "/data/ckpt/job-7.json");
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_TRUE(b->mark_complete("job-8"));
  }
  auto b = open();
  ASSERT_TRUE(b);
  auto v = b->info("job-7");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->state, volume_state::partial);
  EXPECT_EQ(v->checkpoint, "/data/ckpt/job-7.json");
  EXPECT_EQ(v->size, 4u << 20);
  auto all = b->list();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], *v);
  EXPECT_EQ((*all)[1].id, "job-8");
  EXPECT_EQ((*all)[1].state, volume_state::complete);
}

TEST_F(LocalBackend, RemoveDeletesFileAndRecord) {
  auto b = open();
  ASSERT_TRUE(b);
  auto v = b->create("gone", 1 << 20);
  ASSERT_TRUE(v);
  auto r = b->remove("gone");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(fs::exists(v->path));
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "gone.json"));
  EXPECT_EQ(b->info("gone").error().code, errc::not_found);
  EXPECT_TRUE(b->list()->empty());
  // The id is free again.
  EXPECT_TRUE(b->create("gone", 1 << 20));
}

TEST_F(LocalBackend, ACorruptRecordIsAnErrorNotAHiddenVolume) {
  auto b = open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->create("bad", 1 << 20));
  std::ofstream(dir_.path() / "volumes" / "bad.json") << "{\"id\":\"other\"}";
  auto v = b->info("bad");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, errc::system);
  EXPECT_FALSE(b->list());
}

}  // namespace
}  // namespace mk::volumes
