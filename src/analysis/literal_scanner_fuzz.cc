// Compares the literal scanner, with each filter loop this CPU runs, with a plain search. The
// input is literals, one per line, then an empty line, then the text (a log line from the
// network, in the engine).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/literal_scanner.h"
#include "common/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find("\n\n");
  if (split == std::string_view::npos) return 0;
  std::vector<std::string> literals;
  for (std::string_view rest = input.substr(0, split); !rest.empty();) {
    size_t end = rest.find('\n');
    literals.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  std::string_view text = input.substr(split + 2);
  using vigil::analysis::LiteralScanner;
  LiteralScanner scanner(literals);
  std::string lower = vigil::ToLower(text);
  for (LiteralScanner::Isa isa : {LiteralScanner::Isa::kScalar, LiteralScanner::Isa::kAvx2}) {
    if (!LiteralScanner::Supports(isa)) continue;
    std::vector<uint64_t> bits((literals.size() + 63) / 64, 0);
    scanner.ScanWith(isa, text, bits.data());
    for (size_t i = 0; i < literals.size(); ++i) {
      const std::string& literal = literals[i];
      bool usable = literal.size() >= LiteralScanner::kMinLiteralBytes &&
                    vigil::IsAsciiText(literal) && vigil::ToLower(literal) == literal;
      bool expected = usable && lower.find(literal) != std::string::npos;
      bool found = (bits[i / 64] >> (i % 64)) & 1;
      if (found != expected) std::abort();
    }
  }
  return 0;
}
