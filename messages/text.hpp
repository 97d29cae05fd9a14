#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mk::msg {

/// Whether UTF-8 `text` holds no control character: none of C0 (below U+0020), DEL, nor C1
/// (U+0080 to U+009F, which some terminals obey as escapes: U+009B starts a sequence like
/// ESC [). Names, comments and reasons end up on operators' terminals and pages.
bool printable(std::string_view text);

}  // namespace mk::msg
