// `bccsink db copy`: a sink moving up from SQLite to PostgreSQL (sink/DbCopy.h does the copy).
// `bccsink db check` and `bccsink db rebuild`: a corrupt SQLite database found and replaced
// by one made from the spool (sink/DbRebuild.h; db/Health.h says when the daemon met one).

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "base/Text.h"
#include "db/Database.h"
#include "db/DatabaseUrl.h"
#include "db/Health.h"
#include "db/IntegrityCheck.h"
#include "db/Outage.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/DataDirLock.h"
#include "sink/DbCopy.h"
#include "sink/DbRebuild.h"

namespace bccsink {
namespace {

const char* kHelp =
    "usage: bccsink db check [--config FILE] [--Name value ...]\n"
    "       bccsink db rebuild [--force] [--config FILE] [--Name value ...]\n"
    "       bccsink db copy [--from sqlite:PATH] [--to postgresql://...] [--merge]\n"
    "                       [--sink NAME] [--batch N] [--config FILE] [--Name value ...]\n\n"
    "Copies a sink's queue, the files found in its messages, the verdict cache and the\n"
    "statistics from its SQLite database into another database (PostgreSQL), table by\n"
    "table in transactions of --batch rows (default 1000), then checks that each table\n"
    "holds as many rows as the source. The spool stays where it is: afterwards the same\n"
    "sink, with the same DataDir, runs with DatabaseUrl set to the destination.\n"
    "Analyses in flight (file_submissions) are not copied: their files are submitted again\n"
    "if their verdict is still missing.\n\n"
    "Stop the sink first. When the source's folder is a DataDir (it holds bccsink.lock),\n"
    "the copy takes its lock and refuses to run beside a daemon.\n\n"
    "  --from URL   default: sqlite:DataDir/bccsink.db of the configuration\n"
    "  --to URL     default: the configuration's DatabaseUrl when it is postgresql://\n"
    "               (its DatabasePasswordFile then gives the password; else PGPASSWORD\n"
    "               or ~/.pgpass)\n"
    "  --merge      the destination may already hold rows (another sink's, or those of a\n"
    "               copy that stopped halfway): rows already there are kept, the others\n"
    "               added. Without it a destination holding any row is refused.\n"
    "  --sink NAME  every copied message, lease and statistics interval belongs to NAME\n"
    "               (the SinkName this sink will run with; the old rows carry the one it\n"
    "               had: SinkName, else BccHostname); with --merge, only the rows it adds\n\n"
    "check: SQLite's integrity_check of DataDir/bccsink.db; exit 0 when sound, 1 with the\n"
    "first problems when damaged (the daemon then answers 451 and logs it once). It may run\n"
    "beside the daemon. On PostgreSQL the pages are the server's to check (data checksums,\n"
    "amcheck): it only says whether the server answers.\n\n"
    "rebuild (SQLite only; stop the sink first, its DataDir lock is taken): moves the\n"
    "database aside as bccsink.db.corrupt-DATE (with its -wal and -shm), makes a new one\n"
    "and gives every live message of the spool a pending row, so it is analysed (and\n"
    "reported) again. A database that passes the check is left alone unless --force.\n";

bool isPostgres(const std::string& url) {
  return url.rfind("postgres", 0) == 0;
}

// The lock of the DataDir that holds the source database, when it is one.
std::unique_ptr<DataDirLock> lockSourceFolder(const std::string& from) {
  const auto path = db::DatabaseUrl::parse(from).sqlitePath;
  if (path.empty() || path == ":memory:") return nullptr;
  auto folder = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::exists(folder / "bccsink.lock")) return nullptr;
  return std::make_unique<DataDirLock>(folder.string());
}

int copy(const CommandLine& cl) {
  std::string from = cl.value("from"), to = cl.value("to");
  if (from.empty() || to.empty() || !cl.configPath.empty() || !cl.overrides.empty()) {
    auto cfg = loadConfig(cl.configPath, cl.overrides);
    if (from.empty()) from = "sqlite:" + cfg.dataDir + "/bccsink.db";
    if (to.empty() && isPostgres(cfg.effectiveDatabaseUrl())) to = cfg.effectiveDatabaseUrl();
  }
  if (to.empty()) {
    std::cerr << "bccsink: db copy: --to postgresql://... is missing\n\n" << kHelp;
    return 2;
  }
  if (from == to) {
    std::cerr << "bccsink: db copy: the source and the destination are the same\n";
    return 2;
  }
  DbCopyOptions options;
  options.merge = cl.has("merge");
  options.sinkName = cl.value("sink");
  if (options.sinkName.size() > 64 || hasControl(options.sinkName)) {
    std::cerr << "bccsink: db copy: --sink: at most 64 characters, no control characters\n";
    return 2;
  }
  options.batch = static_cast<std::size_t>(parseSize(cl.value("batch", "1000")));
  const auto sourcePath = db::DatabaseUrl::parse(from).sqlitePath;
  if (!sourcePath.empty() && !std::filesystem::exists(sourcePath)) {
    // Opening it would create an empty one, and copying nothing would look like success.
    std::cerr << "bccsink: db copy: no database at " << sourcePath << "\n";
    return 1;
  }
  auto lock = lockSourceFolder(from);
  db::Database source(from);
  db::Database destination(to);
  std::cout << "copying " << from << " to " << db::DatabaseUrl::parse(to).shown << "\n";
  auto result = copyDatabase(source, destination, options, &std::cout);
  std::cout << "\n"
            << std::left << std::setw(20) << "table" << std::right << std::setw(10) << "source"
            << std::setw(10) << "copied";
  if (options.merge) std::cout << std::setw(10) << "present";
  std::cout << std::setw(13) << "destination"
            << "\n";
  for (const auto& t : result.tables) {
    std::cout << std::left << std::setw(20) << t.table << std::right << std::setw(10)
              << t.sourceRows << std::setw(10) << t.copied;
    if (options.merge) std::cout << std::setw(10) << t.alreadyThere;
    std::cout << std::setw(13) << t.destinationRows << (t.checked ? "" : "  MISMATCH") << "\n";
  }
  if (result.textsRepaired > 0) {
    std::cout << result.textsRepaired
              << " text values were not valid UTF-8 or held NUL: stored with U+FFFD for each"
                 " bad byte, without the NUL\n";
  }
  if (!result.ok()) {
    std::cerr << "bccsink: db copy: the destination does not hold the source's rows (see "
                 "MISMATCH above)\n";
    return 1;
  }
  std::cout << (options.merge ? "checked: every source row was added or its key was there already\n"
                              : "checked: every table holds exactly the source's rows\n");
  return 0;
}

std::string sqlitePathOf(const Config& cfg) {
  return db::DatabaseUrl::parse(cfg.effectiveDatabaseUrl()).sqlitePath;
}

// integrity_check of a database that need not open cleanly.
db::IntegrityReport integrityOf(const std::string& url) {
  try {
    db::Database database(url);
    return db::checkIntegrity(database, db::IntegrityDepth::Full, 20);
  } catch (const std::exception& e) {
    db::IntegrityReport r;
    r.ok = false;
    r.corrupt = db::Health::isCorruption(e);
    r.problems.push_back(oneLineUtf8(db::Outage::textOf(e), 500));
    return r;
  }
}

int check(const CommandLine& cl) {
  auto cfg = loadConfig(cl.configPath, cl.overrides);
  const auto url = cfg.effectiveDatabaseUrl();
  if (isPostgres(url)) {
    auto r = integrityOf(url);
    if (!r.ok) {
      std::cerr << "bccsink: db check: the server does not answer: " << r.problems.front() << "\n";
      return 1;
    }
    std::cout << "PostgreSQL: the server answers; its pages are its own to check (data "
                 "checksums, amcheck)\n";
    return 0;
  }
  const auto path = sqlitePathOf(cfg);
  if (!std::filesystem::exists(path)) {
    std::cerr << "bccsink: db check: no database at " << path << "\n";
    return 1;
  }
  auto r = integrityOf(url);
  if (r.ok) {
    std::cout << path << ": ok\n";
    return 0;
  }
  if (!r.corrupt) {
    std::cerr << "bccsink: db check: cannot check " << path << ": " << r.problems.front() << "\n";
    return 1;
  }
  std::cout << path << ": corrupt; the first problems SQLite found:\n";
  for (const auto& p : r.problems) std::cout << "  " << p << "\n";
  std::cout << "stop bccsink and run `bccsink db rebuild`: a new database from the spool\n";
  return 1;
}

int rebuild(const CommandLine& cl) {
  auto cfg = loadConfig(cl.configPath, cl.overrides);
  const auto url = cfg.effectiveDatabaseUrl();
  if (isPostgres(url)) {
    std::cerr << "bccsink: db rebuild: SQLite only; a PostgreSQL database is recovered with "
                 "the server's own tools (backups, PITR)\n";
    return 2;
  }
  const auto path = sqlitePathOf(cfg);
  // Beside a running daemon this would pull its database from under it.
  DataDirLock lock(cfg.dataDir);
  if (std::filesystem::exists(path) && !cl.has("force")) {
    auto r = integrityOf(url);
    if (r.ok) {
      std::cerr << "bccsink: db rebuild: " << path
                << " passes integrity_check: nothing to rebuild (--force does it anyway)\n";
      return 1;
    }
  }
  auto result = rebuildDatabase(path, cfg.spoolDir(), cfg.sinkName, &std::cout);
  for (const auto& p : result.problems) std::cout << "problem: " << p << "\n";
  std::cout << "rebuilt " << path << ": " << result.fromRecords + result.withoutEnvelope
            << " messages pending again (" << result.fromRecords << " with their envelope, "
            << result.withoutEnvelope << " without: sender unknown), " << result.deadRecords
            << " dead records skipped\n";
  return 0;
}

}  // namespace

int runDb(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"merge", "force"}, {"from", "to", "sink", "batch"});
    const std::string what = cl.positional.size() == 1 ? cl.positional[0] : "";
    if (cl.help || (what != "copy" && what != "check" && what != "rebuild")) {
      std::cout << kHelp;
      return cl.help ? 0 : 2;
    }
    if (what == "check") return check(cl);
    if (what == "rebuild") return rebuild(cl);
    return copy(cl);
  });
}

}  // namespace bccsink
