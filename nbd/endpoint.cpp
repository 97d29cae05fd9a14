#include "nbd/endpoint.hpp"

#include <array>
#include <string_view>

namespace mk::nbd {

namespace {

// The URI schemes libnbd connects to; anything else with "://" is a mistake worth naming.
constexpr std::array<std::string_view, 6> nbd_schemes{"nbd",       "nbds",      "nbd+unix",
                                                      "nbds+unix", "nbd+vsock", "nbds+vsock"};

}  // namespace

const char* to_string(role r) { return r == role::source ? "source" : "target"; }

result<endpoint_spec> parse_endpoint(const std::string& text, role r) {
  if (text.empty()) return fail(errc::usage, std::string(to_string(r)) + " is empty");
  auto sep = text.find("://");
  if (sep == std::string::npos) return endpoint_spec{endpoint_spec::kind::file, text};
  std::string_view scheme(text.data(), sep);
  for (auto known : nbd_schemes)
    if (scheme == known) return endpoint_spec{endpoint_spec::kind::nbd_uri, text};
  return fail(errc::usage, std::string(to_string(r)) + " '" + text + "': unknown URI scheme '" +
                               std::string(scheme) +
                               "' (expected nbd://host[:port]/export, "
                               "nbd+unix:///export?socket=PATH, or a file path)");
}

result<std::unique_ptr<endpoint>> open_endpoint(const endpoint_spec& spec, role r,
                                                const open_options& opts) {
  auto ep = spec.type == endpoint_spec::kind::nbd_uri ? open_nbd(spec, r, opts)
                                                      : open_file(spec, r, opts);
  if (!ep || r == role::source) return ep;
  if ((*ep)->size() < opts.source_size)
    return fail(errc::usage, (*ep)->name() + ": the target is smaller than the source (" +
                                 std::to_string((*ep)->size()) + " < " +
                                 std::to_string(opts.source_size) + " bytes)");
  return ep;
}

result<std::uint64_t> source_size(const std::string& source, double timeout_s) {
  auto spec = parse_endpoint(source, role::source);
  if (!spec) return unexpected(std::move(spec.error()));
  const open_options opts{
      .connections = 1, .io_timeout_s = timeout_s, .stop_fd = -1, .source_size = 0};
  auto ep = open_endpoint(*spec, role::source, opts);
  if (!ep) return unexpected(std::move(ep.error()));
  const auto size = (*ep)->size();
  (*ep)->close(static_cast<int>(timeout_s * 1000));
  return size;
}

}  // namespace mk::nbd
