#include "transport/enrollment.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/logging.h"
#include "transport/manager_store.h"
#include "transport/state_files.h"
#include "transport/tls_io.h"

namespace vigil::transport {
namespace {

// Removes the files of the other credential kind, so an agent folder has one credential.
void RemoveFiles(const std::string& dir, std::initializer_list<const char*> names) {
  for (const char* name : names) unlink((dir + "/" + name).c_str());
}

}  // namespace

Expected<AgentIdentity> EnrollAgent(const EnrollOptions& options) {
  Expected<ParsedToken> token = ParseToken(options.token);
  if (!token.ok()) return token.status();
  Expected<HostPort> target = ParseHostPort(options.manager);
  if (!target.ok()) return target.status();
  if (options.state_dir.empty())
    return Status::InvalidArgument("the agent state folder is not set");
  VIGIL_RETURN_IF_ERROR(MakePrivateDirectory(options.state_dir));

  Expected<PkeyPtr> key = GenerateKey();
  if (!key.ok()) return key.status();
  Expected<SslCtxPtr> ctx = MakeEnrollContext();
  if (!ctx.ok()) return ctx.status();

  IgnoreSigpipe();
  Deadline deadline = std::chrono::steady_clock::now() + options.timeout;
  TlsClientConnection connection;
  VIGIL_RETURN_IF_ERROR(connection.Connect(ctx->get(), *target, deadline));
  Expected<X509Ptr> pinned_ca = VerifyPinnedChain(connection.ssl(), token->ca_fingerprint);
  if (!pinned_ca.ok()) return pinned_ca.status();

  char hostname[256] = "";
  gethostname(hostname, sizeof(hostname) - 1);
  EnrollRequestMessage request;
  request.token_id = token->id;
  request.token_secret = token->secret;
  request.name = options.name;
  request.public_key_pem = PublicKeyToPem(key->get());
  request.hostname = hostname;
  VIGIL_RETURN_IF_ERROR(connection.WriteAll(EncodeMessage(request), deadline));

  FrameDecoder decoder;
  Expected<Message> reply_message = connection.ReadMessage(&decoder, deadline);
  connection.Close();
  if (!reply_message.ok()) return reply_message.status();
  auto* reply = std::get_if<EnrollReplyMessage>(&*reply_message);
  if (reply == nullptr) {
    return Status::ParseError("the manager answered the enrollment with a " +
                              std::string(FrameTypeName(TypeOf(*reply_message))) + " message");
  }
  if (!reply->ok) {
    return Status::PermissionDenied("the manager rejected the enrollment: " + reply->error);
  }

  Expected<X509Ptr> cert = CertificateFromPem(reply->certificate_pem);
  if (!cert.ok()) return cert.status();
  Expected<X509Ptr> ca = CertificateFromPem(reply->ca_certificate_pem);
  if (!ca.ok()) return ca.status();
  if (CertificateFingerprint(ca->get()) != token->ca_fingerprint) {
    return Status::PermissionDenied("the manager returned a CA other than the pinned one");
  }
  if (X509_verify(cert->get(), X509_get0_pubkey(ca->get())) != 1 ||
      EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1 ||
      CertificateCommonName(cert->get()) != reply->agent_id) {
    DrainOpenSslErrors();
    return Status::PermissionDenied("the certificate the manager returned does not match");
  }

  nlohmann::json info = {{"agent_id", reply->agent_id},
                         {"name", reply->name},
                         {"credential", "certificate"},
                         {"ca_fingerprint", token->ca_fingerprint},
                         {"manager", options.manager}};
  const std::string& dir = options.state_dir;
  RemoveFiles(dir, {"agent.psk"});
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(dir + "/agent.key", PrivateKeyToPem(key->get())));
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(dir + "/agent.crt", reply->certificate_pem));
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(dir + "/ca.crt", reply->ca_certificate_pem));
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(dir + "/agent.json", info.dump(1) + "\n"));
  GetLogger("transport")
      ->info("enrolled as agent {} ({}) with manager {}", reply->agent_id, reply->name,
             options.manager);

  AgentIdentity identity;
  identity.agent_id = reply->agent_id;
  identity.name = reply->name;
  identity.ca_fingerprint = token->ca_fingerprint;
  identity.key = std::move(*key);
  identity.certificate = std::move(*cert);
  identity.ca_certificate = std::move(*ca);
  return identity;
}

