#include "sandbox/extract/Extractor.h"

#include <algorithm>
#include <exception>
#include <optional>

#include "base/FileName.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/PasswordCandidates.h"
#include "sandbox/extract/containers/Containers.h"

namespace bccsink::sandbox {
namespace {

constexpr const char* kAttachedMessageName = "attached-message.eml";

// Archives that start after other bytes: a zip behind junk a broken MIME header left, a
// polyglot image, a self-extractor. libmagic names the first bytes (JPEG, PE, data), so
// the archive is looked for by its own signature: a local header, 7z or RAR magic in the
// first 64 KiB past offset 0, or a zip's end of central directory in the last 64 KiB.
constexpr std::size_t kCarvedWindow = 64 * 1024;
constexpr std::string_view kArchiveMagics[] = {std::string_view("PK\x03\x04", 4),
                                               std::string_view("7z\xBC\xAF\x27\x1C", 6),
                                               std::string_view("Rar!\x1A\x07", 6)};

bool startsWithArchiveMagic(std::string_view bytes) {
  for (auto magic : kArchiveMagics) {
    if (bytes.starts_with(magic)) return true;
  }
  return false;
}

// Where an archive may start inside `bytes`, or npos; 0 when only a zip's end was seen
// (libarchive's seekable zip reader finds the start from there).
std::size_t embeddedArchive(std::string_view bytes) {
  if (bytes.size() < 22 || startsWithArchiveMagic(bytes)) return std::string_view::npos;
  std::size_t first = std::string_view::npos;
  const std::string_view window = bytes.substr(0, kCarvedWindow);
  for (auto magic : kArchiveMagics) {
    first = std::min(first, window.find(magic, 1));
  }
  if (first != std::string_view::npos) return first;
  const std::size_t tail =
      bytes.size() > kCarvedWindow + 22 ? bytes.size() - kCarvedWindow - 22 : 0;
  if (bytes.find(std::string_view("PK\x05\x06", 4), tail) != std::string_view::npos) return 0;
  return std::string_view::npos;
}

class Visit : public FileVisitor {
 public:
  Visit(const FileTyper& typer, const SelectionRules& rules, const ExtractLimits& limits,
        const std::function<void(const ExtractedFile&, std::string_view)>& keep, Extraction& out)
      : typer_(typer),
        rules_(rules),
        limits_(limits),
        keep_(keep),
        out_(out),
        mime_(limits.mime),
        archives_(limits.archive) {}

  void message(std::string_view bytes, const std::vector<std::string>& where) {
    message_ = bytes;
    mime_.walk(bytes, where, *this);
  }

  void onError(const std::string& what) override { out_.errors.push_back(what); }

  void onFile(const FoundFile& found) override {
    ExtractedFile f;
    f.name = found.name;
    f.altNames = found.altNames;
    f.where = found.where;
    f.size = found.size;
    f.extension = extensionOf(f.name);
    if (found.attachedMessage && f.name.empty()) f.name = kAttachedMessageName;
    if (!found.unscanned.empty()) {
      f.unreadable = true;
      f.reason = found.unscanned;
      out_.files.push_back(std::move(f));
      return;
    }
    total_ += found.content.size();
    if (total_ > limits_.maxTotalBytes) {
      f.unreadable = true;
      f.reason = evasion("message unpacks to more than " + std::to_string(limits_.maxTotalBytes) +
                         " bytes");
      out_.files.push_back(std::move(f));
      return;
    }
    auto d = digest(found.content);
    f.md5 = d.md5;
    f.sha256 = d.sha256;
    f.type = typer_.classify(found.content, f.name);
    f.extensionMismatch = extensionMismatch(f.extension, f.type);
    auto decision = select(rules_, f.type, f.extension, f.size);
    // Selected when any name a client may show selects it (`a.txt` or `invoice.exe`).
    for (std::size_t i = 0; i < f.altNames.size() && !decision.selected; ++i) {
      auto alt = select(rules_, f.type, extensionOf(f.altNames[i]), f.size);
      if (alt.selected) decision = alt;
    }
    f.selected = decision.selected;
    f.reason = decision.reason;
    if (!found.note.empty()) f.reason += (f.reason.empty() ? "" : "; ") + found.note;
    if (f.selected) keep_(f, found.content);
    out_.files.push_back(f);

    // Into containers, within the depth limit: attached messages (a message/rfc822 part,
    // or a saved .eml inside an archive), archives and disk images (an ISO with an LNK in
    // it is a favourite). Office documents are zips too, but are analysed whole.
    // libmagic calls a saved message that starts with MIME-Version text/plain: the
    // extension says what it is.
    const bool isMessage = found.attachedMessage || f.type.mimeType == "message/rfc822" ||
                           (f.extension == "eml" && f.type.family == "text");
    bool container = isMessage || ((f.type.family == "archive" || f.type.family == "disk-image") &&
                                   archives_.isArchive(found.content));
    std::string_view archiveBytes = found.content;
    if (!container && f.type.family != "archive" && f.type.family != "disk-image") {
      // Whole first (the seekable zip reader corrects a zip's offsets from its central
      // directory), else from the signature on.
      if (auto at = embeddedArchive(found.content); at != std::string_view::npos) {
        if (archives_.isArchive(found.content)) {
          container = true;
        } else if (at > 0 && archives_.isArchive(found.content.substr(at))) {
          archiveBytes = found.content.substr(at);
          container = true;
        }
        if (container) {
          auto& listed = out_.files.back();
          const std::string note = "holds an archive after other data (opened)";
          listed.reason += (listed.reason.empty() ? "" : "; ") + note;
        }
      }
    }
    std::vector<std::string> inside = found.where;
    inside.push_back(f.name);
    if (!container) {
      documentContainer(found, f, inside.size() > limits_.maxDepth);
      return;
    }
    if (inside.size() > limits_.maxDepth) {
      tooDeep(f);
      return;
    }
    if (isMessage) {
      mime_.walk(found.content, inside, *this);
    } else {
      FoundFile archive = found;
      archive.name = f.name;
      archives_.walk(archiveBytes, archive, *this, [this] { return passwords(); });
    }
  }

