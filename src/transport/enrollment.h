// The agent's side of enrollment, and the credential it stores.
//
// Files in the agent's state folder (mode 0600, the folder 0700):
//   agent.key    the agent's private key, generated locally; it never leaves the host
//   agent.crt    the certificate the manager's CA issued for it
//   ca.crt       the manager's CA, pinned by its fingerprint at enrollment
//   agent.psk    instead of the three above: the agent's TLS 1.3 pre-shared key, as hex
//   agent.json   agent id, name, credential ("certificate" or "psk") and the CA fingerprint
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "transport/tls.h"

namespace vigil::transport {

struct AgentIdentity {
  std::string agent_id;
  std::string name;
  std::string ca_fingerprint;  // empty for a PSK agent
  PkeyPtr key;
  X509Ptr certificate;
  X509Ptr ca_certificate;
  std::string psk;  // raw key bytes of a PSK agent; empty for a certificate agent

  bool uses_psk() const { return !psk.empty(); }
};

struct EnrollOptions {
  std::string manager;    // HOST:PORT of the manager's agent port
  std::string token;      // as `vigil manager enroll-token` printed it
  std::string name;       // empty: the name the token was made for
  std::string state_dir;  // where the credential is stored
  std::chrono::milliseconds timeout{10000};
};

// Obtains a certificate from the manager with a one-time token and stores the credential in
// `options.state_dir`, replacing an earlier one. The manager is authenticated by the CA
// fingerprint inside the token before the token is sent.
Expected<AgentIdentity> EnrollAgent(const EnrollOptions& options);

// Stores a PSK credential in `state_dir`, replacing an earlier credential of either kind.
// `key_line` is the line `vigil manager add-agent --psk` wrote.
Expected<AgentIdentity> ImportPskCredential(const std::string& state_dir,
                                            const std::string& key_line);

// Builds the TLS context for `identity`: a certificate or a PSK agent context.
Expected<SslCtxPtr> MakeIdentityContext(const AgentIdentity& identity);

// Loads the credential that EnrollAgent or ImportPskCredential stored.
Expected<AgentIdentity> LoadAgentIdentity(const std::string& state_dir);

}  // namespace vigil::transport
