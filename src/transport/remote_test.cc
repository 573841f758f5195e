// The manager's accept path and the syslog input on loopback: several agent ports,
// allowed-ips and denied-ips, and remote syslog over UDP and TCP. Peers at 127.0.0.2 are
// real sockets bound to that loopback address.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "transport/net.h"
#include "transport/peer_filter.h"
#include "transport/syslog_server.h"
#include "transport/test_support.h"

namespace vigil::transport {
namespace {

using testing::EventSink;
using testing::TempDir;
using testing::WaitUntil;
using namespace std::chrono_literals;

sockaddr_in Loopback(const char* address, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, address, &sa.sin_addr);
  return sa;
}

// Opens a socket of `type` bound to `source` (port 0), connected to 127.0.0.1:`port`.
int ConnectFrom(const char* source, uint16_t port, int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in local = Loopback(source, 0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_in remote = Loopback("127.0.0.1", port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Returns true when the peer closes the TCP connection within 5 s without sending anything.
bool ClosedByPeer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return false;
  char byte;
  return read(fd, &byte, 1) <= 0;
}

TEST(ParseHostPort, DefaultsToAgentPort) {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
  };
  for (const Case& c : std::vector<Case>{{"manager.example:1515", "manager.example", 1515},
                                         {"manager.example", "manager.example", 1514},
                                         {"192.0.2.1", "192.0.2.1", 1514},
                                         {"[2001:db8::1]:9000", "2001:db8::1", 9000},
                                         {"[2001:db8::1]", "2001:db8::1", 1514}}) {
    Expected<HostPort> parsed = ParseHostPort(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().message();
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
  }
  EXPECT_FALSE(ParseHostPort("manager.example:0").ok());
  EXPECT_FALSE(ParseHostPort("manager.example:").ok());
  EXPECT_FALSE(ParseHostPort("").ok());
}

TEST(PeerFilter, DeniedWinsAndAllowedRestricts) {
  Expected<PeerFilter> filter =
      PeerFilter::Create({"10.0.0.0/8", "2001:db8::/32"}, {"10.1.2.3", "10.9.0.0/16"});
  ASSERT_TRUE(filter.ok()) << filter.status().ToString();
  struct Case {
    const char* address;
    bool allowed;
  } cases[] = {{"10.0.0.1", true},       {"10.1.2.3", false},  {"10.9.200.1", false},
               {"192.0.2.1", false},     {"2001:db8::5", true}, {"2001:db9::5", false},
               {"::ffff:10.0.0.7", true}, {"not-an-ip", false}, {"", false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.address);
    EXPECT_EQ(filter->Allows(c.address), c.allowed);
  }
  Expected<PeerFilter> open = PeerFilter::Create({}, {"127.0.0.2"});
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->Allows("198.51.100.7"));
  EXPECT_FALSE(open->Allows("127.0.0.2"));
}

TEST(PeerFilter, RejectsInvalidEntries) {
  for (const char* entry : {"10.0.0.0/33", "any", "!10.0.0.1", "host.example", ""}) {
    SCOPED_TRACE(entry);
    Expected<PeerFilter> filter = PeerFilter::Create({entry}, {});
    ASSERT_FALSE(filter.ok());
    EXPECT_NE(filter.status().message().find("allowed-ips"), std::string::npos)
        << filter.status().message();
  }
}

class ListenerTest : public testing::LinkFixture {
 protected:
  // Replaces the fixture's manager with one on two agent ports: the first denies 127.0.0.2,
  // the second allows only 127.0.0.1.
  void StartTwoPortManager() {
    ListenerOptions first;
    first.address = "0.0.0.0";
    first.port = 0;
    first.denied_ips = {"127.0.0.2"};
    ListenerOptions second = first;
    second.denied_ips.clear();
    second.allowed_ips = {"127.0.0.1/32"};
    StartManagerWith({first, second});
  }

  void StartManagerWith(std::vector<ListenerOptions> listeners) {
    manager_->Stop();
    manager_.reset();
    ManagerOptions options;
    options.state_dir = dir_.Sub("manager");
    options.listeners = std::move(listeners);
    options.keepalive_seconds = 2;
    options.handshake_timeout_ms = 2000;
    options.on_events = sink_.Callback();
    Expected<std::unique_ptr<Manager>> manager = Manager::Create(options);
    ASSERT_TRUE(manager.ok()) << manager.status().ToString();
    manager_ = std::move(*manager);
    ASSERT_TRUE(manager_->Start().ok());
    ASSERT_EQ(manager_->ports().size(), options.listeners.size());
  }

  std::string Address(size_t listener) const {
    return "127.0.0.1:" + std::to_string(manager_->ports()[listener]);
  }
};

TEST_F(ListenerTest, BothPortsAcceptAgents) {
  StartTwoPortManager();
  auto a1 = StartAgent(Enroll("web1"), {Address(0)});
  auto a2 = StartAgent(Enroll("db1"), {Address(1)});
  ASSERT_TRUE(a1);
  ASSERT_TRUE(a2);
  ASSERT_TRUE(a1->Submit({{"stdin", "via first"}}).ok());
  ASSERT_TRUE(a2->Submit({{"stdin", "via second"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 2; })) << sink_.size();
  EXPECT_EQ(sink_.CountFrom("001"), 1u);
  EXPECT_EQ(sink_.CountFrom("002"), 1u);
  EXPECT_NE(manager_->ports()[0], manager_->ports()[1]);
}

TEST_F(ListenerTest, DeniedPeerClosedAndCounted) {
  StartTwoPortManager();
  auto agent = StartAgent(Enroll("web1"), {Address(0)});
  ASSERT_TRUE(agent);
  for (size_t listener : {0u, 1u}) {
    SCOPED_TRACE(listener);
    int fd = ConnectFrom("127.0.0.2", manager_->ports()[listener], SOCK_STREAM);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    EXPECT_TRUE(ClosedByPeer(fd));
    close(fd);
  }
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().connections_denied == 2; }));
  // The denied peers never reached the TLS handshake.
  EXPECT_EQ(manager_->counters().handshakes_failed, 0u);
  ASSERT_TRUE(agent->Submit({{"stdin", "unaffected"}}).ok());
  EXPECT_TRUE(WaitUntil([&] { return sink_.CountFrom("001") == 1; }));
}

