#include "cmd/embedded_bus.hpp"

#include "bus/node_file.hpp"

namespace mk::cmd {

namespace {

/// The server's options, made again at each of its starts (the revocations change), and the
/// CA its clients check it by (with `advertise`).
struct server_start {
  bus::nats_server_options options;
  std::filesystem::path ca_file;
};

expected<server_start, std::string> server_options(const std::filesystem::path& data_dir,
                                                   const bus::bus_home& home,
                                                   const std::string& advertise,
                                                   const bus_peers& peers) {
  auto trust = home.server_trust();
  if (!trust) return unexpected("the bus's trust: " + trust.error().message);
  server_start out;
  auto& so = out.options;
  so.data_dir = data_dir;
  so.trust = std::move(*trust);
  if (!advertise.empty()) {
    auto tls = bus::open_tls(data_dir, advertise);
    if (!tls) return unexpected("the bus's TLS: " + tls.error().message);
    so.host = advertise;
    so.tls_cert = tls->cert;
    so.tls_key = tls->key;
    out.ca_file = tls->ca;
  }
  if (!peers.routes.empty()) {
    auto password = home.route_password();
    if (!password) return unexpected("the routes' password: " + password.error().message);
    bus::cluster_config c;
    c.name = bus::bus_name(home.prefix());
    c.host = so.host;
    c.port = peers.route_port;
    c.user = bus::route_user;
    c.password = std::move(*password);
    c.routes = peers.routes;
    c.tls_cert = so.tls_cert;
    c.tls_key = so.tls_key;
    c.tls_ca = out.ca_file;
    so.server_name = peers.name;
    so.cluster = std::move(c);
  }
  return out;
}

}  // namespace

expected<embedded_bus, std::string> start_embedded_bus(const std::filesystem::path& data_dir,
                                                       std::shared_ptr<const bus::bus_home> home,
                                                       const std::string& advertise,
                                                       const bus_peers& peers) {
  auto first = server_options(data_dir, *home, advertise, peers);
  if (!first) return unexpected(first.error());
  embedded_bus out;
  out.ca_file = first->ca_file;
  auto options = [=]() -> bus::result<bus::nats_server_options> {
    auto o = server_options(data_dir, *home, advertise, peers);
    if (!o) return std::unexpected(bus::error{bus::errc::invalid, o.error()});
    return std::move(o->options);
  };
  auto started = bus::kept_server::start(first->options, options);
  if (!started) return unexpected("nats-server: " + started.error().message);
  out.urls = (*started)->url();
  for (const auto& url : peers.nodes) out.urls += "," + url;
  out.server = std::move(*started);
  return out;
}

void add_bus_peer_options(CLI::App& cmd, bus_peers& peers) {
  auto* routes = cmd.add_option("--routes", peers.routes,
                                "HOST:PORT of the other nodes' routes: the bus started here is "
                                "one node of several (migratekit node; docs/bus.md)")
                     ->delimiter(',')
                     ->excludes("--nats");
  cmd.add_option("--route-port", peers.route_port, "Port of the other nodes' routes")
      ->check(CLI::Range(1, 65535))
      ->needs(routes)
      ->capture_default_str();
  cmd.add_option("--node-name", peers.name, "The name of this node on the bus")
      ->needs(routes)
      ->capture_default_str();
  cmd.add_option("--nodes", peers.nodes,
                 "Client URLs of the other nodes: this process and the agents it enrols are "
                 "given them too")
      ->delimiter(',')
      ->needs(routes);
}

}  // namespace mk::cmd
