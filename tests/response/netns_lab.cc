#include "netns_lab.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <sstream>

#include "response/runner.h"

namespace vigil::response::testing {
namespace {

const std::vector<std::string> kEnv = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};

std::string FindProgram(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    const std::string path = dir + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string word;
  while (in >> word) words.push_back(word);
  return words;
}

// Runs `ip` with the words of `command`; returns the failure as a Status.
Status Ip(const std::string& command) {
  ProgramResult result =
      RunProgram(FindProgram("ip"), SplitWords(command), kEnv, "", std::chrono::seconds(10));
  if (!result.succeeded()) {
    return Status::Internal("ip " + command + ": " + DescribeResult(result) + ": " +
                            result.stderr_text);
  }
  return Status::Ok();
}

bool HasCapability(int bit) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      const uint64_t mask = std::stoull(line.substr(7), nullptr, 16);
      return (mask >> bit) & 1;
    }
  }
  return false;
}

int OpenNamespace(const std::string& name) {
  return ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
}

std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, text, sizeof(text));
  }
  return text;
}

int ListenOn(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage address{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(2222);
    length = sizeof(v4);
  } else {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(2222);
    length = sizeof(v6);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string LabUnavailableReason() {
  if (!HasCapability(12)) return "the test lacks CAP_NET_ADMIN (run it as root)";
  if (!HasCapability(21)) return "the test lacks CAP_SYS_ADMIN, needed for network namespaces";
  if (FindProgram("ip").empty()) return "the ip program is missing (apt-get install iproute2)";
  if (FindProgram("nft").empty()) return "the nft program is missing (apt-get install nftables)";
  return "";
}

Expected<std::unique_ptr<NetnsLab>> NetnsLab::Create(const std::string& log_path) {
  std::unique_ptr<NetnsLab> lab(new NetnsLab());
  const std::string id = std::to_string(::getpid());
  lab->victim_ = "vigil-test-" + id + "-victim";
  lab->attacker_ = "vigil-test-" + id + "-attacker";
  lab->veth_victim_ = "vt" + id + "v";
  lab->veth_attacker_ = "vt" + id + "a";
  lab->table_ = "vigil-test-" + id;
  lab->log_path_ = log_path;
  const std::string& v = lab->victim_;
  const std::string& a = lab->attacker_;
  for (const std::string& command : {
           "netns add " + v,
           "netns add " + a,
           "link add " + lab->veth_victim_ + " netns " + v + " type veth peer name " +
               lab->veth_attacker_ + " netns " + a,
           "-n " + v + " addr add 10.231.0.1/24 dev " + lab->veth_victim_,
           "-n " + a + " addr add 10.231.0.2/24 dev " + lab->veth_attacker_,
           "-n " + v + " addr add fd00:7a6c::1/64 dev " + lab->veth_victim_ + " nodad",
           "-n " + a + " addr add fd00:7a6c::2/64 dev " + lab->veth_attacker_ + " nodad",
           "-n " + v + " link set lo up",
           "-n " + a + " link set lo up",
           "-n " + v + " link set " + lab->veth_victim_ + " up",
           "-n " + a + " link set " + lab->veth_attacker_ + " up",
       }) {
    VIGIL_RETURN_IF_ERROR(Ip(command));
  }
  lab->victim_fd_ = OpenNamespace(v);
  lab->attacker_fd_ = OpenNamespace(a);
  lab->stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (lab->victim_fd_ < 0 || lab->attacker_fd_ < 0 || lab->stop_fd_ < 0) {
    return Status::IoError(std::string("cannot open the namespaces: ") + std::strerror(errno));
  }
  std::promise<Status> ready;
  auto started = ready.get_future();
  lab->listener_ = std::thread([raw = lab.get(), &ready] {
    // setns changes only this thread's network namespace; the sockets stay in the victim's.
    if (::setns(raw->victim_fd_, CLONE_NEWNET) != 0) {
      ready.set_value(Status::IoError(std::string("setns: ") + std::strerror(errno)));
      return;
    }
    raw->listen_fd_ = ListenOn(AF_INET);
    raw->listen6_fd_ = ListenOn(AF_INET6);
    if (raw->listen_fd_ < 0 || raw->listen6_fd_ < 0) {
      ready.set_value(
          Status::IoError(std::string("cannot listen on port 2222: ") + std::strerror(errno)));
      return;
    }
    ready.set_value(Status::Ok());
    raw->Listen();
  });
  VIGIL_RETURN_IF_ERROR(started.get());
  return lab;
}

void NetnsLab::Listen() {
  int pid = 4000;
  while (true) {
    pollfd fds[3] = {{listen_fd_, POLLIN, 0}, {listen6_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) return;
    if (fds[2].revents != 0) return;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      sockaddr_storage peer{};
      socklen_t length = sizeof(peer);
      const int fd =
          ::accept4(fds[i].fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int port =
          ntohs(peer.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(peer).sin_port
                                          : reinterpret_cast<sockaddr_in6&>(peer).sin6_port);
      AppendLine(log_path_, "Dec  4 16:00:00 victim sshd[" + std::to_string(++pid) +
                                "]: Failed password for invalid user admin from " +
                                PeerAddress(peer) + " port " + std::to_string(port) + " ssh2");
      ::close(fd);
    }
  }
}

NetnsLab::~NetnsLab() {
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    const ssize_t ignored = ::write(stop_fd_, &one, sizeof(one));
    (void)ignored;
  }
  if (listener_.joinable()) listener_.join();
  for (int fd : {listen_fd_, listen6_fd_, stop_fd_, victim_fd_, attacker_fd_}) {
    if (fd >= 0) ::close(fd);
  }
  if (!victim_.empty()) {
    (void)Ip("netns exec " + victim_ + " nft delete table inet " + table_);
  }
  // Deleting a namespace removes its end of the veth pair, which removes the other end.
  for (const std::string& name : {victim_, attacker_}) {
    if (!name.empty()) (void)Ip("netns del " + name);
  }
}

bool NetnsLab::AttackerConnects(const std::string& victim_address,
                                std::chrono::milliseconds timeout) {
  bool connected = false;
  std::thread attempt([&] {
    if (::setns(attacker_fd_, CLONE_NEWNET) != 0) return;
    const bool v6 = victim_address.find(':') != std::string::npos;
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    sockaddr_storage address{};
    socklen_t length = 0;
    if (v6) {
      auto& a6 = reinterpret_cast<sockaddr_in6&>(address);
      a6.sin6_family = AF_INET6;
      a6.sin6_port = htons(2222);
      inet_pton(AF_INET6, victim_address.c_str(), &a6.sin6_addr);
      length = sizeof(a6);
    } else {
      auto& a4 = reinterpret_cast<sockaddr_in&>(address);
      a4.sin_family = AF_INET;
      a4.sin_port = htons(2222);
      inet_pton(AF_INET, victim_address.c_str(), &a4.sin_addr);
      length = sizeof(a4);
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) == 0) {
      connected = true;
    } else if (errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1) {
        int error = 0;
        socklen_t size = sizeof(error);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        connected = error == 0;
      }
    }
    ::close(fd);
  });
  attempt.join();
  return connected;
}

