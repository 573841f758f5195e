// `vigil control`: OSSEC's agent_control for active response: list responses, run one now,
// list and undo blocks, show recent actions.
#include "response/control.h"

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/remote_responses.h"
#include "common/file.h"
#include "response/agent_blocks.h"
#include "response/executor.h"
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
  std::string agent_id;
  bool all_agents = false;
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

// `-b IP -f NAME -u ID` (ID other than 000) and `-b IP -f NAME -a`: queues the response on the
// manager for one agent or for every agent.
int RunOnAgents(const config::Config& config, const response::ControlOptions& control,
                const ControlCliOptions& options, const std::string& manager_dir) {
  Expected<response::AgentCommand> command = response::PrepareAgentCommand(
      config, control, options.block_address, options.response_name);
  if (!command.ok()) return Fail(command.status());
  const std::string agent_id = options.all_agents ? "" : options.agent_id;
  const std::string where = agent_id.empty() ? "every agent" : "agent " + agent_id;
  Expected<std::vector<uint64_t>> ids = transport::ControlSendResponse(
      manager_dir, ToResponseRequest(response::AgentResponse{agent_id, *command}));
  if (!ids.ok()) {
    if (ids.status().message().find("is not enrolled") != std::string::npos) {
      return Fail(Status::NotFound(ids.status().message() +
                                   "; `vigil control -l` lists the agents"));
    }
    return Fail(ids.status());
  }
  if (ids->empty()) {
    std::printf("no agents are enrolled, so '%s' ran nowhere\n", options.response_name.c_str());
    return kExitOk;
  }
  // The manager records the agents' results; the request itself is recorded here.
  Expected<std::unique_ptr<response::ActionLog>> log = response::ActionLog::Open(
      response::StatePaths::ForStateDir(control.state_dir).actions, &SystemClock::Get());
  if (log.ok()) {
    response::ActionRecord record;
    record.event = "sent";
    record.response = options.response_name;
    record.key = command->request.Key();
    record.rule_id = command->request.rule_id;
    record.agent_id = agent_id;
    record.args = command->request.Arguments();
    record.reason = "sent to " + where + " by vigil control";
    (*log)->Append(std::move(record));
  }
  std::printf("sent '%s' for %s to %s (%zu response%s); `vigil control --blocks` shows the "
              "agents' blocks once they report\n",
              options.response_name.c_str(), command->request.srcip.c_str(), where.c_str(),
              ids->size(), ids->size() == 1 ? "" : "s");
  return kExitOk;
}

