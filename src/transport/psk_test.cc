// Agents with a TLS 1.3 external PSK instead of a certificate: real TCP on loopback, real
// OpenSSL handshakes, real state files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "transport/control.h"
#include "transport/state_files.h"
#include "transport/test_support.h"
#include "transport/tls_io.h"

namespace vigil::transport {
namespace {

using testing::WaitUntil;
using namespace std::chrono_literals;

int FileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class PskTest : public testing::LinkFixture {
 protected:
  // Adds a PSK agent on the manager and imports its key line into a new agent folder.
  std::string AddPskAgent(const std::string& name, PskCredential* out = nullptr) {
    Expected<PskCredential> credential = manager_->store().AddPskAgent({name, "any", false});
    EXPECT_TRUE(credential.ok()) << credential.status().ToString();
    if (!credential.ok()) return "";
    std::string state = dir_.Sub("agent-" + name);
    Expected<AgentIdentity> identity =
        ImportPskCredential(state, FormatPskKeyLine(*credential));
    EXPECT_TRUE(identity.ok()) << identity.status().ToString();
    if (out != nullptr) *out = *credential;
    return state;
  }

  // Connects with a PSK context and sends a hello; returns the manager's reply.
  Expected<Message> HelloWithPsk(const std::string& identity, const std::string& key,
                                 TlsClientConnection* connection) {
    Expected<SslCtxPtr> ctx = MakeAgentPskContext(identity, key);
    if (!ctx.ok()) return ctx.status();
    contexts_.push_back(std::move(*ctx));
    auto deadline = std::chrono::steady_clock::now() + 5s;
    Status connected = connection->Connect(contexts_.back().get(),
                                           HostPort{"127.0.0.1", manager_->port()}, deadline);
    if (!connected.ok()) return connected;
    HelloMessage hello;
    hello.agent_id = identity;
    hello.session_id = RandomHex(16);
    Status sent = connection->WriteAll(EncodeMessage(hello), deadline);
    if (!sent.ok()) return sent;
    FrameDecoder decoder;
    return connection->ReadMessage(&decoder, deadline);
  }

  std::vector<SslCtxPtr> contexts_;
};

TEST_F(PskTest, AgentDeliversEventsWithItsLocation) {
  std::string state = AddPskAgent("psk1");
  auto agent = StartAgent(state);
  ASSERT_TRUE(agent);
  ASSERT_TRUE(agent->Submit({{"/var/log/auth.log", "sshd: over psk"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  EXPECT_EQ(sink_.events()[0].agent_id, "001");
  EXPECT_EQ(sink_.events()[0].location, "(psk1) 127.0.0.1->/var/log/auth.log");
  EXPECT_EQ(manager_->counters().rejected_psk, 0u);
  EXPECT_EQ(manager_->counters().handshakes_failed, 0u);
}

TEST_F(PskTest, HandshakeUsesPskWithEcdhe) {
  PskCredential credential;
  AddPskAgent("psk1", &credential);
  TlsClientConnection connection;
  Expected<Message> reply = HelloWithPsk(credential.agent_id, credential.key, &connection);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_TRUE(std::holds_alternative<HelloAckMessage>(*reply));
  SSL* ssl = connection.ssl();
  EXPECT_EQ(SSL_session_reused(ssl), 1);
  EXPECT_EQ(std::string(SSL_get_version(ssl)), "TLSv1.3");
  EXPECT_EQ(std::string(SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))), kPskCipherSuite);
  // psk_dhe_ke: an ECDHE group was negotiated, so the session keys have forward secrecy.
  EXPECT_NE(SSL_get_negotiated_group(ssl), 0);
  EXPECT_EQ(SSL_get0_peer_certificate(ssl), nullptr);
}

TEST_F(PskTest, KeysStayInPrivateFiles) {
  PskCredential credential;
  std::string state = AddPskAgent("psk1", &credential);
  std::string hex = FormatPskKeyLine(credential).substr(FormatPskKeyLine(credential).rfind(' ') + 1);
  hex.pop_back();
  ASSERT_EQ(hex.size(), 2 * kPskBytes);
  EXPECT_EQ(FileMode(dir_.Sub("manager") + "/psk.json"), 0600);
  EXPECT_NE(ReadText(dir_.Sub("manager") + "/psk.json").find(hex), std::string::npos);
  EXPECT_EQ(ReadText(dir_.Sub("manager") + "/agents.json").find(hex), std::string::npos);
  EXPECT_EQ(FileMode(state + "/agent.psk"), 0600);
  EXPECT_EQ(FileMode(state + "/agent.json"), 0600);
  EXPECT_EQ(ReadText(state + "/agent.json").find(hex), std::string::npos);
  Expected<AgentIdentity> identity = LoadAgentIdentity(state);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  EXPECT_TRUE(identity->uses_psk());
  EXPECT_EQ(identity->psk, credential.key);
  EXPECT_EQ(identity->name, "psk1");
}

TEST_F(PskTest, WrongKeyRejected) {
  PskCredential credential;
  AddPskAgent("psk1", &credential);
  std::string wrong = credential.key;
  wrong[0] = static_cast<char>(wrong[0] ^ 1);
  TlsClientConnection connection;
  Expected<Message> reply = HelloWithPsk(credential.agent_id, wrong, &connection);
  EXPECT_FALSE(reply.ok());
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_psk == 1; }));
  EXPECT_EQ(manager_->counters().handshakes_failed, 1u);
  EXPECT_EQ(manager_->counters().agents_connected, 0u);
}

TEST_F(PskTest, UnknownIdentityRejected) {
  PskCredential credential;
  AddPskAgent("psk1", &credential);
  for (const std::string& identity : {std::string("999"), std::string("not-an-id")}) {
    SCOPED_TRACE(identity);
    TlsClientConnection connection;
    EXPECT_FALSE(HelloWithPsk(identity, credential.key, &connection).ok());
  }
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_psk == 2; }));
  EXPECT_EQ(manager_->counters().agents_connected, 0u);
}

