// Windows programs, as they are and inside documents.
//
// The pipeline already knows every file's true type (libmagic) and flags a name that lies
// about it (".pdf.exe", an .exe named .doc); what YARA adds is the verdict. A program sent
// by mail is rarely legitimate, but it is not proof of harm (an installer a colleague sends),
// so it is suspicious. A document that carries a program inside is the old "Package" object
// trick or a dropper's payload: also suspicious, the sandbox decides the rest.

// A PE file: "MZ" at 0 and e_lfanew (at 0x3C) pointing at "PE\0\0". A DOS stub alone
// ("MZ" without a PE header) is not matched: nothing runs it today.
rule Executable_PE
{
  meta:
    verdict = "suspicious"
    description = "A Windows program (PE): mail rarely carries programs legitimately"
  condition:
    uint16(0) == 0x5A4D and uint32(uint32(0x3C)) == 0x00004550
}

// An OLE2 file (.doc, .xls, .ppt, an Outlook .msg, an .msi installer's custom action) or a PDF
// with a whole PE inside, uncompressed: an OLE Package object, a file attachment, or a payload
// appended to the document. The PE
// header is checked as above at each "MZ", so an "MZ" in text or in compressed data does
// not count. A PE in a zip-based .docx is compressed and not seen here. Only the first 256
// "MZ" of a file are tried: each @mz[i] walks the match list, and a hostile file full of "MZ"
// must not hold a scanning thread until the time limit.
rule Document_Embedded_PE
{
  meta:
    verdict = "suspicious"
    description = "An OLE2 file (Office document, Outlook message, installer) or PDF that carries a Windows program inside"
  strings:
    $pdf = "%PDF-"
    $mz = "MZ"
  condition:
    ((uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1) or $pdf in (0..1024)) and
    for any i in (1..256) : (
      @mz[i] > 0 and uint32(@mz[i] + 0x3C) < 0x1000 and
      uint32(@mz[i] + uint32(@mz[i] + 0x3C)) == 0x00004550
    )
}
