// The /metrics text from plain numbers, the listener's counters as the SMTP session and
// the intake bump them, and SMTP mode's families from its counters and hold queue.

#include "sink/Metrics.h"

#include <gtest/gtest.h>

#include <sstream>

#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "sink/smtp/SmtpSession.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

std::vector<std::string> linesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  }
  return out;
}

// Accepts everything; admits as told.
class Store : public MessageStore {
 public:
  StoreResult admit(std::uint64_t) override { return {}; }
  std::unique_ptr<MessageWriter> open(StoreResult&) override {
    struct W : MessageWriter {
      std::string id_ = "01TEST";
      const std::string& id() const override { return id_; }
      bool write(std::string_view) override { return true; }
      void commit(const Envelope&, const std::string&, Done done) override { done({}); }
    };
    return std::make_unique<W>();
  }
};

}  // namespace

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsSnapshot s;
  s.version = "0.1.0";
  sandbox::AnalyzerStats a;
  a.name = "clamd";
  a.latency[0] = 1;
  a.latency[3] = 2;
  a.latency.back() = 1;
  a.latencySeconds = 1234.5;
  a.answered = {1, 1, 1, 1};
  s.analyzers.push_back(a);
  s.cacheLookups = 4;
  s.cacheHits = 1;
  auto text = formatMetrics(s);
  auto buckets = linesStartingWith(text, "bccsink_analyzer_latency_seconds_bucket{");
  ASSERT_EQ(buckets.size(), sandbox::kLatencyBuckets.size() + 1);
  EXPECT_EQ(buckets[0],
            "bccsink_analyzer_latency_seconds_bucket{analyzer=\"clamd\",le=\"0.005\"} 1");
  EXPECT_EQ(buckets[2],
            "bccsink_analyzer_latency_seconds_bucket{analyzer=\"clamd\",le=\"0.05\"} 1");
  EXPECT_EQ(buckets[3], "bccsink_analyzer_latency_seconds_bucket{analyzer=\"clamd\",le=\"0.1\"} 3");
  EXPECT_EQ(buckets[7], "bccsink_analyzer_latency_seconds_bucket{analyzer=\"clamd\",le=\"2.5\"} 3");
  EXPECT_EQ(buckets.back(),
            "bccsink_analyzer_latency_seconds_bucket{analyzer=\"clamd\",le=\"+Inf\"} 4");
  std::uint64_t previous = 0;
  for (const auto& b : buckets) {
    auto n = std::stoull(b.substr(b.rfind(' ') + 1));
    EXPECT_GE(n, previous) << b;
    previous = n;
  }
  EXPECT_EQ(linesStartingWith(text, "bccsink_analyzer_latency_seconds_sum")[0],
            "bccsink_analyzer_latency_seconds_sum{analyzer=\"clamd\"} 1234.5");
  EXPECT_EQ(linesStartingWith(text, "bccsink_analyzer_latency_seconds_count")[0],
            "bccsink_analyzer_latency_seconds_count{analyzer=\"clamd\"} 4");
  EXPECT_EQ(linesStartingWith(text, "# TYPE bccsink_analyzer_latency_seconds ")[0],
            "# TYPE bccsink_analyzer_latency_seconds histogram");
  EXPECT_EQ(linesStartingWith(text, "bccsink_analyzer_answers_total").size(), 4u);
  EXPECT_EQ(linesStartingWith(text, "bccsink_cache_hit_ratio ")[0], "bccsink_cache_hit_ratio 0.25");
}

TEST(Metrics, LabelValuesAreEscaped) {
  MetricsSnapshot s;
  s.version = "1\"2\\3\n";
  auto text = formatMetrics(s);
  EXPECT_EQ(linesStartingWith(text, "bccsink_build_info{")[0],
            "bccsink_build_info{version=\"1\\\"2\\\\3\\n\"} 1");
}

