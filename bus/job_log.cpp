#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <limits>

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
    cfg.Replicas = p->js->replicas;
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

const std::string& job_log::stream_name() const { return impl_->stream; }

result<std::uint64_t> job_log::append(std::string_view job, std::span<const std::uint8_t> entry) {
  if (!valid_id(job)) return fail(errc::invalid, impl_->where("append to", job) + ": bad id");
  if (entry.size() > INT_MAX)
    return fail(errc::invalid, impl_->where("append to", job) + ": too big");
  const auto subject = impl_->prefix + ".log." + std::string(job);
  // Tried again through a leader election under one message id: should an earlier try have
  // been stored after all, the stream keeps that one and acknowledges this as a duplicate.
  const auto id = unique_token();
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode code{};
  // Tried again as it is: the message id has the stream store it once.
  const auto s = detail::retry_through_election(*impl_->js, [&] {
    jsPubAck_Destroy(ack);
    ack = nullptr;
    return js_Publish(&ack, impl_->js->js, subject.c_str(), entry.data(),
                      static_cast<int>(entry.size()), &po, &code);
  });
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
    // Any copy answers a direct get; one catching up after a partition may not answer yet.
    const auto s = detail::retry_through_election(*impl_->js, [&] {
      return js_DirectGetMsg(&msg, impl_->js->js, impl_->stream.c_str(), &opts, &get);
    });
    if (s == NATS_NOT_FOUND) return entries;
    if (s != NATS_OK) return std::unexpected(detail::nats_error(s, impl_->where("read", job)));
    seq = natsMsg_GetSequence(msg);
    const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
    entries.emplace_back(data, data + natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
  }
}

namespace {

/// An ephemeral pull consumer of the JobLog: unsubscribed (so the server deletes it) and freed
/// however the read ends.
struct pull_consumer {
  natsSubscription* sub = nullptr;
  pull_consumer() = default;
  pull_consumer(const pull_consumer&) = delete;
  pull_consumer& operator=(const pull_consumer&) = delete;
  ~pull_consumer() {
    if (!sub) return;
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
};

/// One fetched batch, freed however its reading ends.
struct fetched {
  natsMsgList list{};
  fetched() = default;
  fetched(const fetched&) = delete;
  fetched& operator=(const fetched&) = delete;
  ~fetched() { natsMsgList_Destroy(&list); }
};

std::int64_t nanos(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

}  // namespace

result<> job_log::read_all(std::int64_t since_unix_ms,
                           const std::function<void(std::span<const std::uint8_t>)>& each) {
  using std::chrono::milliseconds;
  const auto& js = *impl_->js;
  const auto what = detail::where(*js.conn, "read all of " + impl_->stream);
  const auto deadline = std::chrono::steady_clock::now() + impl_->read_timeout;
  auto time_left = [&] {
    return std::min(
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()),
        js.timeout);
  };
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = time_left().count();
  jsErrCode code{};

  // The end of this read: what is stored now. Entries appended meanwhile are the next read's.
  jsStreamInfo* info = nullptr;
  auto s = js_GetStreamInfo(&info, js.js, impl_->stream.c_str(), &jo, &code);
  if (s != NATS_OK) return std::unexpected(detail::nats_error(s, what, code));
  const auto last = info->State.LastSeq;
  const auto stored = info->State.Msgs;
  jsStreamInfo_Destroy(info);
  if (stored == 0) return {};

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = impl_->stream.c_str();
  so.Config.AckPolicy = js_AckNone;  // read once, never redelivered
  so.Config.MemoryStorage = true;    // nothing of this reader is worth a disk write
  // A consumer whose reader died before unsubscribing goes away by itself.
  so.Config.InactiveThreshold = nanos(impl_->read_timeout + js.timeout);
  const auto from = since_unix_ms - defaults::bus::log_clock_margin.count();
  // The server keeps times as nanoseconds in 64 bits (up to 2262): none is stored later.
  if (from > std::numeric_limits<std::int64_t>::max() / 1'000'000) return {};
  if (since_unix_ms > 0 && from > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartTime;
    so.Config.OptStartTime = from * 1'000'000;
  }
  const auto subject = impl_->prefix + ".log.>";
  pull_consumer consumer;
  s = js_PullSubscribe(&consumer.sub, js.js, subject.c_str(), nullptr, &jo, &so, &code);
  if (s != NATS_OK) return std::unexpected(detail::nats_error(s, what, code));
  // Nothing to deliver (nothing since `since`) is known now, rather than after a fetch's wait.
  jsConsumerInfo* ci = nullptr;
  s = natsSubscription_GetConsumerInfo(&ci, consumer.sub, &jo, &code);
  if (s != NATS_OK) return std::unexpected(detail::nats_error(s, what, code));
  const auto pending = ci->NumPending;
  jsConsumerInfo_Destroy(ci);
  if (pending == 0) return {};

  for (;;) {
    const auto w = time_left();
    if (w <= milliseconds::zero())
      return fail(errc::timeout,
                  what + ": not read in " + std::to_string(impl_->read_timeout.count()) + " ms");
    fetched batch;
    s = natsSubscription_Fetch(&batch.list, consumer.sub, defaults::bus::log_read_batch, w.count(),
                               &code);
    if (s == NATS_TIMEOUT) continue;  // the deadline above decides
    if (s != NATS_OK) return std::unexpected(detail::nats_error(s, what, code));
    for (int i = 0; i < batch.list.Count; ++i) {
      natsMsg* msg = batch.list.Msgs[i];
      jsMsgMetaData* meta = nullptr;
      if (auto ms = natsMsg_GetMetaData(&meta, msg); ms != NATS_OK)
        return std::unexpected(detail::nats_error(ms, what + ": an entry's metadata"));
      const auto seq = meta->Sequence.Stream;
      const auto more = meta->NumPending;
      jsMsgMetaData_Destroy(meta);
      if (seq > last) return {};  // appended after the read began
      const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
      each({data, static_cast<std::size_t>(natsMsg_GetDataLength(msg))});
      if (seq == last || more == 0) return {};
    }
  }
}

}  // namespace mk::bus
