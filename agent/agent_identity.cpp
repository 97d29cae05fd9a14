#include "agent/agent_identity.hpp"

#include <unistd.h>

#include <climits>
#include <string>

namespace mk::actors {

namespace {

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

}  // namespace

void describe_host(msg::agent_report& report) {
  report.host = host_name();
  // MK_VERSION comes from the project() of the top CMakeLists.txt, for this file alone.
  report.version = MK_VERSION;
}

}  // namespace mk::actors
