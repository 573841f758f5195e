// `vigil run`: the daemon. Starts the components in dependency order (execd, analysis,
// collector), stops them in reverse on SIGTERM or SIGINT, reloads rules on SIGHUP.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>

#include "cli/commands.h"
#include "cli/remote_responses.h"
#include "collector/collector.h"
#include "common/file.h"
#include "common/logging.h"
#include "config/loader.h"
#include "daemon/delivery.h"
#include "daemon/pipeline.h"
#include "response/execd.h"
#include "response/responder.h"
#include "transport/manager.h"
#include "transport/syslog_server.h"

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
  int threads = 1;
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

// Returns the address a <remote> binds: its <local_ip>, else every IPv6 or IPv4 address.
std::string RemoteBindAddress(const config::RemoteConfig& remote) {
  if (!remote.local_ip.empty()) return remote.local_ip;
  return remote.ipv6 ? "::" : "0.0.0.0";
}

// Starts one manager for every secure <remote> and one syslog receiver per syslog <remote>.
Status StartRemotes(const config::Config& config, daemon::Pipeline* sink,
                    std::function<void(const transport::ResponseRecord&)> on_response_result,
                    std::unique_ptr<transport::Manager>* manager,
                    std::vector<std::unique_ptr<transport::SyslogServer>>* syslog_servers) {
  transport::ManagerOptions manager_options;
  for (const config::RemoteConfig& remote : config.remotes) {
    std::string where = remote.source.file + ":" + std::to_string(remote.source.line);
    if (remote.connection == "secure") {
      transport::ListenerOptions listener;
      listener.address = RemoteBindAddress(remote);
      listener.port = static_cast<uint16_t>(remote.port);
      listener.allowed_ips = remote.allowed_ips;
      listener.denied_ips = remote.denied_ips;
      manager_options.listeners.push_back(std::move(listener));
      continue;
    }
    transport::SyslogServerOptions options;
    options.address = RemoteBindAddress(remote);
    options.port = static_cast<uint16_t>(remote.port);
    options.udp = remote.protocol.find("udp") != std::string::npos;
    options.tcp = remote.protocol.find("tcp") != std::string::npos;
    options.allowed_ips = remote.allowed_ips;
    options.denied_ips = remote.denied_ips;
    options.on_message = [sink](const std::string& sender, std::string message) {
      collector::Record record;
      record.text = std::move(message);
      record.location = sender;
      sink->Handle(record);
    };
    Expected<std::unique_ptr<transport::SyslogServer>> server =
        transport::SyslogServer::Create(std::move(options));
    Status started = server.ok() ? (*server)->Start() : server.status();
    if (!started.ok()) return Status(started.code(), where + ": syslog remote: " + started.message());
    syslog_servers->push_back(std::move(*server));
  }
  if (manager_options.listeners.empty()) return Status::Ok();
  manager_options.state_dir = config.paths.state_dir + "/manager";
  manager_options.on_events = [sink](const transport::AgentEventBatch& batch) {
    std::vector<collector::Record> records(batch.records.size());
    for (size_t i = 0; i < batch.records.size(); ++i) {
      records[i].text = batch.records[i].text;
      records[i].location = batch.Location(i);
    }
    sink->HandleBatch(records, std::string(batch.agent_id));
    return true;
  };
  manager_options.on_response_result = std::move(on_response_result);
  Expected<std::unique_ptr<transport::Manager>> created =
      transport::Manager::Create(std::move(manager_options));
  Status listening = created.ok() ? (*created)->Start() : created.status();
  if (!listening.ok()) return Status(listening.code(), "agent link: " + listening.message());
  *manager = std::move(*created);
  return Status::Ok();
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

  log->info("vigil {} starting: config {}, pid {}, state {}, alerts {}, decode threads {}",
            VIGIL_VERSION, config->path, ::getpid(), config->paths.state_dir,
            config->paths.output_dir, options.threads);

  // A secure <remote> section makes this daemon a manager: responses routed to agents go
  // through the agent link, and the agents' results go to the action log and the table of their
  // blocks.
  const bool is_manager =
      std::any_of(config->remotes.begin(), config->remotes.end(),
                  [](const config::RemoteConfig& remote) { return remote.connection == "secure"; });
  ManagerAgentSink agent_sink;
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
    Expected<std::unique_ptr<response::Responder>> created = response::Responder::Create(
        *config, execq.get(), action_log.get(), is_manager ? &agent_sink : nullptr);
    if (!created.ok()) {
      log->critical("active response: {}", created.status().message());
      execd->Stop();
      return kExitFailure;
    }
    responder = std::move(*created);
  }

  Expected<std::unique_ptr<daemon::Pipeline>> pipeline = daemon::Pipeline::Create(
      *config, config->paths.output_dir, responder.get(), &SystemClock::Get(), options.threads);
  if (!pipeline.ok()) {
    log->critical("{}", pipeline.status().message());
    if (execd) execd->Stop();
    return kExitConfig;
  }

  daemon::Pipeline* sink = pipeline->get();
  // Declared before the manager, whose result callback uses it until the manager is gone.
  std::unique_ptr<response::AgentBlockTable> agent_blocks;
  if (is_manager) {
    const response::StatePaths response_paths =
        response::StatePaths::ForStateDir(config->paths.state_dir);
    Expected<std::unique_ptr<response::AgentBlockTable>> blocks =
        response::AgentBlockTable::Open(response_paths.agent_blocks);
    Status opened = blocks.ok() ? Status::Ok() : blocks.status();
    if (opened.ok() && !action_log) {
      Expected<std::unique_ptr<response::ActionLog>> actions =
          response::ActionLog::Open(response_paths.actions, &SystemClock::Get());
      if (actions.ok()) {
        action_log = std::move(*actions);
      } else {
        opened = actions.status();
      }
    }
    if (!opened.ok()) {
      log->critical("agent responses: {}", opened.message());
      if (execd) execd->Stop();
      return kExitFailure;
    }
    agent_blocks = std::move(*blocks);
  }
  // A secure <remote> makes this daemon a manager: agents' records enter the same pipeline
  // with the location "(name) address->path". A syslog <remote> feeds records whose location
  // is the sender's address.
  std::unique_ptr<transport::Manager> manager;
  std::vector<std::unique_ptr<transport::SyslogServer>> syslog_servers;
  // Stops what started so far, in reverse order, when a later start fails.
  auto stop_started = [&] {
    for (auto& server : syslog_servers) server->Stop();
    if (manager) manager->Stop();
    if (execd) execd->Stop();
  };
  auto on_response_result = [actions = action_log.get(), blocks = agent_blocks.get()](
                                const transport::ResponseRecord& record) {
    RecordAgentResult(record, actions, blocks);
  };
  Status remotes =
      StartRemotes(*config, sink, on_response_result, &manager, &syslog_servers);
  if (!remotes.ok()) {
    log->critical("{}", remotes.message());
    stop_started();
    return kExitFailure;
  }
  agent_sink.set_manager(manager.get());

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
    stop_started();
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
    stop_started();
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
  for (auto& server : syslog_servers) server->Stop();
  if (manager) manager->Stop();
  agent_sink.set_manager(nullptr);
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
  app->add_option("--threads", options->threads,
                  "Threads that decode each batch of agent events; rules and correlation run on "
                  "one thread in arrival order, so alerts are the same for any number")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app->add_option("--log-level", options->log_level,
                  "Minimum status log level: trace, debug, info, warn, error")
      ->capture_default_str();
  return [options]() { return Run(*options); };
}

}  // namespace vigil::cli
