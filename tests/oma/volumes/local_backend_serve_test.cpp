// The local backend serving volumes through a real nbdkit, written by a real `migratekit copy`.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "oma/volumes/local_backend.hpp"
#include "support/files.hpp"
#include "support/hash.hpp"
#include "support/nbdkit.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "sys/atomic_file.hpp"

namespace mk::volumes {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint64_t size = 32 << 20;

/// Whether a process runs: servers are not our children, so one that ended may stay a zombie
/// until init reaps it, and kill(pid, 0) would still succeed.
bool runs(pid_t pid) {
  const auto stat = test::read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto end = stat.rfind(')');
  return end != std::string::npos && end + 2 < stat.size() && stat[end + 2] != 'Z' &&
         stat[end + 2] != 'X';
}

class LocalBackendServe : public ::testing::Test {
 protected:
  std::unique_ptr<local_backend> open() {
    auto b = local_backend::open({.data_dir = dir_.path()});
    EXPECT_TRUE(b) << b.error().message;
    return b ? std::move(*b) : nullptr;
  }

  /// `migratekit copy SOURCE TARGET`, which must exit 0 within 30 s.
  void copy(const std::string& source, const std::string& target) {
    auto p =
        test::process::spawn({MK_MIGRATEKIT_PATH, "copy", source, target},
                             {.stdout_path = dir_ / "copy.out", .stderr_path = dir_ / "copy.err"});
    auto status = p.wait_for(30s);
    ASSERT_TRUE(status) << "the copy did not end in 30 s";
    EXPECT_EQ(*status, test::exit_status::exited(0)) << test::read_text(dir_ / "copy.err");
  }

  /// The pid nbdkit wrote for a volume.
  pid_t server_pid(const std::string& id) {
    return static_cast<pid_t>(std::stol(test::read_text(dir_ / "volumes" / (id + ".pid"))));
  }

  /// Servers outlive their backend by design, so a test that failed half-way would leave one
  /// running on a deleted folder: whatever is still attached is detached here.
  void TearDown() override {
    auto b = local_backend::open({.data_dir = dir_.path()});
    if (!b) return;
    if (auto all = (*b)->list()) {
      for (const auto& v : *all) {
        if (v.state == volume_state::attached) (void)(*b)->detach(v.id, false);
      }
    }
  }

  test::temp_dir dir_;
};

TEST_F(LocalBackendServe, CopyIntoAnAttachedVolumeLandsInTheFile) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(size)});
  auto b = open();
  ASSERT_TRUE(b);
  auto v = b->create("vol-1", size);
  ASSERT_TRUE(v) << v.error().message;
  auto uri = b->attach("vol-1");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(*uri, "nbd+unix:///?socket=" + (dir_.path() / "volumes" / "vol-1.sock").string());
  EXPECT_EQ(b->info("vol-1")->state, volume_state::attached);
  EXPECT_EQ(b->info("vol-1")->nbd_uri, *uri);
  // Attaching again serves the same server.
  const pid_t pid = server_pid("vol-1");
  EXPECT_EQ(*b->attach("vol-1"), *uri);
  EXPECT_EQ(server_pid("vol-1"), pid);

  copy(src.uri(), *uri);
  auto d = b->detach("vol-1", true);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(b->info("vol-1")->state, volume_state::detached);
  EXPECT_EQ(b->info("vol-1")->nbd_uri, "");
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "vol-1.sock"));
  EXPECT_FALSE(runs(pid)) << "nbdkit still runs after detach";
  EXPECT_EQ(test::hash_file(v->path), test::hash_export(src.uri()));
  // Detaching a detached volume is harmless.
  EXPECT_TRUE(b->detach("vol-1", true));
}

