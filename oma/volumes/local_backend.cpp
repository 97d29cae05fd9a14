#include "oma/volumes/local_backend.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "messages/subjects.hpp"
#include "oma/volumes/metadata.hpp"
#include "sys/atomic_file.hpp"
#include "sys/child_process.hpp"
#include "sys/pidfd.hpp"
#include "sys/ports.hpp"

namespace mk::volumes {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

result<void> check_id(const std::string& id) {
  if (!msg::valid_id(id)) return fail(errc::invalid, "invalid volume id \"" + id + "\"");
  return {};
}

/// Removes a file that may not exist.
result<void> unlink_if_any(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail_errno(errc::system, "unlink " + path.string(), errno);
  }
  return {};
}

/// The data of a volume's image on disk. fdatasync: the image keeps the size it was created
/// with (fsync'd then), and its times need no journal commit. After a mover's flush (nbdkit's
/// file plugin syncs the data) there is nothing left to write, and a stop does not wait.
result<void> sync_data(const fs::path& path) {
  sys::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno(errc::system, "open " + path.string(), errno);
  if (::fdatasync(fd.get()) != 0)
    return fail_errno(errc::system, "fdatasync " + path.string(), errno);
  return {};
}

std::string read_small(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The last lines of nbdkit's log, for an error message.
std::string log_tail(const fs::path& path) {
  auto text = read_small(path);
  constexpr std::size_t keep = 500;
  if (text.size() > keep) text = text.substr(text.size() - keep);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text.empty() ? "" : ": " + text;
}

/// Whether `pid` is an nbdkit serving the image `img`: a pid file can outlive its process and
/// the pid be reused, so the command line must say so.
bool is_server_of(pid_t pid, const fs::path& img) {
  const auto cmdline = read_small("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  std::size_t start = 0;
  while (start < cmdline.size()) {
    const auto end = cmdline.find('\0', start);
    argv.push_back(cmdline.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (argv.empty() || fs::path(argv[0]).filename() != "nbdkit") return false;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == "file=" + img.string()) return true;
  }
  return false;
}

/// Whether the process behind a pidfd ends within `timeout`.
bool ended_within(int pidfd, std::chrono::milliseconds timeout) {
  const auto ended = sys::pidfd_wait(pidfd, timeout);
  return ended && *ended;
}

result<void> fsync_dir(const fs::path& dir) {
  if (auto r = sys::fsync_dir(dir); !r) return fail(errc::system, r.error().message);
  return {};
}

}  // namespace

local_backend::local_backend(local_backend_options options)
    : options_(std::move(options)), dir_(options_.data_dir / defaults::volumes::subdir) {}

result<std::unique_ptr<local_backend>> local_backend::open(local_backend_options options) {
  if (options.data_dir.empty()) return fail(errc::invalid, "volumes: no data directory");
  std::unique_ptr<local_backend> backend(new local_backend(std::move(options)));
  std::error_code ec;
  fs::create_directories(backend->dir_, ec);
  if (ec) return fail(errc::system, "create " + backend->dir_.string() + ": " + ec.message());
  // Loading a volume left attached checks its server, and settles it if the server is gone.
  auto ids = backend->ids();
  if (!ids) return std::unexpected(ids.error());
  for (const auto& id : *ids)
    if (auto info = backend->load(id); !info && info.error().code != errc::not_found)
      backend->damaged_.push_back("volume " + id + ": " + info.error().message);
  return backend;
}

// The servers run on (see the class comment); closing the pidfds lets go of them.
local_backend::~local_backend() = default;

fs::path local_backend::file(const std::string& id, std::string_view ext) const {
  return dir_ / (id + std::string(ext));
}

std::string local_backend::location(const std::string& id) const {
  return file(id, ".img").string();
}

std::string local_backend::uri(const std::string& id) const {
  return "nbd+unix:///?socket=" + file(id, ".sock").string();
}

std::unique_lock<std::mutex> local_backend::lock_volume(const std::string& id) {
  std::shared_ptr<std::mutex> m;
  {
    std::lock_guard lock(locks_mu_);
    auto& slot = locks_[id];
    if (!slot) slot = std::make_shared<std::mutex>();
    m = slot;
  }
  // The map only grows, so the mutex outlives this lock.
  return std::unique_lock(*m);
}

int local_backend::server_of(const std::string& id) {
  std::lock_guard lock(servers_mu_);
  const auto it = servers_.find(id);
  return it == servers_.end() ? -1 : it->second.get();
}

void local_backend::forget_server(const std::string& id) {
  std::lock_guard lock(servers_mu_);
  servers_.erase(id);
}

bool local_backend::serving(const std::string& id) {
  if (const int pidfd = server_of(id); pidfd != -1) {
    if (!ended_within(pidfd, 0ms)) return true;
    forget_server(id);
    return false;
  }
  const auto text = read_small(file(id, ".pid"));
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(text));
  } catch (...) {
    return false;
  }
  if (pid <= 0 || !is_server_of(pid, file(id, ".img"))) return false;
  auto pidfd = sys::open_pidfd(pid);
  // Checked again once the pidfd pins the process: the pid cannot change hands after this.
  if (!pidfd || !is_server_of(pid, file(id, ".img"))) return false;
  std::lock_guard lock(servers_mu_);
  servers_.insert_or_assign(id, std::move(*pidfd));
  return true;
}

