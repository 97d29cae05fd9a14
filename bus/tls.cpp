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
                add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth") &&
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

result<tls_files> open_tls(const fs::path& data_dir, const std::string& host) {
  if (host.empty() || host.find_first_of(" ,/\"\\") != std::string::npos)
    return fail(errc::invalid, "--advertise \"" + host + "\": a host name or an address expected");
  const auto dir = fs::absolute(data_dir) / "tls";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::io, "create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return fail_errno(errc::io, "chmod " + dir.string(), errno);
  tls_files out{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  const auto ca_key_path = dir / "ca.key";

  cert_ptr ca = read_cert(out.ca);
  key_ptr ca_key = read_key(ca_key_path);
  if (!ca || !ca_key) {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key) return fail(errc::io, "the bus's CA: cannot make a key");
    auto made = issue(ca_key.get(), "MigrateKit bus CA", nullptr, ca_key.get(), "");
    if (!made) return std::unexpected(std::move(made.error()));
    ca = std::move(*made);
    if (auto w = write_pem(
            ca_key_path,
            [&](BIO* b) {
              return PEM_write_bio_PrivateKey(b, ca_key.get(), nullptr, nullptr, 0, nullptr,
                                              nullptr);
            },
            0600);
        !w)
      return std::unexpected(std::move(w.error()));
    if (auto w = write_pem(
            out.ca, [&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); }, 0644);
        !w)
      return std::unexpected(std::move(w.error()));
    fs::remove(out.cert, ec);  // one from another CA would not verify
  }

  cert_ptr cert = read_cert(out.cert);
  key_ptr key = read_key(out.key);
  const bool current = cert && key && names(cert.get(), host) &&
                       X509_verify(cert.get(), X509_get0_pubkey(ca.get())) == 1;
  if (!current) {
    key.reset(EVP_EC_gen("P-256"));
    if (!key) return fail(errc::io, "the bus's server certificate: cannot make a key");
    const auto san = (is_ip_address(host) ? "IP:" : "DNS:") + host;
    auto made = issue(key.get(), host, ca.get(), ca_key.get(), san);
    if (!made) return std::unexpected(std::move(made.error()));
    if (auto w = write_pem(
            out.key,
            [&](BIO* b) {
              return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
            },
            0600);
        !w)
      return std::unexpected(std::move(w.error()));
    if (auto w = write_pem(
            out.cert, [&](BIO* b) { return PEM_write_bio_X509(b, made->get()); }, 0644);
        !w)
      return std::unexpected(std::move(w.error()));
  }
  return out;
}

}  // namespace mk::bus
