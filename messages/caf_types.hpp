#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <string>
#include <tuple>

#include "messages/catalogue.hpp"

/// The catalogue's messages as CAF message types: inspect() walks the same field list as the
/// MessagePack codec, and add_message_types() registers them all, in one place.
namespace mk::msg {

/// CAF prints enumerations through an ADL to_string.
template <wire_enum E>
std::string to_string(E e) {
  return std::string(name_of(e));
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, header& x) {
  return f(caf::meta::type_name("mk_header"), x.id, x.ts, x.from);
}

template <class Inspector, has_fields T>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return std::apply(
      [&](auto&&... fs) {
        if constexpr (requires { x.hdr; })
          return f(caf::meta::type_name(T::caf_name.data()), x.hdr, fs.ref...);
        else
          return f(caf::meta::type_name(T::caf_name.data()), fs.ref...);
      },
      T::fields(x));
}

/// Registers every message of the catalogue with an actor system's configuration.
void add_message_types(caf::actor_system_config& cfg);

}  // namespace mk::msg
