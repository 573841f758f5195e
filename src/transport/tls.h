// TLS credentials for the agent-manager link, on OpenSSL 3: EC P-256 keys, the manager's own
// certificate authority, certificates issued to agents, and the SSL_CTX setups both ends use.
// Every connection is TLS 1.3 only.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil::transport {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Deleter {
  void operator()(X509* p) const { X509_free(p); }
};
struct SslCtxDeleter {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// Generates a new EC P-256 private key.
Expected<PkeyPtr> GenerateKey();

std::string PrivateKeyToPem(EVP_PKEY* key);
std::string PublicKeyToPem(EVP_PKEY* key);
std::string CertificateToPem(X509* cert);
Expected<PkeyPtr> PrivateKeyFromPem(const std::string& pem);
Expected<PkeyPtr> PublicKeyFromPem(const std::string& pem);
Expected<X509Ptr> CertificateFromPem(const std::string& pem);

// Creates a self-signed CA certificate valid for `days` days.
Expected<X509Ptr> CreateCaCertificate(EVP_PKEY* ca_key, const std::string& common_name, int days);

// The purpose of an issued certificate: the manager's TLS server or one agent's client side.
enum class CertificateUse { kServer, kClient };

// Issues a certificate for `subject_key` with subject CN `common_name`, signed by the CA, with a
// random 128-bit serial number.
Expected<X509Ptr> IssueCertificate(X509* ca_cert, EVP_PKEY* ca_key, EVP_PKEY* subject_key,
                                   const std::string& common_name, int days, CertificateUse use);

// Returns the lower-case hex SHA-256 of the certificate's DER encoding (64 characters).
std::string CertificateFingerprint(X509* cert);
// Returns the serial number as upper-case hex.
std::string CertificateSerial(X509* cert);
// Returns the subject's common name, or "" when there is none.
std::string CertificateCommonName(X509* cert);

// Builds the manager's context: TLS 1.3 only, the server certificate, and client certificates
// verified against the CA when the client sends one. A client without a certificate may only
// enroll; the manager enforces that per connection.
Expected<SslCtxPtr> MakeServerContext(X509* ca_cert, X509* server_cert, EVP_PKEY* server_key);

// Builds an enrolled agent's context: TLS 1.3 only, the agent's certificate, and the manager
// verified against the pinned CA. The manager's host name is not checked, because the CA is
// private to one manager. Agent certificates cannot stand in for the manager, because OpenSSL
// requires the serverAuth usage, which only the manager's certificate has.
Expected<SslCtxPtr> MakeAgentContext(X509* ca_cert, X509* agent_cert, EVP_PKEY* agent_key);

// Builds the context for enrollment: TLS 1.3 only and no client certificate. The chain is not
// verified during the handshake. Instead the caller checks it against the pinned CA
// fingerprint with VerifyPinnedChain() before sending the token.
Expected<SslCtxPtr> MakeEnrollContext();

// Checks that the manager's chain on `ssl` contains a CA certificate whose fingerprint is
// `ca_fingerprint` and that the leaf certificate was signed by that CA. On success returns the
// CA certificate.
Expected<X509Ptr> VerifyPinnedChain(SSL* ssl, const std::string& ca_fingerprint);

// TLS 1.3 external pre-shared keys (RFC 8446 section 2.2), the alternative agent credential.
// The identity is the agent id and the key is kPskBytes random bytes. Every PSK connection
// negotiates kPskCipherSuite with the psk_dhe_ke mode: OpenSSL 3 offers and accepts only
// psk_dhe_ke unless SSL_OP_ALLOW_NO_DHE_KEX is set, which Vigil never sets, so each connection
// still runs an ECDHE exchange and keeps forward secrecy.
inline constexpr size_t kPskBytes = 32;
inline constexpr char kPskCipherSuite[] = "TLS_AES_256_GCM_SHA384";

// Returns a new session that carries `key` as an external PSK for kPskCipherSuite, or nullptr
// when OpenSSL fails. The caller owns the session; the PSK callbacks hand it to OpenSSL.
SSL_SESSION* NewPskSession(SSL* ssl, std::string_view key);

// Builds a PSK agent's context: TLS 1.3 only, kPskCipherSuite only, and the PSK `key` offered
// under `identity`. The context keeps its own copy of the key and wipes it when freed. A
// manager that does not accept the PSK falls back to a certificate handshake, which this
// context rejects because it trusts no certificate.
Expected<SslCtxPtr> MakeAgentPskContext(const std::string& identity, std::string_view key);

// Returns OpenSSL's queued error text and clears the queue ("" when there is none).
std::string DrainOpenSslErrors();

}  // namespace vigil::transport
