#pragma once

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>

/// Errors between actors, as CAF carries them: one category (`mk`), the kinds the REST API
/// maps to statuses, and a message that names the job, volume or agent and the cause.
namespace mk::actors {

enum class errc : std::uint8_t {
  invalid = 1,  ///< bad input (400)
  not_found,    ///< unknown id (404)
  conflict,     ///< the state does not allow it (409)
  unavailable,  ///< refused for now: maintenance, an agent that does not answer (503)
  internal,     ///< the store, the bus or a backend failed (500)
};

constexpr caf::atom_value error_category = caf::atom("mk");

/// The name the API uses for a kind: "invalid", "not_found", "conflict", ...
std::string_view to_string(errc e);

caf::error make_error(errc code, std::string message);

/// An error message that reaches `self` unasked (an error answer to a plain send, a reply
/// bounced back) is logged, not fatal: by default CAF 0.17 ends the actor, and the OMA's
/// participants are needed by every job.
void log_stray_errors(caf::scheduled_actor* self, std::string name);

/// The kind of an error of our category; `internal` for any other (CAF's own, a timeout).
errc code_of(const caf::error& e);
/// The message of an error of our category, or CAF's rendering of any other.
std::string message_of(const caf::error& e);

}  // namespace mk::actors
