#pragma once
// The settings of the vxCube analyzer (../shared/vxcube-api.md), one field per Vxcube*
// option with its default; the fields below the line are tuning that has no option.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/tls/TlsProfile.h"

namespace bccsink::sandbox {

struct VxcubeSettings {
  // VxcubeApiAddress: a host name ("vxcube.example.com", "vxcube.example.com:8443"), which
  // means https://HOST/api-2.0/, or a full base URL ("http://127.0.0.1:8081/api-2.0/"; a URL
  // without a path gets /api-2.0/). Required.
  std::string apiAddress;
  // VxcubeApiKey: sent as "Authorization: api-key KEY"; never logged, never in a reason.
  std::string apiKey;
  // VxcubePlatforms: platform codes to run samples on; a sample runs on those of them that
  // vxCube says it supports. Empty: every platform the sample supports.
  std::vector<std::string> platforms{"win7x64", "win10x64"};
  // VxcubeAnalysisTime: how long the sample runs in the sandbox; 0 = the server's default.
  std::chrono::seconds analysisTime{60};
  // VxcubePollInterval: how often an analysis in progress is asked about.
  std::chrono::milliseconds pollInterval{20000};
  // VxcubeTimeout: the most one file's analysis may take, from the first call to the last
  // task's end; past it the file is unscanned.
  std::chrono::milliseconds timeout{std::chrono::minutes(15)};
  // VxcubeRequestTimeout: the most one HTTP call may take to connect, send or receive.
  std::chrono::milliseconds requestTimeout{30000};
  // VxcubeMaxConcurrent: files in analysis at once (the AnalyzerRunner's limit; an analysis
  // in progress costs no thread, so this can be large).
  std::size_t maxConcurrent = 32;
  // VxcubeMaxConnections: HTTP calls at once, each on its own thread; with slow answers
  // (a far or busy server) this, not maxConcurrent, bounds the files per second.
  std::size_t httpWorkers = 8;
  // VxcubeSuspiciousThreshold, VxcubeDangerousThreshold: a task's maliciousness (0-100) at
  // or above which the file is suspicious or dangerous, whatever its verdict word says.
  int suspiciousThreshold = 50;
  int dangerousThreshold = 80;
  // VxcubeCaFile: PEM file of the CAs that may sign the server's certificate; '' = the
  // system's CAs.
  std::string caFile;
  // VxcubeVerifyTls: check the server's certificate and host name (off only for a lab).
  bool verifyTls = true;
  // TlsCiphers, TlsMinVersion.
  TlsProfile tlsProfile;

  // ---- tuning, no option ----
  unsigned breakerThreshold = 5;                      // consecutive outages that open the circuit
  std::chrono::milliseconds breakerCooldown{30000};   // open this long, then one probe
  std::chrono::milliseconds defaultRetryAfter{5000};  // a 429 without Retry-After
  std::chrono::milliseconds maxRetryAfter{std::chrono::minutes(5)};  // longer is cut to this
  std::uint64_t maxAnswerSize = 16u << 20;                           // larger answers are broken
};

}  // namespace bccsink::sandbox
