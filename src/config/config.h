// Vigil's typed configuration, loaded from files in OSSEC's ossec.conf format.
//
// Every path in a loaded Config is already resolved against the folder of the file that named
// it. Numbers carry their unit in the field name or comment.
//
// How relative paths resolve ("config folder" is the folder of the config file):
//   - <include> and <rule> names without '/' are looked up in the config folder's rules/
//     subfolder, then in the config folder itself (the bundled ruleset keeps them there).
//   - Every other path resolves against the config folder. OSSEC writes <decoder>, <list>,
//     <rule_dir>, <decoder_dir> and <include> paths with '/' relative to its install folder,
//     so for those, when the config folder is named `etc` and the path exists only under its
//     parent, the parent is used.
//
// Elements that Vigil adds to the OSSEC format:
//   <paths>: <state_dir>, <output_dir>, <responses_dir> (see PathsConfig).
//   <command>: <json_stdin>yes|no</json_stdin>, <refresh_on_extend>yes|no</refresh_on_extend>.
//   <active-response>: <name>, <simulate>yes|no</simulate>, <repeated_offenders>.
//   <client>: <server>HOST:PORT</server>, repeatable (ClientConfig::server_addresses). Wazuh's
//     <server><address>HOST</address><port>N</port></server> is accepted too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vigil::config {

// Where in which file a configuration element was written, for later error messages.
struct SourceRef {
  std::string file;
  int line = 0;
};

struct GlobalConfig {
  bool logall = false;          // write every event to archives.log
  bool logall_json = false;     // write every event to archives.json
  bool jsonout_output = false;  // write alerts.json beside alerts.log
  bool email_notification = false;
  // Addresses, CIDR ranges and host names never acted on by active response
  // (<white_list> and its alias <allow_list>), as written.
  std::vector<std::string> allow_list;
  int memory_size = 8192;  // events kept in the global correlation history
  std::string custom_alert_output;
  // MaxMind DB (.mmdb) for srcgeoip and dstgeoip (<geoipdb>, alias <geoip_db_path>), resolved
  // against the config folder; empty when not set.
  std::string geoip_db;
  SourceRef geoip_db_source;
};

// One <list> of <rules>: a text CDB source `key:value` per line.
struct ListRef {
  std::string path;  // the text file; when it is absent, the compiled path + ".cdb" is read
  SourceRef source;
};

struct RulesConfig {
  // Decoder files in load order: <decoder> and <decoder_dir> in document order. When neither
  // is configured, the loader adds decoder.xml and local_decoder.xml from the config folder
  // when they exist, as OSSEC loads etc/decoder.xml and etc/local_decoder.xml.
  std::vector<std::string> decoder_files;
  // Rule files in load order: <include>, <rule> and <rule_dir> in document order, where each
  // <rule_dir> adds its matching files sorted by name. A file is listed once.
  std::vector<std::string> rule_files;
  std::vector<ListRef> lists;
  SourceRef source;
};

struct AlertsConfig {
  int log_alert_level = 1;    // rules at or above this level are written to alerts.log
  int email_alert_level = 7;  // rules at or above this level get the " mail " mark
};

// One <localfile>.
struct LocalFileConfig {
  std::string location;  // path, glob or strftime template; empty for commands
  std::string command;   // for command and full_command formats
  std::string log_format = "syslog";
  // Attributes of <log_format>, such as lines="3" or timeout="2s", as written.
  std::map<std::string, std::string> format_options;
  std::string alias;            // replaces the location of command output
  int frequency_seconds = 360;  // interval between runs of a command
  bool only_future_events = false;
  std::string query;  // eventchannel XPath query, as written
  SourceRef source;
};

// One <command> of active response.
struct CommandConfig {
  std::string name;
  std::string executable;  // a file name in the responses folder, never a path
  bool expect_srcip = false;
  bool expect_user = false;
  bool expect_filename = false;
  bool timeout_allowed = false;
  bool json_stdin = false;  // send Wazuh's JSON message on the script's standard input
  // Run "add" again when a pending block is extended or escalated, so a program that gives
  // its block its own expiry (VIGIL_AR_TIMEOUT) can renew it. Only for idempotent programs.
  bool refresh_on_extend = false;
  SourceRef source;
};