TEST(Metrics, TheSessionCountsReceivedAndRefusedByReason) {
  SmtpCounters counters;
  SessionSettings settings;
  settings.domains = {"bcc.test"};
  settings.maxRecipients = 1;
  settings.maxMessageSize = 1000;
  settings.counters = &counters;
  Store store;
  SmtpSession session(settings, store, "192.0.2.1", true);
  session.greeting();
  session.feed(
      "EHLO mta\r\nMAIL FROM:<a@example.org> SIZE=5000\r\nMAIL FROM:<a@example.org>\r\n"
      "RCPT TO:<x@elsewhere.example>\r\nRCPT TO:<w@bcc.test>\r\nRCPT TO:<v@bcc.test>\r\n"
      "DATA\r\n");
  session.feed("Subject: hi\r\n\r\nbody\r\n.\r\n");
  EXPECT_NE(session.output().find("250 2.0.0 Ok: queued"), std::string::npos) << session.output();
  EXPECT_EQ(counters.received.load(), 1u);
  EXPECT_EQ(counters.refusedFor(Refusal::Size), 1u);
  EXPECT_EQ(counters.refusedFor(Refusal::Relay), 1u);
  EXPECT_EQ(counters.refusedFor(Refusal::Recipients), 1u);
  session.timeout();
  EXPECT_EQ(counters.refusedFor(Refusal::Timeout), 1u);

  SmtpSession refused(settings, store, "198.51.100.1", false);
  EXPECT_EQ(refused.greeting().rfind("554", 0), 0u);
  EXPECT_EQ(counters.refusedFor(Refusal::Client), 1u);
  EXPECT_EQ(counters.refusedFor(Refusal::Disk), 0u);
  EXPECT_EQ(refusalName(Refusal::Connections), "connections");
  EXPECT_EQ(refusalName(Refusal::PerIp), "per_ip");
  EXPECT_EQ(refusalName(Refusal::SessionDeadline), "session_deadline");
  EXPECT_EQ(refusalName(Refusal::Slow), "slow");
  EXPECT_EQ(refusalName(Refusal::SendTimeout), "send_timeout");
  EXPECT_EQ(refusalName(Refusal::Reserved), "reserved");
}

TEST(Metrics, TheGroupCommitsBatchesAreCounted) {
  MetricsSnapshot s;
  s.intake = {3000, 700, 19, 1600, 1601};
  auto text = formatMetrics(s);
  EXPECT_EQ(linesStartingWith(text, "bccsink_intake_batches_total ")[0],
            "bccsink_intake_batches_total 700");
  EXPECT_EQ(linesStartingWith(text, "bccsink_intake_batch_messages_total ")[0],
            "bccsink_intake_batch_messages_total 3000");
  EXPECT_EQ(linesStartingWith(text, "bccsink_intake_batch_max ")[0], "bccsink_intake_batch_max 19");
  EXPECT_EQ(linesStartingWith(text, "bccsink_intake_flushes_total ")[0],
            "bccsink_intake_flushes_total 1600");
  EXPECT_EQ(linesStartingWith(text, "bccsink_intake_syncs_total ")[0],
            "bccsink_intake_syncs_total 1601");
}

