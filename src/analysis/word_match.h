// Group-name matching for <if_group>, <if_matched_group> and response groups.
#pragma once

#include <string_view>

namespace vigil::analysis {

// Returns true when `pattern` matches inside `text` as OSSEC's group matching does:
// case-insensitive substring, `|` separates alternatives, a leading `^` anchors an
// alternative at the start. `$` has no special meaning.
bool WordMatch(std::string_view pattern, std::string_view text);

}  // namespace vigil::analysis
