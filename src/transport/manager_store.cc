#include "transport/manager_store.h"

#include <algorithm>
#include <cstdio>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/logging.h"
#include "transport/state_files.h"

namespace vigil::transport {
namespace {

using nlohmann::json;

constexpr int kCaDays = 3650;
constexpr int kCertDays = 825;
constexpr int64_t kMaxTokenTtlSeconds = 30 * 86400;

std::string PathIn(const std::string& dir, const char* name) { return dir + "/" + name; }

Expected<json> ReadJsonFile(const std::string& path, json empty) {
  if (!FileExists(path)) return empty;
  Expected<std::string> text = ReadFile(path);
  if (!text.ok()) return std::move(text).status();
  json value = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return Status::ParseError(path + ": invalid JSON; restore it from a backup or remove it");
  }
  return value;
}

// Loads a PEM key and certificate pair, or creates them with `create` when both are missing.
template <typename CreateFn>
Status LoadOrCreatePair(const std::string& key_path, const std::string& cert_path, PkeyPtr* key,
                        X509Ptr* cert, CreateFn create) {
  bool have_key = FileExists(key_path);
  bool have_cert = FileExists(cert_path);
  if (have_key != have_cert) {
    return Status::NotFound((have_key ? cert_path : key_path) +
                            " is missing while its pair exists; restore it or remove both");
  }
  if (!have_key) {
    Expected<PkeyPtr> new_key = GenerateKey();
    if (!new_key.ok()) return new_key.status();
    Expected<X509Ptr> new_cert = create(new_key->get());
    if (!new_cert.ok()) return new_cert.status();
    VIGIL_RETURN_IF_ERROR(WriteSecretFile(key_path, PrivateKeyToPem(new_key->get())));
    VIGIL_RETURN_IF_ERROR(WriteSecretFile(cert_path, CertificateToPem(new_cert->get())));
    *key = std::move(*new_key);
    *cert = std::move(*new_cert);
    return Status::Ok();
  }
  Expected<std::string> key_pem = ReadFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  Expected<std::string> cert_pem = ReadFile(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  Expected<PkeyPtr> loaded_key = PrivateKeyFromPem(*key_pem);
  if (!loaded_key.ok()) return Status::ParseError(key_path + ": " + loaded_key.status().message());
  Expected<X509Ptr> loaded_cert = CertificateFromPem(*cert_pem);
  if (!loaded_cert.ok()) {
    return Status::ParseError(cert_path + ": " + loaded_cert.status().message());
  }
  *key = std::move(*loaded_key);
  *cert = std::move(*loaded_cert);
  return Status::Ok();
}

bool IsHex(std::string_view s, size_t size) {
  return s.size() == size && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// Decodes lower-case hex of `bytes` bytes; returns nullopt for anything else.
std::optional<std::string> FromHex(std::string_view hex, size_t bytes) {
  if (!IsHex(hex, bytes * 2)) return std::nullopt;
  auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    out[i] = static_cast<char>(digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]));
  }
  return out;
}

