// /metrics' retention families (issue 17), from the stage's counters.

#include <gtest/gtest.h>

#include "sink/Metrics.h"

using namespace bccsink;

TEST(MetricsRetention, TheStagesCountersAreShownByReason) {
  RetentionCounters c;
  c.expiredAge = 7;
  c.expiredPressure = 3;
  c.rowsDeleted = 2;
  c.filesDeleted = 4;
  c.bytesFreed = 123456;
  c.pressureSweeps = 1;
  MetricsSnapshot s;
  s.retentionExpiredAge = c.expiredAge;
  s.retentionExpiredPressure = c.expiredPressure;
  s.retentionRowsDeleted = c.rowsDeleted;
  s.retentionFilesDeleted = c.filesDeleted;
  s.retentionBytesFreed = c.bytesFreed;
  s.retentionPressureSweeps = c.pressureSweeps;
  auto text = formatMetrics(s);
  for (const char* line :
       {"# TYPE bccsink_retention_content_expired_total counter\n",
        "bccsink_retention_content_expired_total{reason=\"age\"} 7\n",
        "bccsink_retention_content_expired_total{reason=\"pressure\"} 3\n",
        "bccsink_retention_rows_deleted_total 2\n", "bccsink_retention_files_deleted_total 4\n",
        "bccsink_retention_bytes_freed_total 123456\n",
        "bccsink_retention_pressure_sweeps_total 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST(MetricsRetention, AreZeroBeforeAnything) {
  auto text = formatMetrics(MetricsSnapshot{});
  EXPECT_NE(text.find("bccsink_retention_content_expired_total{reason=\"age\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("bccsink_retention_bytes_freed_total 0\n"), std::string::npos);
}
