#pragma once
// The YARA rules of etc/rules, compiled into bccsink by CMake (ShippedRules.cpp is
// generated in the build folder), so that a fresh installation has verdicts without any
// file to find. YaraRules names a folder to use instead.

#include <string>
#include <utility>
#include <vector>

namespace bccsink::sandbox {

// (file name, rule text), sorted by file name.
const std::vector<std::pair<std::string, std::string>>& shippedRules();

}  // namespace bccsink::sandbox