bool IsValidAgentId(std::string_view id) {
  return !id.empty() && id.size() <= 20 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool IsValidAgentName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Expected<ParsedToken> ParseToken(const std::string& token) {
  ParsedToken out;
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = token.find('.', start);
    parts.push_back(
        token.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 4 || parts[0] != "V1" || !IsHex(parts[1], 16) || !IsHex(parts[2], 32) ||
      !IsHex(parts[3], 64)) {
    return Status::InvalidArgument(
        "invalid enrollment token; expected V1.<id>.<secret>.<CA fingerprint> as printed by "
        "`vigil manager enroll-token`");
  }
  out.id = parts[1];
  out.secret = parts[2];
  out.ca_fingerprint = parts[3];
  return out;
}

std::string FormatPskKeyLine(const PskCredential& credential) {
  return credential.agent_id + " " + credential.name + " " + credential.address + " " +
         ToHex(credential.key) + "\n";
}

Expected<PskCredential> ParsePskKeyLine(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  Status invalid = Status::InvalidArgument(
      "invalid PSK key line; expected '<id> <name> <address> <" + std::to_string(2 * kPskBytes) +
      " hex digits>' as `vigil manager add-agent --psk` writes it");
  if (fields.size() != 4) return invalid;
  std::optional<std::string> key = FromHex(fields[3], kPskBytes);
  if (!IsValidAgentId(fields[0]) || !IsValidAgentName(std::string(fields[1])) ||
      fields[2].empty() || !key) {
    return invalid;
  }
  return PskCredential{std::string(fields[0]), std::string(fields[1]), std::string(fields[2]),
                       std::move(*key)};
}

Expected<std::unique_ptr<ManagerStore>> ManagerStore::Open(const std::string& state_dir,
                                                           const Clock& clock) {
  VIGIL_RETURN_IF_ERROR(MakePrivateDirectory(state_dir));
  std::unique_ptr<ManagerStore> store(new ManagerStore(state_dir, clock));
  {
    FileLock lock(PathIn(state_dir, "lock"));
    if (!lock.ok()) return Status::IoError("cannot lock " + PathIn(state_dir, "lock"));
    VIGIL_RETURN_IF_ERROR(store->LoadOrCreateCredentials());
    std::lock_guard guard(store->mu_);
    VIGIL_RETURN_IF_ERROR(store->LoadAgentsLocked());
  }
  return store;
}

Status ManagerStore::LoadOrCreateCredentials() {
  VIGIL_RETURN_IF_ERROR(LoadOrCreatePair(
      PathIn(state_dir_, "ca.key"), PathIn(state_dir_, "ca.crt"), &ca_key_, &ca_cert_,
      [](EVP_PKEY* key) { return CreateCaCertificate(key, "Vigil manager CA", kCaDays); }));
  VIGIL_RETURN_IF_ERROR(LoadOrCreatePair(
      PathIn(state_dir_, "server.key"), PathIn(state_dir_, "server.crt"), &server_key_,
      &server_cert_, [this](EVP_PKEY* key) {
        return IssueCertificate(ca_cert_.get(), ca_key_.get(), key, "vigil-manager", kCertDays,
                                CertificateUse::kServer);
      }));
  ca_fingerprint_ = CertificateFingerprint(ca_cert_.get());
  return Status::Ok();
}

Status ManagerStore::LoadAgentsLocked() {
  std::string agents_path = PathIn(state_dir_, "agents.json");
  std::string revoked_path = PathIn(state_dir_, "revoked.json");
  FileStamp agents_stamp = GetFileStamp(agents_path);
  FileStamp revoked_stamp = GetFileStamp(revoked_path);
  Expected<json> agents = ReadJsonFile(agents_path, json::array());
  if (!agents.ok()) return agents.status();
  Expected<json> revoked = ReadJsonFile(revoked_path, json::array());
  if (!revoked.ok()) return revoked.status();
  if (!agents->is_array() || !revoked->is_array()) {
    return Status::ParseError(agents_path + " or " + revoked_path + " is not a JSON array");
  }
  std::map<std::string, AgentEntry> loaded;
  try {
    for (const json& j : *agents) {
      AgentEntry e;
      e.id = j.value("id", "");
      e.name = j.value("name", "");
      e.address = j.value("address", "any");
      e.serial = j.value("serial", "");
      e.credential = j.value("credential", "certificate");
      e.enrolled_at = j.value("enrolled_at", int64_t{0});
      e.removed = j.value("removed", false);
      if (e.id.empty()) return Status::ParseError(agents_path + ": an agent has no id");
      loaded[e.id] = std::move(e);
    }
  } catch (const json::exception& e) {
    return Status::ParseError(agents_path + ": " + e.what());
  }
  std::set<std::string> serials;
  for (const json& j : *revoked) {
    if (j.is_string()) serials.insert(j.get<std::string>());
  }
  agents_ = std::move(loaded);
  revoked_ = std::move(serials);
  agents_stamp_ = agents_stamp;
  revoked_stamp_ = revoked_stamp;
  return LoadPsksLocked();
}

Status ManagerStore::LoadPsksLocked() {
  std::string path = PathIn(state_dir_, "psk.json");
  FileStamp stamp = GetFileStamp(path);
  Expected<json> saved = ReadJsonFile(path, json::object());
  if (!saved.ok()) return saved.status();
  if (!saved->is_object()) return Status::ParseError(path + " is not a JSON object");
  std::map<std::string, std::string> loaded;
  for (const auto& [id, hex] : saved->items()) {
    std::optional<std::string> key =
        hex.is_string() ? FromHex(hex.get<std::string>(), kPskBytes) : std::nullopt;
    if (!key) {
      return Status::ParseError(path + ": the key of agent " + id + " is not " +
                                std::to_string(2 * kPskBytes) + " lower-case hex digits");
    }
    loaded[id] = std::move(*key);
  }
  for (auto& [id, key] : psks_) OPENSSL_cleanse(key.data(), key.size());
  psks_ = std::move(loaded);
  psks_stamp_ = stamp;
  return Status::Ok();
}

Status ManagerStore::SavePsksLocked() {
  json out = json::object();
  for (const auto& [id, key] : psks_) out[id] = ToHex(key);
  std::string path = PathIn(state_dir_, "psk.json");
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(path, out.dump(1) + "\n"));
  psks_stamp_ = GetFileStamp(path);
  return Status::Ok();
}