result<void> local_backend::stop_server(const std::string& id) {
  const auto timeout = options_.stop_timeout;
  // Only the holder of the volume's lock changes its entry: the pidfd stays open meanwhile.
  if (const int pidfd = server_of(id); pidfd != -1) {
    (void)sys::pidfd_send_signal(pidfd, SIGTERM);
    if (!ended_within(pidfd, timeout)) {
      (void)sys::pidfd_send_signal(pidfd, SIGKILL);
      if (!ended_within(pidfd, timeout)) {
        return fail(errc::timeout, "nbdkit of volume " + id + " survived SIGKILL");
      }
    }
    forget_server(id);
  }
  return {};
}

result<void> local_backend::settle(const std::string& id, bool flush) {
  auto record = read_record(file(id, ".json"));
  if (!record) return std::unexpected(record.error());
  // nbdkit leaves its socket behind (STACK.md); the pid file goes too, so that nothing
  // mistakes a later process with the same pid for the server.
  if (auto r = unlink_if_any(file(id, ".sock")); !r) return r;
  if (auto r = unlink_if_any(file(id, ".pid")); !r) return r;
  if (auto r = unlink_if_any(file(id, ".psk")); !r) return r;
  if (flush) {
    if (auto r = sync_data(file(id, ".img")); !r) return r;
  }
  if (record->state != volume_state::attached) return {};
  record->state = record->resting;
  record->served_at.clear();
  return write_record(file(id, ".json"), *record);
}

result<volume_info> local_backend::load(const std::string& id) {
  if (auto r = check_id(id); !r) return std::unexpected(r.error());
  auto record = read_record(file(id, ".json"));
  if (!record) return std::unexpected(record.error());
  if (record->state == volume_state::attached && !serving(id)) {
    // Its server died (with a crashed process, or on its own): whatever a mover wrote is in
    // the file, made durable here, and the volume is back at rest.
    if (auto r = settle(id, true); !r) return std::unexpected(r.error());
    record->state = record->resting;
  }
  volume_info info{.id = id,
                   .size = record->size,
                   .path = file(id, ".img"),
                   .state = record->state,
                   .checkpoint = record->checkpoint,
                   .nbd_uri = ""};
  if (info.state == volume_state::attached)
    info.nbd_uri = record->served_at.empty() ? uri(id) : record->served_at;
  return info;
}

result<void> local_backend::set_state(const std::string& id, volume_state state,
                                      const std::string* checkpoint) {
  auto current = load(id);
  if (!current) return std::unexpected(current.error());
  if (current->state == volume_state::attached) {
    return fail(errc::busy, "volume " + id + " is attached: detach it first");
  }
  auto record = read_record(file(id, ".json"));
  if (!record) return std::unexpected(record.error());
  // Stopped again after a resume, a partial volume is marked as it already is: no write.
  if (record->state == state && record->resting == state &&
      (!checkpoint || record->checkpoint == *checkpoint))
    return {};
  record->state = state;
  record->resting = state;
  if (checkpoint) record->checkpoint = *checkpoint;
  return write_record(file(id, ".json"), *record);
}