enum class ResponseLocation : unsigned {
  kNone = 0,
  kServer = 1 << 0,        // the manager itself (OSSEC's AS_ONLY: server, analysisd)
  kLocal = 1 << 1,         // the agent (or host) where the event happened
  kDefinedAgent = 1 << 2,  // the agent named by agent_id
  kAll = 1 << 3,           // every agent
};

// One <active-response>. Entries with `disabled` set are kept for `vigil check` and must be
// skipped by everything that runs responses.
struct ActiveResponseConfig {
  std::string name;        // `name` element, or OSSEC's <command><timeout> when absent
  std::string command;     // names a CommandConfig
  unsigned locations = 0;  // bit set of ResponseLocation
  std::string agent_id;
  std::vector<int> rules_id;
  std::vector<std::string> rules_group;  // whole group names
  std::optional<int> level;              // rules at or above this level trigger the response
  int timeout_seconds = 0;               // 0: never undone
  bool disabled = false;
  bool simulate = false;  // log what would run without running it
  std::vector<int> repeated_offenders_minutes;
  SourceRef source;
};

// One <remote>: an agent port ("secure") or a syslog input ("syslog"). Several are allowed;
// two that would bind the same port, address and transport are rejected.
struct RemoteConfig {
  std::string connection = "secure";  // "secure" or "syslog"
  int port = 1514;                    // 514 for syslog when not written
  // "tcp", "udp" or "tcp,udp". Syslog defaults to "udp"; agents always connect over TCP, so
  // a secure remote's value is kept for `vigil check` and otherwise ignored.
  std::string protocol = "tcp";
  std::string local_ip;  // the address to bind; empty: every address ("::" with ipv6)
  // Addresses and CIDR networks. A peer in denied_ips is rejected; when allowed_ips is not
  // empty, only peers in it are accepted. A syslog remote requires allowed_ips.
  std::vector<std::string> allowed_ips;
  std::vector<std::string> denied_ips;
  bool ipv6 = false;  // bind "::" when local_ip is empty
  SourceRef source;
};

struct ClientConfig {
  std::vector<std::string> server_addresses;  // HOST:PORT, tried in order for failover
  int notify_time_seconds = 60;               // keepalive interval
  bool disable_active_response = false;
  // Seconds without a reply from the server before the agent reconnects; 0 means three times
  // notify_time_seconds.
  int time_reconnect_seconds = 0;
  std::string local_ip;
  std::string config_profile;  // profile names for agent.conf, as written
  SourceRef source;
};

// Values from internal_options.conf that Vigil uses, with OSSEC's defaults and ranges.
struct InternalOptions {
  int loop_timeout_seconds = 2;   // logcollector.loop_timeout, 1 to 120
  int default_timeframe = 360;    // analysisd.default_timeframe, 60 to 604800
  int decoder_order_size = 10;    // analysisd.decoder_order_size, 8 to 20
  int fts_list_size = 32;         // analysisd.fts_list_size, 12 to 512
  int fts_min_size_for_str = 14;  // analysisd.fts_min_size_for_str, 6 to 128
};

// Folders for state and output. They come from the config or flags, never a fixed root.
// Written as <paths><state_dir>DIR</state_dir><output_dir>DIR</output_dir>
// <responses_dir>DIR</responses_dir></paths>. A folder not configured is empty.
struct PathsConfig {
  std::string state_dir;      // positions, queues, pending responses
  std::string output_dir;     // alerts.log, alerts.json, archives
  std::string responses_dir;  // active response executables
};

struct Config {
  std::string path;  // the main config file, or "<bundled>/rules/vigil.conf"
  GlobalConfig global;
  RulesConfig rules;
  AlertsConfig alerts;
  std::vector<LocalFileConfig> localfiles;
  std::vector<CommandConfig> commands;
  std::vector<ActiveResponseConfig> active_responses;
  std::vector<RemoteConfig> remotes;
  std::optional<ClientConfig> client;
  InternalOptions internal;
  PathsConfig paths;
  // Problems that do not stop loading, each starting with "FILE:LINE: ". There is one per
  // OSSEC section or element that Vigil accepts but does not implement, such as
  // "ossec.conf:12: <syscheck> is not supported by Vigil and is ignored", and one per
  // repeated rule file, decoder file or log location and per response that can never run.
  std::vector<std::string> warnings;
};

}  // namespace vigil::config