Status ManagerStore::SaveAgentsLocked() {
  json out = json::array();
  for (const auto& [id, e] : agents_) {
    out.push_back({{"id", e.id},
                   {"name", e.name},
                   {"address", e.address},
                   {"serial", e.serial},
                   {"credential", e.credential},
                   {"enrolled_at", e.enrolled_at},
                   {"removed", e.removed}});
  }
  std::string path = PathIn(state_dir_, "agents.json");
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(path, out.dump(1) + "\n"));
  agents_stamp_ = GetFileStamp(path);
  return Status::Ok();
}

Status ManagerStore::SaveRevokedLocked() {
  json out(revoked_);
  std::string path = PathIn(state_dir_, "revoked.json");
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(path, out.dump(1) + "\n"));
  revoked_stamp_ = GetFileStamp(path);
  return Status::Ok();
}

void ManagerStore::RefreshLocked() {
  if (GetFileStamp(PathIn(state_dir_, "agents.json")) == agents_stamp_ &&
      GetFileStamp(PathIn(state_dir_, "revoked.json")) == revoked_stamp_ &&
      GetFileStamp(PathIn(state_dir_, "psk.json")) == psks_stamp_) {
    return;
  }
  Status status = LoadAgentsLocked();
  if (!status.ok()) {
    GetLogger("transport")
        ->error("reloading the agent list failed, keeping the old one: {}", status.ToString());
  }
}

void ManagerStore::Refresh() {
  std::lock_guard guard(mu_);
  RefreshLocked();
}

std::string ManagerStore::NextAgentIdLocked() const {
  uint64_t max_id = 0;
  for (const auto& [id, e] : agents_) {
    uint64_t n = std::strtoull(id.c_str(), nullptr, 10);
    max_id = std::max(max_id, n);
  }
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%03llu", static_cast<unsigned long long>(max_id + 1));
  return buf;
}

Expected<IssuedToken> ManagerStore::CreateEnrollToken(const EnrollTokenOptions& options) {
  if (!IsValidAgentName(options.name)) {
    return Status::InvalidArgument("invalid agent name '" + options.name +
                                   "'; use 1 to 64 characters from A-Z a-z 0-9 . _ -");
  }
  if (options.ttl_seconds <= 0 || options.ttl_seconds > kMaxTokenTtlSeconds) {
    return Status::InvalidArgument("token lifetime of " + std::to_string(options.ttl_seconds) +
                                   " s is out of range; use 1 s to 30 days");
  }
  FileLock lock(PathIn(state_dir_, "lock"));
  if (!lock.ok()) return Status::IoError("cannot lock " + PathIn(state_dir_, "lock"));
  std::lock_guard guard(mu_);
  RefreshLocked();
  if (!options.force) {
    for (const auto& [id, e] : agents_) {
      if (e.removed) continue;
      if (e.name == options.name) {
        return Status::AlreadyExists("agent name '" + options.name + "' is already enrolled as " +
                                     id + "; remove it first or force the replacement");
      }
      if (options.address != "any" && options.address != "src" && e.address == options.address) {
        return Status::AlreadyExists("address " + options.address +
                                     " is already enrolled as agent " + id + " (" + e.name +
                                     "); remove it first or force the replacement");
      }
    }
  }
  std::string tokens_path = PathIn(state_dir_, "tokens.json");
  Expected<json> tokens = ReadJsonFile(tokens_path, json::array());
  if (!tokens.ok()) return tokens.status();
  int64_t now = clock_.NowSeconds();
  json kept = json::array();
  try {
    for (const json& t : *tokens) {
      if (t.value("expires_at", int64_t{0}) > now && !t.value("used", false)) kept.push_back(t);
    }
  } catch (const json::exception& e) {
    return Status::ParseError(tokens_path + ": " + e.what());
  }
  IssuedToken issued;
  std::string id = RandomHex(8);
  std::string secret = RandomHex(16);
  issued.ca_fingerprint = ca_fingerprint_;
  issued.expires_at = now + options.ttl_seconds;
  issued.token = "V1." + id + "." + secret + "." + ca_fingerprint_;
  kept.push_back({{"id", id},
                  {"secret_sha256", Sha256Hex(secret)},
                  {"name", options.name},
                  {"address", options.address},
                  {"force", options.force},
                  {"expires_at", issued.expires_at},
                  {"used", false}});
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(tokens_path, kept.dump(1) + "\n"));
  GetLogger("transport")
      ->info("created enrollment token {} for agent name '{}', valid until {}", id, options.name,
             issued.expires_at);
  return issued;
}

