// Hostile input on the agent port: every case must be rejected, counted and logged, and must
// not disturb a well-behaved agent on the same manager.
#include <gtest/gtest.h>

#include "transport/state_files.h"
#include "transport/test_support.h"
#include "transport/tls_io.h"

namespace vigil::transport {
namespace {

using testing::WaitUntil;
using namespace std::chrono_literals;

// A hand-driven agent connection that sends whatever the test writes.
class RawClient {
 public:
  Status Connect(SslCtxPtr ctx, uint16_t port) {
    ctx_ = std::move(ctx);
    return connection_.Connect(ctx_.get(), HostPort{"127.0.0.1", port}, FiveSeconds());
  }
  Status ConnectAs(const std::string& state_dir, uint16_t port) {
    Expected<AgentIdentity> identity = LoadAgentIdentity(state_dir);
    if (!identity.ok()) return identity.status();
    Expected<SslCtxPtr> ctx = MakeAgentContext(identity->ca_certificate.get(),
                                               identity->certificate.get(), identity->key.get());
    if (!ctx.ok()) return ctx.status();
    return Connect(std::move(*ctx), port);
  }
  Status Send(std::string_view bytes) { return connection_.WriteAll(bytes, FiveSeconds()); }
  Status Send(const Message& message) { return Send(EncodeMessage(message)); }
  Expected<Message> Read() { return connection_.ReadMessage(&decoder_, FiveSeconds()); }
  // Sends a hello for `agent_id` and returns the manager's reply.
  Expected<Message> Hello(const std::string& agent_id, const std::string& session) {
    HelloMessage hello;
    hello.agent_id = agent_id;
    hello.session_id = session;
    Status sent = Send(hello);
    if (!sent.ok()) return sent;
    return Read();
  }
  void Close() { connection_.Close(); }

 private:
  static transport::Deadline FiveSeconds() { return std::chrono::steady_clock::now() + 5s; }
  SslCtxPtr ctx_;
  TlsClientConnection connection_;
  FrameDecoder decoder_;
};

class SecurityTest : public testing::LinkFixture {
 protected:
  void SetUp() override {
    LinkFixture::SetUp();
    good_ = StartAgent(Enroll("good"));
    ASSERT_TRUE(good_);
    intruder_dir_ = Enroll("intruder");
  }

  // The well-behaved agent still delivers after the attack.
  void ExpectGoodAgentUnaffected() {
    size_t before = sink_.CountFrom("001");
    ASSERT_TRUE(good_->Submit({{"stdin", "still fine " + std::to_string(before)}}).ok());
    EXPECT_TRUE(WaitUntil([&] { return sink_.CountFrom("001") == before + 1; }));
  }

  static bool IsError(const Expected<Message>& m) {
    return m.ok() && std::holds_alternative<ErrorMessage>(*m);
  }

  std::unique_ptr<Agent> good_;
  std::string intruder_dir_;  // agent 002
};

TEST_F(SecurityTest, OversizeFrameRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  ASSERT_TRUE(raw.Hello("002", RandomHex(16)).ok());
  // A header that announces 64 MiB; the manager rejects it before buffering the body.
  ASSERT_TRUE(raw.Send(std::string("\x04\x00\x00\x00\x04\x00", 6) + std::string(1000, 'x')).ok());
  EXPECT_TRUE(IsError(raw.Read()));
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_oversize == 1; }));
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, TruncatedFrameCounted) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  ASSERT_TRUE(raw.Hello("002", RandomHex(16)).ok());
  std::string frame = EncodeMessage(EventBatchMessage{1, {{"stdin", std::string(200, 'a')}}});
  ASSERT_TRUE(raw.Send(frame.substr(0, frame.size() / 2)).ok());
  std::this_thread::sleep_for(100ms);
  raw.Close();
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_truncated == 1; }));
  EXPECT_EQ(sink_.CountFrom("002"), 0u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, GarbageAfterHandshakeRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  // A small length with an unknown frame type, sent before any hello.
  ASSERT_TRUE(raw.Send(std::string("\x00\x00\x00\x05\x63zzz\xff", 9)).ok());
  EXPECT_TRUE(IsError(raw.Read()));
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_malformed == 1; }));
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, MalformedMessageBodyRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  ASSERT_TRUE(raw.Hello("002", RandomHex(16)).ok());
  // A batch frame whose body claims a string longer than the frame.
  ASSERT_TRUE(
      raw.Send(EncodeFrame(FrameType::kEventBatch, std::string("\x01\x01\x7f", 3), false)).ok());
  EXPECT_TRUE(IsError(raw.Read()));
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_malformed == 1; }));
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, ReplayedBatchDeliveredOnce) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  std::string session = RandomHex(16);
  ASSERT_TRUE(raw.Hello("002", session).ok());
  EventBatchMessage batch{1, {{"stdin", "once"}}};
  ASSERT_TRUE(raw.Send(batch).ok());
  Expected<Message> ack = raw.Read();
  ASSERT_TRUE(ack.ok());
  ASSERT_TRUE(std::holds_alternative<AckMessage>(*ack));
  EXPECT_EQ(std::get<AckMessage>(*ack).seq, 1u);
  ASSERT_TRUE(raw.Send(batch).ok());
  Expected<Message> again = raw.Read();
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(std::holds_alternative<AckMessage>(*again));
  EXPECT_EQ(manager_->counters().replayed_batches, 1u);
  EXPECT_EQ(sink_.CountFrom("002"), 1u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, ReplayAcrossReconnectDeliveredOnce) {
  std::string session = RandomHex(16);
  {
    RawClient raw;
    ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
    ASSERT_TRUE(raw.Hello("002", session).ok());
    ASSERT_TRUE(raw.Send(EventBatchMessage{1, {{"stdin", "first"}}}).ok());
    ASSERT_TRUE(raw.Read().ok());
  }
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  Expected<Message> hello_ack = raw.Hello("002", session);
  ASSERT_TRUE(hello_ack.ok());
  ASSERT_TRUE(std::holds_alternative<HelloAckMessage>(*hello_ack));
  EXPECT_EQ(std::get<HelloAckMessage>(*hello_ack).last_delivered_seq, 1u);
  ASSERT_TRUE(raw.Send(EventBatchMessage{1, {{"stdin", "first"}}}).ok());
  ASSERT_TRUE(raw.Read().ok());
  EXPECT_EQ(sink_.CountFrom("002"), 1u);
  EXPECT_EQ(manager_->counters().replayed_batches, 1u);
}

