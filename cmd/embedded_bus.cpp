#include "cmd/embedded_bus.hpp"

namespace mk::cmd {

expected<embedded_bus, std::string> start_embedded_bus(const std::filesystem::path& data_dir,
                                                       const bus::bus_home& home,
                                                       const std::string& advertise) {
  auto trust = home.server_trust();
  if (!trust) return unexpected("the bus's trust: " + trust.error().message);
  bus::nats_server_options so;
  so.data_dir = data_dir;
  so.trust = std::move(*trust);
  embedded_bus out;
  if (!advertise.empty()) {
    auto tls = bus::open_tls(data_dir, advertise);
    if (!tls) return unexpected("the bus's TLS: " + tls.error().message);
    so.host = advertise;
    so.tls_cert = tls->cert;
    so.tls_key = tls->key;
    out.ca_file = tls->ca;
  }
  auto started = bus::nats_server::start(so);
  if (!started) return unexpected("nats-server: " + started.error().message);
  out.urls = (*started)->url();
  out.server = std::move(*started);
  return out;
}

}  // namespace mk::cmd