TEST(Metrics, SmtpModesFamiliesFromPlainNumbers) {
  MetricsSnapshot s;
  s.smtpMode = true;
  s.smtpModeReceived = 12;
  s.smtpModeRefused[static_cast<std::size_t>(Refusal::Client)] = 3;
  s.heldByState = {{"holding", 2}, {"deliver", 1}, {"quarantined", 4}};
  s.holdActions[holdIndex(kHoldCauses, "dangerous")][holdIndex(kHoldActions, "quarantine")] = 4;
  s.holdActions[holdIndex(kHoldCauses, "timeout")][holdIndex(kHoldActions, "pass")] = 1;
  s.holdBuckets[0] = 5;      // <= 0.1 s
  s.holdBuckets[3] = 2;      // <= 1 s
  s.holdBuckets.back() = 1;  // over an hour
  s.holdMillisSum = 3601500;
  s.reinjectDelivered = 8;
  s.reinjectDeferred = 2;
  s.reinjectRejected = 1;
  auto text = formatMetrics(s);
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_messages_received_total ")[0],
            "bccsink_smtp_mode_messages_received_total 12");
  EXPECT_EQ(
      linesStartingWith(text, "bccsink_smtp_mode_messages_refused_total{reason=\"client\"}").at(0),
      "bccsink_smtp_mode_messages_refused_total{reason=\"client\"} 3");
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_messages_refused_total{").size(),
            kRefusalKinds);
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_held{state=\"holding\"}").at(0),
            "bccsink_smtp_mode_held{state=\"holding\"} 2");
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_held{state=\"quarantined\"}").at(0),
            "bccsink_smtp_mode_held{state=\"quarantined\"} 4");
  EXPECT_EQ(linesStartingWith(text, "# TYPE bccsink_smtp_mode_held ").at(0),
            "# TYPE bccsink_smtp_mode_held gauge");
  // Every cause and action, zeros included, so a rate() has a series from the start.
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_actions_total{").size(),
            kHoldCauses.size() * kHoldActions.size());
  EXPECT_EQ(linesStartingWith(
                text, "bccsink_smtp_mode_actions_total{cause=\"dangerous\",action=\"quarantine\"}")
                .at(0),
            "bccsink_smtp_mode_actions_total{cause=\"dangerous\",action=\"quarantine\"} 4");
  EXPECT_EQ(
      linesStartingWith(text, "bccsink_smtp_mode_actions_total{cause=\"timeout\",action=\"pass\"}")
          .at(0),
      "bccsink_smtp_mode_actions_total{cause=\"timeout\",action=\"pass\"} 1");

  auto buckets = linesStartingWith(text, "bccsink_smtp_mode_hold_seconds_bucket{");
  ASSERT_EQ(buckets.size(), kHoldSecondsBuckets.size() + 1);
  EXPECT_EQ(buckets[0], "bccsink_smtp_mode_hold_seconds_bucket{le=\"0.1\"} 5");
  EXPECT_EQ(buckets[2], "bccsink_smtp_mode_hold_seconds_bucket{le=\"0.5\"} 5");
  EXPECT_EQ(buckets[3], "bccsink_smtp_mode_hold_seconds_bucket{le=\"1\"} 7");
  EXPECT_EQ(buckets[kHoldSecondsBuckets.size() - 1],
            "bccsink_smtp_mode_hold_seconds_bucket{le=\"3600\"} 7");
  EXPECT_EQ(buckets.back(), "bccsink_smtp_mode_hold_seconds_bucket{le=\"+Inf\"} 8");
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_hold_seconds_sum ").at(0),
            "bccsink_smtp_mode_hold_seconds_sum 3601.5");
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_hold_seconds_count ").at(0),
            "bccsink_smtp_mode_hold_seconds_count 8");
  EXPECT_EQ(linesStartingWith(text, "# TYPE bccsink_smtp_mode_hold_seconds ").at(0),
            "# TYPE bccsink_smtp_mode_hold_seconds histogram");

  EXPECT_EQ(
      linesStartingWith(text, "bccsink_smtp_mode_reinjections_total{"),
      (std::vector<std::string>{"bccsink_smtp_mode_reinjections_total{result=\"delivered\"} 8",
                                "bccsink_smtp_mode_reinjections_total{result=\"deferred\"} 2",
                                "bccsink_smtp_mode_reinjections_total{result=\"rejected\"} 1"}));
}

TEST(Metrics, ABccOnlySinkShowsNoSmtpModeFamilies) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  MetricsSources sources;  // no SmtpSocket: smtpMode and hold are null
  auto s = collectMetrics(sources, database);
  EXPECT_FALSE(s.smtpMode);
  EXPECT_TRUE(s.heldByState.empty());
  EXPECT_EQ(formatMetrics(s).find("bccsink_smtp_mode"), std::string::npos);
}

