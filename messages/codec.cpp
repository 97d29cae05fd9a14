// MessagePack codec of the catalogue. Encoding and decoding walk each message's field list;
// decoding inspects msgpack objects by hand (no convert(), which throws) so that every defect
// becomes an error value that names the key.
#include "messages/codec.hpp"

#include <atomic>
#include <limits>
#include <msgpack.hpp>
#include <new>

#include "config/defaults.hpp"

namespace mk::msg {

namespace {

namespace lim = defaults::messages;
using packer = msgpack::packer<msgpack::sbuffer>;
using obj = msgpack::object;

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// -- encoding ---------------------------------------------------------------

template <class T>
void pack_value(packer& pk, const T& v);

template <has_fields T>
void pack_fields(packer& pk, const T& x, std::uint32_t extra_keys) {
  auto fs = T::fields(x);
  pk.pack_map(static_cast<std::uint32_t>(std::tuple_size_v<decltype(fs)>) + extra_keys);
  std::apply([&](const auto&... f) { ((pk.pack(f.key), pack_value(pk, f.ref)), ...); }, fs);
}

template <class T>
void pack_value(packer& pk, const T& v) {
  if constexpr (wire_enum<T>) {
    pk.pack(name_of(v));
  } else if constexpr (is_vector<T>::value) {
    pk.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) pack_value(pk, e);
  } else if constexpr (has_fields<T>) {
    pack_fields(pk, v, 0);
  } else {
    pk.pack(v);
  }
}

// -- decoding ---------------------------------------------------------------

unexpected<decode_error> bad(std::string_view key, std::string_view why) {
  return unexpected(decode_error{"key '" + std::string(key) + "': " + std::string(why)});
}

/// Whether `s` is well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates
/// or code points past U+10FFFF. Strings go on into JSON (the job records, the JobLog, the
/// API), whose writer throws at anything else: a string from the bus that is not UTF-8 would
/// end the actor that stores it.
bool utf8(std::string_view s) {
  static constexpr std::uint32_t least[] = {0, 0x80, 0x800, 0x10000};
  for (std::size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if ((lead >= 0x80 && lead < 0xc0) || lead >= 0xf8) return false;
    const std::size_t more = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
    std::uint32_t cp = lead & (0x7fu >> more);
    if (s.size() - i <= more) return false;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xc0u) != 0x80u) return false;
      cp = (cp << 6) | (next & 0x3fu);
    }
    if (cp < least[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += more + 1;
  }
  return true;
}

decoded<void> read_value(const obj& o, std::string_view key, std::string& out) {
  if (o.type != msgpack::type::STR) return bad(key, "expected a string");
  if (!utf8(std::string_view(o.via.str.ptr, o.via.str.size)))
    return bad(key, "a string that is not UTF-8");
  out.assign(o.via.str.ptr, o.via.str.size);
  return {};
}

decoded<void> read_value(const obj& o, std::string_view key, bool& out) {
  if (o.type != msgpack::type::BOOLEAN) return bad(key, "expected true or false");
  out = o.via.boolean;
  return {};
}

template <std::integral T>
decoded<void> read_value(const obj& o, std::string_view key, T& out) {
  using limits = std::numeric_limits<T>;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(limits::max()))
      return bad(key, "number out of range");
    out = static_cast<T>(o.via.u64);
    return {};
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER && limits::is_signed) {
    if (o.via.i64 < static_cast<std::int64_t>(limits::min()))
      return bad(key, "number out of range");
    out = static_cast<T>(o.via.i64);
    return {};
  }
  return bad(key, limits::is_signed ? "expected an integer" : "expected a non-negative integer");
}

template <wire_enum E>
decoded<void> read_value(const obj& o, std::string_view key, E& out) {
  if (o.type != msgpack::type::STR) return bad(key, "expected a string");
  auto e = parse_enum<E>(std::string_view(o.via.str.ptr, o.via.str.size));
  if (!e) return bad(key, "unknown value '" + std::string(o.via.str.ptr, o.via.str.size) + "'");
  out = *e;
  return {};
}

