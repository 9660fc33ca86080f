// `bccsink db copy`: a sink moving up from SQLite to PostgreSQL (sink/DbCopy.h does the copy).

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "base/Text.h"
#include "db/Database.h"
#include "db/DatabaseUrl.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/DataDirLock.h"
#include "sink/DbCopy.h"

namespace bccsink {
namespace {

const char* kHelp =
    "usage: bccsink db copy [--from sqlite:PATH] [--to postgresql://...] [--merge]\n"
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
    "               had: SinkName, else BccHostname); with --merge, only the rows it adds\n";

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

}  // namespace

int runDb(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"merge"}, {"from", "to", "sink", "batch"});
    if (cl.help || cl.positional.size() != 1 || cl.positional[0] != "copy") {
      std::cout << kHelp;
      return cl.help ? 0 : 2;
    }
    return copy(cl);
  });
}

}  // namespace bccsink