Expected<EnrollReplyMessage> ManagerStore::Enroll(const EnrollRequestMessage& request,
                                                  const std::string& peer_address) {
  FileLock lock(PathIn(state_dir_, "lock"));
  if (!lock.ok()) return Status::IoError("cannot lock " + PathIn(state_dir_, "lock"));
  std::lock_guard guard(mu_);
  RefreshLocked();
  try {
    return EnrollLocked(request, peer_address);
  } catch (const json::exception& e) {
    return Status::ParseError(PathIn(state_dir_, "tokens.json") + ": " + e.what());
  }
}

Expected<EnrollReplyMessage> ManagerStore::EnrollLocked(const EnrollRequestMessage& request,
                                                        const std::string& peer_address) {
  std::string tokens_path = PathIn(state_dir_, "tokens.json");
  Expected<json> tokens = ReadJsonFile(tokens_path, json::array());
  if (!tokens.ok()) return tokens.status();
  json* token = nullptr;
  for (json& t : *tokens) {
    if (t.value("id", "") == request.token_id) token = &t;
  }
  // The same message for every token failure, so a client cannot tell which part was wrong.
  Status rejected = Status::PermissionDenied("enrollment token is invalid, expired or used");
  if (token == nullptr) return rejected;
  if (!ConstantTimeEquals(token->value("secret_sha256", ""), Sha256Hex(request.token_secret))) {
    return rejected;
  }
  if (token->value("used", false) ||
      token->value("expires_at", int64_t{0}) <= clock_.NowSeconds()) {
    return rejected;
  }
  (*token)["used"] = true;
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(tokens_path, tokens->dump(1) + "\n"));

  std::string name = token->value("name", "");
  if (!request.name.empty() && request.name != name) {
    return Status::PermissionDenied("the token enrolls agent name '" + name + "', not '" +
                                    request.name + "'");
  }
  std::string address = token->value("address", "any");
  if (address == "src") address = peer_address;
  bool force = token->value("force", false);

  Expected<std::string> reused = ResolveDuplicatesLocked(name, address, force);
  if (!reused.ok()) return reused.status();
  std::string id = reused->empty() ? NextAgentIdLocked() : *reused;

  Expected<PkeyPtr> public_key = PublicKeyFromPem(request.public_key_pem);
  if (!public_key.ok()) return public_key.status();
  Expected<X509Ptr> cert = IssueCertificate(ca_cert_.get(), ca_key_.get(), public_key->get(), id,
                                            kCertDays, CertificateUse::kClient);
  if (!cert.ok()) return cert.status();

  AgentEntry& entry = agents_[id];
  entry.id = id;
  entry.name = name;
  entry.address = address;
  entry.serial = CertificateSerial(cert->get());
  entry.credential = "certificate";
  entry.enrolled_at = clock_.NowSeconds();
  entry.removed = false;
  VIGIL_RETURN_IF_ERROR(SaveAgentsLocked());
  VIGIL_RETURN_IF_ERROR(SaveRevokedLocked());
  VIGIL_RETURN_IF_ERROR(SavePsksLocked());

  EnrollReplyMessage reply;
  reply.ok = true;
  reply.agent_id = id;
  reply.name = name;
  reply.certificate_pem = CertificateToPem(cert->get());
  reply.ca_certificate_pem = CertificateToPem(ca_cert_.get());
  GetLogger("transport")
      ->info("enrolled agent {} ({}) from {} with token {}, address {}", id, name, peer_address,
             request.token_id, address);
  return reply;
}

