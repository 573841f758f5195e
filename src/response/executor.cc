#include "response/executor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/logging.h"
#include "response/address.h"
#include "response/builtin_firewall.h"

namespace vigil::response {

StatePaths StatePaths::ForStateDir(const std::string& state_dir) {
  StatePaths paths;
  paths.execq = state_dir + "/queue/alerts/execq";
  paths.table = state_dir + "/shared/ar.conf";
  paths.pending = state_dir + "/response/pending.json";
  paths.actions = state_dir + "/response/actions.log";
  paths.lock = state_dir + "/response/execd.lock";
  paths.agent_blocks = state_dir + "/response/agent-blocks.json";
  return paths;
}

ProgramResult ExecuteJob(const Job& job, const ExecutorOptions& options, ActionLog* log) {
  auto logger = GetLogger("execd");
  const std::string path = options.responses_dir + "/" + job.entry.executable;
  const std::vector<std::string> args = job.request.Arguments();
  ActionRecord record;
  record.response = job.entry.name;
  record.key = job.request.Key();
  record.rule_id = job.request.rule_id;
  record.args = args;

  ProgramResult result;
  if (job.entry.options.simulate) {
    record.event = "simulated";
    record.reason = "would run " + path;
    logger->info("response {} simulated: would run {} {}", job.entry.name, path,
                 EscapeForLog(fmt::format("{}", fmt::join(args, " "))));
    result.exit_status = 0;
    if (log != nullptr) log->Append(std::move(record));
    return result;
  }

  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "LANG=C",
      "VIGIL_AR_NAME=" + job.entry.name,
  };
  if (job.entry.options.refresh_on_extend && job.request.action == Action::kAdd) {
    env.push_back("VIGIL_AR_TIMEOUT=" + std::to_string(job.timeout_seconds));
  }
  if (IsBuiltinExecutable(job.entry.executable)) {
    auto settings = ReadFirewallSettings(options.responses_dir + "/firewall-drop.conf");
    if (job.entry.executable != kBuiltinFirewallDrop) {
      result.exit_status = 1;
      result.stderr_text = "unknown built-in action " + job.entry.executable;
    } else if (!settings.ok()) {
      result.exit_status = 1;
      result.stderr_text = settings.status().message();
    } else {
      const bool own_expiry =
          job.entry.options.refresh_on_extend && job.request.action == Action::kAdd;
      result = RunBuiltinFirewallDrop(job.request, own_expiry ? job.timeout_seconds : 0, *settings);
    }
  } else {
    const std::string input =
        job.entry.options.json_stdin ? job.request.ToProgramJson(path) + "\n" : std::string();
    result = RunProgram(path, args, env, input, options.time_limit);
  }

  record.duration_ms = result.duration.count();
  if (result.spawn_status.ok()) record.exit_status = result.exit_status;
  const std::string stderr_text = EscapeForLog(result.stderr_text.substr(0, 80));
  if (result.succeeded()) {
    record.event = job.event;
    logger->info("response {} {} {}: {} in {} ms", job.entry.name, args[0], record.key,
                 DescribeResult(result), result.duration.count());
  } else {
    record.event = "failed";
    record.reason = DescribeResult(result);
    if (!stderr_text.empty()) record.reason += "; stderr: " + stderr_text;
    logger->error("response {} {} {} failed: {}", job.entry.name, args[0], record.key,
                  record.reason);
  }
  if (result.succeeded() && !result.stderr_text.empty()) {
    logger->info("response {} {} stderr: {}", job.entry.name, args[0], stderr_text);
  }
  if (log != nullptr) log->Append(std::move(record));
  return result;
}

}  // namespace vigil::response
