#pragma once
// The container tests' marker payload, hidden in each container and expected back by name
// and path, and the container they sit in (test/sandbox/Collect.h collects what comes out).

#include <string>

#include "sandbox/extract/FoundFile.h"

namespace bccsink::test::containers {

// Not the EICAR string itself (an antivirus on the build machine would quarantine the
// test), but as long and as distinctive.
inline const std::string kContainerMarker =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$BCCSINK-CONTAINER-MARKER-TEST-FILE!$H+H*";

inline sandbox::FoundFile containerNamed(const std::string& name) {
  sandbox::FoundFile f;
  f.name = name;
  f.where = {"mail.eml"};
  return f;
}

}  // namespace bccsink::test::containers
