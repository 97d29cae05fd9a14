#include "nbd/copy_fixture.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/files.hpp"
#include "support/hash.hpp"

#ifndef MK_MIGRATEKIT_PATH
#error "MK_MIGRATEKIT_PATH must name the migratekit binary under test"
#endif

namespace mk::test {

namespace {

// Keeps the end of long output, where the error usually is.
std::string tail(const std::string& text, std::size_t n = 4000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

bool is_count(const json& v) { return v.is_number_unsigned() || v.is_number_integer(); }

}  // namespace

::testing::AssertionResult mentions(const std::string& text, std::string_view piece) {
  if (text.find(piece) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << piece << "\" not in: " << text;
}

std::string copy_run::stderr_text() const { return read_text(err); }

std::optional<json> copy_run::last_progress() const {
  const std::string text = read_text(out);
  const auto end = text.rfind('\n');
  if (end == std::string::npos) return std::nullopt;
  const auto previous = end == 0 ? std::string::npos : text.rfind('\n', end - 1);
  const auto begin = previous == std::string::npos ? 0 : previous + 1;
  const auto line = text.substr(begin, end - begin);
  auto parsed = json::parse(line, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

void copy_fixture::TearDown() {
  if (!HasFailure()) return;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    const auto ext = entry.path().extension();
    if (ext == ".err" || ext == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::cerr << "---- " << f.filename().string() << "\n" << tail(read_text(f)) << "\n";
  }
}

copy_run copy_fixture::start_copy(const std::vector<std::string>& args, int stdout_fd) {
  const std::string name = "copy" + std::to_string(++runs_);
  copy_run run{{}, path(name + ".out"), path(name + ".err")};
  std::vector<std::string> argv = {MK_MIGRATEKIT_PATH, "copy"};
  argv.insert(argv.end(), args.begin(), args.end());
  run.proc = process::spawn(
      argv, {.stdout_path = run.out, .stderr_path = run.err, .stdout_fd = stdout_fd});
  return run;
}

exit_status copy_fixture::finish(copy_run& run, std::chrono::seconds timeout) {
  if (auto status = run.proc.wait_for(timeout)) return *status;
  ADD_FAILURE() << "migratekit copy still running after " << timeout.count() << " s; killed";
  return run.proc.kill();
}

bool copy_fixture::wait_for_progress(copy_run& run, std::uint64_t bytes,
                                     std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto p = run.last_progress();
    if (p && p->value("bytes_done", std::uint64_t{0}) >= bytes) return true;
    if (!run.proc.running()) {
      ADD_FAILURE() << "migratekit copy ended (" << to_string(*run.proc.wait_for(0s)) << ") before "
                    << bytes << " bytes were done";
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "no progress to " << bytes << " bytes in " << timeout.count() << " s";
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
}

bool copy_fixture::wait_for_file(copy_run& run, const std::filesystem::path& file,
                                 std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!std::filesystem::exists(file)) {
    if (!run.proc.running() || std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << file << " did not appear while the copy ran";
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

nbdkit_server copy_fixture::slow_source(std::vector<std::string> filters,
                                        const std::vector<std::string>& params) const {
  std::vector<std::string> args = {"pattern", std::to_string(disk_size), "rate=40M"};
  args.insert(args.end(), params.begin(), params.end());
  filters.push_back("rate");
  return server("src", filters, args);
}

std::vector<std::string> copy_fixture::checkpointed(const std::string& src,
                                                    const std::string& dst) const {
  std::vector<std::string> args = {src, dst, "--checkpoint", path("cp.json").string()};
  args.insert(args.end(), {"--progress=json", "--requests", std::to_string(requests),
                           "--request-size", std::to_string(request_size)});
  return args;
}

json expect_progress(const copy_run& run, std::string_view final_state, std::uint64_t bytes_total) {
  static const std::set<std::string> states = {"copying", "draining", "stopped", "completed",
                                               "failed"};
  std::istringstream text(read_text(run.out));
  std::vector<json> lines;
  for (std::string line; std::getline(text, line);) {
    auto parsed = json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      ADD_FAILURE() << "progress line is not a JSON object: " << line;
      continue;
    }
    const bool shaped = parsed.contains("state") && parsed["state"].is_string() &&
                        states.contains(parsed["state"].get<std::string>()) &&
                        is_count(parsed.value("bytes_done", json())) &&
                        is_count(parsed.value("bytes_total", json())) &&
                        is_count(parsed.value("bytes_skipped", json())) &&
                        is_count(parsed.value("rate_bps", json())) &&
                        parsed.value("elapsed_s", json()).is_number();
    if (!shaped) {
      ADD_FAILURE() << "progress line lacks a documented field: " << line;
      continue;
    }
    lines.push_back(std::move(parsed));
  }
  if (lines.empty()) {
    ADD_FAILURE() << "no progress line";
    return json::object();
  }

  std::uint64_t previous_done = 0;
  for (const auto& p : lines) {
    const auto done = p["bytes_done"].get<std::uint64_t>();
    EXPECT_EQ(p["bytes_total"].get<std::uint64_t>(), bytes_total) << p.dump();
    EXPECT_LE(done, bytes_total) << p.dump();
    EXPECT_LE(p["bytes_skipped"].get<std::uint64_t>(), done) << p.dump();
    // A failure may take back what was written but could not be flushed any more.
    if (p["state"] != "failed") {
      EXPECT_GE(done, previous_done) << "bytes_done went back: " << p.dump();
    }
    previous_done = done;
  }
  // At most one line every 500 ms, and one more at the end (a state change may add one).
  const double elapsed = lines.back()["elapsed_s"].get<double>();
  EXPECT_LE(lines.size(), static_cast<std::size_t>(elapsed / 0.5) + 3)
      << "progress lines come more often than every 500 ms over " << elapsed << " s";

  const json& last = lines.back();
  EXPECT_EQ(last["state"], final_state) << last.dump();
  if (final_state == "completed") {
    EXPECT_EQ(last["bytes_done"], bytes_total) << last.dump();
  }
  return last;
}

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return json::parse(in);
}

void expect_valid_checkpoint(const json& cp, std::string_view state, std::uint64_t source_size) {
  SCOPED_TRACE("checkpoint " + cp.dump());
  ASSERT_TRUE(cp.is_object());
  EXPECT_EQ(cp.value("version", json()), 1);
  EXPECT_EQ(cp.value("state", json()), state);
  EXPECT_TRUE(cp.value("source", json()).is_string());
  EXPECT_TRUE(cp.value("target", json()).is_string());
  EXPECT_TRUE(cp.value("updated_at", json()).is_string());
  ASSERT_TRUE(is_count(cp.value("source_size", json())));
  ASSERT_TRUE(is_count(cp.value("target_size", json())));
  ASSERT_TRUE(is_count(cp.value("hwm", json())));
  ASSERT_TRUE(is_count(cp.value("bytes_done", json())));
  ASSERT_TRUE(cp.value("done", json()).is_array());
  EXPECT_EQ(cp["source_size"].get<std::uint64_t>(), source_size);
  EXPECT_GE(cp["target_size"].get<std::uint64_t>(), source_size);

  const auto hwm = cp["hwm"].get<std::uint64_t>();
  EXPECT_LE(hwm, source_size);
  std::uint64_t durable = hwm;
  std::uint64_t previous_end = hwm;
  for (const auto& r : cp["done"]) {
    ASSERT_TRUE(r.is_array() && r.size() == 2 && is_count(r[0]) && is_count(r[1])) << r.dump();
    const auto offset = r[0].get<std::uint64_t>();
    const auto length = r[1].get<std::uint64_t>();
    EXPECT_GT(length, 0u) << r.dump();
    EXPECT_GE(offset, previous_end) << "ranges overlap, are unsorted or below hwm: " << r.dump();
    EXPECT_LE(offset + length, source_size) << r.dump();
    previous_end = offset + length;
    durable += length;
  }
  EXPECT_EQ(cp["bytes_done"].get<std::uint64_t>(), durable)
      << "bytes_done is not hwm plus the ranges done";

  // An error is required when the copy failed; a stop may note why it was cut short.
  ASSERT_TRUE(cp.contains("error"));
  if (state == "failed") {
    EXPECT_TRUE(cp["error"].is_string() && !cp["error"].get<std::string>().empty());
  } else if (state == "completed") {
    EXPECT_TRUE(cp["error"].is_null());
  } else {
    EXPECT_TRUE(cp["error"].is_null() || cp["error"].is_string());
  }
  if (state == "completed") {
    EXPECT_EQ(durable, source_size);
  }
}

void expect_durable(const json& cp, const std::string& src_uri, const std::string& dst_uri) {
  std::vector<byte_range> durable = {{0, cp.value("hwm", std::uint64_t{0})}};
  for (const auto& r : cp.value("done", json::array())) {
    durable.push_back({r[0].get<std::uint64_t>(), r[1].get<std::uint64_t>()});
  }
  for (const auto& r : durable) {
    if (r.length == 0) continue;
    EXPECT_EQ(hash_export(dst_uri, r.offset, r.length), hash_export(src_uri, r.offset, r.length))
        << "the checkpoint says [" << r.offset << ", +" << r.length << ") is durable";
  }
}

write_log writes_in(const std::filesystem::path& log) {
  // Lines look like "DATE TIME connection=N Write id=N offset=0x... count=0x... fua=0"; the
  // reply line says "...Write", so the exact word "Write" marks each request once.
  std::istringstream text(read_text(log));
  write_log writes;
  for (std::string line; std::getline(text, line);) {
    std::istringstream words(line);
    int connection = 0;
    bool write = false;
    for (std::string w; words >> w;) {
      if (w.starts_with("connection=")) connection = std::stoi(w.substr(11));
      if (w == "Write") write = true;
      if (write && w.starts_with("count=")) {
        writes.bytes += std::stoull(w.substr(6), nullptr, 0);
        writes.connections.insert(connection);
        break;
      }
    }
  }
  return writes;
}

}  // namespace mk::test
