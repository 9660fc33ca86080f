#pragma once
// UDF disk images (ECMA-167, what Windows writes to .iso/.img files): Debian 12's
// libarchive (3.6.2) reads only ISO 9660, so an image with a UDF file system and no ISO
// 9660 side keeps its files from analysis. No Debian library reads UDF; this only
// recognises such an image, so that it is named unscanned ("evasion: ...") and not taken
// for an opaque, clean file. A hybrid image (ISO 9660 and UDF, as most burning tools
// write) is read by libarchive through its ISO 9660 side and is not matched here.

#include <string_view>

namespace bccsink::sandbox {

// True when the Volume Recognition Sequence (ECMA-167 2/8.3: 2048-byte descriptors from
// byte 32768) names a UDF NSR descriptor ("NSR02" or "NSR03") and no ISO 9660 one
// ("CD001").
bool isUdfOnlyImage(std::string_view bytes);

}  // namespace bccsink::sandbox
