#pragma once
// A retro report as plain data: what the administrator is told when a file's verdict
// turned worse after messages carrying it were judged ("judged clean on <date>, now
// dangerous because yara: Evil_Macro"), built from one db::RetroAlert with every message
// it names. Nothing here reads a spool: the messages may be any sink's, and what the
// report says of them (sender, recipients, dates, where the file sat) is in the database.

#include <cstddef>
#include <string>
#include <vector>

#include "db/RetroReports.h"

namespace bccsink::report {

struct RetroReportMessage {
  std::string id;
  std::string sink;
  std::string receivedAt;
  std::string sender;                   // '' for <>
  std::vector<std::string> recipients;  // the original recipients when known, else the copy's
  bool originalRecipients = false;      // whether `recipients` are the decoded originals
  std::string filePath;
  std::string earlierVerdict;
  std::string earlierCheckedAt;
  std::string verdict;
};

struct RetroReport {
  std::string alertId;
  std::string sink;  // the sink that found the change
  std::string sha256;
  std::string fileName;  // the file's own name (the last part of its path), or its digest
  std::string analyzer;
  std::string verdict;  // the file's verdict now
  std::vector<std::string> threats;
  std::string cause;      // db::retro_cause
  std::string causeText;  // the cause in words
  std::string createdAt;
  // "clean" (or "clean or unscanned" when the messages were judged differently) and the
  // first time one of them was judged so.
  std::string earlierVerdict;
  std::string earlierCheckedAt;
  std::vector<RetroReportMessage> messages;
};

RetroReport buildRetroReport(const db::RetroAlert& alert);

// "a late sandbox answer", "new YARA rules", "new clamd signatures", "a hash list entry";
// an unknown cause as it is.
std::string retroCauseText(const std::string& cause);

// The file's own name in a path ("invoice.zip > invoice.exe" -> "invoice.exe").
std::string fileNameOf(const std::string& path);

// "2026-11-30T04:00:02.000Z" -> "2026-11-30 04:00 UTC"; anything else as it is.
std::string readableTime(const std::string& iso);

}  // namespace bccsink::report