result<volume_info> local_backend::create(const std::string& id, std::uint64_t size) {
  const auto lock = lock_volume(id);
  if (auto r = check_id(id); !r) return std::unexpected(r.error());
  if (size == 0) return fail(errc::invalid, "volume " + id + ": size 0");
  // Refused here rather than at the first attach: the socket path must fit in sun_path.
  if (file(id, ".sock").string().size() >= sizeof(sockaddr_un{}.sun_path)) {
    return fail(errc::invalid, "volume " + id + ": socket path too long under " + dir_.string());
  }
  const auto json = file(id, ".json");
  if (::access(json.c_str(), F_OK) == 0) return fail(errc::exists, "volume " + id + " exists");
  // An image without a record is what a crash in create or remove leaves: it is reused.
  const auto img = file(id, ".img");
  {
    sys::unique_fd fd(::open(img.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return fail_errno(errc::system, "open " + img.string(), errno);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      return fail_errno(errc::system, "ftruncate " + img.string(), errno);
    }
    if (::fsync(fd.get()) != 0) return fail_errno(errc::system, "fsync " + img.string(), errno);
  }
  const volume_record record{.id = id,
                             .size = size,
                             .state = volume_state::detached,
                             .resting = volume_state::detached,
                             .checkpoint = "",
                             .served_at = ""};
  if (auto r = write_record(json, record); !r) return std::unexpected(r.error());
  return volume_info{.id = id,
                     .size = size,
                     .path = img,
                     .state = volume_state::detached,
                     .checkpoint = "",
                     .nbd_uri = ""};
}

result<std::string> local_backend::attach(const std::string& id,
                                          const std::optional<remote_access>& remote) {
  const auto lock = lock_volume(id);
  auto current = load(id);
  if (!current) return std::unexpected(current.error());
  if (current->state == volume_state::attached) return current->nbd_uri;

  const auto socket = file(id, ".sock");
  const auto pidfile = file(id, ".pid");
  if (auto r = unlink_if_any(socket); !r) return std::unexpected(r.error());
  if (auto r = unlink_if_any(pidfile); !r) return std::unexpected(r.error());
  // Without -f, nbdkit forks into the background once its socket is bound, and the server
  // writes its pid file when it accepts connections. Forking is what lets it outlive us:
  // nbdkit sets a parent-death signal for itself at start, which a fork clears. The session
  // of its own keeps signals meant for ours (a terminal's Ctrl-C) away from it.
  std::vector<std::string> argv = {options_.nbdkit.string(), "--log=stderr", "--threads=1"};
  std::string served_at;
  // A free port is found, then bound by nbdkit: two remote attaches at once could find the
  // same one. They take turns until the server is ready (local ones need no port).
  std::unique_lock<std::mutex> ports;
  if (remote) {
    ports = std::unique_lock(ports_mu_);
    auto listen = tcp_listener(id, *remote);
    if (!listen) return std::unexpected(listen.error());
    argv.insert(argv.end(), listen->args.begin(), listen->args.end());
    served_at = listen->uri;
  } else {
    argv.insert(argv.end(), {"-U", socket.string()});
  }
  argv.insert(argv.end(), {"-P", pidfile.string(), "file", "file=" + file(id, ".img").string()});
  const auto log = file(id, ".log");
  auto launcher = sys::child_process::spawn(argv, log, {.death_signal = 0, .new_session = true});
  if (!launcher) return fail(errc::system, "volume " + id + ": " + launcher.error().message);

  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  bool forked = false;
  while (!(forked && serving(id))) {
    if (!forked) {
      if (auto status = (*launcher)->wait_for(0ms)) {
        if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
          return fail(errc::system, "nbdkit for volume " + id + " ended (" +
                                        sys::describe_wait_status(*status) + ")" + log_tail(log));
        }
        forked = true;
        continue;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      launcher->reset();  // SIGKILL and reap, should it still be starting
      (void)unlink_if_any(socket);
      return fail(errc::timeout, "nbdkit for volume " + id + " not ready in " +
                                     std::to_string(options_.ready_timeout.count()) + " ms" +
                                     log_tail(log));
    }
    std::this_thread::sleep_for(defaults::volumes::poll_interval);
  }

  auto record = read_record(file(id, ".json"));
  if (record) {
    record->resting = record->state;
    record->state = volume_state::attached;
    record->served_at = served_at;
    if (auto w = write_record(file(id, ".json"), *record); !w) record = std::unexpected(w.error());
  }
  if (!record) {
    // Not recorded as attached, so it must not stay served.
    (void)stop_server(id);
    (void)settle(id, false);
    return std::unexpected(record.error());
  }
  return served_at.empty() ? uri(id) : served_at;
}

result<local_backend::listener> local_backend::tcp_listener(const std::string& id,
                                                            const remote_access& remote) {
  if (!msg::valid_id(remote.psk_identity))
    return fail(errc::invalid, "volume " + id + ": PSK identity \"" + remote.psk_identity +
                                   "\" is not an agent id");
  if (remote.psk_hex.size() != 64 ||
      remote.psk_hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return fail(errc::invalid, "volume " + id + ": the PSK is not 64 hex digits");
  const auto address = sys::ipv4_of(remote.host);
  if (!address) return fail(errc::invalid, "volume " + id + ": no IPv4 address for " + remote.host);
  char text[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &*address, text, sizeof text);
  // Another process may take the port before nbdkit binds it: the attach then fails with
  // nbdkit's "address already in use", and the job's start with it (resumable).
  const auto port = sys::free_tcp_port(*address);
  if (port == 0) return fail(errc::system, "volume " + id + ": no free port on " + remote.host);
  // Only the job's agent holds this key: no other agent can open the volume.
  const auto psk = file(id, ".psk");
  if (auto w =
          sys::write_file_atomically(psk, remote.psk_identity + ":" + remote.psk_hex + "\n", 0600);
      !w)
    return fail(errc::system, w.error().message);
  listener out;
  out.args = {"-i", text, "-p", std::to_string(port), "--tls=require", "--tls-psk=" + psk.string()};
  out.uri = "nbds://" + remote.psk_identity + "@" + remote.host + ":" + std::to_string(port) + "/";
  return out;
}

result<void> local_backend::detach(const std::string& id, bool flush) {
  const auto lock = lock_volume(id);
  auto current = load(id);
  if (!current) return std::unexpected(current.error());
  if (current->state != volume_state::attached) {
    if (flush) return sync_data(current->path);
    return {};
  }
  if (auto r = stop_server(id); !r) return r;
  return settle(id, flush);
}

result<void> local_backend::remove(const std::string& id) {
  const auto lock = lock_volume(id);
  auto current = load(id);
  if (!current) return std::unexpected(current.error());
  if (current->state == volume_state::attached) {
    return fail(errc::busy, "volume " + id + " is attached: a mover may write to it");
  }
  // The record goes first: once it is gone the volume is, and a crash leaves at worst an
  // image without a record, which create reuses.
  if (auto r = unlink_if_any(file(id, ".json")); !r) return r;
  if (auto r = fsync_dir(dir_); !r) return r;
  for (const auto* ext : {".img", ".log", ".sock", ".pid", ".json.tmp"}) {
    if (auto r = unlink_if_any(file(id, ext)); !r) return r;
  }
  return fsync_dir(dir_);
}

result<volume_info> local_backend::info(const std::string& id) {
  const auto lock = lock_volume(id);
  return load(id);
}

result<std::vector<std::string>> local_backend::ids() {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.size() <= 5 || !name.ends_with(".json")) continue;
    auto id = name.substr(0, name.size() - 5);
    if (msg::valid_id(id)) out.push_back(std::move(id));
  }
  if (ec) return fail(errc::system, "list " + dir_.string() + ": " + ec.message());
  std::ranges::sort(out);
  return out;
}

result<std::vector<volume_info>> local_backend::list() {
  auto all = ids();
  if (!all) return std::unexpected(all.error());
  std::vector<volume_info> out;
  for (const auto& id : *all) {
    const auto lock = lock_volume(id);
    auto info = load(id);
    // Removed meanwhile by another backend object: simply not there any more.
    if (!info && info.error().code == errc::not_found) continue;
    if (!info) return std::unexpected(info.error());
    out.push_back(std::move(*info));
  }
  return out;
}

result<void> local_backend::mark_partial(const std::string& id, const std::string& checkpoint) {
  const auto lock = lock_volume(id);
  if (auto r = check_id(id); !r) return r;
  if (checkpoint.empty()) return fail(errc::invalid, "volume " + id + ": no checkpoint");
  return set_state(id, volume_state::partial, &checkpoint);
}

result<void> local_backend::mark_complete(const std::string& id) {
  const auto lock = lock_volume(id);
  return set_state(id, volume_state::complete, nullptr);
}

}  // namespace mk::volumes
