#pragma once

#include <filesystem>
#include <string>

#include "bus/error.hpp"

namespace mk::bus {

/// The bus's TLS material under DATA/tls (docs/security.md), made with OpenSSL at the first
/// start with `--advertise HOST`: a CA of this OMA's own, and a server certificate for HOST
/// (its address or name in subjectAltName, and the name every node of the bus shares,
/// defaults::bus::tls_shared_name) signed by it, for clients and for the other nodes' routes.
/// Agents check the server against the CA their join file carries. Keys are 0600, the folder 0700;
/// a later start reads them back, and issues a new server certificate from the same CA when HOST
/// changed.
struct tls_files {
  std::filesystem::path ca;    ///< DATA/tls/ca.pem, the CA's certificate (public)
  std::filesystem::path cert;  ///< DATA/tls/server.pem
  std::filesystem::path key;   ///< DATA/tls/server.key

  /// The CA's certificate in PEM, as a join file carries it.
  result<std::string> ca_pem() const;
};

result<tls_files> open_tls(const std::filesystem::path& data_dir, const std::string& host);

/// A certificate of another node of the bus, at `host`, from the CA of DATA/tls (which the OMA
/// made at its first start with --advertise): for a node file (bus/node_file.hpp).
struct node_certificate {
  std::string cert_pem;
  std::string key_pem;
};
result<node_certificate> issue_node_certificate(const std::filesystem::path& data_dir,
                                                const std::string& host);

/// A node's TLS material as its node file carries it (the bus's CA, the node's certificate and
/// key), written to DATA/tls as open_tls keeps its own: the folder 0700, the key 0600.
result<tls_files> write_node_tls(const std::filesystem::path& data_dir, const std::string& ca_pem,
                                 const node_certificate& node);

/// Whether `host` is an IPv4 or IPv6 address (else a DNS name).
bool is_ip_address(const std::string& host);

}  // namespace mk::bus