TEST_F(SecurityTest, ReorderedBatchRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  ASSERT_TRUE(raw.Hello("002", RandomHex(16)).ok());
  ASSERT_TRUE(raw.Send(EventBatchMessage{1, {{"stdin", "one"}}}).ok());
  ASSERT_TRUE(raw.Read().ok());
  ASSERT_TRUE(raw.Send(EventBatchMessage{3, {{"stdin", "three"}}}).ok());
  EXPECT_TRUE(IsError(raw.Read()));
  EXPECT_EQ(manager_->counters().reordered_batches, 1u);
  EXPECT_EQ(sink_.CountFrom("002"), 1u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, RetiredSessionRejected) {
  std::string old_session = RandomHex(16);
  for (const std::string& session : {old_session, RandomHex(16)}) {
    RawClient raw;
    ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
    ASSERT_TRUE(raw.Hello("002", session).ok());
  }
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  EXPECT_TRUE(IsError(raw.Hello("002", old_session)));
  EXPECT_EQ(manager_->counters().rejected_sessions, 1u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, UnknownAgentIdRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  // The certificate is agent 002's; claiming another id, known or not, is rejected.
  EXPECT_TRUE(IsError(raw.Hello("999", RandomHex(16))));
  RawClient raw2;
  ASSERT_TRUE(raw2.ConnectAs(intruder_dir_, manager_->port()).ok());
  EXPECT_TRUE(IsError(raw2.Hello("001", RandomHex(16))));
  EXPECT_EQ(manager_->counters().rejected_unknown_agent, 2u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, ForeignCertificateRejected) {
  // A credential from another manager's CA, presented to this manager.
  Expected<std::unique_ptr<ManagerStore>> other = ManagerStore::Open(dir_.Sub("other-manager"));
  ASSERT_TRUE(other.ok());
  Expected<PkeyPtr> key = GenerateKey();
  ASSERT_TRUE(key.ok());
  Expected<IssuedToken> token = (*other)->CreateEnrollToken({"intruder", 60, "any", false});
  ASSERT_TRUE(token.ok());
  Expected<ParsedToken> parsed = ParseToken(token->token);
  ASSERT_TRUE(parsed.ok());
  EnrollRequestMessage request{parsed->id, parsed->secret, "intruder", PublicKeyToPem(key->get()),
                               "host"};
  Expected<EnrollReplyMessage> reply = (*other)->Enroll(request, "127.0.0.1");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  Expected<X509Ptr> foreign = CertificateFromPem(reply->certificate_pem);
  ASSERT_TRUE(foreign.ok());
  Expected<SslCtxPtr> ctx =
      MakeAgentContext(manager_->store().ca_certificate(), foreign->get(), key->get());
  ASSERT_TRUE(ctx.ok());
  RawClient raw;
  Status connected = raw.Connect(std::move(*ctx), manager_->port());
  // TLS 1.3 clients finish before the server checks their certificate; the rejection shows
  // on the first read.
  if (connected.ok()) {
    EXPECT_FALSE(raw.Hello("001", RandomHex(16)).ok());
  }
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().handshakes_failed == 1; }));
  EXPECT_EQ(sink_.CountFrom("002"), 0u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, RevokedCredentialRejected) {
  ASSERT_TRUE(manager_->RemoveAgent("002").ok());
  RawClient raw;
  Status connected = raw.ConnectAs(intruder_dir_, manager_->port());
  if (connected.ok()) {
    EXPECT_FALSE(raw.Hello("002", RandomHex(16)).ok());
  }
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().rejected_revoked == 1; }));
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, ConnectionWithoutCertificateMayOnlyEnroll) {
  Expected<SslCtxPtr> ctx = MakeEnrollContext();
  ASSERT_TRUE(ctx.ok());
  RawClient raw;
  ASSERT_TRUE(raw.Connect(std::move(*ctx), manager_->port()).ok());
  EXPECT_TRUE(IsError(raw.Hello("001", RandomHex(16))));
  EXPECT_EQ(manager_->counters().rejected_protocol, 1u);
  ExpectGoodAgentUnaffected();
}

