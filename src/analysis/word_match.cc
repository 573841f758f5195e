#include "analysis/word_match.h"

#include <algorithm>

namespace vigil::analysis {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool WordMatch(std::string_view pattern, std::string_view text) {
  while (true) {
    size_t bar = pattern.find('|');
    std::string_view alternative = pattern.substr(0, bar);
    if (!alternative.empty()) {
      if (alternative[0] == '^') {
        alternative.remove_prefix(1);
        if (text.size() >= alternative.size() &&
            EqualsIgnoreCase(text.substr(0, alternative.size()), alternative)) {
          return true;
        }
      } else {
        auto it = std::search(text.begin(), text.end(), alternative.begin(), alternative.end(),
                              [](char a, char b) { return Lower(a) == Lower(b); });
        if (it != text.end()) return true;
      }
    }
    if (bar == std::string_view::npos) return false;
    pattern.remove_prefix(bar + 1);
  }
}

}  // namespace vigil::analysis
