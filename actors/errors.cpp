#include "actors/errors.hpp"

#include <spdlog/spdlog.h>

#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>

namespace mk::actors {

std::string_view to_string(errc e) {
  switch (e) {
    case errc::invalid:
      return "invalid";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::unavailable:
      return "unavailable";
    case errc::internal:
      return "internal";
  }
  return "internal";
}

caf::error make_error(errc code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(message)));
}

errc code_of(const caf::error& e) {
  if (e.category() == error_category && e.code() >= 1 && e.code() <= 5)
    return static_cast<errc>(e.code());
  return errc::internal;
}

std::string message_of(const caf::error& e) {
  if (e.category() == error_category && e.context().match_elements<std::string>())
    return e.context().get_as<std::string>(0);
  if (e.category() == caf::atom("system")) return caf::to_string(static_cast<caf::sec>(e.code()));
  return caf::to_string(e);
}

void log_stray_errors(caf::scheduled_actor* self, std::string name) {
  self->set_error_handler([name = std::move(name)](caf::error& err) {
    spdlog::warn("{}: an error came in unasked and was dropped: {}", name, caf::to_string(err));
  });
}

}  // namespace mk::actors
