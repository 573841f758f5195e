// `vigil status`: the counters of a running or stopped daemon's collector.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "cli/commands.h"
#include "collector/collector.h"
#include "collector/source_status.h"
#include "common/file.h"

namespace vigil::cli {
namespace {

// Returns "running (pid N)" when a daemon holds the state folder's lock, else "not running".
std::string DaemonState(const std::string& state_dir) {
  std::string path = state_dir + "/vigil-run.lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "not running";
  std::string state = "not running";
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::read(fd, pid, sizeof pid - 1);
    std::string text = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    state = "running (pid " + text + ")";
  }
  ::close(fd);
  return state;
}

}  // namespace

RunFunction RegisterStatus(CLI::App* app) {
  auto config_path = std::make_shared<std::string>();
  auto state_dir = std::make_shared<std::string>();
  app->add_option("-c,--config", *config_path, "Configuration file of the daemon")->required();
  app->add_option("--state-dir", *state_dir,
                  "The daemon's state folder, when it was given with --state-dir");
  return [config_path, state_dir]() {
    std::optional<config::Config> config = LoadConfigOrReport(*config_path);
    if (!config) return kExitConfig;
    ResolveDaemonPaths(*state_dir, "", "", &*config);
    collector::CollectorOptions options = collector::CollectorOptionsFromConfig(*config);
    Expected<collector::CollectorStatus> status = collector::ReadStatusFile(options.status_file);
    if (!status.ok()) {
      std::fprintf(stderr, "vigil status: %s (has `vigil run` started with this state folder?)\n",
                   status.status().message().c_str());
      return kExitInputError;
    }
    time_t updated = static_cast<time_t>(status->updated_unix_seconds);
    struct tm local {};
    localtime_r(&updated, &local);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local);
    std::printf("daemon: %s\ncounters written: %s\n\n",
                DaemonState(config->paths.state_dir).c_str(), when);
    std::fputs(collector::FormatStatus(*status).c_str(), stdout);
    return kExitOk;
  };
}

}  // namespace vigil::cli
