#include "transport/tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace vigil::transport {
namespace {

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
}

BioPtr BioFrom(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

Status SslError(const std::string& what) {
  std::string detail = DrainOpenSslErrors();
  return Status::Internal(what + (detail.empty() ? "" : ": " + detail));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Fills the fields every Vigil certificate shares: version 3, a random positive serial,
// validity from an hour ago (for clock skew) to `days` from now, and the subject CN.
bool FillCommonFields(X509* cert, EVP_PKEY* subject_key, const std::string& common_name, int days) {
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return false;
  serial_bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  if (bn == nullptr) return false;
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  if (serial == nullptr) return false;
  bool ok = X509_set_serialNumber(cert, serial) == 1;
  ASN1_INTEGER_free(serial);
  ok = ok && X509_set_version(cert, 2) == 1;
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr;
  ok = ok && X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * days) != nullptr;
  ok = ok && X509_set_pubkey(cert, subject_key) == 1;
  X509_NAME* name = X509_get_subject_name(cert);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                        -1, -1, 0) == 1;
  return ok;
}

Expected<SslCtxPtr> NewTls13Context(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return SslError("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  // Idle connections of thousands of agents keep no read or write buffers.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

Status AddCertAndKey(SSL_CTX* ctx, X509* cert, EVP_PKEY* key) {
  if (SSL_CTX_use_certificate(ctx, cert) != 1) return SslError("loading the certificate failed");
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1) return SslError("loading the private key failed");
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return SslError("the private key does not match the certificate");
  }
  return Status::Ok();
}

// The identity and key a PSK agent's context offers, kept in the context's ex_data.
struct PskClientData {
  std::string identity;
  std::string key;
};

void FreePskClientData(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*index*/,
                       long /*argl*/, void* /*argp*/) {
  auto* data = static_cast<PskClientData*>(ptr);
  if (data == nullptr) return;
  OPENSSL_cleanse(data->key.data(), data->key.size());
  delete data;
}

int PskClientDataIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreePskClientData);
  return index;
}

// SSL_psk_use_session_cb_func for agents: offers the context's PSK. After a HelloRetryRequest,
// OpenSSL calls it again with `md` set, and the PSK is offered again only when `md` is its hash.
int UsePskSession(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* id_len,
                  SSL_SESSION** session) {
  *session = nullptr;
  auto* data = static_cast<PskClientData*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), PskClientDataIndex()));
  if (data == nullptr) return 0;
  SSL_SESSION* psk = NewPskSession(ssl, data->key);
  if (psk == nullptr) return 0;
  if (md != nullptr && EVP_MD_is_a(md, EVP_MD_get0_name(SSL_CIPHER_get_handshake_digest(
                                           SSL_SESSION_get0_cipher(psk)))) != 1) {
    SSL_SESSION_free(psk);
    return 1;
  }
  *id = reinterpret_cast<const unsigned char*>(data->identity.data());
  *id_len = data->identity.size();
  *session = psk;
  return 1;
}

Status TrustCa(SSL_CTX* ctx, X509* ca_cert) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  if (X509_STORE_add_cert(store, ca_cert) != 1) return SslError("adding the CA failed");
  return Status::Ok();
}

}  // namespace

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

Expected<PkeyPtr> GenerateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("generating an EC P-256 key failed");
  return key;
}

std::string PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioToString(bio.get());
}

std::string PublicKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  return BioToString(bio.get());
}

std::string CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioToString(bio.get());
}

Expected<PkeyPtr> PrivateKeyFromPem(const std::string& pem) {
  BioPtr bio = BioFrom(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::ParseError("invalid private key PEM: " + DrainOpenSslErrors());
  return key;
}

Expected<PkeyPtr> PublicKeyFromPem(const std::string& pem) {
  BioPtr bio = BioFrom(pem);
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::ParseError("invalid public key PEM: " + DrainOpenSslErrors());
  return key;
}

Expected<X509Ptr> CertificateFromPem(const std::string& pem) {
  BioPtr bio = BioFrom(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::ParseError("invalid certificate PEM: " + DrainOpenSslErrors());
  return cert;
}

Expected<X509Ptr> CreateCaCertificate(EVP_PKEY* ca_key, const std::string& common_name, int days) {
  X509Ptr cert(X509_new());
  if (!cert || !FillCommonFields(cert.get(), ca_key, common_name, days)) {
    return SslError("building the CA certificate failed");
  }
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  if (!AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash")) {
    return SslError("adding CA extensions failed");
  }
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) == 0) {
    return SslError("signing the CA certificate failed");
  }
  return cert;
}

Expected<X509Ptr> IssueCertificate(X509* ca_cert, EVP_PKEY* ca_key, EVP_PKEY* subject_key,
                                   const std::string& common_name, int days, CertificateUse use) {
  X509Ptr cert(X509_new());
  if (!cert || !FillCommonFields(cert.get(), subject_key, common_name, days)) {
    return SslError("building the certificate for " + common_name + " failed");
  }
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert));
  const char* eku = use == CertificateUse::kServer ? "serverAuth" : "clientAuth";
  if (!AddExtension(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), ca_cert, NID_ext_key_usage, eku) ||
      !AddExtension(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always")) {
    return SslError("adding extensions for " + common_name + " failed");
  }
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) == 0) {
    return SslError("signing the certificate for " + common_name + " failed");
  }
  return cert;
}