 private:
  // Documents and pages that carry files of their own (a PDF's attachments, a winmail.dat's,
  // an Office document's OLE objects, a OneNote section's, the blobs an HTML attachment's
  // script assembles): one level, through containers/walkContainer, what comes out typed,
  // selected and walked in turn. Past the depth limit only looked at: if it holds
  // anything, it is listed unscanned as an evasion.
  void documentContainer(const FoundFile& found, const ExtractedFile& f, bool overDepth) {
    FoundFile document = found;
    document.name = f.name;
    auto limits = limits_.containers;
    limits.maxTotalBytes = std::min<std::uint64_t>(
        limits.maxTotalBytes, limits_.maxTotalBytes > total_ ? limits_.maxTotalBytes - total_ : 0);
    if (!overDepth) {
      walkContainer(f.type, document, found.content, limits, *this);
      return;
    }
    struct Probe : FileVisitor {
      bool holds = false;
      void onFile(const FoundFile&) override { holds = true; }
      void onError(const std::string&) override {}
    } probe;
    walkContainer(f.type, document, found.content, limits, probe);
    if (probe.holds) tooDeep(f);
  }

  // A container past BccMaxNesting: its contents could not be read, so the container (the
  // file just listed) is unscanned and says why, as an evasion.
  void tooDeep(const ExtractedFile& f) {
    auto what = "nested deeper than " + std::to_string(limits_.maxDepth) +
                " containers (BccMaxNesting): its contents were not read";
    onError(evasion("'" + f.path() + "': " + what));
    auto& listed = out_.files.back();
    listed.unreadable = true;
    listed.reason = evasion(what);
  }

  // The message's own candidates, found once, when the first encrypted archive asks.
  std::vector<ArchivePassword> passwords() {
    if (!passwords_) passwords_ = PasswordCandidates::of(message_, limits_.archivePasswords);
    return *passwords_;
  }

  const FileTyper& typer_;
  const SelectionRules& rules_;
  const ExtractLimits& limits_;
  const std::function<void(const ExtractedFile&, std::string_view)>& keep_;
  Extraction& out_;
  MimeWalker mime_;
  ArchiveWalker archives_;
  std::uint64_t total_ = 0;
  std::string_view message_;
  std::optional<std::vector<ArchivePassword>> passwords_;
};

}  // namespace

std::string ExtractedFile::path() const {
  std::string p;
  for (const auto& w : where) p += w + " > ";
  return p + name;
}

Extractor::Extractor(const FileTyper& typer, SelectionRules rules, ExtractLimits limits)
    : typer_(typer), rules_(std::move(rules)), limits_(limits) {}

Extraction Extractor::extract(std::string_view message, const KeepFile& keep) const {
  Extraction out;
  Visit visit(typer_, rules_, limits_, keep, out);
  try {
    visit.message(message, {});
  } catch (const std::exception& e) {
    // A bug's last line of defence: the message keeps what was found and the error.
    // What was not read yet is lost to analysis: an evasion, whatever caused it.
    out.errors.push_back(evasion(std::string("extraction stopped: ") + e.what()));
  }
  return out;
}

}  // namespace bccsink::sandbox
