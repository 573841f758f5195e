// Files compiled into the binary from the repository's rules/ folder (see rules/CMakeLists.txt).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace vigil {

// Bundled files by relative name, such as "rules/sshd.xml" or "rules/vigil.conf".
const std::map<std::string, std::string_view>& BundledFiles();

// Returns the content of a bundled file, or nullptr when there is none with that name.
const std::string_view* FindBundledFile(std::string_view name);

}  // namespace vigil
