#pragma once
// What the configuration tests share.

#include <string>
#include <vector>

#include "sink/Config.h"

namespace bccsink::test {

// loadConfig's error text, or '' when it loads.
inline std::string configErrorOf(const std::string& path,
                                 const std::vector<std::string>& overrides = {}) {
  try {
    loadConfig(path, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace bccsink::test
