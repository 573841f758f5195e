// Decoders written in code rather than XML, named by a decoder's <plugin_decoder>: the four
// formats OSSEC's stock decoder.xml hands to a plugin.
#pragma once

#include <string_view>

#include "analysis/event.h"

namespace vigil::analysis {

enum class Plugin : uint8_t {
  kNone,
  kPf,          // OpenBSD pf log lines
  kSymantecWs,  // Symantec Web Security comma-separated records
  kSonicWall,   // SonicWall `key=value` firewall records
  kOssecAlert,  // alerts of another OSSEC (or Vigil) server forwarded by syslog
};

// Parses a <plugin_decoder> name ("PF_Decoder", ...); false when unknown.
bool ParsePluginName(std::string_view name, Plugin* plugin);

// Decodes event->log() with `plugin`, setting fields. Formats that do not parse leave the
// event with the fields set so far, as OSSEC's plugins do. The SonicWall plugin may change
// event->category; the OSSEC alert plugin replaces full_log, location and hostname with those
// of the forwarded alert and sets event->generated_rule_id.
void RunPlugin(Plugin plugin, Event* event);

}  // namespace vigil::analysis