Expected<AgentIdentity> ImportPskCredential(const std::string& state_dir,
                                            const std::string& key_line) {
  Expected<PskCredential> credential = ParsePskKeyLine(key_line);
  if (!credential.ok()) return credential.status();
  if (state_dir.empty()) return Status::InvalidArgument("the agent state folder is not set");
  VIGIL_RETURN_IF_ERROR(MakePrivateDirectory(state_dir));
  nlohmann::json info = {
      {"agent_id", credential->agent_id}, {"name", credential->name}, {"credential", "psk"}};
  std::string line = FormatPskKeyLine(*credential);
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(state_dir + "/agent.psk", line));
  OPENSSL_cleanse(line.data(), line.size());
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(state_dir + "/agent.json", info.dump(1) + "\n"));
  RemoveFiles(state_dir, {"agent.key", "agent.crt", "ca.crt"});
  GetLogger("transport")
      ->info("stored the pre-shared key of agent {} ({}) in {}", credential->agent_id,
             credential->name, state_dir);
  AgentIdentity identity;
  identity.agent_id = credential->agent_id;
  identity.name = credential->name;
  identity.psk = std::move(credential->key);
  return identity;
}

Expected<SslCtxPtr> MakeIdentityContext(const AgentIdentity& identity) {
  if (identity.uses_psk()) return MakeAgentPskContext(identity.agent_id, identity.psk);
  return MakeAgentContext(identity.ca_certificate.get(), identity.certificate.get(),
                          identity.key.get());
}

Expected<AgentIdentity> LoadAgentIdentity(const std::string& state_dir) {
  std::string info_path = state_dir + "/agent.json";
  if (!FileExists(info_path)) {
    return Status::NotFound(info_path +
                            " not found; enroll the agent first with "
                            "`vigil agent enroll --manager HOST:PORT --token TOKEN`");
  }
  Expected<std::string> info_text = ReadFile(info_path);
  if (!info_text.ok()) return info_text.status();
  nlohmann::json info = nlohmann::json::parse(*info_text, nullptr, false);
  if (info.is_discarded() || !info.is_object()) {
    return Status::ParseError(info_path + ": invalid JSON; enroll the agent again");
  }
  AgentIdentity identity;
  identity.agent_id = info.value("agent_id", "");
  identity.name = info.value("name", "");
  if (info.value("credential", "certificate") == "psk") {
    Expected<std::string> line = ReadFile(state_dir + "/agent.psk");
    if (!line.ok()) return line.status();
    Expected<PskCredential> credential = ParsePskKeyLine(*line);
    OPENSSL_cleanse(line->data(), line->size());
    if (!credential.ok()) {
      return Status::ParseError(state_dir + "/agent.psk: " + credential.status().message());
    }
    if (credential->agent_id != identity.agent_id) {
      return Status::ParseError(state_dir + "/agent.psk is for agent " + credential->agent_id +
                                ", but agent.json names agent " + identity.agent_id +
                                "; import the key again");
    }
    identity.psk = std::move(credential->key);
    return identity;
  }
  identity.ca_fingerprint = info.value("ca_fingerprint", "");
  Expected<std::string> key_pem = ReadFile(state_dir + "/agent.key");
  if (!key_pem.ok()) return key_pem.status();
  Expected<std::string> cert_pem = ReadFile(state_dir + "/agent.crt");
  if (!cert_pem.ok()) return cert_pem.status();
  Expected<std::string> ca_pem = ReadFile(state_dir + "/ca.crt");
  if (!ca_pem.ok()) return ca_pem.status();
  Expected<PkeyPtr> key = PrivateKeyFromPem(*key_pem);
  if (!key.ok()) return key.status();
  Expected<X509Ptr> cert = CertificateFromPem(*cert_pem);
  if (!cert.ok()) return cert.status();
  Expected<X509Ptr> ca = CertificateFromPem(*ca_pem);
  if (!ca.ok()) return ca.status();
  if (CertificateFingerprint(ca->get()) != identity.ca_fingerprint) {
    return Status::PermissionDenied(state_dir + "/ca.crt does not match the pinned fingerprint");
  }
  identity.key = std::move(*key);
  identity.certificate = std::move(*cert);
  identity.ca_certificate = std::move(*ca);
  return identity;
}

}  // namespace vigil::transport