TEST_F(ListenerTest, Ipv6PortFiltersMappedIpv4Peers) {
  ListenerOptions listener;
  listener.address = "::";
  listener.port = 0;
  listener.allowed_ips = {"::1"};
  StartManagerWith({listener});
  std::string address = "[::1]:" + std::to_string(manager_->port());
  Expected<IssuedToken> token = manager_->store().CreateEnrollToken({"web1", 60, "any", false});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EnrollOptions enroll{address, token->token, "", dir_.Sub("agent-web1")};
  Expected<AgentIdentity> identity = EnrollAgent(enroll);
  ASSERT_TRUE(identity.ok()) << identity.status().ToString();
  auto agent = StartAgent(enroll.state_dir, {address});
  ASSERT_TRUE(agent);
  ASSERT_TRUE(agent->Submit({{"stdin", "over ipv6"}}).ok());
  ASSERT_TRUE(WaitUntil([&] { return sink_.size() == 1; }));
  EXPECT_EQ(sink_.events()[0].location, "(web1) ::1->stdin");
  // An IPv4 peer reaches the dual-stack port as ::ffff:127.0.0.1, which is not allowed.
  int fd = ConnectFrom("127.0.0.1", manager_->port(), SOCK_STREAM);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  EXPECT_TRUE(ClosedByPeer(fd));
  close(fd);
  EXPECT_TRUE(WaitUntil([&] { return manager_->counters().connections_denied == 1; }));
}

