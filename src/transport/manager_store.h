// The manager's state folder: its CA and server credential, the enrolled agents, their
// pre-shared keys, the enrollment tokens and the revoked certificate serials.
//
// Layout of `state_dir` (every file mode 0600, the folder 0700):
//   ca.key, ca.crt          the manager's own CA, created on first open
//   server.key, server.crt  the TLS server credential, issued by the CA
//   agents.json             enrolled agents: id, name, address, credential, certificate
//                           serial, removed
//   psk.json                the TLS 1.3 pre-shared key of each PSK agent by agent id, as hex
//   revoked.json            serials of certificates that are no longer accepted
//   tokens.json             enrollment tokens: id, SHA-256 of the secret, name, expiry
//   lock                    flock(2) target that serialises writers across processes
// `vigil manager enroll-token`, `vigil manager add-agent` and a running manager open the same
// folder. Every change re-reads the file it changes under the lock, so none overwrites another.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "transport/message.h"
#include "transport/state_files.h"
#include "transport/tls.h"

namespace vigil::transport {

struct AgentEntry {
  std::string id;  // "001", "002", ...; never reused after removal
  std::string name;
  std::string address;      // an IP address the agent must connect from, or "any"
  std::string serial;       // serial of the agent's current certificate (upper-case hex)
  // "certificate" (issued at enrollment) or "psk" (a TLS 1.3 external pre-shared key).
  std::string credential = "certificate";
  int64_t enrolled_at = 0;  // Unix seconds
  bool removed = false;
};

struct EnrollTokenOptions {
  std::string name;  // the agent name the token enrolls
  int64_t ttl_seconds = 3600;
  // "any" (default), an IP address, or "src" to record the address the agent enrolls from.
  std::string address = "any";
  // Replace an enrolled agent of the same name (keeping its id) or address (removing it).
  bool force = false;
};

struct PskAgentOptions {
  std::string name;
  std::string address = "any";  // "any" or an IP address the agent must connect from
  // Replace an enrolled agent of the same name (keeping its id) or address (removing it).
  bool force = false;
};

// A PSK agent's credential. `key` contains kPskBytes raw bytes.
struct PskCredential {
  std::string agent_id;
  std::string name;
  std::string address;
  std::string key;
};

// Formats a PSK credential as one line "<id> <name> <address> <key as hex>", the layout of
// OSSEC's client.keys, for `vigil agent import-psk`.
std::string FormatPskKeyLine(const PskCredential& credential);
// Parses the line FormatPskKeyLine writes (one trailing newline allowed).
Expected<PskCredential> ParsePskKeyLine(std::string_view line);

// A new token as `vigil manager enroll-token` prints it. `token` contains the CA fingerprint,
// so `vigil agent enroll` needs nothing else to authenticate the manager.
struct IssuedToken {
  std::string token;
  std::string ca_fingerprint;
  int64_t expires_at = 0;  // Unix seconds
};

// The parts of a token string "V1.<id>.<secret>.<ca fingerprint>".
struct ParsedToken {
  std::string id;
  std::string secret;
  std::string ca_fingerprint;
};
Expected<ParsedToken> ParseToken(const std::string& token);

// Returns true for names of 1 to 64 characters from [A-Za-z0-9._-].
bool IsValidAgentName(const std::string& name);

// Thread-safe. Files are re-read when another process changed them (checked by FileStamp on
// Refresh() and before every change).
class ManagerStore {
 public:
  // Opens `state_dir`, creating the folder, the CA and the server credential when missing.
  static Expected<std::unique_ptr<ManagerStore>> Open(const std::string& state_dir,
                                                      const Clock& clock = SystemClock::Get());

  Expected<IssuedToken> CreateEnrollToken(const EnrollTokenOptions& options);

  // Checks the token and issues a certificate for the request's public key. `peer_address` is
  // the address the request came from. The token is spent even when the enrollment fails
  // after the token check, so a token cannot be used to probe names.
  Expected<EnrollReplyMessage> Enroll(const EnrollRequestMessage& request,
                                      const std::string& peer_address);

  // Enrolls many agents at once without tokens, with one write of agents.json: for
  // provisioning and load tests. Each request needs `name` (new, valid) and
  // `public_key_pem`; the replies come back in the same order.
  Expected<std::vector<EnrollReplyMessage>> EnrollMany(
      const std::vector<EnrollRequestMessage>& requests);

  // Adds an agent whose credential is a new random TLS 1.3 PSK, without a token. A forced
  // replacement of the same name keeps the id and replaces the old credential.
  Expected<PskCredential> AddPskAgent(const PskAgentOptions& options);

  // Marks the agent removed and revokes its certificate or deletes its PSK.
  Status RemoveAgent(const std::string& id);

  // Returns the PSK of enrolled, non-removed PSK agent `id`, or nullopt. Re-reads the files
  // first when the id is not known yet, so an agent added by another process a moment ago
  // can connect before the next Refresh().
  std::optional<std::string> FindPsk(const std::string& id);

  std::optional<AgentEntry> FindAgent(const std::string& id) const;
  std::vector<AgentEntry> ListAgents() const;

  // Returns OK when a client certificate with `serial` and common name `id` belongs to an
  // enrolled, non-removed agent and is not revoked; otherwise the reason.
  Status CheckClientCertificate(const std::string& id, const std::string& serial) const;

  // Re-reads agents.json and revoked.json when another process changed them.
  void Refresh();

  const std::string& state_dir() const { return state_dir_; }
  const std::string& ca_fingerprint() const { return ca_fingerprint_; }
  X509* ca_certificate() const { return ca_cert_.get(); }
  X509* server_certificate() const { return server_cert_.get(); }
  EVP_PKEY* server_key() const { return server_key_.get(); }

 private:
  ManagerStore(std::string state_dir, const Clock& clock)
      : state_dir_(std::move(state_dir)), clock_(clock) {}

  Status LoadOrCreateCredentials();
  // REQUIRES: mu_ held. Reloads the files when another process replaced one of them.
  void RefreshLocked();
  Status LoadAgentsLocked();
  Status SaveAgentsLocked();
  Status SaveRevokedLocked();
  Status LoadPsksLocked();
  Status SavePsksLocked();
  // Applies a forced replacement, or rejects a duplicate, for a new agent `name` at
  // `address`. Returns the id to reuse (same name, forced) or "".
  Expected<std::string> ResolveDuplicatesLocked(const std::string& name,
                                                const std::string& address, bool force);
  std::string NextAgentIdLocked() const;
  Expected<EnrollReplyMessage> EnrollLocked(const EnrollRequestMessage& request,
                                            const std::string& peer_address);

  std::string state_dir_;
  const Clock& clock_;
  PkeyPtr ca_key_;
  X509Ptr ca_cert_;
  PkeyPtr server_key_;
  X509Ptr server_cert_;
  std::string ca_fingerprint_;

  mutable std::mutex mu_;
  std::map<std::string, AgentEntry> agents_;  // by id
  std::set<std::string> revoked_;
  std::map<std::string, std::string> psks_;  // agent id to raw key bytes
  FileStamp agents_stamp_;
  FileStamp revoked_stamp_;
  FileStamp psks_stamp_;
};

}  // namespace vigil::transport
