#pragma once

#include <string>
#include <string_view>

#include "messages/subjects.hpp"

namespace mk::bus {

/// Ids of jobs, agents and KeyValue keys are checked with the catalogue's msg::valid_id
/// (docs/api.md): only such ids become a token of a subject or a key.
using msg::valid_id;
using msg::valid_prefix;

/// A NATS subject: dot-separated, non-empty tokens without spaces or control characters.
/// With `wildcards`, a token may be `*` (any one token) and the last one `>` (one or more);
/// `*` and `>` never appear inside a token.
bool valid_subject(std::string_view subject, bool wildcards);

/// Whether `subject` (no wildcards) is matched by `pattern` (with wildcards), as NATS does.
bool subject_matches(std::string_view pattern, std::string_view subject);

/// 32 hex digits no other call makes (128 random bits; should the kernel not give them, the
/// time and a count of this process): a JobLog append's de-duplication id, a private reply
/// subject's last token.
std::string unique_token();

}  // namespace mk::bus
