// The data folder's lock: one holder at a time, a clear refusal naming the holder, and a
// start that waits for a holder on its way out (a supervisor restarting a killed agent).
#include "cmd/folder_lock.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/temp_dir.hpp"

namespace mk::cmd {
namespace {

using namespace std::chrono_literals;

/// Holds ROLE.lock in `folder` as another process would: its own open file description.
struct other_holder {
  other_holder(const std::filesystem::path& folder, const char* role) {
    std::filesystem::create_directories(folder);
    fd = ::open((folder / (std::string(role) + ".lock")).c_str(), O_RDWR | O_CREAT, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    EXPECT_EQ(::pwrite(fd, "4242\n", 5, 0), 5);
  }
  ~other_holder() { release(); }
  void release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fd = -1;
};

TEST(folder_lock, a_held_folder_is_refused_naming_the_holder) {
  test::temp_dir dir;
  other_holder held(dir.path() / "data", "vma");
  auto lock = folder_lock::take(dir.path() / "data", "vma", 200ms);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("is in use by another migratekit vma (pid 4242)"), std::string::npos)
      << lock.error();
  // Another role's lock is another file.
  EXPECT_TRUE(folder_lock::take(dir.path() / "data", "oma", 0ms));
}

TEST(folder_lock, a_start_waits_for_a_holder_on_its_way_out) {
  test::temp_dir dir;
  other_holder held(dir.path() / "data", "vma");
  std::thread going([&] {
    std::this_thread::sleep_for(300ms);
    held.release();
  });
  auto lock = folder_lock::take(dir.path() / "data", "vma", 10s);
  going.join();
  ASSERT_TRUE(lock) << lock.error();
  // Now this one holds it.
  EXPECT_FALSE(folder_lock::take(dir.path() / "data", "vma", 0ms));
}

}  // namespace
}  // namespace mk::cmd