TEST_F(ListenerTest, InvalidFilterEntryRejectedAtCreate) {
  ManagerOptions options;
  options.state_dir = dir_.Sub("other");
  ListenerOptions listener;
  listener.port = 0;
  listener.allowed_ips = {"10.0.0.0/40"};
  options.listeners = {listener};
  Expected<std::unique_ptr<Manager>> manager = Manager::Create(options);
  ASSERT_FALSE(manager.ok());
  EXPECT_NE(manager.status().message().find("allowed-ips"), std::string::npos)
      << manager.status().message();
}

struct Received {
  std::string sender;
  std::string message;
};

class SyslogTest : public ::testing::Test {
 protected:
  void StartServer(bool udp, bool tcp) {
    SyslogServerOptions options;
    options.address = "0.0.0.0";
    options.port = 0;
    options.udp = udp;
    options.tcp = tcp;
    options.allowed_ips = {"127.0.0.0/8"};
    options.denied_ips = {"127.0.0.2"};
    options.tcp_idle_timeout = idle_timeout_;
    options.on_message = [this](const std::string& sender, std::string message) {
      std::lock_guard lock(mu_);
      received_.push_back({sender, std::move(message)});
    };
    Expected<std::unique_ptr<SyslogServer>> server = SyslogServer::Create(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Start().ok());
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return received_.size();
  }

  std::chrono::milliseconds idle_timeout_ = 10min;
  std::mutex mu_;
  std::vector<Received> received_;
  std::unique_ptr<SyslogServer> server_;
};

TEST_F(SyslogTest, UdpDatagramsBecomeMessages) {
  StartServer(/*udp=*/true, /*tcp=*/false);
  int fd = ConnectFrom("127.0.0.1", server_->udp_port(), SOCK_DGRAM);
  ASSERT_GE(fd, 0);
  for (std::string datagram :
       std::vector<std::string>{"<34>Oct 11 22:14:15 host su: failed\n", "plain text", "<13>\n"}) {
    ASSERT_EQ(send(fd, datagram.data(), datagram.size(), 0),
              static_cast<ssize_t>(datagram.size()));
  }
  ASSERT_TRUE(WaitUntil([&] { return count() == 2; })) << count();
  ASSERT_TRUE(WaitUntil([&] { return server_->counters().empty == 1; }));
  close(fd);
  std::vector<Received> got = received();
  EXPECT_EQ(got[0].sender, "127.0.0.1");
  EXPECT_EQ(got[0].message, "Oct 11 22:14:15 host su: failed");
  EXPECT_EQ(got[1].message, "plain text");
  EXPECT_EQ(server_->counters().messages, 2u);
}

TEST_F(SyslogTest, LineBreaksInDatagramAreEscaped) {
  StartServer(/*udp=*/true, /*tcp=*/false);
  int fd = ConnectFrom("127.0.0.1", server_->udp_port(), SOCK_DGRAM);
  ASSERT_GE(fd, 0);
  std::string datagram =
      "<34>Dec  4 10:00:00 h sshd[1]: Failed password for ro\rot\n** Alert 9.9: - forged,\n"
      "Rule: 1 (level 15)\x1b[2J\n";
  ASSERT_EQ(send(fd, datagram.data(), datagram.size(), 0), static_cast<ssize_t>(datagram.size()));
  ASSERT_TRUE(WaitUntil([&] { return count() == 1; })) << count();
  close(fd);
  EXPECT_EQ(received()[0].message,
            "Dec  4 10:00:00 h sshd[1]: Failed password for ro\\x0dot\\x0a** Alert 9.9: - "
            "forged,\\x0aRule: 1 (level 15)\\x1b[2J");
  EXPECT_EQ(server_->counters().escaped_bytes, 4u);
}

