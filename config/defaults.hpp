#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
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

/// Seconds between durable checkpoints: the work a SIGKILL can lose.
constexpr double checkpoint_interval_s = 1.0;

/// Seconds without any reply while requests are in flight before an endpoint counts as hung.
constexpr double io_timeout_s = 60.0;

/// Progress lines and bar redraws, at most this often.
constexpr std::chrono::milliseconds progress_interval{500};

/// Window over which the reported transfer rate is averaged.
constexpr std::chrono::milliseconds rate_window{2000};

}  // namespace copy

}  // namespace mk::defaults
