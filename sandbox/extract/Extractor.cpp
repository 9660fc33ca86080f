#include "sandbox/extract/Extractor.h"

#include <exception>
#include <optional>

#include "base/FileName.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/PasswordCandidates.h"

namespace bccsink::sandbox {
namespace {

constexpr const char* kAttachedMessageName = "attached-message.eml";

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
    const bool container =
        isMessage || ((f.type.family == "archive" || f.type.family == "disk-image") &&
                      archives_.isArchive(found.content));
    if (!container) return;
    std::vector<std::string> inside = found.where;
    inside.push_back(f.name);
    if (inside.size() > limits_.maxDepth) {
      // Its contents could not be read: the container is unscanned, and says why.
      auto what = "nested deeper than " + std::to_string(limits_.maxDepth) +
                  " containers (BccMaxNesting): its contents were not read";
      onError(evasion("'" + f.path() + "': " + what));
      auto& listed = out_.files.back();
      listed.unreadable = true;
      listed.reason = evasion(what);
      return;
    }
    if (isMessage) {
      mime_.walk(found.content, inside, *this);
    } else {
      FoundFile archive = found;
      archive.name = f.name;
      archives_.walk(found.content, archive, *this, [this] { return passwords(); });
    }
  }

 private:
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

Extraction Extractor::extract(
    std::string_view message,
    const std::function<void(const ExtractedFile&, std::string_view)>& keep) const {
  Extraction out;
  Visit visit(typer_, rules_, limits_, keep, out);
  try {
    visit.message(message, {});
  } catch (const std::exception& e) {
    // A bug's last line of defence: the message keeps what was found and the error.
    out.errors.push_back(std::string("extraction stopped: ") + e.what());
  }
  return out;
}

}  // namespace bccsink::sandbox
