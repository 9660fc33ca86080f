#pragma once
// HTML smuggling: an HTML (or SVG) attachment whose script assembles a file in the browser
// from a base64 string (`atob("TVqQ...")`, `new Blob([...])`, a `data:...;base64,` link
// with `download=`), so that the mail carries no attachment of the payload's type. This
// walker hands on every base64 blob of such a page as a file, "smuggled-1.bin",
// "smuggled-2.bin"..., for the analyzers to see what the browser would write to disk.
//
// What counts as a blob (one linear pass, no JavaScript is run):
// - the payload of a `data:<type>;base64,` URI (ASCII white space inside is skipped, as
//   browsers' forgiving base64 does);
// - a quoted string literal ('...', "...", `...`) of base64 characters only (standard or
//   URL-safe alphabet, line breaks and `\n`/line continuations allowed, no spaces), and
//   literals of that kind joined by `+` or `,` (a split string, an array .join('')) are
//   one blob.
// A data URI in a tag with a `download="name"` attribute is named so (the name the browser
// saves it under). Blobs decoding to fewer than ContainerLimits::minSmuggledBytes are ignored. Not
// read: payloads built from hex, char codes or XOR (they need a script to be run).

#include <cstddef>
#include <string_view>

#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

// Hands on each blob with where = container.where + {container.name}. Returns the number
// of files handed on. Never throws for any input; linear in the input's size.
std::size_t walkHtmlSmuggling(std::string_view bytes, const FoundFile& container,
                              const ContainerLimits& limits, FileVisitor& visitor);

}  // namespace bccsink::sandbox
