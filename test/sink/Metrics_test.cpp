// The /metrics text from plain numbers, and the listener's counters as the SMTP session
// and the intake bump them.

#include "sink/Metrics.h"

#include <gtest/gtest.h>

#include <sstream>

#include "sink/smtp/SmtpSession.h"

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
