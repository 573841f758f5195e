// `vigil manager enroll-token` and `vigil agent` (enroll, run): the agent side of the
// agent-manager link and the manager's enrollment tokens.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/remote_responses.h"
#include "collector/collector.h"
#include "common/file.h"
#include "common/logging.h"
#include "common/text.h"
#include "response/execd.h"
#include "transport/agent.h"
#include "transport/enrollment.h"
#include "transport/manager_store.h"
#include "transport/state_files.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

namespace vigil::cli {
namespace {

// How long the agent waits for its execd to report the outcome of one response: the program's
// time limit plus a margin for the queue in front of it.
constexpr std::chrono::milliseconds kResponseWait{75'000};

// Parses "90", "90s", "30m", "1h" or "2d" into seconds.
bool ParseDuration(const std::string& text, int64_t* seconds) {
  if (text.empty()) return false;
  int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's':
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    default:
      break;
  }
  uint64_t value = 0;
  if (!ParseUint(digits, &value) || value == 0 || value > 365ull * 86400) return false;
  *seconds = static_cast<int64_t>(value) * unit;
  return true;
}

// Loads the manager's configuration and opens its state folder. On failure, prints the error
// for `vigil manager <command>`, sets `*exit_code` and returns nullptr.
std::unique_ptr<transport::ManagerStore> OpenManagerStore(const std::string& config_path,
                                                          const std::string& state_dir,
                                                          const char* command, int* exit_code) {
  std::optional<config::Config> config = LoadConfigOrReport(config_path);
  if (!config) {
    *exit_code = kExitConfig;
    return nullptr;
  }
  ResolveDaemonPaths(state_dir, "", "", &*config);
  Expected<std::unique_ptr<transport::ManagerStore>> store =
      transport::ManagerStore::Open(config->paths.state_dir + "/manager");
  if (!store.ok()) {
    std::fprintf(stderr, "vigil manager %s: %s\n", command, store.status().message().c_str());
    *exit_code = kExitFailure;
    return nullptr;
  }
  return std::move(*store);
}

struct TokenOptions {
  std::string config_path;
  std::string state_dir;
  std::string name;
  std::string ttl = "1h";
  std::string address = "any";
  bool force = false;
};

int RunEnrollToken(const TokenOptions& options) {
  int64_t ttl = 0;
  if (!ParseDuration(options.ttl, &ttl)) {
    std::fprintf(stderr,
                 "vigil manager enroll-token: invalid --ttl '%s', expected a duration such as "
                 "900s, 30m, 1h or 2d\n",
                 options.ttl.c_str());
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::unique_ptr<transport::ManagerStore> store =
      OpenManagerStore(options.config_path, options.state_dir, "enroll-token", &exit_code);
  if (!store) return exit_code;
  transport::EnrollTokenOptions token_options;
  token_options.name = options.name;
  token_options.ttl_seconds = ttl;
  token_options.address = options.address;
  token_options.force = options.force;
  Expected<transport::IssuedToken> token = store->CreateEnrollToken(token_options);
  if (!token.ok()) {
    std::fprintf(stderr, "vigil manager enroll-token: %s\n", token.status().message().c_str());
    return kExitFailure;
  }
  std::printf("token: %s\nca fingerprint: %s\nexpires: %lld (Unix seconds)\n", token->token.c_str(),
              token->ca_fingerprint.c_str(), static_cast<long long>(token->expires_at));
  std::printf("On the agent: vigil agent enroll --manager HOST:PORT --token %s --state-dir DIR\n",
              token->token.c_str());
  return kExitOk;
}

struct AddAgentOptions {
  std::string config_path;
  std::string state_dir;
  std::string name;
  std::string address = "any";
  std::string key_file;
  bool psk = false;
  bool force = false;
};

int RunAddAgent(const AddAgentOptions& options) {
  if (!options.psk) {
    std::fprintf(stderr,
                 "vigil manager add-agent: only --psk agents can be added without a token; "
                 "for a certificate use `vigil manager enroll-token`\n");
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::unique_ptr<transport::ManagerStore> store =
      OpenManagerStore(options.config_path, options.state_dir, "add-agent", &exit_code);
  if (!store) return exit_code;
  Expected<transport::PskCredential> credential =
      store->AddPskAgent({options.name, options.address, options.force});
  if (!credential.ok()) {
    bool duplicate = credential.status().code() == StatusCode::kAlreadyExists;
    std::fprintf(stderr, "vigil manager add-agent: %s%s\n",
                 credential.status().message().c_str(),
                 duplicate ? "; remove it with `vigil control --remove ID` or use --force" : "");
    return kExitFailure;
  }
  std::string line = transport::FormatPskKeyLine(*credential);
  if (options.key_file.empty() || options.key_file == "-") {
    std::fputs(line.c_str(), stdout);
  } else {
    Status written = transport::WriteSecretFile(options.key_file, line);
    if (!written.ok()) {
      std::fprintf(stderr,
                   "vigil manager add-agent: agent %s was added, but writing its key failed: "
                   "%s; remove it with `vigil control --remove %s` and add it again\n",
                   credential->agent_id.c_str(), written.message().c_str(),
                   credential->agent_id.c_str());
      return kExitFailure;
    }
    std::printf("added agent %s (%s) with a pre-shared key; key line written to %s (mode 0600)\n",
                credential->agent_id.c_str(), credential->name.c_str(), options.key_file.c_str());
    std::printf("On the agent: vigil agent import-psk --key-file FILE --state-dir DIR\n");
  }
  return kExitOk;
}

// Reads at most 4 KiB from standard input: a key line is about 100 bytes.
Expected<std::string> ReadStandardInput() {
  std::string text(4096, '\0');
  size_t size = std::fread(text.data(), 1, text.size(), stdin);
  if (std::ferror(stdin)) return Status::IoError("reading standard input failed");
  text.resize(size);
  return text;
}

struct ImportPskOptions {
  std::string key_file;
  std::string state_dir;
};

int RunImportPsk(const ImportPskOptions& options) {
  Expected<std::string> line = options.key_file == "-" ? ReadStandardInput()
                                                       : ReadFile(options.key_file);
  if (!line.ok()) {
    std::fprintf(stderr, "vigil agent import-psk: %s\n", line.status().message().c_str());
    return kExitFailure;
  }
  Expected<transport::AgentIdentity> identity =
      transport::ImportPskCredential(options.state_dir + "/agent", *line);
  if (!identity.ok()) {
    std::fprintf(stderr, "vigil agent import-psk: %s: %s\n", options.key_file.c_str(),
                 identity.status().message().c_str());
    return kExitFailure;
  }
  std::printf("stored the pre-shared key of agent %s (%s) in %s/agent\n",
              identity->agent_id.c_str(), identity->name.c_str(), options.state_dir.c_str());
  return kExitOk;
}

struct EnrollCliOptions {
  std::string manager;
  std::string token;
  std::string name;
  std::string state_dir;
};

int RunEnroll(const EnrollCliOptions& options) {
  transport::EnrollOptions enroll;
  enroll.manager = options.manager;
  enroll.token = options.token;
  enroll.name = options.name;
  enroll.state_dir = options.state_dir + "/agent";
  Expected<transport::AgentIdentity> identity = transport::EnrollAgent(enroll);
  if (!identity.ok()) {
    std::fprintf(stderr, "vigil agent enroll: %s\n", identity.status().message().c_str());
    return kExitFailure;
  }
  std::printf("enrolled as agent %s (%s); credential stored in %s\n", identity->agent_id.c_str(),
              identity->name.c_str(), options.state_dir.c_str());
  return kExitOk;
}

struct AgentRunOptions {
  std::string config_path;
  std::string state_dir;
  std::string responses_dir;
  std::string log_file;
  std::string log_level = "info";
};

int RunAgent(const AgentRunOptions& options) {
  LoggingOptions logging;
  logging.level = options.log_level;
  logging.file = options.log_file;
  ConfigureLogging(logging);
  auto log = GetLogger("agent");
  std::optional<config::Config> config = LoadConfigOrReport(options.config_path);
  if (!config) return kExitConfig;
  ResolveDaemonPaths(options.state_dir, "", options.responses_dir, &*config);
  if (!config->client || config->client->server_addresses.empty()) {
    std::fprintf(stderr,
                 "vigil agent: %s has no <client> with a manager address; add "
                 "<client><server>HOST:PORT</server></client>\n",
                 config->path.c_str());
    return kExitConfig;
  }
  Status made = MakeDirectories(config->paths.state_dir, 0750);
  if (!made.ok()) {
    log->critical("{}", made.message());
    return kExitFailure;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  transport::AgentOptions agent_options;
  agent_options.state_dir = config->paths.state_dir + "/agent";
  agent_options.managers = config->client->server_addresses;
  agent_options.version = VIGIL_VERSION;
  agent_options.keepalive = std::chrono::seconds(config->client->notify_time_seconds);
  Expected<std::string> config_text = ReadFile(config->path);
  agent_options.config_checksum = config_text.ok() ? transport::Sha256Hex(*config_text) : "";
  // Responses from the manager run through this agent's own execd, with its own responses
  // folder, table, pending deletes, allow list and action log under its state folder.
  std::string disabled_reason;
  if (config->client->disable_active_response) {
    disabled_reason = "active response is disabled on this agent (<disable-active-response>)";
  }
  for (const config::ActiveResponseConfig& response : config->active_responses) {
    if (response.disabled && response.command.empty()) {
      disabled_reason = "active response is disabled on this agent (<active-response><disabled>)";
    }
  }
  // Deletes at the end of a timeout are reported to the manager once the link exists.
  auto undo_reporter = std::make_shared<UndoReporter>();
  std::unique_ptr<response::Execd> execd;
  if (disabled_reason.empty()) {
    response::ExecdOptions execd_options;
    execd_options.state_dir = config->paths.state_dir;
    execd_options.responses_dir = config->paths.responses_dir;
    execd_options.write_table = false;
    execd_options.on_timed_undo = [undo_reporter](const response::PendingEntry& entry,
                                                  const response::SubmitResult& result) {
      undo_reporter->Report(entry, result);
    };
    Expected<std::unique_ptr<response::Execd>> started =
        response::Execd::Start(*config, execd_options);
    if (!started.ok()) {
      log->critical("active response: {}", started.status().message());
      return kExitFailure;
    }
    execd = std::move(*started);
  }
  std::vector<std::string> ignored;
  response::AllowList allow_list =
      response::AllowList::FromEntries(config->global.allow_list, &ignored);
  for (const std::string& entry : ignored) {
    log->warn("allow-list entry '{}' is not an IP address or CIDR range and is ignored", entry);
  }
  agent_options.on_response = MakeAgentResponseHandler(execd.get(), std::move(allow_list),
                                                       disabled_reason, kResponseWait);
  Expected<std::unique_ptr<transport::Agent>> agent = transport::Agent::Create(agent_options);
  if (!agent.ok()) {
    log->critical("{} (has `vigil agent enroll` stored a credential in {}?)",
                  agent.status().message(), agent_options.state_dir);
    if (execd) execd->Stop();
    return kExitFailure;
  }
  undo_reporter->set_agent(agent->get());
  Status started = (*agent)->Start();
  if (!started.ok()) {
    log->critical("{}", started.message());
    if (execd) execd->Stop();
    return kExitFailure;
  }
  transport::Agent* link = agent->get();
  collector::CollectorOptions collector_options = collector::CollectorOptionsFromConfig(*config);
  Expected<std::unique_ptr<collector::Collector>> collector =
      collector::Collector::Create(collector_options, [link](collector::Record&& record) {
        std::vector<transport::EventRecord> batch{{record.location, record.text}};
        // A full queue blocks the collector here, so its read positions stop advancing and
        // nothing is dropped while the manager is away.
        while (true) {
          Status submitted = link->Submit(batch);
          if (submitted.ok() || submitted.code() != StatusCode::kResourceExhausted) break;
          link->WaitForSpace(record.text.size() + record.location.size(),
                             std::chrono::milliseconds(1000));
        }
      });
  if (!collector.ok()) {
    log->critical("{}", collector.status().message());
    (*agent)->Stop();
    if (execd) execd->Stop();
    return kExitConfig;
  }
  started = (*collector)->Start();
  if (!started.ok()) {
    log->critical("{}", started.message());
    (*agent)->Stop();
    if (execd) execd->Stop();
    return kExitFailure;
  }
  log->info("vigil agent {} running: config {}, pid {}, managers {}, active response {}",
            VIGIL_VERSION, config->path, ::getpid(), config->client->server_addresses.front(),
            execd ? "on, responses " + config->paths.responses_dir : disabled_reason);
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  log->info("stopping on {}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  (*collector)->Stop();
  (*agent)->Stop();
  // Deletes that run while execd stops are still kept by the agent for its next start.
  if (execd) execd->Stop();
  undo_reporter->set_agent(nullptr);
  log->info("stopped");
  return kExitOk;
}

}  // namespace

RunFunction RegisterManager(CLI::App* app) {
  app->require_subcommand(1);
  CLI::App* token = app->add_subcommand("enroll-token", "Print a one-time enrollment token");
  auto options = std::make_shared<TokenOptions>();
  token->add_option("-c,--config", options->config_path, "The manager's configuration file")
      ->required();
  token->add_option("--state-dir", options->state_dir, "The manager's state folder");
  token->add_option("--name", options->name, "Name of the agent the token enrolls")->required();
  token->add_option("--ttl", options->ttl, "How long the token is valid: 900s, 30m, 1h, 2d")
      ->capture_default_str();
  token
      ->add_option("--address", options->address,
                   "Address the agent must enroll from: any, an IP address, or src to record "
                   "the address it enrolls from")
      ->capture_default_str();
  token->add_flag("--force", options->force,
                  "Replace an enrolled agent with the same name or address");

  CLI::App* add = app->add_subcommand(
      "add-agent", "Add an agent whose credential is a TLS 1.3 pre-shared key (no token)");
  auto add_options = std::make_shared<AddAgentOptions>();
  add->add_option("-c,--config", add_options->config_path, "The manager's configuration file")
      ->required();
  add->add_option("--state-dir", add_options->state_dir, "The manager's state folder");
  add->add_option("--name", add_options->name, "Name of the new agent")->required();
  add->add_flag("--psk", add_options->psk,
                "Give the agent a new random 32-byte pre-shared key (required)");
  add->add_option("--address", add_options->address,
                  "Address the agent must connect from: any or an IP address")
      ->capture_default_str();
  add->add_option("--key-file", add_options->key_file,
                  "Write the agent's key line to this file (mode 0600) instead of standard "
                  "output; copy it to the agent for `vigil agent import-psk`");
  add->add_flag("--force", add_options->force,
                "Replace an agent with the same name (keeping its id) or address");
  return [options, add, add_options]() {
    if (add->parsed()) return RunAddAgent(*add_options);
    return RunEnrollToken(*options);
  };
}

RunFunction RegisterAgent(CLI::App* app) {
  auto enroll_options = std::make_shared<EnrollCliOptions>();
  auto run_options = std::make_shared<AgentRunOptions>();
  CLI::App* enroll = app->add_subcommand("enroll", "Obtain this agent's credential with a token");
  enroll->add_option("--manager", enroll_options->manager,
                     "HOST[:PORT] of the manager (default port 1514)")
      ->required();
  enroll->add_option("--token", enroll_options->token, "Token from vigil manager enroll-token")
      ->required();
  enroll->add_option("--name", enroll_options->name,
                     "Agent name (default: the name the token was made for)");
  enroll
      ->add_option("--state-dir", enroll_options->state_dir,
                   "Where to store the credential: the agent state folder plus /agent")
      ->required();
  auto import_options = std::make_shared<ImportPskOptions>();
  CLI::App* import = app->add_subcommand(
      "import-psk", "Store a pre-shared key made by `vigil manager add-agent --psk`");
  import
      ->add_option("--key-file", import_options->key_file,
                   "The key line file, or - for standard input")
      ->required();
  import
      ->add_option("--state-dir", import_options->state_dir,
                   "The agent state folder; the key is stored in its agent/ folder")
      ->required();
  app->add_option("-c,--config", run_options->config_path,
                  "Agent configuration with <localfile> and <client> sections");
  app->add_option("--state-dir", run_options->state_dir,
                  "State folder (default: the config's <paths><state_dir>, else var/state "
                  "beside the config file); the credential is in its agent/ folder");
  app->add_option("--responses-dir", run_options->responses_dir,
                  "Folder of the active-response programs that the manager's responses run "
                  "(default: the config's <paths><responses_dir>, else active-response beside "
                  "the config file, else the active-response folder shipped with vigil)");
  app->add_option("--log-file", run_options->log_file, "Status log file (default: stderr)");
  app->add_option("--log-level", run_options->log_level, "Minimum status log level")
      ->capture_default_str();
  return [enroll, enroll_options, import, import_options, run_options]() {
    if (enroll->parsed()) return RunEnroll(*enroll_options);
    if (import->parsed()) return RunImportPsk(*import_options);
    if (run_options->config_path.empty()) {
      std::fprintf(stderr, "vigil agent: -c CONFIG is required to run the agent\n");
      return kExitUsage;
    }
    return RunAgent(*run_options);
  };
}

}  // namespace vigil::cli
