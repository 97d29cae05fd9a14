#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <thread>

/// Every tunable default of MigrateKit, one namespace per subsystem. Options, environment
/// variables and config files override these; nothing else in the tree repeats a number.
namespace mk::defaults {

namespace copy {

/// Requests in flight, shared among the worker threads. With `request_size` this bounds the
/// bytes that a graceful stop can lose (nothing, once drained) and that a resume copies again:
/// 64 x 256 KiB = 16 MiB.
constexpr unsigned requests = 64;

/// Bytes per read/write request. Measured on 2 cores against nbdcopy (bench/copy): 256 KiB and
/// 1 MiB copy alike into a written target, but into a fresh one, where the server allocates
/// as it writes, 256 KiB requests were 5-10% faster.
constexpr std::uint64_t request_size = 256 << 10;

/// Reads smaller than `gather_below` are gathered, when they follow each other, into one
/// write of up to `gather_bytes`, written once full or `gather_delay` after its first read (or
/// at once when nothing else is being read). A slow source read 4 KiB at a time made as many
/// writes as reads: each a wake-up of the mover and of the volume's server.
constexpr std::uint64_t gather_below = 64 << 10;
constexpr std::uint64_t gather_bytes = 256 << 10;
constexpr std::chrono::milliseconds gather_delay{1000};

/// Largest request the mover issues whatever the options say (NBD servers commonly cap at
/// 32 MiB; libnbd refuses more than 64 MiB).
constexpr std::uint64_t max_request_size = 32 << 20;

/// Connections per endpoint, used only where the server advertises multi-conn. Each pair
/// gets a worker thread, so more than the cores only adds contention (measured on 2 cores:
/// 2 connections copied 10-15% faster than 4).
inline unsigned connections() { return std::clamp(std::thread::hardware_concurrency(), 1u, 4u); }

/// Largest single zero request; keeps each request well inside NBD's 32-bit length.
constexpr std::uint64_t max_zero_size = 1ull << 30;

/// How far ahead of the copy position one block-status query looks.
constexpr std::uint64_t extent_window = 1ull << 30;

/// Seconds a graceful stop waits for in-flight requests and the final flush.
constexpr double drain_timeout_s = 30.0;

/// Durable checkpoints (each a flush of the target and two fsyncs) come once
/// `checkpoint_bytes` were written since the last, at most every `checkpoint_spacing_s`, and at
/// least every `checkpoint_interval_s` (--checkpoint-interval): the work a SIGKILL can lose.
/// A checkpoint every second whatever the rate made a hundred slow copies a hundred flushes
/// and two hundred fsyncs a second (docs/performance.md, idle cost).
constexpr double checkpoint_interval_s = 30.0;
constexpr std::uint64_t checkpoint_bytes = 256 << 20;
constexpr double checkpoint_spacing_s = 1.0;

/// Seconds without any reply while requests are in flight before an endpoint counts as hung.
constexpr double io_timeout_s = 60.0;

/// Progress lines and bar redraws, at most this often.
constexpr std::chrono::milliseconds progress_interval{500};
/// A JSON progress line is due when the copy moved by a `progress_step` of the disk, its state
/// changed, or `progress_quiet_interval` passed: a copy that moves 80 KB/s writes a line every
/// 5 s, not twice a second, and so do the relays and read-model updates that follow each line.
constexpr std::uint64_t progress_step_per_mille = 1;
constexpr std::chrono::milliseconds progress_quiet_interval{5000};

/// Window over which the reported transfer rate is averaged.
constexpr std::chrono::milliseconds rate_window{2000};

}  // namespace copy

namespace bus {

/// First token of every subject, and the stem of bucket and stream names (docs/bus.md).
constexpr std::string_view prefix = "mk";

/// The name every node's TLS certificate carries besides its own address: a client given the
/// URLs of several nodes checks each by it (NATS.c expects one host name for all of them).
constexpr std::string_view tls_shared_name = "bus.migratekit.internal";

/// Where a node of a bus of several (`migratekit node`, `migratekit oma --routes`) takes
/// clients and the other nodes' routes, unless told otherwise.
constexpr std::uint16_t node_port = 4222;
constexpr std::uint16_t route_port = 6222;

/// The connection name a client shows to the server when the caller gives none.
constexpr std::string_view connection_name = "migratekit";

/// Connects refused for the credentials before a client gives up (see nats_transport.cpp).
constexpr int auth_attempts = 3;

/// How long a restarted server waits for its previous port to be free (the server of an
/// OMA that was killed is still on its way out) when agents elsewhere know it by that port.
constexpr std::chrono::milliseconds previous_port_wait{15000};

/// How often the OMA looks whether its own nats-server still runs, and how long it waits
/// before trying again a start that failed (bus/kept_server.hpp).
constexpr std::chrono::milliseconds server_watch{500};
constexpr std::chrono::milliseconds server_restart_retry{1000};

/// How long a push of the account's JWT (a revocation) waits for a server's answer.
constexpr std::chrono::milliseconds claims_push_timeout{5000};

/// A node of the bus not heard from this long (its statistics come every 30 s once it runs,
/// faster just after its start) that is heard again came back, as after a partition: it is pushed
/// the account's JWT again (bus/node_watch.hpp), as is a node never heard before.
constexpr std::chrono::milliseconds node_silence{45000};

/// How long a push to nodes just heard, or a look at the account a node runs, waits for the
/// node's answer: a node answers in milliseconds; one that does not was just started or is
/// gone, and is asked again node_retry later, until it runs the account with every revocation
/// or is silent for node_silence.
constexpr std::chrono::milliseconds node_confirm_wait{1000};
constexpr std::chrono::milliseconds node_retry{1000};

/// How long after a node joins or comes back the watch looks for the account to run there:
/// a node with the account's streams loads it within seconds; one without it loads it from
/// its resolver folder, which has the pushed JWT, when its first client comes.
constexpr std::chrono::milliseconds node_settle{30000};

/// Threads that deliver the messages of every asynchronous subscription of the process.
/// Each subscription sticks to one of them, which keeps its messages in order; without the
/// pool NATS.c starts a thread per subscription.
constexpr int delivery_threads = 4;

/// Time allowed for one TCP connect and handshake with the server.
constexpr std::chrono::milliseconds connect_timeout{2000};

/// Pause between reconnect attempts, plus up to `reconnect_jitter` so that many agents do
/// not all return in the same millisecond. Attempts never stop (docs/recovery.md).
constexpr std::chrono::milliseconds reconnect_wait{250};
constexpr std::chrono::milliseconds reconnect_jitter{100};

/// Bytes of publishes held while disconnected and sent on reconnect (NATS.c's own default).
constexpr int reconnect_buffer_bytes = 8 << 20;

/// A silent connection is declared dead after two unanswered pings this far apart, and the
/// client moves to another of its URLs; a closed socket is noticed at once. A server cut off
/// by a partition closes nothing: only the pings tell, within about 5 s at this interval
/// (STACK.md, "A NATS cluster").
constexpr std::chrono::milliseconds ping_interval{2000};

/// Ending a subscription waits this long for its handler to return; a handler stuck past it
/// is reported and its state leaked rather than freed under it.
constexpr std::chrono::milliseconds unsubscribe_timeout{5000};

/// Closing a connection waits this long for NATS.c's last callback.
constexpr std::chrono::milliseconds close_timeout{5000};

/// Each JetStream API call (KeyValue, stream, direct get) waits this long for the server.
constexpr std::chrono::milliseconds jetstream_timeout{5000};

/// Reading one job's log back stops with a timeout error past this; so does reading the
/// whole JobLog (stop analytics), which is never answered in part.
constexpr std::chrono::milliseconds log_read_timeout{10000};

/// Entries fetched at once when the whole JobLog is read.
constexpr int log_read_batch = 512;

/// Reading the JobLog from a time starts this much earlier by the server's clock: entries
/// carry the OMA's clock, which may run ahead of the server's.
constexpr std::chrono::milliseconds log_clock_margin{std::chrono::minutes(10)};

/// Revisions a KeyValue bucket keeps per key: the latest is all the product reads.
constexpr int kv_history = 1;

/// Copies of the JetStream state (buckets and the JobLog) kept by a bus of several nodes
/// (--replicas); one node keeps one.
constexpr int replicas = 1;

/// How long a write to JetStream is tried again while the bus elects a leader for it: a node
/// lost, or a partition healing, leaves a bucket without one for 4-12 s on nats-server 2.9.10
/// (STACK.md), during which writes get a 503 or no answer. Tried again after
/// `election_retry_first`, doubling up to `election_retry_max`.
constexpr std::chrono::milliseconds election_wait{20000};
constexpr std::chrono::milliseconds election_retry_first{100};
constexpr std::chrono::milliseconds election_retry_max{1000};

/// The embedded nats-server: time to accept connections after start, and to exit after
/// SIGTERM before it gets SIGKILL.
constexpr std::chrono::milliseconds server_ready_timeout{10000};
constexpr std::chrono::milliseconds server_stop_timeout{5000};

}  // namespace bus

namespace messages {

/// Wire format version written in every message's `v`.
constexpr unsigned wire_version = 1;

/// Limits on what a decoder accepts from the bus: hostile input is refused before it
/// allocates. A message is a map of at most a few dozen keys; the largest arrays are an
/// agent's movers.
constexpr std::size_t max_bytes = 1 << 20;
constexpr std::size_t max_depth = 6;
constexpr std::size_t max_array = 4096;
constexpr std::size_t max_map = 64;
constexpr std::size_t max_string = 64 << 10;

}  // namespace messages

namespace vma {

/// How long after a reconnect to the bus the agent says hello again: after a server restart
/// the OMA reconnects too, and is most likely back by then to hear it.
constexpr std::chrono::milliseconds hello_after_reconnect{1000};

/// An agent asks a source for its size before the OMA makes the job's volume (a probe); a
/// source that does not answer in this time fails the start. Less than jobs::start_timeout,
/// so the OMA hears the agent's reason rather than its own timeout.
constexpr std::chrono::milliseconds source_probe_timeout{8000};

/// How long a graceful stop waits after SIGTERM before the mover gets SIGKILL
/// (docs/stop-protocol.md). A mover's own drain is bounded by `copy::drain_timeout_s`, also 30 s: a
/// mover that honours SIGTERM is normally done before the grace is.
constexpr std::chrono::milliseconds grace{30000};

/// Longest progress line taken from a mover's stdout (a real one is about 120 bytes); past it
/// the line is dropped and counted as malformed rather than buffered without bound.
constexpr std::size_t max_progress_line = 64 << 10;

/// `wait_exit` looks again at least this often, whatever the pidfd says.
constexpr std::chrono::milliseconds wait_slice{100};

/// How often a vma-process actor looks at a mover that the agent's watch cannot tell it about:
/// an adopted one (no pipe: its checkpoint file says its progress), or any mover when the
/// watch could not be made. A look that finds nothing new publishes nothing.
constexpr std::chrono::milliseconds tick_interval{200};

/// How often it looks at a watched mover all the same. Its progress lines and its end are told
/// by the watch (sys/fd_watch.hpp) the moment they come: looking every `tick_interval`, a
/// hundred slow movers cost `up` 500 wake-ups a second (docs/performance.md, idle cost).
constexpr std::chrono::milliseconds watched_tick_interval{5000};

/// How often it looks while a stop waits for the mover to end. The end itself is told at once
/// by the agent's watch (sys/fd_watch.hpp); this look escalates an overdue stop to
/// SIGKILL and is the fallback should the watch be missing. (Looking every 5 ms instead, 200
/// movers stopping at once cost 40,000 looks a second.)
constexpr std::chrono::milliseconds stop_tick_interval{50};

/// Folders under the agent's data directory: the movers' records (pid and start time, read
/// back by the next agent), their checkpoints (named by the OMA, never a path from the bus),
/// and their stderr logs.
constexpr std::string_view movers_subdir = "movers";
constexpr std::string_view checkpoints_subdir = "checkpoints";
constexpr std::string_view logs_subdir = "logs";

/// Bytes of the end of a mover's stderr log quoted in the detail of its `exited` progress:
/// enough for the last error lines, small enough for a bus message.
constexpr std::size_t stderr_tail = 1024;

/// How long an agent keeps the record of a mover that ended (its exit status, for status
/// replies and hellos) when the job is not started again.
constexpr std::chrono::hours ended_retention{24 * 7};
/// How often a running agent forgets the ended movers past `ended_retention` (a start forgets
/// them too).
constexpr std::chrono::minutes ended_prune_interval{10};
/// Ended movers in a hello or a status reply, the newest first: the OMA needs the recent ones,
/// to settle a job whose `exited` progress it missed. Running movers are always all listed.
constexpr std::size_t max_ended_reported = 64;

/// Time a forwarded stop request may wait for the vma-process actor to take it. Past it the
/// agent gives up on that copy of the request: the job actor re-sends every second anyway.
constexpr std::chrono::milliseconds forward_timeout{5000};

/// Agent id of `migratekit vma` when none is given (`migratekit up` runs one as "local").
constexpr std::string_view agent_id = "local";

}  // namespace vma

namespace volumes {

/// The NBD server that serves local volumes. A path, not a name: children are never started
/// through a PATH search.
constexpr std::string_view nbdkit = "/usr/bin/nbdkit";

/// Folder under the data directory that holds the local volumes, their metadata and sockets.
constexpr std::string_view subdir = "volumes";

/// Time nbdkit has to write its pid file (it does so once it accepts connections).
constexpr std::chrono::milliseconds server_ready_timeout{10000};

/// Time nbdkit has to exit after SIGTERM before it gets SIGKILL. nbdkit's file plugin holds no
/// data of its own (writes reach the page cache at once), so a kill loses nothing that the
/// fsync after it does not make durable.
constexpr std::chrono::milliseconds server_stop_timeout{5000};

/// How often a start or stop looks again for the pid file or the exit.
constexpr std::chrono::milliseconds poll_interval{10};

/// Volumes attached, detached or removed at once (threads of the volume actor's own; one
/// volume's steps always in order). Each step mostly waits, for nbdkit to start or end or for
/// an fsync: one at a time, a maintenance of 200 jobs waited 236 ms (p50) per stop for its turn.
constexpr std::size_t lanes = 8;

}  // namespace volumes

/// Lanes for blocking work (actors/blocking_lanes.hpp): threads of their own beside the
/// actors' scheduler. Store writes take milliseconds each, so a few lanes carry many jobs; a
/// request to an agent may wait its whole timeout, so those get lanes of their own, more of
/// them, and never hold up a store write.
namespace blocking {

constexpr std::size_t store_lanes = 4;
constexpr std::size_t request_lanes = 8;

}  // namespace blocking

namespace jobs {

/// How long a job actor waits for its agent to answer a start request (the agent forks the
/// mover and answers at once; this covers a busy bus).
constexpr std::chrono::milliseconds start_timeout{10000};
/// How long an asker (the registry, the API, maintenance mode, the scheduler, `up`) waits for
/// a job actor's answer. The answer comes once the step is stored (a stop is written as
/// `stopping` first), and a store write may take up to three JetStream operations of
/// `bus::jetstream_timeout` each, behind the writes queued ahead of it on its lane: fifty
/// jobs on a loaded machine took a stop's answer past 10 s, and the asker reported a stop it
/// had in fact made as failed.
constexpr std::chrono::milliseconds answer_timeout{30000};
/// How long a job actor waits for its volume to be attached. The volume actor attaches one
/// volume at a time, each bounded by its own steps (nbdkit's start,
/// `volumes::server_ready_timeout`), so a burst of new
/// jobs waits in line: fifty created at once on a loaded machine took 30 s for the last. This
/// only catches a volume actor that no longer answers.
constexpr std::chrono::milliseconds attach_timeout{300000};

/// A start that finds no agent on the bus (it is restarting, or the bus is reconnecting) is
/// asked again every `agent_retry` for `agent_wait` before the job fails, resumable. The fault
/// suite resumed jobs while their agent restarted, and saw them fail for it.
constexpr std::chrono::milliseconds agent_wait{60000};
constexpr std::chrono::milliseconds agent_retry{1000};

/// Reads of a job's record at an OMA start that time out are made again this many times in
/// all before the job is left without its actor: a reply lost on the bus cost one job in
/// 10,000 its place in a start (bench/records).
constexpr unsigned recover_reads = 3;

/// Progress reaches a job several times a second; its record in the store is rewritten with
/// the latest figures at most this often (state changes are written at once).
constexpr std::chrono::milliseconds progress_persist_interval{5000};

/// The stop protocol's deadlines past the grace (docs/stop-protocol.md): the quiesce phase
/// ends `grace + quiesce_extra` after the request, the volumes phase `volumes_deadline` after
/// it began; unconfirmed participants get the stop again every `republish`.
constexpr std::chrono::milliseconds quiesce_extra{15000};
constexpr std::chrono::milliseconds volumes_deadline{30000};
constexpr std::chrono::milliseconds republish{1000};

/// Writes of a record or a JobLog entry that failed (the store away, as while nats-server
/// restarts) are tried again this often, in order; so is a start that could not be stored.
constexpr std::chrono::milliseconds store_retry{1000};

/// A stop's comment and grace period at most, whether it comes over HTTP or the bus.
constexpr std::size_t max_comment = 1024;
constexpr std::uint32_t max_grace_seconds = 86400;

}  // namespace jobs

/// Maintenance mode (docs/operations.md).
namespace maintenance {

/// Stops in flight at once when PUT /maintenance names no max_parallel, and the most it may
/// name.
constexpr std::uint32_t max_parallel = 32;
constexpr std::uint32_t max_parallel_limit = 10000;
/// The reason is kept in every JobLog that the maintenance touches.
constexpr std::size_t max_reason = 1024;
/// The key of the mode in the settings bucket.
constexpr std::string_view settings_key = "maintenance";

}  // namespace maintenance

namespace schedules {

/// Schedules kept at most: each is a document in the schedules bucket and a timer.
constexpr std::size_t max_count = 1000;
/// A one-shot at most this far ahead: the actor clock counts nanoseconds in 64 bits.
constexpr std::chrono::hours max_ahead{24 * 366 * 10};
/// The scheduler looks at the wall clock at least this often, so that a long wait on the
/// actor clock (a steady clock) cannot drift from the wall clock that `at` times name.
constexpr std::chrono::seconds recheck{60};
/// A one-shot that fired leaves the list this long after it fired; what it did stays in the
/// JobLog of each job it acted on.
constexpr std::chrono::hours fired_retention{24 * 7};

}  // namespace schedules

/// The OMA's participants: the poller, the volume actor and the scheduler.
namespace oma {

/// A job's progress goes to its job actor at most this often (docs/api.md: the UI shows
/// progress at most twice a second); an agent's exit report goes at once.
constexpr std::chrono::milliseconds snapshot_interval{500};

/// How often the poller asks each agent with followed jobs which movers it runs, and how
/// long it waits for the answer. Progress lines arrive every 500 ms anyway; the status poll
/// is what notices a mover or an agent that vanished without a word.
constexpr std::chrono::milliseconds status_interval{5000};
constexpr std::chrono::milliseconds status_timeout{2000};

/// Status polls in a row without an answer before an agent's followed jobs count as lost:
/// 6 x 5 s rides out a nats-server restart or a short network outage.
constexpr unsigned missed_limit = 6;

/// GET /agents shows an agent online while its last hello or status reply is at most this old:
/// as long as the poller waits (`missed_limit` polls) before it gives up on an agent's jobs.
constexpr std::chrono::milliseconds agent_online = missed_limit * status_interval;

/// A followed job whose bytes_done has not moved for this long is reported stalled, once
/// (the mover's own --io-timeout, 60 s, fails a hung endpoint well before this).
constexpr std::chrono::milliseconds stall_after{300000};

/// A mover is expected in its agent's list only this long after following began: the start
/// reply and the first status may cross on the bus.
constexpr std::chrono::milliseconds list_grace{10000};

}  // namespace oma

/// The REST API (docs/api.md and docs/security.md).
namespace api {

/// Loopback unless told otherwise: the token is the only guard, and it travels in clear.
constexpr std::string_view listen = "127.0.0.1:8080";

/// Bodies over this are refused with 413; JSON nested deeper than max_depth with 400.
constexpr std::size_t max_body = 1 << 20;
constexpr std::size_t max_depth = 32;

/// Each connection holds a thread while it is served; an /events stream holds one for as
/// long as it is open (STACK.md), so the pool is sized for the streams plus the requests,
/// and streams past max_event_streams are refused with 503.
constexpr std::size_t threads = 48;
constexpr std::size_t max_event_streams = 32;

/// An open /events stream with nothing to tell sends a comment this often, so that proxies
/// and clients see a live connection.
constexpr std::chrono::milliseconds keepalive{15000};

/// How long a request waits for the job actors' answer (a stop is stored before the answer):
/// longer than the registry waits for a job (`jobs::answer_timeout`), so that its error, not
/// this one, is what the client hears.
constexpr std::chrono::milliseconds request_timeout{40000};

/// GET /replications: the default and the largest page.
constexpr std::size_t page_size = 100;
constexpr std::size_t max_page_size = 1000;

/// POST /replications/stop: ids in one batch.
constexpr std::size_t max_batch = 10000;

/// Agent of a new job when the request names none: the one `migratekit up` runs.
constexpr std::string_view vma = "local";

}  // namespace api

/// `migratekit ctl`, the REST API's command-line client.
namespace ctl {

/// Where a local `migratekit up` keeps api-url and api-token, when neither --data nor
/// MIGRATEKIT_DATA says otherwise (`./mk up` runs it on ./data).
constexpr std::string_view data_dir = "./data";

/// One TCP connect, and one request's answer: the API answers a stop at once (202) and
/// settles it in the background, so a minute without a reply means it is not answering.
constexpr std::chrono::milliseconds connect_timeout{5000};
constexpr std::chrono::milliseconds request_timeout{60000};

/// An event stream silent for this long counts as lost and is opened again: two of the
/// API's keepalive intervals.
constexpr std::chrono::milliseconds stream_idle_timeout = 2 * api::keepalive;

/// Pause before opening a lost event stream again.
constexpr std::chrono::milliseconds reconnect_wait{1000};

/// A live display on a terminal is redrawn at most this often; where stdout is not a
/// terminal, a job's progress is printed as a line at most every `plain_progress_interval`
/// (state changes and confirmations at once).
constexpr std::chrono::milliseconds redraw_interval{250};
constexpr std::chrono::milliseconds plain_progress_interval{5000};

}  // namespace ctl

/// The processes' start (`migratekit up`, `oma`, `vma`).
namespace nodes {

/// How long a starting process waits for its data folder's lock before it says the folder is
/// in use. A supervisor restarts a killed agent at once, and the lock can outlive the kill by
/// a moment: a mover forked just then holds the descriptor until its exec closes it. The fault
/// suite saw that once in 200 rounds.
constexpr std::chrono::milliseconds lock_wait{5000};
constexpr std::chrono::milliseconds lock_retry{50};

/// `up`'s shutdown gives its stops the grace a mover has plus this to settle: the drain of the
/// volume phase and the bus round trips.
constexpr std::chrono::milliseconds settle_margin{20000};
/// How often a process waiting for its end looks for a second signal.
constexpr std::chrono::milliseconds signal_poll{200};

}  // namespace nodes

}  // namespace mk::defaults