TEST_F(PskTest, CertificateAgentHasNoPsk) {
  Enroll("web1");
  PskCredential credential;
  AddPskAgent("psk1", &credential);
  // Agent 001 has a certificate, so a PSK under its id is not accepted.
  TlsClientConnection connection;
  EXPECT_FALSE(HelloWithPsk("001", credential.key, &connection).ok());
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_psk == 1; }));
}

TEST_F(PskTest, HelloForOtherIdRejected) {
  PskCredential credential;
  AddPskAgent("psk1", &credential);
  AddPskAgent("psk2");
  Expected<SslCtxPtr> ctx = MakeAgentPskContext(credential.agent_id, credential.key);
  ASSERT_TRUE(ctx.ok());
  TlsClientConnection connection;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  ASSERT_TRUE(
      connection.Connect(ctx->get(), HostPort{"127.0.0.1", manager_->port()}, deadline).ok());
  HelloMessage hello;
  hello.agent_id = "002";
  hello.session_id = RandomHex(16);
  ASSERT_TRUE(connection.WriteAll(EncodeMessage(hello), deadline).ok());
  FrameDecoder decoder;
  Expected<Message> reply = connection.ReadMessage(&decoder, deadline);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_TRUE(std::holds_alternative<ErrorMessage>(*reply));
  EXPECT_EQ(manager_->counters().rejected_unknown_agent, 1u);
}

TEST_F(PskTest, RemovedAgentIsCutWhileOthersContinue) {
  std::string psk_state = AddPskAgent("psk1");  // 001
  std::string cert_state = Enroll("web1");      // 002
  auto psk_agent = StartAgent(psk_state);
  auto cert_agent = StartAgent(cert_state);
  ASSERT_TRUE(psk_agent);
  ASSERT_TRUE(cert_agent);
  ASSERT_TRUE(WaitUntil([&] { return psk_agent->connected(); }));
  ASSERT_TRUE(WaitUntil([&] { return cert_agent->connected(); }));
  ASSERT_TRUE(psk_agent->Submit({{"stdin", "psk before"}}).ok());
  ASSERT_TRUE(cert_agent->Submit({{"stdin", "cert before"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 2; }));

  ASSERT_TRUE(ControlRemoveAgent(dir_.Sub("manager"), "001").ok());
  ASSERT_TRUE(WaitUntil([&] { return !psk_agent->connected(); }));
  // Its reconnects fail: the removed agent's key is gone.
  ASSERT_TRUE(WaitUntil([&] { return manager_->counters().rejected_revoked >= 1; }));
  EXPECT_FALSE(psk_agent->connected());
  EXPECT_EQ(ReadText(dir_.Sub("manager") + "/psk.json").find("\"001\""), std::string::npos);

  ASSERT_TRUE(cert_agent->Submit({{"stdin", "cert after"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.CountFrom("002") == 2; }));
  ASSERT_TRUE(psk_agent->Submit({{"stdin", "psk after"}}).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sink_.CountFrom("001"), 1u);
  EXPECT_TRUE(cert_agent->connected());
}

TEST_F(PskTest, ResumesAfterManagerRestartWithoutRepeats) {
  std::string state = AddPskAgent("psk1");
  {
    auto agent = StartAgent(state);
    ASSERT_TRUE(agent->Submit({{"stdin", "one"}}).ok());
    ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  }
  // The manager restarts and the agent comes back with the same queue session.
  manager_->Stop();
  uint16_t port = manager_->port();
  manager_.reset();
  StartManager(port);
  auto agent = StartAgent(state);
  ASSERT_TRUE(agent->Submit({{"stdin", "two"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 2; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sink_.size(), 2u);
  EXPECT_EQ(sink_.events()[1].text, "two");
}

TEST_F(PskTest, ForcedReplacementKeepsIdAndDropsOldKey) {
  PskCredential old_credential;
  AddPskAgent("psk1", &old_credential);
  Expected<PskCredential> again = manager_->store().AddPskAgent({"psk1", "any", false});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  Expected<PskCredential> forced = manager_->store().AddPskAgent({"psk1", "any", true});
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ(forced->agent_id, old_credential.agent_id);
  EXPECT_NE(forced->key, old_credential.key);
  TlsClientConnection old_connection;
  EXPECT_FALSE(HelloWithPsk(old_credential.agent_id, old_credential.key, &old_connection).ok());
  TlsClientConnection new_connection;
  Expected<Message> reply = HelloWithPsk(forced->agent_id, forced->key, &new_connection);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_TRUE(std::holds_alternative<HelloAckMessage>(*reply));
}

TEST(PskKeyLine, RoundTripsAndRejectsMalformedLines) {
  PskCredential credential{"007", "web-1.example", "any", std::string(kPskBytes, '\x5a')};
  std::string line = FormatPskKeyLine(credential);
  Expected<PskCredential> parsed = ParsePskKeyLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->agent_id, "007");
  EXPECT_EQ(parsed->name, "web-1.example");
  EXPECT_EQ(parsed->address, "any");
  EXPECT_EQ(parsed->key, credential.key);
  std::string hex(2 * kPskBytes, 'a');
  for (const std::string& bad :
       std::vector<std::string>{"", "007 web any", "007 web any " + hex + " extra",
                                "x07 web any " + hex, "007 web any " + hex.substr(2),
                                "007 web any " + std::string(2 * kPskBytes, 'G'),
                                "007 bad/name any " + hex}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParsePskKeyLine(bad).ok());
  }
}

}  // namespace
}  // namespace vigil::transport
