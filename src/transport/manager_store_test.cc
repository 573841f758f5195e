#include "transport/manager_store.h"

#include <gtest/gtest.h>

#include "transport/test_support.h"

namespace vigil::transport {
namespace {

using testing::TempDir;

class ManagerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Expected<std::unique_ptr<ManagerStore>> store = ManagerStore::Open(dir_.Sub("m"), clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  // Builds an enrollment request for `token` with a fresh key.
  EnrollRequestMessage Request(const std::string& token, const std::string& name = "") {
    Expected<ParsedToken> parsed = ParseToken(token);
    EXPECT_TRUE(parsed.ok());
    Expected<PkeyPtr> key = GenerateKey();
    EXPECT_TRUE(key.ok());
    return {parsed->id, parsed->secret, name, PublicKeyToPem(key->get()), "host"};
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<ManagerStore> store_;
};

TEST_F(ManagerStoreTest, ReopenKeepsTheSameCa) {
  std::string fingerprint = store_->ca_fingerprint();
  Expected<std::unique_ptr<ManagerStore>> again = ManagerStore::Open(dir_.Sub("m"), clock_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ca_fingerprint(), fingerprint);
}

TEST_F(ManagerStoreTest, ExpiredTokenRejected) {
  Expected<IssuedToken> token = store_->CreateEnrollToken({"web1", 60, "any", false});
  ASSERT_TRUE(token.ok());
  clock_.Advance(std::chrono::seconds(61));
  Expected<EnrollReplyMessage> reply = store_->Enroll(Request(token->token), "10.0.0.1");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ManagerStoreTest, WrongSecretRejected) {
  Expected<IssuedToken> token = store_->CreateEnrollToken({"web1", 60, "any", false});
  ASSERT_TRUE(token.ok());
  EnrollRequestMessage request = Request(token->token);
  request.token_secret[0] = request.token_secret[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(store_->Enroll(request, "10.0.0.1").ok());
}

TEST_F(ManagerStoreTest, TokenBindsTheName) {
  Expected<IssuedToken> token = store_->CreateEnrollToken({"web1", 60, "any", false});
  ASSERT_TRUE(token.ok());
  Expected<EnrollReplyMessage> reply = store_->Enroll(Request(token->token, "db9"), "10.0.0.1");
  ASSERT_FALSE(reply.ok());
  EXPECT_NE(reply.status().message().find("web1"), std::string::npos);
}

TEST_F(ManagerStoreTest, SourceAddressIsRecordedAndChecked) {
  Expected<IssuedToken> token = store_->CreateEnrollToken({"web1", 60, "src", false});
  ASSERT_TRUE(token.ok());
  Expected<EnrollReplyMessage> reply = store_->Enroll(Request(token->token), "10.0.0.7");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  std::optional<AgentEntry> entry = store_->FindAgent(reply->agent_id);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->address, "10.0.0.7");
  Expected<IssuedToken> clash = store_->CreateEnrollToken({"web2", 60, "10.0.0.7", false});
  EXPECT_EQ(clash.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(ManagerStoreTest, ForcedReenrollKeepsIdAndRevokesOldCertificate) {
  Expected<IssuedToken> first = store_->CreateEnrollToken({"web1", 60, "any", false});
  ASSERT_TRUE(first.ok());
  Expected<EnrollReplyMessage> one = store_->Enroll(Request(first->token), "10.0.0.1");
  ASSERT_TRUE(one.ok());
  std::string old_serial = store_->FindAgent(one->agent_id)->serial;
  Expected<IssuedToken> second = store_->CreateEnrollToken({"web1", 60, "any", true});
  ASSERT_TRUE(second.ok());
  Expected<EnrollReplyMessage> two = store_->Enroll(Request(second->token), "10.0.0.1");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->agent_id, one->agent_id);
  std::string new_serial = store_->FindAgent(two->agent_id)->serial;
  EXPECT_NE(new_serial, old_serial);
  EXPECT_TRUE(store_->CheckClientCertificate(two->agent_id, new_serial).ok());
  EXPECT_EQ(store_->CheckClientCertificate(two->agent_id, old_serial).code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ManagerStoreTest, RemovalSeenByAnotherProcessView) {
  Expected<IssuedToken> token = store_->CreateEnrollToken({"web1", 60, "any", false});
  ASSERT_TRUE(token.ok());
  Expected<EnrollReplyMessage> reply = store_->Enroll(Request(token->token), "10.0.0.1");
  ASSERT_TRUE(reply.ok());
  std::string serial = store_->FindAgent(reply->agent_id)->serial;
  // A second store on the same folder stands for `vigil control --remove` without a manager.
  Expected<std::unique_ptr<ManagerStore>> other = ManagerStore::Open(dir_.Sub("m"), clock_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->RemoveAgent(reply->agent_id).ok());
  store_->Refresh();
  EXPECT_FALSE(store_->CheckClientCertificate(reply->agent_id, serial).ok());
  EXPECT_TRUE(store_->FindAgent(reply->agent_id)->removed);
}

TEST_F(ManagerStoreTest, ParseTokenRejectsMalformedTokens) {
  for (const std::string& bad :
       {std::string(""), std::string("V1"), std::string("V2.0123456789abcdef.x.y"),
        "V1.0123456789abcdef." + std::string(32, 'a') + "." + std::string(63, 'b'),
        "V1.0123456789ABCDEF." + std::string(32, 'a') + "." + std::string(64, 'b')}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseToken(bad).ok());
  }
}

TEST_F(ManagerStoreTest, PskAddedElsewhereFoundAtOnce) {
  // A second store on the same folder stands for `vigil manager add-agent` in another process.
  Expected<std::unique_ptr<ManagerStore>> other = ManagerStore::Open(dir_.Sub("m"), clock_);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(store_->FindPsk("001").has_value());
  Expected<PskCredential> added = (*other)->AddPskAgent({"web1", "any", false});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->key.size(), kPskBytes);
  std::optional<std::string> key = store_->FindPsk(added->agent_id);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, added->key);
  std::optional<AgentEntry> entry = store_->FindAgent(added->agent_id);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->credential, "psk");
  EXPECT_TRUE(entry->serial.empty());

  ASSERT_TRUE((*other)->RemoveAgent(added->agent_id).ok());
  store_->Refresh();
  EXPECT_FALSE(store_->FindPsk(added->agent_id).has_value());
}

TEST_F(ManagerStoreTest, AddPskAgentRejectsBadInput) {
  EXPECT_EQ(store_->AddPskAgent({"bad name", "any", false}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddPskAgent({"web1", "src", false}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddPskAgent({"web1", "", false}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ManagerStoreTest, EnrollmentReplacesPskOfSameName) {
  Expected<PskCredential> added = store_->AddPskAgent({"web1", "any", false});
  ASSERT_TRUE(added.ok());
  Expected<IssuedToken> token = store_->CreateEnrollToken({"web1", 60, "any", true});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  Expected<EnrollReplyMessage> reply = store_->Enroll(Request(token->token), "127.0.0.1");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->agent_id, added->agent_id);
  EXPECT_FALSE(store_->FindPsk(added->agent_id).has_value());
  EXPECT_EQ(store_->FindAgent(added->agent_id)->credential, "certificate");
}

}  // namespace
}  // namespace vigil::transport
