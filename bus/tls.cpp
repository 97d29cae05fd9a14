#include "bus/tls.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <tuple>
#include <utility>

#include "config/defaults.hpp"
#include "sys/atomic_file.hpp"

namespace mk::bus {

namespace fs = std::filesystem;

namespace {

struct tls_key_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct tls_cert_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct tls_bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, tls_key_free>;
using cert_ptr = std::unique_ptr<X509, tls_cert_free>;
using mem_ptr = std::unique_ptr<BIO, tls_bio_free>;

constexpr long ten_years = 10L * 365 * 24 * 3600;

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

result<std::string> pem_of(const std::function<int(BIO*)>& write, const std::string& what) {
  mem_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return fail(errc::io, what + ": cannot write PEM");
  char* data = nullptr;
  const auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

result<> write_pem(const fs::path& path, const std::function<int(BIO*)>& write, mode_t mode) {
  auto text = pem_of(write, path.string());
  if (!text) return std::unexpected(std::move(text.error()));
  if (auto w = sys::write_file_atomically(path, *text, mode); !w)
    return fail(errc::io, w.error().message);
  return {};
}

cert_ptr read_cert(const fs::path& path) {
  const auto text = file_text(path);
  mem_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  return cert_ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

key_ptr read_key(const fs::path& path) {
  const auto text = file_text(path);
  mem_ptr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  return key_ptr(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

/// A certificate for `key`, named `common_name`, signed by `issuer_key` (itself for the CA).
result<cert_ptr> issue(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                       EVP_PKEY* issuer_key, const std::string& san) {
  cert_ptr cert(X509_new());
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof serial) != 1)
    return fail(errc::io, "certificate " + common_name + ": no memory or randomness");
  serial[0] &= 0x7f;  // a positive serial
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(cert.get());
  const bool ok =
      serial_ok && X509_set_version(cert.get(), 2) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), ten_years) != nullptr &&
      X509_set_pubkey(cert.get(), key) == 1 &&
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("MigrateKit"), -1, -1,
                                 0) == 1 &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) == 1;
  if (!ok) return fail(errc::io, "certificate " + common_name + ": cannot be made");
  X509* signer = issuer ? issuer : cert.get();
  const bool ext_ok =
      san.empty()
          ? add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
                add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
                add_ext(cert.get(), signer, NID_subject_key_identifier, "hash")
          : add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
                add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
                add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth") &&
                add_ext(cert.get(), signer, NID_subject_alt_name, san) &&
                add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (!ext_ok) return fail(errc::io, "certificate " + common_name + ": its extensions");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    return fail(errc::io, "certificate " + common_name + ": cannot be signed");
  return cert;
}

/// Whether `cert` names `host` (an address or a DNS name).
bool names(X509* cert, const std::string& host) {
  if (is_ip_address(host)) return X509_check_ip_asc(cert, host.c_str(), 0) == 1;
  return X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
}

/// What a node's certificate names: its host, and the name the nodes of a bus share.
std::string node_san(const std::string& host) {
  return (is_ip_address(host) ? "IP:" : "DNS:") + host +
         ",DNS:" + std::string(defaults::bus::tls_shared_name);
}

bool names_node(X509* cert, const std::string& host) {
  return names(cert, host) && names(cert, std::string(defaults::bus::tls_shared_name));
}

bool usable_host(const std::string& host) {
  return !host.empty() && host.find_first_of(" ,/\"\\") == std::string::npos;
}

}  // namespace

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

result<std::string> tls_files::ca_pem() const {
  auto text = file_text(ca);
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return fail(errc::not_found, ca.string() + ": no certificate");
  return text;
}