TEST(Metrics, SmtpModeIsCollectedFromItsCountersAndThisSinksHoldQueue) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue queue(database);
  std::vector<db::MessageRecord> records;
  for (const char* id : {"01A", "01B", "01C"}) {
    records.push_back(test::sampleRecord(id));
    records.back().hold = true;
  }
  records.push_back(test::sampleRecord("01D", "2026-11-30T04:00:00.000Z", "sink-b"));
  records.back().hold = true;                    // another sink's: not this one's depth
  records.push_back(test::sampleRecord("01E"));  // a BCC copy: no hold row
  queue.insertPending(records);
  db::HoldQueue hold(database);
  ASSERT_TRUE(hold.decide("01C", db::hold_state::kQuarantined, db::hold_action::kQuarantine,
                          "dangerous: Eicar", 1000));

  SmtpCounters listener;
  ++listener.received;
  ++listener.refused[static_cast<std::size_t>(Refusal::Client)];
  HoldCounters counters;
  counters.countAction("dangerous", "quarantine");
  counters.countAction("nonsense", "pass");  // not counted
  counters.countHeld(80);
  counters.countHeld(900);
  counters.countHeld(4000 * 1000);
  ++counters.delivered;
  ++counters.deferred;
  MetricsSources sources;
  sources.smtpMode = &listener;
  sources.hold = &counters;
  sources.sink = "sink-a";
  auto s = collectMetrics(sources, database);
  ASSERT_TRUE(s.smtpMode);
  EXPECT_EQ(s.smtpModeReceived, 1u);
  EXPECT_EQ(s.smtpModeRefused[static_cast<std::size_t>(Refusal::Client)], 1u);
  EXPECT_EQ(s.received, 0u);            // the BCC listener's own counters stay apart
  EXPECT_EQ(s.heldByState.size(), 7u);  // every state, zeros included
  EXPECT_EQ(s.heldByState["holding"], 2);
  EXPECT_EQ(s.heldByState["quarantined"], 1);
  EXPECT_EQ(s.heldByState["delivered"], 0);
  EXPECT_EQ(
      s.holdActions[holdIndex(kHoldCauses, "dangerous")][holdIndex(kHoldActions, "quarantine")],
      1u);
  EXPECT_EQ(s.holdBuckets[0], 1u);
  EXPECT_EQ(s.holdBuckets[3], 1u);
  EXPECT_EQ(s.holdBuckets.back(), 1u);
  EXPECT_EQ(s.holdMillisSum, 4000980u);
  EXPECT_EQ(s.reinjectDelivered, 1u);
  EXPECT_EQ(s.reinjectDeferred, 1u);
  EXPECT_EQ(s.reinjectRejected, 0u);
  auto text = formatMetrics(s);
  EXPECT_EQ(linesStartingWith(text, "bccsink_smtp_mode_hold_seconds_count ").at(0),
            "bccsink_smtp_mode_hold_seconds_count 3");
}

TEST(Metrics, RetroReportsAreCountedByResult) {
  MetricsSnapshot s;
  s.retroReports = {3, 2, 1};
  const auto text = formatMetrics(s);
  EXPECT_NE(text.find("# TYPE bccsink_retro_reports_total counter\n"), std::string::npos);
  EXPECT_EQ(linesStartingWith(text, "bccsink_retro_reports_total{"),
            (std::vector<std::string>{"bccsink_retro_reports_total{result=\"sent\"} 3",
                                      "bccsink_retro_reports_total{result=\"deferred\"} 2",
                                      "bccsink_retro_reports_total{result=\"undeliverable\"} 1"}));
}

// The parser processes' events (sandbox/extract/isolation): collected from the pool's
// counters, so a master that is gone shows on /metrics, not only in the log.
TEST(Metrics, ParserEventsAreCollectedFromThePoolsCounters) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  sandbox::ExtractPoolCounters parsers;
  parsers.spawned = 7;
  parsers.crashed = 2;
  parsers.timedOut = 1;
  parsers.masterGone = 3;
  MetricsSources sources;
  sources.parsers = &parsers;
  auto text = formatMetrics(collectMetrics(sources, database));
  EXPECT_EQ(linesStartingWith(text, "bccsink_parser_events_total"),
            (std::vector<std::string>{"bccsink_parser_events_total{event=\"spawned\"} 7",
                                      "bccsink_parser_events_total{event=\"crashed\"} 2",
                                      "bccsink_parser_events_total{event=\"timed_out\"} 1",
                                      "bccsink_parser_events_total{event=\"master_gone\"} 3"}));
}
