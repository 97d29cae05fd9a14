#pragma once

#include <poll.h>

#include <chrono>
#include <vector>

struct nbd_handle;

namespace mk::nbd {

/// What a raw libnbd handle needs from a poll loop, in one place for the copy's endpoint and
/// the process that reads abandoned replies out (nbd/read_drainer.hpp).

/// The entry to poll for a handle: its socket, with the direction libnbd waits for.
pollfd poll_entry(nbd_handle* h);

/// Passes a poll's `revents` on to libnbd; -1 when the handle failed on it.
int notify(nbd_handle* h, short revents);

/// NBD_CMD_DISC on every ready handle first, then waits for each server to close, never past
/// `deadline`: the servers wind the connections down at the same time.
void disconnect_all(const std::vector<nbd_handle*>& handles,
                    std::chrono::steady_clock::time_point deadline);

}  // namespace mk::nbd
