// `bccsink serve`: wires configuration, database, spool, committer, listener and the
// analysis workers and the reporter, and with SmtpSocket SMTP mode's listener and hold
// stage, then waits for SIGTERM or SIGINT.

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/PatternFormatter.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/DatabaseUrl.h"
#include "db/Health.h"
#include "db/IntegrityCheck.h"
#include "db/MessageQueue.h"
#include "db/Outage.h"
#include "db/ReportQueue.h"
#include "db/SpoolRows.h"
#include "report/Reporter.h"
#include "report/http/HttpServer.h"
#include "report/stats/StatsCollector.h"
#include "report/stats/StatsQuery.h"
#include "sandbox/Pipeline.h"
#include "sandbox/retro/RecheckStage.h"
#include "sandbox/retro/RetroJudge.h"
#include "sandbox/slo/SloWatch.h"
#include "sandbox/slo/TimeToVerdict.h"
#include "sink/AnalysisSetup.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/DataDirLock.h"
#include "sink/Metrics.h"
#include "sink/PrivilegeDrop.h"
#include "sink/ReportSetup.h"
#include "sink/StageSettings.h"
#include "sink/hold/HoldStage.h"
#include "sink/retention/RetentionStage.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/SmtpServer.h"
#include "sink/smtp/Spool.h"

