#include "sandbox/analyzers/BlockingAnalyzer.h"

#include <utility>

namespace bccsink::sandbox {

void BlockingAnalyzer::analyze(const Submission& file, std::function<void(Verdict)> done) {
  done(scan(file, std::stop_token{}));
}

}  // namespace bccsink::sandbox
