#pragma once

#include <string_view>
#include <tuple>

namespace mk::msg {

/// One named field of a message: its key on the wire and a reference to the member. Each
/// message lists its fields once, in `fields()`; the MessagePack codec and CAF's inspect() both
/// walk that list, so a field cannot be added to one and forgotten in the other.
template <class T>
struct field {
  std::string_view key;
  T& ref;
  bool required;
};

template <class T>
field<T> req(std::string_view key, T& ref) {
  return {key, ref, true};
}

template <class T>
field<T> opt(std::string_view key, T& ref) {
  return {key, ref, false};
}

/// A type with a field list (`static auto fields(auto& self)` returning a tuple of fields).
template <class T>
concept has_fields = requires(T& x) {
  T::fields(x);
};

/// A message of the catalogue: it has a field list, a wire `type` and a CAF type name.
template <class T>
concept catalogued = has_fields<T> && requires {
  { T::type } -> std::convertible_to<std::string_view>;
  { T::caf_name } -> std::convertible_to<std::string_view>;
};

}  // namespace mk::msg
