// See Containers.h.
#include "sandbox/extract/containers/Containers.h"

#include <string>

#include "base/FileName.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/containers/HtmlSmuggling.h"
#include "sandbox/extract/containers/OleWalker.h"
#include "sandbox/extract/containers/OneNoteWalker.h"
#include "sandbox/extract/containers/PdfWalker.h"
#include "sandbox/extract/containers/TnefWalker.h"
#include "sandbox/extract/containers/UdfImage.h"

namespace bccsink::sandbox {
namespace {

enum class Kind { none, html, pdf, tnef, ole, onenote, udf };

Kind kindOf(const TrueType& type, std::string_view name, std::string_view bytes) {
  const std::string ext = extensionOf(name);
  const std::string& mime = type.mimeType;
  // TNEF by its signature: libmagic names it, but a winmail.dat is often sent as
  // application/octet-stream and the signature is certain.
  if (isTnef(bytes) || mime == "application/vnd.ms-tnef") return Kind::tnef;
  // Any compound document (doc, xls, msi, msg...): the walker looks only for the streams
  // that carry embedded objects.
  if (isOle2(bytes)) return Kind::ole;
  if (isUdfOnlyImage(bytes)) return Kind::udf;
  if (isOneNote(bytes)) return Kind::onenote;
  // Readers accept "%PDF-" anywhere in the first 1024 bytes (junk before it hides the type).
  if (type.family == "pdf" || mime == "application/pdf" ||
      bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos)
    return Kind::pdf;
  if (type.family == "html" || mime == "text/html" || mime == "image/svg+xml" || ext == "html" ||
      ext == "htm" || ext == "shtml" || ext == "xhtml" || ext == "hta" || ext == "svg")
    return Kind::html;
  return Kind::none;
}

}  // namespace

bool walkContainer(const TrueType& type, const FoundFile& container, std::string_view bytes,
                   const ContainerLimits& limits, FileVisitor& visitor) {
  switch (kindOf(type, container.name, bytes)) {
    case Kind::html:
      walkHtmlSmuggling(bytes, container, limits, visitor);
      return true;
    case Kind::pdf:
      walkPdf(bytes, container, limits, visitor);
      return true;
    case Kind::tnef:
      walkTnef(bytes, container, limits, visitor);
      return true;
    case Kind::ole:
      walkOle(bytes, container, limits, visitor);
      return true;
    case Kind::onenote:
      walkOneNote(bytes, container, limits, visitor);
      return true;
    case Kind::udf:
      visitor.onError("'" + container.name + "': " +
                      evasion("UDF disk image: its files were not read (no reader for UDF)"));
      return true;
    case Kind::none:
      break;
  }
  return false;
}

}  // namespace bccsink::sandbox
