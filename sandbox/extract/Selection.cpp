#include "sandbox/extract/Selection.h"

#include <algorithm>
#include <stdexcept>

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

constexpr std::size_t kMaxExtension = 32;

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool isExtensionChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

void addEntry(SelectionRules& rules, std::string_view entry) {
  const std::string word = lower(entry);
  if (word.front() == '.') {
    std::string_view ext = std::string_view(word).substr(1);
    if (ext.empty() || ext.size() > kMaxExtension ||
        !std::all_of(ext.begin(), ext.end(), isExtensionChar)) {
      throw std::invalid_argument("bad extension \"" + std::string(entry) +
                                  "\" (letters, digits, '-' or '_' after one dot)");
    }
    rules.extensions.emplace(ext);
    return;
  }
  if (!knownFamilies().count(word)) {
    std::string known;
    for (const auto& f : knownFamilies()) known += (known.empty() ? "" : " ") + f;
    throw std::invalid_argument("unknown file type \"" + std::string(entry) + "\" (a family: " +
                                known + "; or an extension with its dot, like \".js\")");
  }
  rules.families.insert(word);
}

}  // namespace

const std::set<std::string>& knownFamilies() {
  static const std::set<std::string> families = {
      "pe",     "elf", "macho",      "msi",     "ole-office", "ooxml", "ooxml-macro", "pdf",  "rtf",
      "script", "lnk", "disk-image", "archive", "html",       "image", "text",        "other"};
  return families;
}

SelectionRules parseSelection(const std::string& fileTypes, std::uint64_t maxFileSize) {
  SelectionRules rules;
  rules.maxFileSize = maxFileSize;
  if (std::all_of(fileTypes.begin(), fileTypes.end(), isSpace)) return rules;

  std::string_view rest = fileTypes;
  std::string_view previous;  // the last entry read, to say where an empty one is
  while (true) {
    auto comma = rest.find(',');
    std::string_view piece = rest.substr(0, comma);
    // Within one comma-separated piece, white space separates entries too: "pe pdf, .js".
    bool any = false;
    std::size_t i = 0;
    while (i < piece.size()) {
      while (i < piece.size() && isSpace(piece[i])) ++i;
      std::size_t start = i;
      while (i < piece.size() && !isSpace(piece[i])) ++i;
      if (i > start) {
        previous = piece.substr(start, i - start);
        addEntry(rules, previous);
        any = true;
      }
    }
    if (!any) {
      throw std::invalid_argument(previous.empty()
                                      ? std::string("empty entry before the first comma")
                                      : "empty entry after \"" + std::string(previous) + "\"");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return rules;
}

const char* defaultFileTypes() {
  // Adjacent literals make one string; each group says why it is sent to the sandbox.
  return
      // Native programs of every platform: the payload itself, attached as is or renamed
      // (".pdf.exe", ".scr"), or unpacked from an archive. Mac and Linux users get mail too.
      "pe, elf, macho, "
      // Windows Installer packages run custom actions (scripts, DLLs) as they install.
      "msi, "
      // Legacy OLE2 office files: VBA macros in .doc/.xls, Excel 4.0 macro sheets, Equation
      // Editor exploits (CVE-2017-11882) and embedded OLE packages; still a top maldoc.
      "ole-office, "
      // Office Open XML that holds a VBA project. Plain ooxml is left out: it is the bulk of
      // benign business mail; add "ooxml" to also catch remote-template and Follina-style
      // (CVE-2022-30190) documents, at the cost of far more submissions.
      "ooxml-macro, "
      // PDF: JavaScript, launch actions, and the links of phishing lures.
      "pdf, "
      // RTF: the classic carrier of OLE-object and Equation Editor exploits, often named .doc.
      "rtf, "
      // Scripts libmagic recognises (shell, Python, Perl, JavaScript, batch...).
      "script, "
      // Windows shortcuts that start PowerShell or mshta with a command line.
      "lnk, "
      // ISO/IMG/VHD images: used to carry executables past Mark-of-the-Web (before 2022's
      // Windows fix) and still opened by a double click.
      "disk-image, "
      // Archives are sent whole as well as walked, as WatchGuard APT Blocker does: some hold
      // what the walker cannot open (encrypted with a password in the mail body).
      "archive, "
      // HTML attachments: credential-phishing forms and HTML smuggling of payloads.
      "html, "
      // Windows Script Host and friends, by name, for when libmagic sees only text:
      // JScript/VBScript (plain and encoded), WSF/WSH/WSC, scriptlets, HTML applications,
      // PowerShell, batch files.
      ".js .jse .vbs .vbe .wsf .wsh .wsc .sct .hta .ps1 .psm1 .bat .cmd, "
      // Executable names whatever the bytes say: screensavers, PIF and COM files, control
      // panel items, Excel add-in DLLs.
      ".scr .pif .com .cpl .xll, "
      // Java archives run with a double click where a JRE is installed; JNLP starts one.
      ".jar .jnlp, "
      // OneNote notebooks with embedded files behind a fake button (2023 campaigns).
      ".one .onepkg, "
      // Disk images by name too: a raw .img or a compressed .dmg has no magic libmagic knows.
      ".iso .img .vhd .vhdx .dmg .udf, "
      // App installers and packages (MSIX/AppX are OPC zips that would read as ooxml).
      ".msix .msixbundle .appx .appxbundle .appinstaller, "
      // Internet shortcuts and search connectors that open a remote share (CVE-2024-21412),
      // Excel web queries and SYLK files that run DDE, compiled HTML help with scripts.
      ".url .library-ms .search-ms .settingcontent-ms .iqy .slk .chm, "
      // SVG pictures carry script and HTML smuggling, unlike other image formats.
      ".svg";
}

SelectionDecision select(const SelectionRules& rules, const TrueType& type,
                         std::string_view extension, std::uint64_t size) {
  SelectionDecision decision;
  if (!rules.families.count(type.family) && !rules.extensions.count(lower(extension))) {
    decision.reason = "type not selected";
    return decision;
  }
  if (rules.maxFileSize != 0 && size > rules.maxFileSize) {
    decision.reason = "over VxcubeMaxFileSize (" + std::to_string(rules.maxFileSize) + " bytes)";
    return decision;
  }
  decision.selected = true;
  return decision;
}

}  // namespace bccsink::sandbox