namespace bccsink {
namespace {

void setUpLogging(const std::string& level) {
  Poco::AutoPtr<Poco::PatternFormatter> format(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %q %s: %t"));
  Poco::AutoPtr<Poco::FormattingChannel> channel(
      new Poco::FormattingChannel(format, new Poco::ConsoleChannel(std::clog)));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(level);
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

// The database, its schema brought up to date. A PostgreSQL server that cannot be reached
// (the machine booted before the database host, the server restarts) is waited for: a line
// every 5 s with libpq's reason, until it answers or a stop signal comes (null then).
// Waiting, not failing, because the daemon then behaves as when the server goes away later
// (the MTA keeps the copies and tries again: here nothing listens yet), without depending
// on a supervisor's restart policy; a wrong host, user or password shows as the same
// repeated line. Any other error (a SQLite path that cannot be opened, a failed migration)
// stops start-up at once.
std::unique_ptr<db::Database> openDatabase(const Config& cfg, const sigset_t& stopSignals,
                                           Poco::Logger& log) {
  constexpr int kRetrySeconds = 5;
  const auto since = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    try {
      auto database = std::make_unique<db::Database>(cfg.effectiveDatabaseUrl());
      if (database->engine() == db::Engine::Sqlite) {
        // Damaged pages found now, not by the first message (db/Health.h): quick_check
        // reads every page once (0.8 to 1.4 s for 500 MB here, the file in the page cache).
        auto integrity = db::checkIntegrity(*database, db::IntegrityDepth::Quick, 3);
        if (integrity.corrupt) {
          db::Health::process().setCorrupt(integrity.problems.front());
          return database;
        }
      }
      try {
        database->migrate();
      } catch (const std::exception& e) {
        if (!db::Health::process().noteFailure(e)) throw;
        return database;
      }
      if (attempt > 1) {
        const auto waited = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - since);
        log.notice("database: reached after %s s, starting", std::to_string(waited.count()));
      }
      return database;
    } catch (const db::DatabaseUnavailable& e) {
      log.error("cannot start yet (attempt %d, again in %d s; SIGTERM stops): %s", attempt,
                kRetrySeconds, db::Outage::textOf(e));
    } catch (const std::exception& e) {
      // A file SQLite cannot open at all ("file is not a database": its first page is
      // damaged): nothing can run, but the advice is logged before the daemon stops.
      db::Health::process().noteFailure(e);
      throw;
    }
    timespec pause{kRetrySeconds, 0};
    const int sig = sigtimedwait(&stopSignals, nullptr, &pause);
    if (sig == SIGTERM || sig == SIGINT) {
      log.notice("signal %d while waiting for the database: stopping", sig);
      return nullptr;
    }
  }
}

// Test hooks: the spool's free bytes as retention (BCCSINK_TEST_FREE_SPACE,
// test/integration/t-17-retention) or the intake (BCCSINK_TEST_INTAKE_FREE_SPACE,
// t-18-health) reads them, to show disk pressure without filling a disk: a number, or the
// path of a file holding one, read at each look (a test lowers it during a DATA). Null
// when unset.
std::function<std::uint64_t()> testFreeSpace(const char* variable, Poco::Logger& log) {
  const char* fake = std::getenv(variable);
  if (!fake || !*fake) return nullptr;
  std::string value = fake;
  log.warning("%s set: free space read as %s bytes (tests only)", std::string(variable), value);
  if (value.front() != '/') {
    const auto bytes = std::strtoull(fake, nullptr, 10);
    return [bytes] { return bytes; };
  }
  return [value] {
    std::ifstream in(value);
    std::uint64_t bytes = 0;
    in >> bytes;
    return bytes;
  };
}

// Brings the data folder back to a state the queue can trust after any stop.
// "7d", "2s", "forever": a keep time for the start-up line.
std::string keepText(std::chrono::seconds keep) {
  if (keep.count() == 0) return "forever";
  if (keep.count() % 86400 == 0) return std::to_string(keep.count() / 86400) + "d";
  return std::to_string(keep.count()) + "s";
}

void recover(db::Database& database, Spool& spool, Poco::Logger& log) {
  db::MessageQueue queue(database);
  int released = queue.releaseExpiredLeases(nowMs());
  if (released > 0) log.notice("recovery: %d interrupted messages returned to pending", released);
  // Nothing the spool drops or marks was acknowledged with 250: files still named *.tmp,
  // a torn tail, records whose rows were never committed. The MTA still holds those
  // messages and sends them again. Each is named in the log.
  db::SpoolRows rows(database);
  auto r =
      spool.recover([&rows](const std::vector<std::string>& ids) { return rows.locatorsOf(ids); });
  for (const auto& name : r.removedTemporaries) {
    log.notice("recovery: removed unfinished spool/%s (never acknowledged)", name);
  }
  if (!r.droppedTail.empty())
    log.notice("recovery: dropped the torn tail of spool/%s", r.droppedTail);
  for (const auto& locator : r.markedDead) {
    log.notice("recovery: marked spool/%s dead (no row: never acknowledged)", locator);
  }
  for (const auto& problem : r.problems) log.error("recovery: spool/%s", problem);
  log.information("recovery: appending to spool/%s at offset %s", r.segment,
                  std::to_string(r.tail));
}

}  // namespace

int runServe(const std::vector<std::string>& args) {
  Config cfg;
  try {
    auto cl = parseCommandLine(args, {}, {});
    if (cl.help) {
      std::cout << "usage: bccsink serve [--config FILE] [--Name value ...]\n\n"
                   "Runs the SMTP listener in the foreground until SIGTERM or SIGINT.\n\n"
                << configHelp();
      return 0;
    }
    cfg = loadConfig(cl.configPath, cl.overrides);
  } catch (const std::exception& e) {
    std::cerr << "bccsink: " << e.what() << "\n";
    return 2;
  }
  // Started as root with User set: the account now, so that a missing user stops the start
  // before anything is made; not root: User does not apply.
  std::optional<Account> account;
  if (::geteuid() == 0 && !cfg.user.empty()) {
    try {
      account = lookUpAccount(cfg.user);
      // A DataDir behind a folder the user may not search (/root/...) is refused now, with
      // the folder named, rather than as a permission error after the switch.
      if (auto why = whyUnreachable(cfg.dataDir, *account, false); !why.empty()) {
        throw std::runtime_error("User " + cfg.user + " cannot reach DataDir " + cfg.dataDir +
                                 ": " + why +
                                 "; move DataDir (e.g. /var/lib/bccsink) or set "
                                 "User = '' to stay root (not advised)");
      }
    } catch (const std::exception& e) {
      std::cerr << "bccsink: " << e.what() << "\n";
      return 1;
    }
  }
  // One daemon per data folder, locked before recovery touches anything and held until
  // exit: a second one would remove the first one's unfinished spool files.
  std::unique_ptr<DataDirLock> dataDirLock;
  try {
    std::filesystem::create_directories(cfg.dataDir);
    dataDirLock = std::make_unique<DataDirLock>(cfg.dataDir);
  } catch (const std::exception& e) {
    std::cerr << "bccsink: " << e.what() << "\n";
    return 1;
  }
  setUpLogging(cfg.logLevel);
  auto& log = Poco::Logger::get("bccsink");
  for (const auto& w : cfg.warnings) log.warning("%s", w);
  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  // BccExtractIsolation: the parser master is forked here, while this process has one
  // thread (sandbox/extract/isolation/ParserMaster.h says why that matters); it inherits
  // the blocked stop signals and ends when this process closes its socket.
  std::unique_ptr<sandbox::ParserMaster> parsers;
  if (cfg.bccExtractIsolation) {
    try {
      // Started as root, the master gives up root before it prepares anything, so no parser
      // ever runs as root (the daemon itself switches later, once its ports are bound).
      parsers = std::make_unique<sandbox::ParserMaster>(
          [&cfg, &account] {
            if (account) dropPrivileges(*account);
            return parserFor(cfg);
          },
          parserMasterSettings(cfg));
    } catch (const std::exception& e) {
      log.fatal("%s", std::string(e.what()));
      return 1;
    }
  }
  try {
    Poco::Net::initializeSSL();
    Spool spool(cfg.spoolDir(), cfg.bccSpoolSegmentSize);
    db::Health::process().setDatabaseName(db::DatabaseUrl::parse(cfg.effectiveDatabaseUrl()).shown);
    {
      auto database = openDatabase(cfg, stopSignals, log);
      if (!database) return 0;
      // A corrupt database must not steer the spool's recovery (a record whose row cannot
      // be read would be marked dead): the spool is left as it is, for `db rebuild`.
      if (!db::Health::process().corrupt()) recover(*database, spool, log);
    }
    GroupCommitter committer(cfg.effectiveDatabaseUrl(), spool);
    auto limits = intakeLimits(cfg);
    if (auto fake = testFreeSpace("BCCSINK_TEST_INTAKE_FREE_SPACE", log)) limits.freeSpace = fake;
    Intake intake(spool, committer, limits);

    // Analysis and reports: a wrong selection, hash list, template or trusted-relays file
    // stops start-up here, before the listener.
    AnalysisSetup analysis(cfg);
    ReportSetup reporting(cfg);
    sandbox::ContentStore store(cfg.dataDir + "/files");
    auto ps = pipelineSettings(cfg);
    report::Reporter reporter(reporting.reporterSettings(), reporting.templates(),
                              reporting.deliverer());
    // SMTP mode: a second intake on the same spool and committer (its own counters) and
    // the hold stage that acts on what it took.
    const bool smtpMode = !cfg.smtpSocket.empty();
    std::unique_ptr<Intake> holdIntake;
    std::unique_ptr<HoldStage> holdStage;
    if (smtpMode) {
      holdIntake = std::make_unique<Intake>(spool, committer, limits);
      holdStage = std::make_unique<HoldStage>(holdSettings(cfg));
      // A decision hands the report over; a 5xx from the relay makes it due again.
      holdStage->onReportDue([&reporter] { reporter.wake(); });
    }
    // Before the pipeline: its threads observe into it until the pipeline is gone.
    sandbox::TimeToVerdict timeToVerdict(cfg.bccVerdictSlo);
    // Retro-alerts (issue 17): an answer that turns a file worse judges again the messages
    // of BccRetroWindow that carried it (the pipeline's late answers here, the re-checks'
    // below). An alert wakes whoever sends the retro report: the reporter by default.
    sandbox::RetroJudge retro(retroSettings(cfg));
    std::function<void()> wakeRetroReport = [&reporter] { reporter.wake(); };
    retro.onAlert([&wakeRetroReport](const db::RetroOutcome&) { wakeRetroReport(); });
    std::unique_ptr<sandbox::ExtractPool> pool;
    if (parsers) pool = std::make_unique<sandbox::ExtractPool>(*parsers, extractPoolSettings(cfg));
    const sandbox::MessageExtractor& extractor =
        pool ? static_cast<const sandbox::MessageExtractor&>(*pool) : analysis.extractor();
    sandbox::Pipeline pipeline(ps, extractor, store, analysis.makeRunners());
    if (retro.enabled()) {
      pipeline.onFileVerdict([&retro](db::Database& d, const db::StoredVerdict& v) {
        retro.judge(d, v, sandbox::RetroCause::LateAnswer);
      });
    }
    // A checked message is reported at once: the pipeline's event wakes the reporter (and
    // the hold stage, whose message may now be decidable).
    HoldStage* hold = holdStage.get();
    pipeline.onFinished([&reporter, hold](const std::string&) {
      reporter.wake();
      if (hold) hold->wake();
    });
    // Time to verdict and the verdict SLO (BccVerdictSlo): each checked or failed copy is
    // observed after its commit; the SLO's warning is looked at on a thread of its own.
    pipeline.onVerdict(
        [&timeToVerdict](const std::string& id, const std::string& verdict, bool failed) {
          timeToVerdict.finished(id, verdict, failed, nowMs());
        });
    sandbox::SloWatch sloWatch({cfg.effectiveDatabaseUrl(), cfg.sinkName}, timeToVerdict.slo());
    // Re-checks: after a rules, signatures or hash list change, the kept files of the
    // window again, at BccRecheckRate.
    sandbox::RecheckStage recheck(recheckSettings(cfg), store, retro, analysis.recheckAnalyzers());
    intake.onQueued([&pipeline] { pipeline.wake(); });
    if (holdIntake) {
      holdIntake->onQueued([&pipeline, hold] {
        pipeline.wake();
        hold->wake();
      });
    }
    std::string names;
    for (const auto& n : analysis.analyzerNames()) names += (names.empty() ? "" : ", ") + n;
    log.notice("analysis: %z workers, analyzers: %s", ps.workers,
               names.empty() ? std::string("none") : names);
    if (pool) {
      log.notice("extraction: %z parser processes (seccomp), each replaced after %z messages",
                 extractPoolSettings(cfg).workers, extractPoolSettings(cfg).messagesPerWorker);
    } else {
      log.notice("extraction: in the daemon's process (BccExtractIsolation no)");
    }

    log.notice(
        "reports: %s messages to %s%s", cfg.bccReportThreshold, reporting.receiverName(),
        cfg.bccReportDigestInterval.count() > 0
            ? ", a digest every " + std::to_string(cfg.bccReportDigestInterval.count()) + " s"
            : std::string());

    // Statistics: each closed StatsInterval counted from the database on the collector's
    // own thread, stored, and POSTed to StatsExportUrl when set.
    report::StatsCollector statsCollector(statsSettings(cfg));

    // The listeners are bound (and their keys read) here, started after the switch to User.
    auto st = listenerSettings(cfg);
    st.session.counters = &intake.counters();
    SmtpServer server(st, intake);
    std::unique_ptr<SmtpServer> holdServer;
    if (smtpMode) {
      auto hst = holdListenerSettings(cfg);
      hst.session.counters = &holdIntake->counters();
      holdServer = std::make_unique<SmtpServer>(hst, *holdIntake);
    }

    // Retention (issue 17): expired content, rows and files deleted in the background,
    // started after the intake, stopped before the database goes.
    auto retention = std::make_unique<RetentionStage>(retentionSettings(cfg));
    if (auto fake = testFreeSpace("BCCSINK_TEST_FREE_SPACE", log))
      retention->setFreeSpaceForTest(fake);

    // The HTTP port: /metrics from every stage's counters, the JSON API (HttpToken) and the
    // dashboard. Logged after the SMTP line: scripts take the first "listening on" as SMTP's.
    std::unique_ptr<report::HttpServer> http;
    if (!cfg.httpSocket.empty()) {
      MetricsSources sources{&intake.counters(), &pipeline, &reporter, cfg.spoolDir(), &committer};
      if (smtpMode) {
        sources.smtpMode = &holdIntake->counters();
        sources.hold = &holdStage->counters();
      }
      sources.sink = cfg.sinkName;
      sources.timeToVerdict = &timeToVerdict;
      sources.retention = &retention->counters();
      sources.retro = &retro;
      sources.recheck = &recheck;
      if (pool) sources.parsers = &pool->counters();
      report::ApiContext api;
      api.spoolDir = cfg.spoolDir();
      api.skipTopReceived = reporting.reporterSettings().spoof.skipTopReceived;
      api.analyzers = [&pipeline] {
        std::vector<sandbox::AnalyzerStats> list;
        for (const auto& runner : pipeline.runners()) list.push_back(runner->stats());
        return list;
      };
      api.resend = [&reporter](db::Database& d, const std::string& id) {
        if (!db::ReportQueue(d).requeue(id)) return false;
        reporter.wake();
        return true;
      };
      api.sinkName = cfg.sinkName;
      api.stats = [self = cfg.sinkName, interval = cfg.statsInterval](
                      db::Database& d, const std::string& sinceIso, const std::string& sink) {
        return report::statsJson(d, {self, sink, sinceIso, interval});
      };
      api.slo = [&timeToVerdict, sink = cfg.sinkName](db::Database& d) {
        return timeToVerdict.slo().read(d, sink, nowMs());
      };
      api.metrics = [sources](db::Database& d) {
        return formatMetrics(collectMetrics(sources, d));
      };
      http = std::make_unique<report::HttpServer>(httpSettings(cfg), std::move(api));
    }

    // Every port bound, every key and secret read, DataDir open: root is given up before
    // any stage reads a message (issue 18, finding 3).
    if (account) {
      for (const auto& path : takeOverDataDir(cfg.dataDir, *account)) {
        log.notice("privileges: %s was root's: given to %s", path, account->name);
      }
      if (auto why = whyUnreachable(cfg.dataDir, *account); !why.empty()) {
        throw std::runtime_error("User " + account->name + " cannot use DataDir: " + why);
      }
      dropPrivileges(*account);
      log.notice("privileges: running as %s (uid %s, gid %s), root given up", account->name,
                 std::to_string(account->uid), std::to_string(account->gid));
    } else if (::geteuid() == 0) {
      log.warning("privileges: running as root (User = '')");
    }

    reporter.start();
    pipeline.start();
    sloWatch.start();
    if (holdStage) holdStage->start();
    recheck.start();
    statsCollector.start();
    log.notice("stats: every %s s%s", std::to_string(cfg.statsInterval.count()),
               cfg.statsExportUrl.empty() ? std::string() : std::string(", exported"));
    server.start();
    log.notice("listening on %s (data in %s)", server.boundAddress(), cfg.dataDir);
    // After BCC mode's line (scripts take the first "listening on" as BccSocket's), in
    // words of its own.
    if (holdServer) {
      holdServer->start();
      log.notice("smtp mode listening on %s, relay %s", holdServer->boundAddress(),
                 cfg.smtpSenderRelay);
    }
    retention->start();
    log.notice("retention: clean content %s, flagged %s, rows %s", keepText(cfg.bccKeepClean),
               keepText(cfg.bccKeepFlagged), keepText(cfg.bccKeepRows));
    if (http) {
      http->start();
      log.notice(
          "http listening on %s%s", http->boundAddress(),
          cfg.httpToken.empty() ? std::string(" (JSON API off: no HttpToken)") : std::string());
    }

    int sig = 0;
    while (sigwait(&stopSignals, &sig) == 0 && sig == SIGHUP) {
      // SIGHUP: the YARA rules again; rules that do not compile leave the old ones on.
      try {
        log.notice("SIGHUP: YARA rules reloaded (%z rules)", analysis.reloadYara());
      } catch (const std::exception& e) {
        log.error("SIGHUP: keeping the old YARA rules: %s", std::string(e.what()));
      }
      // The hash list too; a changed one (or changed rules) starts a re-check.
      try {
        if (!cfg.hashListFile.empty())
          log.notice("SIGHUP: hash list reloaded (%z entries)", analysis.reloadHashList());
      } catch (const std::exception& e) {
        log.error("SIGHUP: keeping the old hash list: %s", std::string(e.what()));
      }
      recheck.wake();
    }
    log.notice("signal %d: stopping", sig);
    if (http) http->stop();
    server.stop();
    if (holdServer) holdServer->stop();
    committer.stop();
    // How well the group commit grouped (test/bench/intake.sh prints this line).
    auto batches = committer.stats();
    char mean[32];
    std::snprintf(mean, sizeof mean, "%.1f",
                  batches.batches ? static_cast<double>(batches.messages) / batches.batches : 0.0);
    log.notice(
        "intake: %s messages in %s batches (mean %s, max %s), %s spool flushes, %s disk "
        "syncs, %s waits for a segment",
        std::to_string(batches.messages), std::to_string(batches.batches), std::string(mean),
        std::to_string(batches.maxBatch), std::to_string(batches.flushes),
        std::to_string(batches.syncs), std::to_string(spool.rotationStalls()));
    recheck.stop();
    sloWatch.stop();
    pipeline.stop();
    if (holdStage) holdStage->stop();
    retention->stop();
    reporter.stop();
    statsCollector.stop();
    log.notice("stopped");
  } catch (const Poco::Exception& e) {
    log.fatal("cannot start: %s", e.displayText());
    return 1;
  } catch (const std::exception& e) {
    log.fatal("cannot start: %s", std::string(e.what()));
    return 1;
  }
  return 0;
}

int runCheckConfig(const std::vector<std::string>& args) {
  try {
    auto cl = parseCommandLine(args, {}, {});
    if (cl.help) {
      std::cout << "usage: bccsink check-config [--config FILE] [--Name value ...]\n\n"
                   "Prints the effective configuration (secrets masked), or the error and "
                   "exit code 1.\n";
      return 0;
    }
    for (const auto& w : loadConfig(cl.configPath, cl.overrides).warnings) {
      std::cerr << "bccsink: warning: " << w << "\n";
    }
    std::cout << describeConfig(cl.configPath, cl.overrides);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bccsink: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace bccsink
