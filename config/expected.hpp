#pragma once

// std::expected where the standard library offers it. The decoder's fuzz target is built with
// clang 14, which cannot instantiate libstdc++ 12's <expected>; there tl::expected (Debian's
// libexpected-dev), its model, stands in with the same interface.
#if __has_include(<expected>) && defined(__cpp_concepts) && __cpp_concepts >= 202002L
#include <expected>
namespace mk {
using std::expected;
using std::unexpected;
}  // namespace mk
#else
#include <tl/expected.hpp>
namespace mk {
using tl::expected;
using tl::unexpected;
}  // namespace mk
#endif
