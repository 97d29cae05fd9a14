// attach_and_crash DATA ID SIZE: creates volume ID of SIZE bytes under DATA, attaches it,
// prints its URI on stdout and dies of SIGKILL, as a crashed OMA would, leaving the server it
// started behind. Exit 1 with a message on stderr if any step fails.
#include <csignal>
#include <cstdio>
#include <string>

#include "oma/volumes/local_backend.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: attach_and_crash DATA ID SIZE\n");
    return 2;
  }
  std::uint64_t size = 0;
  try {
    size = std::stoull(argv[3]);
  } catch (const std::exception&) {
    std::fprintf(stderr, "bad size %s\n", argv[3]);
    return 2;
  }
  auto backend = mk::volumes::local_backend::open({.data_dir = argv[1]});
  if (!backend) {
    std::fprintf(stderr, "%s\n", backend.error().message.c_str());
    return 1;
  }
  if (auto v = (*backend)->create(argv[2], size); !v) {
    std::fprintf(stderr, "%s\n", v.error().message.c_str());
    return 1;
  }
  auto uri = (*backend)->attach(argv[2]);
  if (!uri) {
    std::fprintf(stderr, "%s\n", uri.error().message.c_str());
    return 1;
  }
  std::fputs(uri->c_str(), stdout);
  std::fflush(stdout);
  std::raise(SIGKILL);
  return 1;
}
