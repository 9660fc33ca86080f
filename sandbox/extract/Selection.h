#pragma once
// Which files go to the analyzers: the administrator's VxcubeFileTypes (true-type families
// and extensions) and VxcubeMaxFileSize, applied once in front of every backend. A file is
// selected when its true family or its extension is listed, and it is not too big.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "sandbox/extract/FileType.h"

namespace bccsink::sandbox {

struct SelectionRules {
  std::set<std::string> families;    // e.g. {"pe","msi","ole-office","ooxml-macro",...}
  std::set<std::string> extensions;  // lowercase without dot, e.g. {"js","vbs","hta"}
  std::uint64_t maxFileSize = 0;     // 0 = no limit (VxcubeMaxFileSize)
};

// Parses VxcubeFileTypes: a comma/space separated list of family names and extensions
// written with a leading dot (".js"), case-insensitive. A blank list selects nothing.
// Throws std::invalid_argument naming the bad entry (unknown family, an extension with
// characters other than letters, digits, '-' and '_') or the entry before an empty one;
// the message leaves naming the option to the caller.
SelectionRules parseSelection(const std::string& fileTypes, std::uint64_t maxFileSize);

// The shipped default for VxcubeFileTypes: what mail attackers send. Selection.cpp says why
// each entry is there.
const char* defaultFileTypes();

// Every family name a TrueType can carry (see TrueType::family).
const std::set<std::string>& knownFamilies();

struct SelectionDecision {
  bool selected = false;
  // When not selected: "type not selected" or "over VxcubeMaxFileSize (N bytes)", N being
  // the limit. Empty when selected.
  std::string reason;
};

// `extension` as extensionOf() (base/FileName.h) gives it; `size` in bytes. The type is looked at
// before the size, so a file that would never be sent is "type not selected" whatever its size.
SelectionDecision select(const SelectionRules& rules, const TrueType& type,
                         std::string_view extension, std::uint64_t size);

}  // namespace bccsink::sandbox
