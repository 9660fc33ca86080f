#include "db/QueueAge.h"

#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include "db/Database.h"
#include "db/MessageRecord.h"

using namespace Poco::Data::Keywords;

namespace bccsink::db {

std::string QueueAge::oldestWaiting(const std::string& sink) {
  // One MIN per state: each is the first entry of the index range (state, sink), where one
  // MIN over `state IN (...)` may read the ranges through.
  std::string pending = state::kPending, analyzing = state::kAnalyzing, s1 = sink, s2 = sink;
  Poco::Nullable<std::string> oldest;
  db_.session() << db_.sql(
      "SELECT MIN(oldest) FROM ("
      "SELECT MIN(received_at) AS oldest FROM messages WHERE state = ? AND sink = ?"
      " UNION ALL "
      "SELECT MIN(received_at) AS oldest FROM messages WHERE state = ? AND sink = ?"
      ") AS waiting"),
      use(pending), use(s1), use(analyzing), use(s2), into(oldest), now;
  return oldest.isNull() ? std::string() : oldest.value();
}

std::int64_t QueueAge::countWaiting(const std::string& sink, const std::string& fromIso,
                                    const std::string& toIso) {
  std::string pending = state::kPending, analyzing = state::kAnalyzing, s = sink, from = fromIso,
              to = toIso;
  Poco::Int64 n = 0;
  db_.session() << db_.sql(
      "SELECT COUNT(*) FROM messages WHERE state IN (?, ?) AND sink = ?"
      " AND received_at >= ? AND received_at < ?"),
      use(pending), use(analyzing), use(s), use(from), use(to), into(n), now;
  return n;
}

}  // namespace bccsink::db
