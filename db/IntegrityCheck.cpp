#include "db/IntegrityCheck.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include "base/Text.h"
#include "db/Database.h"
#include "db/Health.h"

namespace bccsink::db {

IntegrityReport checkIntegrity(Database& db, IntegrityDepth depth, int maxProblems) {
  using namespace Poco::Data::Keywords;
  IntegrityReport report;
  try {
    if (db.engine() != Engine::Sqlite) {
      int one = 0;
      db.session() << "SELECT 1", into(one), now;
      return report;
    }
    std::vector<std::string> lines;
    const std::string pragma = depth == IntegrityDepth::Quick ? "quick_check" : "integrity_check";
    db.session() << "PRAGMA " + pragma + "(" + std::to_string(maxProblems) + ")", into(lines), now;
    if (lines.size() == 1 && lines.front() == "ok") return report;
    report.ok = false;
    report.corrupt = true;
    for (const auto& l : lines) report.problems.push_back(oneLineUtf8(l, 500));
    if (report.problems.empty()) report.problems.push_back("the check returned nothing");
  } catch (const Poco::Exception& e) {
    report.ok = false;
    report.corrupt = Health::isCorruption(e);
    report.problems.push_back(oneLineUtf8(e.displayText(), 500));
  } catch (const std::exception& e) {
    report.ok = false;
    report.corrupt = Health::isCorruption(e);
    report.problems.push_back(oneLineUtf8(e.what(), 500));
  }
  return report;
}

}  // namespace bccsink::db
