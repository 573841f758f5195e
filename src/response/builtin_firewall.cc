#include "response/builtin_firewall.h"

#include <mutex>
#include <regex>

#include "common/file.h"
#include "common/text.h"
#include "response/address.h"

#ifdef VIGIL_HAVE_LIBNFTABLES
#include <nftables/libnftables.h>
#endif

namespace vigil::response {
namespace {

// Prints the commands that create the table, its sets and its chains when they are missing.
// `add` is a no-op for what exists, and each chain's rules are flushed and added again, so the
// commands leave exactly one copy however often they run. Same ruleset as the shipped program.
std::string TableCommands(const std::string& table) {
  std::string text = "add table inet " + table + "\n";
  text += "add set inet " + table + " blocked4 { type ipv4_addr; flags interval, timeout; }\n";
  text += "add set inet " + table + " blocked6 { type ipv6_addr; flags interval, timeout; }\n";
  for (const char* hook : {"input", "forward"}) {
    const std::string chain = "inet " + table + " " + hook;
    text += "add chain " + chain + " { type filter hook " + hook +
            " priority filter - 10; policy accept; }\n";
    text += "flush chain " + chain + "\n";
    text += "add rule " + chain + " ip saddr @blocked4 drop\n";
    text += "add rule " + chain + " ip6 saddr @blocked6 drop\n";
  }
  return text;
}

#ifdef VIGIL_HAVE_LIBNFTABLES
// Runs `commands` as one nftables transaction; returns the error output on failure.
Status RunNft(const std::string& commands) {
  nft_ctx* context = nft_ctx_new(NFT_CTX_DEFAULT);
  if (context == nullptr) return Status::Internal("nft_ctx_new failed");
  nft_ctx_buffer_output(context);
  nft_ctx_buffer_error(context);
  const int result = nft_run_cmd_from_buffer(context, commands.c_str());
  std::string error = nft_ctx_get_error_buffer(context);
  nft_ctx_free(context);
  if (result != 0) return Status::IoError(std::string(Trim(error)));
  return Status::Ok();
}
#else
Status RunNft(const std::string&) {
  return Status::Unsupported(
      "this Vigil was built without libnftables; use the program "
      "firewall-drop instead of builtin:firewall-drop");
}
#endif

}  // namespace

bool IsBuiltinExecutable(std::string_view executable) {
  return executable.rfind("builtin:", 0) == 0;
}

Expected<FirewallSettings> ReadFirewallSettings(const std::string& path) {
  FirewallSettings settings;
  if (!FileExists(path)) return settings;
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  static const std::regex kTableName("[A-Za-z0-9_-]{1,64}");
  int line_number = 0;
  for (std::string_view rest = *text; !rest.empty();) {
    const size_t end = rest.find('\n');
    std::string_view line = Trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const size_t equals = line.find('=');
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (equals == std::string_view::npos) {
      return Status::ParseError(where + "expected key=value");
    }
    const std::string key(Trim(line.substr(0, equals)));
    const std::string value(Trim(line.substr(equals + 1)));
    uint64_t number = 0;
    if (key == "table") {
      if (!std::regex_match(value, kTableName)) {
        return Status::ParseError(where + "invalid table name '" + EscapeForLog(value) + "'");
      }
      settings.table = value;
    } else if (key == "ipv6_prefix") {
      if (!ParseUint(value, &number) || number < 1 || number > 128) {
        return Status::ParseError(where + "ipv6_prefix must be 1 to 128");
      }
      settings.ipv6_prefix = static_cast<int>(number);
    }
    // Other keys (backend=) belong to the shipped program and do not apply here.
  }
  return settings;
}

ProgramResult RunBuiltinFirewallDrop(const ExecRequest& request, int timeout_seconds,
                                     const FirewallSettings& settings) {
  static std::mutex mu;
  ProgramResult result;
  const auto start = std::chrono::steady_clock::now();
  auto address = ParseSourceAddress(request.srcip);
  if (!address.ok()) {
    result.exit_status = 1;
    result.stderr_text = address.status().message();
    return result;
  }
  const IpNetwork network = ToBlockNetwork(*address, settings.ipv6_prefix);
  const std::string target = network.prefix_length == (address->is_v6 ? 128 : 32)
                                 ? address->ToString()
                                 : network.ToString();
  const std::string set = "inet " + settings.table + (address->is_v6 ? " blocked6" : " blocked4");
  std::string element = target;
  if (timeout_seconds > 0) element += " timeout " + std::to_string(timeout_seconds) + "s";

  std::lock_guard lock(mu);
  Status status;
  if (request.action == Action::kAdd) {
    // Add, delete and add again in one transaction: an existing element is replaced, which
    // renews its timeout, and a missing one is added. A missing table is created first.
    const std::string commands = "add element " + set + " { " + target + " }\n" +
                                 "delete element " + set + " { " + target + " }\n" +
                                 "add element " + set + " { " + element + " }\n";
    status = RunNft(commands);
    if (!status.ok() && status.code() != StatusCode::kUnsupported) {
      status = RunNft(TableCommands(settings.table) + commands);
    }
  } else {
    status = RunNft("delete element " + set + " { " + target + " }\n");
    const std::string& error = status.message();
    if (!status.ok() && (error.find("does not exist") != std::string::npos ||
                         error.find("No such file") != std::string::npos)) {
      result.stderr_text = target + " was not blocked (expired, removed by hand, or no table)";
      status = Status::Ok();
    }
  }
  result.exit_status = status.ok() ? 0 : 1;
  if (!status.ok()) result.stderr_text = status.message();
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return result;
}

}  // namespace vigil::response
