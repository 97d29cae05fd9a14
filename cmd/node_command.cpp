// `migratekit node-file` and `migratekit node`: the nodes of a bus of several (docs/bus.md).
#include "cmd/node_command.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "bus/home.hpp"
#include "bus/nats_server.hpp"
#include "bus/node_file.hpp"
#include "bus/tls.hpp"
#include "cmd/daemon.hpp"
#include "cmd/folder_lock.hpp"
#include "config/defaults.hpp"
#include "messages/subjects.hpp"

namespace mk::cmd {

namespace fs = std::filesystem;

namespace {

struct node_file_args {
  std::string name;
  fs::path data_dir;
  fs::path out;
  std::string address;
  std::string prefix{defaults::bus::prefix};
};

int make_node_file(const node_file_args& a) {
  auto home = bus::bus_home::open(a.data_dir, a.prefix);
  if (!home) {
    spdlog::error("the bus's keys: {}", home.error().message);
    return 1;
  }
  bus::node_file f;
  f.bus = bus::bus_name(a.prefix);
  f.node = a.name;
  f.route_user = bus::route_user;
  auto password = home->route_password();
  auto trust = home->server_trust();
  if (!password || !trust) {
    spdlog::error("{}", !password ? password.error().message : trust.error().message);
    return 1;
  }
  f.route_password = std::move(*password);
  f.trust = std::move(*trust);
  if (!a.address.empty()) {
    // Across hosts the node speaks TLS, to clients and to the other nodes, with a certificate
    // from the OMA's CA for its address.
    auto cert = bus::issue_node_certificate(a.data_dir, a.address);
    if (!cert) {
      spdlog::error("{}", cert.error().message);
      return 1;
    }
    auto ca = bus::tls_files{fs::absolute(a.data_dir) / "tls" / "ca.pem", {}, {}}.ca_pem();
    if (!ca) {
      spdlog::error("the bus's CA: {}", ca.error().message);
      return 1;
    }
    f.ca_pem = std::move(*ca);
    f.cert_pem = std::move(cert->cert_pem);
    f.key_pem = std::move(cert->key_pem);
  }
  if (auto w = bus::write_node_file(a.out, f); !w) {
    spdlog::error("{}", w.error().message);
    return 1;
  }
  spdlog::info(
      "node file of {} written to {} ({}): a secret; on the node's host run "
      "`migratekit node --file FILE --data DIR{} --routes HOST:{},...`",
      a.name, a.out.string(), a.address.empty() ? "no TLS" : "TLS for " + a.address,
      a.address.empty() ? "" : " --listen " + a.address, defaults::bus::route_port);
  return 0;
}

struct node_args {
  fs::path file;
  fs::path data_dir;
  std::string listen{"127.0.0.1"};
  std::uint16_t port = defaults::bus::node_port;
  std::uint16_t route_port = defaults::bus::route_port;
  std::vector<std::string> routes;
};

int run_node(const node_args& a) {
  block_stop_signals();
  auto f = bus::read_node_file(a.file);
  if (!f) {
    spdlog::error("{}", f.error().message);
    return 2;
  }
  // A second node on the folder would start another server on the same JetStream files.
  auto lock = folder_lock::take(a.data_dir, "bus");
  if (!lock) {
    spdlog::error("--data: {}", lock.error());
    return 1;
  }
  bus::nats_server_options so;
  so.data_dir = a.data_dir;
  so.host = a.listen;
  so.port = a.port;
  so.trust = f->trust;
  so.server_name = f->node;
  bus::cluster_config c;
  c.name = f->bus;
  c.host = a.listen;
  c.port = a.route_port;
  c.user = f->route_user;
  c.password = f->route_password;
  c.routes = a.routes;
  if (!f->ca_pem.empty()) {
    auto tls = bus::write_node_tls(a.data_dir, f->ca_pem, {f->cert_pem, f->key_pem});
    if (!tls) {
      spdlog::error("{}", tls.error().message);
      return 1;
    }
    so.tls_cert = c.tls_cert = tls->cert;
    so.tls_key = c.tls_key = tls->key;
    c.tls_ca = tls->ca;
  }
  so.cluster = std::move(c);
  auto server = bus::nats_server::start(so);
  if (!server) {
    spdlog::error("nats-server: {}", server.error().message);
    return 1;
  }
  spdlog::info("node {} of bus {}: clients at {}, routes at {}:{}", f->node, f->bus,
               (*server)->url(), a.listen, a.route_port);
  int rc = 0;
  while (true) {
    if (const int sig = take_stop_signal(std::chrono::milliseconds(500)); sig != 0) {
      spdlog::info("{}: stopping node {}", stop_signal_name(sig), f->node);
      break;
    }
    if (!(*server)->running()) {
      spdlog::error("node {}: nats-server ended by itself (see {})", f->node,
                    (fs::absolute(a.data_dir) / "nats" / "server.log").string());
      rc = 1;
      break;
    }
  }
  (*server)->stop();
  return rc;
}

}  // namespace

void add_node_commands(CLI::App& app, int& exit_code) {
  auto fa = std::make_shared<node_file_args>();
  auto* file = app.add_subcommand(
      "node-file", "On the OMA's host: what another node of the bus needs, in a file (a secret)");
  file->add_option("name", fa->name, "The node's name on the bus, such as n2")
      ->required()
      ->check([](const std::string& s) {
        return msg::valid_id(s) ? std::string() : "a name of [a-z0-9-] expected";
      });
  file->add_option("--data", fa->data_dir, "Data directory of the OMA")
      ->envname("MIGRATEKIT_DATA")
      ->required();
  file->add_option("--out", fa->out, "Where to write the node file (mode 0600)")->required();
  file->add_option("--address", fa->address,
                   "The node's address or host name: its TLS certificate names it (needs a bus "
                   "with TLS: an OMA started with --advertise); without it, a loopback bus");
  file->add_option("--prefix", fa->prefix, "First token of every subject")
      ->envname("MIGRATEKIT_PREFIX");
  file->callback([fa, &exit_code] { exit_code = make_node_file(*fa); });

  auto na = std::make_shared<node_args>();
  auto* node = app.add_subcommand("node", "Run one node of a bus of several, from its node file");
  node->footer(
      "The node's files go under DATA/nats (JetStream, the account resolver, server.log) and "
      "DATA/tls.\nSIGINT or SIGTERM stops it; it ends with status 1 when its nats-server ends "
      "by itself.");
  node->add_option("--file", na->file, "Its node file (migratekit node-file)")->required();
  node->add_option("--data", na->data_dir, "Data directory of the node")
      ->envname("MIGRATEKIT_DATA")
      ->required();
  node->add_option("--listen", na->listen,
                   "Address clients and the other nodes reach it at (the one its file names)");
  node->add_option("--port", na->port, "Port of its clients")->check(CLI::Range(1, 65535));
  node->add_option("--route-port", na->route_port, "Port of the other nodes' routes")
      ->check(CLI::Range(1, 65535));
  node->add_option("--routes", na->routes, "HOST:PORT of the other nodes' routes")->delimiter(',');
  node->callback([na, &exit_code] {
    use_daemon_logger("node");
    exit_code = run_node(*na);
  });
}

}  // namespace mk::cmd