// `--unblock IP` on a manager: sends an unblock to every agent that holds a block of `address`
// by the manager's record, or with `all_agents` to every enrolled agent.
int UnblockOnAgents(const config::Config& config, const std::string& address,
                    const std::string& manager_dir, bool all_agents) {
  if (all_agents) {
    transport::ResponseRequest request;
    request.command = "unblock";
    request.action = "unblock";
    request.arguments = {address};
    Expected<std::vector<uint64_t>> ids = transport::ControlSendResponse(manager_dir, request);
    if (!ids.ok()) return Fail(ids.status());
    std::printf(
        "sent unblock for %s to every agent (%zu); offline agents get it when they "
        "reconnect, within %u s\n",
        address.c_str(), ids->size(), transport::ManagerOptions{}.response_ttl_seconds);
    return kExitOk;
  }
  const response::StatePaths paths = response::StatePaths::ForStateDir(config.paths.state_dir);
  Expected<std::vector<response::AgentBlock>> blocks =
      response::ReadAgentBlocks(paths.agent_blocks, SystemClock::Get().NowSeconds() * 1000);
  if (!blocks.ok()) return Fail(blocks.status());
  std::vector<std::string> agents;
  for (const response::AgentBlock& block : *blocks) {
    if (block.key == address &&
        std::find(agents.begin(), agents.end(), block.agent_id) == agents.end()) {
      agents.push_back(block.agent_id);
    }
  }
  for (const std::string& agent : agents) {
    transport::ResponseRequest request;
    request.agent_id = agent;
    request.command = "unblock";
    request.action = "unblock";
    request.arguments = {address};
    Expected<std::vector<uint64_t>> ids = transport::ControlSendResponse(manager_dir, request);
    if (!ids.ok()) return Fail(ids.status());
    std::printf("sent unblock for %s to agent %s\n", address.c_str(), agent.c_str());
  }
  return kExitOk;
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
  const std::string manager_dir = config->paths.state_dir + "/manager";
  if (!options.agent_id.empty() && options.block_address.empty()) {
    std::fprintf(stderr, "vigil control: -u needs -b IP and -f NAME, the response to run\n");
    return kExitUsage;
  }
  if (options.all_agents && options.block_address.empty() && options.unblock_address.empty()) {
    std::fprintf(stderr, "vigil control: -a needs -b IP and -f NAME, or --unblock IP\n");
    return kExitUsage;
  }
  if (options.all_agents && !options.block_address.empty() && !options.unblock_address.empty()) {
    std::fprintf(stderr, "vigil control: -a applies to either -b or --unblock, not both\n");
    return kExitUsage;
  }
  if (options.all_agents && !options.unblock_address.empty() && config->remotes.empty()) {
    std::fprintf(stderr, "vigil control: --unblock -a needs a manager (a <remote> section)\n");
    return kExitUsage;
  }
  if (!options.agent_id.empty() && options.all_agents) {
    std::fprintf(stderr, "vigil control: give either -u ID or -a, not both\n");
    return kExitUsage;
  }
  if (!options.block_address.empty()) {
    did_something = true;
    if (options.response_name.empty()) {
      std::fprintf(stderr, "vigil control: -b needs -f NAME, the response to run\n");
      return kExitUsage;
    }
    if (options.all_agents || (!options.agent_id.empty() && options.agent_id != "000")) {
      const int status = RunOnAgents(*config, control, options, manager_dir);
      if (status != kExitOk) return status;
    } else {
      Expected<std::string> done = response::RunResponseNow(*config, control,
                                                             options.block_address,
                                                             options.response_name);
      if (!done.ok()) return Fail(done.status());
      std::printf("%s\n", done->c_str());
    }
  }
  if (!options.unblock_address.empty()) {
    did_something = true;
    Expected<std::vector<std::string>> undone =
        response::Unblock(*config, control, options.unblock_address);
    if (!undone.ok()) return Fail(undone.status());
    if (undone->empty()) {
      std::printf("nothing is blocked here for %s\n", options.unblock_address.c_str());
    }
    for (const std::string& item : *undone) std::printf("undone: %s\n", item.c_str());
    if (!config->remotes.empty()) {
      Expected<response::IpAddress> address =
          response::ParseSourceAddress(options.unblock_address);
      if (!address.ok()) return Fail(address.status());
      const int status =
          UnblockOnAgents(*config, address->ToString(), manager_dir, options.all_agents);
      if (status != kExitOk) return status;
    }
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
                  "Run the response named by -f against this IP address now, on this host "
                  "unless -u or -a is given");
  app->add_option("-f,--response", options->response_name,
                  "Response name for -b, as -L lists it");
  app->add_option("-u,--agent", options->agent_id,
                  "Run the -b response on this agent id instead (000: this host); needs a "
                  "running manager");
  app->add_flag("-a,--all-agents", options->all_agents,
                "Run the -b response on every enrolled agent, not on this host (as OSSEC's "
                "agent_control -a); agents that are offline get it when they reconnect, "
                "unless the response's timeout passes first. With --unblock: send the unblock "
                "to every enrolled agent, not only those the manager records a block for");
  app->add_flag("--blocks", options->list_blocks,
                "List what is blocked now here and, on a manager, on agents, with the time "
                "left before it is undone");
  app->add_option("--unblock", options->unblock_address,
                  "Undo every pending block of this IP address now, here and on the agents "
                  "that hold one");
  app->add_option("--actions", options->actions,
                  "Print the last N records of the action log (decided, sent, skipped, "
                  "executed, failed, undone, expired)");
  app->add_flag("-l,--list-agents", options->list_agents,
                "List agents: id, name, address, version, status, last keepalive (Unix "
                "seconds), events received and queue depth");
  app->add_option("--remove", options->remove_agent,
                  "Remove an agent and revoke its certificate or pre-shared key");
  return [options]() { return Run(*options); };
}

}  // namespace vigil::cli
