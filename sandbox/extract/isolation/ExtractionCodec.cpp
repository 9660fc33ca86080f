#include "sandbox/extract/isolation/ExtractionCodec.h"

#include <cstdint>
#include <vector>

namespace bccsink::sandbox {
namespace {

void putInt(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void putString(std::string& out, std::string_view s) {
  putInt(out, s.size());
  out.append(s);
}

void putStrings(std::string& out, const std::vector<std::string>& list) {
  putInt(out, list.size());
  for (const auto& s : list) putString(out, s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  std::uint64_t integer() {
    need(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= std::uint64_t(static_cast<unsigned char>(in_[at_ + i])) << (8 * i);
    at_ += 8;
    return v;
  }
  bool flag() {
    auto v = integer();
    if (v > 1) throw FrameError("a flag of " + std::to_string(v));
    return v == 1;
  }
  std::string_view bytes() {
    auto n = integer();
    need(n);
    auto s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::string string() { return std::string(bytes()); }
  std::vector<std::string> strings() {
    auto n = integer();
    // Each string takes at least its 8-byte length: a count past that is a lie.
    if (n > (in_.size() - at_) / 8) throw FrameError("a list of " + std::to_string(n) + " strings");
    std::vector<std::string> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) out.push_back(string());
    return out;
  }
  std::uint64_t count(std::uint64_t minBytesEach) {
    auto n = integer();
    if (n > (in_.size() - at_) / minBytesEach) throw FrameError("a count of " + std::to_string(n));
    return n;
  }
  void end() const {
    if (at_ != in_.size()) throw FrameError(std::to_string(in_.size() - at_) + " bytes left over");
  }

 private:
  void need(std::uint64_t n) const {
    if (n > in_.size() - at_) throw FrameError("truncated payload");
  }
  std::string_view in_;
  std::size_t at_ = 0;
};

void putFile(std::string& out, const ExtractedFile& f) {
  putString(out, f.name);
  putStrings(out, f.altNames);
  putStrings(out, f.where);
  putInt(out, f.size);
  putString(out, f.md5);
  putString(out, f.sha256);
  putString(out, f.type.mimeType);
  putString(out, f.type.description);
  putString(out, f.type.family);
  putString(out, f.extension);
  putInt(out, f.extensionMismatch);
  putInt(out, f.selected);
  putString(out, f.reason);
  putInt(out, f.unreadable);
}

// The fewest bytes a file's description takes (its fixed fields): bounds a file count.
constexpr std::uint64_t kMinFileBytes = 14 * 8;

// More files than any message a sender can make within the extraction limits
// (BccArchiveMaxMembers and BccMaxMimeParts are 10,000 each): a parser claiming more is not
// believed, and the message is not held in memory file by file.
constexpr std::uint64_t kMaxFiles = 100000;

ExtractedFile readFile(Reader& r) {
  ExtractedFile f;
  f.name = r.string();
  f.altNames = r.strings();
  f.where = r.strings();
  f.size = r.integer();
  f.md5 = r.string();
  f.sha256 = r.string();
  f.type.mimeType = r.string();
  f.type.description = r.string();
  f.type.family = r.string();
  f.extension = r.string();
  f.extensionMismatch = r.flag();
  f.selected = r.flag();
  f.reason = r.string();
  f.unreadable = r.flag();
  return f;
}

}  // namespace

std::string encodeFile(const ExtractedFile& f) {
  std::string out;
  putFile(out, f);
  return out;
}

std::string encodeExtraction(const Extraction& e) {
  std::string out;
  putInt(out, e.files.size());
  for (const auto& f : e.files) putFile(out, f);
  putStrings(out, e.errors);
  return out;
}

std::string encodeKeptHead(const ExtractedFile& f, std::uint64_t bytes) {
  std::string out = encodeFile(f);
  putInt(out, bytes);
  return out;
}

Extraction decodeExtraction(std::string_view payload) {
  Reader r(payload);
  Extraction e;
  const auto n = r.count(kMinFileBytes);
  if (n > kMaxFiles) throw FrameError("more than 100,000 files in one message");
  e.files.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) e.files.push_back(readFile(r));
  e.errors = r.strings();
  r.end();
  return e;
}

KeptFile decodeKept(std::string_view payload) {
  Reader r(payload);
  KeptFile k;
  k.file = readFile(r);
  k.bytes = r.bytes();
  r.end();
  return k;
}

}  // namespace bccsink::sandbox
