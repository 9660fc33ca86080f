#pragma once
// A SQLite database with judged messages received minutes ago, each carrying one file, and
// the content store holding the files: what RetroJudge and RecheckStage work on.

#include <Poco/Data/Statement.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <memory>
#include <string>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "sandbox/ContentStore.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

namespace bccsink::test {

inline std::string minutesAgo(int minutes) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp((nowMs() - minutes * 60'000LL) * 1000),
                                         "%Y-%m-%dT%H:%M:%S.%iZ");
}

// A 64-hex digest made of `c`.
inline std::string digestOf(char c) {
  return std::string(64, c);
}

class RetroWorld {
 public:
  RetroWorld()
      : url_("sqlite:" + (dir_ / "bccsink.db")),
        db_(std::make_unique<db::Database>(url_)),
        store_(dir_ / "files") {
    db_->migrate();
  }
  db::Database& db() { return *db_; }
  const std::string& url() const { return url_; }
  const sandbox::ContentStore& store() const { return store_; }

  // Message `id` of `sink`, received `minutes` ago, carrying the file `sha256` (kept in the
  // store unless `stored` is false), judged with `verdict` (file and message alike).
  void message(const std::string& id, int minutes, const std::string& sha256,
               const std::string& verdict = "clean", const std::string& sink = "sink-a",
               bool stored = true) {
    using namespace Poco::Data::Keywords;
    db::FileRepository(*db_).recordSeen(
        {{sha256, "md5-" + id, 5, "application/octet-stream", "data", "other"}}, isoNow());
    if (stored) store_.put(sha256, "bytes of " + sha256);
    db::MessageQueue(*db_).insertPending({sampleRecord(id, minutesAgo(minutes), sink)});
    db::MessageFile f;
    f.sha256 = sha256;
    f.name = "a.bin";
    f.path = "a.bin";
    f.extension = "bin";
    f.size = 5;
    f.selected = true;
    f.verdict = verdict;
    db::MessageFiles(*db_).save(id, {f}, "", isoNow());
    std::string i = id, v = verdict;
    db_->session() << "UPDATE messages SET state = 'reported', verdict = ?,"
                      " checked_at = received_at WHERE id = ?",
        use(v), use(i), now;
  }

  std::string scalar(const std::string& q) {
    using namespace Poco::Data::Keywords;
    std::string out;
    db_->session() << q, into(out), now;
    return out;
  }

 private:
  TempDir dir_;
  std::string url_;
  std::unique_ptr<db::Database> db_;
  sandbox::ContentStore store_;
};

}  // namespace bccsink::test