namespace {

struct ca_pair {
  cert_ptr cert;
  key_ptr key;
};

/// DATA/tls, made 0700 if it is not there.
result<fs::path> tls_dir(const fs::path& data_dir) {
  const auto dir = fs::absolute(data_dir) / "tls";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io, "create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return fail_errno(errc::io, "chmod " + dir.string(), errno);
  return dir;
}

/// The CA of DIR (ca.pem, ca.key): read back, or made when there is none.
result<ca_pair> open_ca(const fs::path& dir) {
  const auto ca_path = dir / "ca.pem";
  const auto key_path = dir / "ca.key";
  ca_pair ca{read_cert(ca_path), read_key(key_path)};
  if (ca.cert && ca.key) return ca;
  ca.key.reset(EVP_EC_gen("P-256"));
  if (!ca.key) return fail(errc::io, "the bus's CA: cannot make a key");
  auto made = issue(ca.key.get(), "MigrateKit bus CA", nullptr, ca.key.get(), "");
  if (!made) return std::unexpected(std::move(made.error()));
  ca.cert = std::move(*made);
  if (auto w = write_pem(
          key_path,
          [&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, ca.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          },
          0600);
      !w)
    return std::unexpected(std::move(w.error()));
  if (auto w = write_pem(
          ca_path, [&](BIO* b) { return PEM_write_bio_X509(b, ca.cert.get()); }, 0644);
      !w)
    return std::unexpected(std::move(w.error()));
  std::error_code ec;
  fs::remove(dir / "server.pem", ec);  // one from another CA would not verify
  return ca;
}

/// A new key and a certificate for a node at `host`, signed by `ca`.
result<std::pair<key_ptr, cert_ptr>> node_pair(const ca_pair& ca, const std::string& host) {
  key_ptr key(EVP_EC_gen("P-256"));
  if (!key) return fail(errc::io, "a certificate for " + host + ": cannot make a key");
  auto made = issue(key.get(), host, ca.cert.get(), ca.key.get(), node_san(host));
  if (!made) return std::unexpected(std::move(made.error()));
  return std::pair{std::move(key), std::move(*made)};
}

}  // namespace

result<tls_files> open_tls(const fs::path& data_dir, const std::string& host) {
  if (!usable_host(host))
    return fail(errc::invalid, "--advertise \"" + host + "\": a host name or an address expected");
  auto dir = tls_dir(data_dir);
  if (!dir) return std::unexpected(std::move(dir.error()));
  tls_files out{*dir / "ca.pem", *dir / "server.pem", *dir / "server.key"};
  auto ca = open_ca(*dir);
  if (!ca) return std::unexpected(std::move(ca.error()));
  cert_ptr cert = read_cert(out.cert);
  key_ptr key = read_key(out.key);
  const bool current = cert && key && names_node(cert.get(), host) &&
                       X509_verify(cert.get(), X509_get0_pubkey(ca->cert.get())) == 1;
  if (current) return out;
  auto made = node_pair(*ca, host);
  if (!made) return std::unexpected(std::move(made.error()));
  if (auto w = write_pem(
          out.key,
          [&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, made->first.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr);
          },
          0600);
      !w)
    return std::unexpected(std::move(w.error()));
  if (auto w = write_pem(
          out.cert, [&](BIO* b) { return PEM_write_bio_X509(b, made->second.get()); }, 0644);
      !w)
    return std::unexpected(std::move(w.error()));
  return out;
}

result<tls_files> write_node_tls(const fs::path& data_dir, const std::string& ca_pem,
                                 const node_certificate& node) {
  auto dir = tls_dir(data_dir);
  if (!dir) return std::unexpected(std::move(dir.error()));
  tls_files out{*dir / "ca.pem", *dir / "server.pem", *dir / "server.key"};
  for (const auto& [path, text, mode] : {std::tuple{out.ca, &ca_pem, 0644},
                                         {out.cert, &node.cert_pem, 0644},
                                         {out.key, &node.key_pem, 0600}})
    if (auto w = sys::write_file_atomically(path, *text, static_cast<mode_t>(mode)); !w)
      return fail(errc::io, w.error().message);
  return out;
}

result<node_certificate> issue_node_certificate(const fs::path& data_dir, const std::string& host) {
  if (!usable_host(host))
    return fail(errc::invalid, "--address \"" + host + "\": a host name or an address expected");
  auto dir = tls_dir(data_dir);
  if (!dir) return std::unexpected(std::move(dir.error()));
  // The first node file of a bus may come before the OMA's first start: the CA is made here.
  auto ca = open_ca(*dir);
  if (!ca) return std::unexpected(std::move(ca.error()));
  auto made = node_pair(*ca, host);
  if (!made) return std::unexpected(std::move(made.error()));
  auto key = pem_of(
      [&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, made->first.get(), nullptr, nullptr, 0, nullptr,
                                        nullptr);
      },
      "the node's key");
  if (!key) return std::unexpected(std::move(key.error()));
  auto cert = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, made->second.get()); },
                     "the node's certificate");
  if (!cert) return std::unexpected(std::move(cert.error()));
  return node_certificate{std::move(*cert), std::move(*key)};
}

}  // namespace mk::bus