TEST_F(SecurityTest, BatchBeforeHelloRejected) {
  RawClient raw;
  ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
  ASSERT_TRUE(raw.Send(EventBatchMessage{1, {{"stdin", "early"}}}).ok());
  EXPECT_TRUE(IsError(raw.Read()));
  EXPECT_EQ(manager_->counters().rejected_protocol, 1u);
  EXPECT_EQ(sink_.CountFrom("002"), 0u);
}

TEST_F(SecurityTest, SilentConnectionTimesOut) {
  Expected<int> fd = ConnectTcp(HostPort{"127.0.0.1", manager_->port()}, 1000ms);
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().handshake_timeouts == 1; }, 5s));
  close(*fd);
  ExpectGoodAgentUnaffected();
}

}  // namespace
}  // namespace vigil::transport

namespace vigil::transport {
namespace {

// An enrolled agent's certificate must not pass as the manager's: a server presenting one is
// rejected by another agent even though the same CA issued it.
TEST_F(SecurityTest, AgentCertificateCannotActAsManager) {
  Expected<AgentIdentity> impostor = LoadAgentIdentity(intruder_dir_);
  ASSERT_TRUE(impostor.ok());
  Expected<SslCtxPtr> server_ctx = MakeServerContext(
      impostor->ca_certificate.get(), impostor->certificate.get(), impostor->key.get());
  ASSERT_TRUE(server_ctx.ok()) << server_ctx.status().ToString();
  Expected<int> listener = ListenTcp("127.0.0.1", 0, 4);
  ASSERT_TRUE(listener.ok());
  uint16_t port = LocalPort(*listener);
  std::thread server([&] {
    pollfd pfd{*listener, POLLIN, 0};
    if (poll(&pfd, 1, 5000) != 1) return;
    int fd = accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    SSL* ssl = SSL_new(server_ctx->get());
    SSL_set_fd(ssl, fd);
    SSL_accept(ssl);  // blocking socket; fails when the client aborts
    SSL_free(ssl);
    close(fd);
  });
  std::string good_dir = dir_.Sub("agent-good");
  RawClient client;
  Status connected = client.ConnectAs(good_dir, port);
  server.join();
  close(*listener);
  ASSERT_FALSE(connected.ok());
  EXPECT_EQ(connected.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(connected.message().find("certificate"), std::string::npos) << connected.message();
}

// An agent whose queue comes back with a session the manager saw replaced (a restored backup)
// moves its records into a new session by itself and delivers them.
TEST_F(SecurityTest, RetiredSessionQueueMovesToNewSession) {
  std::string old_session;
  {
    auto agent = StartAgent(intruder_dir_);
    ASSERT_TRUE(agent->Submit({{"stdin", "one"}}).ok());
    ASSERT_TRUE(WaitUntil([&] { return sink_.CountFrom("002") == 1; }));
    old_session = agent->session_id();
  }
  {
    RawClient raw;
    ASSERT_TRUE(raw.ConnectAs(intruder_dir_, manager_->port()).ok());
    Expected<Message> reply = raw.Hello("002", RandomHex(16));
    ASSERT_TRUE(reply.ok());
    ASSERT_TRUE(std::holds_alternative<HelloAckMessage>(*reply));
  }
  AgentOptions options;
  options.state_dir = intruder_dir_;
  options.managers = {ManagerAddress()};
  options.backoff_initial = 20ms;
  options.backoff_max = 200ms;
  Expected<std::unique_ptr<Agent>> agent = Agent::Create(options);
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE((*agent)->Submit({{"stdin", "two"}, {"stdin", "three"}}).ok());
  ASSERT_TRUE((*agent)->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.CountFrom("002") == 3; }));
  EXPECT_EQ(manager_->counters().rejected_sessions, 1u);
  EXPECT_NE((*agent)->session_id(), old_session);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sink_.CountFrom("002"), 3u);
}

}  // namespace
}  // namespace vigil::transport
