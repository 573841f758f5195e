// `vigil run`: the daemon. Starts the components in dependency order (execd, analysis,
// collector), stops them in reverse on SIGTERM or SIGINT, reloads rules on SIGHUP.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "collector/collector.h"
#include "common/file.h"
#include "common/logging.h"
#include "config/loader.h"
#include "daemon/delivery.h"
#include "daemon/pipeline.h"
#include "response/execd.h"
#include "response/responder.h"
#include "transport/manager.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil::cli {
namespace {

struct RunOptions {
  std::string config_path;
  std::string state_dir;
  std::string output_dir;
  std::string responses_dir;
  std::string log_file;
  std::string log_level = "info";
};

// Fills the folders (see ResolveDaemonPaths) and creates the state and output folders.
Status ResolvePaths(const RunOptions& options, config::Config* config) {
  ResolveDaemonPaths(options.state_dir, options.output_dir, options.responses_dir, config);
  VIGIL_RETURN_IF_ERROR(MakeDirectories(config->paths.state_dir, 0750));
  VIGIL_RETURN_IF_ERROR(MakeDirectories(config->paths.output_dir, 0750));
  return Status::Ok();
}

// Takes the state folder's daemon lock and writes this pid into it. Returns the open descriptor,
// which holds the lock until the process exits.
Expected<int> LockStateDir(const std::string& state_dir) {
  std::string path = state_dir + "/vigil-run.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::read(fd, pid, sizeof pid - 1);
    ::close(fd);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::AlreadyExists("another vigil daemon (pid " + holder +
                                 ") is running with the state folder " + state_dir +
                                 "; stop it or give this one its own --state-dir");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::write(fd, pid.data(), pid.size()) < 0) {
    // The lock is what matters; the pid is only for the message above.
  }
  return fd;
}

