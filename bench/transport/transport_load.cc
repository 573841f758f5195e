// Load generator for the agent link. Enrolls N agents in a fresh manager state folder, runs
// the manager in a child process, and simulates the agents from this process with
// non-blocking TLS connections on loopback: each agent completes the TLS 1.3 handshake with
// its own certificate, sends a hello, then event batches at a fixed aggregate rate, and counts
// the manager's acknowledgements. Prints connected agents, events per second, and the
// manager's CPU time and memory.
//
//   vigil_transport_load --agents 10000 --rate 100000 --seconds 30 [--batch 10]
//                        [--io-threads 2] [--handshakes 256] [--keep DIR]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/logging.h"
#include "transport/control.h"
#include "transport/manager.h"
#include "transport/manager_store.h"
#include "transport/net.h"
#include "transport/state_files.h"
#include "transport/tls.h"

namespace vt = vigil::transport;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int agents = 1000;
  double rate = 100000;  // events per second, all agents together
  int seconds = 10;
  int batch = 10;  // events per batch
  int io_threads = 2;
  int handshakes = 256;  // concurrent handshakes while connecting
  std::string keep;      // state folder to use and keep; empty: a temporary one
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--agents")
      o->agents = std::atoi(next());
    else if (a == "--rate")
      o->rate = std::atof(next());
    else if (a == "--seconds")
      o->seconds = std::atoi(next());
    else if (a == "--batch")
      o->batch = std::atoi(next());
    else if (a == "--io-threads")
      o->io_threads = std::atoi(next());
    else if (a == "--handshakes")
      o->handshakes = std::atoi(next());
    else if (a == "--keep")
      o->keep = next();
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  return o->agents > 0 && o->rate > 0 && o->seconds > 0 && o->batch > 0;
}

// Raises RLIMIT_NOFILE to `wanted`; root may raise the hard limit too.
void RaiseFileLimit(rlim_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= wanted) return;
  rlimit raised{wanted, std::max(limit.rlim_max, wanted)};
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    raised = {limit.rlim_max, limit.rlim_max};
    setrlimit(RLIMIT_NOFILE, &raised);
    std::fprintf(stderr, "RLIMIT_NOFILE stays at %llu (wanted %llu)\n",
                 static_cast<unsigned long long>(limit.rlim_max),
                 static_cast<unsigned long long>(wanted));
  }
}

struct ProcessUsage {
  double cpu_seconds = 0;
  long rss_kb = 0;
  long peak_rss_kb = 0;
};

ProcessUsage ReadUsage(pid_t pid) {
  ProcessUsage u;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // Fields after the command name (which is in parentheses): utime and stime are 14 and 15.
  size_t close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    u.cpu_seconds = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kb = std::atol(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) u.peak_rss_kb = std::atol(line.c_str() + 6);
  }
  return u;
}

// Runs the manager until SIGTERM; writes its port to `port_fd`.
[[noreturn]] void RunManagerChild(const Options& o, const std::string& state_dir, int port_fd) {
  std::atomic<uint64_t> events{0};
  vt::ManagerOptions options;
  options.state_dir = state_dir;
  options.listen_address = "127.0.0.1";
  options.port = 0;
  options.io_threads = o.io_threads;
  options.keepalive_seconds = 600;
  options.handshake_timeout_ms = 120000;
  options.on_events = [&](const vt::AgentEventBatch& batch) {
    events += batch.records.size();
    return true;
  };
  auto manager = vt::Manager::Create(options);
  if (!manager.ok() || !(*manager)->Start().ok()) {
    std::fprintf(stderr, "manager failed to start\n");
    _exit(1);
  }
  uint16_t port = (*manager)->port();
  (void)!write(port_fd, &port, sizeof(port));
  close(port_fd);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int signal = 0;
  sigwait(&set, &signal);
  (*manager)->Stop();
  _exit(0);
}

enum class SimState { kIdle, kConnecting, kHandshake, kHello, kReady, kFailed };

struct SimAgent {
  int fd = -1;
  SSL* ssl = nullptr;
  SimState state = SimState::kIdle;
  std::string id;
  std::string session;
  uint64_t sent_seq = 0;
  uint64_t acked_seq = 0;
  uint64_t events_sent = 0;
  std::string out;
  size_t out_offset = 0;
  vt::FrameDecoder decoder;
  bool want_write = false;
};

