#pragma once
// The rules for attachment and member file names, which a sender chooses: how one is shown
// and what its extension is. Here in base/ so that the statistics (report/) can group by
// extension without the extraction library.

#include <string>
#include <string_view>

namespace bccsink {

// A file name fit to show: valid UTF-8 (bytes that are not are read as ISO-8859-1), C0
// control characters (CR, LF, NUL...) and DEL replaced by '_', ASCII white space at the
// ends trimmed, at most 255 bytes: a longer name is cut in the middle, at character
// boundaries, with "…" (U+2026) where the cut is, keeping its last 40 bytes, so that the
// extension survives ("invoice.pdf<5,000 spaces>.exe" still ends in ".exe").
std::string cleanFileName(std::string_view name);

// The extension of a file name, lowercase (ASCII) without the dot ("Invoice.PDF" -> "pdf",
// "a.tar.gz" -> "gz", "noext" -> "", ".bashrc" -> ""). Folders ('/' or '\') are dropped, and
// trailing dots and spaces too, as Windows drops them: "invoice.exe." runs as an .exe.
std::string extensionOf(std::string_view name);

}  // namespace bccsink