template <has_fields T>
decoded<void> read_fields(const obj& o, std::string_view key, T& x);

template <class T>
decoded<void> read_value(const obj& o, std::string_view key, std::vector<T>& out) {
  if (o.type != msgpack::type::ARRAY) return bad(key, "expected an array");
  out.clear();
  out.reserve(o.via.array.size);  // bounded by the unpack limit
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
    T item{};
    if (auto r = read_fields(o.via.array.ptr[i], key, item); !r) return r;
    out.push_back(std::move(item));
  }
  return {};
}

/// Fills the fields of `x` from a map; `on_other(key, value)` sees keys outside the list.
template <has_fields T, class Other>
decoded<void> read_map(const obj& o, std::string_view where, T& x, Other on_other) {
  if (o.type != msgpack::type::MAP) return bad(where, "expected a map");
  auto fs = T::fields(x);
  constexpr std::size_t n = std::tuple_size_v<decltype(fs)>;
  std::array<bool, n> seen{};
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return bad(where, "a key that is not a string");
    std::string_view k(kv.key.via.str.ptr, kv.key.via.str.size);
    decoded<void> r;
    bool known = false;
    std::size_t idx = 0;
    std::apply(
        [&](auto&... f) {
          (([&] {
             if (!known && f.key == k) {
               known = true;
               seen[idx] = true;
               // nil stands for "not given", like a missing key
               if (kv.val.type != msgpack::type::NIL)
                 r = read_value(kv.val, f.key, f.ref);
               else
                 seen[idx] = false;
             }
             ++idx;
           }()),
           ...);
        },
        fs);
    if (!r) return r;
    if (!known)
      if (auto o2 = on_other(k, kv.val); !o2) return o2;
  }
  decoded<void> missing;
  std::size_t idx = 0;
  std::apply(
      [&](auto&... f) {
        (([&] {
           if (missing && f.required && !seen[idx]) missing = bad(f.key, "missing");
           ++idx;
         }()),
         ...);
      },
      fs);
  return missing;
}

template <has_fields T>
decoded<void> read_fields(const obj& o, std::string_view key, T& x) {
  return read_map(o, key, x, [](std::string_view, const obj&) { return decoded<void>{}; });
}

/// A whole message: the header keys, then the body; unknown keys are ignored.
template <catalogued T>
decoded<T> read_message(const obj& o) {
  T m{};
  bool have_v = false, have_type = false;
  auto r = read_map(o, "message", m, [&](std::string_view k, const obj& v) -> decoded<void> {
    if (k == "v") {
      unsigned version = 0;
      if (auto rv = read_value(v, k, version); !rv) return rv;
      if (version != lim::wire_version)
        return bad(k, "unsupported version " + std::to_string(version));
      have_v = true;
    } else if (k == "type") {
      std::string type;
      if (auto rt = read_value(v, k, type); !rt) return rt;
      if (type != T::type)
        return bad(k, "'" + type + "' where '" + std::string(T::type) + "' was expected");
      have_type = true;
    } else if (k == "id" && v.type != msgpack::type::NIL) {
      return read_value(v, k, m.hdr.id);
    } else if (k == "ts" && v.type != msgpack::type::NIL) {
      return read_value(v, k, m.hdr.ts);
    } else if (k == "from" && v.type != msgpack::type::NIL) {
      return read_value(v, k, m.hdr.from);
    }
    return {};
  });
  if (!r) return unexpected(r.error());
  if (!have_v) return bad("v", "missing");
  if (!have_type) return bad("type", "missing");
  return m;
}