Expected<std::string> ManagerStore::ResolveDuplicatesLocked(const std::string& name,
                                                          const std::string& address,
                                                          bool force) {
  std::string id;
  for (auto& [existing_id, e] : agents_) {
    if (e.removed) continue;
    bool same_name = e.name == name;
    bool same_address = address != "any" && e.address == address;
    if (!same_name && !same_address) continue;
    if (!force) {
      return Status::AlreadyExists(
          same_name ? "agent name '" + name + "' is already enrolled as " + existing_id
                    : "address " + address + " is already enrolled as agent " + existing_id);
    }
    // Forced: the same name keeps its id with a new credential, and another agent with the
    // address is removed. Either way the old credential stops working.
    if (!e.serial.empty()) revoked_.insert(e.serial);
    e.serial.clear();
    auto psk = psks_.find(existing_id);
    if (psk != psks_.end()) {
      OPENSSL_cleanse(psk->second.data(), psk->second.size());
      psks_.erase(psk);
    }
    if (same_name) {
      id = existing_id;
    } else {
      e.removed = true;
    }
  }
  return id;
}

Expected<PskCredential> ManagerStore::AddPskAgent(const PskAgentOptions& options) {
  if (!IsValidAgentName(options.name)) {
    return Status::InvalidArgument("invalid agent name '" + options.name +
                                   "'; use 1 to 64 characters from A-Z a-z 0-9 . _ -");
  }
  if (options.address.empty() || options.address.find(' ') != std::string::npos ||
      options.address == "src") {
    return Status::InvalidArgument("invalid agent address '" + options.address +
                                   "'; use any or an IP address");
  }
  FileLock lock(PathIn(state_dir_, "lock"));
  if (!lock.ok()) return Status::IoError("cannot lock " + PathIn(state_dir_, "lock"));
  std::lock_guard guard(mu_);
  RefreshLocked();
  Expected<std::string> reused = ResolveDuplicatesLocked(options.name, options.address,
                                                         options.force);
  if (!reused.ok()) return reused.status();
  std::string id = reused->empty() ? NextAgentIdLocked() : *reused;
  std::string key(kPskBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) !=
      1) {
    return Status::Internal("the random generator failed to create a PSK");
  }
  AgentEntry& entry = agents_[id];
  entry.id = id;
  entry.name = options.name;
  entry.address = options.address;
  entry.serial.clear();
  entry.credential = "psk";
  entry.enrolled_at = clock_.NowSeconds();
  entry.removed = false;
  psks_[id] = key;
  // The key is written before the agent list, so a manager that reads the new agent also
  // finds its key.
  VIGIL_RETURN_IF_ERROR(SavePsksLocked());
  VIGIL_RETURN_IF_ERROR(SaveRevokedLocked());
  VIGIL_RETURN_IF_ERROR(SaveAgentsLocked());
  GetLogger("transport")
      ->info("added agent {} ({}) with a pre-shared key, address {}", id, options.name,
             options.address);
  return PskCredential{id, options.name, options.address, std::move(key)};
}

std::optional<std::string> ManagerStore::FindPsk(const std::string& id) {
  std::lock_guard guard(mu_);
  auto lookup = [&]() -> std::optional<std::string> {
    auto agent = agents_.find(id);
    auto key = psks_.find(id);
    if (agent == agents_.end() || agent->second.removed || agent->second.credential != "psk" ||
        key == psks_.end()) {
      return std::nullopt;
    }
    return key->second;
  };
  std::optional<std::string> key = lookup();
  if (key) return key;
  RefreshLocked();
  return lookup();
}