TEST_F(SyslogTest, TcpLinesBecomeMessages) {
  StartServer(/*udp=*/false, /*tcp=*/true);
  int fd = ConnectFrom("127.0.0.1", server_->tcp_port(), SOCK_STREAM);
  ASSERT_GE(fd, 0);
  std::string first = "<86>Dec  1 10:00:00 host sshd[1]: one\r\n<86>two\npart";
  std::string second = std::string("ial three\n\xff") + '\0' + "x\nlast without newline";
  ASSERT_EQ(write(fd, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(write(fd, second.data(), second.size()), static_cast<ssize_t>(second.size()));
  close(fd);
  ASSERT_TRUE(WaitUntil([&] { return count() == 5; })) << count();
  std::vector<Received> got = received();
  EXPECT_EQ(got[0].message, "Dec  1 10:00:00 host sshd[1]: one");
  EXPECT_EQ(got[1].message, "two");
  EXPECT_EQ(got[2].message, "partial three");
  EXPECT_EQ(got[3].message, "\\xff\\x00x");
  EXPECT_EQ(got[4].message, "last without newline");
  EXPECT_EQ(got[4].sender, "127.0.0.1");
  EXPECT_EQ(server_->counters().tcp_connections, 1u);
}

TEST_F(SyslogTest, DeniedSendersDroppedAndCounted) {
  StartServer(/*udp=*/true, /*tcp=*/true);
  int udp = ConnectFrom("127.0.0.2", server_->udp_port(), SOCK_DGRAM);
  ASSERT_GE(udp, 0);
  ASSERT_EQ(send(udp, "denied", 6, 0), 6);
  int tcp = ConnectFrom("127.0.0.2", server_->tcp_port(), SOCK_STREAM);
  ASSERT_GE(tcp, 0);
  EXPECT_TRUE(ClosedByPeer(tcp));
  close(tcp);
  close(udp);
  int allowed = ConnectFrom("127.0.0.1", server_->udp_port(), SOCK_DGRAM);
  ASSERT_EQ(send(allowed, "fine", 4, 0), 4);
  close(allowed);
  ASSERT_TRUE(WaitUntil([&] { return count() == 1; })) << count();
  ASSERT_TRUE(WaitUntil([&] { return server_->counters().denied == 2; }));
  EXPECT_EQ(received()[0].message, "fine");
}

TEST_F(SyslogTest, IdleTcpSenderDisconnected) {
  idle_timeout_ = 300ms;
  StartServer(/*udp=*/false, /*tcp=*/true);
  int fd = ConnectFrom("127.0.0.1", server_->tcp_port(), SOCK_STREAM);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "held back", 9), 9);
  EXPECT_TRUE(ClosedByPeer(fd));
  close(fd);
  ASSERT_TRUE(WaitUntil([&] { return count() == 1; })) << count();
  EXPECT_EQ(received()[0].message, "held back");
  EXPECT_EQ(server_->counters().tcp_idle_closed, 1u);
}

TEST_F(SyslogTest, CreateRequiresAllowedIps) {
  SyslogServerOptions options;
  options.port = 0;
  Expected<std::unique_ptr<SyslogServer>> server = SyslogServer::Create(std::move(options));
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("allowed-ips"), std::string::npos);
}

TEST(SyslogLineSplitter, CutsLongLinesAndKeepsSync) {
  SyslogLineSplitter splitter(8);
  std::vector<std::pair<std::string, bool>> lines;
  auto emit = [&](std::string_view line, bool truncated) {
    lines.emplace_back(std::string(line), truncated);
  };
  splitter.Append("short\n0123456789ab", emit);
  splitter.Append("cdef\nnext\n", emit);
  splitter.Append("012345678\n", emit);
  splitter.Finish(emit);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], std::make_pair(std::string("short"), false));
  EXPECT_EQ(lines[1], std::make_pair(std::string("01234567"), true));
  EXPECT_EQ(lines[2], std::make_pair(std::string("next"), false));
  EXPECT_EQ(lines[3], std::make_pair(std::string("01234567"), true));
  EXPECT_EQ(splitter.buffered(), 0u);
}

TEST(StripSyslogFraming, RemovesPriorityAndLineEnd) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {{"<34>msg\n", "msg"},   {"<1>msg", "msg"},      {"<1234>msg", "<1234>msg"},
               {"<>msg", "<>msg"},     {"<3a>msg", "<3a>msg"}, {"msg\r\n\n", "msg"},
               {"<34>", ""},       {"", ""}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(StripSyslogFraming(c.in), c.out);
  }
}

}  // namespace
}  // namespace vigil::transport