// A volume for a mover on another host: TCP with TLS-PSK, the PSK identity the job's agent.
// Only that agent's key opens it; plain NBD, another identity or another key are refused.
TEST_F(LocalBackendServe, AVolumeServedOverTlsPskOpensOnlyWithTheAgentsKey) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(size)});
  auto b = open();
  ASSERT_TRUE(b);
  auto v = b->create("vol-9", size);
  ASSERT_TRUE(v) << v.error().message;
  const std::string key(64, 'a');
  auto uri = b->attach("vol-9", remote_access{"127.0.0.1", "vma-a", key});
  ASSERT_TRUE(uri) << uri.error().message;
  ASSERT_TRUE(uri->starts_with("nbds://vma-a@127.0.0.1:")) << *uri;
  EXPECT_EQ(fs::status(dir_.path() / "volumes" / "vol-9.psk").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(b->info("vol-9")->nbd_uri, *uri);
  EXPECT_EQ(open()->info("vol-9")->nbd_uri, *uri) << "a restarted backend finds it served so";

  const auto key_file = [&](const std::string& name, const std::string& line) {
    const auto path = dir_ / name;
    EXPECT_TRUE(sys::write_file_atomically(path, line + "\n", 0600));
    return path.string();
  };
  const auto mine = key_file("vma-a.psk", "vma-a:" + key);
  const auto theirs = key_file("vma-b.psk", "vma-b:" + std::string(64, 'b'));
  const auto wrong = key_file("wrong.psk", "vma-a:" + std::string(64, 'c'));
  const auto port = uri->substr(uri->rfind(':') + 1);
  const auto refused = [&](const std::string& target) {
    auto p = test::process::spawn(
        {MK_MIGRATEKIT_PATH, "copy", src.uri(), target},
        {.stdout_path = dir_ / "refused.out", .stderr_path = dir_ / "refused.err"});
    EXPECT_EQ(p.wait_for(30s), test::exit_status::exited(1)) << target;
    return test::read_text(dir_ / "refused.err");
  };
  const auto plain = refused("nbd://127.0.0.1:" + port.substr(0, port.size() - 1) + "/");
  EXPECT_NE(plain.find("TLS"), std::string::npos) << plain;
  refused("nbds://vma-b@127.0.0.1:" + port + "?tls-psk-file=" + theirs);
  refused(*uri + "?tls-psk-file=" + wrong);

  copy(src.uri(), *uri + "?tls-psk-file=" + mine);
  ASSERT_TRUE(b->detach("vol-9", true));
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "vol-9.psk")) << "the key outlived the serving";
  EXPECT_EQ(b->info("vol-9")->nbd_uri, "");
  EXPECT_EQ(test::hash_file(v->path), test::hash_export(src.uri()));

  EXPECT_FALSE(b->attach("vol-9", remote_access{"127.0.0.1", "Not An Id", key}));
  EXPECT_FALSE(b->attach("vol-9", remote_access{"127.0.0.1", "vma-a", "short"}));
}

TEST_F(LocalBackendServe, KeepPathDetachesAndMarksPartial) {
  auto b = open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->create("job-1", size));
  ASSERT_TRUE(b->attach("job-1"));
  auto busy = b->mark_partial("job-1", "/ckpt/job-1");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, errc::busy);
  ASSERT_TRUE(b->detach("job-1", true));
  ASSERT_TRUE(b->mark_partial("job-1", "/ckpt/job-1"));
  // Attached again for the resume, and detached: still partial, same checkpoint.
  ASSERT_TRUE(b->attach("job-1"));
  ASSERT_TRUE(b->detach("job-1", true));
  b.reset();
  auto again = open();
  ASSERT_TRUE(again);
  auto v = again->info("job-1");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->state, volume_state::partial);
  EXPECT_EQ(v->checkpoint, "/ckpt/job-1");
}

TEST_F(LocalBackendServe, RemoveIsRefusedWhileAttached) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(size)});
  auto b = open();
  ASSERT_TRUE(b);
  auto v = b->create("vol-2", size);
  ASSERT_TRUE(v);
  auto uri = b->attach("vol-2");
  ASSERT_TRUE(uri) << uri.error().message;
  copy(src.uri(), *uri);
  const auto before = test::hash_export(*uri);
  auto r = b->remove("vol-2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::busy);
  EXPECT_TRUE(fs::exists(v->path));
  EXPECT_EQ(test::hash_export(*uri), before) << "the served volume changed";
  ASSERT_TRUE(b->detach("vol-2", true));
  EXPECT_EQ(test::hash_file(v->path), before);
  ASSERT_TRUE(b->remove("vol-2"));
  EXPECT_FALSE(fs::exists(v->path));
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "vol-2.json"));
}

TEST_F(LocalBackendServe, ARestartFindsADeadServerAndAttachesAgain) {
  auto b = open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->create("vol-3", size));
  ASSERT_TRUE(b->mark_partial("vol-3", "/ckpt/vol-3"));
  ASSERT_TRUE(b->attach("vol-3"));
  const pid_t pid = server_pid("vol-3");
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // A server that died by itself (or was killed) while its record still says "attached".
  std::this_thread::sleep_for(200ms);

  auto restarted = open();
  ASSERT_TRUE(restarted);
  auto v = restarted->info("vol-3");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->state, volume_state::partial) << "the dead server was not noticed";
  EXPECT_EQ(v->checkpoint, "/ckpt/vol-3");
  EXPECT_FALSE(fs::exists(dir_.path() / "volumes" / "vol-3.sock"));

  auto uri = restarted->attach("vol-3");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(test::hash_export(*uri).size, size);
  ASSERT_TRUE(restarted->detach("vol-3", true));
  b.reset();
}