Status NetnsLab::CallInVictim(const std::function<void()>& function) {
  Status status;
  std::thread caller([&] {
    if (::setns(victim_fd_, CLONE_NEWNET) != 0) {
      status = Status::IoError(std::string("setns: ") + std::strerror(errno));
      return;
    }
    function();
  });
  caller.join();
  return status;
}

std::string NetnsLab::RunInVictim(const std::string& command) {
  std::vector<std::string> args = {"netns", "exec", victim_};
  for (std::string& word : SplitWords(command)) args.push_back(std::move(word));
  return RunProgram(FindProgram("ip"), args, kEnv, "", std::chrono::seconds(10)).stdout_text;
}

void AppendLine(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string text = line + "\n";
  const ssize_t ignored = ::write(fd, text.data(), text.size());
  (void)ignored;
  ::close(fd);
}

FailedLoginMatcher::FailedLoginMatcher(std::string path, Responder* responder)
    : path_(std::move(path)), responder_(responder) {}

Status FailedLoginMatcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (inotify_fd_ < 0 || stop_fd_ < 0 ||
      ::inotify_add_watch(inotify_fd_, path_.c_str(), IN_MODIFY) < 0) {
    return Status::IoError("cannot watch " + path_ + ": " + std::strerror(errno));
  }
  // The read position is taken here, before Start() returns, so no line written later is missed.
  file_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (file_fd_ < 0) return Status::IoError("cannot open " + path_ + ": " + std::strerror(errno));
  ::lseek(file_fd_, 0, SEEK_END);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

FailedLoginMatcher::~FailedLoginMatcher() {
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    const ssize_t ignored = ::write(stop_fd_, &one, sizeof(one));
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : {inotify_fd_, stop_fd_, file_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void FailedLoginMatcher::Run() {
  static const std::regex kFailedLogin(
      R"(sshd\[\d+\]: Failed password for (?:invalid user )?(\S+) from (\S+) port \d+)");
  const int fd = file_fd_;
  std::string pending;
  char buffer[8192];
  int line_number = 0;
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    char events[4096];
    while (::read(inotify_fd_, events, sizeof(events)) > 0) {
    }
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) pending.append(buffer, n);
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      ++line_number;
      std::smatch match;
      if (!std::regex_search(line, match, kFailedLogin)) continue;
      AlertFacts alert;
      alert.rule_id = 5716;
      alert.level = 10;
      alert.groups = {"syslog", "sshd", "authentication_failed"};
      alert.user = match[1];
      alert.srcip = match[2];
      alert.location = path_;
      alert.alert_id = "1700000000." + std::to_string(line_number);
      ++alerts_;
      responder_->OnAlert(alert);
    }
  }
}

}  // namespace vigil::response::testing
