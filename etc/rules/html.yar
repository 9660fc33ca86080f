// HTML smuggling: an HTML attachment (or SVG) that carries its payload inside and has the
// browser save it, so the payload never crosses a web proxy or a mail filter as a file.
// Ordinary HTML mail has no script at all; web pages that offer a generated download
// rarely carry large encoded data with it.

rule HTML_Smuggling
{
  meta:
    verdict = "dangerous"
    description = "An HTML page that decodes data it carries into a file and hands it to the browser to save"
  strings:
    $html1 = "<html" nocase
    $html2 = "<script" nocase
    $html3 = "<svg" nocase
    $blob = "Blob(" nocase
    $save1 = "msSaveOrOpenBlob"
    $save2 = "msSaveBlob"
    $url = "createObjectURL"
    $dl1 = ".download"
    $dl2 = "download=" nocase
    $dl3 = /setAttribute\(\s*["']download["']/
    $dec1 = "atob(" nocase
    $dec2 = "base64,"
    $dec3 = "Uint8Array"
    // 1,000 base64 characters at least, where a payload is kept: a script variable, an
    // atob() argument, a data: URL, or a string that starts like a program or an archive
    // (base64 of MZ, PK, 7z, Rar!, OLE2, gzip)
    $b64a = /(var|let|const)\s+[A-Za-z0-9_$]{1,40}\s*=\s*["'`][A-Za-z0-9+\/]{1000}/
    $b64b = /atob\(\s*["'`][A-Za-z0-9+\/]{1000}/
    $b64c = /base64,[A-Za-z0-9+\/]{1000}/
    $b64d = /["'`](TV[opqr]|UEsDB|N3q8ryc|UmFyIRo|0M8R4KGx|H4sI)[A-Za-z0-9+\/]{1000}/
  condition:
    any of ($html*) and $blob and (any of ($save*) or ($url and any of ($dl*))) and
    any of ($dec*) and any of ($b64*)
}

// A Windows program inline in a page as a base64 data: URL ("TVo".."TVr" is how "MZ"
// starts in base64), behind a link or a script: the download never came from a server.
rule HTML_DataURI_Executable
{
  meta:
    verdict = "dangerous"
    description = "An HTML page that carries a Windows program as a base64 data: URL"
  strings:
    $pe = /data:[^,"'<>\s]{0,128};base64,TV[opqr][A-Za-z0-9+\/]{60}/
  condition:
    $pe
}
