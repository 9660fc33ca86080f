#pragma once
// How the tasks of vxCube become one verdict for the file.

#include <functional>
#include <string>
#include <vector>

#include "sandbox/analyzers/Verdict.h"
#include "sandbox/analyzers/vxcube/VxcubeObjects.h"
#include "sandbox/analyzers/vxcube/VxcubeSettings.h"

namespace bccsink::sandbox {

// The file's verdict from its tasks (../shared/vxcube-api.md, "How bccsink uses it" 5): the
// worst task decides; malware1/2 or maliciousness >= dangerousThreshold is dangerous,
// suspicious1/2 or >= suspiciousThreshold suspicious, else clean. A failed task, or a
// successful one without maliciousness or a telling verdict word, is unknown: never clean,
// so a file whose other tasks are clean is Unscanned, and one whose tasks all failed is
// Unscanned with the server's messages. Threats are the malicious and suspicious rule
// names; taskId and reportUrl are the deciding task's; reason lists every task with its
// report link.
Verdict vxcubeVerdict(const std::vector<VxTask>& tasks, const VxcubeSettings& settings,
                      const std::function<std::string(const std::string&)>& reportUrl);

}  // namespace bccsink::sandbox