/// Unpacks one object within the limits, refusing trailing bytes.
decoded<msgpack::object_handle> unpack(std::span<const std::uint8_t> data) {
  if (data.size() > lim::max_bytes)
    return unexpected(decode_error{"message of " + std::to_string(data.size()) +
                                   " bytes is over the limit of " +
                                   std::to_string(lim::max_bytes)});
  if (data.empty()) return unexpected(decode_error{"empty message"});
  msgpack::unpack_limit limit(lim::max_array, lim::max_map, lim::max_string, lim::max_string, 0,
                              lim::max_depth);
  std::size_t off = 0;
  try {
    auto oh = msgpack::unpack(reinterpret_cast<const char*>(data.data()), data.size(), off, nullptr,
                              nullptr, limit);
    if (off != data.size())
      return unexpected(
          decode_error{std::to_string(data.size() - off) + " trailing bytes after the message"});
    return oh;
  } catch (const msgpack::unpack_error& e) {
    return unexpected(decode_error{std::string("malformed MessagePack: ") + e.what()});
  } catch (const msgpack::type_error& e) {
    return unexpected(decode_error{std::string("malformed MessagePack: ") + e.what()});
  } catch (const std::bad_alloc&) {
    return unexpected(decode_error{"malformed MessagePack: too large to hold"});
  } catch (const std::exception& e) {
    return unexpected(decode_error{std::string("malformed MessagePack: ") + e.what()});
  }
}

template <class... Ts>
decoded<any_message> read_any(const obj& o, std::variant<Ts...>*) {
  if (o.type != msgpack::type::MAP) return unexpected(decode_error{"not a map"});
  std::string_view type;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR && kv.val.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == "type")
      type = std::string_view(kv.val.via.str.ptr, kv.val.via.str.size);
  }
  decoded<any_message> out = unexpected(
      decode_error{type.empty() ? "key 'type': missing"
                                : "key 'type': unknown message type '" + std::string(type) + "'"});
  (([&] {
     if (type == Ts::type) {
       auto m = read_message<Ts>(o);
       out = m ? decoded<any_message>(std::move(*m)) : unexpected(m.error());
     }
   }()),
   ...);
  return out;
}

}  // namespace

template <catalogued T>
bytes encode(const T& message) {
  msgpack::sbuffer buf;
  packer pk(buf);
  pack_fields(pk, message, 5);
  pk.pack("v");
  pk.pack(lim::wire_version);
  pk.pack("type");
  pk.pack(T::type);
  pk.pack("id");
  pk.pack(message.hdr.id);
  pk.pack("ts");
  pk.pack(message.hdr.ts);
  pk.pack("from");
  pk.pack(message.hdr.from);
  return bytes(buf.data(), buf.data() + buf.size());
}

namespace {

std::atomic<std::uint64_t> failures{0};

template <class T>
decoded<T> counted(decoded<T> result) {
  if (!result) failures.fetch_add(1, std::memory_order_relaxed);
  return result;
}

}  // namespace

template <catalogued T>
decoded<T> decode(std::span<const std::uint8_t> data) {
  auto oh = unpack(data);
  if (!oh) return counted<T>(unexpected(oh.error()));
  return counted(read_message<T>(oh->get()));
}

decoded<any_message> decode_any(std::span<const std::uint8_t> data) {
  auto oh = unpack(data);
  if (!oh) return counted<any_message>(unexpected(oh.error()));
  return counted(read_any(oh->get(), static_cast<any_message*>(nullptr)));
}

std::uint64_t decode_failures() { return failures.load(std::memory_order_relaxed); }

// Every message of the catalogue gets its encode and decode here; the count is checked
// against the catalogue's variant so that a new message cannot be forgotten.
#define MK_CODEC(T)                   \
  template bytes encode<T>(const T&); \
  template decoded<T> decode<T>(std::span<const std::uint8_t>);
MK_CODEC(stop_request)
MK_CODEC(stop_confirm)
MK_CODEC(progress)
MK_CODEC(job_state_changed)
MK_CODEC(start_mover)
MK_CODEC(start_mover_reply)
MK_CODEC(probe_source)
MK_CODEC(probe_reply)
MK_CODEC(vma_status_request)
MK_CODEC(vma_status)
MK_CODEC(hello)
MK_CODEC(maintenance)
MK_CODEC(replicate_request)
MK_CODEC(resume_request)
MK_CODEC(control_reply)
#undef MK_CODEC
static_assert(std::variant_size_v<any_message> == 15, "add the new message to MK_CODEC above");

}  // namespace mk::msg