int Run(const RunOptions& options) {
  LoggingOptions logging;
  logging.level = options.log_level;
  logging.file = options.log_file;
  ConfigureLogging(logging);
  auto log = GetLogger("daemon");

  std::optional<config::Config> config = LoadConfigOrReport(options.config_path);
  if (!config) return kExitConfig;
  Status paths = ResolvePaths(options, &*config);
  if (!paths.ok()) {
    log->critical("{}", paths.message());
    return kExitFailure;
  }
  Expected<int> lock = LockStateDir(config->paths.state_dir);
  if (!lock.ok()) {
    log->critical("{}", lock.status().message());
    return kExitFailure;
  }

  // Signals are handled by sigwait() on this thread; every thread started later inherits
  // the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log->info("vigil {} starting: config {}, pid {}, state {}, alerts {}", VIGIL_VERSION,
            config->path, ::getpid(), config->paths.state_dir, config->paths.output_dir);

  std::unique_ptr<response::Execd> execd;
  std::unique_ptr<response::ExecqSink> execq;
  std::unique_ptr<response::ActionLog> action_log;
  std::unique_ptr<response::Responder> responder;
  if (!config->active_responses.empty()) {
    response::ExecdOptions execd_options;
    execd_options.state_dir = config->paths.state_dir;
    execd_options.responses_dir = config->paths.responses_dir;
    Expected<std::unique_ptr<response::Execd>> started =
        response::Execd::Start(*config, execd_options);
    if (!started.ok()) {
      log->critical("active response: {}", started.status().message());
      return kExitFailure;
    }
    execd = std::move(*started);
    Expected<std::unique_ptr<response::ExecqSink>> sink =
        response::ExecqSink::Create(execd->paths().execq);
    Expected<std::unique_ptr<response::ActionLog>> actions =
        response::ActionLog::Open(execd->paths().actions, &SystemClock::Get());
    if (!sink.ok() || !actions.ok()) {
      log->critical("active response: {}",
                    !sink.ok() ? sink.status().message() : actions.status().message());
      execd->Stop();
      return kExitFailure;
    }
    execq = std::move(*sink);
    action_log = std::move(*actions);
    Expected<std::unique_ptr<response::Responder>> created =
        response::Responder::Create(*config, execq.get(), action_log.get());
    if (!created.ok()) {
      log->critical("active response: {}", created.status().message());
      execd->Stop();
      return kExitFailure;
    }
    responder = std::move(*created);
  }

  Expected<std::unique_ptr<daemon::Pipeline>> pipeline = daemon::Pipeline::Create(
      *config, config->paths.output_dir, responder.get(), &SystemClock::Get());
  if (!pipeline.ok()) {
    log->critical("{}", pipeline.status().message());
    if (execd) execd->Stop();
    return kExitConfig;
  }

  daemon::Pipeline* sink = pipeline->get();
  // A <remote> section makes this daemon a manager: agents' records enter the same pipeline
  // with the location "(name) address->path".
  std::unique_ptr<transport::Manager> manager;
  if (!config->remotes.empty()) {
    const config::RemoteConfig& remote = config->remotes.front();
    transport::ManagerOptions manager_options;
    manager_options.state_dir = config->paths.state_dir + "/manager";
    if (!remote.local_ip.empty()) manager_options.listen_address = remote.local_ip;
    manager_options.port = static_cast<uint16_t>(remote.port);
    manager_options.on_events = [sink](const transport::AgentEventBatch& batch) {
      for (size_t i = 0; i < batch.records.size(); ++i) {
        collector::Record record;
        record.text = batch.records[i].text;
        record.location = batch.Location(i);
        sink->Handle(record, std::string(batch.agent_id));
      }
      return true;
    };
    Expected<std::unique_ptr<transport::Manager>> created =
        transport::Manager::Create(manager_options);
    Status listening = created.ok() ? (*created)->Start() : created.status();
    if (!listening.ok()) {
      log->critical("agent link: {}", listening.message());
      if (execd) execd->Stop();
      return kExitFailure;
    }
    manager = std::move(*created);
    log->info("listening for agents on {}:{}", manager_options.listen_address, remote.port);
  }

  collector::CollectorOptions collector_options = collector::CollectorOptionsFromConfig(*config);
  // Positions are saved with the output files' checkpoint, so after a kill -9 the records read
  // again from the saved positions that had reached the outputs are dropped, not analysed
  // twice. Both lambdas run on the collector thread only.
  collector_options.follower.checkpoint = [sink] { return sink->Checkpoint(); };
  auto delivered = std::make_shared<daemon::DeliveredRecords>();
  auto replay_deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  Expected<std::unique_ptr<collector::Collector>> collector = collector::Collector::Create(
      collector_options, [sink, delivered, replay_deadline, log](collector::Record&& record) {
        if (!delivered->empty()) {
          if (std::chrono::steady_clock::now() < *replay_deadline) {
            if (delivered->Consume(record.location, record.text)) return;
          } else {
            log->warn("{} records found in the outputs after the checkpoint were not read again",
                      delivered->size());
            delivered->Clear();
          }
        }
        sink->Handle(record);
      });
  if (!collector.ok()) {
    log->critical("{}", collector.status().message());
    if (execd) execd->Stop();
    return kExitConfig;
  }
  Expected<daemon::DeliveredRecords> found = daemon::DeliveredRecords::ReadAfter(
      config->paths.output_dir, (*collector)->SavedCheckpoint(), (*collector)->SavedPaths());
  if (!found.ok()) {
    log->error("{}; records written after the last saved positions may be repeated",
               found.status().message());
  } else if (!found->empty()) {
    log->info(
        "{} records reached the outputs after the last saved read positions (unclean stop); "
        "they are not analysed again",
        found->size());
    *delivered = std::move(*found);
    // The records come again in the first pass, or after an idle flush for a partial line,
    // so the filter ends after the flush timeout and two rescans.
    *replay_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10) +
                       2 * collector_options.follower.loop_timeout;
  }
  Status started = (*collector)->Start();
  if (!started.ok()) {
    log->critical("{}", started.message());
    if (execd) execd->Stop();
    return kExitFailure;
  }
  log->info("running: {} log sources, {} active responses", config->localfiles.size(),
            config->active_responses.size());

  std::string reason;
  while (reason.empty()) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      log->info("SIGHUP: reloading decoders and rules from {}", options.config_path);
      Expected<config::Config> reloaded = LoadRunConfig(options.config_path);
      if (!reloaded.ok()) {
        log->error("reload failed, keeping the running rules: {}", reloaded.status().message());
        continue;
      }
      Status status = (*pipeline)->Reload(*reloaded);
      if (!status.ok())
        log->error("reload failed, keeping the running rules: {}", status.message());
      continue;
    }
    reason = signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
  }

  log->info("stopping on {}", reason);
  (*collector)->Stop();
  if (manager) manager->Stop();
  (*pipeline)->Flush();
  if (execd) execd->Stop();
  daemon::PipelineCounters counters = (*pipeline)->counters();
  log->info("stopped: reason {}, records {}, alerts {}, responses sent {}, write errors {}", reason,
            counters.records, counters.alerts, counters.responses_sent, counters.write_errors);
  return kExitOk;
}

}  // namespace

RunFunction RegisterRun(CLI::App* app) {
  auto options = std::make_shared<RunOptions>();
  app->add_option("-c,--config", options->config_path, "Configuration file in ossec.conf format")
      ->required();
  app->add_option("--state-dir", options->state_dir,
                  "Folder for positions, queues and pending responses (default: the config's "
                  "<paths><state_dir>, else var/state beside the config file)");
  app->add_option("--output-dir", options->output_dir,
                  "Folder for alerts.log, alerts.json and archives (default: the config's "
                  "<paths><output_dir>, else var/alerts beside the config file)");
  app->add_option("--responses-dir", options->responses_dir,
                  "Folder of active-response programs (default: the config's "
                  "<paths><responses_dir>, else active-response beside the config file, else the "
                  "active-response folder shipped with vigil)");
  app->add_option("--log-file", options->log_file,
                  "Status log file (default: stderr); alerts never go there");
  app->add_option("--log-level", options->log_level,
                  "Minimum status log level: trace, debug, info, warn, error")
      ->capture_default_str();
  return [options]() { return Run(*options); };
}

}  // namespace vigil::cli