class LoadGenerator {
 public:
  LoadGenerator(const Options& o, uint16_t port, SSL_CTX* ctx, std::vector<vt::PkeyPtr>* keys,
                std::vector<vt::X509Ptr>* certs, std::vector<std::string> ids)
      : o_(o), port_(port), ctx_(ctx), keys_(keys), certs_(certs), agents_(ids.size()) {
    for (size_t i = 0; i < ids.size(); ++i) {
      agents_[i].id = ids[i];
      agents_[i].session = vt::RandomHex(16);
    }
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    // A syslog-sized line; each event gets a counter so compression sees realistic text.
    line_ =
        "Dec  4 17:10:01 web1 sshd[23512]: Failed password for invalid user admin from "
        "203.0.113.";
  }

  ~LoadGenerator() {
    for (SimAgent& a : agents_) {
      if (a.ssl != nullptr) SSL_free(a.ssl);
      if (a.fd >= 0) close(a.fd);
    }
    close(epoll_fd_);
  }

  // Connects every agent; returns the seconds it took.
  double ConnectAll(double timeout_seconds) {
    auto start = Clock::now();
    size_t next = 0;
    while (ready_ + failed_ < agents_.size()) {
      while (next < agents_.size() && in_progress_ < static_cast<size_t>(o_.handshakes)) {
        StartConnect(next++);
      }
      Poll(10);
      if (Seconds(start) > timeout_seconds) break;
    }
    return Seconds(start);
  }

  // Sends batches at the configured rate for the configured time; returns events sent.
  uint64_t Stream() {
    double batches_per_second = o_.rate / o_.batch;
    auto start = Clock::now();
    double sent_batches = 0;
    size_t cursor = 0;
    while (Seconds(start) < o_.seconds) {
      double due = Seconds(start) * batches_per_second - sent_batches;
      for (int i = 0; i < static_cast<int>(due) && ready_ > 0; ++i) {
        // Round-robin over ready agents.
        for (size_t tries = 0; tries < agents_.size(); ++tries) {
          SimAgent& a = agents_[cursor];
          cursor = (cursor + 1) % agents_.size();
          if (a.state != SimState::kReady) continue;
          SendBatch(a);
          sent_batches += 1;
          break;
        }
      }
      Poll(1);
    }
    return events_sent_;
  }

  // Waits until every sent batch is acknowledged; returns true when all are.
  bool DrainAcks(double timeout_seconds) {
    auto start = Clock::now();
    while (Seconds(start) < timeout_seconds) {
      bool all = true;
      for (const SimAgent& a : agents_) {
        if (a.state == SimState::kReady && a.acked_seq < a.sent_seq) {
          all = false;
          break;
        }
      }
      if (all) return true;
      Poll(10);
    }
    return false;
  }

  size_t ready() const { return ready_; }
  size_t failed() const { return failed_; }
  uint64_t acked_events() const {
    uint64_t n = 0;
    for (const SimAgent& a : agents_) n += a.acked_seq * static_cast<uint64_t>(o_.batch);
    return n;
  }

