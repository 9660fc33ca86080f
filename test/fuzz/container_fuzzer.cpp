// libFuzzer target: any bytes through the container walkers as the Extractor calls them.
// The first byte picks the walker, so that each parser sees inputs that pass its own
// signature test: 0 HTML smuggling, 1 PDF (qpdf), 2 TNEF (libytnef), 3 OLE2 (libgsf), 4 OneNote,
// anything else the dispatcher by name and signature.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sandbox/extract/FileType.h"
#include "sandbox/extract/containers/Containers.h"
#include "sandbox/extract/containers/HtmlSmuggling.h"
#include "sandbox/extract/containers/OleWalker.h"
#include "sandbox/extract/containers/OneNoteWalker.h"
#include "sandbox/extract/containers/PdfWalker.h"
#include "sandbox/extract/containers/TnefWalker.h"
#include "test/fuzz/Touch.h"

using bccsink::fuzz::Touch;
namespace sb = bccsink::sandbox;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  sb::ContainerLimits limits;
  limits.maxMembers = 100;
  limits.maxMemberSize = 1 << 20;
  limits.maxTotalBytes = 4 << 20;
  limits.maxSeconds = 5;
  limits.minSmuggledBytes = 8;
  sb::FoundFile container;
  container.name = "fuzz.html";
  Touch touch;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 0:
      sb::walkHtmlSmuggling(bytes, container, limits, touch);
      break;
    case 1:
      sb::walkPdf(bytes, container, limits, touch);
      break;
    case 2:
      sb::walkTnef(bytes, container, limits, touch);
      break;
    case 3:
      sb::walkOle(bytes, container, limits, touch);
      break;
    case 4:
      sb::walkOneNote(bytes, container, limits, touch);
      break;
    default:
      sb::walkContainer(sb::TrueType{}, container, bytes, limits, touch);
  }
  return 0;
}
