#pragma once

#include <string>
#include <string_view>

namespace mk::actors {

/// What is wrong with `source` as the source of a new replication, naming `source`; empty when
/// nothing is. A source is an NBD URI (docs/security.md):
///
///   nbd://HOST[:PORT]/EXPORT        nbds://HOST[:PORT]/EXPORT
///   nbd+unix:///EXPORT?socket=PATH  nbds+unix:///EXPORT?socket=PATH
///
/// written in URI characters only (RFC 3986, percent-encoding for the rest), with a port from
/// 1 to 65535 and, for a Unix socket, an absolute PATH that never climbs with `..`. libnbd
/// would otherwise wrap a port past 65535 onto another service, and resolve a relative socket
/// against wherever the mover happens to run. Movers get an argument vector, never a shell,
/// so this is not about quoting: it keeps a job's source meaning one thing on every host.
std::string source_problem(std::string_view source);

}  // namespace mk::actors