Expected<std::vector<EnrollReplyMessage>> ManagerStore::EnrollMany(
    const std::vector<EnrollRequestMessage>& requests) {
  FileLock lock(PathIn(state_dir_, "lock"));
  if (!lock.ok()) return Status::IoError("cannot lock " + PathIn(state_dir_, "lock"));
  std::lock_guard guard(mu_);
  RefreshLocked();
  std::set<std::string> names;
  for (const auto& [id, e] : agents_) {
    if (!e.removed) names.insert(e.name);
  }
  std::vector<EnrollReplyMessage> replies;
  std::string ca_pem = CertificateToPem(ca_cert_.get());
  // Ids are counted here: NextAgentIdLocked() scans every agent, which is quadratic in bulk.
  uint64_t next_id = std::strtoull(NextAgentIdLocked().c_str(), nullptr, 10);
  for (const EnrollRequestMessage& request : requests) {
    if (!IsValidAgentName(request.name)) {
      return Status::InvalidArgument("invalid agent name '" + request.name + "'");
    }
    if (!names.insert(request.name).second) {
      return Status::AlreadyExists("agent name '" + request.name + "' is already enrolled");
    }
    Expected<PkeyPtr> public_key = PublicKeyFromPem(request.public_key_pem);
    if (!public_key.ok()) return public_key.status();
    char id_text[24];
    std::snprintf(id_text, sizeof(id_text), "%03llu", static_cast<unsigned long long>(next_id++));
    std::string id = id_text;
    Expected<X509Ptr> cert = IssueCertificate(ca_cert_.get(), ca_key_.get(), public_key->get(), id,
                                              kCertDays, CertificateUse::kClient);
    if (!cert.ok()) return cert.status();
    AgentEntry& entry = agents_[id];
    entry.id = id;
    entry.name = request.name;
    entry.address = "any";
    entry.serial = CertificateSerial(cert->get());
    entry.enrolled_at = clock_.NowSeconds();
    EnrollReplyMessage reply;
    reply.ok = true;
    reply.agent_id = id;
    reply.name = request.name;
    reply.certificate_pem = CertificateToPem(cert->get());
    reply.ca_certificate_pem = ca_pem;
    replies.push_back(std::move(reply));
  }
  VIGIL_RETURN_IF_ERROR(SaveAgentsLocked());
  GetLogger("transport")->info("enrolled {} agents in one batch", replies.size());
  return replies;
}

Status ManagerStore::RemoveAgent(const std::string& id) {
  FileLock lock(PathIn(state_dir_, "lock"));
  if (!lock.ok()) return Status::IoError("cannot lock " + PathIn(state_dir_, "lock"));
  std::lock_guard guard(mu_);
  RefreshLocked();
  auto it = agents_.find(id);
  if (it == agents_.end() || it->second.removed) {
    return Status::NotFound("agent " + id + " is not enrolled");
  }
  it->second.removed = true;
  if (!it->second.serial.empty()) revoked_.insert(it->second.serial);
  auto psk = psks_.find(id);
  bool had_psk = psk != psks_.end();
  if (had_psk) {
    OPENSSL_cleanse(psk->second.data(), psk->second.size());
    psks_.erase(psk);
  }
  // The agent is marked removed first, so a crash between the writes never leaves a
  // removed agent's credential usable.
  VIGIL_RETURN_IF_ERROR(SaveAgentsLocked());
  VIGIL_RETURN_IF_ERROR(SaveRevokedLocked());
  VIGIL_RETURN_IF_ERROR(SavePsksLocked());
  GetLogger("transport")
      ->info("removed agent {} ({}) and {}", id, it->second.name,
             had_psk ? "deleted its pre-shared key" : "revoked its certificate");
  return Status::Ok();
}

std::optional<AgentEntry> ManagerStore::FindAgent(const std::string& id) const {
  std::lock_guard guard(mu_);
  auto it = agents_.find(id);
  if (it == agents_.end()) return std::nullopt;
  return it->second;
}

std::vector<AgentEntry> ManagerStore::ListAgents() const {
  std::lock_guard guard(mu_);
  std::vector<AgentEntry> out;
  for (const auto& [id, e] : agents_) out.push_back(e);
  return out;
}

Status ManagerStore::CheckClientCertificate(const std::string& id,
                                            const std::string& serial) const {
  std::lock_guard guard(mu_);
  if (revoked_.count(serial) != 0) {
    return Status::PermissionDenied("certificate " + serial + " of agent " + id + " is revoked");
  }
  auto it = agents_.find(id);
  if (it == agents_.end()) return Status::NotFound("agent id " + id + " is unknown");
  if (it->second.removed) return Status::PermissionDenied("agent " + id + " was removed");
  if (it->second.serial != serial) {
    return Status::PermissionDenied("certificate " + serial + " is not the current one of agent " +
                                    id);
  }
  return Status::Ok();
}

}  // namespace vigil::transport