std::string CertificateFingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), md, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string CertificateSerial(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex == nullptr ? "" : hex;
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string CertificateCommonName(X509* cert) {
  char buf[256];
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

Expected<SslCtxPtr> MakeServerContext(X509* ca_cert, X509* server_cert, EVP_PKEY* server_key) {
  Expected<SslCtxPtr> ctx = NewTls13Context(TLS_server_method());
  if (!ctx.ok()) return ctx;
  VIGIL_RETURN_IF_ERROR(AddCertAndKey(ctx->get(), server_cert, server_key));
  VIGIL_RETURN_IF_ERROR(TrustCa(ctx->get(), ca_cert));
  // The chain is sent with the leaf so an enrolling agent can check the pinned CA.
  if (SSL_CTX_add1_chain_cert(ctx->get(), ca_cert) != 1) {
    return SslError("adding the CA to the server chain failed");
  }
  // Optional client certificate: a connection without one may only enroll.
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(ctx->get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx->get(), 0);
  // OpenSSL treats a PSK handshake as a resumption, and with SSL_VERIFY_PEER it rejects one
  // without a session id context ("session id context uninitialized", seen with 3.0.x).
  static constexpr unsigned char kSessionContext[] = "vigil-agent-link";
  if (SSL_CTX_set_session_id_context(ctx->get(), kSessionContext,
                                     sizeof(kSessionContext) - 1) != 1) {
    return SslError("setting the session id context failed");
  }
  return ctx;
}

Expected<SslCtxPtr> MakeAgentContext(X509* ca_cert, X509* agent_cert, EVP_PKEY* agent_key) {
  Expected<SslCtxPtr> ctx = NewTls13Context(TLS_client_method());
  if (!ctx.ok()) return ctx;
  VIGIL_RETURN_IF_ERROR(AddCertAndKey(ctx->get(), agent_cert, agent_key));
  VIGIL_RETURN_IF_ERROR(TrustCa(ctx->get(), ca_cert));
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

SSL_SESSION* NewPskSession(SSL* ssl, std::string_view key) {
  // TLS_AES_256_GCM_SHA384 is 0x13,0x02 in the TLS cipher suite registry.
  static constexpr unsigned char kSuite[2] = {0x13, 0x02};
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kSuite);
  if (cipher == nullptr || key.empty()) return nullptr;
  SSL_SESSION* session = SSL_SESSION_new();
  if (session == nullptr) return nullptr;
  if (SSL_SESSION_set1_master_key(session, reinterpret_cast<const unsigned char*>(key.data()),
                                  key.size()) != 1 ||
      SSL_SESSION_set_cipher(session, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

Expected<SslCtxPtr> MakeAgentPskContext(const std::string& identity, std::string_view key) {
  if (identity.empty() || key.size() < kPskBytes) {
    return Status::InvalidArgument("a PSK needs an identity and at least " +
                                   std::to_string(kPskBytes) + " key bytes");
  }
  Expected<SslCtxPtr> ctx = NewTls13Context(TLS_client_method());
  if (!ctx.ok()) return ctx;
  if (SSL_CTX_set_ciphersuites(ctx->get(), kPskCipherSuite) != 1) {
    return SslError("selecting the PSK cipher suite failed");
  }
  auto* data = new PskClientData{identity, std::string(key)};
  if (SSL_CTX_set_ex_data(ctx->get(), PskClientDataIndex(), data) != 1) {
    FreePskClientData(nullptr, data, nullptr, 0, 0, nullptr);
    return SslError("storing the PSK failed");
  }
  SSL_CTX_set_psk_use_session_callback(ctx->get(), UsePskSession);
  // The store is empty, so a certificate handshake (the manager did not take the PSK) fails.
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

Expected<SslCtxPtr> MakeEnrollContext() {
  Expected<SslCtxPtr> ctx = NewTls13Context(TLS_client_method());
  if (!ctx.ok()) return ctx;
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

Expected<X509Ptr> VerifyPinnedChain(SSL* ssl, const std::string& ca_fingerprint) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (leaf == nullptr || chain == nullptr) {
    return Status::PermissionDenied("the manager sent no certificate");
  }
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* candidate = sk_X509_value(chain, i);
    if (CertificateFingerprint(candidate) != ca_fingerprint) continue;
    EVP_PKEY* ca_key = X509_get0_pubkey(candidate);
    if (ca_key == nullptr || X509_verify(leaf, ca_key) != 1) {
      DrainOpenSslErrors();
      return Status::PermissionDenied(
          "the manager's certificate is not signed by the CA with fingerprint " + ca_fingerprint);
    }
    X509_up_ref(candidate);
    return X509Ptr(candidate);
  }
  return Status::PermissionDenied("the manager did not present the CA with fingerprint " +
                                  ca_fingerprint + "; check the token and the manager address");
}

}  // namespace vigil::transport