TEST_F(LocalBackendServe, ARestartAdoptsAServerThatStillRuns) {
  auto b = open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->create("vol-4", size));
  auto uri = b->attach("vol-4");
  ASSERT_TRUE(uri);
  const pid_t pid = server_pid("vol-4");

  auto other = open();
  ASSERT_TRUE(other);
  auto v = other->info("vol-4");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->state, volume_state::attached);
  EXPECT_EQ(*other->attach("vol-4"), *uri);
  EXPECT_EQ(server_pid("vol-4"), pid) << "a second server was started";
  ASSERT_TRUE(other->detach("vol-4", true));
  EXPECT_EQ(b->info("vol-4")->state, volume_state::detached);
}

TEST_F(LocalBackendServe, AServerOutlivesTheBackendThatStartedIt) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(size)});
  auto b = open();
  ASSERT_TRUE(b);
  auto v = b->create("vol-6", size);
  ASSERT_TRUE(v);
  auto uri = b->attach("vol-6");
  ASSERT_TRUE(uri) << uri.error().message;
  const pid_t pid = server_pid("vol-6");
  b.reset();  // without a detach: as an OMA that exits while a mover writes
  ASSERT_TRUE(runs(pid)) << "nbdkit ended with the backend that started it";

  // A mover still writes through it; the next backend adopts the server as it is.
  copy(src.uri(), *uri);
  auto next = open();
  ASSERT_TRUE(next);
  auto info = next->info("vol-6");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->state, volume_state::attached);
  EXPECT_EQ(*next->attach("vol-6"), *uri);
  EXPECT_EQ(server_pid("vol-6"), pid) << "a second server was started";
  ASSERT_TRUE(next->detach("vol-6", true));
  EXPECT_FALSE(runs(pid)) << "detach left the adopted server running";
  EXPECT_EQ(test::hash_file(v->path), test::hash_export(src.uri()));
}

TEST_F(LocalBackendServe, AServerOutlivesACrashOfTheProcessThatStartedIt) {
  auto src = test::nbdkit_server::start(dir_.path(), "src", {}, {"pattern", std::to_string(size)});
  // Another process attaches the volume and dies of SIGKILL, as a crashed OMA would.
  auto helper = test::process::spawn(
      {MK_ATTACH_AND_CRASH_PATH, dir_.path().string(), "vol-7", std::to_string(size)},
      {.stdout_path = dir_ / "helper.out", .stderr_path = dir_ / "helper.err"});
  auto status = helper.wait_for(20s);
  ASSERT_TRUE(status) << "the helper did not end";
  ASSERT_EQ(*status, test::exit_status::signalled(SIGKILL)) << test::read_text(dir_ / "helper.err");
  const auto uri = test::read_text(dir_ / "helper.out");
  ASSERT_FALSE(uri.empty());
  const pid_t pid = server_pid("vol-7");
  // Give a parent-death signal, if there were one, time to act.
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(runs(pid)) << "nbdkit died with the process that started it";

  copy(src.uri(), uri);
  auto b = open();
  ASSERT_TRUE(b);
  auto info = b->info("vol-7");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->state, volume_state::attached);
  EXPECT_EQ(info->nbd_uri, uri);
  ASSERT_TRUE(b->detach("vol-7", true));
  EXPECT_EQ(b->info("vol-7")->state, volume_state::detached);
  EXPECT_EQ(test::hash_file(info->path), test::hash_export(src.uri()));
}

TEST_F(LocalBackendServe, ADeadNbdkitBinaryIsAnError) {
  auto b = local_backend::open({.data_dir = dir_.path(), .nbdkit = "/nonexistent/nbdkit"});
  ASSERT_TRUE(b);
  ASSERT_TRUE((*b)->create("vol-5", size));
  auto uri = (*b)->attach("vol-5");
  ASSERT_FALSE(uri);
  EXPECT_EQ(uri.error().code, errc::system);
  EXPECT_EQ((*b)->info("vol-5")->state, volume_state::detached);
}

}  // namespace
}  // namespace mk::volumes
