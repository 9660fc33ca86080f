// See PdfWalker.h.
#include "sandbox/extract/containers/PdfWalker.h"

#include <chrono>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/containers/ContainerOutput.h"

namespace bccsink::sandbox {
namespace {

// Keeps up to `max` decoded bytes; past it, or past the deadline, it throws, which qpdf
// turns into a failed pipeStreamData: decoding stops there.
class Bounded : public Pipeline {
 public:
  Bounded(std::uint64_t max, std::chrono::steady_clock::time_point deadline)
      : Pipeline("bccsink-bounded", nullptr), max_(max), deadline_(deadline) {}
  void write(unsigned char const* data, size_t len) override {
    if (bytes.size() + len > max_) {
      over = true;
      throw std::length_error("over size limit");
    }
    if (std::chrono::steady_clock::now() > deadline_) {
      late = true;
      throw std::runtime_error("time limit");
    }
    bytes.append(reinterpret_cast<const char*>(data), len);
  }
  void finish() override {}

  std::string bytes;
  bool over = false;
  bool late = false;

 private:
  std::uint64_t max_;
  std::chrono::steady_clock::time_point deadline_;
};

std::string textOf(QPDFObjectHandle o) {
  return o.isString() ? o.getUTF8Value() : std::string();
}

class Walk {
 public:
  Walk(ContainerOutput& out, const ContainerLimits& limits)
      : out_(out),
        limits_(limits),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(limits.maxSeconds))) {}

  void run(QPDF& pdf) {
    std::vector<QPDFObjectHandle> all = pdf.getAllObjects();
    // File specifications first: they name the streams (/EF holds /F, /UF or both,
    // usually the same stream).
    for (auto& o : all) {
      if (!out_.more()) return;
      if (!o.isDictionary() || !o.hasKey("/EF")) continue;
      QPDFObjectHandle ef = o.getKey("/EF");
      if (!ef.isDictionary()) continue;
      std::string name = textOf(o.getKey("/UF"));
      if (name.empty()) name = textOf(o.getKey("/F"));
      for (const char* key : {"/UF", "/F", "/DOS", "/Mac", "/Unix"}) {
        QPDFObjectHandle s = ef.getKey(key);
        if (s.isStream()) stream(s, name);
      }
    }
    for (auto& o : all) {
      if (!out_.more()) return;
      if (!o.isStream()) continue;
      QPDFObjectHandle type = o.getDict().getKey("/Type");
      if (type.isName() && type.getName() == "/EmbeddedFile") stream(o, "");
    }
  }

 private:
  void stream(QPDFObjectHandle s, const std::string& name) {
    if (!seen_.insert(s.getObjGen()).second || !out_.more()) return;
    Bounded sink(limits_.maxMemberSize, deadline_);
    bool ok = false;
    try {
      bool attempted = false;
      ok = s.pipeStreamData(&sink, &attempted, 0, qpdf_dl_all, true, false);
    } catch (const std::exception&) {
      ok = false;
    }
    if (sink.over) {
      out_.unscanned(name, 0,
                     evasion("decodes to more than " + std::to_string(limits_.maxMemberSize) +
                             " bytes (size limit)"));
    } else if (sink.late) {
      out_.unscanned(name, 0, evasion("decoding took longer than the time limit"));
    } else if (!ok) {
      out_.unscanned(name, 0, evasion("embedded file stream could not be decoded"));
    } else {
      out_.file(name, sink.bytes);
    }
  }

  ContainerOutput& out_;
  const ContainerLimits& limits_;
  std::chrono::steady_clock::time_point deadline_;
  std::set<QPDFObjGen> seen_;
};

}  // namespace

std::size_t walkPdf(std::string_view bytes, const FoundFile& container,
                    const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  try {
    QPDF pdf;
    pdf.setSuppressWarnings(true);
    pdf.processMemoryFile(container.name.c_str(), bytes.data(), bytes.size());
    Walk(out, limits).run(pdf);
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password)
      out.error(evasion("encrypted PDF (user password): its embedded files were not read"));
    else
      out.error(std::string("PDF damaged: ") + e.what());
  } catch (const std::exception& e) {
    out.error(std::string("PDF damaged: ") + e.what());
  }
  return out.count();
}

}  // namespace bccsink::sandbox
