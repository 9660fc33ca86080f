// isolation_bench: what extraction in parser processes (BccExtractIsolation = yes) costs
// beside the same Extractor in the calling process, on the same messages in the same run:
// the MIME cases of test/data/mime (small messages, many files) and a message with one
// selected attachment of N MiB (its bytes come back through the framing). Best of 15
// rounds each, taken in turns; one pool worker, replaced every 100 messages as by default. It
// measures and judges nothing (test/bench/README.md).
//   build/test/isolation_bench [MiB of the attachment, default 8] [messages per worker, 100]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox/extract/Extractor.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "sandbox/extract/isolation/ExtractPool.h"

using namespace bccsink::sandbox;

namespace {

double seconds(const std::function<void()>& work) {
  const auto t0 = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Best of `runs` of each, taken in turns, so that a busy moment of the machine falls on
// both sides alike.
std::pair<double, double> bestOfEach(int runs, const std::function<void()>& a,
                                     const std::function<void()>& b) {
  double ba = 1e30, bb = 1e30;
  for (int i = 0; i < runs; ++i) {
    ba = std::min(ba, seconds(a));
    bb = std::min(bb, seconds(b));
  }
  return {ba, bb};
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t line = 0;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? t[v & 63] : '=';
    if (++line == 19) {
      out += "\r\n";
      line = 0;
    }
  }
  return out + "\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 8;
  std::vector<std::string> cases;
  for (const auto& e : std::filesystem::directory_iterator(BCCSINK_SOURCE_DIR "/test/data/mime")) {
    if (e.path().extension() != ".eml") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    cases.push_back(ss.str());
  }
  std::string blob(mib << 20, '\0');
  std::mt19937_64 rng(1);
  for (auto& c : blob) c = static_cast<char>(rng());
  const std::string large =
      "MIME-Version: 1.0\r\nSubject: large\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: application/octet-stream; name=large.exe\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      base64(blob) + "--b--\r\n";
  // Every family selected, so the large attachment's bytes are kept (sent back).
  std::string families;
  for (const char* f :
       {"pe", "elf", "macho", "msi", "ole-office", "ooxml", "ooxml-macro", "pdf", "rtf", "script",
        "lnk", "disk-image", "archive", "html", "image", "text", "other"})
    families += std::string(families.empty() ? "" : ", ") + f;
  const auto rules = parseSelection(families, 1ull << 40);
  // The master first, while this process has one thread.
  ParserMaster master([rules] {
    auto t = std::make_shared<FileTyper>();
    auto x = std::make_shared<Extractor>(*t, rules, ExtractLimits{});
    return ParseMessage([t, x](std::string_view m, const KeepFile& k) { return x->extract(m, k); });
  });
  ExtractPoolSettings ps;
  ps.workers = 1;
  ps.messagesPerWorker = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100;
  ExtractPool pool(master, ps);
  FileTyper typer;
  Extractor local(typer, rules, ExtractLimits{});
  std::size_t sink = 0;
  auto keep = [&](const ExtractedFile&, std::string_view bytes) { sink += bytes.size(); };
  const int rounds = 15;
  auto smallRun = [&](const MessageExtractor& x) {
    return [&] {
      for (int r = 0; r < 10; ++r)
        for (const auto& m : cases) x.extract(m, keep);
    };
  };
  const auto [smallLocal, smallPool] = bestOfEach(rounds, smallRun(local), smallRun(pool));
  const auto [largeLocal, largePool] = bestOfEach(
      rounds, [&] { local.extract(large, keep); }, [&] { pool.extract(large, keep); });
  const std::size_t n = 10 * cases.size();
  std::printf("%-48s %12s %12s %8s\n", "case", "in-process", "isolated", "ratio");
  std::printf("%-48s %9.3f ms %9.3f ms %8.3f\n",
              ("MIME cases, " + std::to_string(n) + " messages, per message").c_str(),
              smallLocal * 1000 / n, smallPool * 1000 / n, smallPool / smallLocal);
  std::printf("%-48s %9.1f ms %9.1f ms %8.3f\n",
              (std::to_string(mib) + " MiB selected attachment, one message").c_str(),
              largeLocal * 1000, largePool * 1000, largePool / largeLocal);
  std::printf("workers spawned %llu, crashed %llu (bytes kept %zu)\n",
              static_cast<unsigned long long>(pool.counters().spawned.load()),
              static_cast<unsigned long long>(pool.counters().crashed.load()), sink);
  return 0;
}
