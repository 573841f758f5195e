#include "response/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vigil::response {
namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Set(int fd) {
    Reset();
    fd_ = fd;
  }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

bool MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end->Set(fds[0]);
  write_end->Set(fds[1]);
  return true;
}

// Reads what is available on `fd` into `out`, keeping at most kMaxCapturedBytes. Returns false
// at end of file or on error.
bool Drain(int fd, std::string* out) {
  char buffer[4096];
  const ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) return false;
  const size_t room = kMaxCapturedBytes - std::min(out->size(), kMaxCapturedBytes);
  out->append(buffer, std::min<size_t>(room, static_cast<size_t>(n)));
  return true;
}

// How long output is still read after the program exited, for children that inherited it.
constexpr std::chrono::milliseconds kOutputGrace{200};

}  // namespace

ProgramResult RunProgram(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& env, const std::string& stdin_text,
                         std::chrono::milliseconds time_limit) {
  ProgramResult result;
  const auto start = std::chrono::steady_clock::now();
  Fd in_read, in_write, out_read, out_write, err_read, err_write;
  if (!MakePipe(&in_read, &in_write) || !MakePipe(&out_read, &out_write) ||
      !MakePipe(&err_read, &err_write)) {
    result.spawn_status =
        Status::IoError(std::string("cannot create pipes: ") + std::strerror(errno));
    return result;
  }

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // A new session makes the program the leader of its own process group, so a time-out can
  // kill everything it started. Signal mask and dispositions start clean.
  sigset_t empty_set, default_set;
  sigemptyset(&empty_set);
  sigfillset(&default_set);
  posix_spawnattr_setsigmask(&attributes, &empty_set);
  posix_spawnattr_setsigdefault(&attributes, &default_set);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawn_error =
      posix_spawn(&pid, path.c_str(), &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  in_read.Reset();
  out_write.Reset();
  err_write.Reset();
  if (spawn_error != 0) {
    result.spawn_status = Status::IoError("cannot run " + path + ": " + std::strerror(spawn_error));
    return result;
  }

  // The message fits in the pipe buffer (64 KiB on Linux) in all but pathological cases. A
  // program that does not read its input must not block execd, so the write is non-blocking.
  if (!stdin_text.empty()) {
    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    const ssize_t ignored = ::write(in_write.get(), stdin_text.data(), stdin_text.size());
    (void)ignored;
  }
  in_write.Reset();

  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  Fd pid_fd(pidfd);
  auto deadline = start + time_limit;
  bool out_open = true, err_open = true, exited = false;
  while (out_open || err_open || !exited) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      // After the program's exit, a child that inherited its pipes only stops the reading.
      if (!exited) {
        result.timed_out = true;
        ::kill(-pid, SIGKILL);
      }
      break;
    }
    pollfd fds[3] = {{out_open ? out_read.get() : -1, POLLIN, 0},
                     {err_open ? err_read.get() : -1, POLLIN, 0},
                     {exited ? -1 : pid_fd.get(), POLLIN, 0}};
    // Without a pidfd (kernels before 5.3), poll in short steps and check with WNOHANG.
    const int64_t wait_ms = pid_fd.get() < 0 ? std::min<int64_t>(left.count(), 10) : left.count();
    const int ready = ::poll(fds, 3, static_cast<int>(wait_ms));
    if (ready < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) out_open = Drain(out_read.get(), &result.stdout_text);
    if (fds[1].revents != 0) err_open = Drain(err_read.get(), &result.stderr_text);
    if (!exited && (fds[2].revents != 0 || pid_fd.get() < 0)) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
        deadline = std::min(deadline, std::chrono::steady_clock::now() + kOutputGrace);
      }
    }
  }
  if (!exited) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return result;
}

std::string DescribeResult(const ProgramResult& result) {
  if (!result.spawn_status.ok()) return result.spawn_status.message();
  if (result.timed_out) {
    return "timed out after " + std::to_string(result.duration.count()) + " ms and was killed";
  }
  if (result.signal != 0) return "killed by signal " + std::to_string(result.signal);
  return "exit status " + std::to_string(result.exit_status);
}

}  // namespace vigil::response
