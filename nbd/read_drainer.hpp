#pragma once

#include <string>
#include <vector>

struct nbd_handle;

namespace mk::nbd {

/// Lets go of source connections that still have reads in flight, without making the mover
/// wait for them. A stop drains writes only: a read in flight has no effect to drain, and on
/// a slow source a mover's reads could take tens of seconds. But an NBD client cannot cancel a
/// request, and nbdkit 1.32 aborts (`raw_send_socket: Assertion sock >= 0`) when a client
/// closes its connection while requests sleep in a filter such as `rate`: the source server
/// would die with the mover. So a child process, forked here, takes the connections over,
/// reads the replies out, disconnects politely once none is outstanding (or after
/// `io_timeout_s` without a reply) and exits; a thread of this process reaps it. It holds no
/// target: it can write nothing. It runs in a session of its own under the title "migratekit
/// drain-reads SOURCE", so that nothing takes it for a mover.
///
/// The handles are ours no longer afterwards: this process's copy of each socket is closed,
/// and the handles are kept, never used again, until the process ends (closing them would
/// end a TLS session the child still uses). If no child can be made, the replies are waited
/// for here instead, and the connections closed: slower, never harmful to the server.
void hand_off_reads(const std::vector<nbd_handle*>& handles, double io_timeout_s,
                    const std::string& source_name);

}  // namespace mk::nbd
