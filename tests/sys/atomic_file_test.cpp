// The one durable atomic write: a temporary file beside the target, fsync, rename, fsync of the
// folder.

#include "sys/atomic_file.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

namespace mk::sys {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

/// Sets the umask for one test and puts the old one back.
class scoped_umask {
 public:
  explicit scoped_umask(mode_t mask) : old_(::umask(mask)) {}
  ~scoped_umask() { ::umask(old_); }
  scoped_umask(const scoped_umask&) = delete;
  scoped_umask& operator=(const scoped_umask&) = delete;

 private:
  mode_t old_;
};

TEST(AtomicFile, WritesTheContentWithTheModeAskedWhateverTheUmask) {
  test::temp_dir dir;
  const scoped_umask mask(077);
  ASSERT_TRUE(write_file_atomically(dir / "open", "for all\n", 0644));
  ASSERT_TRUE(write_file_atomically(dir / "private", "secret\n", 0600));
  EXPECT_EQ(test::read_text(dir / "open"), "for all\n");
  EXPECT_EQ(mode_of(dir / "open"), 0644u);
  EXPECT_EQ(test::read_text(dir / "private"), "secret\n");
  EXPECT_EQ(mode_of(dir / "private"), 0600u);
  EXPECT_FALSE(fs::exists(dir / "open.tmp"));
  EXPECT_FALSE(fs::exists(dir / "private.tmp"));
}

TEST(AtomicFile, ReplacesTheOldContentWhole) {
  test::temp_dir dir;
  ASSERT_TRUE(write_file_atomically(dir / "f", std::string(100'000, 'a'), 0600));
  ASSERT_TRUE(write_file_atomically(dir / "f", "b", 0600));
  EXPECT_EQ(test::read_text(dir / "f"), "b");
  EXPECT_TRUE(write_file_atomically(dir / "f", "", 0600));
  EXPECT_EQ(test::read_text(dir / "f"), "");
}

TEST(AtomicFile, AWriteThatNeedOutliveOnlyItsProcessIsAsWholeAndLeavesNoTemporaryFile) {
  test::temp_dir dir;
  ASSERT_TRUE(write_file_atomically(dir / "f", "old\n", 0600));
  ASSERT_TRUE(
      write_file_atomically(dir / "f", "new\n", 0640, existing::replace, survives::process_crash));
  EXPECT_EQ(test::read_text(dir / "f"), "new\n");
  EXPECT_EQ(mode_of(dir / "f"), 0640u);
  EXPECT_FALSE(fs::exists(dir / "f.tmp"));
}

TEST(AtomicFile, ATemporaryFileThatACrashLeftIsReplacedWithTheModeAsked) {
  test::temp_dir dir;
  { std::ofstream(dir / "f.tmp") << "half a write"; }
  ::chmod((dir / "f.tmp").c_str(), 0666);
  ASSERT_TRUE(write_file_atomically(dir / "f", "whole\n", 0600));
  EXPECT_EQ(test::read_text(dir / "f"), "whole\n");
  EXPECT_EQ(mode_of(dir / "f"), 0600u);
  EXPECT_FALSE(fs::exists(dir / "f.tmp"));
}

TEST(AtomicFile, AFailedWriteLeavesTheOldContentAndMode) {
  test::temp_dir dir;
  ASSERT_TRUE(write_file_atomically(dir / "f", "old\n", 0640));
  // The temporary file cannot be created where a folder of its name stands.
  fs::create_directory(dir / "f.tmp");
  auto w = write_file_atomically(dir / "f", "new\n", 0600);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, EISDIR);
  EXPECT_NE(w.error().message.find((dir / "f.tmp").string()), std::string::npos)
      << w.error().message;
  EXPECT_EQ(test::read_text(dir / "f"), "old\n");
  EXPECT_EQ(mode_of(dir / "f"), 0640u);
}

TEST(AtomicFile, AKilledWriterLeavesTheOldContentOrTheNewOneNeverAMix) {
  test::temp_dir dir;
  const auto path = dir / "f";
  const std::string a(256 * 1024, 'a'), b(256 * 1024, 'b');
  ASSERT_TRUE(write_file_atomically(path, a, 0600));
  for (int round = 0; round < 10; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (unsigned i = 0;; ++i)
        if (!write_file_atomically(path, i % 2 == 0 ? b : a, 0600)) ::_exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3 + 7 * round));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed before it was killed";
    const auto text = test::read_text(path);
    EXPECT_TRUE(text == a || text == b) << "round " << round << ": " << text.size() << " bytes";
    EXPECT_EQ(mode_of(path), 0600u);
  }
}

TEST(AtomicFile, RefusesAMissingFolderNamingTheFile) {
  test::temp_dir dir;
  auto w = write_file_atomically(dir / "no-such-folder" / "f", "x", 0600);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ENOENT);
  EXPECT_EQ(w.error().message, "create " + (dir / "no-such-folder" / "f.tmp").string() +
                                   ": No such file or directory");
  EXPECT_FALSE(fs::exists(dir / "no-such-folder"));
}

TEST(AtomicFile, KeepCreatesAFileButNeverReplacesOne) {
  test::temp_dir dir;
  ASSERT_TRUE(write_file_atomically(dir / "token", "first\n", 0600, existing::keep));
  EXPECT_EQ(test::read_text(dir / "token"), "first\n");
  EXPECT_EQ(mode_of(dir / "token"), 0600u);
  auto again = write_file_atomically(dir / "token", "second\n", 0600, existing::keep);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_NE(again.error().message.find((dir / "token").string()), std::string::npos);
  EXPECT_EQ(test::read_text(dir / "token"), "first\n");
  EXPECT_FALSE(fs::exists(dir / "token.tmp"));
}

TEST(AtomicFile, FsyncDirNamesAMissingFolder) {
  test::temp_dir dir;
  auto r = fsync_dir(dir / "gone");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message.find((dir / "gone").string()), std::string::npos);
  EXPECT_TRUE(fsync_dir(dir.path()));
}

}  // namespace
}  // namespace mk::sys
