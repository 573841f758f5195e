// `vigil control`: OSSEC's agent_control for active response: list responses, run one now,
// list and undo blocks, show recent actions.
#include "response/control.h"

#include <cstdio>

#include "cli/commands.h"
#include "common/file.h"
#include "transport/control.h"

namespace vigil::cli {
namespace {

struct ControlCliOptions {
  std::string config_path;
  std::string state_dir;
  std::string responses_dir;
  bool list_responses = false;
  std::string block_address;
  std::string response_name;
  bool list_blocks = false;
  std::string unblock_address;
  size_t actions = 0;
  bool list_agents = false;
  std::string remove_agent;
};

int Fail(const Status& status) {
  std::fprintf(stderr, "vigil control: %s\n", status.message().c_str());
  return kExitFailure;
}

int Run(const ControlCliOptions& options) {
  std::optional<config::Config> config = LoadConfigOrReport(options.config_path);
  if (!config) return kExitConfig;
  ResolveDaemonPaths(options.state_dir, "", options.responses_dir, &*config);
  response::ControlOptions control = response::ControlOptions::FromConfig(*config);

  bool did_something = false;
  if (options.list_responses) {
    did_something = true;
    Expected<std::vector<response::TableEntry>> entries = response::ListResponses(control);
    if (!entries.ok()) return Fail(entries.status());
    std::fputs(response::FormatResponses(*entries).c_str(), stdout);
  }
  if (!options.block_address.empty()) {
    did_something = true;
    if (options.response_name.empty()) {
      std::fprintf(stderr, "vigil control: -b needs -f NAME, the response to run\n");
      return kExitUsage;
    }
    Expected<std::string> done =
        response::RunResponseNow(*config, control, options.block_address, options.response_name);
    if (!done.ok()) return Fail(done.status());
    std::printf("%s\n", done->c_str());
  }
  if (!options.unblock_address.empty()) {
    did_something = true;
    Expected<std::vector<std::string>> undone =
        response::Unblock(*config, control, options.unblock_address);
    if (!undone.ok()) return Fail(undone.status());
    if (undone->empty()) {
      std::printf("nothing is blocked for %s\n", options.unblock_address.c_str());
    }
    for (const std::string& item : *undone) std::printf("undone: %s\n", item.c_str());
  }
  if (options.list_blocks) {
    did_something = true;
    Expected<std::vector<response::Block>> blocks = response::ListBlocks(control);
    if (!blocks.ok()) return Fail(blocks.status());
    std::fputs(response::FormatBlocks(*blocks).c_str(), stdout);
  }
  if (options.actions > 0) {
    did_something = true;
    Expected<std::vector<response::ActionRecord>> records =
        response::RecentActions(control, options.actions);
    if (!records.ok()) return Fail(records.status());
    for (const response::ActionRecord& record : *records) {
      std::printf("%s\n", response::FormatActionRecord(record).c_str());
    }
  }
  std::string manager_dir = config->paths.state_dir + "/manager";
  if (options.list_agents) {
    did_something = true;
    Expected<std::vector<transport::AgentInfo>> agents = transport::ControlListAgents(manager_dir);
    if (!agents.ok()) return Fail(agents.status());
    std::printf("%-6s %-20s %-16s %-10s %-16s %-20s %10s %8s\n", "id", "name", "address", "version",
                "status", "last keepalive", "events", "queue");
    for (const transport::AgentInfo& agent : *agents) {
      std::printf("%-6s %-20s %-16s %-10s %-16s %-20lld %10llu %8llu\n", agent.id.c_str(),
                  agent.name.c_str(),
                  agent.peer_address.empty() ? agent.address.c_str() : agent.peer_address.c_str(),
                  agent.version.c_str(), agent.status.c_str(),
                  static_cast<long long>(agent.last_keepalive),
                  static_cast<unsigned long long>(agent.events_received),
                  static_cast<unsigned long long>(agent.queue_records));
    }
  }
  if (!options.remove_agent.empty()) {
    did_something = true;
    Status removed = transport::ControlRemoveAgent(manager_dir, options.remove_agent);
    if (!removed.ok()) return Fail(removed);
    std::printf("agent %s removed; its certificate or pre-shared key no longer works\n",
                options.remove_agent.c_str());
  }
  if (!did_something) {
    std::fprintf(stderr, "vigil control: nothing to do; see vigil control --help\n");
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

RunFunction RegisterControl(CLI::App* app) {
  auto options = std::make_shared<ControlCliOptions>();
  app->add_option("-c,--config", options->config_path, "Configuration file of the daemon")
      ->required();
  app->add_option("--state-dir", options->state_dir,
                  "The daemon's state folder, when it was given with --state-dir");
  app->add_option("--responses-dir", options->responses_dir,
                  "Folder of active-response programs, when given to vigil run");
  app->add_flag("-L,--list-responses", options->list_responses,
                "List the responses of the response table");
  app->add_option("-b,--block", options->block_address,
                  "Run the response named by -f against this IP address now");
  app->add_option("-f,--response", options->response_name, "Response name for -b");
  app->add_flag("--blocks", options->list_blocks,
                "List what is blocked now, with the time left before it is undone");
  app->add_option("--unblock", options->unblock_address,
                  "Undo every pending block of this IP address now");
  app->add_option("--actions", options->actions,
                  "Print the last N records of the action log (decided, skipped, executed, "
                  "undone)");
  app->add_flag("-l,--list-agents", options->list_agents,
                "List agents: id, name, address, version, status, last keepalive (Unix "
                "seconds), events received and queue depth");
  app->add_option("--remove", options->remove_agent,
                  "Remove an agent and revoke its certificate or pre-shared key");
  return [options]() { return Run(*options); };
}

}  // namespace vigil::cli