 private:
  static double Seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
  }

  void StartConnect(size_t i) {
    SimAgent& a = agents_[i];
    a.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a.fd < 0) {
      Fail(a, std::string("socket: ") + std::strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(a.fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 && errno != EINPROGRESS) {
      Fail(a, std::string("connect: ") + std::strerror(errno));
      return;
    }
    a.ssl = SSL_new(ctx_);
    SSL_use_certificate(a.ssl, (*certs_)[i].get());
    SSL_use_PrivateKey(a.ssl, (*keys_)[i].get());
    SSL_set_fd(a.ssl, a.fd);
    SSL_set_connect_state(a.ssl);
    a.state = SimState::kConnecting;
    ++in_progress_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, a.fd, &ev);
  }

  void Fail(SimAgent& a, const std::string& why) {
    if (a.state == SimState::kConnecting || a.state == SimState::kHandshake ||
        a.state == SimState::kHello) {
      --in_progress_;
    }
    if (a.state == SimState::kReady) --ready_;
    if (failed_ < 5) std::fprintf(stderr, "agent %s failed: %s\n", a.id.c_str(), why.c_str());
    a.state = SimState::kFailed;
    ++failed_;
    if (a.fd >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, a.fd, nullptr);
      close(a.fd);
      a.fd = -1;
    }
  }

  void Poll(int timeout_ms) {
    epoll_event events[1024];
    int n = epoll_wait(epoll_fd_, events, 1024, timeout_ms);
    for (int k = 0; k < n; ++k) {
      SimAgent& a = agents_[events[k].data.u64];
      if (a.state == SimState::kFailed) continue;
      if (a.state == SimState::kConnecting || a.state == SimState::kHandshake) {
        Handshake(a);
        continue;
      }
      if (events[k].events & EPOLLOUT) Flush(a);
      if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read(a);
    }
  }

  void Handshake(SimAgent& a) {
    a.state = SimState::kHandshake;
    ERR_clear_error();
    int rc = SSL_do_handshake(a.ssl);
    if (rc != 1) {
      int error = SSL_get_error(a.ssl, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        SetInterest(a, error == SSL_ERROR_WANT_WRITE);
        return;
      }
      Fail(a, "handshake: " + vt::DrainOpenSslErrors());
      return;
    }
    a.state = SimState::kHello;
    vt::HelloMessage hello;
    hello.agent_id = a.id;
    hello.session_id = a.session;
    hello.status.version = "load";
    Queue(a, vt::EncodeMessage(hello));
    SetInterest(a, false);
  }

  void SetInterest(SimAgent& a, bool want_write) {
    a.want_write = want_write;
    epoll_event ev{};
    ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0);
    ev.data.u64 = static_cast<uint64_t>(&a - agents_.data());
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, a.fd, &ev);
  }

  void Queue(SimAgent& a, std::string bytes) {
    a.out += bytes;
    Flush(a);
  }

  void Flush(SimAgent& a) {
    while (a.out_offset < a.out.size()) {
      ERR_clear_error();
      int rc = SSL_write(a.ssl, a.out.data() + a.out_offset,
                         static_cast<int>(a.out.size() - a.out_offset));
      if (rc > 0) {
        a.out_offset += static_cast<size_t>(rc);
        continue;
      }
      int error = SSL_get_error(a.ssl, rc);
      if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
        if (!a.want_write) SetInterest(a, true);
        return;
      }
      Fail(a, "write: " + vt::DrainOpenSslErrors());
      return;
    }
    a.out.clear();
    a.out_offset = 0;
    if (a.want_write) SetInterest(a, false);
  }

  void Read(SimAgent& a) {
    char buf[16384];
    for (;;) {
      ERR_clear_error();
      int rc = SSL_read(a.ssl, buf, sizeof(buf));
      if (rc > 0) {
        a.decoder.Append(std::string_view(buf, static_cast<size_t>(rc)));
        continue;
      }
      int error = SSL_get_error(a.ssl, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) break;
      Fail(a, "read: " + vt::DrainOpenSslErrors());
      return;
    }
    vt::Frame frame;
    while (a.decoder.Next(&frame) == vt::FrameDecoder::Result::kFrame) {
      vigil::Expected<vt::Message> m = vt::DecodeFrame(frame);
      if (!m.ok()) continue;
      if (auto* ack = std::get_if<vt::AckMessage>(&*m)) {
        a.acked_seq = std::max(a.acked_seq, ack->seq);
      } else if (std::holds_alternative<vt::HelloAckMessage>(*m) && a.state == SimState::kHello) {
        a.state = SimState::kReady;
        --in_progress_;
        ++ready_;
      } else if (auto* error = std::get_if<vt::ErrorMessage>(&*m)) {
        Fail(a, "manager error: " + error->message);
        return;
      }
    }
  }

  void SendBatch(SimAgent& a) {
    vt::EventBatchMessage batch;
    batch.seq = ++a.sent_seq;
    batch.records.reserve(o_.batch);
    for (int i = 0; i < o_.batch; ++i) {
      uint64_t n = event_counter_++;
      batch.records.push_back({"/var/log/auth.log", line_ + std::to_string(n % 250) + " port " +
                                                        std::to_string(1024 + n % 60000) +
                                                        " ssh2"});
    }
    a.events_sent += batch.records.size();
    events_sent_ += batch.records.size();
    Queue(a, vt::EncodeMessage(batch));
  }

  const Options& o_;
  uint16_t port_;
  SSL_CTX* ctx_;
  std::vector<vt::PkeyPtr>* keys_;
  std::vector<vt::X509Ptr>* certs_;
  std::vector<SimAgent> agents_;
  int epoll_fd_ = -1;
  size_t in_progress_ = 0;
  size_t ready_ = 0;
  size_t failed_ = 0;
  uint64_t events_sent_ = 0;
  uint64_t event_counter_ = 0;
  std::string line_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: %s [--agents N] [--rate EVENTS_PER_S] [--seconds S] [--batch N] "
                 "[--io-threads N] [--handshakes N] [--keep DIR]\n",
                 argv[0]);
    return 2;
  }
  vigil::ConfigureLogging({"warn", ""});
  vt::IgnoreSigpipe();
  // Both ends of every connection live on this machine: the agents here, the manager in the
  // child (which inherits the limit).
  RaiseFileLimit(static_cast<rlim_t>(o.agents) * 2 + 1024);

  std::string state_dir = o.keep;
  if (state_dir.empty()) {
    char pattern[] = "/tmp/vigil-load-XXXXXX";
    state_dir = mkdtemp(pattern);
  }
  state_dir += "/manager";
  auto t0 = Clock::now();
  auto store = vt::ManagerStore::Open(state_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<vt::PkeyPtr> keys;
  std::vector<vt::EnrollRequestMessage> requests;
  for (int i = 0; i < o.agents; ++i) {
    auto key = vt::GenerateKey();
    vt::EnrollRequestMessage r;
    r.name = "load-" + std::to_string(i);
    r.public_key_pem = vt::PublicKeyToPem(key->get());
    requests.push_back(std::move(r));
    keys.push_back(std::move(*key));
  }
  auto replies = (*store)->EnrollMany(requests);
  if (!replies.ok()) {
    std::fprintf(stderr, "%s\n", replies.status().ToString().c_str());
    return 1;
  }
  std::vector<vt::X509Ptr> certs;
  std::vector<std::string> ids;
  for (const auto& r : *replies) {
    vigil::Expected<vt::X509Ptr> cert = vt::CertificateFromPem(r.certificate_pem);
    certs.push_back(std::move(cert.value()));
    ids.push_back(r.agent_id);
  }
  double enroll_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    RunManagerChild(o, state_dir, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  uint16_t port = 0;
  if (read(pipe_fds[0], &port, sizeof(port)) != sizeof(port)) {
    std::fprintf(stderr, "the manager child did not start\n");
    return 1;
  }

  // One client context for all agents; each SSL object gets its agent's certificate and key.
  auto ctx = vt::MakeEnrollContext();
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, nullptr);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx->get()), (*store)->ca_certificate());

  LoadGenerator load(o, port, ctx->get(), &keys, &certs, ids);
  ProcessUsage idle_before = ReadUsage(child);
  double connect_seconds = load.ConnectAll(300);
  ProcessUsage connected = ReadUsage(child);
  std::printf(
      "agents: %d requested, %zu connected, %zu failed; enrollment %.1f s, connect %.1f s "
      "(manager CPU %.1f s while connecting)\n",
      o.agents, load.ready(), load.failed(), enroll_seconds, connect_seconds,
      connected.cpu_seconds - idle_before.cpu_seconds);
  std::fflush(stdout);

  auto stream_start = Clock::now();
  uint64_t sent = load.Stream();
  double stream_seconds = std::chrono::duration<double>(Clock::now() - stream_start).count();
  bool drained = load.DrainAcks(60);
  double total_seconds = std::chrono::duration<double>(Clock::now() - stream_start).count();
  ProcessUsage streamed = ReadUsage(child);
  auto counters = vt::ControlCounters(state_dir);

  uint64_t delivered = counters.ok() ? counters->events_delivered : 0;
  std::printf(
      "events: %llu sent in %.1f s (%.0f/s offered), %llu acknowledged, %llu delivered "
      "to the callback, all acknowledged within %.1f s: %s\n",
      static_cast<unsigned long long>(sent), stream_seconds, sent / stream_seconds,
      static_cast<unsigned long long>(load.acked_events()),
      static_cast<unsigned long long>(delivered), total_seconds, drained ? "yes" : "no");
  std::printf(
      "manager: CPU %.1f s over %.1f s of streaming (%.0f%% of one core), RSS %ld MiB, "
      "peak RSS %ld MiB, agents connected %llu, rejected %llu\n",
      streamed.cpu_seconds - connected.cpu_seconds, total_seconds,
      100.0 * (streamed.cpu_seconds - connected.cpu_seconds) / total_seconds,
      streamed.rss_kb / 1024, streamed.peak_rss_kb / 1024,
      counters.ok() ? static_cast<unsigned long long>(counters->agents_connected) : 0ull,
      counters.ok() ? static_cast<unsigned long long>(
                          counters->rejected_malformed + counters->rejected_oversize +
                          counters->reordered_batches + counters->replayed_batches)
                    : 0ull);
  std::fflush(stdout);
  kill(child, SIGTERM);
  waitpid(child, nullptr, 0);
  if (o.keep.empty()) std::filesystem::remove_all(std::filesystem::path(state_dir).parent_path());
  bool ok = load.failed() == 0 && drained && delivered == sent;
  return ok ? 0 : 1;
}
