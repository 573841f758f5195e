#include "daemon_lab.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace vigil::response::testing {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

DaemonLab::DaemonLab(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(responses_dir());
}

DaemonLab::~DaemonLab() {
  if (pid_ > 0) vigil::testing::StopProcess(pid_, SIGKILL);
}

void DaemonLab::WriteConfig(const std::string& response_xml) {
  const std::string rules = std::string(VIGIL_SOURCE_DIR) + "/rules";
  std::ofstream(config_path()) << "<ossec_config>\n"
                               << "  <rules>\n"
                               << "    <decoder_dir pattern=\"_decoders.xml$\">" << rules
                               << "</decoder_dir>\n"
                               << "    <rule_dir pattern=\"_rules.xml$\">" << rules
                               << "</rule_dir>\n"
                               << "  </rules>\n"
                               << "  <localfile>\n"
                               << "    <location>" << log_path() << "</location>\n"
                               << "    <log_format>syslog</log_format>\n"
                               << "  </localfile>\n"
                               << response_xml << "</ossec_config>\n";
}

Status DaemonLab::InstallShippedProgram(const std::string& name) {
  const std::string shipped = std::string(VIGIL_SOURCE_DIR) + "/active-response/";
  for (const std::string& file : {name, std::string("common.sh")}) {
    std::error_code error;
    std::filesystem::copy_file(shipped + file, responses_dir() + "/" + file,
                               std::filesystem::copy_options::overwrite_existing, error);
    if (error) return Status::IoError("cannot copy " + shipped + file + ": " + error.message());
  }
  return Status::Ok();
}

Status DaemonLab::Start(const std::string& netns) {
  const std::string binary = vigil::testing::VigilBinary();
  const std::string out = dir_ + "/run.out";
  std::vector<std::string> args;
  if (!netns.empty()) args = {"/usr/sbin/ip", "netns", "exec", netns};
  for (const std::string& arg : {binary, std::string("run"), std::string("-c"), config_path(),
                                 std::string("--log-level"), std::string("info")}) {
    args.push_back(arg);
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  // A restart appends to run.out, so only the text after the current end counts.
  const size_t log_start = RunLog().size();
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return Status::IoError("cannot start " + args[0] + ": " + std::strerror(error));
  pid_ = pid;

  // The daemon logs "running:" once the collector has started. The collector reads a file
  // without a saved position from its first byte, so lines appended earlier are not lost.
  const bool ready = WaitUntil(
      [&] {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return RunLog().find("running: ", log_start) != std::string::npos;
      },
      std::chrono::seconds(20));
  if (pid_ < 0) return Status::Internal("vigil run exited at start:\n" + RunLog());
  if (!ready)
    return Status::TimedOut("vigil run did not log \"running:\" within 20 s:\n" + RunLog());
  return Status::Ok();
}

int DaemonLab::Stop() {
  if (pid_ <= 0) return -1;
  const int code = vigil::testing::StopProcess(pid_, SIGTERM);
  pid_ = -1;
  return code;
}

void DaemonLab::Append(const std::string& line) const {
  const int fd = ::open(log_path().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const std::string text = line + "\n";
  const ssize_t ignored = ::write(fd, text.data(), text.size());
  (void)ignored;
  ::close(fd);
}

vigil::testing::ProcessResult DaemonLab::Control(const std::vector<std::string>& args) const {
  std::vector<std::string> all = {"control", "-c", config_path()};
  all.insert(all.end(), args.begin(), args.end());
  return vigil::testing::RunVigil(all);
}

std::string DaemonLab::RunLog() const { return ReadText(dir_ + "/run.out"); }

std::string DaemonLab::Alerts() const { return ReadText(dir_ + "/var/alerts/alerts.log"); }

std::string FailedPasswordLine(const std::string& user, const std::string& address, int port) {
  return "Dec  4 16:00:00 victim sshd[" + std::to_string(4000 + port % 1000) +
         "]: Failed password for " + user + " from " + address + " port " + std::to_string(port) +
         " ssh2";
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace vigil::response::testing
