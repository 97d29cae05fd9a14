#include "bus/subjects.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace mk::bus {

namespace {

// Splits off the token before the next dot; `rest` keeps what follows the dot.
std::string_view next_token(std::string_view& rest, bool& more) {
  const auto dot = rest.find('.');
  const auto token = rest.substr(0, dot);
  more = dot != std::string_view::npos;
  rest = more ? rest.substr(dot + 1) : std::string_view{};
  return token;
}

}  // namespace

bool valid_subject(std::string_view subject, bool wildcards) {
  if (subject.empty()) return false;
  bool more = true;
  while (more) {
    const auto token = next_token(subject, more);
    if (token.empty()) return false;
    for (char c : token) {
      // Space, tab, CR and LF would split the protocol line that carries the subject.
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
    }
    // `*` and `>` only as whole tokens, even where they would be literal to NATS: a subject
    // that reads like a pattern is a mistake.
    const bool star = token == "*";
    const bool tail = token == ">";
    if ((star || tail) && (!wildcards || (tail && more))) return false;
    if (!star && !tail && token.find_first_of("*>") != token.npos) return false;
  }
  return true;
}

bool subject_matches(std::string_view pattern, std::string_view subject) {
  bool pattern_more = true;
  bool subject_more = true;
  while (pattern_more) {
    const auto p = next_token(pattern, pattern_more);
    if (p == ">") return subject_more || !subject.empty();
    if (!subject_more) return false;
    const auto s = next_token(subject, subject_more);
    if (p != "*" && p != s) return false;
  }
  return !subject_more;
}

std::string unique_token() {
  std::uint64_t v[2] = {0, 0};
  if (::getrandom(v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    static std::atomic<std::uint64_t> count{0};
    v[0] = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    v[1] = (static_cast<std::uint64_t>(::getpid()) << 32) ^ count++;
  }
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(v[0]),
                static_cast<unsigned long long>(v[1]));
  return text;
}

}  // namespace mk::bus
