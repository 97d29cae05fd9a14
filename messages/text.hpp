#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mk::msg {

/// Whether UTF-8 `text` holds no control character: none of C0 (below U+0020), DEL, nor C1
/// (U+0080 to U+009F, which some terminals obey as escapes: U+009B starts a sequence like
/// ESC [). Names, comments and reasons end up on operators' terminals and pages.
bool printable(std::string_view text);

/// "0 B", "512.0 KiB", "1.2 GiB": sizes in stop details, logs and the client's tables.
std::string human_bytes(std::uint64_t bytes);

}  // namespace mk::msg
