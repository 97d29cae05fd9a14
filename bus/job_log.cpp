#include <algorithm>
#include <cctype>
#include <climits>

#include "bus/nats_border.hpp"
#include "bus/state.hpp"
#include "bus/subjects.hpp"

namespace mk::bus {

struct job_log::impl {
  std::shared_ptr<detail::jetstream> js;
  std::string stream;
  std::string prefix;
  std::chrono::milliseconds read_timeout{};

  std::string where(std::string_view op, std::string_view job) const {
    return detail::where(*js->conn, std::string(op) + " " + stream + " of job " + std::string(job));
  }
};

namespace detail {

result<std::unique_ptr<job_log>> open_job_log(std::shared_ptr<jetstream> js,
                                              const std::string& prefix,
                                              std::chrono::milliseconds read_timeout) {
  auto p = std::make_unique<job_log::impl>();
  p->js = std::move(js);
  p->prefix = prefix;
  p->read_timeout = read_timeout;
  p->stream = prefix + "_JOBLOG";
  std::transform(p->stream.begin(), p->stream.end(), p->stream.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto what = where(*p->js->conn, "open stream " + p->stream);

  jsStreamInfo* info = nullptr;
  jsErrCode code{};
  auto s = js_GetStreamInfo(&info, p->js->js, p->stream.c_str(), nullptr, &code);
  if (s == NATS_NOT_FOUND) {
    const auto subject = prefix + ".log.>";
    const char* subjects[] = {subject.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);  // limits retention with no limit set: everything is kept
    cfg.Name = p->stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.AllowDirect = true;  // read() asks for one job's entries with direct gets
    s = js_AddStream(&info, p->js->js, &cfg, nullptr, &code);
    // Created by another process in between, with the same config: fine.
    if (s != NATS_OK && code == JSStreamNameExistErr) s = NATS_OK;
  }
  jsStreamInfo_Destroy(info);
  if (s != NATS_OK) return std::unexpected(nats_error(s, what, code));
  return std::make_unique<job_log>(std::move(p));
}

}  // namespace detail

job_log::job_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

job_log::~job_log() = default;

result<std::uint64_t> job_log::append(std::string_view job, std::span<const std::uint8_t> entry) {
  if (!valid_id(job)) return fail(errc::invalid, impl_->where("append to", job) + ": bad id");
  if (entry.size() > INT_MAX)
    return fail(errc::invalid, impl_->where("append to", job) + ": too big");
  const auto subject = impl_->prefix + ".log." + std::string(job);
  jsPubAck* ack = nullptr;
  jsErrCode code{};
  const auto s = js_Publish(&ack, impl_->js->js, subject.c_str(), entry.data(),
                            static_cast<int>(entry.size()), nullptr, &code);
  if (s != NATS_OK) {
    return std::unexpected(detail::nats_error(s, impl_->where("append to", job), code));
  }
  const auto seq = ack->Sequence;
  jsPubAck_Destroy(ack);
  return seq;
}

result<std::vector<bytes>> job_log::read(std::string_view job) {
  if (!valid_id(job)) return fail(errc::invalid, impl_->where("read", job) + ": bad id");
  const auto subject = impl_->prefix + ".log." + std::string(job);
  const auto deadline = std::chrono::steady_clock::now() + impl_->read_timeout;
  std::vector<bytes> entries;
  // One direct get per entry: "the next message on this subject after sequence N". The end
  // of the job's entries, or a job without any, is NATS_NOT_FOUND.
  for (std::uint64_t seq = 0;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      return fail(errc::timeout, impl_->where("read", job) + ": not read in " +
                                     std::to_string(impl_->read_timeout.count()) + " ms");
    }
    jsOptions opts;
    jsOptions_Init(&opts);
    opts.Wait = std::min(left, impl_->js->timeout).count();
    jsDirectGetMsgOptions get;
    jsDirectGetMsgOptions_Init(&get);
    get.Sequence = seq + 1;
    get.NextBySubject = subject.c_str();
    natsMsg* msg = nullptr;
    const auto s = js_DirectGetMsg(&msg, impl_->js->js, impl_->stream.c_str(), &opts, &get);
    if (s == NATS_NOT_FOUND) return entries;
    if (s != NATS_OK) return std::unexpected(detail::nats_error(s, impl_->where("read", job)));
    seq = natsMsg_GetSequence(msg);
    const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
    entries.emplace_back(data, data + natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
  }
}

}  // namespace mk::bus
